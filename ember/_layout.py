"""Layouts and memory formats: ``ember.strided``, ``ember.channels_last``, ...

ember tensors are dense NumPy/CuPy arrays, so ``strided`` is the only layout. A memory
format is accepted wherever PyTorch takes one and checked as PyTorch checks it, but
ember keeps every result in row-major order: ``channels_last`` changes no values, only
where PyTorch would place them in memory.
"""
from __future__ import annotations


class layout:
    """How a tensor's elements are stored (``ember.strided``: a dense array)."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"ember.{self.name}"

    def __reduce__(self):  # singletons, also across pickling
        return (_from_name, (self.name,))


class memory_format:
    """The order of a tensor's dimensions in memory (``ember.contiguous_format``, ...)."""

    __slots__ = ("name", "rank")

    def __init__(self, name: str, rank: int | None = None):
        self.name, self.rank = name, rank

    def __repr__(self) -> str:
        return f"ember.{self.name}"

    def __reduce__(self):
        return (_from_name, (self.name,))


def _from_name(name: str):
    return globals()[name]


strided = layout("strided")
sparse_coo = layout("sparse_coo")
contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")
channels_last = memory_format("channels_last", 4)
channels_last_3d = memory_format("channels_last_3d", 5)


def check_layout(value, op: str) -> None:
    """Refuse a layout other than ``strided`` (ember has no sparse tensors)."""
    if value is None or value is strided:
        return
    if not isinstance(value, layout):
        raise TypeError(f"{op}(): argument 'layout' must be ember.layout, not {type(value).__name__}")
    raise NotImplementedError(
        f"{op}(): layout={value} is not supported: ember tensors are dense (layout=ember.strided)")


def check_memory_format(value, ndim: int, op: str) -> None:
    """PyTorch's checks of a ``memory_format=`` argument: its type, and the rank that
    channels_last (4) and channels_last_3d (5) need."""
    if value is None:
        return
    if not isinstance(value, memory_format):
        raise TypeError(f"{op}(): argument 'memory_format' must be ember.memory_format, "
                        f"not {type(value).__name__}")
    if value.rank is not None and ndim != value.rank:
        raise RuntimeError(f"required rank {value.rank} tensor to use {value.name} format "
                           f"({op} got a tensor of rank {ndim})")


def is_contiguous_as(array, fmt) -> bool:
    """Whether an array's strides are those of ``fmt`` (row-major, or channels last:
    dims (0, 2, 3, 1) / (0, 2, 3, 4, 1) row-major)."""
    if fmt is None or fmt is contiguous_format or fmt is preserve_format:
        return bool(array.flags.c_contiguous)
    order = (0, *range(2, fmt.rank), 1)
    if array.ndim != fmt.rank:
        return False
    expected = array.itemsize
    for d in reversed(order):
        if array.shape[d] != 1 and array.strides[d] != expected:
            return False
        expected *= array.shape[d]
    return True
