"""Batch normalization (and instance normalization, batch norm of (1, N * C, *)): one fused
primitive for training mode, on compiled kernels where they take the arrays (row-major or
channels-last), else array math; ``batch_norm_relu`` is ember.compile's pair of it with a ReLU."""
from __future__ import annotations

import math

import numpy as np

from .._layout import is_channels_last
from .._tensor import Tensor
from ..autograd.function import Function
from ..backend import dtypes, kernels
from ..autograd.grad_mode import no_grad, state
from .math import _zero_at_most, relu as _relu, tie
from .norm_shared import (_affine_of_empty, _check_dtypes, _composed_grads, _float32, _moments, _rescaled_moments,
                          _scaled_rstd, _verify_batch_size)


def _check_size(name: str, t: Tensor | None, n: int) -> None:
    if t is not None and t.numel() != n:
        raise RuntimeError(f"{name} should contain {n} elements not {t.numel()}")


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
    rows = is_channels_last(a)
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
    rows = is_channels_last(a)
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
    rows = is_channels_last(a)
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
            dx = _empty(a, is_channels_last(a))
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
