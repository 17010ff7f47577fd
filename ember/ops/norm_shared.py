"""What batch, layer and group normalization share: PyTorch's argument checks, statistics that
stay finite by rescaling, and the gradient under ``create_graph``."""
from __future__ import annotations

import math

import numpy as np

from .._tensor import Tensor
from ..backend import dtypes
from ..backend.compat import max_initial
from .loss import scalar_name
from .reduce import acc_dtype, pow2_scale, slice_scale


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


def _float32(*tensors: Tensor | None) -> list:
    """float16 tensors as float32 ones: statistics of half inputs are computed in float32."""
    return [t.float() if t is not None and acc_dtype(t._data.dtype) != t._data.dtype else t for t in tensors]


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


# ---- statistics --------------------------------------------------------------------------
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
