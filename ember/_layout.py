"""Layouts and memory formats: ``ember.strided``, ``ember.channels_last``, ...

ember tensors are dense NumPy/CuPy arrays, so ``strided`` is the only layout. A memory
format is the order of a tensor's dims in memory, as in PyTorch: ``contiguous_format`` is
row-major; ``channels_last`` keeps an (N, C, H, W) tensor's values in (N, H, W, C) order (an
array whose ``transpose(0, 2, 3, 1)`` is row-major), ``channels_last_3d`` the 5-D
equivalent; ``preserve_format`` keeps a dense tensor's own order. Values never depend on
it: only speed does. NumPy's ufuncs keep their operands' order, so a channels-last tensor
stays so through elementwise ops, and convolutions and batch norm compute it in place
(oneDNN's NHWC kernels), as PyTorch's do.
"""
from __future__ import annotations

import numpy as np


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


def is_dense(array) -> bool:
    """Whether an array's elements fill a block of memory with no gaps or overlaps (in any
    order of its dims): PyTorch's "non-overlapping and dense"."""
    if array.size == 0:
        return True
    expected = array.itemsize
    for stride, size in sorted((abs(s), n) for s, n in zip(array.strides, array.shape) if n != 1):
        if stride != expected:
            return False
        expected *= size
    return True


def suggest_format(array):
    """PyTorch's ``suggest_memory_format``: ``channels_last`` (``_3d``) for a 4-D (5-D) array
    whose strides grow from C through the spatial dims to N (dims of size 1 aside; not for a
    row-major array, a broadcast channel dim or an (N, C, 1, 1) one), else ``contiguous_format``."""
    fmt = channels_last if array.ndim == 4 else channels_last_3d if array.ndim == 5 else None
    if fmt is None or array.flags.c_contiguous or array.strides[1] == 0:
        return contiguous_format
    smallest = 0
    for d in (1, *range(array.ndim - 1, 1, -1), 0):
        size, stride = array.shape[d], array.strides[d]
        if size == 0 or stride < smallest or (d == 0 and smallest == array.strides[1]):
            return contiguous_format
        smallest = stride * size if size > 1 else stride
    return fmt


def is_channels_last(array) -> bool:
    """Whether an (N, C, *) array holds its values channels-last, dims (0, 2, ..., 1) row-major,
    and is not row-major too (as arrays of one channel or of 1x1 planes are): the input that
    ember's channels-last kernels take as its row-major (N, *, C) view."""
    return not array.flags.c_contiguous and array.transpose(0, *range(2, array.ndim), 1).flags.c_contiguous


def _order(fmt) -> tuple:
    return (0, *range(2, fmt.rank), 1)


def memory_order(array, fmt) -> tuple:
    """The dims of ``array`` from outermost to innermost in ``fmt``'s layout. ``preserve_format``
    keeps a dense array's own order and gives another the order of the format it suggests."""
    if fmt is preserve_format:
        if array.flags.c_contiguous:
            return tuple(range(array.ndim))
        if is_dense(array):  # size-1 dims sort anywhere: they move no element
            return tuple(sorted(range(array.ndim), key=lambda d: -abs(array.strides[d])))
        fmt = suggest_format(array)
    if fmt is None or fmt is contiguous_format:
        return tuple(range(array.ndim))
    return _order(fmt)


NHWC = _order(channels_last)  # (N, C, H, W)'s dims in channels-last memory order: (0, 2, 3, 1)


def in_dim_order(array, order: tuple):
    """An array whose dims are another's taken in ``order`` (a view of it in memory order, or
    what was computed on one), seen in that other array's dim order again."""
    return array.transpose(tuple(np.argsort(order)))


def laid_out(make, shape: tuple, order: tuple):
    """A new array of ``shape`` whose dims lie in memory in ``order``: ``make`` (an allocator
    taking a shape) called with the permuted shape, then seen through the inverse permutation."""
    if order == tuple(range(len(shape))):
        return make(shape)
    return in_dim_order(make(tuple(shape[d] for d in order)), order)


def copy_in(array, fmt):
    """A copy of ``array`` laid out in ``fmt`` (see ``memory_order``)."""
    return copy_ordered(array, memory_order(array, fmt))


def copy_ordered(array, order: tuple):
    """A copy of ``array`` whose dims lie in memory in ``order`` (outermost first)."""
    if order == tuple(range(array.ndim)):
        return array.copy()
    return in_dim_order(array.transpose(order).copy(), order)


def element_strides(array) -> tuple:
    """PyTorch's ``stride()`` of an array: its strides in elements. A dim of size 1 whose NumPy
    stride is 0 (an inserted axis), and every dim of a new empty array, take the row-major value
    (the next dim's stride times its size), as PyTorch gives them."""
    shape, strides, item = array.shape, array.strides, array.itemsize
    canonical = array.size == 0 and not any(strides)  # a new empty array: NumPy's strides are all 0
    out = [0] * array.ndim
    next_stride = 1
    for d in range(array.ndim - 1, -1, -1):
        out[d] = next_stride if canonical or (shape[d] <= 1 and not strides[d]) else strides[d] // item
        next_stride = out[d] * max(shape[d], 1)
    return tuple(out)


def same_layout(a, b) -> bool:
    """Whether two arrays of one shape place their elements alike in memory."""
    return (a.flags.c_contiguous and b.flags.c_contiguous) or a.strides == b.strides


def flat_view(array):
    """A 1-D view of a dense array's elements in memory order (row-major order for a row-major
    array), or None where its elements leave gaps or overlap."""
    if array.flags.c_contiguous:
        return array.reshape(-1)
    if not is_dense(array):
        return None
    ordered = array.transpose(memory_order(array, preserve_format))
    return ordered.reshape(-1) if ordered.flags.c_contiguous else None  # (not one of reversed strides)


def dim_order(shape: tuple, strides: tuple) -> tuple:
    """PyTorch's ``Tensor.dim_order()`` of a tensor of ``shape`` and element ``strides``: its
    dims from outermost to innermost in memory. Dims are insertion-sorted by stride (largest
    outermost; a stride of 0 leaves two dims unordered, as do equal strides unless the sizes
    order them); the second value says whether some neighbours stayed unordered (ambiguous)."""
    n = len(shape)

    def outer(a: int, b: int) -> int:
        """1 where dim a lies outside dim b, -1 inside, 0 where the strides do not tell."""
        sa, sb = strides[a], strides[b]
        if sa == 0 or sb == 0:
            return 0
        if sa == sb:
            return 0 if _at_least(shape[b], shape[a]) else 1
        if _at_least(sb, sa):
            return -1
        return 1 if _at_least(sa, sb) else 0

    perm = list(range(n - 1, -1, -1))  # innermost first while sorting
    for i in range(1, n):
        j = i
        for k in range(i - 1, -1, -1):
            order = outer(perm[k], perm[j])
            if order > 0:
                perm[k], perm[j] = perm[j], perm[k]
                j = k
            elif order < 0:
                break
    ambiguous = any(outer(perm[i], perm[i + 1]) != -1 for i in range(n - 1))
    return tuple(reversed(perm)), ambiguous


def _at_least(a: int, b: int) -> bool:
    """PyTorch's stride comparison: a >= b, or a multiple of b (with 0 below everything)."""
    return b == 0 or (a != 0 and (a >= b or a % b == 0))
