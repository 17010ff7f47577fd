"""The MPI engine behind ember.distributed: mpi4py, imported on first use, and the one wait loop.

Every collective is posted non-blocking and waited for here, so a peer that never arrives
(crashed, or stuck in another collective) becomes a ``RuntimeError`` after the group's
timeout instead of a hang. For the first 2 ms the loop tests the request and yields the core
(a peer that shares it runs at once; a sleep would add its own latency to every collective);
after that it sleeps with a backoff up to 1 ms, so a long wait does not keep a core busy.
"""
from __future__ import annotations

import os
import time

import numpy as np

_MPI = None
_yield = getattr(os, "sched_yield", lambda: time.sleep(0))  # sched_yield is POSIX-only

# Environment variables an MPI launcher sets in each process it starts (Open MPI, PMIx, MPICH/Intel MPI).
LAUNCHER_RANK_VARS = ("OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK")
LAUNCHER_SIZE_VARS = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE")


def mpi():
    """The ``mpi4py.MPI`` module (initialising MPI), or an ImportError saying how to install it."""
    global _MPI
    if _MPI is None:
        try:
            from mpi4py import MPI
        except ImportError as e:
            raise ImportError(
                "ember.distributed runs on MPI through mpi4py, which is not installed: "
                "pip install 'ember[distributed]' (mpi4py and the MPICH wheel)") from e
        _MPI = MPI
    return _MPI


def under_mpi_launcher() -> bool:
    """Whether an MPI launcher (mpiexec / mpirun / ember.distributed.run) started this process."""
    return any(v in os.environ for v in LAUNCHER_RANK_VARS)


def wait(requests: list, timeout: float, what: str) -> None:
    """Complete ``requests``; after ``timeout`` seconds raise a RuntimeError describing ``what``."""
    MPI = mpi()
    poll(lambda: MPI.Request.Testall(requests), timeout, what)


def poll(test, timeout: float, what: str) -> None:
    """Call ``test()`` until it is true; after ``timeout`` seconds raise a RuntimeError describing ``what``."""
    if test():
        return
    start = time.monotonic()
    deadline = start + timeout
    pause = 5e-5
    while not test():
        now = time.monotonic()
        if now > deadline:
            raise RuntimeError(
                f"{what} timed out after {timeout:g} s: a peer never reached it (it failed, exited, or "
                "is waiting in a different collective; every rank must call the same collectives in the "
                "same order). Raise timeout= in init_process_group if a rank is just slow.")
        if now - start < 2e-3:
            _yield()  # short waits: stay ready, but let a peer sharing this core run
        else:
            time.sleep(pause)
            pause = min(pause * 2, 1e-3)


def done(requests: list) -> bool:
    """Whether ``requests`` have completed (without waiting)."""
    return bool(mpi().Request.Testall(requests))


def reduce_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype MPI reduces ``dtype`` in: MPI has no 16-bit floats (summed in float32 and rounded
    back once) and no MAX/MIN on booleans (reduced as uint8)."""
    if dtype.kind == "b":
        return np.dtype(np.uint8)
    if dtype.itemsize == 2 and dtype.kind not in "iu":  # float16, bfloat16
        return np.dtype(np.float32)
    return dtype


def as_bytes(arr: np.ndarray) -> np.ndarray:
    """A contiguous array's memory as uint8, for operations that only move data (any dtype)."""
    return arr.reshape(-1).view(np.uint8)
