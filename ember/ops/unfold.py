"""nn.functional.unfold and fold: sliding blocks of an image as columns (im2col) and back
(col2im, summing overlaps), each the other's gradient; and Tensor.unfold, the sliding windows
of one dimension as a view."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.function import Function
from ..backend.device import xp_of
from .conv import Geometry, col2im, expand_param, im2col
from .views import mark_view

__all__ = ["unfold", "fold"]


class Unfold(Function):
    @staticmethod
    def forward(ctx, x, geometry):
        ctx.geometry = geometry
        cols = im2col(x._data, geometry)  # (C, kh, kw, N, oh, ow)
        n, c = x._data.shape[:2]
        rows, blocks = c * cols.shape[1] * cols.shape[2], cols.shape[4] * cols.shape[5]
        return cols.reshape(rows, n, blocks).swapaxes(0, 1).copy()

    @staticmethod
    def backward(ctx, grad):
        return Fold.apply(grad, ctx.geometry), None


class Fold(Function):
    @staticmethod
    def forward(ctx, blocks, geometry):
        ctx.geometry = geometry
        b = blocks._data
        kernel = geometry.kernel
        channels = b.shape[1] // (kernel[0] * kernel[1])
        cols = b.swapaxes(0, 1).reshape((channels,) + kernel + (b.shape[0],) + geometry.out_size)
        return col2im(cols, geometry)

    @staticmethod
    def backward(ctx, grad):
        return Unfold.apply(grad, ctx.geometry), None


def _params(kernel_size, dilation, padding, stride) -> tuple:
    kernel = expand_param(kernel_size, 2, "kernel_size")
    dilation = expand_param(dilation, 2, "dilation")
    padding = expand_param(padding, 2, "padding")
    stride = expand_param(stride, 2, "stride")
    for name, values, low in (("kernel_size", kernel, 1), ("dilation", dilation, 1), ("stride", stride, 1),
                              ("padding", padding, 0)):
        if any(v < low for v in values):
            rule = "greater than zero" if low else "non-negative"
            raise RuntimeError(f"{name} should be {rule}, but got {name}={values}")
    return kernel, dilation, padding, stride


def _blocks(size: tuple, kernel: tuple, dilation: tuple, padding: tuple, stride: tuple) -> tuple:
    return tuple((i + 2 * p - d * (k - 1) - 1) // s + 1
                 for i, k, d, p, s in zip(size, kernel, dilation, padding, stride))


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Extract sliding blocks: each column holds one block's values, channel-major.

    Shape:
        input (N, C, H, W) or (C, H, W) -> (N, C * kh * kw, L) or (C * kh * kw, L), where L
        is the number of blocks (oh * ow, as in conv2d's output).
    """
    kernel, dilation, padding, stride = _params(kernel_size, dilation, padding, stride)
    shape = tuple(input.shape)
    if len(shape) not in (3, 4) or 0 in shape[-3:]:
        raise RuntimeError("Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and other non-zero "
                           f"dimensions for input, but got: {list(shape)}")
    size = shape[-2:]
    blocks = _blocks(size, kernel, dilation, padding, stride)
    if any(b < 1 for b in blocks):
        raise RuntimeError(f"Given input with spatial size {size}, kernel_size={kernel}, dilation={dilation}, "
                           f"padding={padding}, calculated shape of the array of sliding blocks as {blocks}, "
                           "but its components must be at least one.")
    batched = len(shape) == 4
    x = input if batched else input.unsqueeze(0)
    g = Geometry(kernel, stride, tuple((p, p) for p in padding), dilation, 1, size, blocks)
    out = Unfold.apply(x, g)
    return out if batched else out.squeeze(0)


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sum sliding blocks back into an image (the adjoint of ``unfold``).

    Shape:
        input (N, C * kh * kw, L) or (C * kh * kw, L) -> (N, C, *output_size) or (C, *output_size).
    """
    size = expand_param(output_size, 2, "output_size")
    kernel, dilation, padding, stride = _params(kernel_size, dilation, padding, stride)
    shape = tuple(input.shape)
    if len(shape) not in (2, 3) or 0 in shape[-2:]:
        raise RuntimeError("Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size and "
                           f"non-zero dimensions for input, but got: {list(shape)}")
    k = kernel[0] * kernel[1]
    if shape[-2] % k:
        raise RuntimeError(f"Expected size of input's dimension {len(shape) - 2} to be divisible by the product "
                           f"of kernel_size, but got input.size({len(shape) - 2})={shape[-2]} and "
                           f"kernel_size={kernel}.")
    blocks = _blocks(size, kernel, dilation, padding, stride)
    where = (f"Given output_size={size}, kernel_size={kernel}, dilation={dilation}, padding={padding}, "
             f"stride={stride}")
    if any(b < 1 for b in blocks):
        raise RuntimeError(f"{where}, calculated shape of the array of sliding blocks as {blocks}, but its "
                           "components must be at least one.")
    if shape[-1] != blocks[0] * blocks[1]:
        raise RuntimeError(f"{where}, expected size of input's dimension {len(shape) - 1} to match the calculated "
                           f"number of sliding blocks {blocks[0]} * {blocks[1]} = {blocks[0] * blocks[1]}, but "
                           f"got input.size({len(shape) - 1})={shape[-1]}.")
    batched = len(shape) == 3
    x = input if batched else input.unsqueeze(0)
    g = Geometry(kernel, stride, tuple((p, p) for p in padding), dilation, 1, size, blocks)
    out = Fold.apply(x, g)
    return out if batched else out.squeeze(0)


# ---- Tensor.unfold: the windows of one dimension, as a view -----------------------------
class SlidingWindows(Function):
    """Windows of ``size`` elements every ``step`` along ``dim``, as a new last dimension: a
    strided view of the input (read-only where windows overlap, as for expand)."""

    @staticmethod
    def forward(ctx, x, dim, size, step):
        ctx.args = (x._data.shape, dim, size, step)
        return _windows(x._data, dim, size, step)

    @staticmethod
    def backward(ctx, grad):
        return UnfoldBackward.apply(grad, *ctx.args), None, None, None


class UnfoldBackward(Function):
    """The adjoint of SlidingWindows: each window's gradient added back where it read."""

    @staticmethod
    def forward(ctx, grad, shape, dim, size, step):
        ctx.args = (dim, size, step)
        g = grad._data
        out = xp_of(g).zeros(shape, dtype=g.dtype)
        n = g.shape[dim]
        for k in range(size):  # one strided slice per window position, never per window
            out[(slice(None),) * dim + (slice(k, k + step * (n - 1) + 1, step),)] += g[..., k]
        return out

    @staticmethod
    def backward(ctx, grad):
        # a copy: the gathered windows of a gradient must not be a read-only overlapping view
        return SlidingWindows.apply(grad, *ctx.args).clone(), None, None, None, None


def _windows(x, dim: int, size: int, step: int):
    n = (x.shape[dim] - size) // step + 1
    shape = x.shape[:dim] + (n,) + x.shape[dim + 1:] + (size,)
    strides = x.strides[:dim] + (x.strides[dim] * step,) + x.strides[dim + 1:] + (x.strides[dim],)
    if isinstance(x, np.ndarray):
        return np.lib.stride_tricks.as_strided(x, shape, strides, writeable=step >= size)
    return xp_of(x).lib.stride_tricks.as_strided(x, shape, strides)


_TENSOR_UNFOLD = SlidingWindows.node("UnfoldBackward0")


def tensor_unfold(self: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """A view of the windows of ``size`` elements every ``step`` along ``dimension``, which
    becomes the number of windows; the window is a new last dimension."""
    d = self._wrap_dim(dimension)
    length = self._data.shape[d] if self._data.ndim else 1
    if size < 0:
        raise RuntimeError(f"size is {size} but must be >= 0")
    if size > length:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {length} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    if self._data.ndim == 0:  # a 0-d tensor unfolds as one element: shape (size,)
        return self.reshape(1).unfold(0, size, step).reshape(size)
    return mark_view(_TENSOR_UNFOLD.apply(self, d, int(size), int(step)), self)


TENSOR_METHODS: dict = {"unfold": tensor_unfold}
INPLACE: list = []
