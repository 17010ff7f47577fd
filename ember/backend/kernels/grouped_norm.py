"""Layer norm and group norm (``ops/norm.py``'s GroupedNorm) of float32 arrays, one pass per
row forward and backward, rows over the cores.

The input is seen as (rows, K * L): each row is normalized on its own (layer norm: one row
per token, L = 1; group norm: one row per sample and group of K channels, L their spatial
size), then scaled and shifted by a weight and bias per (group, channel). NumPy's path makes
six to eight whole-array passes each way (PyTorch was 4-5x faster on a transformer's
(2048, 128) and (8192, 512) layer norms); here a row stays in the cache while it is read for
its statistics and written normalized.

Statistics are float64 sums (``vmath.sum64``, ``dot64``) of the row and of its centred
values, so no row's sums overflow or lose its variance to underflow (the NumPy path rescales
such rows); the normalization itself is float32 in the NumPy path's order: (x - mean) *
rstd, times the weight, plus the bias. The backward pass also follows the NumPy path's
formula, dx = ((g w - mean(g w)) - xhat mean(g w xhat)) rstd with xhat = (x - mean) rstd,
its two row means in float64; the weight and bias gradients are float64 sums over the rows
(and spatial positions) of g xhat and g, per channel.

Tested against float64 and PyTorch in ``tests/backend/test_grouped_norm_kernels.py``.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from . import simd, vmath

_JIT = dict(parallel=True, cache=True, nogil=True, fastmath=False, error_model="numpy", boundscheck=False)
_SUM = dict(cache=True, nogil=True, fastmath={"reassoc"}, error_model="numpy", boundscheck=False)
_PARTS = 16  # runs of rows whose parameter gradients are summed apart (over the cores)


@njit(**_JIT)
def forward(x, weight, bias, groups, k, length, eps, y, mean, rstd):
    """y = ((x - mean) * rstd) * weight + bias per row of x (rows, k * length), weight and bias
    (groups * k,) or empty (none); writes each row's float32 mean and rstd."""
    rows, n = x.shape
    for r in prange(rows):
        simd.wide()
        row, out = x[r], y[r]
        m = np.float32(vmath.sum64(row) / n)
        s = np.float32(1.0 / math.sqrt(_centred_squares(row, m) / n + eps))
        mean[r], rstd[r] = m, s
        first = (r % groups) * k
        if weight.size and bias.size:  # the usual case: one loop
            if length == 1:
                w, b = weight[first:first + n], bias[first:first + n]
                for j in range(n):
                    out[j] = ((row[j] - m) * s) * w[j] + b[j]
            else:  # per channel, on slices: loops LLVM vectorizes (offset indices kept them scalar)
                for c in range(k):
                    w1, b1 = weight[first + c], bias[first + c]
                    part, into = row[c * length:(c + 1) * length], out[c * length:(c + 1) * length]
                    for t in range(length):
                        into[t] = ((part[t] - m) * s) * w1 + b1
            continue
        for j in range(n):
            out[j] = (row[j] - m) * s
        if not (weight.size or bias.size):
            continue
        if length == 1:  # a layer norm with a weight or a bias alone
            if weight.size:
                w = weight[first:first + n]
                for j in range(n):
                    out[j] = out[j] * w[j]
            else:
                b = bias[first:first + n]
                for j in range(n):
                    out[j] = out[j] + b[j]
            continue
        for c in range(k):
            w1 = weight[first + c] if weight.size else np.float32(1)
            b1 = bias[first + c] if bias.size else np.float32(0)
            into = out[c * length:(c + 1) * length]
            for t in range(length):
                v = into[t] * w1 if weight.size else into[t]
                into[t] = v + b1 if bias.size else v


@njit(**_SUM)
def _centred_squares(row, m):
    """sum((row - m)^2) in float64, each difference rounded to float32 first (the NumPy path's
    centred values)."""
    simd.wide()
    total = 0.0
    for j in range(row.shape[0]):
        d = np.float64(row[j] - m)
        total += d * d
    return total


@njit(**_SUM)
def _row_means(x, g, w, m, s):
    """(mean(dxhat), mean(dxhat * xhat)) of one row in float64, dxhat = g * w (w: the row's
    weights, or empty), xhat = (x - m) * s."""
    simd.wide()
    n = x.shape[0]
    first = second = 0.0
    for j in range(n):
        d = g[j] * w[j] if w.size else g[j]
        xhat = (x[j] - m) * s
        first += np.float64(d)
        second += np.float64(d) * np.float64(xhat)
    return first / n, second / n


@njit(**_SUM)
def _channel_sums(x, g, m, s):
    """(sum(g * xhat), sum(g)) over one channel's positions in float64, xhat = (x - m) * s."""
    simd.wide()
    sw = sb = 0.0
    for t in range(x.shape[0]):
        v = np.float64(g[t])
        sw += v * np.float64((x[t] - m) * s)
        sb += v
    return sw, sb


@njit(**_JIT)
def backward_input(x, g, weight, groups, k, length, mean, rstd, dx):
    """dx of each row (the NumPy path's formula and order) from the incoming gradient g."""
    rows, n = x.shape
    for r in prange(rows):
        simd.wide()
        row, grow, out = x[r], g[r], dx[r]
        m, s = mean[r], rstd[r]
        first = (r % groups) * k
        if length == 1 or not weight.size:  # the row's weights, one per element (or none)
            w = weight[first:first + n] if weight.size else weight
        else:
            w = np.empty(n, np.float32)
            for c in range(k):
                w[c * length:(c + 1) * length] = weight[first + c]
        mean_d, mean_dx = _row_means(row, grow, w, m, s)
        a, b = np.float32(mean_d), np.float32(mean_dx)
        for j in range(n):
            d = grow[j] * w[j] if weight.size else grow[j]
            xhat = (row[j] - m) * s
            out[j] = ((d - a) - xhat * b) * s


@njit(**_JIT)
def backward_params(x, g, groups, k, length, mean, rstd, dweight, dbias):
    """The weight's and bias's gradients (groups * k,): float64 sums of g * xhat and g over the
    rows and spatial positions, in _PARTS runs of rows summed over the cores, then added in
    order (the same bits on any number of cores); either output may be empty (not wanted)."""
    rows, n = x.shape
    channels = groups * k
    parts = min(rows, _PARTS)
    dw = np.zeros((parts, channels))
    db = np.zeros((parts, channels))
    for p in prange(parts):
        simd.wide()
        pw, pb = dw[p], db[p]
        for r in range(p * rows // parts, (p + 1) * rows // parts):
            first = (r % groups) * k
            m, s = mean[r], rstd[r]
            row, grow = x[r], g[r]
            if length == 1:  # a layer norm: one element per channel, loops LLVM vectorizes
                w, b = pw[first:first + k], pb[first:first + k]
                for c in range(k):
                    w[c] += np.float64(grow[c]) * np.float64((row[c] - m) * s)
                for c in range(k):
                    b[c] += grow[c]
                continue
            for c in range(k):
                sw, sb = _channel_sums(row[c * length:(c + 1) * length], grow[c * length:(c + 1) * length], m, s)
                pw[first + c] += sw
                pb[first + c] += sb
    for ch in range(channels):
        sw = sb = 0.0
        for p in range(parts):
            sw += dw[p, ch]
            sb += db[p, ch]
        if dweight.size:
            dweight[ch] = sw
        if dbias.size:
            dbias[ch] = sb
