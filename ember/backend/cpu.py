"""Settings of the CPU (NumPy) backend.

glibc's malloc gives every allocation above its mmap threshold (32 MiB at most by
default) fresh pages from the kernel, which zeroes them on first touch, and returns
them on free. Convolution columns, activations and their gradients of a CNN batch are
that large and are reallocated every step: measured on a (64, 16, 32, 32) 3x3
convolution, building its 38 MB of columns took 4.2 ms in fresh pages and 1.3 ms
in reused memory, and its forward and backward pass 32 ms instead of 20 (1 thread).
Raising the thresholds lets such arrays reuse freed heap memory, as PyTorch's
caching allocator does. The setting is process-wide (the process keeps up to 512 MiB
of freed memory); EMBER_REUSE_FREED_MEMORY=0 in the environment leaves malloc alone.
"""
from __future__ import annotations

import ctypes
import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 1 << 28   # arrays below 256 MiB come from the reusable heap
TRIM_THRESHOLD_BYTES = 1 << 29   # up to 512 MiB of freed memory is kept for reuse


def _reuse_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds; False where there is no glibc malloc."""
    if not sys.platform.startswith("linux") or os.environ.get("EMBER_REUSE_FREED_MEMORY") == "0":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and \
        bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))


REUSES_FREED_MEMORY = _reuse_freed_memory()
