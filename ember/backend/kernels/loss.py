"""Cross-entropy of small (rows, classes) logits: the passes around one NumPy exp.

NumPy computes a classifier's loss as a dozen array calls (row maxima, shift, exp, row sums,
log, a gather, the one-hot subtraction, the counts), each costing about a microsecond more
than its work on a batch of 128 rows of 10 classes. Here the row maxima and the shift are one
loop, NumPy's vectorized exp runs between the two kernels, and the sums, the loss, the
softmax and the one-hot subtraction are another loop. The loops are not vectorized (the row
maximum keeps NaN, the sum adds in order), so wide rows stay on the NumPy path
(``ops/loss.py``). Sums and logs are taken in float64.
"""
from __future__ import annotations

import numpy as np
from numba import njit

_JIT = dict(cache=True, nogil=True, fastmath=False, error_model="numpy", boundscheck=False)


@njit(**_JIT)
def shift_rows(x, shifted, top):
    """top[r] = max of row r of x (NaN if it holds one); shifted[r] = x[r] - top[r]."""
    rows, classes = x.shape
    for r in range(rows):
        m = x[r, 0]
        for c in range(1, classes):
            v = x[r, c]
            if v != v:
                m = v
                break
            if v > m:
                m = v
        top[r] = m
        for c in range(classes):
            shifted[r, c] = x[r, c] - m


@njit(**_JIT)
def cross_entropy_rows(x, e, top, target, ignore_index, loss, softmax_too):
    """From ``e`` = exp(x - top): loss[r] = log(sum e[r]) - (x[r, t] - top[r]) for the target t
    of row r (0 where t is ``ignore_index``); with ``softmax_too``, e[r] becomes softmax(x[r])
    minus the one-hot of t (t not ignored). Returns the number of rows not ignored. Targets
    must be in range (checked by the caller)."""
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
