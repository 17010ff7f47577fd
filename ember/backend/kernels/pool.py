"""Max and average pooling of 2x2 windows at stride 2 (the common ``MaxPool2d(2)``) over the
planes of (B, H, W) arrays (B = batch * channels), and their gradients. One thread per plane
(``prange``).

A window's taps are numbered row-major (tap t = 2 * i + j); ``kid`` holds the tap each window
picked, as ``ember.ops.window`` records it. Only this case is compiled: general windows
(padding, dilation, other sizes, overlaps) measured no faster as Numba loops than as
``window.py``'s whole-array passes per tap (bench/kernels.py), so they stay there.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

_JIT = dict(parallel=True, cache=True, fastmath=False, nogil=True)


@njit(**_JIT)
def max_pool_2x2(x, out, kid):
    """out = the max of each 2x2 window at stride 2 inside the plane, kid = its tap: the first
    maximum, or the last NaN (PyTorch's rule). The rule picks the later of two candidates where
    it is greater or NaN, which gives the same tap in any grouping that keeps the taps' order:
    the taps pair up as (0, 1) and (2, 3), then the pairs' winners (shorter chains of selects,
    no branch on the data)."""
    nb = x.shape[0]
    oh_n, ow_n = out.shape[1], out.shape[2]
    for b in prange(nb):
        xb, ob, kb = x[b], out[b], kid[b]
        for oh in range(oh_n):
            r0, r1, orow, krow = xb[2 * oh], xb[2 * oh + 1], ob[oh], kb[oh]
            for ow in range(ow_n):
                v0, v1, v2, v3 = r0[2 * ow], r0[2 * ow + 1], r1[2 * ow], r1[2 * ow + 1]
                t01 = (v1 > v0) | (v1 != v1)
                m01, k01 = (v1, 1) if t01 else (v0, 0)
                t23 = (v3 > v2) | (v3 != v3)
                m23, k23 = (v3, 3) if t23 else (v2, 2)
                t = (m23 > m01) | (m23 != m23)
                orow[ow] = m23 if t else m01
                krow[ow] = k23 if t else k01


@njit(**_JIT)
def max_pool_2x2_backward(g, kid, gi):
    """gi = each window's gradient at the input position of its picked tap, 0 at its other taps.
    The windows cover each input position at most once, so every covered one is written and
    ``gi`` needs zeros on entry only where the windows leave an odd last row or column."""
    nb, oh_n, ow_n = g.shape
    for b in prange(nb):
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
        gb, ib = g[b], gi[b]
        for oh in range(oh_n):
            r0, r1, grow = ib[2 * oh], ib[2 * oh + 1], gb[oh]
            for ow in range(ow_n):
                v = grow[ow] / d
                r0[2 * ow] = v
                r0[2 * ow + 1] = v
                r1[2 * ow] = v
                r1[2 * ow + 1] = v
