"""Devices and the array library behind each: NumPy on the CPU, CuPy on CUDA.

This is the only module that decides which array library runs. CuPy is imported
the first time a CUDA device is used, never on a CPU-only run.
"""
from __future__ import annotations

import numpy as np


class CudaUnavailableError(RuntimeError, AssertionError):
    """CUDA was asked for where none can run. PyTorch's CPU-only build raises AssertionError
    for some such calls and RuntimeError for others; this is both, so either handler catches it."""


class device:
    """Where a tensor's data lives: ``ember.device("cpu")`` or ``ember.device("cuda:0")``.

    ``device("cuda")`` has no index, as in PyTorch: it means the current GPU
    (``ember.cuda.set_device``) wherever data is placed, and differs from ``device("cuda:0")``.
    As a context manager (``with ember.device("cuda"):``) it is the default device of the
    tensors created inside the block.
    """

    __slots__ = ("type", "index")

    def __init__(self, type_or_spec, index: int | None = None):
        if isinstance(type_or_spec, device):
            type_or_spec, index = type_or_spec.type, type_or_spec.index
        spec = str(type_or_spec)
        if ":" in spec:
            spec, _, idx = spec.partition(":")
            if index is not None or not idx.isdigit():
                raise RuntimeError(f"Invalid device string: '{type_or_spec}'")
            index = int(idx)
        if spec not in ("cpu", "cuda"):
            raise RuntimeError(
                f"Expected one of cpu, cuda device type at start of device string: {type_or_spec}")
        self.type = spec
        self.index = index

    @property
    def xp(self):
        """The array module (numpy or cupy) for arrays on this device."""
        if self.type == "cpu":
            return np
        from . import cuda
        return cuda.cupy()

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        idx = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{idx})"

    def __reduce__(self):
        return (device, (str(self),))

    def __enter__(self) -> "device":
        _entered.append(_default[0])
        set_default_device(self)
        return self

    def __exit__(self, *exc) -> None:
        _default[0] = _entered.pop()


CPU = device("cpu")

# The device creation functions use when given none (a CUDA one without an index: the
# current GPU): one cell the context manager and set_default_device share; _entered holds
# what each `with` replaced.
_default: list = [CPU]
_entered: list = []


def set_default_device(d) -> None:
    """Make ``d`` the device of tensors created without a ``device=`` argument (None: the CPU)."""
    if isinstance(d, int):  # PyTorch reads an int as an index on the current accelerator
        from . import cuda
        if not cuda.is_available():
            raise CudaUnavailableError("Cannot access accelerator device when none is available.")
        d = device("cuda", d)
    _default[0] = CPU if d is None else device(d)


def get_default_device() -> device:
    """The device of tensors created without a ``device=`` argument."""
    d = _default[0]
    return current_gpu() if d.type == "cuda" and d.index is None else d


def current_gpu() -> device:
    """The current GPU (``ember.cuda.set_device``); the unavailable-CUDA error without one."""
    from . import cuda
    return device("cuda", cuda.cupy().cuda.Device().id)


def resolve(d) -> device:
    """A creation function's ``device=`` argument: None means the default device."""
    if d is None:
        return get_default_device()
    return to_device(d)


def to_device(d) -> device:
    """Where data goes for a device argument: a device, a string such as 'cuda:1', an int (a
    CUDA index) or None (CPU). A CUDA device without an index is the current GPU (when there
    is one; without, moving data raises the unavailable-CUDA error)."""
    if d is None:
        return CPU
    if isinstance(d, int):
        return device("cuda", d)
    d = d if isinstance(d, device) else device(d)
    if d.type == "cuda" and d.index is None:
        from . import cuda
        if cuda.is_available():
            return current_gpu()
    return d


def device_of(array) -> device:
    """The device an array lives on."""
    if isinstance(array, np.ndarray):
        return CPU
    return device("cuda", array.device.id)


def move(array, dev: device):
    """Copy an array to a device (no copy when it is already there)."""
    if dev.type == "cpu":
        return array if isinstance(array, (np.ndarray, np.generic)) else array.get()
    from . import cuda
    return cuda.to_gpu(array, dev.index)


def xp_of(array):
    """The array module an array belongs to. Ops mostly call ``np.*`` directly, which
    CuPy arrays dispatch to CuPy; this is for the calls that create new arrays."""
    if type(array) is np.ndarray:
        return np
    from . import cuda
    return cuda.cupy()


def data_ptr(array) -> int:
    """Address of an array's first element (NumPy or CuPy)."""
    return array.ctypes.data if isinstance(array, np.ndarray) else array.data.ptr
