"""Cross-entropy of (rows, classes) logits: small ones in two loops around one NumPy exp, wide
float32 ones (a language model's vocabulary) in one parallel loop over the rows.

NumPy computes a classifier's loss as a dozen array calls (row maxima, shift, exp, row sums,
log, a gather, the one-hot subtraction, the counts), each costing about a microsecond more
than its work on a batch of 128 rows of 10 classes. Here the row maxima and the shift are one
loop, NumPy's vectorized exp runs between the two kernels, and the sums, the loss, the
softmax and the one-hot subtraction are another loop. The loops are not vectorized (the row
maximum keeps NaN, the sum adds in order), so wide rows stay on the NumPy path
(``ops/loss.py``). Sums and logs are taken in float64.

Wide float32 rows (``cross_entropy_wide``) take one row per iteration of a ``prange`` over
the cores (the OpenMP pool oneDNN uses): the row's maximum, exp (``vmath.exp32``, which
LLVM vectorizes), the float64 sum, the loss and the softmax minus one-hot, while the row is
in cache. On (700, 10000) logits the loss took 11.7 ms through NumPy's passes (its float32
exp runs at 1.6 ns an element on AVX2) against PyTorch's 5.7. ``scale_rows`` is the
backward's one multiplication.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import simd, vmath

_JIT = dict(cache=True, nogil=True, fastmath=False, error_model="numpy", boundscheck=False)


@njit(**_JIT)
def _row_max(row):
    """max(row), NaN if the row holds one: four running maxima (independent chains), and a
    count of NaNs (vectorized) instead of a test in the loop."""
    simd.wide()
    n = row.shape[0]
    m0 = m1 = m2 = m3 = row[0]
    nans = 0
    k = n - n % 4
    for j in range(0, k, 4):
        a, b, c, d = row[j], row[j + 1], row[j + 2], row[j + 3]
        m0 = a if a > m0 else m0
        m1 = b if b > m1 else m1
        m2 = c if c > m2 else m2
        m3 = d if d > m3 else m3
        nans += (a != a) + (b != b) + (c != c) + (d != d)
    for j in range(k, n):
        v = row[j]
        m0 = v if v > m0 else m0
        nans += v != v
    m0 = m1 if m1 > m0 else m0
    m2 = m3 if m3 > m2 else m2
    m0 = m2 if m2 > m0 else m0
    return row.dtype.type(np.nan) if nans else m0


@njit(**_JIT)
def shift_rows(x, shifted, top):
    """top[r] = max of row r of x (NaN if it holds one); shifted[r] = x[r] - top[r]."""
    simd.wide()
    rows, classes = x.shape
    for r in range(rows):
        m = _row_max(x[r])
        top[r] = m
        for c in range(classes):
            shifted[r, c] = x[r, c] - m


@njit(**_JIT)
def cross_entropy_rows(x, e, top, target, ignore_index, loss, softmax_too):
    """From ``e`` = exp(x - top): loss[r] = log(sum e[r]) - (x[r, t] - top[r]) for the target t
    of row r (0 where t is ``ignore_index``); with ``softmax_too``, e[r] becomes softmax(x[r])
    minus the one-hot of t (t not ignored). Returns the number of rows not ignored. Targets
    must be in range (checked by the caller)."""
    simd.wide()
    rows, classes = x.shape
    count = 0
    for r in range(rows):
        total = 0.0
        for c in range(classes):
            total += e[r, c]
        t = target[r]
        if t == ignore_index:
            loss[r] = 0
        else:
            count += 1
            loss[r] = np.log(total) - (x[r, t] - top[r])
        if softmax_too:
            for c in range(classes):
                e[r, c] = e[r, c] / total
            if t != ignore_index:
                e[r, t] -= 1
    return count


_WIDE = dict(parallel=True, cache=True, nogil=True, fastmath={"contract"}, error_model="numpy", boundscheck=False)


@njit(**_WIDE)
def cross_entropy_wide(x, target, ignore_index, loss, e, softmax_too):
    """As ``cross_entropy_rows`` for float32 logits, from the logits alone: e[r] = exp(x[r] -
    max) (then softmax minus one-hot with ``softmax_too``), loss[r] at the row's target (0
    where ignored), the rows split over the cores. Returns the number of rows not ignored.
    Targets in range (checked by the caller)."""
    count = 0
    for r in prange(x.shape[0]):
        simd.wide()
        xr, er = x[r], e[r]
        top = _row_max(xr)
        for j in range(xr.shape[0]):
            er[j] = vmath.exp32_nonpositive(xr[j] - top)
        total = vmath.sum64(er)
        t = target[r]
        loss[r] = 0 if t == ignore_index else np.log(total) - (xr[t] - top)
        count += t != ignore_index
        if softmax_too:
            share = np.float32(total)
            for j in range(er.shape[0]):
                er[j] = er[j] / share
            if t != ignore_index:
                er[t] -= 1
    return count


@njit(**_WIDE)
def scale_rows(d, factor, out):
    """out[r] = d[r] * factor[r], the rows split over the cores."""
    for r in prange(d.shape[0]):
        simd.wide()
        f, dr, orow = factor[r], d[r], out[r]
        for j in range(dr.shape[0]):
            orow[j] = dr[j] * f
