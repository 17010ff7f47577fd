"""Element-wise math of one tensor: exponentials and logarithms, trigonometry, special
functions, rounding and clamping (binary.py has the functions of two and three tensors).

Most functions of one tensor are one-line entries of the ``_float_unary`` table: an
array function for the forward and the derivative written in tensor ops.
"""
from __future__ import annotations

import builtins
import math as _m

import numpy as np

from ..amp.autocast_mode import autocast_op
from .._layout import flat_view
from .._tensor import Tensor
from ..autograd.function import Function
from ..autograd.grad_mode import state
from ..backend import dtypes, kernels, special
from ..backend.compat import as_array
from .complex import complex_abs
from .elementwise import cast, pow, promote
from .indexing import where

__all__ = [
    "abs", "absolute", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt",
    "square", "reciprocal", "sin", "cos", "tan", "asin", "arcsin", "acos", "arccos", "atan",
    "arctan", "sinh", "cosh", "tanh", "asinh", "arcsinh", "acosh", "arccosh", "atanh", "arctanh",
    "sigmoid", "relu", "erf", "erfc", "erfinv", "sign", "sgn", "floor", "ceil", "round", "trunc",
    "fix", "frac", "deg2rad", "rad2deg", "logit", "nan_to_num",
    "clamp", "clip", "clamp_min", "clamp_max",
]

_LN2, _LN10 = _m.log(2.0), _m.log(10.0)


def _float(input: Tensor) -> Tensor:
    """Integer inputs of float functions compute in the default float dtype, as in PyTorch."""
    return input if dtypes.is_floating_array(input._data.dtype) else input.to(dtypes.get_default_dtype())


def _const(arr) -> Tensor:
    """A constant tensor from an array NumPy may have returned as a scalar (0-d inputs)."""
    return Tensor._make(as_array(arr))


class _Masked(Function):
    """grad where the boolean array ``mask`` holds, else 0 (ReLU's and clamp's gradient).
    A multiply (20x faster than np.where here), then the rare inf * 0 = nan outside the mask
    is set to 0, so the result is a selection, as in PyTorch."""

    @staticmethod
    def forward(ctx, grad, mask):
        ctx.mask = mask
        g = grad._data
        k = kernels.cpu()
        flats = kernels.flat_views((g, mask)) if (k is not None and kernels.usable(g) and type(mask) is np.ndarray
                                                  and mask.dtype == np.bool_) else None
        if flats is not None:
            out = np.empty_like(g)  # g's layout, so its flat view lines up
            k.select.masked(*flats, flat_view(out))  # one pass (kernels/select.py)
            return out
        out = g * mask
        if not np.isfinite(out).all():
            out[~mask] = 0
        return out

    @staticmethod
    def backward(ctx, gg):
        return _Masked.apply(gg, ctx.mask), None


def _masked(grad: Tensor, mask) -> Tensor:
    return _Masked.apply(grad, mask)


def _zero_at_most(grad: Tensor, values, bound) -> Tensor:
    """``grad`` where not ``values <= bound`` (NaN values pass it), else 0: the gradient of
    ReLU and threshold from their saved values. Without a graph of the backward (no
    create_graph), one kernel pass that makes no mask array."""
    out = None if state.enabled else kernels.apply_select("unless_at_most", (grad._data, values), bound)
    return _masked(grad, ~(values <= bound)) if out is None else Tensor._make(out)


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


def _check_tensor(op: str, input, **others) -> None:
    """PyTorch's TypeError for an argument that is not a tensor. ``input`` is positional:
    every unary op checks it, and a keyword dict per call cost a tenth of a small op."""
    if not others and isinstance(input, Tensor):
        return
    for i, (name, value) in enumerate((("input", input), *others.items())):
        if not isinstance(value, Tensor):
            raise TypeError(f"{op}(): argument '{name}' (position {i + 1}) must be Tensor, "
                            f"not {type(value).__name__}")


# ---- functions of one tensor ---------------------------------------------------------
class _Unary(Function):
    """y = fn(x). Subclasses set ``fn`` (array -> array), ``dx`` ((grad, saved) -> input
    gradient, in tensor ops) and ``saves``: "x" (the input), "y" (the output) or None."""

    saves: str | None = "x"
    grad_kernel: str | None = None  # the compiled gradient of pointwise.py (from g and saved)

    @staticmethod
    def forward(ctx, a):
        x = a._data
        # inf/nan results as in PyTorch (Function.apply keeps NumPy quiet about them)
        out = ctx.fn(dtypes.float32_of(x))  # half types: in float32, rounded once (PyTorch's kernels)
        out = as_array(out)  # 0-d: an array, so a saved output is recognised as one
        if out.dtype != x.dtype:
            out = out.astype(x.dtype)
        if ctx.saves is not None:
            ctx.save_for_backward(a if ctx.saves == "x" else out)
        return out

    @staticmethod
    def backward(ctx, grad):
        saved = ctx.saved_tensors[0] if ctx.saves is not None else None
        if ctx.grad_kernel is not None and not state.enabled:  # no graph of the backward: one pass
            out = kernels.apply_pointwise(ctx.grad_kernel, (grad._data, saved._data))
            if out is not None:
                return Tensor._make(out)
        return half_in_float32(ctx.dx, grad, saved)


def half_forward(forward):
    """Decorate a Function's forward whose NumPy steps would each round a half input (float16,
    bfloat16): it runs on float32 copies of the half tensors and its result is rounded once, as
    PyTorch's kernels compute. What it saves is float32, so its backward runs in float32 too
    and the engine rounds the gradients once to the inputs' dtype."""
    def run(ctx, a, *rest):
        if not dtypes.is_half(a._data.dtype):
            return forward(ctx, a, *rest)
        wide = [Tensor._make(t._data.astype(np.float32)) if isinstance(t, Tensor) and dtypes.is_half(t._data.dtype)
                else t for t in (a, *rest)]
        return dtypes.round_to(forward(ctx, *wide), a._data.dtype)
    return staticmethod(run)


def half_in_float32(fn, first: Tensor, *others):
    """``fn(first, *others)``, for a half ``first`` (float16, bfloat16) computed on float32
    copies and rounded once to its dtype, as PyTorch's fused (backward) kernels compute; the
    casts are differentiable. Other dtypes run as they are."""
    if not dtypes.is_half(first._data.dtype):
        return fn(first, *others)
    return fn(first.float(), *(t.float() if isinstance(t, Tensor) else t for t in others)).to(first.dtype)


def _zero_grad(grad: Tensor, _) -> Tensor:
    """Piecewise-constant functions (floor, sign, ...) have gradient 0, as in PyTorch."""
    return Tensor._make(np.zeros_like(grad._data))


def _primitive(name: str, fn, dx, saves: str | None, grad_kernel: str | None = None) -> type:
    return type(name, (_Unary,), {"fn": staticmethod(fn), "dx": staticmethod(dx), "saves": saves,
                                  "grad_kernel": grad_kernel, "__module__": __name__})


def _float_unary(name: str, fn, dx, saves: str | None = "x", doc: str = "", grad_kernel: str | None = None):
    """The public function of a float primitive: integer and bool inputs compute in the
    default float dtype."""
    cls = _primitive(name.capitalize(), fn, dx, saves, grad_kernel)

    def op(input: Tensor) -> Tensor:
        _check_tensor(name, input)
        return cls.apply(_float(input))
    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return autocast_op(name)(op)


def _stable_sigmoid(x):
    e = np.exp(-np.abs(x))  # exp of a non-positive number only: large |x| never overflows
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _compiled_or(name: str, numpy_fn):
    """``numpy_fn``, run by the compiled kernel ``name`` where ``kernels.apply_pointwise`` takes
    the array."""
    def fn(x):
        out = kernels.apply_pointwise(name, (x,))
        return numpy_fn(x) if out is None else out
    fn.__name__ = name
    return fn


exp = _float_unary("exp", _compiled_or("exp", np.exp), lambda g, y: g * y, "y", "e^x, element-wise.")
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
tanh = _float_unary("tanh", _compiled_or("tanh", np.tanh), lambda g, y: g * (1 - y * y), "y", "Hyperbolic tangent.",
                    "tanh_grad")
asinh = _float_unary("asinh", np.arcsinh, lambda g, x: g * (x * x + 1).rsqrt(),
                     doc="Inverse hyperbolic sine.")
acosh = _float_unary("acosh", np.arccosh, lambda g, x: g * ((x - 1) * (x + 1)).rsqrt(),
                     doc="Inverse hyperbolic cosine.")
atanh = _float_unary("atanh", np.arctanh, lambda g, x: g / (1 - x * x),
                     doc="Inverse hyperbolic tangent.")
sigmoid = _float_unary("sigmoid", _compiled_or("sigmoid", _stable_sigmoid), lambda g, y: g * y * (1 - y), "y",
                       "1 / (1 + e^-x), without overflow for large |x|.", "sigmoid_grad")
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


_RELU_KERNEL_SIZE = 4096  # below, the kernel's call costs more than NumPy's slower loop saves


class Relu(Function):
    # Kept apart from _Unary: on the MLP hot path, without the error-state context.
    @staticmethod
    def forward(ctx, a):
        x = a._data
        k = kernels.cpu() if x.size >= _RELU_KERNEL_SIZE else None
        flat = flat_view(x) if k is not None and kernels.usable(x) else None
        if flat is not None:
            out = np.empty_like(x)  # x's layout, so its flat view lines up
            k.select.relu(flat, flat_view(out))
        else:
            out = np.maximum(0, x)  # in this order -0.0 stays -0.0, as in PyTorch and the kernel
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out, = ctx.saved_tensors
        # not (out <= 0): a NaN input passes the gradient, as in PyTorch's threshold_backward
        return tie(_zero_at_most(grad, out._data, 0), out)


def abs(input: Tensor) -> Tensor:
    """|x|, element-wise (integers stay integers)."""
    _check_tensor("abs", input)
    if input._data.dtype == np.bool_:
        raise NotImplementedError("\"abs_cpu\" not implemented for 'Bool': abs of a bool tensor")
    if input.dtype.is_complex:
        return complex_abs(input)
    return _Abs.apply(input)


def relu(input: Tensor) -> Tensor:
    """max(x, 0), element-wise."""
    _check_tensor("relu", input)
    if input._data.dtype.kind == "b":
        raise RuntimeError("Boolean inputs not supported for relu")
    return Relu.apply(input)


def sign(input: Tensor) -> Tensor:
    """-1, 0 or 1 by the sign of each element (gradient 0)."""
    _check_tensor("sign", input)
    if input._data.dtype == np.bool_:
        return Tensor._make(input._data.copy())
    return _Sign.apply(input)


def _rounding(name: str, cls: type, doc: str):
    def op(input: Tensor) -> Tensor:
        _check_tensor(name, input)
        if input._data.dtype == np.bool_:
            raise NotImplementedError(f"\"{name}\" not implemented for 'Bool'")
        if not dtypes.is_floating_array(input._data.dtype):  # integers are already whole numbers
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
    _check_tensor("round", input)
    if decimals == 0:
        return _round_whole(input)
    if not dtypes.is_floating_array(input._data.dtype):
        raise NotImplementedError(f"\"round_cpu\" not implemented for '{input.dtype.name}': "
                                  "round(decimals=...) needs a floating point tensor")
    scale = 10.0 ** builtins.abs(decimals)
    if decimals > 0:
        return _Round.apply(input * scale) / scale
    return _Round.apply(input / scale) * scale


def frac(input: Tensor) -> Tensor:
    """x - trunc(x): the fractional part, with the sign of x."""
    _check_tensor("frac", input)
    if not dtypes.is_floating_array(input._data.dtype):
        raise NotImplementedError(f"\"frac_cpu\" not implemented for '{input.dtype.name}'")
    return input - _Trunc.apply(input)


def square(input: Tensor) -> Tensor:
    """x * x (integers stay integers; bool becomes int64)."""
    _check_tensor("square", input)
    return pow(input, 2)


def deg2rad(input: Tensor) -> Tensor:
    """Degrees to radians."""
    _check_tensor("deg2rad", input)
    return _float(input) * (_m.pi / 180)


def rad2deg(input: Tensor) -> Tensor:
    """Radians to degrees."""
    _check_tensor("rad2deg", input)
    return _float(input) * (180 / _m.pi)


class Logit(Function):
    @staticmethod
    def forward(ctx, a, eps):
        x = a._data
        if eps is not None:
            x = np.clip(x, eps, 1 - eps)
        ctx.eps = eps
        ctx.save_for_backward(a)
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
    _check_tensor("logit", input)
    return Logit.apply(_float(input), eps)


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:
    """NaN, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (by default the
    dtype's largest and smallest finite values). Gradient passes where x is finite."""
    _check_tensor("nan_to_num", input)
    if not dtypes.is_floating_array(input._data.dtype):
        return Tensor._make(input._data.copy())
    filled = np.nan_to_num(input._data, nan=nan, posinf=posinf, neginf=neginf)
    return where(Tensor._make(np.isfinite(input._data)), input, _const(filled))


# ---- clamp ---------------------------------------------------------------------------
class Clamp(Function):
    @staticmethod
    def forward(ctx, a, lo, hi):
        ctx.save_for_backward(a, lo, hi)
        bounds = _scalar_bounds(a._data, lo, hi)
        out = None if bounds is None else kernels.apply_select("clamp", (a._data,), *bounds)
        if out is not None:
            return out
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
        bounds = None if state.enabled else _scalar_bounds(x, lo, hi)  # no graph of the backward
        if ctx.needs_input_grad[0] and bounds is not None:
            out = kernels.apply_select("inside", (grad._data, x), *bounds)
            ga = None if out is None else Tensor._make(out)
        if ctx.needs_input_grad[0] and ga is None:  # x inside [min, max], both ends included (NaN gets 0)
            inside = (x >= lo_) if lo_ is not None else np.ones_like(x, dtype=bool)
            ga = _masked(grad, inside & (x <= hi_) if hi_ is not None else inside)
        if ctx.needs_input_grad[1]:  # min is the result where x < min and min wins over max
            glo = _masked(grad, (x < lo_) & (lo_ < hi_) if hi_ is not None else x < lo_)
        if ctx.needs_input_grad[2]:
            ghi = _masked(grad, (x > hi_) | (hi_ < lo_) if lo_ is not None else x > hi_)
        return ga, glo, ghi


def _scalar_bounds(x, lo, hi):
    """(lo, hi) as numbers, +-inf for a missing one, for the compiled clamp: where each bound
    is None or a 0-d array of x's dtype and not NaN (a NaN bound gives NaN, NumPy's way);
    None otherwise."""
    bounds = []
    for bound, missing in ((lo, -np.inf), (hi, np.inf)):
        if bound is None:
            bounds.append(missing)
            continue
        b = bound._data
        if type(b) is not np.ndarray or b.ndim or b.dtype != x.dtype or b != b:
            return None
        bounds.append(b[()])
    return bounds


def _bound(x: Tensor, bound):
    """``x`` and ``bound`` promoted together (bound may be None)."""
    if bound is None:
        return x, None
    return promote(x, bound)


def clamp(input: Tensor, min=None, max=None) -> Tensor:
    """Each element limited to [min, max]; either bound may be None, a number or a tensor
    (broadcast). Where min > max the result is max. Gradient passes where min <= x <= max."""
    _check_tensor("clamp", input)
    if min is None and max is None:
        raise RuntimeError("clamp: At least one of 'min' or 'max' must not be None")
    if min is not None and max is not None and _mixed_bounds(min, max):
        raise TypeError(f"clamp(): min and max must both be tensors or both be numbers, got min of type "
                        f"{type(min).__name__} and max of type {type(max).__name__}; make the number a tensor "
                        f"(ember.full_like(input, value)) or pass two numbers")
    x, lo = _bound(input, min)
    x, hi = _bound(x, max)
    if lo is not None and lo._data.dtype != x._data.dtype:
        lo = cast(lo, x.dtype)
    return Clamp.apply(x, lo, hi)


def _mixed_bounds(min, max) -> bool:
    """Whether clamp's bounds match neither of PyTorch's overloads (two numbers, two tensors): a
    number with a tensor of one or more dims (a 0-d tensor passes as a number)."""
    tensors = [isinstance(b, Tensor) for b in (min, max)]
    return tensors[0] != tensors[1] and (min if tensors[0] else max).ndim > 0


def clamp_min(input: Tensor, min) -> Tensor:
    """max(x, min), element-wise."""
    return clamp(input, min=min)


def clamp_max(input: Tensor, max) -> Tensor:
    """min(x, max), element-wise."""
    return clamp(input, max=max)


clip = clamp


absolute, arcsin, arccos, arctan = abs, asin, acos, atan
arcsinh, arccosh, arctanh, fix, sgn = asinh, acosh, atanh, trunc, sign

TENSOR_METHODS = {name: globals()[name] for name in __all__}
INPLACE = list(__all__)
