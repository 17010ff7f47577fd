"""How many threads ember's CPU work uses: ``set_num_threads`` / ``get_num_threads`` and the
inter-op pair, with PyTorch's names, defaults and errors.

The count applies to oneDNN's OpenMP pool, which multiplies float32 matrices
(backend/gemm.py; MKL's products run on it too), to the compiled kernels' parallel loops
(backend/kernels) and to the row passes split across cores (backend/parallel.py); where
oneDNN is not in use, NumPy's OpenBLAS takes it instead. The default is ``OMP_NUM_THREADS``
where it is set, else the number of cores this process may run on. ember runs ops one after
another, so the inter-op count is only recorded, once, as PyTorch accepts it.
"""
from __future__ import annotations

import os

_state: dict = {}


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _checked(n, op: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise RuntimeError(f"{op} expects an int, but got {type(n).__name__}")
    if n < 1:
        raise RuntimeError(f"{op} expects a positive integer (got {n})")
    return n


def _default() -> int:
    """``OMP_NUM_THREADS`` where it is set to a count (as PyTorch reads it; the launcher sets 1
    for each of several processes on a node), else one thread per core."""
    value = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    return int(value) if value.isdigit() and int(value) > 0 else cores()


def get_num_threads() -> int:
    """The number of threads used for parallel work on the CPU."""
    return _state.get("threads") or _default()


def set_num_threads(n: int) -> None:
    """Use ``n`` threads for parallel work on the CPU (matrix products, large row passes)."""
    _state["threads"] = _checked(n, "set_num_threads")
    from . import kernels, mkl, onednn
    kernels.set_threads(n)
    if onednn.library() is not None:
        onednn.set_threads(n)
        mkl.set_threads(n)
    else:
        from threadpoolctl import threadpool_limits
        threadpool_limits(limits=n, user_api="blas")


def get_num_interop_threads() -> int:
    """The number of threads for inter-op parallelism (ember runs ops one at a time)."""
    return _state.get("interop") or cores()


def set_num_interop_threads(n: int) -> None:
    """Record the inter-op thread count; as in PyTorch, only once."""
    if "interop" in _state:
        raise RuntimeError("Error: cannot set number of interop threads after parallel work has started "
                           "or set_num_interop_threads called")
    _state["interop"] = _checked(n, "set_num_interop_threads")
