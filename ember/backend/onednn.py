"""oneDNN, the library behind PyTorch's CPU convolutions and products, loaded through ctypes.

It comes as a binary wheel (``onednn-cpu-gomp``, no compiler needed; x86-64 Linux) and runs
ember's float32 matrix products (``gemm.py``) and convolutions (``convolution.py``) at
PyTorch's speed, where NumPy's OpenBLAS and im2col copies were 1.2-5x slower. Each call is
one C call with the GIL released.

``library()`` is the loaded library, or None: with ``EMBER_ONEDNN=0``, where the wheel is
missing or does not load, and in a process forked from the one that loaded it (GNU OpenMP,
oneDNN's threads, is not safe across fork: a DataLoader worker computes with NumPy). It is
looked up once, on first use, so importing ember loads nothing.

Its OpenMP threads are then the process's one pool of compute threads: loading it sets
NumPy's OpenBLAS to one thread, as PyTorch runs its work on its own pool. Two pools' idle
workers spin on the cores for a while after each call, and a oneDNN product started right
after an OpenBLAS one waited for them (0.25 ms became 7 ms on 2 cores).

The pool's idle spin is GNU OpenMP's own (``GOMP_SPINCOUNT``, 300,000 by default), as in
PyTorch: a step's workers stay awake between its ops. With a tenth of it they slept between
ops, and on a virtual machine whose host also ran other work, every wake waited for the host:
a LeNet-5 training step took 40-50 ms against 12.1-12.3, an MLP step 8.6-16 ms against 4.3-4.6
(PyTorch: 4.1-4.7; 2 cores, a quarter of their time taken by the host).
"""
from __future__ import annotations

import ctypes
import os
import threading
from contextlib import contextmanager

_state: dict = {}
_pid = os.getpid()
_loading = threading.Lock()


def _load():
    if os.environ.get("EMBER_ONEDNN", "1") == "0":
        return None
    from importlib import metadata
    try:
        files = metadata.files("onednn-cpu-gomp") or ()
    except metadata.PackageNotFoundError:
        return None
    path = next((str(f.locate()) for f in files if f.name == "libdnnl.so.3"), None)
    if path is None or not os.path.exists(path):
        return None
    try:
        lib = ctypes.CDLL(path)
    except OSError:  # e.g. no libgomp on the system
        return None
    from threadpoolctl import threadpool_limits
    threadpool_limits(limits=1, user_api="blas")
    _state["gomp"] = ctypes.CDLL("libgomp.so.1")  # the OpenMP runtime libdnnl is linked to
    from .threads import get_num_threads
    _state["gomp"].omp_set_num_threads(get_num_threads())  # also one set before the first use
    return lib


def library():
    """The oneDNN library (a ctypes.CDLL), or None where ember computes without it."""
    if "lib" not in _state:
        with _loading:  # threads' first products at once load it once
            if "lib" not in _state:
                _state["lib"] = _load()
    return _state["lib"] if os.getpid() == _pid else None


@contextmanager
def off():
    """Within the block, ``library()`` is None: ember computes without oneDNN (to compare and
    time the two paths; a process-wide switch, not meant for use from several threads)."""
    lib = library()
    _state["lib"] = None
    try:
        yield
    finally:
        _state["lib"] = lib


def set_threads(n: int) -> None:
    """Run oneDNN's work on ``n`` threads (the caller's OpenMP setting, as PyTorch sets it)."""
    if library() is not None:
        _state["gomp"].omp_set_num_threads(n)


def get_threads() -> int | None:
    """oneDNN's thread count for the calling thread, or None where it is not in use."""
    return _state["gomp"].omp_get_max_threads() if library() is not None else None
