"""Convolution: conv1d/2d/3d and conv_transpose1d/2d/3d.

Three primitives share one geometry (kernel, stride, padding, dilation, groups and
both spatial sizes) and are each other's gradients, so derivatives of any order work:

    Conv(x, w)           y = x * w                 (N, C, *in)  -> (N, O, *out)
    ConvTranspose(y, w)  the adjoint in x          (N, O, *out) -> (N, C, *in)
    ConvWeight(x, y)     the adjoint in w          -> (O, C / groups, *kernel)

For float32 arrays each is one of oneDNN's convolution primitives (backend/convolution.py),
2-5x faster than the path below on the benchmarks' shapes. Otherwise (float64, half, CuPy, a
geometry oneDNN refuses, or no oneDNN) each is im2col or col2im (compiled loops for 1-d and
2-d, backend/kernels/conv.py; else a copy per kernel tap, never a loop over pixels) and a
GEMM per group. Columns are laid
out channel-major, (C, *kernel, N, *out), so that the GEMM is one large matrix product
over many samples. Conv and ConvWeight build them for a block of the batch at a time
(``_COLUMNS_BYTES``), and nothing keeps them: the weight gradient rebuilds them from the
saved input, as PyTorch's convolutions save only their input. A 3x3 convolution's
columns are nine times its input, so keeping them for backward had cost ResNet-8 training
2.2x PyTorch's memory per step; built in blocks they cost 0.65x PyTorch's, and the step
measured faster too (bench/cnn.py).
"""
from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np

from ..amp.autocast_mode import autocast_op
from .._tensor import Tensor
from ..autograd.function import Function
from ..autograd.grad_mode import state
from ..backend import convolution, gemm, kernels
from ..backend.dtypes import round_to

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"]

# The columns of a block of the batch take about this much memory: the copies behind
# each GEMM stay small, and no step holds a whole batch's columns.
_COLUMNS_BYTES = 1 << 23


class Geometry(NamedTuple):
    """Where each kernel tap reads: ``in_size`` is x's spatial size, ``out_size`` y's."""
    kernel: tuple
    stride: tuple
    pads: tuple       # (before, after) per spatial dim
    dilation: tuple
    groups: int
    in_size: tuple
    out_size: tuple


# ---- array kernels ----------------------------------------------------------------------
@functools.lru_cache(maxsize=512)
def _taps(g: Geometry) -> tuple:
    """Per kernel position: its index into the columns, and the slices of the padded
    input (N and C first) that it reads, one element per output position."""
    every = (slice(None), slice(None))
    return tuple(((slice(None),) + tap,
                  every + tuple(slice(t * d, t * d + (o - 1) * s + 1, s)
                                for t, d, s, o in zip(tap, g.dilation, g.stride, g.out_size)))
                 for tap in np.ndindex(*g.kernel))


def _padded_size(g: Geometry) -> tuple:
    return tuple(i + lo + hi for i, (lo, hi) in zip(g.in_size, g.pads))


def _interior(g: Geometry) -> tuple:
    return tuple(slice(lo, lo + i) for i, (lo, _) in zip(g.in_size, g.pads))


def _compiled(a: np.ndarray, g: Geometry):
    """The compiled im2col/col2im (backend/kernels/conv.py) for 1-d and 2-d convolutions of
    float32/float64 NumPy arrays, else None (the NumPy path)."""
    k = kernels.cpu()
    return k.conv if k is not None and len(g.kernel) <= 2 and kernels.usable(a) else None


def _planes(a: np.ndarray, g: Geometry, lead: int) -> np.ndarray:
    """A 1-d convolution's array with a spatial dim of 1 inserted at ``lead``: its 2-d form."""
    return a if len(g.kernel) == 2 else np.expand_dims(a, lead)


def _steps_2d(g: Geometry) -> tuple:
    """(stride h, stride w, dilation h, dilation w) of the 2-d form."""
    if len(g.kernel) == 2:
        return g.stride + g.dilation
    return 1, g.stride[0], 1, g.dilation[0]


def im2col(x: np.ndarray, g: Geometry) -> np.ndarray:
    """(N, C, *in) -> columns (C, *kernel, N, *out): one strided copy per kernel tap."""
    n, c = x.shape[:2]
    every = (slice(None), slice(None))
    cols = np.empty((c,) + g.kernel + (n,) + g.out_size, dtype=x.dtype, like=x)
    conv = _compiled(x, g)
    if conv is not None:
        if any(lo or hi for lo, hi in g.pads):
            src = np.zeros((n, c) + _padded_size(g), dtype=x.dtype)
            src[every + _interior(g)] = x
        else:
            src = np.ascontiguousarray(x)
        conv.im2col_2d(_planes(src, g, 2), _planes(_planes(cols, g, 1), g, 4), *_steps_2d(g))
        return cols
    if any(lo or hi for lo, hi in g.pads):
        src = np.zeros((c, n) + _padded_size(g), dtype=x.dtype, like=x)
        src[every + _interior(g)] = x.swapaxes(0, 1)
    else:
        src = x.swapaxes(0, 1)
    for col, window in _taps(g):
        cols[col] = src[window]
    return cols


def col2im(cols: np.ndarray, g: Geometry) -> np.ndarray:
    """Columns (C, *kernel, N, *out) -> (N, C, *in), summing where windows overlap."""
    c, n = cols.shape[0], cols.shape[1 + len(g.kernel)]
    conv = _compiled(cols, g)
    if conv is not None:
        dst = np.zeros((n, c) + _padded_size(g), dtype=cols.dtype)
        conv.col2im_2d(_planes(_planes(np.ascontiguousarray(cols), g, 1), g, 4), _planes(dst, g, 2),
                       *_steps_2d(g))
        return np.ascontiguousarray(dst[(slice(None), slice(None)) + _interior(g)])
    # Summed in the columns' (C, N) order, so that each tap reads a contiguous block,
    # then cropped and transposed in one copy (measured 1.4-2x faster than summing in
    # (N, C) order).
    dst = np.zeros((c, n) + _padded_size(g), dtype=cols.dtype, like=cols)
    for col, window in _taps(g):
        dst[window] += cols[col]
    return dst[(slice(None), slice(None)) + _interior(g)].swapaxes(0, 1).copy()


def _channel_major(y: np.ndarray, groups: int) -> np.ndarray:
    """(N, O, *out) -> (groups, O / groups, N * out): the GEMM operand of an output."""
    return y.swapaxes(0, 1).reshape(groups, y.shape[1] // groups, y.shape[0] * math.prod(y.shape[2:]))


def _grouped(w: np.ndarray, groups: int) -> np.ndarray:
    """A weight (O, C / groups, *kernel) as (groups, O / groups, C / groups * kernel)."""
    return w.reshape(groups, w.shape[0] // groups, math.prod(w.shape[1:]))


def _batch_blocks(x: np.ndarray, g: Geometry):
    """Slices of the batch whose columns take about ``_COLUMNS_BYTES`` each (one sample at
    least)."""
    n = x.shape[0]
    per_sample = x.shape[1] * math.prod(g.kernel) * math.prod(g.out_size) * x.dtype.itemsize
    size = max(1, _COLUMNS_BYTES // max(per_sample, 1))
    return [slice(s, min(s + size, n)) for s in range(0, n, size)] or [slice(0, 0)]


def _conv_forward(x: np.ndarray, w: np.ndarray, b, g: Geometry) -> np.ndarray:
    """The convolution's output (N, O, *out): oneDNN's, else a block of the batch at a time."""
    out = convolution.forward(x, w, b, g)
    if out is not None:
        return out
    out_ch, n = w.shape[0], x.shape[0]
    wg = _grouped(w, g.groups)
    out = np.empty((n, out_ch) + g.out_size, dtype=np.result_type(x.dtype, w.dtype), like=x)
    bias = None if b is None else b.reshape((out_ch,) + (1,) * len(g.out_size))
    for block in _batch_blocks(x, g):
        cols = im2col(x[block], g)
        m = cols.shape[1 + len(g.kernel)]
        y = gemm.matmul(wg, cols.reshape(g.groups, wg.shape[2], m * math.prod(g.out_size)))
        y = y.reshape((out_ch, m) + g.out_size).swapaxes(0, 1)
        if bias is None:
            np.copyto(out[block], y)
        else:  # the bias rides along the copy into (N, O, *out) order
            np.add(y, bias, out=out[block])
    return round_to(out, x.dtype)


def _conv_transpose_forward(y: np.ndarray, w: np.ndarray, g: Geometry) -> np.ndarray:
    """The adjoint of the convolution in x: (N, O, *out) -> (N, C, *in)."""
    out = convolution.backward_data(y, w, g)
    if out is not None:
        return out
    c, n = w.shape[1] * g.groups, y.shape[0]
    full = _full_conv_geometry(g)
    # With unit stride this is also a convolution of y with the flipped kernel, whose GEMM
    # sums over O * kernel; col2im's GEMM sums over O alone, which BLAS does slowly for
    # few channels. Measured (1 thread, batch 64, 3x3): 16 -> 16 channels at 32x32 7.0 ms
    # flipped vs 13.0 ms col2im, depthwise 32 channels at 16x16 3.9 vs 8.2; but 1 -> 6
    # channels (batch 128, 5x5, 28x28) 5.4 vs 1.3, as the flipped form's columns are then
    # six times larger. So: the smaller columns win, and depthwise takes the flipped form.
    if full is not None and (g.groups == c or w.shape[0] * math.prod(g.in_size) <= c * math.prod(g.out_size)):
        k = len(g.kernel)
        wg = w.reshape((g.groups, w.shape[0] // g.groups, w.shape[1]) + g.kernel).swapaxes(1, 2)
        flipped = wg[(Ellipsis,) + (slice(None, None, -1),) * k].reshape((c, wg.shape[2]) + g.kernel)
        return _conv_forward(y, flipped, None, full)
    cols = gemm.matmul(_grouped(w, g.groups).transpose(0, 2, 1), _channel_major(y, g.groups))
    return round_to(col2im(cols.reshape((c,) + g.kernel + (n,) + g.out_size), g), y.dtype)


def _full_conv_geometry(g: Geometry) -> Geometry | None:
    """For a unit-stride geometry, the one of the convolution from the output back to the
    input's size whose taps are reversed; None where strides or padding rule it out."""
    if any(s != 1 for s in g.stride):
        return None
    pads = []
    for (lo, _), d, k, i, o in zip(g.pads, g.dilation, g.kernel, g.in_size, g.out_size):
        before = d * (k - 1) - lo
        after = i - o + lo
        if before < 0 or after < 0:
            return None
        pads.append((before, after))
    return Geometry(g.kernel, g.stride, tuple(pads), g.dilation, g.groups, g.out_size, g.in_size)


def _conv_weight_forward(x: np.ndarray, y: np.ndarray, g: Geometry) -> np.ndarray:
    """The adjoint of the convolution in w: oneDNN's, else the sum over the batch and positions
    of y x^T, a block of the batch at a time."""
    out = convolution.backward_weights(x, y, g)
    if out is not None:
        return out
    rows = x.shape[1] // g.groups * math.prod(g.kernel)
    dw = None
    for block in _batch_blocks(x, g):
        cols = im2col(x[block], g)
        cm = cols.reshape(g.groups, rows, cols.shape[1 + len(g.kernel)] * math.prod(g.out_size))
        part = gemm.matmul(_channel_major(y[block], g.groups), cm.transpose(0, 2, 1))
        if dw is None:
            dw = part
        else:
            dw += part
    return round_to(dw.reshape((y.shape[1], x.shape[1] // g.groups) + g.kernel), x.dtype)


def _bias_grad(grad: Tensor) -> Tensor:
    return grad.sum((0,) + tuple(range(2, grad.ndim)))


# ---- primitives -------------------------------------------------------------------------
class Conv(Function):
    @staticmethod
    def forward(ctx, x, weight, bias, geometry):
        ctx.geometry, ctx.biased = geometry, bias is not None
        need_x, need_w = ctx.needs_input_grad[:2]
        ctx.save_for_backward(x if need_w else None, weight if need_x else None)
        return _conv_forward(x._data, weight._data, None if bias is None else bias._data, geometry)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        g = ctx.geometry
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        if not state.enabled and (need_x or need_w):  # the backward itself is not recorded
            grads = convolution.backward(None if x is None else x._data, None if weight is None else weight._data,
                                         grad._data, g, need_x, need_w, ctx.biased, need_b)
            if grads is not None:
                gx, gw, gb = (None if a is None else Tensor._make(a) for a in grads)
                if need_b and gb is None:
                    gb = _bias_grad(grad)
                return gx, gw, gb, None
        gx = ConvTranspose.apply(grad, weight, None, g) if need_x else None
        gw = ConvWeight.apply(x, grad, g) if need_w else None
        gb = _bias_grad(grad) if need_b else None
        return gx, gw, gb, None


class ConvTranspose(Function):
    @staticmethod
    def forward(ctx, y, weight, bias, geometry):
        ctx.geometry = geometry
        ctx.save_for_backward(y if ctx.needs_input_grad[1] else None,
                              weight if ctx.needs_input_grad[0] else None)
        out = _conv_transpose_forward(y._data, weight._data, geometry)
        if bias is not None:
            out += bias._data.reshape((-1,) + (1,) * len(geometry.kernel))
        return out

    @staticmethod
    def backward(ctx, grad):
        y, weight = ctx.saved_tensors
        g = ctx.geometry
        gy = Conv.apply(grad, weight, None, g) if ctx.needs_input_grad[0] else None
        gw = ConvWeight.apply(grad, y, g) if ctx.needs_input_grad[1] else None
        gb = _bias_grad(grad) if ctx.needs_input_grad[2] else None
        return gy, gw, gb, None


class ConvWeight(Function):
    """The weight gradient of Conv as a function of x and the output's gradient y."""

    @staticmethod
    def forward(ctx, x, y, geometry):
        ctx.geometry = geometry
        ctx.save_for_backward(x if ctx.needs_input_grad[1] else None,
                              y if ctx.needs_input_grad[0] else None)
        return _conv_weight_forward(x._data, y._data, geometry)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        g = ctx.geometry
        gx = ConvTranspose.apply(y, grad, None, g) if ctx.needs_input_grad[0] else None
        gy = Conv.apply(x, grad, None, g) if ctx.needs_input_grad[1] else None
        return gx, gy, None


# ---- argument checks --------------------------------------------------------------------
def expand_param(value, k: int, name: str) -> tuple:
    """An int or a sequence of 1 or k ints as a k-tuple of ints."""
    if isinstance(value, (int, np.integer)):
        return (int(value),) * k
    values = tuple(int(v) for v in value)
    if len(values) == 1:
        return values * k
    if len(values) != k:
        raise RuntimeError(f"expected {name} to be a single integer value or a list of {k} values to match "
                           f"the convolution dimensions, but got {name}={list(values)}")
    return values


def _size_str(size) -> str:
    return " x ".join(str(s) for s in size)


def _check_input(input: Tensor, weight: Tensor, bias, k: int, op: str) -> bool:
    """Validate the operands; returns whether the input has a batch dim."""
    for what, t in (("input", input), ("weight", weight), ("bias", bias)):
        if t is not None and not isinstance(t, Tensor):
            raise TypeError(f"{op}(): argument '{what}' must be Tensor, not {type(t).__name__}")
    if input.ndim not in (k + 1, k + 2):
        raise RuntimeError(f"Expected {k + 1}D (unbatched) or {k + 2}D (batched) input to {op}, but got "
                           f"input of size: {list(input.shape)}")
    if weight.ndim != k + 2:
        layout = "out_channels, in_channels / groups" if "transpose" not in op else \
            "in_channels, out_channels / groups"
        raise RuntimeError(f"{op}: expected a {k + 2}D weight ({layout}, *kernel_size), got weight of size "
                           f"{list(weight.shape)}")
    if input._data.dtype != weight._data.dtype:
        raise RuntimeError(f"{op}: input type ({input.dtype}) and weight type ({weight.dtype}) should be the "
                           f"same. Convert one of them, e.g. input.to({weight.dtype}).")
    if bias is not None and bias._data.dtype != input._data.dtype:
        raise RuntimeError(f"{op}: input type ({input.dtype}) and bias type ({bias.dtype}) should be the same")
    if input.device != weight.device or (bias is not None and bias.device != input.device):
        raise RuntimeError(f"{op}: expected input, weight and bias on the same device, got input on "
                           f"{input.device} and weight on {weight.device}")
    return input.ndim == k + 2


def _check_params(stride: tuple, dilation: tuple, groups: int) -> None:
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"dilation should be greater than zero, but got {list(dilation)}")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")


def _check_bias(bias, weight: Tensor, channels: int, transposed: bool) -> None:
    if bias is not None and tuple(bias.shape) != (channels,):
        head = "Given transposed=1, weight" if transposed else "Given weight"
        raise RuntimeError(f"{head} of size {list(weight.shape)}, expected bias to be 1-dimensional with "
                           f"{channels} elements, but got bias of size {list(bias.shape)} instead")


def _pads(padding, kernel: tuple, stride: tuple, dilation: tuple, k: int) -> tuple:
    """Per-dim (before, after) padding from an int, a tuple or 'valid' / 'same'."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * k
        if padding != "same":
            raise RuntimeError(f"Invalid padding string: '{padding}' (expected 'valid', 'same', an int or a "
                               "tuple of ints)")
        if any(s != 1 for s in stride):
            raise RuntimeError("padding='same' is not supported for strided convolutions")
        # An odd total pads one more after than before, as PyTorch does.
        totals = [d * (kk - 1) for d, kk in zip(dilation, kernel)]
        return tuple((t // 2, t - t // 2) for t in totals)
    pad = expand_param(padding, k, "padding")
    if any(p < 0 for p in pad):
        raise RuntimeError("negative padding is not supported")
    return tuple((p, p) for p in pad)


def _conv(input, weight, bias, stride, padding, dilation, groups, k: int, op: str) -> Tensor:
    batched = _check_input(input, weight, bias, k, op)
    x = input if batched else input.unsqueeze(0)
    kernel = tuple(weight.shape[2:])
    stride, dilation = expand_param(stride, k, "stride"), expand_param(dilation, k, "dilation")
    _check_params(stride, dilation, groups)
    pads = _pads(padding, kernel, stride, dilation, k)
    out_ch, in_per_group = weight.shape[:2]
    if out_ch == 0:
        raise RuntimeError(f"Given groups={groups}, expected weight to be at least 1 at dimension 0, but got "
                           f"weight of size {list(weight.shape)} instead")
    if out_ch % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
                           f"but got weight of size {list(weight.shape)} instead")
    if x.shape[1] != in_per_group * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, expected "
                           f"input{list(x.shape)} to have {in_per_group * groups} channels, but got "
                           f"{x.shape[1]} channels instead")
    _check_bias(bias, weight, out_ch, False)
    in_size = tuple(x.shape[2:])
    padded = tuple(i + lo + hi for i, (lo, hi) in zip(in_size, pads))
    extent = tuple(d * (kk - 1) + 1 for d, kk in zip(dilation, kernel))
    if any(p < e for p, e in zip(padded, extent)):
        raise RuntimeError(f"Calculated padded input size per channel: ({_size_str(padded)}). Kernel size: "
                           f"({_size_str(extent)}). Kernel size can't be greater than actual input size")
    out_size = tuple((p - e) // s + 1 for p, e, s in zip(padded, extent, stride))
    g = Geometry(kernel, stride, pads, dilation, groups, in_size, out_size)
    out = Conv.apply(x, weight, bias, g)
    return out if batched else out.squeeze(0)


def _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, k: int,
                    op: str) -> Tensor:
    if isinstance(padding, str):
        raise TypeError(f"{op}(): argument 'padding' must be tuple of ints, not str")
    batched = _check_input(input, weight, bias, k, op)
    y = input if batched else input.unsqueeze(0)
    kernel = tuple(weight.shape[2:])
    stride, dilation = expand_param(stride, k, "stride"), expand_param(dilation, k, "dilation")
    pad = expand_param(padding, k, "padding")
    out_pad = expand_param(output_padding, k, "output_padding")
    _check_params(stride, dilation, groups)
    if any(p < 0 for p in pad) or any(p < 0 for p in out_pad):
        raise RuntimeError("negative padding is not supported")
    if any(o >= s and o >= d for o, s, d in zip(out_pad, stride, dilation)):
        raise RuntimeError(f"output padding must be smaller than either stride or dilation, but got "
                           f"output_padding={list(out_pad)}, stride={list(stride)}, dilation={list(dilation)}")
    in_ch = weight.shape[0]
    if in_ch % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
                           f"but got weight of size {list(weight.shape)} instead")
    if y.shape[1] != in_ch:
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected input"
                           f"{list(y.shape)} to have {in_ch} channels, but got {y.shape[1]} channels instead")
    _check_bias(bias, weight, weight.shape[1] * groups, True)
    y_size = tuple(y.shape[2:])
    out_size = tuple((i - 1) * s - 2 * p + d * (kk - 1) + o + 1
                     for i, s, p, d, kk, o in zip(y_size, stride, pad, dilation, kernel, out_pad))
    if any(o <= 0 for o in out_size) or any(i <= 0 for i in y_size):
        raise RuntimeError(f"{op}: given input size per channel ({_size_str(y_size)}), calculated output size "
                           f"per channel ({_size_str(out_size)}) is too small. Reduce the padding "
                           f"{list(pad)} or increase the stride or kernel size.")
    # The transposed convolution is the adjoint in x of the convolution from out_size to y_size.
    g = Geometry(kernel, stride, tuple((p, p) for p in pad), dilation, groups, out_size, y_size)
    out = ConvTranspose.apply(y, weight, bias, g)
    return out if batched else out.squeeze(0)


# ---- public functions -------------------------------------------------------------------
@autocast_op("conv1d")
def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """1-D convolution (cross-correlation, as in PyTorch).

    Args:
        padding: an int, a 1-tuple, ``'valid'`` (none) or ``'same'`` (output as long as the input).
    Shape:
        input (N, C_in, L) or (C_in, L), weight (C_out, C_in / groups, kL), bias (C_out)
        -> (N, C_out, L_out) with L_out = (L + 2 * padding - dilation * (kL - 1) - 1) // stride + 1.
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


@autocast_op("conv2d")
def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """2-D convolution (cross-correlation, as in PyTorch).

    Args:
        stride, dilation: an int or an (h, w) pair.
        padding: an int, an (h, w) pair, ``'valid'`` or ``'same'`` (stride 1 only; an even
            kernel pads one more at the bottom and right).
        groups: split the channels into this many independent convolutions
            (``groups == C_in`` is a depthwise convolution).
    Shape:
        input (N, C_in, H, W) or (C_in, H, W), weight (C_out, C_in / groups, kH, kW),
        bias (C_out) -> (N, C_out, H_out, W_out).
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


@autocast_op("conv3d")
def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """3-D convolution; arguments as in ``conv2d`` with (d, h, w) triples.

    Shape:
        input (N, C_in, D, H, W) or (C_in, D, H, W), weight (C_out, C_in / groups, kD, kH, kW)
        -> (N, C_out, D_out, H_out, W_out).
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, 3, "conv3d")


@autocast_op("conv_transpose1d")
def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """1-D transposed convolution (the gradient of conv1d with respect to its input).

    Shape:
        input (N, C_in, L) or (C_in, L), weight (C_in, C_out / groups, kL), bias (C_out)
        -> (N, C_out, L_out) with L_out = (L - 1) * stride - 2 * padding
        + dilation * (kL - 1) + output_padding + 1.
    """
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 1,
                           "conv_transpose1d")


@autocast_op("conv_transpose2d")
def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """2-D transposed convolution ("deconvolution"), e.g. for upsampling in decoders.

    Args:
        output_padding: extra size added to one side of the output, to pick among the
            output sizes that a strided convolution maps to the same input size.
    Shape:
        input (N, C_in, H, W) or (C_in, H, W), weight (C_in, C_out / groups, kH, kW),
        bias (C_out) -> (N, C_out, H_out, W_out).
    """
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 2,
                           "conv_transpose2d")


@autocast_op("conv_transpose3d")
def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """3-D transposed convolution; arguments as in ``conv_transpose2d``.

    Shape:
        input (N, C_in, D, H, W) or (C_in, D, H, W), weight (C_in, C_out / groups, kD, kH, kW)
        -> (N, C_out, D_out, H_out, W_out).
    """
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 3,
                           "conv_transpose3d")


TENSOR_METHODS: dict = {}
INPLACE: list = []
