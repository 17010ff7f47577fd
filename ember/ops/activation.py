"""Activation functions with ``torch.nn.functional``'s signatures (relu, gelu, silu, ...); the
softmax family lives in ``softmax.py`` and is exported from here too.

The activations used on hot paths are primitives with hand-written gradients (one
array pass forward, one expression back); the rarer ones are composed.
``inplace=True`` writes the result into the input (with PyTorch's leaf/version checks)
and returns the input.
"""
from __future__ import annotations

import math as _m

import numpy as np

from ..amp.autocast_mode import autocast_op
from .._tensor import Tensor
from ..autograd.function import Function
from ..autograd.grad_mode import state
from ..backend import dtypes, kernels, special
from .creation import rand
from .indexing import where
from .math import (_const, _masked, _stable_sigmoid, _zero_at_most, erf, half_forward,
                   relu as _relu, sigmoid, tanh, tie, tie_grad)
from .softmax import log_softmax, softmax, softmin  # noqa: F401  (nn.functional's names, in __all__)

__all__ = [
    "relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "elu", "elu_", "selu", "selu_", "celu",
    "celu_", "rrelu", "rrelu_", "gelu", "silu", "mish", "hardtanh", "hardtanh_", "hardsigmoid",
    "hardswish", "softplus", "softsign", "threshold", "threshold_", "tanhshrink", "softshrink",
    "hardshrink", "logsigmoid", "prelu", "glu", "sigmoid", "tanh",
    "softmax", "log_softmax", "softmin",
]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _check_input(name: str, input) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")


def _need_float(name: str, input) -> None:
    _check_input(name, input)
    if not dtypes.is_floating_array(input._data.dtype):
        raise NotImplementedError(f"\"{name}\" not implemented for '{input.dtype.name}': {name} needs a "
                                  "floating point input (convert with .float())")


def _check_value(name: str, input, value: float) -> None:
    """``value`` must fit the input's dtype (it is written into the result)."""
    _check_input(name, input)
    kind = input._data.dtype.kind
    if kind in "iu" and not np.iinfo(input._data.dtype).min <= value <= np.iinfo(input._data.dtype).max:
        raise RuntimeError(f"value cannot be converted to type {input.dtype.name} without overflow "
                           f"(got {value})")


def _write(input: Tensor, fn, *args) -> Tensor:
    """``inplace=True`` for an op whose gradient needs its input: the op gets a copy of the
    input's value, in the input's place in the graph, so overwriting the input leaves
    what backward reads intact."""
    src = input
    if state.enabled and input.grad_fn is not None:
        src = Tensor._make(input._data.copy(), True, input.grad_fn, input._output_nr)
    return input._assign(fn(src, *args))


# ---- piecewise-linear units ----------------------------------------------------------
class LeakyRelu(Function):
    """x where x > 0, else slope * x; the slope is a number or an array (rrelu's noise)."""

    @half_forward
    def forward(ctx, a, slope):
        x = a._data
        ctx.slope = slope
        ctx.save_for_backward(a)
        out = kernels.apply_select("leaky_relu", (x,), slope) if isinstance(slope, (int, float)) else None
        return np.where(x > 0, x, x * slope) if out is None else out

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        if not state.enabled and isinstance(ctx.slope, (int, float)):  # no graph of the backward
            out = kernels.apply_select("leaky_relu_grad", (grad._data, x._data), ctx.slope)
            if out is not None:
                return Tensor._make(out), None
        dydx = Tensor._make(np.where(x._data > 0, 1, ctx.slope).astype(x._data.dtype))
        return tie(grad * dydx, x), None


class Hardtanh(Function):
    @staticmethod
    def forward(ctx, a, lo, hi):
        ctx.lo, ctx.hi = lo, hi
        x = a._data
        out = kernels.apply_select("clamp", (x,), lo, hi)
        if out is None:
            out = np.minimum(np.maximum(x, lo), hi).astype(x.dtype, copy=False)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out, = ctx.saved_tensors
        y = out._data  # inside (lo, hi) exactly where x was: clipping keeps those values
        # not (y <= lo or y >= hi): a NaN input passes the gradient, as in PyTorch
        if not state.enabled:  # no graph of the backward
            g = kernels.apply_select("strictly_inside", (grad._data, y), ctx.lo, ctx.hi)
            if g is not None:
                return Tensor._make(g), None, None
        return tie(_masked(grad, ~((y <= ctx.lo) | (y >= ctx.hi))), out), None, None


class Threshold(Function):
    """value where x <= threshold, else x (so NaN stays NaN and passes its gradient, as in
    PyTorch)."""

    @staticmethod
    def forward(ctx, a, threshold, value):
        x = a._data
        ctx.threshold = threshold
        ctx.save_for_backward(a)
        return np.where(x <= threshold, value, x).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return tie(_zero_at_most(grad, x._data, ctx.threshold), x), None, None


class Hardsigmoid(Function):
    @half_forward
    def forward(ctx, a):
        x = a._data
        ctx.save_for_backward(a)
        out = kernels.apply_select("hardsigmoid", (x,))
        return np.minimum(np.maximum(x + 3, 0), 6) / 6 if out is None else out

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        if not state.enabled:  # no graph of the backward
            out = kernels.apply_select("hardsigmoid_grad", (grad._data, x._data))
            if out is not None:
                return Tensor._make(out)
        return _masked(grad, (x._data > -3) & (x._data < 3)) * (1 / 6)


class Hardswish(Function):
    @half_forward
    def forward(ctx, a):
        x = a._data
        ctx.save_for_backward(a)
        out = kernels.apply_select("hardswish", (x,))
        return x * np.minimum(np.maximum(x + 3, 0), 6) / 6 if out is None else out

    @staticmethod
    def backward(ctx, grad):
        # PyTorch's formula: 0 up to -3, grad * (x / 3 + 1 / 2) below 3, grad from 3 on (and
        # at NaN); the middle piece keeps x in the graph, so the second derivative is grad / 3.
        x, = ctx.saved_tensors
        if not state.enabled:  # no graph of the backward: one compiled pass
            out = kernels.apply_select("hardswish_grad", (grad._data, x._data))
            if out is not None:
                return Tensor._make(out)
        low, mid = _const(x._data <= -3), _const(x._data < 3)
        return where(low, 0.0, where(mid, grad * (x / 3 + 0.5), grad))


class Shrink(Function):
    """0 where -lambd <= x <= lambd; elsewhere x (hardshrink) or x -+ lambd (softshrink).
    NaN is outside the band, as in PyTorch."""

    @staticmethod
    def forward(ctx, a, lambd, soft):
        x = a._data
        band = (x >= -lambd) & (x <= lambd)
        ctx.save_for_backward(a)
        ctx.lambd = lambd
        out = x - np.where(x > 0, lambd, -lambd).astype(x.dtype) if soft else x
        return np.where(band, 0, out).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        band = (x._data >= -ctx.lambd) & (x._data <= ctx.lambd)
        return tie(_masked(grad, ~band), x), None, None


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0), element-wise."""
    return input._assign(_relu(input)) if inplace else _relu(input)


def relu_(input: Tensor) -> Tensor:
    """relu, in place."""
    return relu(input, inplace=True)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x where x > 0, else negative_slope * x."""
    _need_float("leaky_relu", input)
    out = LeakyRelu.apply(input, negative_slope)
    return input._assign(out) if inplace else out


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """leaky_relu, in place."""
    return leaky_relu(input, negative_slope, inplace=True)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """x limited to [min_val, max_val]; gradient 1 strictly inside, 0 elsewhere."""
    _check_input("hardtanh", input)
    if input._data.dtype == np.bool_:
        raise RuntimeError("Bool inputs not supported for hardtanh (convert with .float())")
    if min_val > max_val:
        raise ValueError(f"min_val cannot be greater than max_val (got min_val={min_val}, "
                         f"max_val={max_val})")
    if input._data.dtype.kind in "iu":  # limits convert to the integer type, as in PyTorch
        min_val, max_val = int(min_val), int(max_val)
        if input._data.dtype.kind == "u" and (min_val < 0 or max_val < 0):
            raise RuntimeError("cannot do hardtanh on an unsigned type with negative limits "
                               f"(min_val={min_val}, max_val={max_val})")
    out = Hardtanh.apply(input, min_val, max_val)
    return input._assign(out) if inplace else out


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """hardtanh, in place."""
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else value."""
    _check_value("threshold", input, value)
    out = Threshold.apply(input, threshold, value)
    return input._assign(out) if inplace else out


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """threshold, in place."""
    _check_value("threshold_", input, value)
    return input._assign(Threshold.apply(input, threshold, value))


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Tensor:
    """Randomized leaky ReLU: in training each negative element gets a slope drawn from
    U(lower, upper); in evaluation the slope is their mean."""
    _need_float("rrelu", input)
    if training:
        noise = rand(input.shape, dtype=input.dtype, device=input.device)._data
        slope = noise * (upper - lower) + lower
    else:
        slope = (lower + upper) / 2
    out = LeakyRelu.apply(input, slope)
    return input._assign(out) if inplace else out


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False) -> Tensor:
    """rrelu, in place."""
    return rrelu(input, lower, upper, training, inplace=True)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6: a piecewise-linear sigmoid."""
    _need_float("hardsigmoid", input)
    out = Hardsigmoid.apply(input)
    return input._assign(out) if inplace else out


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * relu6(x + 3) / 6."""
    _need_float("hardswish", input)
    if inplace:
        return _write(input, hardswish)
    return Hardswish.apply(input)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x - lambd above lambd, x + lambd below -lambd, 0 in between."""
    _need_float("softshrink", input)
    if lambd < 0:
        raise RuntimeError(f"softshrink: lambda must be in range [0, inf) for input dtype "
                           f"{input.dtype.name}, but found {lambd}")
    return Shrink.apply(input, lambd, True)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, else 0."""
    _need_float("hardshrink", input)
    return Shrink.apply(input, lambd, False)


# ---- smooth units --------------------------------------------------------------------
class Elu(Function):
    """scale * x for x > 0, else scale * alpha * (exp(x * input_scale) - 1): elu, selu, celu."""

    @half_forward
    def forward(ctx, a, alpha, scale, input_scale):
        x = a._data
        ctx.coef = alpha * scale, scale, input_scale
        # With alpha > 0 (and scale > 0) the result's sign is the input's, so the compiled
        # kernels' gradient reads the sides from the result alone.
        out = kernels.apply_pointwise("elu", (x,), *ctx.coef) if alpha > 0 and scale > 0 else None
        if out is not None:
            ctx.save_for_backward(None, out)
            return out
        mask = ~(x <= 0)  # NaN takes the positive side's gradient, as in PyTorch
        # the exp of the positive side is discarded
        out = np.where(mask, x * scale, np.expm1(x * input_scale) * (alpha * scale))
        ctx.save_for_backward(mask, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        mask, out = ctx.saved_tensors
        neg, scale, input_scale = ctx.coef
        if mask is None and not state.enabled:  # no graph of the backward: one compiled pass
            g = kernels.apply_pointwise("elu_grad", (grad._data, out._data), *ctx.coef)
            if g is not None:
                return Tensor._make(g), None, None, None
        if mask is None:
            mask = _const(~(out._data <= 0))
        if state.enabled:  # a recorded backward: at x = 0 its own derivative is 0, PyTorch's
            out = where(_const(out._data < 0), out, 0.0)  # (y < 0) factor (the value is unchanged)
        # On the negative side dy/dx = input_scale * (y + scale * alpha), from the output,
        # so the in-place form (which overwrites x) has what it needs.
        return where(mask, grad * scale, grad * (out + neg) * input_scale), None, None, None


class Gelu(Function):
    """x * Phi(x). float16 is computed in float32 (as PyTorch does), and x is halved before
    it is scaled, so huge finite inputs give finite outputs (x * 2 would overflow)."""

    @staticmethod
    def forward(ctx, a, approximate):
        x = a._data
        ctx.approximate = approximate
        ctx.save_for_backward(a)
        xf = dtypes.float32_of(x)
        # x^3 overflows where tanh is +-1 anyway
        out = kernels.apply_pointwise("gelu_tanh" if approximate == "tanh" else "gelu", (xf,))
        if out is not None:
            return out.astype(x.dtype, copy=False)
        if approximate == "tanh":
            cdf = np.tanh((xf + xf * xf * xf * 0.044715) * _m.sqrt(2 / _m.pi)) + 1
        else:
            cdf = special.erf(xf * _m.sqrt(0.5)) + 1
        return ((xf * 0.5) * cdf).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        if not state.enabled:  # no graph of the backward: one compiled pass where it applies
            out = kernels.apply_pointwise("gelu_tanh_grad" if ctx.approximate == "tanh" else "gelu_grad",
                                          (grad._data, x._data))
            if out is not None:
                return Tensor._make(out), None
        half = x.dtype if dtypes.is_half(x._data.dtype) else None
        if half:  # the derivative's x^2 and x^3 overflow float16 from |x| ~ 40
            x, grad = x.float(), grad.float()
        if ctx.approximate == "tanh":
            k = _m.sqrt(2 / _m.pi)
            t = tanh((x + x * x * x * 0.044715) * k)
            dinner = (x * x * (3 * 0.044715) + 1) * k
            dx = grad * ((t + 1) * 0.5 + x * 0.5 * (1 - t * t) * dinner)
        else:
            cdf = (erf(x * _m.sqrt(0.5)) + 1) * 0.5
            pdf = (x * x * -0.5).exp() * (1 / _m.sqrt(2 * _m.pi))
            dx = grad * (cdf + x * pdf)
        return (dx.to(half) if half else dx), None


class Silu(Function):
    @half_forward
    def forward(ctx, a):
        ctx.save_for_backward(a)
        out = kernels.apply_pointwise("silu", (a._data,))
        return a._data * _stable_sigmoid(a._data) if out is None else out

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        if not state.enabled:  # no graph of the backward: one compiled pass where it applies
            out = kernels.apply_pointwise("silu_grad", (grad._data, x._data))
            if out is not None:
                return Tensor._make(out)
        s = sigmoid(x)
        return grad * s * (x * (1 - s) + 1)


class Softplus(Function):
    @half_forward
    def forward(ctx, a, beta, threshold):
        x = a._data
        ctx.beta, ctx.threshold = beta, threshold
        ctx.save_for_backward(a)
        out = kernels.apply_pointwise("softplus", (x,), beta, threshold)
        if out is not None:
            return out
        z = x * beta
        return np.where(z > threshold, x, np.logaddexp(0, z) / beta)  # beta = 0 gives inf, as in PyTorch

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        if not state.enabled:  # no graph of the backward: one compiled pass
            g = kernels.apply_pointwise("softplus_grad", (grad._data, x._data), ctx.beta, ctx.threshold)
            if g is not None:
                return Tensor._make(g), None, None
        z = x * ctx.beta
        return where(_const(z._data > ctx.threshold), grad, grad * sigmoid(z)), None, None


class LogSigmoid(Function):
    @half_forward
    def forward(ctx, a):
        x = a._data
        ctx.save_for_backward(a)
        out = kernels.apply_pointwise("logsigmoid", (x,))
        return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x))) if out is None else out  # exp of |x| <= 0 only

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        if not state.enabled:  # no graph of the backward: one compiled pass
            g = kernels.apply_pointwise("logsigmoid_grad", (grad._data, x._data))
            if g is not None:
                return Tensor._make(g)
        return grad * sigmoid(-x)


def _elu(name: str, input: Tensor, alpha: float, scale: float, input_scale: float,
         inplace: bool) -> Tensor:
    _need_float(name, input)
    out = Elu.apply(input, alpha, scale, input_scale)
    return input._assign(out) if inplace else out


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, else alpha * (exp(x) - 1)."""
    return _elu("elu", input, alpha, 1.0, 1.0, inplace)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """elu, in place."""
    return elu(input, alpha, inplace=True)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with the self-normalizing constants (alpha 1.6733, scale 1.0507)."""
    return _elu("selu", input, _SELU_ALPHA, _SELU_SCALE, 1.0, inplace)


def selu_(input: Tensor) -> Tensor:
    """selu, in place."""
    return selu(input, inplace=True)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return _elu("celu", input, alpha, 1.0, 1.0 / alpha, inplace)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """celu, in place."""
    return celu(input, alpha, inplace=True)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x), Phi the standard normal CDF; approximate='tanh' uses the tanh formula."""
    _need_float("gelu", input)
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"approximate argument must be either none or tanh (got {approximate!r})")
    return Gelu.apply(input, approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (also called swish)."""
    _need_float("silu", input)
    return _write(input, Silu.apply) if inplace else Silu.apply(input)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x))."""
    _need_float("mish", input)
    return _write(input, mish) if inplace else input * tanh(softplus(input))


@autocast_op("softplus")
def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold."""
    _need_float("softplus", input)
    return Softplus.apply(input, beta, threshold)


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)), finite for large |x|."""
    _need_float("log_sigmoid", input)
    return LogSigmoid.apply(input)


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    return input / (input.abs() + 1)


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x)."""
    _check_input("tanhshrink", input)
    if input._data.dtype == np.bool_:
        raise RuntimeError("tanhshrink: Subtraction, the `-` operator, with a bool tensor is not "
                           "supported; convert with .float() first")
    return input - tanh(input)


# ---- with a parameter or a split -----------------------------------------------------
@autocast_op("prelu")
def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x where x > 0, else weight * x, with one learned slope per channel (dim 1) or one
    shared by all.

    Shape:
        input: (N, C, *) or any shape when weight has one element; weight: (C,) or (1,).
    """
    _need_float("prelu", input)
    channels = input.shape[1] if input.ndim >= 2 else 1
    n = weight.numel()
    if n != 1 and n != channels:
        raise RuntimeError(
            f"Mismatch of parameter numbers and input channel size. Found parameter numbers = {n} "
            f"and channel size = {channels}.")
    w = weight.reshape(()) if n == 1 else weight.reshape((n,) + (1,) * (input.ndim - 2))
    x = tie_grad(input)  # its gradient reads x only through the mask: zero second derivative in x
    return where(x > 0, x, w * x)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b), where a and b are the two halves of ``input`` along ``dim``."""
    _need_float("glu", input)
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = input._wrap_dim(dim)
    size = input.shape[d]
    if size % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size {size}")
    lead = (slice(None),) * d
    return input[lead + (slice(0, size // 2),)] * sigmoid(input[lead + (slice(size // 2, size),)])


TENSOR_METHODS = {"hardshrink": hardshrink, "prelu": prelu}
INPLACE: list = []
