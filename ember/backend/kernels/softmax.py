"""Softmax and log-softmax gradients, one compiled pass per row instead of NumPy's four, and
attention's softmax in place (``softmax_rows``).

The gradient of log-softmax is ``g - exp(y) * sum(g)`` and that of softmax
``y * (g - sum(g * y))``, both along rows, from the forward's result ``y``. NumPy runs them
as an exp, a sum, a product and a difference, each a pass over the whole array. On a
word-level LSTM's (700, 10000) logits that took 11.6 ms on 2 cores, most of it NumPy's
float32 exp (1.6 ns an element on AVX2, against PyTorch's 3.9 ms for the whole gradient).
Here each row is read while in cache: its sum, then one loop that writes the result.

exp is computed in the loop (``vmath.exp32``), so that LLVM vectorizes it: a call to
NumPy's exp would stop that. Row sums are taken in float64 (``reassoc`` lets LLVM vectorize
them). Rows: 2-d arrays, split over the cores (``prange``: on the OpenMP pool oneDNN uses,
where Python threads beside it ran at half speed, 9.4 ms instead of 4.9).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import simd, vmath

_JIT = dict(parallel=True, cache=True, nogil=True, fastmath=False, error_model="numpy", boundscheck=False)
# fused multiply-adds in exp's polynomial (vmath.py): 6.3 ms instead of 7.8 for 7M elements
_EXP = dict(_JIT, fastmath={"contract"})
_BLOCK = 1 << 14  # elements a thread counts at a time


@njit(**_EXP)
def log_softmax_backward(g, y, out):
    """out = g - exp(y) * sum(g), row by row (float32), the rows split over the cores."""
    for i in prange(y.shape[0]):
        simd.wide()
        total = np.float32(vmath.sum64(g[i]))
        gi, yi, oi = g[i], y[i], out[i]
        for j in range(yi.shape[0]):
            oi[j] = gi[j] - vmath.exp32_nonpositive(yi[j]) * total  # y <= 0: a log-probability


@njit(**_EXP)
def log_softmax_pick_backward(y, picks, coef, out):
    """log_softmax_backward for a gradient that is zero but for coef[i] at column picks[i] of
    each row (an NLL loss's), without reading that gradient: its row sum is coef[i] (+0.0 for
    -0.0, as a sum of zeros gives), and the entries are those of zeros with coef added."""
    for i in prange(y.shape[0]):
        simd.wide()
        total = coef[i] + np.float32(0.0)
        yi, oi = y[i], out[i]
        for j in range(yi.shape[0]):
            oi[j] = np.float32(0.0) - vmath.exp32_nonpositive(yi[j]) * total
        t = picks[i]
        oi[t] = total - vmath.exp32_nonpositive(yi[t]) * total


@njit(**_JIT)
def softmax_backward(g, y, out):
    """out = y * (g - sum(g * y)), row by row (float32 or float64), the rows split over the cores."""
    for i in prange(y.shape[0]):
        simd.wide()
        gi, yi, oi = g[i], y[i], out[i]
        total = gi.dtype.type(vmath.dot64(gi, yi))
        for j in range(yi.shape[0]):
            oi[j] = yi[j] * (gi[j] - total)


@njit(**_EXP)
def softmax_rows(x, safe):
    """Each row of the 2-d float32 ``x`` replaced by its softmax, exp(x - max) / sum (the sum in
    float64), the rows split over the cores: attention's weights, rows as short as a sequence,
    where NumPy's five passes each cost more than the arithmetic. A row whose maximum is not
    finite, or that holds a NaN, comes out as NumPy's passes give it: NaN, or, with ``safe``,
    zeros for a row of -inf (every key masked). The exp, the sum and the division are separate
    loops, so that LLVM vectorizes the first and last (a float64 sum inside the exp's loop kept
    it scalar: 2.5 ns an element)."""
    for i in prange(x.shape[0]):
        simd.wide()
        row = x[i]
        top = row[0]
        for j in range(1, row.shape[0]):
            v = row[j]
            top = v if v > top else top  # NaN is skipped here and caught by the sum below
        if top == -np.inf and safe and not np.isnan(vmath.sum64(row)):
            row[:] = 0
            continue
        for j in range(row.shape[0]):
            row[j] = vmath.exp32_nonpositive(row[j] - top)  # NaN for NaN, and for +inf - +inf
        total = vmath.sum64(row)
        if not (total < np.inf):  # a NaN in the row, an infinite maximum, or a dead row (not safe)
            row[:] = np.nan
            continue
        t = np.float32(total)
        for j in range(row.shape[0]):
            row[j] = row[j] / t


@njit(**_JIT)
def count_nan_or_inf(x):
    """How many elements of the 1-d ``x`` are NaN or +inf (the inputs oneDNN's softmax
    mishandles), split over the cores: blocks counted apart, in loops LLVM vectorizes (one
    count over the whole array took 4.0 ms for 7M elements, this 2.6)."""
    n = x.shape[0]
    found = 0
    for b in prange((n + _BLOCK - 1) // _BLOCK):
        simd.wide()
        block = x[b * _BLOCK:min(n, (b + 1) * _BLOCK)]
        count = 0
        for j in range(block.shape[0]):
            count += not (block[j] < np.inf)
        found += count
    return found
