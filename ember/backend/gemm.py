"""Matrix products of float32 CPU matrices through oneDNN's GEMM, NumPy's matmul otherwise.

NumPy's OpenBLAS multiplies the shapes of small networks (a batch of 128 rows against a
layer's weights, a convolution's few output channels against its columns) 1.2-3x slower
than PyTorch's own GEMM on this project's machine; oneDNN's ``dnnl_sgemm`` (``onednn.py``)
runs them at PyTorch's speed (``bench/kernels.py``).

On Intel CPUs, where the ``mkl`` wheel is installed, the same products go through MKL's
``cblas_sgemm`` instead (``mkl.py``: 10-25% faster there than this oneDNN release).

``matmul(a, b)`` takes 2-d arrays (or stacks of them, with one or more leading dims: one call
each when each product is large, else one batched oneDNN matmul primitive for the stack). It
uses oneDNN when both are float32 NumPy matrices whose rows or columns are contiguous (so
transposed views need no copy) and the product is large enough to repay a C call; anything
else (float64, half, CuPy, tiny or empty products, or no oneDNN: see ``onednn.library``) is
``np.matmul``. ``linear(x, w_t, bias)`` is a linear layer's product plus its bias.
"""
from __future__ import annotations

import ctypes
import math

import numpy as np

from . import kernels, mkl, onednn
from .primitives import (ARG_BIAS, ARG_DST, ARG_SRC, ARG_WEIGHTS, POINTER, QUERY_ARG, QUERY_DST, QUERY_SRC,
                         QUERY_WEIGHTS, Family, P, Primitive, check, desc, engine, run_family)

# Below about this many multiply-adds oneDNN's call (its kernel dispatch and thread start,
# some 6-8 us) costs more than single-threaded OpenBLAS: (128, 256) x (256, 10) takes 8.7 us
# in NumPy and 12.7 through oneDNN, (128, 1024) x (1024, 10) 51 and 26 (2 cores).
_MIN_WORK = 1 << 20

# Products wider than this are computed in blocks of _COLUMN_BLOCK output columns. oneDNN's
# sgemm packs its B operand into a buffer per call, which glibc hands back to the system
# after each call once it is large: on a word-level LM's decoder, (700, 200) x (200, 10000),
# every call page-faulted 4.3 MB in again (1,067 faults, 3-5 ms of system time per training
# step, for a 19 ms product). Blocks of 1024 columns keep the buffer small enough to be
# reused: no faults, and the product itself was as fast or faster (2 cores).
_WIDE, _COLUMN_BLOCK = 2048, 1024

# Outputs of at least this many elements take their bias inside oneDNN's matmul primitive,
# added as each block of the output is written, instead of copied into the whole output before
# the GEMM: a word-level LM's decoder, (700, 200) x (200, 10000), took 15.8-16.5 ms instead of
# 17.8-18.5. Smaller outputs stay in cache for the copy, and gain nothing (2 cores).
_BIAS_IN_EPILOGUE = 1 << 21

_state: dict = {}


def sgemm():
    """The row-major float32 GEMM products go through: MKL's where ``mkl.library()`` loads
    (Intel CPUs), else oneDNN's ``dnnl_sgemm`` (one signature); None where neither is used."""
    lib = onednn.library()
    if lib is None:
        return None
    if "sgemm" not in _state:
        _state["sgemm"] = mkl.sgemm if mkl.library() is not None else dnnl_sgemm(lib)
    return _state["sgemm"]


def dnnl_sgemm(lib):
    """oneDNN's ``dnnl_sgemm`` of the loaded library, as a ctypes function."""
    fn = lib.dnnl_sgemm
    i64, ptr = ctypes.c_int64, ctypes.c_void_p
    fn.argtypes = [ctypes.c_char, ctypes.c_char, i64, i64, i64, ctypes.c_float, ptr, i64, ptr, i64,
                   ctypes.c_float, ptr, i64]
    fn.restype = ctypes.c_int
    return fn


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
    """``a @ b`` for 2-d arrays, or for two stacks of as many matrices (3-d, or more dims with
    equal leading ones, read in their own strides where they do not merge into one), written
    into ``out`` when given (an array of the product's shape and dtype, in any strides, that
    overlaps neither operand); with ``accumulate``, added to ``out`` (2-d) instead."""
    if a.ndim == 2 and b.ndim == 2:
        return _product(a, b, out, accumulate)
    stacks = a.ndim == b.ndim and a.shape[:-2] == b.shape[:-2] and a.dtype == b.dtype == np.float32 and \
        type(a) is type(b) is np.ndarray and (out is None or type(out) is np.ndarray)
    if stacks and a.ndim > 3:
        a3, b3 = _stack(a), _stack(b)  # (B, H, L, E) @ (B, H, E, S): one stack of B * H products
        out3 = None if out is None else _stack(out)
        if a3 is not None and b3 is not None and (out is None or out3 is not None):
            product = matmul(a3, b3, out3)
            return product.reshape(a.shape[:-1] + b.shape[-1:]) if out is None else out
        if a.size * b.shape[-1] >= _MIN_WORK:  # the products' multiply-adds
            done = _primitive(a, b, out=out)  # dims that do not merge (heads split from a packed projection)
            if done is not None:
                return done
    if stacks and a.ndim == 3:
        each = a.shape[1] * a.shape[2] * b.shape[2]
        if each >= _MIN_WORK and sgemm() is not None:
            out = np.empty((a.shape[0], a.shape[1], b.shape[2]), dtype=np.float32) if out is None else out
            for i in range(a.shape[0]):
                _product(a[i], b[i], out[i])
            return out
        if each * a.shape[0] >= _MIN_WORK:
            done = _primitive(a, b, out=out)
            if done is not None:
                return done
    return np.matmul(a, b, out=out)


def linear(x: np.ndarray, w_t: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """``x @ w_t + bias`` for matrices of one dtype and a bias of the product's width (a
    linear layer: ``w_t`` is the transposed weight, read in place)."""
    m, n = x.shape[0], w_t.shape[1]
    if m * n >= _BIAS_IN_EPILOGUE and x.dtype == w_t.dtype == bias.dtype == np.float32 and bias.shape == (n,) \
            and type(x) is type(w_t) is type(bias) is np.ndarray and bias.flags.c_contiguous:
        out = _primitive(x, w_t, bias)
        if out is not None:
            return out
    if m * n * w_t.shape[0] < _MIN_WORK or x.dtype != np.float32:  # NumPy's product (see _product)
        out = np.matmul(x, w_t)
        out += bias  # the bits of bias + product: addition commutes
        return out
    out = np.empty((m, n), x.dtype)
    kernels.fill_rows(out, bias)  # the product is added to the bias in the GEMM (PyTorch's addmm): no pass after it
    return matmul(x, w_t, out=out, accumulate=True)


class _Matmul(Family):
    """oneDNN's matmul primitive, ``a @ b`` (+ a bias along the last dim, added as each block of
    the output is written), operands in their own strides, so transposed views are read in
    place. Over a stack of small products (attention's per-head products, (128, 64, 64) x
    (128, 64, 32)) it is one call over both cores, where NumPy's matmul loops over the matrices
    on one (0.25 ms against 0.50)."""

    def __init__(self, lib, a_shape, b_shape, a_strides, b_strides, bias: bool, out_strides=None):
        lib.dnnl_matmul_primitive_desc_create.argtypes = [POINTER, P, P, P, P, P, P]
        operands = [desc(lib, a_shape, strides=a_strides), desc(lib, b_shape, strides=b_strides)]
        if bias:
            operands.append(desc(lib, (1,) * (len(a_shape) - 1) + b_shape[-1:]))
        self.descs = operands + [desc(lib, a_shape[:-1] + b_shape[-1:], strides=out_strides)]
        self.forward_pd = P()
        check(lib.dnnl_matmul_primitive_desc_create(ctypes.byref(self.forward_pd), engine(), operands[0],
                                                    operands[1], operands[2] if bias else None, self.descs[-1],
                                                    None), "matmul")
        self._lib = lib

    def _forward(self, lib):
        queries = [(QUERY_SRC, 0), (QUERY_WEIGHTS, 0)] + [(QUERY_ARG, ARG_BIAS)] * (len(self.descs) == 4)
        kinds = [(ARG_SRC, False), (ARG_WEIGHTS, False)] + [(ARG_BIAS, False)] * (len(self.descs) == 4)
        return Primitive(lib, self.forward_pd, self.descs, queries + [(QUERY_DST, 0)], kinds + [(ARG_DST, True)])


def _stack(m: np.ndarray):
    """m's leading dims merged into one, as a view; None where that needs a copy (told from the
    strides: a reshape that copies would cost a pass over m to find it out)."""
    lead = [(n, s) for n, s in zip(m.shape[:-2], m.strides[:-2]) if n != 1]
    for (_, outer), (n, inner) in zip(lead, lead[1:]):
        if outer != inner * n:
            return None
    return m.reshape((math.prod(m.shape[:-2]),) + m.shape[-2:])  # not -1: ambiguous when m is empty


def _element_strides(m: np.ndarray):
    """m's strides in elements, or None where one is not a positive whole number of them (a
    broadcast dim, a byte offset, a reversed view)."""
    strides = []
    for s, n in zip(m.strides, m.shape):
        if n > 1 and (s <= 0 or s % 4):
            return None
        strides.append(s // 4 if n > 1 else 1)
    return tuple(strides)


def _primitive(a, b, bias=None, out=None):
    """``a @ b`` (+ ``bias``) through ``_Matmul``: two matrices, or two stacks of them, written
    into ``out`` in its strides when given; None where oneDNN does not take it (no library,
    strides it cannot read or write, or only its reference loops)."""
    sa, sb = _element_strides(a), _element_strides(b)
    so = None if out is None else _element_strides(out)
    if sa is None or sb is None or (out is not None and so is None) or onednn.library() is None:
        return None
    out = np.empty(a.shape[:-1] + b.shape[-1:], np.float32) if out is None else out
    key = ("matmul", a.shape, b.shape, sa, sb, bias is not None, so)
    arrays = [a, b, out] if bias is None else [a, b, bias, out]
    done = run_family("forward", key,
                      lambda lib: _Matmul(lib, a.shape, b.shape, sa, sb, bias is not None, so), arrays)
    return None if done is None else out


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
    if lc is not None and lc[0] == b"T" and la is not None and lb is not None:
        # a transposed (column-major) out: its transpose, b^T a^T, is row-major
        _sgemm(fn, _layout(b.T), _layout(a.T), n, m, k, b.T, a.T, accumulate, out.T, lc[1])
        return out
    if la is None or lb is None or lc is None:
        return _numpy(a, b, out, accumulate)  # what oneDNN does not take
    _sgemm(fn, la, lb, m, n, k, a, b, accumulate, out, lc[1])
    return out


def _numpy(a, b, out, accumulate: bool):
    if accumulate:
        out += np.matmul(a, b)
        return out
    return np.matmul(a, b, out=out)


def _sgemm(fn, la, lb, m: int, n: int, k: int, a, b, accumulate: bool, out, ldc: int) -> None:
    """``out = a @ b`` (``+=`` with ``accumulate``) through ``dnnl_sgemm`` (row-major), in blocks
    of columns when the product is wide (see _WIDE). Columns oneDNN refuses (not expected)
    are NumPy's, so a block already added is never added again."""
    block = _COLUMN_BLOCK if n > _WIDE else n
    # column j of b starts j elements on in a row-major b, j rows on in a transposed one
    b_step = 4 if lb[0] == b"N" else 4 * lb[1]
    for j in range(0, n, block):
        width = min(block, n - j)
        if fn(la[0], lb[0], m, width, k, 1.0, a.ctypes.data, la[1], b.ctypes.data + j * b_step, lb[1],
              1.0 if accumulate else 0.0, out.ctypes.data + 4 * j, ldc):
            _numpy(a, b[:, j:], out[:, j:], accumulate)
            return
