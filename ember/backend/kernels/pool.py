"""Max and average pooling of 2x2 windows at stride 2 (the common ``MaxPool2d(2)``) over the
planes of (B, H, W) arrays (B = batch * channels), and their gradients, one thread per plane
(``prange``); and the same of channels-last (N, H, W, C) arrays (``*_nhwc``), one thread per
row of windows, the channels of a window a vector.

A window's taps are numbered row-major (tap t = 2 * i + j); ``kid`` holds the tap each window
picked, as ``ember.ops.window`` records it. Only this case is compiled: general windows
(padding, dilation, other sizes, overlaps) measured no faster as Numba loops than as
``window.py``'s whole-array passes per tap (bench/kernels.py), so they stay there.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import simd

_JIT = dict(parallel=True, cache=True, fastmath=False, nogil=True)
_INNER = dict(cache=True, fastmath=False, nogil=True)
_0, _1, _2, _3 = (np.int32(t) for t in range(4))  # taps as int32: 14% faster than Python's 64-bit ints
NO_TAP = np.int32(4)  # a window that passes no gradient (max_pool_2x2 with relu); kid & 3 reads it as tap 0


@njit(inline="always", **_INNER)
def _max4(v0, v1, v2, v3):
    """The max of a window's taps: the first maximum, or the last NaN (PyTorch's rule). The
    rule picks the later of two candidates where it is greater or NaN, which gives the same
    tap in any grouping that keeps the taps' order: the taps pair up as (0, 1) and (2, 3),
    then the pairs' winners (selects only, which LLVM vectorizes)."""
    m01 = v1 if (v1 > v0) | (v1 != v1) else v0
    m23 = v3 if (v3 > v2) | (v3 != v3) else v2
    return m23 if (m23 > m01) | (m23 != m23) else m01


@njit(inline="always", **_INNER)
def _tap4(v0, v1, v2, v3, m):
    """The tap ``_max4`` picked for maximum ``m``: the first equal to it or, where it is NaN,
    the last NaN."""
    k = _3  # selects first, then the rare NaN's branch: LLVM vectorizes the loop around it
    k = _2 if v2 == m else k
    k = _1 if v1 == m else k
    k = _0 if v0 == m else k
    if m != m:
        k = _3 if v3 != v3 else (_2 if v2 != v2 else (_1 if v1 != v1 else _0))
    return k


@njit(inline="always", **_INNER)
def _max_row(r0, r1, orow):
    """orow = the max of each 2x2 window of the row pair (r0, r1)."""
    for ow in range(orow.shape[0]):
        orow[ow] = _max4(r0[2 * ow], r0[2 * ow + 1], r1[2 * ow], r1[2 * ow + 1])


@njit(**_JIT)
def max_pool_2x2_values(x, out):
    """out = the max of each 2x2 window at stride 2 inside the plane (no taps: inference)."""
    for b in prange(x.shape[0]):
        simd.wide()
        xb, ob = x[b], out[b]
        for oh in range(ob.shape[0]):
            _max_row(xb[2 * oh], xb[2 * oh + 1], ob[oh])


@njit(**_JIT)
def max_pool_2x2(x, out, kid, relu):
    """out = the max of each 2x2 window at stride 2 inside the plane, kid = its tap. Each row
    of windows takes two loops: the maxima (``_max_row``), then the tap of each, the first one
    equal to the maximum, or where the maximum is NaN the last NaN, which is the tap the
    maxima's rule picked. One loop computing both ran 3x slower: LLVM did not vectorize it.

    With ``relu``, the windows of ReLU's result, ``max(0, x)`` (-0.0 kept), without making it:
    a window holding a positive value or a NaN has the same maximum and tap; one holding
    neither is ReLU's zero of its first tap (the first of equal maxima), and its tap is
    ``NO_TAP``, as ReLU's gradient is 0 there."""
    for b in prange(x.shape[0]):
        simd.wide()
        xb, ob, kb = x[b], out[b], kid[b]
        for oh in range(ob.shape[0]):
            r0, r1, orow, krow = xb[2 * oh], xb[2 * oh + 1], ob[oh], kb[oh]
            _max_row(r0, r1, orow)
            for ow in range(orow.shape[0]):
                v0, v1, v2, v3, m = r0[2 * ow], r0[2 * ow + 1], r1[2 * ow], r1[2 * ow + 1], orow[ow]
                k = _tap4(v0, v1, v2, v3, m)
                if relu and not (m > 0 or m != m):
                    orow[ow] = v0 if v0 == 0 else 0.0
                    k = NO_TAP
                krow[ow] = k


@njit(**_JIT)
def max_pool_2x2_backward(g, kid, gi):
    """gi = each window's gradient at the input position of its picked tap, 0 at its other taps
    (at all four for ``NO_TAP``).
    The windows cover each input position at most once, so every covered one is written and
    ``gi`` needs zeros on entry only where the windows leave an odd last row or column."""
    nb, oh_n, ow_n = g.shape
    for b in prange(nb):
        simd.wide()
        gb, kb, ib = g[b], kid[b], gi[b]
        for oh in range(oh_n):
            r0, r1, grow, krow = ib[2 * oh], ib[2 * oh + 1], gb[oh], kb[oh]
            for ow in range(ow_n):
                v, t = grow[ow], krow[ow]
                r0[2 * ow] = v if t == 0 else 0.0
                r0[2 * ow + 1] = v if t == 1 else 0.0
                r1[2 * ow] = v if t == 2 else 0.0
                r1[2 * ow + 1] = v if t == 3 else 0.0


@njit(**_JIT)
def avg_pool_2x2(x, out, div):
    """out = the sum of each 2x2 window at stride 2 inside the plane / div[0], in x's dtype and
    in the taps' order, as ``window.py``'s taps add them."""
    nb = x.shape[0]
    oh_n, ow_n = out.shape[1], out.shape[2]
    d = div[0]
    for b in prange(nb):
        simd.wide()
        xb, ob = x[b], out[b]
        for oh in range(oh_n):
            r0, r1, orow = xb[2 * oh], xb[2 * oh + 1], ob[oh]
            for ow in range(ow_n):
                orow[ow] = (((r0[2 * ow] + r0[2 * ow + 1]) + r1[2 * ow]) + r1[2 * ow + 1]) / d


@njit(**_JIT)
def avg_pool_2x2_backward(g, gi, div):
    """gi = each window's gradient / div[0] at its four taps (zeros on entry only where the
    windows leave an odd last row or column)."""
    nb, oh_n, ow_n = g.shape
    d = div[0]
    for b in prange(nb):
        simd.wide()
        gb, ib = g[b], gi[b]
        for oh in range(oh_n):
            r0, r1, grow = ib[2 * oh], ib[2 * oh + 1], gb[oh]
            for ow in range(ow_n):
                v = grow[ow] / d
                r0[2 * ow] = v
                r0[2 * ow + 1] = v
                r1[2 * ow] = v
                r1[2 * ow + 1] = v


# The (N, H, W, C) kernels index the arrays whole ([b, h, w, ch]): slicing a window's taps
# into 1-D views per window cost more than the loop (a max pool's backward on (16, 16, 16, 32)
# took 0.47 ms that way, 0.048 indexed; the other kernels gained up to 25%).
@njit(**_JIT)
def max_pool_2x2_nhwc_values(x, out):
    """``max_pool_2x2_values`` of (N, H, W, C) arrays."""
    n, oh_n, ow_n, c = out.shape
    for r in prange(n * oh_n):
        simd.wide()
        b, oh = r // oh_n, r % oh_n
        h0, h1 = 2 * oh, 2 * oh + 1
        for ow in range(ow_n):
            w0, w1 = 2 * ow, 2 * ow + 1
            for ch in range(c):
                out[b, oh, ow, ch] = _max4(x[b, h0, w0, ch], x[b, h0, w1, ch], x[b, h1, w0, ch], x[b, h1, w1, ch])


@njit(**_JIT)
def max_pool_2x2_nhwc(x, out, kid, relu):
    """``max_pool_2x2`` of (N, H, W, C) arrays: per window, the maxima of its channels in one
    loop, then their taps in a second (as there, one loop for both would not vectorize)."""
    n, oh_n, ow_n, c = out.shape
    for r in prange(n * oh_n):
        simd.wide()
        b, oh = r // oh_n, r % oh_n
        h0, h1 = 2 * oh, 2 * oh + 1
        for ow in range(ow_n):
            w0, w1 = 2 * ow, 2 * ow + 1
            for ch in range(c):
                out[b, oh, ow, ch] = _max4(x[b, h0, w0, ch], x[b, h0, w1, ch], x[b, h1, w0, ch], x[b, h1, w1, ch])
            for ch in range(c):
                v0, m = x[b, h0, w0, ch], out[b, oh, ow, ch]
                t = _tap4(v0, x[b, h0, w1, ch], x[b, h1, w0, ch], x[b, h1, w1, ch], m)
                if relu and not (m > 0 or m != m):
                    out[b, oh, ow, ch] = v0 if v0 == 0 else 0.0
                    t = NO_TAP
                kid[b, oh, ow, ch] = t


@njit(**_JIT)
def max_pool_2x2_nhwc_backward(g, kid, gi):
    """``max_pool_2x2_backward`` of (N, H, W, C) arrays."""
    n, oh_n, ow_n, c = g.shape
    for r in prange(n * oh_n):
        simd.wide()
        b, oh = r // oh_n, r % oh_n
        h0, h1 = 2 * oh, 2 * oh + 1
        for ow in range(ow_n):
            w0, w1 = 2 * ow, 2 * ow + 1
            for ch in range(c):
                v, t = g[b, oh, ow, ch], kid[b, oh, ow, ch]
                gi[b, h0, w0, ch] = v if t == 0 else 0.0
                gi[b, h0, w1, ch] = v if t == 1 else 0.0
                gi[b, h1, w0, ch] = v if t == 2 else 0.0
                gi[b, h1, w1, ch] = v if t == 3 else 0.0


@njit(**_JIT)
def avg_pool_2x2_nhwc(x, out, div):
    """``avg_pool_2x2`` of (N, H, W, C) arrays."""
    n, oh_n, ow_n, c = out.shape
    d = div[0]
    for r in prange(n * oh_n):
        simd.wide()
        b, oh = r // oh_n, r % oh_n
        h0, h1 = 2 * oh, 2 * oh + 1
        for ow in range(ow_n):
            w0, w1 = 2 * ow, 2 * ow + 1
            for ch in range(c):
                out[b, oh, ow, ch] = (((x[b, h0, w0, ch] + x[b, h0, w1, ch]) + x[b, h1, w0, ch]) + x[b, h1, w1, ch]) / d


@njit(**_JIT)
def avg_pool_2x2_nhwc_backward(g, gi, div):
    """``avg_pool_2x2_backward`` of (N, H, W, C) arrays."""
    n, oh_n, ow_n, c = g.shape
    d = div[0]
    for r in prange(n * oh_n):
        simd.wide()
        b, oh = r // oh_n, r % oh_n
        h0, h1 = 2 * oh, 2 * oh + 1
        for ow in range(ow_n):
            w0, w1 = 2 * ow, 2 * ow + 1
            for ch in range(c):
                v = g[b, oh, ow, ch] / d
                gi[b, h0, w0, ch] = v
                gi[b, h0, w1, ch] = v
                gi[b, h1, w0, ch] = v
                gi[b, h1, w1, ch] = v
