"""Normalization: batch, layer, group, instance, local response and RMS normalization
(``torch.nn.functional``'s forms). Batch and instance norm are in batch_norm.py, what they
share with layer and group norm in norm_shared.py.

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
from ..autograd.grad_mode import state
from ..backend.device import xp_of
from .padding import constant_pad_nd
from .norm_shared import (_affine_of_empty, _check_dtypes, _composed_grads, _float32, _rescaled_moments, _scaled_down,
                          _scaled_rstd, _verify_batch_size)
from .batch_norm import batch_norm, batch_norm_relu, instance_norm  # noqa: F401  (this module's API)

__all__ = ["batch_norm", "instance_norm", "layer_norm", "group_norm", "local_response_norm", "rms_norm"]


# ---- layer and group norm ----------------------------------------------------------------
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
