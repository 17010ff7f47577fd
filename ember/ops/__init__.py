"""Every differentiable primitive, by topic. Importing this package binds each topic's
functions to Tensor as methods (``ember.exp(x)`` and ``x.exp()`` are one function),
adds the in-place ``name_`` forms, and Python's operators."""
from __future__ import annotations

from .._tensor import Tensor
from ..backend import dtypes
from . import activation, binary, creation, cumulative, elementwise, indexing, join, linalg, math, moments, norm, padding, reduce, resample, scatter, shape, sort
from . import conv, unfold
from ._out import plain
from .views import check_inplace
from . import pool, softmax, special, complex
from . import operators

TOPICS = (creation, elementwise, math, binary, reduce, moments, cumulative, shape, join, indexing, scatter, linalg, activation, softmax, padding, sort, norm, resample, conv, unfold, pool, special, complex)


def _inplace(fn, name: str):
    def method(self, *args, **kwargs):
        # PyTorch's leaf and view rules come before the op's own errors
        check_inplace(self, (*args, *kwargs.values()))
        return self._assign(fn(self, *args, **kwargs))
    method.__name__ = name
    method.__doc__ = f"In-place version of :meth:`Tensor.{fn.__name__}`."
    return method


def _bind() -> None:
    for topic in TOPICS:
        for name, fn in topic.TENSOR_METHODS.items():  # methods and operators take no out=
            setattr(Tensor, name, plain(fn))
        for name in topic.INPLACE:
            setattr(Tensor, name + "_", _inplace(plain(topic.TENSOR_METHODS[name]), name + "_"))

    e = elementwise

    def rdiv(self, other):  # PyTorch's: the reciprocal times the number (rounds unlike other / self)
        return e.mul(e.div(1, self), other)

    def rpow(self, other):
        return e.pow(other, self)

    def rfloordiv(self, other):
        return e.floor_divide(other, self)

    def rmod(self, other):
        return e.remainder(other, self)

    def rmatmul(self, other):
        return linalg.matmul(other, self)

    def rlshift(self, other):
        return e.bitwise_left_shift(other, self)

    def rrshift(self, other):
        return e.bitwise_right_shift(other, self)

    add, mul = operators.operator(plain(e.add), e.Add), operators.operator(plain(e.mul), e.Mul)
    ops = {  # number + tensor is tensor + number (both ops are exact in either order)
        "__add__": add, "__radd__": add,
        "__sub__": operators.operator(plain(e.sub), e.Sub), "__rsub__": e.rsub,
        "__mul__": mul, "__rmul__": mul,
        "__truediv__": operators.operator(plain(e.div), e.Div), "__rtruediv__": rdiv,
        "__floordiv__": e.floor_divide, "__rfloordiv__": rfloordiv,
        "__mod__": e.remainder, "__rmod__": rmod, "__pow__": e.pow, "__rpow__": rpow,
        "__matmul__": linalg.matmul, "__rmatmul__": rmatmul, "__neg__": e.neg,
        "__pos__": lambda self: self, "__abs__": math.abs, "__invert__": _invert,
        "__eq__": _operand_or_notimpl(e.eq), "__ne__": _operand_or_notimpl(e.ne), "__lt__": e.lt, "__le__": e.le, "__gt__": e.gt, "__ge__": e.ge,
        "__and__": e.bitwise_and, "__rand__": e.bitwise_and, "__or__": e.bitwise_or,
        "__ror__": e.bitwise_or, "__xor__": e.bitwise_xor, "__rxor__": e.bitwise_xor,
        "__lshift__": e.bitwise_left_shift, "__rlshift__": rlshift,
        "__rshift__": e.bitwise_right_shift, "__rrshift__": rrshift,
        "__getitem__": indexing.getitem, "__setitem__": indexing.setitem,
    }
    for name, fn in ops.items():
        setattr(Tensor, name, plain(fn))
    generic_add_, generic_sub_, generic_mul_ = Tensor.add_, Tensor.sub_, Tensor.mul_

    def add_(self, other, *args, alpha=1, **kwargs):
        if args or kwargs or not operators.add_in_place(self, other, alpha):
            return generic_add_(self, other, *args, alpha=alpha, **kwargs)
        return self

    def sub_(self, other, *args, alpha=1, **kwargs):
        if args or kwargs or type(alpha) not in (int, float) or not operators.add_in_place(self, other, -alpha):
            return generic_sub_(self, other, *args, alpha=alpha, **kwargs)
        return self
    def mul_(self, other, *args, **kwargs):
        if args or kwargs or not operators.scale_in_place(self, other):
            return generic_mul_(self, other, *args, **kwargs)
        return self
    for method in (add_, sub_, mul_):
        method.__doc__ = getattr(Tensor, method.__name__).__doc__
        setattr(Tensor, method.__name__, method)
    for name, method in (("__iadd__", "add_"), ("__isub__", "sub_"), ("__imul__", "mul_"),
                         ("__itruediv__", "div_"), ("__ifloordiv__", "floor_divide_"),
                         ("__imod__", "remainder_"), ("__ipow__", "pow_"), ("__iand__", "bitwise_and_"),
                         ("__ior__", "bitwise_or_"), ("__ixor__", "bitwise_xor_"),
                         ("__ilshift__", "bitwise_left_shift_"), ("__irshift__", "bitwise_right_shift_")):
        setattr(Tensor, name, getattr(Tensor, method))
    Tensor.__hash__ = object.__hash__  # __eq__ above is element-wise; tensors hash by identity
    Tensor.T = property(_T)
    Tensor.mT = property(lambda self: shape.transpose(self, -2, -1))


def _operand_or_notimpl(fn):
    """`tensor == None` is False (not an error), as for any Python object."""
    def op(self, other):
        if other is None or isinstance(other, (str, list, dict, tuple)):
            return NotImplemented
        return fn(self, other)
    return op


def _invert(self):
    if dtypes.is_floating_array(self._data.dtype):
        raise TypeError(f"~ (operator.invert) is only implemented on integer and Boolean-type tensors, "
                        f"got {self.dtype}; for a mask use (x == 0) or x.logical_not()")
    return elementwise.bitwise_not(self)


def _T(self):
    n = self._data.ndim
    return self if n < 2 else shape.permute(self, tuple(range(n - 1, -1, -1)))


_bind()
