"""Intel's MKL, for float32 matrix products on Intel CPUs, loaded through ctypes.

On Intel CPUs with AVX-512, oneDNN's ``dnnl_sgemm`` (the wheel's 2023.2 release) multiplies
the shapes of small networks 10-25% slower than PyTorch's MKL: a word-level LM's decoder
products took 53-60 ms against 46-48, where MKL's ``cblas_sgemm`` took 46-47 (2 cores of a
Xeon with AVX-512, each library in its own process). On the AMD EPYC of earlier
measurements oneDNN's GEMM kept the MLP within a few percent of PyTorch, and MKL there was
not measured. So ``gemm.py`` multiplies through MKL where the ``mkl`` wheel is installed
(``pip install ember[mkl]``: no compiler, about 900 MB) and the CPU is Intel's.

``library()`` is the loaded ``libmkl_rt``, or None: without the wheel, on other vendors'
CPUs (``EMBER_MKL=1`` uses it on any x86-64 CPU, ``EMBER_MKL=0`` on none), and wherever
oneDNN is not in use (``onednn.library()`` is None: EMBER_ONEDNN=0, a forked child). MKL
runs on GNU OpenMP, the pool oneDNN's primitives run on, so a process still has one pool
of compute threads.
"""
from __future__ import annotations

import ctypes
import os
import threading

from . import onednn

_state: dict = {}
_loading = threading.Lock()

# cblas's enums: row-major storage, and an operand as stored or transposed
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
_TRANSPOSE = {b"N": _NO_TRANS, b"T": _TRANS}
_GNU_THREADING = 3           # MKL_THREADING_GNU: OpenMP from libgomp, oneDNN's runtime
_INT_MAX = 2 ** 31 - 1       # libmkl_rt's default interface is LP64: 32-bit dimensions


def intel_cpu(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether this machine's CPU is Intel's (the vendor ``cpuinfo`` names; False without it)."""
    try:
        with open(cpuinfo) as f:
            for line in f:
                if line.startswith("vendor_id"):
                    return "GenuineIntel" in line
    except OSError:
        pass
    return False


def installed_path():
    """Where the ``mkl`` wheel put ``libmkl_rt``, or None without it."""
    from importlib import metadata
    try:
        files = metadata.files("mkl") or ()
    except metadata.PackageNotFoundError:
        return None
    path = next((str(f.locate()) for f in files if f.name.startswith("libmkl_rt.so")), None)
    return path if path is not None and os.path.exists(path) else None


def _load():
    wanted = os.environ.get("EMBER_MKL", "")
    if wanted == "0" or (wanted != "1" and not intel_cpu()) or onednn.library() is None:
        return None
    path = installed_path()
    return None if path is None else opened(path)


def opened(path: str):
    """``libmkl_rt`` at ``path``, set up for ember (GNU OpenMP threads, a fixed count), or
    None where it does not load."""
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        return None
    lib.MKL_Set_Threading_Layer.argtypes = [ctypes.c_int]
    lib.MKL_Set_Threading_Layer(_GNU_THREADING)  # before any other MKL call
    lib.MKL_Set_Dynamic(0)  # its given thread count on every product, small ones too
    lib.MKL_Set_Num_Threads(onednn.get_threads() or 1)
    i, f, p = ctypes.c_int, ctypes.c_float, ctypes.c_void_p
    lib.cblas_sgemm.argtypes = [i, i, i, i, i, i, f, p, i, p, i, f, p, i]
    lib.cblas_sgemm.restype = None
    return lib


def library():
    """The MKL library (a ctypes.CDLL), or None where ember's products do not use it."""
    if "lib" not in _state:
        with _loading:
            if "lib" not in _state:
                _state["lib"] = _load()
    return _state["lib"] if onednn.library() is not None else None


def sgemm(trans_a: bytes, trans_b: bytes, m: int, n: int, k: int, alpha: float, a: int, lda: int,
          b: int, ldb: int, beta: float, c: int, ldc: int) -> int:
    """``dnnl_sgemm``'s call (row-major, ``b"N"``/``b"T"``, operands as addresses) through
    ``cblas_sgemm``. Returns 0, or 1 without computing where a dimension does not fit
    MKL's 32-bit integers (the caller then multiplies otherwise)."""
    if max(m, n, k, lda, ldb, ldc) > _INT_MAX:
        return 1
    _state["lib"].cblas_sgemm(_ROW_MAJOR, _TRANSPOSE[trans_a], _TRANSPOSE[trans_b], m, n, k, alpha, a, lda,
                              b, ldb, beta, c, ldc)
    return 0


def set_threads(n: int) -> None:
    """Run MKL's products on ``n`` threads."""
    if library() is not None:
        _state["lib"].MKL_Set_Num_Threads(n)
