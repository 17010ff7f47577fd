"""Sliding windows read through their kernel's taps, and the primitives pooling is made of.

Tap t (row-major over the kernel) of every window reads the input along a strided slice
(an index array for adaptive windows), so each op loops over the taps (4 for a 2x2 kernel,
9 for 3x3), each step one whole-array NumPy operation, never over pixels; padding needs no
padded copy, as a tap leaves out the windows for which it falls in the padding. This is also
the fast path of the common non-overlapping kernels: on (128, 6, 28, 28) with a 2x2 kernel,
NumPy's max over the window axes of a (N, C, H/2, 2, W/2, 2) reshape took 13 ms where the
four taps take 0.2 ms (the mean 3.9 ms against 0.3 ms).

``MaxPool`` records which tap won each window (``kid``). Its gradient puts every output's
gradient at that tap's input position (``WindowScatter``), whose adjoint gathers the same
positions (``WindowGather``); without ``kid``, the gather sums every tap, and divided by the
window sizes that is average pooling. The two are each other's backward, so gradients of any
order work; each backward is tied (``math.tie``) to the input with derivative zero, so
double backward with respect to the input gives zeros, as in PyTorch.
"""
from __future__ import annotations

import itertools
import math
from functools import lru_cache

import numpy as np

from .._layout import NHWC, copy_ordered, in_dim_order, is_channels_last, laid_out, memory_order, preserve_format
from ..autograd.function import Function
from ..autograd.grad_mode import state
from ..backend import dtypes, kernels
from ..backend.compat import add_at, contiguous
from ..backend.device import xp_of
from .math import Relu, _zero_at_most, tie
from .reduce import acc_dtype


# ---- window geometry ---------------------------------------------------------------------
class Windows:
    """Where the windows of one pooling geometry read (built once per geometry, cached).

    ``taps`` lists ``(t, out_index, in_index)``: tap t of the windows ``out[out_index]``
    reads ``x[in_index]``; both indices start with Ellipsis, so any leading (batch, channel)
    dims work. ``pos[d][t, o]`` is the input position along spatial dim d of tap t of window o
    (possibly in the padding). With ``steps`` (the stride of a regular kernel) taps are
    slices; without (adaptive windows), index arrays.
    """

    def __init__(self, in_size: tuple, pos: list, steps: list | None):
        n = len(in_size)
        self.in_size = in_size
        self.out_size = tuple(p.shape[1] for p in pos)
        self.kernel = tuple(p.shape[0] for p in pos)
        per_dim, firsts = [], []
        self.disjoint = self.covers = True  # no input position read twice / every one read
        self.hollow = False  # some window reads no input position (dilated taps skip over it)
        for d, (p, size) in enumerate(zip(pos, in_size)):
            valid = (p >= 0) & (p < size)
            firsts.append(valid.argmax(0))
            self.hollow |= not valid.any(0).all()
            read = np.unique(p[valid])
            self.disjoint &= read.size == int(valid.sum())
            self.covers &= read.size == size
            taps = []
            for row, ok in zip(p, valid):
                if steps is None:  # shaped so the dims' index arrays broadcast to the output plane
                    taps.append((slice(None), row.reshape((-1,) + (1,) * (n - 1 - d))))
                    continue
                o = np.flatnonzero(ok)
                if o.size == 0:
                    taps.append(None)
                    continue
                lo, hi = int(o[0]), int(o[-1]) + 1
                taps.append((slice(lo, hi), slice(int(row[lo]), int(row[hi - 1]) + 1, steps[d])))
            per_dim.append(taps)
        self.taps = [(t, (Ellipsis,) + tuple(c[0] for c in combo), (Ellipsis,) + tuple(c[1] for c in combo))
                     for t, combo in enumerate(itertools.product(*per_dim)) if None not in combo]
        # Each window's first tap inside the input: where a window of -inf values points (PyTorch's rule).
        self.full = not any(f.any() for f in firsts)
        # one window over the whole plane (global pooling): one reduction instead of a tap loop
        self.whole = self.full and self.kernel == in_size and self.out_size == (1,) * n
        self.first = None if self.full else np.ravel_multi_index(np.meshgrid(*firsts, indexing="ij"), self.kernel)
        k = math.prod(self.kernel)
        self.kid_dtype = np.dtype(np.uint8 if k < 255 else np.uint16 if k < 65535 else np.int64)
        self._pos, self._table = pos, None
        self.pairs = False  # 2-d windows 2x2 at stride 2 inside the input (see ``regular``)

    def flat_indices(self, kid: np.ndarray, whole: bool = False) -> np.ndarray:
        """The position of the tap each window picked, in its flattened spatial plane (or, with
        ``whole``, in the whole flattened input)."""
        n, p, k = len(self.in_size), math.prod(self.out_size), math.prod(self.kernel)
        if self._table is None:  # table[o * k + t]: the flat position of tap t of window o
            table = 0
            for d, pos in enumerate(self._pos):  # summed as (out_0, ..., out_n-1, k_0, ..., k_n-1)
                shape = [1] * (2 * n)
                shape[d], shape[n + d] = pos.shape[1], pos.shape[0]
                table = table + (pos.T * math.prod(self.in_size[d + 1:])).reshape(shape)
            self._table = np.asarray(table, dtype=np.int64).reshape(-1)
        rows = kid.reshape(math.prod(kid.shape[:kid.ndim - n]), p).astype(np.int64)
        rows += np.arange(p, like=kid) * k
        flat = np.asarray(self._table, like=kid)[rows]
        if whole:
            flat += np.arange(rows.shape[0], like=kid)[:, None] * math.prod(self.in_size)
        return flat.reshape(kid.shape)


def out_len(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """The number of windows along one dim (kernel k, stride s, padding p, dilation d)."""
    out = (size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:  # the last window would start in the right padding
        out -= 1
    return out


@lru_cache(maxsize=128)
def regular(in_size: tuple, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple,
            ceil_mode: bool) -> Windows:
    """The windows of a sliding kernel (max and average pooling), by PyTorch's output size rule."""
    pos = [np.arange(out_len(n, k, s, p, d, ceil_mode))[None, :] * s + np.arange(k)[:, None] * d - p
           for n, k, s, p, d in zip(in_size, kernel, stride, padding, dilation)]
    win = Windows(in_size, pos, list(stride))
    win.pairs = (kernel == stride == (2, 2) and padding == (0, 0) and dilation == (1, 1)
                 and all(2 * o <= n for o, n in zip(win.out_size, in_size)))
    return win


def adaptive_bounds(size: int, out: int) -> tuple:
    """Start and end (exclusive) of each adaptive window along one dim."""
    i = np.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)


@lru_cache(maxsize=128)
def adaptive(in_size: tuple, out_size: tuple) -> Windows:
    """The windows of adaptive pooling: ``out_size`` windows of (nearly) equal size per dim."""
    pos = []
    for n, o in zip(in_size, out_size):
        start, end = adaptive_bounds(n, o)
        k = int((end - start).max()) if o else 1
        # taps past a short window repeat its last position: later in scan order, they never win
        pos.append(np.minimum(start[None, :] + np.arange(k)[:, None], end - 1))
    return Windows(in_size, pos, None)


@lru_cache(maxsize=128)
def avg_divisor(in_size: tuple, kernel: tuple, stride: tuple, padding: tuple, ceil_mode: bool,
                count_include_pad: bool):
    """Each average-pooling window's divisor: its size, clipped to the padded input (or, without
    count_include_pad, to the input); a number when all windows share it."""
    div = 1
    for n, k, s, p in zip(in_size, kernel, stride, padding):
        start = np.arange(out_len(n, k, s, p, 1, ceil_mode)) * s - p
        end = np.minimum(start + k, n + p)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, n)
        div = np.multiply.outer(div, end - start)
    return int(div.flat[0]) if np.all(div == div.flat[0]) else div


# ---- the primitives ----------------------------------------------------------------------
def _acc_dtype(dtype: np.dtype) -> np.dtype:
    """Window sums accumulate as reductions do (half types in float32), integers in int64."""
    return acc_dtype(dtype) if dtypes.is_floating_array(dtype) else np.dtype(np.int64)


# ---- compiled kernels (ember/backend/kernels/pool.py) -------------------------------------
# Pooling of 2x2 windows at stride 2 (``win.pairs``) of float32/float64 NumPy arrays runs there
# (max, and average with one divisor for all windows): one pass instead of several whole-array
# passes per tap (bench/kernels.py has the figures).
# Channels-last (N, C, H, W) arrays run the kernels' (N, H, W, C) forms on their row-major
# (N, H, W, C) views, and their results are channels-last.
def _compiled_pool(win: Windows, *arrays):
    """The pooling kernels where they cover the call, else None."""
    if not win.pairs:
        return None
    k = kernels.cpu()
    return k.pool if k is not None and kernels.usable(*arrays) else None


def _planes(a: np.ndarray, size: tuple) -> np.ndarray:
    """``a`` (..., *size) as contiguous (B, H, W) planes."""
    return np.ascontiguousarray(a).reshape((-1,) + size)


def _nhwc(a: np.ndarray) -> np.ndarray:
    """(N, C, H, W) ``a`` as a row-major (N, H, W, C) array: a view of a channels-last one."""
    return np.ascontiguousarray(a.transpose(NHWC))


def _nchw(a: np.ndarray) -> np.ndarray:
    """A (N, H, W, C) array seen as (N, C, H, W): channels-last."""
    return in_dim_order(a, NHWC)


def _new(like, shape: tuple, dtype, fill=None, order=None):
    """A new array of ``shape`` whose dims lie in memory in ``order`` (by default ``like``'s own
    order: a channels-last input gives channels-last windows), filled with ``fill`` unless None."""
    if order is None:
        order = memory_order(like, preserve_format) if like.ndim == len(shape) else tuple(range(len(shape)))
    xp = xp_of(like)
    make = (lambda s: xp.empty(s, dtype)) if fill is None else (lambda s: xp.full(s, fill, dtype))
    return laid_out(make, shape, tuple(order))


def _divisor(divisor, dtype) -> np.ndarray:
    """A window divisor (None: 1) for the kernels: one element of the array's dtype, so they
    divide in it as the taps' path does."""
    return np.array([1 if divisor is None else divisor], dtype=dtype)


def _window_max(x: np.ndarray, win: Windows, need_kid: bool, relu: bool = False):
    """The max of each window and, with ``need_kid``, the tap it came from: the first maximum in
    scan order, or the last NaN (PyTorch's rule). With ``relu`` (only where ``_compiled_pool``
    takes x, with ``need_kid``), those of ReLU's result (see the kernel)."""
    shape = x.shape[:x.ndim - len(win.in_size)] + win.out_size
    pool = _compiled_pool(win, x)
    if pool is not None and x.ndim == 4 and is_channels_last(x):
        x4 = _nhwc(x)
        out = np.empty((x4.shape[0],) + win.out_size + (x4.shape[3],), dtype=x.dtype)
        kid = np.empty(out.shape, dtype=win.kid_dtype) if need_kid else None
        with kernels.lock:
            if need_kid:
                pool.max_pool_2x2_nhwc(x4, out, kid, relu)
            else:
                pool.max_pool_2x2_nhwc_values(x4, out)
        return _nchw(out), None if kid is None else _nchw(kid)
    if pool is not None:
        x3 = _planes(x, win.in_size)
        out = np.empty((x3.shape[0],) + win.out_size, dtype=x.dtype)
        if not need_kid:
            with kernels.lock:
                pool.max_pool_2x2_values(x3, out)
            return out.reshape(shape), None
        kid = np.empty(out.shape, dtype=win.kid_dtype)
        with kernels.lock:
            pool.max_pool_2x2(x3, out, kid, relu)
        return out.reshape(shape), kid.reshape(shape)
    kdt = win.kid_dtype
    if win.whole:
        return _whole_max(x, shape, len(win.in_size), need_kid, kdt)
    taps = win.taps
    kid = None
    if win.full:
        out = _new(x, shape, x.dtype)
        out[...] = x[taps[0][2]]
        if need_kid:
            kid = _new(x, shape, kdt, 0)
        taps = taps[1:]
    else:
        low = -np.inf if dtypes.is_floating_array(x.dtype) else np.iinfo(x.dtype).min
        out = _new(x, shape, x.dtype, low)
        if need_kid:
            kid = _new(x, shape, kdt)
            kid[...] = np.asarray(win.first, like=x)
    for t, oi, ii in taps:
        best = out[oi]
        if kid is None:
            np.maximum(x[ii], best, out=best)  # a tie gives the second operand: the earlier tap's (-0.0)
            continue
        v = contiguous(x[ii])  # read twice: one strided copy beats two strided passes
        # Taps come in increasing order, so "tap t wins" is kid = max(kid, t * wins): no masked copy.
        k = kid[oi]
        np.maximum(k, (v > best) * kdt.type(t), out=k)
        np.maximum(best, v, out=best)
    if kid is not None and dtypes.is_floating_array(x.dtype) and np.isnan(out).any():
        last = np.zeros_like(kid)  # 1 + the last tap holding a NaN
        for t, oi, ii in win.taps:
            k = last[oi]
            np.maximum(k, np.isnan(x[ii]) * kdt.type(t + 1), out=k)
        kid = np.where(last > 0, last - 1, kid).astype(kdt)
    return out, kid


def _whole_max(x: np.ndarray, shape: tuple, n: int, need_kid: bool, kdt: np.dtype):
    """_window_max of one window covering the plane, whose tap t is the flat position t."""
    flat = x.reshape(shape[:-n] + (math.prod(x.shape[-n:]),))
    if not need_kid:
        return flat.max(-1).reshape(shape), None
    kid = flat.argmax(-1)[..., None]  # the first maximum, or the first NaN
    out = np.take_along_axis(flat, kid, -1)
    if dtypes.is_floating_array(flat.dtype) and np.isnan(out).any():
        last = flat.shape[-1] - 1 - np.isnan(flat[..., ::-1]).argmax(-1)[..., None]
        kid = np.where(np.isnan(out), last, kid)
    return out.reshape(shape), kid.astype(kdt).reshape(shape)


def _gather(x: np.ndarray, win: Windows, kid, divisor) -> np.ndarray:
    """Per window, the sum of its taps' inputs divided by ``divisor`` (integers divide
    truncating, as C does); with ``kid``, the input at the tap each window picked."""
    if kid is not None:
        return x.reshape(-1)[win.flat_indices(kid, whole=True)]
    lead = x.shape[:x.ndim - len(win.in_size)]
    pool = _compiled_pool(win, x) if np.ndim(divisor) == 0 else None
    if pool is not None and x.ndim == 4 and is_channels_last(x):
        x4 = _nhwc(x)
        out = np.empty((x4.shape[0],) + win.out_size + (x4.shape[3],), dtype=x.dtype)
        with kernels.lock:
            pool.avg_pool_2x2_nhwc(x4, out, _divisor(divisor, x.dtype))
        return _nchw(out)
    if pool is not None:
        x3 = _planes(x, win.in_size)
        out = np.empty((x3.shape[0],) + win.out_size, dtype=x.dtype)
        with kernels.lock:
            pool.avg_pool_2x2(x3, out, _divisor(divisor, x.dtype))
        return out.reshape(lead + win.out_size)
    acc = _acc_dtype(x.dtype)
    if win.whole:  # a product with ones runs in BLAS: 7x faster than NumPy's sum of 64-long rows
        plane = math.prod(win.in_size)
        flat = x.reshape(lead + (plane,)).astype(acc, copy=False)
        out = (flat @ xp_of(x).ones(plane, dtype=acc)).reshape(lead + win.out_size)
    else:
        out = _new(x, lead + win.out_size, acc, 0)
        for _, oi, ii in win.taps:
            o = out[oi]
            np.add(o, x[ii], out=o)
    if divisor is not None:
        div = np.asarray(divisor, dtype=out.dtype, like=x)
        if dtypes.is_floating_array(out.dtype):
            np.divide(out, div, out=out)
        else:
            out = np.trunc(out / div)
    return out.astype(x.dtype, copy=False)


def _scatter(g: np.ndarray, win: Windows, kid, divisor, order=None) -> np.ndarray:
    """The adjoint of ``_gather``: each window's value (divided by ``divisor``) added at the
    input positions of its taps, or with ``kid`` at the tap it picked. Without ``kid`` the
    windows are a regular kernel's (average pooling), whose taps are slices. ``order``: the
    result's dim order in memory (the pooled input's; None: ``g``'s)."""
    acc = _acc_dtype(g.dtype)
    shape = g.shape[:g.ndim - len(win.out_size)] + win.in_size
    row_major = order is None or order == tuple(range(len(shape)))
    # the kernels whenever they take g: their max pooling's taps may hold NO_TAP, which only they read
    pool = _compiled_pool(win, g) if kid is not None or np.ndim(divisor) == 0 else None
    covered = all(2 * o == n for o, n in zip(win.out_size, win.in_size))
    if pool is not None and order == NHWC:
        g4 = _nhwc(g)
        gi = (np.empty if covered else np.zeros)((g4.shape[0],) + win.in_size + (g4.shape[3],), dtype=g.dtype)
        with kernels.lock:
            if kid is not None:
                pool.max_pool_2x2_nhwc_backward(g4, _nhwc(kid), gi)
            else:
                pool.avg_pool_2x2_nhwc_backward(g4, gi, _divisor(divisor, g.dtype))
        return _nchw(gi)
    if pool is not None:
        g3 = _planes(g, win.out_size)
        gi = (np.empty if covered else np.zeros)((g3.shape[0],) + win.in_size, dtype=g.dtype)
        with kernels.lock:
            if kid is not None:
                pool.max_pool_2x2_backward(g3, _planes(kid, win.out_size), gi)
            else:
                pool.avg_pool_2x2_backward(g3, gi, _divisor(divisor, g.dtype))
        gi = gi.reshape(shape)
        return gi if row_major else copy_ordered(gi, order)
    if kid is not None:
        # One scatter-add of flat positions: 3-10x faster than a masked add per tap.
        gi = np.zeros(shape, dtype=g.dtype, like=g)  # row-major: flat positions index it
        add_at(gi.reshape(-1), win.flat_indices(kid, whole=True).reshape(-1), g.reshape(-1))
        return gi if row_major else copy_ordered(gi, order)
    g = g.astype(acc, copy=False)
    if divisor is not None:
        g = g / np.asarray(divisor, dtype=acc, like=g)
    if win.whole:
        gi = _new(g, shape, acc, order=order)
        gi[...] = g
        return gi
    # Where every input position is read by exactly one tap of one window, taps just assign.
    gi = _new(g, shape, acc, None if win.disjoint and win.covers else 0, order)
    for _, oi, ii in win.taps:
        if win.disjoint:
            gi[ii] = g[oi]
        else:
            s = gi[ii]
            np.add(s, g[oi], out=s)
    return gi


class MaxPool(Function):
    """Max over each window; the gradient goes to each window's first maximum. With ``relu``
    (see ``relu_max_pool``), over the windows of ``relu(x)`` instead, ReLU's gradient included."""

    @staticmethod
    def forward(ctx, x, win, return_indices, relu=False):
        out, kid = _window_max(x._data, win, ctx.needs_input_grad[0] or return_indices or relu, relu)
        ctx.win, ctx.kid, ctx.relu = win, kid, relu
        ctx.save_for_backward(x)
        if return_indices:
            return out, win.flat_indices(kid)
        return out

    @staticmethod
    def backward(ctx, grad, *_):
        x, = ctx.saved_tensors
        order = _order(x)
        if not ctx.relu:
            return tie(WindowScatter.apply(grad, ctx.win, ctx.kid, None, order), x), None, None, None
        if not state.enabled and _compiled_pool(ctx.win, grad._data) is not None:
            return WindowScatter.apply(grad, ctx.win, ctx.kid, None, order), None, None, None  # NO_TAP: zeros
        # the kernel's NO_TAP (4) read as tap 0, which eager's max pool picks among ReLU's equal
        # zeros; then ReLU's gradient, masked where relu(x) <= 0, that is where x <= 0
        kid = ctx.kid & 3
        scattered = WindowScatter.apply(grad, ctx.win, kid, None, order)
        return tie(_zero_at_most(scattered, x._data, 0), x), None, None, None


def _order(x) -> tuple:
    """The dim order of ``x``'s memory, which its gradient takes (channels-last stays so)."""
    return memory_order(x._data, preserve_format)


def relu_max_pool(x, win: Windows, node: type):
    """``node.apply(relu(x), win, False)`` (``node``: MaxPool's graph node of the call) in one
    pass forward and one backward, where the compiled kernels take x (``ember.compile``'s pairs);
    the two ops otherwise. Values and gradients are the two ops' bit for bit."""
    if _compiled_pool(win, x._data) is None:
        return node.apply(Relu.apply(x), win, False)
    return node.apply(x, win, False, True)


class WindowGather(Function):
    """Per window, the sum of its taps (the picked tap only, given ``kid``) / ``divisor``."""

    @staticmethod
    def forward(ctx, x, win, kid, divisor):
        ctx.win, ctx.kid, ctx.divisor = win, kid, divisor
        ctx.save_for_backward(x)
        return _gather(x._data, win, kid, divisor)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return tie(WindowScatter.apply(grad, ctx.win, ctx.kid, ctx.divisor, _order(x)), x), None, None, None


class WindowScatter(Function):
    """Each window's value / ``divisor`` added at its taps' input positions (the transpose of
    WindowGather: average pooling's and max pooling's gradient), laid out in ``order`` (the
    pooled input's dim order in memory)."""

    @staticmethod
    def forward(ctx, g, win, kid, divisor, order):
        ctx.win, ctx.kid, ctx.divisor = win, kid, divisor
        return _scatter(g._data, win, kid, divisor, order).astype(g._data.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        return WindowGather.apply(grad, ctx.win, ctx.kid, ctx.divisor), None, None, None, None
