"""Resampling: interpolate (nearest, nearest-exact, linear, bilinear, bicubic, trilinear, area,
antialiased bilinear and bicubic), pixel_shuffle / pixel_unshuffle and channel_shuffle.

Every interpolation mode is separable: along each spatial dim, output position i is a weighted
sum of a few input positions, its taps. One primitive applies such a tap table along one dim
(a gather per tap and a weighted sum). Its gradient applies the transposed table, which lists
for each input position the outputs that read it: the scatter-add of weighted contributions
becomes a gather too (about 10x faster than np.add.reduceat on feature maps, measured), and the
transpose of that is the table again, so second derivatives work. Positions and weights follow
PyTorch's formulas, in its precision (float32 for float16 and float32 inputs), so nearest modes
pick the same pixels.
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .._layout import contiguous_format, in_dim_order, memory_order, preserve_format, suggest_format
from .._tensor import Tensor
from ..autograd.function import Function
from ..backend.compat import max_initial
from ..backend.device import xp_of
from ..backend.dtypes import is_half
from .loss import scalar_name

__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear", "pixel_shuffle",
           "pixel_unshuffle", "channel_shuffle"]

_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")
_NEEDS_DIM = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}
_CUBIC_A = -0.75        # PyTorch's bicubic convolution constant
_CUBIC_A_AA = -0.5      # the antialiased bicubic filter's (PIL's)


# ---- tap tables ----------------------------------------------------------------------------
class _Taps:
    """Along one dim: output i = sum_k weight[i, k] * input[index[i, k]] for n_in inputs
    (``weight`` None: every weight is 1)."""

    def __init__(self, index: np.ndarray, weight: np.ndarray | None, n_in: int):
        self.index, self.weight, self.n_in = index, weight, n_in
        self._transpose = None

    @property
    def T(self) -> "_Taps":
        """The adjoint table: input j collects weight * output i from each tap (i, k) reading j."""
        if self._transpose is None:
            n_out, k = self.index.shape
            src, dst = self.index.reshape(-1), np.repeat(np.arange(n_out), k)
            w = np.ones(src.shape) if self.weight is None else self.weight.reshape(-1)
            keep = w != 0  # padding taps
            order = np.argsort(src[keep], kind="stable")
            src, dst, w = src[keep][order], dst[keep][order], w[keep][order]
            counts = np.bincount(src, minlength=self.n_in)
            slot = np.arange(src.size) - (np.cumsum(counts) - counts)[src]
            width = max(int(max_initial(counts, initial=0)), 1)
            index, weight = np.zeros((self.n_in, width), np.int64), np.zeros((self.n_in, width), w.dtype)
            index[src, slot], weight[src, slot] = dst, w
            uniform = self.weight is None and bool((counts == width).all())
            self._transpose = _Taps(index, None if uniform else weight, n_out)
            self._transpose._transpose = self
        return self._transpose

    def apply(self, a, axis: int):
        """The taps along ``axis`` of ``a``, gathered in ``a``'s memory order (a channels-last
        array's (N, H, W, C) view), so that the result is laid out as ``a`` is."""
        if not a.flags.c_contiguous:
            order = memory_order(a, preserve_format)
            return in_dim_order(self._gather(a.transpose(order), order.index(axis)), order)
        return self._gather(a, axis)

    def _gather(self, a, axis: int):
        xp = xp_of(a)
        view = (-1,) + (1,) * (a.ndim - 1 - axis)
        out = None
        for k in range(self.index.shape[1]):
            tap = np.take(a, xp.asarray(self.index[:, k]), axis=axis)
            if self.weight is not None:
                tap *= xp.asarray(self.weight[:, k], dtype=a.dtype).reshape(view)
            if out is None:
                out = tap
            else:
                out += tap
        return out


class Resample(Function):
    """Apply a tap table along one dim."""

    @staticmethod
    def forward(ctx, x, axis, taps):
        ctx.axis, ctx.taps = axis, taps
        return taps.apply(x._data, axis)

    @staticmethod
    def backward(ctx, grad):
        return Resample.apply(grad, ctx.axis, ctx.taps.T), None, None


def _scale(n_in: int, n_out: int, scale: float | None, dt) -> np.floating:
    """Input positions per output position: 1 / scale_factor when one was given, else the ratio
    of the sizes (PyTorch's compute_scales_value), in dtype ``dt``."""
    if scale is not None and scale > 0:
        return dt(1.0 / scale)
    return dt(n_in) / dt(n_out)


def _area_scale(n_in: int, n_out: int, scale: float | None, align_corners: bool, dt) -> np.floating:
    if align_corners:
        return dt(n_in - 1) / dt(n_out - 1) if n_out > 1 else dt(0)
    return _scale(n_in, n_out, scale, dt)


def _source(n_in: int, n_out: int, scale, align_corners: bool, cubic: bool, dt) -> np.ndarray:
    """The (fractional) input position of each output position."""
    s = _area_scale(n_in, n_out, scale, align_corners, dt)
    dst = np.arange(n_out).astype(dt)
    if align_corners:
        return s * dst
    src = s * (dst + dt(0.5)) - dt(0.5)
    return src if cubic else np.maximum(src, dt(0))


def _floor_frac(src: np.ndarray, n_in: int) -> tuple:
    """The input index left of each position (at most n_in - 1) and the fraction past it."""
    i = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    return i, np.clip(src - i.astype(src.dtype), 0, 1)


def _cubic(t: np.ndarray, a: float) -> np.ndarray:
    """The 4 cubic-convolution weights of taps at offsets -1, 0, 1, 2 for fractions t."""
    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    one = t.dtype.type(1)
    return np.stack([far(t + one), near(t), near(one - t), far(2 - t)], axis=1)


def _aa_filter(x: np.ndarray, cubic: bool) -> np.ndarray:
    x = np.abs(x)
    if not cubic:
        return np.maximum(1 - x, 0)
    a = _CUBIC_A_AA
    return np.where(x < 1, ((a + 2) * x - (a + 3)) * x * x + 1,
                    np.where(x < 2, (((x - 5) * x + 8) * x - 4) * a, 0))


def _antialias(n_in: int, n_out: int, scale, align_corners: bool, cubic: bool, dt) -> _Taps:
    """A filter that covers every input pixel when downsampling (support scaled with the
    factor, weights normalized to sum 1), as PIL and PyTorch's antialias=True."""
    s = float(_area_scale(n_in, n_out, scale, align_corners, dt))
    half = 2.0 if cubic else 1.0
    support = half * s if s >= 1 else half
    invscale = 1 / s if s >= 1 else 1.0
    center = s * (np.arange(n_out) + 0.5)
    lo = np.maximum((center - support + 0.5).astype(np.int64), 0)
    hi = np.minimum((center + support + 0.5).astype(np.int64), n_in)
    k = int((hi - lo).max())
    j = np.arange(k)
    w = _aa_filter((j + lo[:, None] - center[:, None] + 0.5) * invscale, cubic)
    w = np.where(j < (hi - lo)[:, None], w, 0)
    total = w.sum(1, keepdims=True)
    w = np.where(total != 0, w / np.where(total != 0, total, 1), 0).astype(dt)
    return _Taps(np.minimum(lo[:, None] + j, n_in - 1), w, n_in)


def _taps(mode: str, n_in: int, n_out: int, scale, align_corners: bool, antialias: bool, dt,
          spatial: int) -> _Taps | None:
    """The tap table of one dim of a ``spatial``-D resize (None where the dim is copied)."""
    if n_out == n_in and (scale is None or antialias or mode in _NEEDS_DIM and mode != "bicubic"
                          or mode == "nearest" and spatial == 2):
        return None  # PyTorch copies such dims; its other kernels still use a given scale
    if mode == "nearest":
        if n_out == 2 * n_in and spatial == 2:  # PyTorch's 2-D kernel halves the index exactly
            return _Taps((np.arange(n_out) >> 1)[:, None], None, n_in)
        s = _scale(n_in, n_out, scale, np.float32)
        idx = np.floor(np.arange(n_out).astype(np.float32) * s).astype(np.int64)
        return _Taps(np.minimum(idx, n_in - 1)[:, None], None, n_in)
    if mode == "nearest-exact":
        s = np.float64(_scale(n_in, n_out, scale, np.float32))
        idx = np.floor(((np.arange(n_out) + 0.5) * s).astype(np.float32)).astype(np.int64)
        return _Taps(np.minimum(idx, n_in - 1)[:, None], None, n_in)
    if mode == "area":  # adaptive average pooling: bins [floor(i n / m), ceil((i + 1) n / m))
        i = np.arange(n_out)
        lo, hi = i * n_in // n_out, ((i + 1) * n_in + n_out - 1) // n_out
        j = np.arange(int(max_initial(hi - lo, initial=1)))
        length = (hi - lo)[:, None]
        w = np.where(j < length, 1 / length, 0).astype(dt)
        return _Taps(np.minimum(lo[:, None] + j, hi[:, None] - 1), w, n_in)
    cubic = mode == "bicubic"
    if antialias:
        return _antialias(n_in, n_out, scale, align_corners, cubic, dt)
    i, t = _floor_frac(_source(n_in, n_out, scale, align_corners, cubic, dt), n_in)
    if cubic:
        idx = np.clip(i[:, None] + np.arange(-1, 3), 0, n_in - 1)
        return _Taps(idx, _cubic(t, _CUBIC_A), n_in)
    idx = np.stack([i, i + (i < n_in - 1)], axis=1)
    return _Taps(idx, np.stack([1 - t, t], axis=1), n_in)


# ---- interpolate ---------------------------------------------------------------------------
def _per_dim(value, dim: int, what: str, input: Tensor, kinds: tuple) -> list:
    if isinstance(value, (list, tuple)):
        if len(value) != dim:
            out, noun, fmt = (("output", "output size of", "output size in (o1, o2, ...,oK)") if what == "size" else
                              ("scale_factor", "scale_factor of shape", "scale_factor in (s1, s2, ...,sK)"))
            raise ValueError(
                f"Input and {out} must have the same number of spatial dimensions, but got input with spatial "
                f"dimensions of {list(input.shape[2:])} and {noun} {value}. Please provide input tensor in "
                f"(N, C, d1, d2, ...,dK) format and {fmt} format.")
        values = list(value)
    else:
        values = [value] * dim
    for v in values:
        if isinstance(v, bool) or not isinstance(v, kinds):
            raise TypeError(f"interpolate(): {what} must be {'int' if what == 'size' else 'float'} or a tuple "
                            f"of them, one per spatial dim, but got {value!r}")
    return values


def _size_error(n_in: list, n_out: list) -> RuntimeError:
    names = "DHW"[3 - len(n_in):]

    def fmt(sizes):
        return ", ".join(f"{c}: {s}" for c, s in zip(names, sizes))
    joint = " and" if len(n_in) == 1 else ""
    return RuntimeError(f"Input and output sizes should be greater than 0, but got input ({fmt(n_in)}){joint} "
                        f"output ({fmt(n_out)})")


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize the spatial dims of (N, C, *spatial) to ``size``, or scale them by ``scale_factor``.

    Args:
        mode: 'nearest', 'nearest-exact', 'area' (3-5 D input), 'linear' (3-D), 'bilinear',
            'bicubic' (4-D) or 'trilinear' (5-D).
        align_corners: for linear modes, map the corner pixels' centres onto each other
            (default False). Not allowed with the other modes.
        recompute_scale_factor: compute the output size from scale_factor and then resample
            as if the size had been given (the scale itself is otherwise used for positions).
        antialias: low-pass the input when downsampling ('bilinear' and 'bicubic', 4-D).
    """
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    dim = input.ndim - 2
    scales = [None] * max(dim, 0)
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        out = _per_dim(size, dim, "size", input, (int, np.integer))
    elif scale_factor is not None:
        scales = [float(s) for s in _per_dim(scale_factor, dim, "scale_factor", input, numbers.Real)]
        out = None
    else:
        raise ValueError("either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if mode == "area" and out is None:
        recompute_scale_factor = True
    if out is None:
        out = [math.floor(float(n) * s) for n, s in zip(input.shape[2:], scales)]
        if recompute_scale_factor:
            scales = [None] * dim
    if antialias and not (mode in ("bilinear", "bicubic") and input.ndim == 4):
        raise ValueError("Anti-alias option is restricted to bilinear and bicubic modes and requires a 4-D "
                         "tensor as input")
    needed = _NEEDS_DIM.get(mode)
    if mode not in _MODES or input.ndim not in (3, 4, 5) or (mode == "bicubic" and input.ndim != 4):
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for the modes: "
            f"{' | '.join(_MODES)} (got {mode})")
    if needed is not None and input.ndim != needed:
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs {needed}D input")
    n_in = list(input.shape[2:])
    if min(n_in) <= 0 or min(out) < (0 if mode == "area" else 1):  # area may give empty outputs
        raise _size_error(n_in, out)
    floating = input.is_floating_point()
    if not floating and mode not in ("nearest", "nearest-exact"):
        raise NotImplementedError(f"\"upsample_{mode}\" not implemented for '{scalar_name(input)}': "
                                  "convert the input with .float() first")
    half = input.dtype if is_half(input._data.dtype) else None
    x = input.float() if half else input
    dt = np.float64 if x._data.dtype == np.float64 else np.float32
    for d in reversed(range(dim)):  # the last dim first, as PyTorch's separable passes
        taps = _taps(mode, n_in[d], out[d], scales[d], align_corners, antialias, dt, dim)
        if taps is not None:
            x = Resample.apply(x, d + 2, taps)
    if x is input:
        return input.clone()
    x = x.to(half) if half else x
    fmt = suggest_format(input._data)  # the input's format (the gathers keep a dense input's layout)
    return x if fmt is contiguous_format else x.contiguous(memory_format=fmt)


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """Deprecated alias of :func:`interpolate`."""
    warnings.warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` instead.",
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: ``interpolate(input, size, scale_factor, mode='nearest')``."""
    warnings.warn("`nn.functional.upsample_nearest` is deprecated. Use `nn.functional.interpolate` instead.",
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: ``interpolate(input, size, scale_factor, mode='bilinear', align_corners=True)``."""
    warnings.warn("`nn.functional.upsample_bilinear` is deprecated. Use `nn.functional.interpolate` instead.",
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ---- rearrangements ------------------------------------------------------------------------
def _check_factor(op: str, name: str, factor) -> None:
    if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)):
        raise TypeError(f"{op}(): argument '{name}' (position 2) must be int, not {type(factor).__name__}")
    if factor <= 0:
        raise RuntimeError(f"{op} expects a positive {name}, but got {factor}")


def _check_dims(op: str, input: Tensor) -> None:
    if input.ndim < 3:
        raise RuntimeError(f"{op} expects input to have at least 3 dimensions, but got input with "
                           f"{input.ndim} dimension(s)")


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """Rearrange (*, C * r^2, H, W) into (*, C, H * r, W * r): sub-pixel convolution's upsampling."""
    _check_dims("pixel_shuffle", input)
    _check_factor("pixel_shuffle", "upscale_factor", upscale_factor)
    *batch, c, h, w = input.shape
    r = upscale_factor
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the "
                           f"square of upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    k = len(batch)
    x = input.reshape(*batch, c // (r * r), r, r, h, w)
    x = x.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)  # (*, C, H, r, W, r)
    return x.reshape(*batch, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """Rearrange (*, C, H * r, W * r) into (*, C * r^2, H, W): the inverse of pixel_shuffle."""
    _check_dims("pixel_unshuffle", input)
    _check_factor("pixel_unshuffle", "downscale_factor", downscale_factor)
    *batch, c, h, w = input.shape
    r = downscale_factor
    for name, size, d in (("height", h, -2), ("width", w, -1)):
        if size % r:
            raise RuntimeError(f"pixel_unshuffle expects {name} to be divisible by downscale_factor, but "
                               f"input.size({d})={size} is not divisible by {r}")
    k = len(batch)
    x = input.reshape(*batch, c, h // r, r, w // r, r)
    x = x.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)  # (*, C, r, r, H, W)
    return x.reshape(*batch, c * r * r, h // r, w // r)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Interleave the channels of (N, C, *) across ``groups`` groups (ShuffleNet): channel
    g * (C / groups) + j moves to j * groups + g."""
    if input.ndim <= 2:
        raise RuntimeError(f"channel_shuffle expects input with > 2 dims, but got input with sizes "
                           f"{list(input.shape)}")
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)):
        raise TypeError(f"channel_shuffle(): argument 'groups' (position 2) must be int, not "
                        f"{type(groups).__name__}")
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of groups:{groups}")
    n, c, *rest = input.shape
    if c % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels and {groups} groups.")
    return input.reshape(n, groups, c // groups, *rest).transpose(1, 2).reshape(n, c, *rest)


TENSOR_METHODS: dict = {}
INPLACE: list = []
