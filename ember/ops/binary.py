"""Element-wise math of two and three tensors: atan2, hypot, maximum/minimum, fmax/fmin,
logaddexp, xlogy, heaviside, lerp, addcmul and addcdiv. Numbers are operands as in
arithmetic (integers wrap); integer inputs of float functions compute in a float dtype."""
from __future__ import annotations

import numbers

import numpy as np

from ..amp.autocast_mode import autocast_op
from .._tensor import Tensor
from ..autograd.function import Function
from ..backend import dtypes
from .elementwise import Mul, cast, promote, scalar_first, scalar_tensor
from .indexing import where
from .math import _LN2, _check_tensor, _const, half_forward, sigmoid

__all__ = ["atan2", "arctan2", "hypot", "maximum", "minimum", "fmax", "fmin", "logaddexp",
           "logaddexp2", "xlogy", "heaviside", "lerp", "addcmul", "addcdiv"]


# ---- functions of two tensors --------------------------------------------------------
def _pair(op: str, input, other, floating: bool = True) -> tuple[Tensor, Tensor]:
    """Both tensor operands at their promoted dtype (a float one when ``floating``)."""
    _check_tensor(op, input=input, other=other)
    return promote(input, other, op, wrap=True, floating=floating)


class Atan2(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.arctan2(a._data, b._data)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        g = grad / (a * a + b * b)
        return g * b, -(g * a)


class Hypot(Function):
    @half_forward
    def forward(ctx, a, b):
        out = np.hypot(a._data, b._data)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        g = grad / out
        return g * a, g * b


class Logaddexp(Function):
    base2 = False  # Logaddexp2 below

    @half_forward
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return (np.logaddexp2 if ctx.base2 else np.logaddexp)(a._data, b._data)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        d = (a - b) * _LN2 if ctx.base2 else a - b
        return grad * sigmoid(d), grad * sigmoid(-d)


class Logaddexp2(Logaddexp):
    base2 = True


class Maximum(Function):
    """maximum (NaN wins, ties split the gradient in halves); subclasses: minimum, and
    fmax / fmin (NaN loses, ties send the whole gradient to ``input``)."""

    fn = staticmethod(np.maximum)

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return ctx.fn(a._data, b._data)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        x, y = a._data, b._data
        fn = ctx.fn
        if fn is np.maximum or fn is np.minimum:
            x_loses, y_loses = (x < y, x > y) if fn is np.maximum else (x > y, x < y)
            half = np.where(x == y, 0.5, 1.0)
            wa, wb = half * ~x_loses, half * ~y_loses
        else:
            wa = ((x >= y) if fn is np.fmax else (x <= y)) | np.isnan(y)
            wb = ~wa
        dt = grad._data.dtype
        return Mul.apply(grad, _const(wa.astype(dt))), Mul.apply(grad, _const(wb.astype(dt)))


class Minimum(Maximum):
    fn = staticmethod(np.minimum)


class Fmax(Maximum):
    fn = staticmethod(np.fmax)


class Fmin(Maximum):
    fn = staticmethod(np.fmin)


class Xlogy(Function):
    """x * log(y + shift), 0 where x is 0 (unless y is NaN); xlog1py is shift = 1 (log1p)."""
    log, shift = staticmethod(np.log), 0

    @half_forward
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        x, y = a._data, b._data
        return np.where((x == 0) & ~np.isnan(y), x.dtype.type(0), x * ctx.log(y))

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:  # PyTorch's: 0 where x == 0 and the log is -inf or nan
            ga = where(_const((a._data == 0) & (b._data <= -ctx.shift)), 0.0, ctx.apply(grad, b))
        if ctx.needs_input_grad[1]:
            gb = grad * a / (b + ctx.shift if ctx.shift else b)
        return ga, gb


class Heaviside(Function):
    @staticmethod
    def forward(ctx, a, v):
        x = a._data
        return np.where(x == 0, v._data, x > 0).astype(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("the derivative for 'heaviside' is not implemented (it is 0 almost "
                           "everywhere and undefined at 0); detach the input first")


@autocast_op("atan2")
def atan2(input: Tensor, other: Tensor) -> Tensor:
    """The angle of the point (other, input): atan(input / other) in the right quadrant."""
    return Atan2.apply(*_pair("atan2", input, other))


def hypot(input: Tensor, other: Tensor) -> Tensor:
    """sqrt(input^2 + other^2), without overflow for large values (floating dtypes only)."""
    a, b = _pair("hypot", input, other, floating=False)
    if not dtypes.is_floating_array(a._data.dtype):
        raise dtypes.not_implemented("hypot_cpu", a.dtype, "convert the operands with .float()")
    return Hypot.apply(a, b)


def logaddexp(input: Tensor, other: Tensor) -> Tensor:
    """log(e^input + e^other), computed without overflow."""
    return Logaddexp.apply(*_pair("logaddexp", input, other))


def logaddexp2(input: Tensor, other: Tensor) -> Tensor:
    """log2(2^input + 2^other), computed without overflow."""
    return Logaddexp2.apply(*_pair("logaddexp2", input, other))


def _extremum(name: str, cls: type, doc: str):
    def op(input: Tensor, other: Tensor) -> Tensor:
        return cls.apply(*_pair(name, input, other, floating=False))
    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


maximum = _extremum("maximum", Maximum, "The element-wise maximum (NaN if either is NaN).")
minimum = _extremum("minimum", Minimum, "The element-wise minimum (NaN if either is NaN).")
fmax = _extremum("fmax", Fmax, "The element-wise maximum, ignoring NaN where the other is a number.")
fmin = _extremum("fmin", Fmin, "The element-wise minimum, ignoring NaN where the other is a number.")


def xlogy(input, other) -> Tensor:
    """input * log(other), and 0 where input is 0 (unless other is NaN). Either may be a number."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError("xlogy(): expected at least one Tensor argument")
    return Xlogy.apply(*promote(input, other, "xlogy", wrap=True, floating=True))


def heaviside(input: Tensor, values: Tensor) -> Tensor:
    """The step function: 0 for x < 0, ``values`` for x == 0, 1 for x > 0."""
    _check_tensor("heaviside", input=input, values=values)
    if input._data.dtype != values._data.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes "
                           f"({input.dtype.name} and {values.dtype.name}); convert values with "
                           ".to(input.dtype)")
    return Heaviside.apply(input, values)


# ---- functions of three tensors ------------------------------------------------------
class Lerp(Function):
    @half_forward
    def forward(ctx, a, b, w):
        ctx.save_for_backward(a if ctx.needs_input_grad[2] else None,
                              b if ctx.needs_input_grad[2] else None, w)
        s, e, t = a._data, b._data, w._data
        d = e - s
        # From the nearer end, so weight 0 gives start and weight 1 gives end exactly.
        return np.where(np.abs(t) < 0.5, s + t * d, e - d * (1 - t))

    @staticmethod
    def backward(ctx, grad):
        a, b, w = ctx.saved_tensors
        gw = grad * (b - a) if ctx.needs_input_grad[2] else None
        return grad * (1 - w), grad * w, gw


def lerp(input: Tensor, end: Tensor, weight) -> Tensor:
    """input + weight * (end - input); ``weight`` is a number or a tensor (broadcast)."""
    _check_tensor("lerp", input=input, end=end)
    for name, t in (("end", end), ("weight", weight)):
        if isinstance(t, Tensor) and t._data.dtype != input._data.dtype and (name == "end" or t.ndim):
            raise RuntimeError(f"lerp: expected dtype {input.dtype.name} for `{name}` but got dtype "
                               f"{t.dtype.name}")
    if not dtypes.is_floating_array(input._data.dtype):
        raise NotImplementedError(f"\"lerp_kernel\" not implemented for '{input.dtype.name}': "
                                  "lerp needs floating point tensors")
    if isinstance(weight, Tensor):
        w = cast(weight, input.dtype)
    else:
        w = scalar_tensor(weight, input.dtype, input._data)
    return Lerp.apply(input, end, w)


def _value_check(op: str, input: Tensor, value) -> None:
    if not dtypes.is_floating_array(input._data.dtype) and isinstance(value, float):
        raise RuntimeError(f"{op}: for integral input tensors, argument value must not be a "
                           f"floating point number (got {value})")


@autocast_op("addcmul")
def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *deprecated,
            value: numbers.Number = 1) -> Tensor:
    """input + value * tensor1 * tensor2, broadcast."""
    if deprecated:
        tensor1, tensor2, value = scalar_first("addcmul", tensor1, (tensor2, *deprecated),
                                               ("tensor1", "tensor2"), "value")
    _check_tensor("addcmul", input=input, tensor1=tensor1, tensor2=tensor2)
    _value_check("addcmul", input, value)
    prod = tensor1 * tensor2
    return input + (prod if value == 1 else prod * value)


@autocast_op("addcdiv")
def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *deprecated,
            value: numbers.Number = 1) -> Tensor:
    """input + value * tensor1 / tensor2, broadcast (floating point tensors only)."""
    if deprecated:
        tensor1, tensor2, value = scalar_first("addcdiv", tensor1, (tensor2, *deprecated),
                                               ("tensor1", "tensor2"), "value")
    _check_tensor("addcdiv", input=input, tensor1=tensor1, tensor2=tensor2)
    if not dtypes.is_floating_array(tensor1._data.dtype) and not dtypes.is_floating_array(tensor2._data.dtype):
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported: convert tensor1 or tensor2 "
            "to floating point (e.g. tensor1.float()), or compute "
            "(input + value * trunc(tensor1 / tensor2)).to(input.dtype) for integer inputs")
    _value_check("addcdiv", input, value)
    quot = tensor1 / tensor2
    return input + (quot if value == 1 else quot * value)


arctan2 = atan2

TENSOR_METHODS = {name: globals()[name] for name in __all__}
INPLACE = [name for name in __all__
           if name not in ("maximum", "minimum", "fmax", "fmin", "logaddexp", "logaddexp2")]
