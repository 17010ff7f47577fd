"""Softmax and log-softmax of float32 CPU arrays through oneDNN's softmax primitives.

NumPy computes a softmax in five whole-array passes (row maximum, shift, exp, row sum, then
the log or the division); oneDNN's primitive, JIT-compiled for the machine's vector unit,
reads the input once per row block on every core. On the word-level LSTM's (700, 10000)
log-softmax it took 2.1 ms forward and 2.0 backward, against 5.0 and about 3 through NumPy's
passes and PyTorch's 2.3 and 2.0 (2 cores). Below ``MIN_ELEMENTS`` the call costs more than
it saves, and NumPy's passes run.

``forward(x, dim, log)`` and ``backward(grad, y, dim, log)`` (the gradient from the
forward's result ``y``) take C-contiguous arrays of any shape along any axis, and return
None where oneDNN does not take the case (no library: see ``onednn.library``; another
dtype; a small array). The primitives are made once per shape, axis and algorithm and kept
(``primitives.py``).
"""
from __future__ import annotations

import ctypes

import numpy as np

from . import kernels, onednn, parallel
from .primitives import (ARG_DIFF_DST, ARG_DIFF_SRC, ARG_DST, ARG_SRC, FORWARD_TRAINING, POINTER,
                         QUERY_DIFF_DST, QUERY_DIFF_SRC, QUERY_DST, QUERY_SRC, Family, I, P, Primitive,
                         check, desc, engine, refused, run_family)

_ACCURATE, _LOG = 0x30000, 0x30001  # dnnl_softmax_accurate, dnnl_softmax_log

# Arrays under this many elements take NumPy's passes: a (128, 10) log-softmax took 11 us in
# oneDNN (the call and its argument objects) and 8 through NumPy.
MIN_ELEMENTS = 1 << 14


class _Softmax(Family):
    """The forward and backward primitives of one shape, axis and algorithm."""

    def __init__(self, lib, shape: tuple, axis: int, log: bool):
        lib.dnnl_softmax_forward_primitive_desc_create.argtypes = [POINTER, P, I, I, P, P, I, P]
        lib.dnnl_softmax_backward_primitive_desc_create.argtypes = [POINTER, P, I, P, P, P, I, P, P]
        self.md = desc(lib, shape)
        self.alg, self.axis = (_LOG if log else _ACCURATE), axis
        self.forward_pd = P()
        status = lib.dnnl_softmax_forward_primitive_desc_create(
            ctypes.byref(self.forward_pd), engine(), FORWARD_TRAINING, self.alg, self.md, self.md, axis, None)
        if status:
            lib.dnnl_memory_desc_destroy(self.md)
            check(status, "softmax")
        self.descs = [self.md]
        self._lib = lib

    def _forward(self, lib):
        md = self.md
        return Primitive(lib, self.forward_pd, [md, md], [(QUERY_SRC, 0), (QUERY_DST, 0)],
                         [(ARG_SRC, False), (ARG_DST, True)])

    def _backward(self, lib):
        md, pd = self.md, P()
        check(lib.dnnl_softmax_backward_primitive_desc_create(
            ctypes.byref(pd), engine(), self.alg, md, md, md, self.axis, self.forward_pd, None),
            "softmax backward")
        return Primitive(lib, pd, [md, md, md], [(QUERY_DIFF_SRC, 0), (QUERY_DIFF_DST, 0), (QUERY_DST, 0)],
                         [(ARG_DIFF_SRC, True), (ARG_DIFF_DST, False), (ARG_DST, False)], own=True)


def _takes(*arrays) -> bool:
    x = arrays[0]
    return (onednn.library() is not None and x.size >= MIN_ELEMENTS and
            all(type(a) is np.ndarray and a.dtype == np.float32 and a.flags.c_contiguous and a.shape == x.shape
                for a in arrays))


def _key(shape: tuple, axis: int, log: bool) -> tuple:
    return ("softmax", shape, axis, log)


def _run(kind: str, shape: tuple, axis: int, log: bool, arrays: list) -> bool:
    return run_family(kind, _key(shape, axis, log), lambda lib: _Softmax(lib, shape, axis, log),
                      arrays) is not None


def _no_nan_or_inf(x: np.ndarray) -> bool:
    """Whether x holds neither NaN nor +inf: one pass split across the cores (a compiled count
    on the OpenMP pool oneDNN uses, else the maxima of blocks of rows)."""
    flat = x.reshape(-1)
    k = kernels.cpu()
    if k is not None:
        with kernels.lock:
            return k.softmax.count_nan_or_inf(flat) == 0
    found = []
    parallel.over_rows(lambda lo, hi: found.append(flat[lo:hi].max()), flat.shape[0], flat.shape[0])
    return all(m < np.inf for m in found)


def forward(x: np.ndarray, dim: int, log: bool):
    """softmax(x) (log-softmax with ``log``) along ``dim``; None where oneDNN does not take it,
    or where x holds a NaN or +inf: oneDNN's row maximum skips NaN (its vector max instruction
    does) and a +inf row comes out partly 0 (or -inf), where PyTorch and NumPy's passes give a
    row of NaN. The check is one pass, split across the cores."""
    if not _takes(x) or not _no_nan_or_inf(x):
        return None
    y = np.empty_like(x)
    return y if _run("forward", x.shape, dim % x.ndim, log, [x, y]) else None


def backward(grad: np.ndarray, y: np.ndarray, dim: int, log: bool):
    """The input's gradient from ``grad`` and the forward's result ``y``; None where oneDNN
    does not take it."""
    if type(grad) is np.ndarray and grad.dtype == np.float32:
        grad = np.ascontiguousarray(grad)  # e.g. a broadcast gradient: one copy, then one pass
    if not _takes(y, grad) or refused(("backward",) + _key(y.shape, dim % y.ndim, log)):
        return None  # (on AVX2 the backward has only oneDNN's reference code: skip the check)
    if log and not _no_nan_or_inf(y):
        return None  # a NaN in log-softmax's result (a row of -inf) comes out inf, not NaN
    out = np.empty_like(y)
    return out if _run("backward", y.shape, dim % y.ndim, log, [out, grad, y]) else None
