"""``ember.accelerator``: the device-agnostic accelerator API (CUDA through CuPy, or none).

Without a usable GPU it answers as PyTorch's CPU-only build does: no accelerator, zero
devices, and RuntimeError from anything that needs one.
"""
from __future__ import annotations

from .backend import cuda as _cuda
from .backend.device import CudaUnavailableError, device as _device

__all__ = ["is_available", "current_accelerator", "device_count", "current_device_index",
           "set_device_index", "current_device_idx", "set_device_idx", "synchronize", "device_index"]


def is_available() -> bool:
    """True when a GPU can run ember tensors."""
    return _cuda.is_available()


def current_accelerator(check_available: bool = False) -> _device | None:
    """``device("cuda")`` when CuPy and a GPU are present, else None."""
    return _device("cuda") if _cuda.is_available() else None


def device_count() -> int:
    return _cuda.device_count()


def _cupy():
    if not _cuda.is_available():
        raise CudaUnavailableError("Cannot access accelerator device when none is available.")
    return _cuda.cupy()


def _index(device) -> int:
    """An int, a "cuda:N" string or a device as a device index (None: the current one)."""
    if device is None:
        return _cupy().cuda.Device().id
    if isinstance(device, int):
        return device
    d = _device(device)
    if d.type != "cuda":
        raise ValueError(f"{d.type} doesn't match the current accelerator cuda.")
    return _cupy().cuda.Device().id if d.index is None else d.index


def current_device_index() -> int:
    return _cupy().cuda.Device().id


def set_device_index(device) -> None:
    """Make ``device`` (an index, "cuda:N" or a device) the current GPU."""
    if device is None:
        raise ValueError(f"Expected a ember.device with a specified index or an integer, but got:{device}")
    cp = _cupy()
    index = _index(device)
    if index >= 0:  # a negative index leaves the current device, as in PyTorch
        cp.cuda.Device(index).use()


current_device_idx, set_device_idx = current_device_index, set_device_index


def synchronize(device=None) -> None:
    """Wait until the GPU has finished all queued work."""
    cp = _cupy()
    cp.cuda.Device(_index(device)).synchronize()


class device_index:
    """``with ember.accelerator.device_index(i):`` makes GPU ``i`` current inside the block
    (None: no change)."""

    def __init__(self, device, /):
        self.index, self.previous = device, None

    def __enter__(self):
        if self.index is not None:
            self.previous = current_device_index()
            set_device_index(self.index)
        return self

    def __exit__(self, *exc) -> None:
        if self.previous is not None:
            set_device_index(self.previous)
