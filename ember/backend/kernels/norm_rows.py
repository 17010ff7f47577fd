"""Batch normalization of channels-last arrays, seen as (N, L, C) (L = the spatial size): norm.py's
kernels for NHWC data seen as NCHW (``ember.channels_last``), without a copy to (N, C, L) and back.

The N * L rows are cut into blocks of whole rows, about _BLOCK elements each, taken over the cores
(``prange``). A block is read as a flat run of chunks of w elements, the fewest whole rows that make
_WIDTH (``_layout``): each position of a chunk holds one channel, so per-channel values are repeated
to the chunk's width (``_tile``) and every loop runs along contiguous elements, which LLVM vectorizes
whatever C is. (A loop over the C channels of each row ran 10x slower than norm.py for C = 3, and
its running sums, loaded and stored once a row, kept C = 16 a third slower.)

Statistics are float64 sums per chunk position, each one chain of adds in chunk order: nothing is
reassociated (fastmath stays off), so the vector width changes no bits and the fused ReLU's sums
equal the plain ones bit for bit. A block adds its positions' sums per channel (``_fold``), then the
blocks' sums are added in block order. Block and chunk sizes depend on C alone, never on the number
of threads: the results do not either.

Array expressions stay out of the kernels' own bodies, in the helpers (compiled without
``parallel``): in a parallel function Numba makes each a parallel loop of its own, with its start
and end (an ``ok &= written[b]`` over 64 blocks cost 0.15 ms).

Each kernel keeps the contract of norm.py's kernel of the same name without ``_rows``: the same
statistics and per-channel values rounded to x's dtype, the same ReLU rules and ``finite`` flags.
Against norm.py's kernels on (N, C, L) arrays (float32, 2 cores): level for (64, 32, 16, 16), 5-30%
faster for (64, 64, 8, 8); for (64, 16, 32, 32), 4 MB, the backward is level and the forward 3-9%
slower: it reads the whole array twice from the L3 cache, where norm.py reads each channel a second
time from L2 (blocks taken in reverse for the second pass gained nothing measurable).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import simd

_JIT = dict(parallel=True, cache=True, nogil=True, fastmath=False, error_model="numpy", boundscheck=False)
_ROW = dict(cache=True, nogil=True, fastmath=False, error_model="numpy", boundscheck=False)
_INLINE = dict(_ROW, inline="always")
_WIDTH = 256        # elements a chunk takes at least: its running sums stay in the L1 cache
_BLOCK = 1 << 14    # elements a block takes at least, in whole chunks


@njit(**_ROW)
def _layout(c):
    """(the elements of a chunk, the rows of a block) for rows of ``c`` channels: a chunk is the
    fewest whole rows that make _WIDTH elements, a block the fewest whole chunks that make _BLOCK."""
    w = (_WIDTH + c - 1) // c * c
    return w, (_BLOCK + w - 1) // w * (w // c)


@njit(**_ROW)
def _tile(v, w):
    """v repeated to w elements (w a multiple of its size): its values at each chunk position."""
    out = np.empty(w, v.dtype)
    for j in range(w):
        out[j] = v[j % v.shape[0]]
    return out


@njit(**_ROW)
def _fold(acc, out):
    """out[ch] = acc[ch] + acc[c + ch] + ... in that order (c = out's size): a chunk position's
    sums added per channel."""
    c = out.shape[0]
    out[:] = acc[:c]
    for p in range(c, acc.shape[0], c):
        out += acc[p:p + c]


@njit(**_ROW)
def _in_block_order(part):
    """part[0] + part[1] + ... (the float64 sums of each block), in that order."""
    total = part[0].copy()
    for b in range(1, part.shape[0]):
        total += part[b]
    return total


@njit(**_ROW)
def _all_blocks(written, ok):
    """ok &= what each block found (blocks, C), per channel."""
    for b in range(written.shape[0]):
        ok &= written[b]


@njit(**_INLINE)
def _affine(x, shift, scale, offset):
    return (x - shift) * scale + offset


@njit(**_INLINE)
def _masked(g, y):
    """g in float64 where not y <= 0 (NaN y passes), else 0: the gradient through ReLU's y."""
    return np.float64(g) if not (y <= 0) else 0.0


@njit(**_INLINE)
def _dx(g, x, m, ca, cb, cc):
    return g * ca - (x - m) * cb - cc


@njit(**_ROW)
def _sums(x, w, s):
    """s = per channel the float64 sum of x, a block's run of rows (s of C elements), by chunks
    of w elements."""
    simd.wide()
    acc = np.zeros(w)
    for lo in range(0, x.shape[0], w):
        xc = x[lo:lo + w]
        for j in range(xc.shape[0]):
            acc[j] += np.float64(xc[j])
    _fold(acc, s)


@njit(**_ROW)
def _shifted_sums(x, k, s1, s2):
    """As _sums, of x - k and of its squares (k float64, tiled to the chunk's width). Chunks are
    taken two at a time, their values added before the running sums (half the loads and stores
    of those: 12% faster)."""
    simd.wide()
    w = k.shape[0]
    acc = np.zeros((2, w))
    a1 = acc[0]
    a2 = acc[1]
    n = x.shape[0]
    pairs = n // (2 * w) * (2 * w)
    for lo in range(0, pairs, 2 * w):
        xa = x[lo:lo + w]
        xb = x[lo + w:lo + 2 * w]
        for j in range(w):
            d = xa[j] - k[j]
            e = xb[j] - k[j]
            a1[j] += d + e
            a2[j] += d * d + e * e
    for lo in range(pairs, n, w):  # the last one or two chunks
        xc = x[lo:lo + w]
        for j in range(xc.shape[0]):
            d = xc[j] - k[j]
            a1[j] += d
            a2[j] += d * d
    _fold(a1, s1)
    _fold(a2, s2)


@njit(**_ROW)
def _normalize(x, shift, scale, offset, relu, y, ok):
    """y = (x - shift) * scale + offset (then ReLU's, with ``relu``) of a block's run of rows, the
    per-channel values tiled; ok[ch]: whether all of channel ch's results are finite. One flag for
    the whole block in the loop (a reduction LLVM vectorizes): the channels are told apart only
    where it fails (from the values recomputed: ReLU's result hides a -inf), which makes the
    caller's NumPy path run anyway."""
    simd.wide()
    zero = y.dtype.type(0)
    w = shift.shape[0]
    fine = True
    for lo in range(0, x.shape[0], w):
        xc = x[lo:lo + w]
        yc = y[lo:lo + w]
        for j in range(xc.shape[0]):
            out = _affine(xc[j], shift[j], scale[j], offset[j])
            fine &= abs(out) < np.inf
            yc[j] = zero if relu and out < zero else out
    ok[:] = True
    if not fine:
        c = ok.shape[0]
        for lo in range(0, x.shape[0], c):
            for ch in range(c):
                ok[ch] &= abs(_affine(x[lo + ch], shift[ch], scale[ch], offset[ch])) < np.inf


@njit(**_ROW)
def _grad_sums(g, x, m, relu, y, s1, s2):
    """As _shifted_sums, of g and of g * (x - m), x - m in x's dtype (m is; tiled); with ``relu`` g
    counts only where not y <= 0 (NaN y passes)."""
    simd.wide()
    w = m.shape[0]
    acc = np.zeros((2, w))
    a1 = acc[0]
    a2 = acc[1]
    n = x.shape[0]
    pairs = n // (2 * w) * (2 * w)
    for lo in range(0, pairs, 2 * w):
        ga = g[lo:lo + w]
        gb = g[lo + w:lo + 2 * w]
        xa = x[lo:lo + w]
        xb = x[lo + w:lo + 2 * w]
        if relu:
            ya = y[lo:lo + w]
            yb = y[lo + w:lo + 2 * w]
            for j in range(w):
                u = _masked(ga[j], ya[j])
                v = _masked(gb[j], yb[j])
                a1[j] += u + v
                a2[j] += u * (xa[j] - m[j]) + v * (xb[j] - m[j])
        else:
            for j in range(w):
                u = np.float64(ga[j])
                v = np.float64(gb[j])
                a1[j] += u + v
                a2[j] += u * (xa[j] - m[j]) + v * (xb[j] - m[j])
    for lo in range(pairs, n, w):  # the last one or two chunks
        gc = g[lo:lo + w]
        xc = x[lo:lo + w]
        if relu:
            yc = y[lo:lo + w]
            for j in range(xc.shape[0]):
                u = _masked(gc[j], yc[j])
                a1[j] += u
                a2[j] += u * (xc[j] - m[j])
        else:
            for j in range(xc.shape[0]):
                u = np.float64(gc[j])
                a1[j] += u
                a2[j] += u * (xc[j] - m[j])
    _fold(a1, s1)
    _fold(a2, s2)


@njit(**_ROW)
def _grad_input(g, x, m, ca, cb, cc, relu, y, dx, ok):
    """dx = g * ca - (x - m) * cb - cc (g 0 where y <= 0, with ``relu``), tiled coefficients; ok as
    in _normalize."""
    simd.wide()
    zero = dx.dtype.type(0)
    w = m.shape[0]
    fine = True
    for lo in range(0, x.shape[0], w):
        gc = g[lo:lo + w]
        xc = x[lo:lo + w]
        dc = dx[lo:lo + w]
        if relu:
            yc = y[lo:lo + w]
            for j in range(xc.shape[0]):
                out = _dx(gc[j] if not (yc[j] <= zero) else zero, xc[j], m[j], ca[j], cb[j], cc[j])
                dc[j] = out
                fine &= abs(out) < np.inf
        else:
            for j in range(xc.shape[0]):
                out = _dx(gc[j], xc[j], m[j], ca[j], cb[j], cc[j])
                dc[j] = out
                fine &= abs(out) < np.inf
    ok[:] = True
    if not fine:
        c = ok.shape[0]
        for lo in range(0, x.shape[0], c):
            for ch in range(c):
                ok[ch] &= abs(dx[lo + ch]) < np.inf


@njit(**_JIT)
def batch_norm_train_rows(x, weight, bias, eps, one_pass, relu, y, shift, var, rstd, offset, finite):
    """norm.batch_norm_train of x and y (N, L, C): the same statistics, rounding and outputs. With
    ``one_pass`` k is the mean of the channel over the first sample (its L rows), as there."""
    n, l, c = x.shape
    rows = n * l
    xf = x.reshape(-1)
    yf = y.reshape(-1)
    w, step = _layout(c)
    # the shift k of the sums below: one_pass's first estimate of the mean, else the mean itself
    first = l if one_pass else rows
    blocks = (first + step - 1) // step
    part = np.empty((blocks, c))
    if blocks == 1:  # (a first sample, usually) here: starting the threads would cost more
        _sums(xf[:first * c], w, part[0])
    else:
        for b in prange(blocks):
            simd.wide()
            _sums(xf[b * step * c:min(first, (b + 1) * step) * c], w, part[b])
    k = _in_block_order(part)
    for ch in range(c):
        k[ch] /= first
    blocks = (rows + step - 1) // step
    part = np.empty((blocks, 2, c))
    kw = _tile(k, w)
    for b in prange(blocks):
        simd.wide()
        _shifted_sums(xf[b * step * c:min(rows, (b + 1) * step) * c], kw, part[b, 0], part[b, 1])
    s1, s2 = _in_block_order(part)
    scale = np.empty_like(rstd)
    ok = np.empty(c, np.bool_)
    for ch in range(c):
        if one_pass:
            m = k[ch] + s1[ch] / rows
            v = max((s2[ch] - s1[ch] * s1[ch] / rows) / rows, 0.0)
        else:  # two passes: squares about the mean
            m = k[ch]
            v = s2[ch] / rows
        shift[ch] = m
        var[ch] = v
        rstd[ch] = 1.0 / np.sqrt(v + eps)
        mt = shift[ch]
        scale[ch] = rstd[ch] * weight[ch]
        offset[ch] = bias[ch] - (m - mt) * scale[ch]
        ok[ch] = np.isfinite(mt) and np.isfinite(var[ch]) and np.isfinite(scale[ch]) and np.isfinite(offset[ch])
    shift_w, scale_w, offset_w = _tile(shift, w), _tile(scale, w), _tile(offset, w)
    written = np.empty((blocks, c), np.bool_)
    for b in prange(blocks):
        simd.wide()
        lo = b * step * c
        hi = min(rows, (b + 1) * step) * c
        _normalize(xf[lo:hi], shift_w, scale_w, offset_w, relu, yf[lo:hi], written[b])
    _all_blocks(written, ok)
    for ch in range(c):
        finite[ch] = ok[ch]


@njit(**_JIT)
def batch_norm_train_backward_rows(g, x, shift, rstd, weight, need_dx, relu, y, dx, sum_g, sum_gxc, coef,
                                   finite):
    """norm.batch_norm_train_backward of g, x, y and dx (N, L, C): the same sums, coefficients
    (rounded to x's dtype in ``coef``, (C, 3)), ReLU rule and gradient."""
    n, l, c = x.shape
    rows = n * l
    gf = g.reshape(-1)
    xf = x.reshape(-1)
    yf = y.reshape(-1)
    w, step = _layout(c)
    blocks = (rows + step - 1) // step
    part = np.empty((blocks, 2, c))
    m = _tile(shift, w)
    for b in prange(blocks):
        simd.wide()
        lo = b * step * c
        hi = min(rows, (b + 1) * step) * c
        _grad_sums(gf[lo:hi], xf[lo:hi], m, relu, yf[lo:hi], part[b, 0], part[b, 1])
    sg, sgx = _in_block_order(part)
    ok = np.empty(c, np.bool_)
    for ch in range(c):
        sum_g[ch] = sg[ch]
        sum_gxc[ch] = sgx[ch]
        ok[ch] = np.isfinite(sum_g[ch]) and np.isfinite(sum_gxc[ch])
        if need_dx:
            r = rstd[ch]
            a = r * weight[ch]
            coef[ch, 0] = a
            coef[ch, 1] = a * r * r * sgx[ch] / rows
            coef[ch, 2] = a * sg[ch] / rows
            ok[ch] = ok[ch] and np.isfinite(coef[ch, 1]) and np.isfinite(coef[ch, 2])
    if need_dx:
        ca, cb, cc = _tile(coef[:, 0], w), _tile(coef[:, 1], w), _tile(coef[:, 2], w)
        df = dx.reshape(-1)
        written = np.empty((blocks, c), np.bool_)
        for b in prange(blocks):
            simd.wide()
            lo = b * step * c
            hi = min(rows, (b + 1) * step) * c
            _grad_input(gf[lo:hi], xf[lo:hi], m, ca, cb, cc, relu, yf[lo:hi], df[lo:hi], written[b])
        _all_blocks(written, ok)
    for ch in range(c):
        finite[ch] = ok[ch]


@njit(**_JIT)
def channel_affine_rows(x, scale, shift, y):
    """y = x * scale + shift per channel of x and y (N, L, C) (evaluation-mode batch norm, folded)."""
    c = x.shape[2]
    xf = x.reshape(-1)
    yf = y.reshape(-1)
    w, step = _layout(c)
    step *= c  # elements a block takes
    scale_w, shift_w = _tile(scale, w), _tile(shift, w)
    for b in prange((xf.shape[0] + step - 1) // step):
        simd.wide()
        xb = xf[b * step:(b + 1) * step]
        yb = yf[b * step:(b + 1) * step]
        for lo in range(0, xb.shape[0], w):
            xc = xb[lo:lo + w]
            yc = yb[lo:lo + w]
            for j in range(xc.shape[0]):
                yc[j] = xc[j] * scale_w[j] + shift_w[j]
