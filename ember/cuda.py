"""``ember.cuda``: CUDA devices as ``torch.cuda`` reports them (through CuPy).

Without CuPy or a GPU every function answers as PyTorch's CPU-only build does: queries
of counts and memory give 0, seeding and cache calls do nothing, and calls that need a
device raise ``CudaUnavailableError`` (both an AssertionError, as ``torch.cuda`` raises
there, and a RuntimeError).
"""
from __future__ import annotations

import sys
from types import SimpleNamespace

from .backend import cuda as _cuda
from .backend.device import device as _device
from .backend.random import manual_seed as _manual_seed
from .amp.device_aliases import cuda_amp as amp

# `from ember.cuda.amp import autocast, GradScaler` finds the alias module by its dotted name
sys.modules[amp.__name__] = amp

__all__ = ["is_available", "device_count", "is_initialized", "init", "current_device", "set_device",
           "device", "synchronize", "manual_seed", "manual_seed_all", "empty_cache", "memory_allocated",
           "max_memory_allocated", "memory_reserved", "max_memory_reserved", "reset_peak_memory_stats",
           "get_device_name", "get_device_properties", "get_device_capability", "is_bf16_supported"]


def is_available() -> bool:
    """True when CuPy is installed and a GPU is visible."""
    return _cuda.is_available()


def device_count() -> int:
    return _cuda.device_count()


def is_initialized() -> bool:
    return _cuda.is_available()


def _cupy():
    """The cupy module; raises CudaUnavailableError (saying how to get CUDA) without it."""
    return _cuda.cupy()


def init() -> None:
    _cupy()


def _index(device) -> int:
    """An int, "cuda:N", a device or None (the current GPU) as a device index."""
    if device is None:
        return current_device()
    if isinstance(device, int):
        return device
    d = _device(device)
    if d.type != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {d}")
    return current_device() if d.index is None else d.index


def current_device() -> int:
    return _cupy().cuda.Device().id


def set_device(device) -> None:
    """Make ``device`` the current GPU (a negative index changes nothing)."""
    index = _index(device)
    if index >= 0:
        _cupy().cuda.Device(index).use()


class device:
    """``with ember.cuda.device(i):`` makes GPU ``i`` current inside the block (a negative
    index: no change)."""

    def __init__(self, device):
        self.idx, self.prev_idx = _index(device), -1

    def __enter__(self):
        if self.idx >= 0:
            self.prev_idx = current_device()
            set_device(self.idx)
        return self

    def __exit__(self, *exc) -> None:
        if self.prev_idx >= 0:
            set_device(self.prev_idx)


def synchronize(device=None) -> None:
    """Wait until the GPU has finished all queued work."""
    _cupy().cuda.Device(_index(device)).synchronize()


def manual_seed(seed: int) -> None:
    """Seed the generator CUDA tensors draw from: ember draws every random number from one
    generator per process, so with a GPU this is ``ember.manual_seed``; without one it does
    nothing (PyTorch's CPU generator is not touched either)."""
    if _cuda.is_available():
        _manual_seed(seed)


manual_seed_all = manual_seed


def _pool():
    return _cupy().get_default_memory_pool() if _cuda.is_available() else None


def empty_cache() -> None:
    """Return the GPU memory CuPy's pool keeps for reuse to the driver."""
    pool = _pool()
    if pool is not None:
        pool.free_all_blocks()


def memory_allocated(device=None) -> int:
    """Bytes held by live CUDA arrays (0 without CUDA)."""
    pool = _pool()
    return 0 if pool is None else pool.used_bytes()


def memory_reserved(device=None) -> int:
    """Bytes the allocator holds, live or kept for reuse (0 without CUDA)."""
    pool = _pool()
    return 0 if pool is None else pool.total_bytes()


def max_memory_allocated(device=None) -> int:
    """An upper bound of the peak of memory_allocated(): CuPy's pool keeps every block it
    allocated until empty_cache(), so what it holds is at least the largest live amount
    since then (0 without CUDA)."""
    return memory_reserved(device)


max_memory_reserved = max_memory_allocated


def reset_peak_memory_stats(device=None) -> None:
    """Start a new peak measurement: frees the blocks kept for reuse, after which the pool
    holds only live arrays again."""
    empty_cache()


def get_device_properties(device=None) -> SimpleNamespace:
    """name, total_memory, major, minor and multi_processor_count of a GPU."""
    props = _cupy().cuda.runtime.getDeviceProperties(_index(device))
    name = props["name"]
    return SimpleNamespace(name=name.decode() if isinstance(name, bytes) else name,
                           total_memory=props["totalGlobalMem"], major=props["major"],
                           minor=props["minor"], multi_processor_count=props["multiProcessorCount"])


def get_device_name(device=None) -> str:
    return get_device_properties(device).name


def get_device_capability(device=None) -> tuple:
    props = get_device_properties(device)
    return props.major, props.minor


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """Whether CUDA tensors can be bfloat16: a GPU and a CuPy that computes bfloat16 (14 and
    later), on a GPU with bfloat16 arithmetic (compute capability 8.0, Ampere, and later) or,
    with ``including_emulation``, on any GPU (CUDA emulates it in float32)."""
    if not is_available() or not _cuda.has_bfloat16():
        return False
    return including_emulation or get_device_capability()[0] >= 8
