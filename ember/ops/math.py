"""Element-wise math: exponentials and logarithms, trigonometry, special functions,
rounding, clamping, and the binary functions (atan2, maximum, lerp, xlogy, ...).

Most functions of one tensor are one-line entries of the ``_float_unary`` table: an
array function for the forward and the derivative written in tensor ops.
"""
from __future__ import annotations

import builtins
import math as _m
import numbers

import numpy as np

from .._tensor import Tensor
from ..autograd.function import Function
from ..autograd.grad_mode import state
from ..backend import dtypes, special
from .elementwise import Mul, cast, pow, promote, scalar_tensor
from .indexing import where

__all__ = [
    "abs", "absolute", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt",
    "square", "reciprocal", "sin", "cos", "tan", "asin", "arcsin", "acos", "arccos", "atan",
    "arctan", "sinh", "cosh", "tanh", "asinh", "arcsinh", "acosh", "arccosh", "atanh", "arctanh",
    "sigmoid", "relu", "erf", "erfc", "erfinv", "sign", "sgn", "floor", "ceil", "round", "trunc",
    "fix", "frac", "deg2rad", "rad2deg", "logit", "nan_to_num",
    "clamp", "clip", "clamp_min", "clamp_max", "atan2", "arctan2", "hypot", "maximum", "minimum",
    "fmax", "fmin", "logaddexp", "logaddexp2", "xlogy", "heaviside", "lerp", "addcmul", "addcdiv",
]

_LN2, _LN10 = _m.log(2.0), _m.log(10.0)


def _float(input: Tensor) -> Tensor:
    """Integer inputs of float functions compute in the default float dtype, as in PyTorch."""
    return input if input._data.dtype.kind == "f" else input.to(dtypes.get_default_dtype())


def _const(arr) -> Tensor:
    """A constant tensor from an array NumPy may have returned as a scalar (0-d inputs)."""
    return Tensor._make(np.asarray(arr) if isinstance(arr, np.generic) else arr)


class _Masked(Function):
    """grad where the boolean array ``mask`` holds, else 0 (ReLU's and clamp's gradient).
    A multiply (20x faster than np.where here), then the rare inf * 0 = nan outside the mask
    is set to 0, so the result is a selection, as in PyTorch."""

    @staticmethod
    def forward(ctx, grad, mask):
        ctx.mask = mask
        out = grad._data * mask
        if not np.isfinite(out).all():
            out[~mask] = 0
        return out

    @staticmethod
    def backward(ctx, gg):
        return _Masked.apply(gg, ctx.mask), None


def _masked(grad: Tensor, mask) -> Tensor:
    return _Masked.apply(grad, mask)


class _Tie(Function):
    """``t`` itself, made to depend on ``source`` with derivative zero.

    The gradient of a piecewise-linear op (relu, hardtanh, pooling, ...) is linear in the
    incoming gradient, with coefficients that depend on the input only through a mask; its
    derivative with respect to the input is zero, not undefined. Tying the gradient to the
    input records that, so double backward returns zeros (and the gradient with respect to
    the incoming gradient) instead of finding no path to the input, as PyTorch's
    threshold_backward, max_pool2d_backward & co. do."""

    @staticmethod
    def forward(ctx, t, source):
        ctx.source_shape = source._data.shape
        return t._data

    @staticmethod
    def backward(ctx, grad):
        return grad, Tensor._make(np.zeros(ctx.source_shape, dtype=grad._data.dtype, like=grad._data))


class _TieGrad(Function):
    """The identity, whose gradient is tied to its input: in front of a linear map composed
    of ops that do not read the input in backward (matmul with a constant), it gives that
    map the same zero second derivative as a primitive that ties its own gradient."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a._data

    @staticmethod
    def backward(ctx, grad):
        a, = ctx.saved_tensors
        return tie(grad, a)


def tie_grad(input: Tensor) -> Tensor:
    """``input`` itself, whose incoming gradients are tied to it (see _TieGrad)."""
    return _TieGrad.apply(input) if state.enabled and input.requires_grad else input


def tie(t: Tensor, source: Tensor) -> Tensor:
    """``t`` with a zero-derivative dependence on ``source`` (see _Tie); only recorded when
    the gradient itself is being differentiated (create_graph) and ``source`` needs it."""
    if state.enabled and source.requires_grad:
        return _Tie.apply(t, source)
    return t


def _check_tensor(op: str, **args) -> None:
    for i, (name, value) in enumerate(args.items()):
        if not isinstance(value, Tensor):
            raise TypeError(f"{op}(): argument '{name}' (position {i + 1}) must be Tensor, "
                            f"not {type(value).__name__}")


# ---- functions of one tensor ---------------------------------------------------------
class _Unary(Function):
    """y = fn(x). Subclasses set ``fn`` (array -> array), ``dx`` ((grad, saved) -> input
    gradient, in tensor ops) and ``saves``: "x" (the input), "y" (the output) or None."""

    saves: str | None = "x"

    @staticmethod
    def forward(ctx, a):
        x = a._data
        with np.errstate(all="ignore"):  # inf/nan results, as in PyTorch, without NumPy warnings
            out = ctx.fn(x)
        if isinstance(out, np.generic):  # 0-d: an array, so a saved output is recognised as one
            out = np.asarray(out)
        if out.dtype != x.dtype:  # SciPy computes float16 special functions in float32
            out = out.astype(x.dtype)
        if ctx.saves is not None:
            ctx.save_for_backward(a if ctx.saves == "x" else out)
        return out

    @staticmethod
    def backward(ctx, grad):
        saved = ctx.saved_tensors[0] if ctx.saves is not None else None
        return ctx.dx(grad, saved)


def _zero_grad(grad: Tensor, _) -> Tensor:
    """Piecewise-constant functions (floor, sign, ...) have gradient 0, as in PyTorch."""
    return Tensor._make(np.zeros_like(grad._data))


def _primitive(name: str, fn, dx, saves: str | None) -> type:
    return type(name, (_Unary,), {"fn": staticmethod(fn), "dx": staticmethod(dx), "saves": saves,
                                  "__module__": __name__})


def _float_unary(name: str, fn, dx, saves: str | None = "x", doc: str = ""):
    """The public function of a float primitive: integer and bool inputs compute in the
    default float dtype."""
    cls = _primitive(name.capitalize(), fn, dx, saves)

    def op(input: Tensor) -> Tensor:
        _check_tensor(name, input=input)
        return cls.apply(_float(input))
    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


def _stable_sigmoid(x):
    e = np.exp(-np.abs(x))  # exp of a non-positive number only: large |x| never overflows
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


exp = _float_unary("exp", np.exp, lambda g, y: g * y, "y", "e^x, element-wise.")
exp2 = _float_unary("exp2", np.exp2, lambda g, y: g * y * _LN2, "y", "2^x, element-wise.")
expm1 = _float_unary("expm1", np.expm1, lambda g, y: g * (y + 1), "y",
                     "e^x - 1, accurate for small x.")
log = _float_unary("log", np.log, lambda g, x: g / x, doc="Natural logarithm.")
log2 = _float_unary("log2", np.log2, lambda g, x: g / (x * _LN2), doc="Base-2 logarithm.")
log10 = _float_unary("log10", np.log10, lambda g, x: g / (x * _LN10), doc="Base-10 logarithm.")
log1p = _float_unary("log1p", np.log1p, lambda g, x: g / (x + 1), doc="log(1 + x), accurate for small x.")
sqrt = _float_unary("sqrt", np.sqrt, lambda g, y: g / (y * 2), "y", "Square root.")
rsqrt = _float_unary("rsqrt", lambda x: 1 / np.sqrt(x), lambda g, y: g * y * y * y * -0.5, "y",
                     "1 / sqrt(x).")
reciprocal = _float_unary("reciprocal", np.reciprocal, lambda g, y: -(g * y * y), "y", "1 / x.")
sin = _float_unary("sin", np.sin, lambda g, x: g * x.cos(), doc="Sine (radians).")
cos = _float_unary("cos", np.cos, lambda g, x: -(g * x.sin()), doc="Cosine (radians).")
tan = _float_unary("tan", np.tan, lambda g, y: g * (y * y + 1), "y", "Tangent (radians).")
asin = _float_unary("asin", np.arcsin, lambda g, x: g * (1 - x * x).rsqrt(), doc="Inverse sine.")
acos = _float_unary("acos", np.arccos, lambda g, x: -(g * (1 - x * x).rsqrt()), doc="Inverse cosine.")
atan = _float_unary("atan", np.arctan, lambda g, x: g / (x * x + 1), doc="Inverse tangent.")
sinh = _float_unary("sinh", np.sinh, lambda g, x: g * x.cosh(), doc="Hyperbolic sine.")
cosh = _float_unary("cosh", np.cosh, lambda g, x: g * x.sinh(), doc="Hyperbolic cosine.")
tanh = _float_unary("tanh", np.tanh, lambda g, y: g * (1 - y * y), "y", "Hyperbolic tangent.")
asinh = _float_unary("asinh", np.arcsinh, lambda g, x: g * (x * x + 1).rsqrt(),
                     doc="Inverse hyperbolic sine.")
acosh = _float_unary("acosh", np.arccosh, lambda g, x: g * ((x - 1) * (x + 1)).rsqrt(),
                     doc="Inverse hyperbolic cosine.")
atanh = _float_unary("atanh", np.arctanh, lambda g, x: g / (1 - x * x),
                     doc="Inverse hyperbolic tangent.")
sigmoid = _float_unary("sigmoid", _stable_sigmoid, lambda g, y: g * y * (1 - y), "y",
                       "1 / (1 + e^-x), without overflow for large |x|.")
erf = _float_unary("erf", special.erf, lambda g, x: g * (-(x * x)).exp() * (2 / _m.sqrt(_m.pi)),
                   doc="The Gauss error function.")
erfc = _float_unary("erfc", special.erfc, lambda g, x: g * (-(x * x)).exp() * (-2 / _m.sqrt(_m.pi)),
                    doc="1 - erf(x), accurate where erf(x) is close to 1.")
erfinv = _float_unary("erfinv", special.erfinv, lambda g, y: g * (y * y).exp() * (_m.sqrt(_m.pi) / 2),
                      "y", "The inverse of erf on (-1, 1).")

_Abs = _primitive("Abs", np.abs, lambda g, x: g * x.sign(), "x")
_Sign = _primitive("Sign", lambda x: (x > 0).astype(x.dtype) - (x < 0).astype(x.dtype), _zero_grad, None)
_Floor = _primitive("Floor", np.floor, _zero_grad, None)
_Ceil = _primitive("Ceil", np.ceil, _zero_grad, None)
_Trunc = _primitive("Trunc", np.trunc, _zero_grad, None)
_Round = _primitive("Round", np.rint, _zero_grad, None)  # rint rounds half to even, as PyTorch


class Relu(Function):
    # Kept apart from _Unary: on the MLP hot path, without the error-state context.
    @staticmethod
    def forward(ctx, a):
        out = np.maximum(a._data, 0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out, = ctx.saved_tensors
        # not (out <= 0): a NaN input passes the gradient, as in PyTorch's threshold_backward
        return tie(_masked(grad, ~(out._data <= 0)), out)


def abs(input: Tensor) -> Tensor:
    """|x|, element-wise (integers stay integers)."""
    _check_tensor("abs", input=input)
    if input._data.dtype == np.bool_:
        raise NotImplementedError("\"abs_cpu\" not implemented for 'Bool': abs of a bool tensor")
    return _Abs.apply(input)


def relu(input: Tensor) -> Tensor:
    """max(x, 0), element-wise."""
    _check_tensor("relu", input=input)
    if input._data.dtype == np.bool_:
        raise RuntimeError("Boolean inputs not supported for relu")
    return Relu.apply(input)


def sign(input: Tensor) -> Tensor:
    """-1, 0 or 1 by the sign of each element (gradient 0)."""
    _check_tensor("sign", input=input)
    if input._data.dtype == np.bool_:
        return Tensor._make(input._data.copy())
    return _Sign.apply(input)


def _rounding(name: str, cls: type, doc: str):
    def op(input: Tensor) -> Tensor:
        _check_tensor(name, input=input)
        if input._data.dtype == np.bool_:
            raise NotImplementedError(f"\"{name}\" not implemented for 'Bool'")
        if input._data.dtype.kind != "f":  # integers are already whole numbers
            return Tensor._make(input._data.copy())
        return cls.apply(input)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


_round_whole = _rounding("round", _Round, "x rounded to the nearest integer, halves to even.")
floor = _rounding("floor", _Floor, "The largest integer <= x, element-wise (gradient 0).")
ceil = _rounding("ceil", _Ceil, "The smallest integer >= x, element-wise (gradient 0).")
trunc = _rounding("trunc", _Trunc, "x rounded toward zero, element-wise (gradient 0).")


def round(input: Tensor, *, decimals: int = 0) -> Tensor:
    """x rounded to ``decimals`` places, halves to even (gradient 0)."""
    _check_tensor("round", input=input)
    if decimals == 0:
        return _round_whole(input)
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f"\"round_cpu\" not implemented for '{input.dtype.name}': "
                                  "round(decimals=...) needs a floating point tensor")
    scale = 10.0 ** builtins.abs(decimals)
    if decimals > 0:
        return _Round.apply(input * scale) / scale
    return _Round.apply(input / scale) * scale


def frac(input: Tensor) -> Tensor:
    """x - trunc(x): the fractional part, with the sign of x."""
    _check_tensor("frac", input=input)
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f"\"frac_cpu\" not implemented for '{input.dtype.name}'")
    return input - _Trunc.apply(input)


def square(input: Tensor) -> Tensor:
    """x * x (integers stay integers; bool becomes int64)."""
    _check_tensor("square", input=input)
    return pow(input, 2)


def deg2rad(input: Tensor) -> Tensor:
    """Degrees to radians."""
    _check_tensor("deg2rad", input=input)
    return _float(input) * (_m.pi / 180)


def rad2deg(input: Tensor) -> Tensor:
    """Radians to degrees."""
    _check_tensor("rad2deg", input=input)
    return _float(input) * (180 / _m.pi)


class Logit(Function):
    @staticmethod
    def forward(ctx, a, eps):
        x = a._data
        if eps is not None:
            x = np.clip(x, eps, 1 - eps)
        ctx.eps = eps
        ctx.save_for_backward(a)
        with np.errstate(all="ignore"):
            return np.log(x / (1 - x))

    @staticmethod
    def backward(ctx, grad):
        a, = ctx.saved_tensors
        g = grad / (a * (1 - a))
        if ctx.eps is None:
            return g, None
        # Clamped elements are constant: gradient 0 outside [eps, 1 - eps] (where, not a
        # product with the mask, since g is infinite at 0 and 1).
        x = a._data
        return where(_const((x >= ctx.eps) & (x <= 1 - ctx.eps)), g, 0.0), None


def logit(input: Tensor, eps: float | None = None) -> Tensor:
    """log(x / (1 - x)); with ``eps``, x is first clamped to [eps, 1 - eps]."""
    _check_tensor("logit", input=input)
    return Logit.apply(_float(input), eps)


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:
    """NaN, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (by default the
    dtype's largest and smallest finite values). Gradient passes where x is finite."""
    _check_tensor("nan_to_num", input=input)
    if input._data.dtype.kind != "f":
        return Tensor._make(input._data.copy())
    filled = np.nan_to_num(input._data, nan=nan, posinf=posinf, neginf=neginf)
    return where(Tensor._make(np.isfinite(input._data)), input, _const(filled))


# ---- clamp ---------------------------------------------------------------------------
class Clamp(Function):
    @staticmethod
    def forward(ctx, a, lo, hi):
        ctx.save_for_backward(a, lo, hi)
        out = a._data
        if lo is not None:
            out = np.maximum(out, lo._data)
        if hi is not None:
            out = np.minimum(out, hi._data)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, lo, hi = ctx.saved_tensors
        x = a._data
        lo_ = None if lo is None else lo._data
        hi_ = None if hi is None else hi._data
        ga = glo = ghi = None
        if ctx.needs_input_grad[0]:  # x inside [min, max], both ends included (NaN gets 0)
            inside = (x >= lo_) if lo_ is not None else np.ones_like(x, dtype=bool)
            ga = _masked(grad, inside & (x <= hi_) if hi_ is not None else inside)
        if ctx.needs_input_grad[1]:  # min is the result where x < min and min wins over max
            glo = _masked(grad, (x < lo_) & (lo_ < hi_) if hi_ is not None else x < lo_)
        if ctx.needs_input_grad[2]:
            ghi = _masked(grad, (x > hi_) | (hi_ < lo_) if lo_ is not None else x > hi_)
        return ga, glo, ghi


def _bound(x: Tensor, bound):
    """``x`` and ``bound`` promoted together (bound may be None)."""
    if bound is None:
        return x, None
    return promote(x, bound)


def clamp(input: Tensor, min=None, max=None) -> Tensor:
    """Each element limited to [min, max]; either bound may be None, a number or a tensor
    (broadcast). Where min > max the result is max. Gradient passes where min <= x <= max."""
    _check_tensor("clamp", input=input)
    if min is None and max is None:
        raise RuntimeError("clamp: At least one of 'min' or 'max' must not be None")
    x, lo = _bound(input, min)
    x, hi = _bound(x, max)
    if lo is not None and lo._data.dtype != x._data.dtype:
        lo = cast(lo, x.dtype)
    return Clamp.apply(x, lo, hi)


def clamp_min(input: Tensor, min) -> Tensor:
    """max(x, min), element-wise."""
    return clamp(input, min=min)


def clamp_max(input: Tensor, max) -> Tensor:
    """min(x, max), element-wise."""
    return clamp(input, max=max)


clip = clamp


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
    @staticmethod
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

    @staticmethod
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
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        x, y = a._data, b._data
        with np.errstate(all="ignore"):
            return np.where((x == 0) & ~np.isnan(y), x.dtype.type(0), x * np.log(y))

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = where(_const((a._data == 0) & (b._data <= 0)), 0.0, xlogy(grad, b))
        if ctx.needs_input_grad[1]:
            gb = grad * a / b
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


def atan2(input: Tensor, other: Tensor) -> Tensor:
    """The angle of the point (other, input): atan(input / other) in the right quadrant."""
    return Atan2.apply(*_pair("atan2", input, other))


def hypot(input: Tensor, other: Tensor) -> Tensor:
    """sqrt(input^2 + other^2), without overflow for large values (floating dtypes only)."""
    a, b = _pair("hypot", input, other, floating=False)
    if a._data.dtype.kind != "f":
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
    @staticmethod
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
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f"\"lerp_kernel\" not implemented for '{input.dtype.name}': "
                                  "lerp needs floating point tensors")
    if isinstance(weight, Tensor):
        w = cast(weight, input.dtype)
    else:
        w = scalar_tensor(weight, input.dtype, input._data)
    return Lerp.apply(input, end, w)


def _value_check(op: str, input: Tensor, value) -> None:
    if input._data.dtype.kind != "f" and isinstance(value, float):
        raise RuntimeError(f"{op}: for integral input tensors, argument value must not be a "
                           f"floating point number (got {value})")


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: numbers.Number = 1) -> Tensor:
    """input + value * tensor1 * tensor2, broadcast."""
    _check_tensor("addcmul", input=input, tensor1=tensor1, tensor2=tensor2)
    _value_check("addcmul", input, value)
    prod = tensor1 * tensor2
    return input + (prod if value == 1 else prod * value)


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: numbers.Number = 1) -> Tensor:
    """input + value * tensor1 / tensor2, broadcast (floating point tensors only)."""
    _check_tensor("addcdiv", input=input, tensor1=tensor1, tensor2=tensor2)
    if tensor1._data.dtype.kind != "f" and tensor2._data.dtype.kind != "f":
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported: convert tensor1 or tensor2 "
            "to floating point (e.g. tensor1.float()), or compute "
            "(input + value * trunc(tensor1 / tensor2)).to(input.dtype) for integer inputs")
    _value_check("addcdiv", input, value)
    quot = tensor1 / tensor2
    return input + (quot if value == 1 else quot * value)


absolute, arcsin, arccos, arctan, arctan2 = abs, asin, acos, atan, atan2
arcsinh, arccosh, arctanh, fix, sgn = asinh, acosh, atanh, trunc, sign

TENSOR_METHODS = {name: globals()[name] for name in __all__}
INPLACE = [name for name in __all__
           if name not in ("maximum", "minimum", "fmax", "fmin", "logaddexp", "logaddexp2")]
