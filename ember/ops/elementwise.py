"""Element-wise arithmetic with broadcasting and PyTorch's type promotion.

Every primitive's forward computes on arrays; its backward is written in tensor ops,
so it is differentiable again. Broadcast gradients are summed back by the engine.
"""
from __future__ import annotations

import numbers

import numpy as np

from .._tensor import Tensor
from ..autograd.function import Function
from ..backend import dtypes
from ..backend.device import xp_of

__all__ = [
    "add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "floor_divide",
    "remainder", "fmod", "neg", "negative", "pow", "cast",
    "eq", "ne", "lt", "le", "gt", "ge", "equal", "allclose", "isclose", "isnan", "isinf", "isfinite",
    "logical_and", "logical_or", "logical_not", "logical_xor",
    "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
]


# ---- operands ------------------------------------------------------------------------
def _level(t: Tensor) -> int:
    return 2 if t._data.ndim else 1


def scalar_tensor(value, dtype: dtypes.dtype, like) -> Tensor:
    """A constant 0-d tensor on the same device as the array ``like``."""
    return Tensor._make(xp_of(like).asarray(value, dtype=dtype.np))


def promote(a, b):
    """Both operands as tensors of PyTorch's result dtype; numbers become 0-d constants."""
    ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
    if ta and tb:
        if a._data.dtype == b._data.dtype:
            return a, b
        if a.device != b.device:
            raise RuntimeError(
                "Expected all tensors to be on the same device, but found at least two devices, "
                f"{a.device} and {b.device}! Move one with .to(device).")
        dt = dtypes.result_type(a.dtype, _level(a), b.dtype, _level(b))
        return cast(a, dt), cast(b, dt)
    if not ta and not tb:
        raise TypeError(f"expected a Tensor operand, got {type(a).__name__} and {type(b).__name__}")
    t, s = (a, b) if ta else (b, a)
    if not isinstance(s, (numbers.Number, np.generic)):
        raise TypeError(f"unsupported operand type: Tensor and {type(s).__name__}")
    dt = dtypes.result_type(t.dtype, _level(t), dtypes.scalar_dtype(s), 0)
    t = cast(t, dt)
    s = scalar_tensor(s, dt, t._data)
    return (t, s) if ta else (s, t)


def broadcast_error(a: Tensor, b: Tensor, op: str) -> RuntimeError:
    """PyTorch's message for shapes that do not broadcast, naming the first clash."""
    sa, sb = a._data.shape, b._data.shape
    n = max(len(sa), len(sb))
    pa, pb = (1,) * (n - len(sa)) + sa, (1,) * (n - len(sb)) + sb
    d = next(i for i in range(n) if pa[i] != pb[i] and 1 not in (pa[i], pb[i]))
    return RuntimeError(
        f"{op}: the size of tensor a ({pa[d]}) must match the size of tensor b ({pb[d]}) at "
        f"non-singleton dimension {d} (shapes {list(sa)} and {list(sb)})")


def binary(fn, a: Tensor, b: Tensor, op: str):
    """Apply a broadcasting primitive (or ufunc), turning NumPy's broadcast failure into PyTorch's."""
    try:
        return fn(a, b)
    except ValueError:
        if a._data.shape == b._data.shape:
            raise
        try:
            np.broadcast_shapes(a._data.shape, b._data.shape)
        except ValueError:
            raise broadcast_error(a, b, op) from None
        raise


# ---- cast ----------------------------------------------------------------------------
class Cast(Function):
    @staticmethod
    def forward(ctx, a, dtype):
        ctx.src = a.dtype
        return a._data.astype(dtype.np)

    @staticmethod
    def backward(ctx, grad):
        return cast(grad, ctx.src), None


def cast(input: Tensor, dtype: dtypes.dtype) -> Tensor:
    """The tensor converted to ``dtype`` (the same tensor when it already has it)."""
    if input._data.dtype == dtype.np:
        return input
    return Cast.apply(input, dtype)


# ---- arithmetic primitives -----------------------------------------------------------
class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a._data + b._data

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a._data - b._data

    @staticmethod
    def backward(ctx, grad):
        return grad, -grad


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        # Keep only what a gradient needs, so x.mul_(2) stays legal on graph tensors.
        ctx.save_for_backward(b if ctx.needs_input_grad[0] else None,
                              a if ctx.needs_input_grad[1] else None)
        return a._data * b._data

    @staticmethod
    def backward(ctx, grad):
        b, a = ctx.saved_tensors
        return (grad * b if b is not None else None), (grad * a if a is not None else None)


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b)
        return a._data / b._data

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        ga = grad / b if ctx.needs_input_grad[0] else None
        gb = -grad * a / (b * b) if ctx.needs_input_grad[1] else None
        return ga, gb


class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        return -a._data

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Pow(Function):
    @staticmethod
    def forward(ctx, a, b):
        out = np.power(a._data, b._data)
        ctx.save_for_backward(a, b, out if ctx.needs_input_grad[1] else None)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:
            # b * a^(b-1), with 0 where b == 0 (so 0**0 has gradient 0, as in PyTorch)
            ga = grad * where_(b == 0, 0.0, b * a ** (b - 1))
        if ctx.needs_input_grad[1]:
            gb = grad * where_((a == 0) & (b >= 0), 0.0, out * a.log())
        return ga, gb


def where_(cond, x, y):
    from .indexing import where
    return where(cond, x, y)


# ---- public functions ----------------------------------------------------------------
def add(input, other, *, alpha=1) -> Tensor:
    """input + alpha * other, broadcast."""
    if alpha != 1:
        other = mul(other, alpha)
    a, b = promote(input, other)
    if a._data.dtype == np.bool_:
        return logical_or(a, b)
    return binary(Add.apply, a, b, "add")


def sub(input, other, *, alpha=1) -> Tensor:
    """input - alpha * other, broadcast."""
    if alpha != 1:
        other = mul(other, alpha)
    a, b = promote(input, other)
    if a._data.dtype == np.bool_:
        raise RuntimeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. "
            "Use the `^` or `logical_xor()` operator instead.")
    return binary(Sub.apply, a, b, "sub")


def mul(input, other) -> Tensor:
    a, b = promote(input, other)
    if a._data.dtype == np.bool_:
        return logical_and(a, b)
    return binary(Mul.apply, a, b, "mul")


def div(input, other, *, rounding_mode: str | None = None) -> Tensor:
    """True division (integers give floats), or rounded with 'trunc' / 'floor'."""
    a, b = promote(input, other)
    if rounding_mode is None:
        if not a.is_floating_point():
            a, b = cast(a, dtypes.get_default_dtype()), cast(b, dtypes.get_default_dtype())
        return binary(Div.apply, a, b, "div")
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(
            f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{rounding_mode}'")
    if not a.is_floating_point():
        _check_int_divisor(b, "div")
        q = np.floor_divide(a._data, b._data)
        if rounding_mode == "trunc":
            q = np.where((q < 0) & (q * b._data != a._data), q + 1, q)
        return Tensor._make(q.astype(a._data.dtype))
    q = binary(Div.apply, a, b, "div")
    return q.floor() if rounding_mode == "floor" else q.trunc()


def floor_divide(input, other) -> Tensor:
    return div(input, other, rounding_mode="floor")


def remainder(input, other) -> Tensor:
    """Python's modulo: the result has the sign of the divisor."""
    a, b = promote(input, other)
    if not a.is_floating_point():
        _check_int_divisor(b, "remainder")
        return Tensor._make(np.remainder(a._data, b._data))
    return a - b * div(a, b, rounding_mode="floor").detach()


def fmod(input, other) -> Tensor:
    """C's modulo: the result has the sign of the dividend."""
    a, b = promote(input, other)
    if not a.is_floating_point():
        _check_int_divisor(b, "fmod")
        return Tensor._make(np.fmod(a._data, b._data))
    return a - b * div(a, b, rounding_mode="trunc").detach()


def _check_int_divisor(b: Tensor, op: str) -> None:
    if np.any(b._data == 0):
        raise RuntimeError(f"ZeroDivisionError: integer division by zero in {op}")


def neg(input: Tensor) -> Tensor:
    if input._data.dtype == np.bool_:
        raise RuntimeError(
            "Negation, the `-` operator, on a bool tensor is not supported. "
            "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.")
    return Neg.apply(input)


def pow(input, exponent) -> Tensor:
    """input ** exponent; either may be a number."""
    if isinstance(input, Tensor) and isinstance(exponent, numbers.Number) and not isinstance(exponent, bool):
        if exponent == 1:
            return input.clone() if input._requires_grad else input
        if exponent == 2 and input.is_floating_point():
            return Mul.apply(input, input)
        if not input.is_floating_point() and isinstance(exponent, int) and exponent < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
    a, b = promote(input, exponent)
    return binary(Pow.apply, a, b, "pow")


subtract, multiply, divide, true_divide, negative = sub, mul, div, div, neg


# ---- comparisons and logic (not differentiable: results are bool) --------------------
def _compare(ufunc):
    def op(input, other) -> Tensor:
        a, b = promote(input, other)
        return binary(lambda x, y: Tensor._make(ufunc(x._data, y._data)), a, b, ufunc.__name__)
    op.__name__ = ufunc.__name__
    return op


eq = _compare(np.equal)
ne = _compare(np.not_equal)
lt = _compare(np.less)
le = _compare(np.less_equal)
gt = _compare(np.greater)
ge = _compare(np.greater_equal)
for _fn, _name in ((eq, "eq"), (ne, "ne"), (lt, "lt"), (le, "le"), (gt, "gt"), (ge, "ge")):
    _fn.__name__ = _name
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def _data(x):
    return x._data if isinstance(x, Tensor) else x


def _logical(ufunc):
    def op(input, other) -> Tensor:
        return Tensor._make(np.asarray(ufunc(_data(input) != 0, _data(other) != 0)))
    return op


logical_and = _logical(np.logical_and)
logical_or = _logical(np.logical_or)
logical_xor = _logical(np.logical_xor)


def logical_not(input: Tensor) -> Tensor:
    return Tensor._make(np.logical_not(input._data))


def _bitwise(ufunc, name):
    def op(input, other) -> Tensor:
        a, b = promote(input, other)
        if a.is_floating_point():
            raise RuntimeError(f"\"{name}_cpu\" not implemented for '{a.dtype}': "
                               "bitwise ops take integer or bool tensors")
        return Tensor._make(ufunc(a._data, b._data))
    op.__name__ = name
    return op


bitwise_and = _bitwise(np.bitwise_and, "bitwise_and")
bitwise_or = _bitwise(np.bitwise_or, "bitwise_or")
bitwise_xor = _bitwise(np.bitwise_xor, "bitwise_xor")


def bitwise_not(input: Tensor) -> Tensor:
    if input.is_floating_point():
        raise RuntimeError(f"bitwise_not: expected an integer or bool tensor, got {input.dtype}")
    return Tensor._make(np.invert(input._data))


def equal(input: Tensor, other: Tensor) -> bool:
    """True when both tensors have the same shape and elements."""
    return input.shape == other.shape and bool(np.all(input._data == other._data))


def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    return Tensor._make(np.isclose(input._data, _data(other), rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    return bool(np.allclose(input._data, _data(other), rtol=rtol, atol=atol, equal_nan=equal_nan))


def isnan(input: Tensor) -> Tensor:
    return Tensor._make(np.isnan(input._data))


def isinf(input: Tensor) -> Tensor:
    return Tensor._make(np.isinf(input._data))


def isfinite(input: Tensor) -> Tensor:
    return Tensor._make(np.isfinite(input._data))


# Methods bound to Tensor (ops/__init__.py); each name in INPLACE also gets a `name_` form.
TENSOR_METHODS = {name: globals()[name] for name in __all__ if name not in ("equal",)}
TENSOR_METHODS.update(equal=equal, greater=gt, greater_equal=ge, less=lt, less_equal=le, not_equal=ne)
INPLACE = ["add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide",
           "floor_divide", "remainder", "fmod", "neg", "negative", "pow",
           "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_not",
           "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not"]
