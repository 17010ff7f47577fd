"""CUDA through CuPy: imported only when a CUDA device is used."""
from __future__ import annotations

from .dtypes import bfloat16

_cupy = None


def cupy():
    """The cupy module, with a clear error when it cannot be used."""
    global _cupy
    if _cupy is None:
        try:
            import cupy as cp
            cp.cuda.runtime.getDeviceCount()
        except Exception as exc:  # ImportError, or CUDA driver/runtime errors
            from .device import CudaUnavailableError
            raise CudaUnavailableError(
                "CUDA is not available: ember runs CUDA tensors with CuPy "
                "(pip install 'ember[cuda]') on a machine with an NVIDIA GPU "
                f"({type(exc).__name__}: {exc})") from None
        _cupy = cp
    return _cupy


def is_available() -> bool:
    """True when CuPy imports and sees at least one GPU."""
    try:
        return cupy().cuda.runtime.getDeviceCount() > 0
    except RuntimeError:
        return False


def device_count() -> int:
    return cupy().cuda.runtime.getDeviceCount() if is_available() else 0


# The first CuPy whose arrays and kernels take ml_dtypes' bfloat16, the dtype ember's CPU
# tensors hold it in (so a bfloat16 tensor moves between devices as its bits).
BFLOAT16_CUPY = 14


def has_bfloat16() -> bool:
    """Whether the installed CuPy computes bfloat16 arrays (version 14 and later)."""
    return int(cupy().__version__.split(".")[0]) >= BFLOAT16_CUPY


def to_gpu(array, index: int):
    cp = cupy()
    if array.dtype == bfloat16.np and not has_bfloat16():
        raise TypeError(f"bfloat16 tensors on CUDA need CuPy {BFLOAT16_CUPY} or later (this is CuPy "
                        f"{cp.__version__}): pip install 'cupy-cuda12x>={BFLOAT16_CUPY}', or convert with "
                        ".to(ember.float16) or .float() before moving to 'cuda'")
    with cp.cuda.Device(index):
        return cp.asarray(array)
