"""Normalization: batch, layer, group, instance, local response and RMS normalization
(``torch.nn.functional``'s forms).

batch_norm (training mode) and layer_norm sit in the hot path of most networks, so each is
one fused primitive: statistics, normalization and the affine map in one node (group norm
shares layer norm's). Their first-order gradient is plain array math: einsum reductions,
which need no temporary (4x faster than a product and a sum on a (64, 64, 32, 32) batch,
measured), and in-place updates. Under ``create_graph`` the gradient is the same formula in
ember ops on statistics recomputed from the input, so it is differentiable again.
Everything else is composed from these and other primitives.
"""
from __future__ import annotations

import math

import numpy as np

from ..amp.autocast_mode import autocast_op
from .._tensor import Size, Tensor
from ..autograd.function import Function
from ..backend import dtypes, kernels
from ..autograd.grad_mode import no_grad, state
from ..backend.compat import max_initial
from ..backend.device import xp_of
from .loss import scalar_name
from .math import _zero_at_most, relu as _relu, tie
from .padding import constant_pad_nd
from .reduce import acc_dtype, pow2_scale, slice_scale

__all__ = ["batch_norm", "instance_norm", "layer_norm", "group_norm", "local_response_norm", "rms_norm"]


# ---- checks ------------------------------------------------------------------------------
def _check_dtypes(op: str, input: Tensor, *others: Tensor | None) -> None:
    """Floating input; weights and statistics of the input's dtype (float16 inputs, which are
    computed in float32, may come with float32 ones)."""
    if not input.is_floating_point():
        raise NotImplementedError(f"\"{op}\" not implemented for '{scalar_name(input)}': normalization "
                                  "needs a floating point input (convert with .float())")
    for t in others:
        if t is not None and t._data.dtype != input._data.dtype and not (
                dtypes.is_half(input._data.dtype) and t._data.dtype == np.float32):
            raise RuntimeError(f"mixed dtype (CPU): all inputs must share same datatype. {op}: input is "
                               f"{input.dtype} but a weight or statistic is {t.dtype}; convert the module "
                               f"(module.to({input.dtype})) or the input")


def _verify_batch_size(shape) -> None:
    """Batch statistics need more than one value per channel."""
    if shape[0] * math.prod(shape[2:]) == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {shape!r}")


def _check_size(name: str, t: Tensor | None, n: int) -> None:
    if t is not None and t.numel() != n:
        raise RuntimeError(f"{name} should contain {n} elements not {t.numel()}")


def _float32(*tensors: Tensor | None) -> list:
    """float16 tensors as float32 ones: statistics of half inputs are computed in float32."""
    return [t.float() if t is not None and acc_dtype(t._data.dtype) != t._data.dtype else t for t in tensors]


def _normalized_shape(op: str, normalized_shape) -> tuple:
    if isinstance(normalized_shape, (int, np.integer)):
        raise TypeError(f"{op}(): argument 'normalized_shape' (position 2) must be tuple of ints, not int")
    shape = tuple(int(s) for s in normalized_shape)
    if not shape:
        raise RuntimeError("Expected normalized_shape to be at least 1-dimensional, i.e., containing at "
                           "least one element, but got normalized_shape = []")
    return shape


def _check_normalized(input: Tensor, shape: tuple, weight: Tensor | None, bias: Tensor | None,
                      star: str = "*, ") -> None:
    if input.ndim < len(shape) or tuple(input.shape[input.ndim - len(shape):]) != shape:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[{star}{', '.join(map(str, shape))}], but got input of size{list(input.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but got {name} of "
                               f"shape {list(t.shape)} and normalized_shape = {list(shape)}")


def _affine_of_empty(x: Tensor, weight: Tensor | None, bias: Tensor | None, shape: tuple) -> Tensor:
    """The output for an empty input: nothing to normalize, but the parameters (viewed as
    ``shape``) still get their (zero) gradients."""
    out = x if weight is None else x * weight.reshape(shape)
    return out + bias.reshape(shape) if bias is not None else out.clone()


# ---- gradient under create_graph ---------------------------------------------------------
def _scaled_down(x: Tensor, dims: tuple, eps: float) -> tuple:
    """x / s, eps / s^2 and s, s a power of two per slice over ``dims``: near the slice's largest
    |x| where that is at least 2 (squares of x / s stay finite) or where squares underflow (unless
    eps / s^2 would overflow: then eps outweighs them), else 1. Normalization over ``dims`` does
    not change under it. ``x``, ``eps`` and None where s is 1 everywhere."""
    s = slice_scale(x._data, dims)
    with np.errstate(over="ignore"):
        tiny = (s * s < np.finfo(s.dtype).tiny) & np.isfinite(eps / s / s)
    s = np.where((s > 1) | tiny, s, 1).astype(s.dtype, copy=False)
    if not (s != 1).any():
        return x, eps, None
    return x / Tensor._make(s), Tensor._make(eps / s / s), s


def _composed_grads(ctx, x: Tensor, weight: Tensor | None, grad: Tensor, stat_dims: tuple,
                    param_dims: tuple, param_shape: tuple) -> tuple:
    """Gradients of (x - mean) * invstd * weight + bias in ember ops, with the statistics over
    ``stat_dims`` recomputed from ``x`` so that the result depends on it in the graph.
    The weight has shape ``param_shape`` (broadcasting against x) and sums over ``param_dims``."""
    x, eps, s = _scaled_down(x, stat_dims, ctx.eps)  # invstd = rstd / s
    mean = x.mean(stat_dims, keepdim=True)
    xc = x - mean
    rstd = ((xc * xc).mean(stat_dims, keepdim=True) + eps).rsqrt()
    xhat = xc * rstd
    needs = ctx.needs_input_grad
    dx = dw = db = None
    if needs[0]:
        gx = grad if weight is None else grad * weight.reshape(param_shape)
        dx = rstd * (gx - gx.mean(stat_dims, keepdim=True) - xhat * (gx * xhat).mean(stat_dims, keepdim=True))
        if s is not None:
            dx = dx / Tensor._make(s)
    if needs[1]:
        dw = (grad * xhat).sum(param_dims)
    if needs[2]:
        db = grad.sum(param_dims)
    return dx, dw, db


# ---- batch norm --------------------------------------------------------------------------
def _moments(a3):
    """Per channel of (N, C, L): ``a3`` minus a first estimate of the mean (a new array, later
    reused as the output), that estimate, its correction and the (biased) variance. The mean of
    the centred values corrects the rounding of the first sum (float32 sums of many values far
    from 0 lose digits); it is folded into the shift, at the cost of one reduction instead of a
    pass over the centred values."""
    count = a3.shape[0] * a3.shape[2]
    first = np.einsum("ncl->c", a3) / count
    y = a3 - first[:, None]
    residual = np.einsum("ncl->c", y) / count
    # never below 0: a rounding of the difference would make sqrt(var + eps) nan where eps is negligible
    return y, first, residual, np.maximum(np.einsum("ncl,ncl->c", y, y) / count - residual * residual, 0)


def _rescaled_moments(moments, a, axis: int, floor: float) -> tuple:
    """``moments(a)``, which gives centred values (a new array of ``a``'s shape) then statistics
    of each slice along ``axis`` ending with the variance, computed where needed on the slice's
    x / s, s a power of two near its largest |x|: the sum, the centred values and their squares
    stay finite and normal wherever the statistics are. The scaled pass runs only on the slices
    whose plain statistics overflowed or whose variance is below ``floor`` (where squares lost to
    underflow, each below the smallest normal number, would matter), so ordinary inputs pay a
    check of one number per slice. Returns the results of x / s and s (None where all s are 1)."""
    with np.errstate(over="ignore", invalid="ignore"):
        y, *stats = moments(a)
    redo = ~(np.isfinite(stats[0]) & np.isfinite(stats[-1]) & (stats[-1] >= floor))
    if not redo.any():
        return y, *stats, None
    index = (slice(None),) * axis + (redo,)
    others = tuple(d for d in range(a.ndim) if d != axis)
    part = a[index]  # a copy: boolean indexing
    s = np.ones_like(stats[-1])
    s[redo] = pow2_scale(max_initial(np.abs(part), axis=others, initial=0))
    part /= np.expand_dims(s[redo], others)  # exact: a power of two
    y[index], *scaled = moments(part)
    for stat, value in zip(stats, scaled):
        stat[redo] = value
    return y, *stats, s


def _scaled_rstd(var, eps: float, s):
    """invstd * s from the variance of x / s (s None: 1 everywhere)."""
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        if s is None:
            return 1 / np.sqrt(var + eps)
        # eps / s^2 overflows only for tiny s, where eps outweighs var * s^2 (then computed, though
        # subnormal); elsewhere that product would lose the digits that scaling kept
        e = eps / s / s
        return np.where(np.isfinite(e), 1 / np.sqrt(var + e), s / np.sqrt(var * s * s + eps))


# Compiled kernels run batch norm of float32/float64 NumPy arrays with spatial dims: one pass per
# channel of (N, C, L) arrays instead of several whole-array passes (ember/backend/kernels/norm.py),
# or, for channels-last inputs (NHWC data seen as NCHW, ``ember.channels_last``), passes over blocks
# of rows of their (N, L, C) view (kernels/norm_rows.py), whose results are channels last too: no
# copy to NCHW and back around each batch norm between channels-last convolutions. (N, C) inputs
# (and 1x1 planes) stay on NumPy: its passes along rows measured 4-5x faster than the kernels'
# strided per-channel loops on (256, 128).
def _compiled_norm(*arrays):
    """The compiled kernels (``kernels.cpu()``) where they cover these arrays (the input first),
    else None."""
    k = kernels.cpu()
    a = arrays[0]
    return k if k is not None and a.ndim > 2 and a.size > a.shape[0] * a.shape[1] and kernels.usable(
        *arrays) else None


def _channels_last(a) -> bool:
    """Whether ``a`` (N, C, *) is laid out channels last (dims (0, 2, ..., 1) row-major) and not
    C-contiguous (as arrays of one channel or of 1x1 planes are both): the rows kernels' input."""
    return not a.flags.c_contiguous and a.transpose(0, *range(2, a.ndim), 1).flags.c_contiguous


def _as3(t, rows: bool):
    """``t`` (N, C, *) as the kernels' C-contiguous 3-d array: (N, L, C) for the rows kernels, else
    (N, C, L). A view where t is laid out so, else a copy."""
    n, c = t.shape[0], t.shape[1]
    if rows:
        return np.ascontiguousarray(t.transpose(0, *range(2, t.ndim), 1)).reshape(n, -1, c)
    return np.ascontiguousarray(t).reshape(n, c, -1)


def _empty(a, rows: bool):
    """A new array of a's shape and dtype, laid out as a is (channels last) for the rows kernels,
    else C-contiguous: its _as3 is a view, which the kernels write. An array of its own, not a
    view: the autograd engine keeps it as a leaf's grad without a copy."""
    return np.empty_like(a, order="K" if rows else "C")


def _fused_train(a, weight, bias, eps, relu: bool):
    """Training-mode batch norm of ``a`` by the compiled kernel (then ReLU with ``relu``): (y,
    shift, var, rstd), y in a's layout where that is channels last, else C-contiguous; or None
    where the kernels do not cover the arrays or its results are not all finite with variances
    of normal size (the NumPy path rescales such channels)."""
    k = _compiled_norm(a, *(t._data for t in (weight, bias) if t is not None))
    if k is None:
        return None
    c = a.shape[1]
    rows = _channels_last(a)
    kernel = k.norm_rows.batch_norm_train_rows if rows else k.norm.batch_norm_train
    w = np.ones(c, a.dtype) if weight is None else np.ascontiguousarray(weight._data)
    b = np.zeros(c, a.dtype) if bias is None else np.ascontiguousarray(bias._data)
    y = _empty(a, rows)
    shift, var, rstd = np.empty(c, a.dtype), np.empty(c, a.dtype), np.empty(c, a.dtype)
    finite = np.empty(c, np.bool_)
    with kernels.lock:
        kernel(_as3(a, rows), w, b, float(eps), a.dtype == np.float32, relu, _as3(y, rows), shift, var, rstd,
               np.empty(c, a.dtype), finite)
    if not (finite.all() and (var >= np.finfo(a.dtype).tiny).all()):
        return None
    return y, shift, var, rstd


def _fused_train_backward(a, g, shift, rstd, weight, need_dx: bool, y):
    """BatchNorm's gradient by the compiled kernel: (dx or None, sum(g), sum(g * (x - shift)))
    per channel, or None where the kernels do not cover the arrays or a result is not finite.
    ``y``: None, or the result of the ReLU that followed, whose gradient ``g`` then is. For a
    channels-last ``a`` the rows kernel runs (g and y of another layout copied to it) and dx is
    channels last; else dx is C-contiguous."""
    k = _compiled_norm(a, g, *(() if weight is None else (weight._data,)), *(() if y is None else (y,)))
    if k is None:
        return None
    c = a.shape[1]
    rows = _channels_last(a)
    kernel = k.norm_rows.batch_norm_train_backward_rows if rows else k.norm.batch_norm_train_backward
    x3 = _as3(a, rows)
    w = np.ones(c, a.dtype) if weight is None else np.ascontiguousarray(weight._data)
    dx = _empty(a, rows) if need_dx else None  # x's shape: see BatchNorm.backward
    sums = np.empty((2, c), a.dtype)
    finite = np.empty(c, np.bool_)
    with kernels.lock:
        kernel(_as3(g, rows), x3, shift, rstd, w, need_dx, y is not None, x3 if y is None else _as3(y, rows),
               _as3(dx, rows) if need_dx else np.empty((0, 0, 0), a.dtype), sums[0], sums[1],
               np.empty((c, 3), a.dtype), finite)
    if not finite.all():
        return None
    return dx, sums[0], sums[1]


def _fused_eval(x: Tensor, scale: Tensor, shift: Tensor):
    """x * scale + shift per channel of (N, C, *) by the compiled kernel (one pass, no
    temporaries; channels last for a channels-last x), or None where it does not cover the
    arrays or a gradient is recorded."""
    a = x._data
    k = _compiled_norm(a, scale._data, shift._data)
    if k is None or (state.enabled and any(t.requires_grad for t in (x, scale, shift))):
        return None
    rows = _channels_last(a)
    y = _empty(a, rows)
    with kernels.lock:
        (k.norm_rows.channel_affine_rows if rows else k.norm.channel_affine)(
            _as3(a, rows), np.ascontiguousarray(scale._data), np.ascontiguousarray(shift._data), _as3(y, rows))
    return Tensor._make(y)


class BatchNorm(Function):
    """Training-mode batch normalization of (N, C, *) over every dim but C; updates the running
    statistics (when given) in place, as PyTorch's kernel does.

    Statistics are kept in units of a per-channel power of two ``s`` (``ctx.s``; None when 1
    everywhere): mean = shift * s and invstd = rstd / s, so values near the dtype's largest
    (whose variance may not even fit it) normalize as ordinary ones do. ``round_to`` (float16
    inputs with float16 or no parameters) rounds the mean and invstd to it before they are used,
    as PyTorch's kernel stores them in the input's dtype. With ``relu`` the result is ReLU's of
    the normalized values (``batch_norm_relu``), in the same pass, forward and backward."""

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, momentum, eps, round_to, relu):
        a = x._data
        n, c = a.shape[0], a.shape[1]
        count = a.size // c
        fused = None if round_to is not None else _fused_train(a, weight, bias, eps, relu)
        if fused is not None:
            y, shift, var, rstd = fused
            s = None
        else:
            # channels whose variance is subnormal are rescaled (their running variance keeps it)
            y, first, residual, var, s = _rescaled_moments(_moments, a.reshape(n, c, -1), 1,
                                                           np.finfo(a.dtype).tiny)
            rstd = _scaled_rstd(var, eps, s)
            # the mean; inf or nan where the input holds them (the corrected one would be nan for inf)
            shift = np.where(np.isfinite(first), first + residual, first)
        su = 1 if s is None else s
        with np.errstate(over="ignore"):  # a variance past the dtype's range is inf, as its true value
            for stat, value in ((running_mean, shift * momentum * su),
                                (running_var, var * (momentum * count / (count - 1)) * su * su)):
                if stat is not None:
                    stat._data[...] = value + (1 - momentum) * stat._data
                    stat._vc[0] += 1
        if fused is None:
            if round_to is not None:
                shift = (shift * su).astype(round_to).astype(a.dtype) / su
                rstd = (rstd / su).astype(round_to).astype(a.dtype) * su
                residual = shift - first
            scale = rstd if weight is None else rstd * weight._data
            y *= scale[:, None]  # y is x / s - first
            y += (-residual * scale if bias is None else bias._data - residual * scale)[:, None]
            y = y.reshape(a.shape)
            if relu:
                np.maximum(0, y, out=y)  # in this order -0.0 stays -0.0, as in Relu
        ctx.save_for_backward(x, weight, *((y,) if relu else ()))  # ReLU's result: its gradient's mask
        ctx.shift, ctx.rstd, ctx.s, ctx.eps = shift, rstd, s, eps
        return y

    @staticmethod
    def backward(ctx, grad):
        x, weight, *relu_out = ctx.saved_tensors
        needs = ctx.needs_input_grad
        if state.enabled:  # create_graph: differentiable again
            if relu_out:
                grad = tie(_zero_at_most(grad, relu_out[0]._data, 0), relu_out[0])
            dims = (0,) + tuple(range(2, x.ndim))
            shape = (-1,) + (1,) * (x.ndim - 2)
            return _composed_grads(ctx, x, weight, grad, dims, dims, shape) + (None,) * 6
        a = x._data
        n, c = a.shape[0], a.shape[1]
        rstd, s = ctx.rstd, ctx.s
        y = relu_out[0]._data if relu_out else None
        fused = None if s is not None else _fused_train_backward(a, grad._data, ctx.shift, rstd, weight, needs[0], y)
        if fused is not None:
            dx, sum_g, sum_gxc = fused
            return (None if dx is None else Tensor._make(dx), Tensor._make(sum_gxc * rstd) if needs[1] else None,
                    Tensor._make(sum_g) if needs[2] else None) + (None,) * 6
        g = grad._data if y is None else _zero_at_most(grad, y, 0)._data
        g3 = g.reshape(n, c, -1)
        count = n * g3.shape[2]
        a3 = a.reshape(n, c, -1)
        # x - mean in units of s (so its products with g stay finite)
        xc = a3 - ctx.shift[:, None] if s is None else np.subtract(a3 / s[:, None], ctx.shift[:, None])
        sum_g = np.einsum("ncl->c", g3)
        sum_gxc = np.einsum("ncl,ncl->c", g3, xc)
        dx = dw = db = None
        if needs[0]:
            # dx = w * invstd * (g - mean(g) - xhat * mean(g * xhat)), as a*g + b*xc + c per channel,
            # with invstd = rstd / s and xhat = xc * rstd
            scale = rstd if weight is None else rstd * weight._data
            coef = scale * rstd * rstd * sum_gxc / count
            if s is not None:  # divided last: the products before it are of ordinary size
                scale, coef = scale / s, coef / s
            # x's shape, in C order or channels last as x is: the reshaped view below is written
            # (another transposed x's layout would make it a copy); a reshaped result would be copied
            # again as a leaf's grad
            dx = _empty(a, _channels_last(a))
            d3 = np.multiply(g3, scale[:, None], out=dx.reshape(g3.shape))
            xc *= -coef[:, None]
            d3 += xc
            d3 -= (scale * sum_g / count)[:, None]
            dx = Tensor._make(dx)
        if needs[1]:
            dw = Tensor._make(sum_gxc * rstd)
        if needs[2]:
            db = Tensor._make(sum_g)
        return dx, dw, db, None, None, None, None, None, None


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize each channel of (N, C, *) to zero mean and unit variance, then scale and shift.

    In training mode the batch's statistics are used and the running ones (when given) move
    towards them by ``momentum`` (the variance unbiased); otherwise the running ones are used.
    """
    return _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps, False)


def batch_norm_relu(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
                    weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
                    momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """``relu(batch_norm(...))`` with the same values and gradients, in training mode one pass
    forward and one backward instead of two each: ``ember.compile`` runs a batch norm whose
    result only a ReLU reads as this."""
    return _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps, True)


def _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps, relu: bool) -> Tensor:
    if (running_mean is None) != (running_var is None):
        raise ValueError("running_mean and running_var must either both be None or neither be None")
    if input.ndim < 2:
        raise RuntimeError(f"batch_norm: expected an input of shape (N, C, *) with at least 2 dims, got "
                           f"shape {list(input.shape)}")
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        _check_size(name, t, c)
    _check_dtypes("batch_norm", input, weight, bias, running_mean, running_var)
    if training:
        _verify_batch_size(input.shape)
    elif running_mean is None:
        raise RuntimeError("running_mean must be defined in evaluation mode")
    if training and eps <= 0.0:
        raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
    if eps < 0.0:
        raise ValueError(f"batch_norm eps must be non-negative, but got {eps}")
    for name, t in (("running_mean", running_mean), ("running_var", running_var)):
        if t is not None and t._requires_grad and state.enabled:
            raise RuntimeError(f"The function 'batch_norm' is not differentiable with respect to argument "
                               f"'{name}'. This input cannot have requires_grad True.")
    half = dtypes.is_half(input._data.dtype)
    # PyTorch keeps a half input's statistics in its dtype unless its parameters are float32
    round_to = input._data.dtype if half and not any(t is not None and t._data.dtype == np.float32 for t in
                                              (weight, bias, running_mean, running_var)) else None
    x, weight, bias = _float32(input, weight, bias)
    shape = (1, c) + (1,) * (input.ndim - 2)
    if not training:
        mean, var = _float32(running_mean, running_var)
        scale = (var + eps).rsqrt()
        if weight is not None and weight._requires_grad and state.enabled:
            # the weight's gradient is sum(g * xhat): xhat is formed first, as x * scale would make
            # it invstd * (sum(g * x) - mean * sum(g)), whose terms overflow for x near the largest value
            out = (x * scale.reshape(shape) - (mean * scale).reshape(shape)) * weight.reshape(shape)
            if bias is not None:
                out = out + bias.reshape(shape)
        else:  # one multiply-add pass
            if weight is not None:
                scale = scale * weight
            shift = -mean * scale
            if bias is not None:
                shift = shift + bias
            out = _fused_eval(x, scale, shift)
            if out is None:
                out = x * scale.reshape(shape) + shift.reshape(shape)
    elif input.numel() == 0:
        out = _affine_of_empty(x, weight, bias, shape)
    else:
        out = BatchNorm.apply(x, weight, bias, running_mean, running_var, momentum, eps, round_to, relu and not half)
        relu = relu and half  # a half result is rounded first: ReLU after, as it sees the rounding's -0.0
    if half:
        out = out.to(input.dtype)
    return _relu(out) if relu else out


def instance_norm(input: Tensor, running_mean: Tensor | None = None, running_var: Tensor | None = None,
                  weight: Tensor | None = None, bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize each channel of each sample of (N, C, *) over its spatial dims.

    With ``use_input_stats`` the running statistics (when given) move towards the batch's
    average of the per-instance ones; otherwise they are used to normalize.
    """
    shape = tuple(input.shape)
    if use_input_stats:
        if math.prod(shape[2:]) == 1:
            raise ValueError(f"Expected more than 1 spatial element when training, got input size "
                             f"{input.shape!r}")
    else:
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    # Each (sample, channel) pair is a channel of one batch-norm sample: (1, N * C, *).
    n = shape[0]
    rep = [None if t is None else t.repeat(n) for t in (running_mean, running_var, weight, bias)]
    out = batch_norm(input.reshape((1, -1) + shape[2:]), *rep[:2], *rep[2:], True, momentum, eps)
    with no_grad():
        for stat, updated in zip((running_mean, running_var), rep[:2]):
            if stat is not None:
                stat.copy_(updated.reshape(n, -1).mean(0))
    return out.reshape(shape)


# ---- layer and group norm ----------------------------------------------------------------
def _row_moments(a2):
    """Per row of (M, n): the centred rows (a new array, later reused as the output), the mean
    and the (biased) variance."""
    n = a2.shape[1]
    mean = (a2 @ _ones(n, a2)) / n  # a BLAS product: twice as fast as sum() here
    y = a2 - mean[:, None]
    return y, mean, np.einsum("mn,mn->m", y, y) / n


class GroupedNorm(Function):
    """x seen as (A, G, K, L): normalize each (a, g) block of K * L values, then scale and shift
    by a weight and bias over (g, k). Layer norm is (rows, 1, D, 1); group norm is
    (N, groups, channels per group, spatial size).

    As in BatchNorm, statistics are kept in units of a per-block power of two ``s`` (``ctx.s``;
    None when 1 everywhere): mean = shift * s and invstd = rstd / s, so blocks whose sums or
    squares overflow (or underflow, next to eps) normalize as ordinary ones do."""

    @staticmethod
    def forward(ctx, x, weight, bias, view, param_shape, eps):
        a, g, k, l = view
        a2 = x._data.reshape(a * g, k * l)
        done = _grouped_norm_kernel(a2, weight, bias, view, eps)
        if done is not None:
            y, shift, rstd = done
            s = None
        else:
            # only var + eps is used: a variance lost to underflow matters only where that is subnormal
            y, shift, var, s = _rescaled_moments(_row_moments, a2, 0, np.finfo(a2.dtype).tiny - eps)
            rstd = _scaled_rstd(var, eps, s)
            y *= rstd[:, None]
            y4 = y.reshape(view)
            if weight is not None:
                y4 *= weight._data.reshape(g, k, 1)
            if bias is not None:
                y4 += bias._data.reshape(g, k, 1)
        ctx.save_for_backward(x, weight)
        ctx.shift, ctx.rstd, ctx.s, ctx.view, ctx.param_shape, ctx.eps = shift, rstd, s, view, param_shape, eps
        return y.reshape(x._data.shape)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        needs = ctx.needs_input_grad
        view, param_shape = ctx.view, ctx.param_shape
        a, g, k, l = view
        if state.enabled:  # create_graph: differentiable again
            w = weight.reshape(g, k, 1) if weight is not None else None
            grads = _composed_grads(ctx, x.reshape(view), w, grad.reshape(view), (2, 3), (0, 3), (g, k, 1))
            return tuple(None if t is None else t.reshape(shape)
                         for t, shape in zip(grads, (x.shape, param_shape, param_shape))) + (None,) * 3
        n = k * l
        done = _grouped_norm_kernel_grads(ctx, x, weight, grad, needs)
        if done is not None:
            return done
        g4 = grad._data.reshape(view)
        x2, s = x._data.reshape(a * g, n), ctx.s
        # x - mean in units of s (so its products with g stay finite)
        xhat = x2 - ctx.shift[:, None] if s is None else np.subtract(x2 / s[:, None], ctx.shift[:, None])
        xhat *= ctx.rstd[:, None]
        dx = dw = db = None
        if needs[1]:
            dw = Tensor._make(np.einsum("agkl,agkl->gk", g4, xhat.reshape(view)).reshape(param_shape))
        if needs[2]:
            db = Tensor._make((_ones(a, g4) @ g4.reshape(a, g * k) if l == 1 else np.einsum("agkl->gk", g4))
                              .reshape(param_shape))
        if needs[0]:
            # dx = invstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = g * w; written
            # into an array of x's shape in C order, through a reshaped view (with a transposed x's
            # layout the reshape was a copy, and dx was never written)
            dx = np.empty_like(x._data, order="C")
            d2 = dx.reshape(a * g, n)
            dxhat = grad._data.reshape(a * g, n)
            if weight is not None:
                dxhat = np.multiply(g4, weight._data.reshape(g, k, 1), out=d2.reshape(view)).reshape(a * g, n)
            s1 = (dxhat @ _ones(n, dxhat)) / n
            xhat *= (np.einsum("mn,mn->m", dxhat, xhat) / n)[:, None]
            np.subtract(dxhat, s1[:, None], out=d2)
            d2 -= xhat
            d2 *= ctx.rstd[:, None]
            if s is not None:  # invstd = rstd / s, divided last: rstd / s alone may be subnormal
                d2 /= s[:, None]
            dx = Tensor._make(dx)
        return dx, dw, db, None, None, None


def _ones(n: int, like):
    return xp_of(like).ones(n, dtype=like.dtype)


def _grouped_norm_kernel(a2, weight, bias, view, eps):
    """GroupedNorm's forward by the compiled kernel (kernels/grouped_norm.py): (y as (rows, n),
    mean, rstd), or None where it does not cover the arrays (not float32 NumPy arrays) or a
    row's statistics are not finite (the NumPy path rescales such rows)."""
    k = kernels.cpu()
    params = [t._data for t in (weight, bias) if t is not None]
    if k is None or a2.dtype != np.float32 or not kernels.usable(a2, *params) or not a2.flags.c_contiguous \
            or not all(p.flags.c_contiguous for p in params):
        return None
    _, groups, channels, length = view
    none = np.empty(0, np.float32)
    y = np.empty_like(a2)
    mean, rstd = np.empty(a2.shape[0], np.float32), np.empty(a2.shape[0], np.float32)
    with kernels.lock:
        k.grouped_norm.forward(a2, none if weight is None else weight._data.reshape(-1),
                               none if bias is None else bias._data.reshape(-1), groups, channels, length,
                               float(eps), y, mean, rstd)
    if not (np.isfinite(mean).all() and np.isfinite(rstd).all()):
        return None
    return y, mean, rstd


def _grouped_norm_kernel_grads(ctx, x, weight, grad, needs):
    """GroupedNorm's gradients by the compiled kernels, or None where they do not cover the
    arrays (not float32 NumPy arrays, or statistics kept in scaled units)."""
    k = kernels.cpu()
    a, groups, channels, length = ctx.view
    x2, g2 = x._data.reshape(a * groups, -1), grad._data
    w = None if weight is None else weight._data
    if k is None or ctx.s is not None or x2.dtype != np.float32 or not kernels.usable(x2, g2, *(
            [] if w is None else [w])) or not x2.flags.c_contiguous:
        return None
    # in C order: a batch-first attention's input gradient arrives transposed (its heads run
    # sequence-first), and one copy costs a fraction of the NumPy path's passes
    g2 = np.ascontiguousarray(g2).reshape(x2.shape)
    none = np.empty(0, np.float32)
    dx = dw = db = None
    with kernels.lock:
        if needs[0]:
            dx = np.empty_like(x._data, order="C")  # written through the reshaped view below
            k.grouped_norm.backward_input(x2, g2, none if w is None else w.reshape(-1), groups, channels, length,
                                          ctx.shift, ctx.rstd, dx.reshape(x2.shape))
        if needs[1] or needs[2]:
            dw = np.empty(groups * channels, np.float32) if needs[1] else none
            db = np.empty(groups * channels, np.float32) if needs[2] else none
            k.grouped_norm.backward_params(x2, g2, groups, channels, length, ctx.shift, ctx.rstd, dw, db)
    return (None if dx is None else Tensor._make(dx),
            Tensor._make(dw.reshape(ctx.param_shape)) if needs[1] else None,
            Tensor._make(db.reshape(ctx.param_shape)) if needs[2] else None, None, None, None)


@autocast_op("layer_norm")
def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalize over the trailing ``normalized_shape`` dims, then scale and shift element-wise.

    Shape: input (*, *normalized_shape); weight and bias normalized_shape.
    """
    shape = _normalized_shape("layer_norm", normalized_shape)
    _check_normalized(input, shape, weight, bias)
    _check_dtypes("LayerNormKernelImpl", input, weight, bias)
    half = dtypes.is_half(input._data.dtype)
    x, weight, bias = _float32(input, weight, bias)
    if input.numel() == 0:
        out = _affine_of_empty(x, weight, bias, shape)
    else:
        d = math.prod(shape)
        out = GroupedNorm.apply(x, weight, bias, (input.numel() // d, 1, d, 1), shape, eps)
    return out.to(input.dtype) if half else out


@autocast_op("group_norm")
def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalize each group of ``C / num_groups`` channels of each sample of (N, C, *), then scale
    and shift per channel."""
    if input.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {input.ndim}")
    shape = tuple(input.shape)
    n, c = shape[:2]
    if num_groups <= 0 or c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got "
                           f"input of shape {list(shape)} and num_groups={num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.ndim != 1 or t.numel() != c):
            raise RuntimeError(f"Expected {name} to be a vector of size equal to the number of channels in "
                               f"input, but got {name} of shape {list(t.shape)} and input of shape {list(shape)}")
    _check_dtypes("GroupNormKernelImpl", input, weight, bias)
    _verify_batch_size(Size((n * c // num_groups, num_groups) + shape[2:]))
    half = dtypes.is_half(input._data.dtype)
    x, weight, bias = _float32(input, weight, bias)
    view = (n, num_groups, c // num_groups, math.prod(shape[2:]))
    if input.numel():
        out = GroupedNorm.apply(x, weight, bias, view, (c,), eps)
    else:
        out = _affine_of_empty(x, weight, bias, (1, c) + (1,) * (len(shape) - 2))
    return out.to(input.dtype) if half else out


def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, eps: float | None = None) -> Tensor:
    """x / sqrt(mean(x^2) + eps) over the trailing ``normalized_shape`` dims, times ``weight``.

    ``eps`` None means the machine epsilon of the input's dtype.
    """
    shape = _normalized_shape("rms_norm", normalized_shape)
    _check_normalized(input, shape, weight, None, star="*")
    _check_dtypes("rms_norm", input, weight)
    if eps is None:
        eps = float(np.finfo(input._data.dtype).eps)
    x = _float32(input)[0]
    dims = tuple(range(x.ndim - len(shape), x.ndim))
    ms = (x * x).mean(dims, keepdim=True)
    # squares overflowed (or x holds inf or NaN), or underflowed where eps does not outweigh them
    if not (np.isfinite(ms._data) & (ms._data + eps >= np.finfo(ms._data.dtype).tiny)).all():
        x, eps, _ = _scaled_down(x, dims, eps)
        ms = (x * x).mean(dims, keepdim=True)
    out = x * (ms + eps).rsqrt()
    out = out.to(input.dtype)
    return out * weight if weight is not None else out


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """x / (k + alpha * mean of x^2 over ``size`` neighbouring channels) ^ beta, for (N, C, *).

    The window is centred on each channel and zero-padded at the ends, as in AlexNet.
    """
    if input.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.ndim} dimensions)")
    if input.numel() == 0:
        return input
    shape = tuple(input.shape)
    sq = input.reshape(shape[0], shape[1], -1)
    sq = constant_pad_nd(sq * sq, (0, 0, size // 2, (size - 1) // 2))
    c = shape[1]
    window = sq[:, 0:c]
    for i in range(1, size):  # one slice per window tap
        window = window + sq[:, i:i + c]
    div = (window * (alpha / size) + k) ** beta
    return input / div.reshape(shape)


TENSOR_METHODS: dict = {}
INPLACE: list = []
