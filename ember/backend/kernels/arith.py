"""a + b, a - b, a * b and a / b of large float32 or float64 arrays, split over the cores.

NumPy runs an element-wise operator on one core, and on arrays past the cache it ran slower
than the memory allows: a float32 sum of two 1M-element arrays took 0.83 ms, this loop on 2
cores 0.30 (256k elements: 0.13 against 0.035; 4M: 4.3 against 1.2). Each is one IEEE
operation per element, as NumPy's: the same bits (fastmath stays off). ``b`` is an array of
a's shape or a number already of a's dtype (a - b and a / b: b on the right); Numba compiles
each kernel for either (``_part``, ``_at``). Each block of ``BLOCK`` elements runs over slices
indexed from 0, which LLVM vectorizes. ``kernels.apply_arith`` picks them, for arrays of
``kernels.ARITH_FROM`` elements and more (below that NumPy's single pass costs no more).
The four kernels are written out, as pointwise.py's are, for the same reason: Numba's disk
cache misses for kernels made by a factory or given the operator as an argument.
"""
from __future__ import annotations

from numba import njit, prange, types

from . import simd
from numba.extending import overload

_JIT = dict(parallel=True, cache=True, nogil=True, fastmath=False, error_model="numpy", boundscheck=False)
BLOCK = 1 << 14  # elements a thread takes at a time


def _part(b, lo, hi):
    """b[lo:hi] of an array b; a number b itself (compiled only: see the overload)."""


def _at(b, i):
    """b[i] of an array b; a number b itself (compiled only: see the overload)."""


@overload(_part, inline="always")
def _part_of(b, lo, hi):
    return (lambda b, lo, hi: b[lo:hi]) if isinstance(b, types.Array) else (lambda b, lo, hi: b)


@overload(_at, inline="always")
def _at_of(b, i):
    return (lambda b, i: b[i]) if isinstance(b, types.Array) else (lambda b, i: b)


@njit(**_JIT)
def add(a, b, out):
    n = a.shape[0]
    for k in prange((n + BLOCK - 1) // BLOCK):
        simd.wide()
        lo, hi = k * BLOCK, min(n, (k + 1) * BLOCK)
        ab, bb, ob = a[lo:hi], _part(b, lo, hi), out[lo:hi]
        for i in range(hi - lo):
            ob[i] = ab[i] + _at(bb, i)


@njit(**_JIT)
def sub(a, b, out):
    n = a.shape[0]
    for k in prange((n + BLOCK - 1) // BLOCK):
        simd.wide()
        lo, hi = k * BLOCK, min(n, (k + 1) * BLOCK)
        ab, bb, ob = a[lo:hi], _part(b, lo, hi), out[lo:hi]
        for i in range(hi - lo):
            ob[i] = ab[i] - _at(bb, i)


@njit(**_JIT)
def mul(a, b, out):
    n = a.shape[0]
    for k in prange((n + BLOCK - 1) // BLOCK):
        simd.wide()
        lo, hi = k * BLOCK, min(n, (k + 1) * BLOCK)
        ab, bb, ob = a[lo:hi], _part(b, lo, hi), out[lo:hi]
        for i in range(hi - lo):
            ob[i] = ab[i] * _at(bb, i)


@njit(**_JIT)
def div(a, b, out):
    n = a.shape[0]
    for k in prange((n + BLOCK - 1) // BLOCK):
        simd.wide()
        lo, hi = k * BLOCK, min(n, (k + 1) * BLOCK)
        ab, bb, ob = a[lo:hi], _part(b, lo, hi), out[lo:hi]
        for i in range(hi - lo):
            ob[i] = ab[i] / _at(bb, i)
