"""Matrix products of float32 CPU matrices through oneDNN's GEMM, NumPy's matmul otherwise.

NumPy's OpenBLAS multiplies the shapes of small networks (a batch of 128 rows against a
layer's weights, a convolution's few output channels against its columns) 1.2-3x slower
than PyTorch's own GEMM on this project's machine; oneDNN's ``dnnl_sgemm`` (``onednn.py``)
runs them at PyTorch's speed (``bench/kernels.py``).

``matmul(a, b)`` takes 2-d arrays (or stacks of them, one call each). It uses oneDNN when
both are float32 NumPy matrices whose rows or columns are contiguous (so transposed views
need no copy) and the product is large enough to repay a C call; anything else (float64,
half, CuPy, tiny or empty products, or no oneDNN: see ``onednn.library``) is ``np.matmul``.
"""
from __future__ import annotations

import ctypes

import numpy as np

from . import onednn

# Below about this many multiply-adds oneDNN's call (its kernel dispatch and thread start,
# some 6-8 us) costs more than single-threaded OpenBLAS: (128, 256) x (256, 10) takes 8.7 us
# in NumPy and 12.7 through oneDNN, (128, 1024) x (1024, 10) 51 and 26 (2 cores).
_MIN_WORK = 1 << 20

_state: dict = {}


def sgemm():
    """oneDNN's ``dnnl_sgemm`` as a ctypes function, or None where it is not used."""
    lib = onednn.library()
    if lib is None:
        return None
    if "sgemm" not in _state:
        fn = lib.dnnl_sgemm
        i64, ptr = ctypes.c_int64, ctypes.c_void_p
        fn.argtypes = [ctypes.c_char, ctypes.c_char, i64, i64, i64, ctypes.c_float, ptr, i64, ptr, i64,
                       ctypes.c_float, ptr, i64]
        fn.restype = ctypes.c_int
        _state["sgemm"] = fn
    return _state["sgemm"]


def _layout(m: np.ndarray):
    """(b"N", leading dimension) for a matrix with contiguous rows, (b"T", ...) for one with
    contiguous columns (a transposed view), else None."""
    s0, s1 = m.strides
    rows, cols = m.shape
    if s1 == 4 and s0 >= 4 * cols and s0 % 4 == 0:
        return b"N", s0 // 4
    if s0 == 4 and s1 >= 4 * rows and s1 % 4 == 0:
        return b"T", s1 // 4
    return None


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None, *,
           accumulate: bool = False) -> np.ndarray:
    """``a @ b`` for 2-d arrays, or for two stacks of as many matrices (3-d), written into
    ``out`` when given (an array of the product's shape and dtype that overlaps neither
    operand); with ``accumulate``, added to ``out`` (2-d) instead."""
    if a.ndim == 2 and b.ndim == 2:
        return _product(a, b, out, accumulate)
    if a.ndim == 3 and b.ndim == 3 and a.shape[0] == b.shape[0] and out is None and \
            a.dtype == b.dtype == np.float32 and type(a) is type(b) is np.ndarray and \
            a.shape[1] * a.shape[2] * b.shape[2] >= _MIN_WORK and sgemm() is not None:
        out = np.empty((a.shape[0], a.shape[1], b.shape[2]), dtype=np.float32)
        for i in range(a.shape[0]):
            _product(a[i], b[i], out[i])
        return out
    return np.matmul(a, b, out=out)


def _product(a, b, out, accumulate: bool = False):
    m, k = a.shape
    n = b.shape[1]
    fn = sgemm() if m * n * k >= _MIN_WORK else None
    la = lb = lc = None
    if fn is not None and a.dtype == np.float32 and b.dtype == np.float32 and \
            type(a) is np.ndarray and type(b) is np.ndarray:
        la, lb = _layout(a), _layout(b)
        if out is None and not accumulate:
            out = np.empty((m, n), dtype=np.float32)
        if out is not None and out.dtype == np.float32 and type(out) is np.ndarray:
            lc = _layout(out)
    if la is None or lb is None or lc is None or lc[0] != b"N" or \
            fn(la[0], lb[0], m, n, k, 1.0, a.ctypes.data, la[1], b.ctypes.data, lb[1],
               1.0 if accumulate else 0.0, out.ctypes.data, lc[1]):
        # NumPy's product: for what oneDNN does not take (or, not expected, refused)
        if accumulate:
            out += np.matmul(a, b)
            return out
        return np.matmul(a, b, out=out)
    return out
