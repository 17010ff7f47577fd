"""``ember.cuda``: whether CUDA can be used, as ``torch.cuda`` reports it."""
from __future__ import annotations

from .backend import cuda as _cuda
from .backend.random import manual_seed as _manual_seed


def is_available() -> bool:
    """True when CuPy is installed and a GPU is visible."""
    return _cuda.is_available()


def device_count() -> int:
    return _cuda.device_count()


def manual_seed(seed: int) -> None:
    """Seed CUDA generators (ember draws every random number from one generator per process)."""
    _manual_seed(seed)


def manual_seed_all(seed: int) -> None:
    _manual_seed(seed)


def synchronize(device=None) -> None:
    """Wait for all queued GPU work (a no-op without CUDA)."""
    if is_available():
        _cuda.cupy().cuda.Device().synchronize()
