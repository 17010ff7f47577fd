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


def to_gpu(array, index: int):
    if array.dtype == bfloat16.np:  # CuPy has no bfloat16 kernels
        raise TypeError("ember's CUDA backend does not support bfloat16 tensors: convert with "
                        ".to(ember.float16) or .float() before moving to 'cuda'")
    cp = cupy()
    with cp.cuda.Device(index):
        return cp.asarray(array)
