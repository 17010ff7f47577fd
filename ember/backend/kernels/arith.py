"""a + b, a - b, a * b and a / b of large float32 or float64 arrays, split over the cores.

NumPy runs an element-wise operator on one core, and on arrays past the cache it ran slower
than the memory allows: a float32 sum of two 1M-element arrays took 0.83 ms, this loop on 2
cores 0.30 (256k elements: 0.13 against 0.035; 4M: 4.3 against 1.2). Each is one IEEE
operation per element, as NumPy's: the same bits (fastmath stays off). ``b`` is an array of
a's shape (``<op>``) or a number already of a's dtype (``<op>_number``: a - b and a / b, b
on the right); each block of ``BLOCK`` elements runs over slices indexed from 0, which LLVM
vectorizes. ``kernels.apply_arith`` picks them, for arrays of ``pointwise.PARALLEL_FROM``
elements and more (below that NumPy's single pass costs no more).
"""
from __future__ import annotations

from numba import njit, prange

_JIT = dict(parallel=True, cache=True, nogil=True, fastmath=False, error_model="numpy", boundscheck=False)
BLOCK = 1 << 14  # elements a thread takes at a time


@njit(**_JIT)
def add(a, b, out):
    n = a.shape[0]
    for k in prange((n + BLOCK - 1) // BLOCK):
        lo, hi = k * BLOCK, min(n, (k + 1) * BLOCK)
        ab, bb, ob = a[lo:hi], b[lo:hi], out[lo:hi]
        for i in range(hi - lo):
            ob[i] = ab[i] + bb[i]


@njit(**_JIT)
def sub(a, b, out):
    n = a.shape[0]
    for k in prange((n + BLOCK - 1) // BLOCK):
        lo, hi = k * BLOCK, min(n, (k + 1) * BLOCK)
        ab, bb, ob = a[lo:hi], b[lo:hi], out[lo:hi]
        for i in range(hi - lo):
            ob[i] = ab[i] - bb[i]


@njit(**_JIT)
def mul(a, b, out):
    n = a.shape[0]
    for k in prange((n + BLOCK - 1) // BLOCK):
        lo, hi = k * BLOCK, min(n, (k + 1) * BLOCK)
        ab, bb, ob = a[lo:hi], b[lo:hi], out[lo:hi]
        for i in range(hi - lo):
            ob[i] = ab[i] * bb[i]


@njit(**_JIT)
def div(a, b, out):
    n = a.shape[0]
    for k in prange((n + BLOCK - 1) // BLOCK):
        lo, hi = k * BLOCK, min(n, (k + 1) * BLOCK)
        ab, bb, ob = a[lo:hi], b[lo:hi], out[lo:hi]
        for i in range(hi - lo):
            ob[i] = ab[i] / bb[i]


@njit(**_JIT)
def add_number(a, b, out):
    n = a.shape[0]
    for k in prange((n + BLOCK - 1) // BLOCK):
        lo, hi = k * BLOCK, min(n, (k + 1) * BLOCK)
        ab, ob = a[lo:hi], out[lo:hi]
        for i in range(hi - lo):
            ob[i] = ab[i] + b


@njit(**_JIT)
def sub_number(a, b, out):
    n = a.shape[0]
    for k in prange((n + BLOCK - 1) // BLOCK):
        lo, hi = k * BLOCK, min(n, (k + 1) * BLOCK)
        ab, ob = a[lo:hi], out[lo:hi]
        for i in range(hi - lo):
            ob[i] = ab[i] - b


@njit(**_JIT)
def mul_number(a, b, out):
    n = a.shape[0]
    for k in prange((n + BLOCK - 1) // BLOCK):
        lo, hi = k * BLOCK, min(n, (k + 1) * BLOCK)
        ab, ob = a[lo:hi], out[lo:hi]
        for i in range(hi - lo):
            ob[i] = ab[i] * b


@njit(**_JIT)
def div_number(a, b, out):
    n = a.shape[0]
    for k in prange((n + BLOCK - 1) // BLOCK):
        lo, hi = k * BLOCK, min(n, (k + 1) * BLOCK)
        ab, ob = a[lo:hi], out[lo:hi]
        for i in range(hi - lo):
            ob[i] = ab[i] / b
