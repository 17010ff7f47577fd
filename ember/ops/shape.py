"""Shape and layout: views (reshape, permute, expand, narrow, diagonal, ...), copies
that move elements (flip, roll) and device moves.

Views share storage with their input, as in PyTorch: ``views.mark_view`` gives the
result the input's version counter and root base (see views.py for in-place writes).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .._layout import check_memory_format, contiguous_format, copy_in, is_contiguous_as, preserve_format
from .._tensor import Size, Tensor
from ..autograd.function import Function
from ..backend import dtypes
from ..backend.device import move, to_device as _to_device
from .views import mark_view

__all__ = ["reshape", "permute", "transpose", "swapaxes", "swapdims", "unsqueeze", "squeeze",
           "expand_copy", "broadcast_to", "broadcast_tensors", "broadcast_shapes", "clone",
           "flatten", "ravel", "unflatten", "t", "movedim", "moveaxis", "narrow", "select",
           "diagonal", "diag_embed", "diag", "flip", "fliplr", "flipud", "roll"]


def _as_view(out: Tensor, base: Tensor, creation=None) -> Tensor:
    """Mark ``out`` as a view of ``base`` if NumPy made it one (reshape may copy)."""
    return mark_view(out, base, creation) if np.may_share_memory(out._data, base._data) else out


def _shape_arg(first, more: tuple = ()) -> tuple:
    """Sizes given PyTorch's two ways, ``f(2, 3)`` or ``f((2, 3))``, as a tuple of ints."""
    sizes = (first,) + more if more or not isinstance(first, (tuple, list)) else first
    return tuple(int(s) for s in sizes)


def _dims_arg(input: Tensor, dims, op: str) -> tuple:
    """Wrapped, duplicate-free dims from an int or a sequence."""
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    out = tuple(input._wrap_dim(d) for d in dims)
    for i, d in enumerate(out):
        if d in out[:i]:
            raise RuntimeError(f"{op}: dim {d} appears multiple times in the list of dims")
    return out


def infer_shape(shape: tuple, numel: int, op: str, src: tuple) -> tuple:
    """Resolve one -1 in ``shape`` and check the element count matches."""
    if shape.count(-1) > 1:
        raise RuntimeError(f"{op}: only one dimension can be inferred (got shape {list(shape)})")
    bad = [s for s in shape if s < -1]
    if bad:
        raise RuntimeError(f"{op}: invalid shape dimension {bad[0]} in {list(shape)}")
    known = math.prod([s for s in shape if s != -1])
    if -1 in shape:
        if known == 0:
            raise RuntimeError(
                f"cannot reshape tensor of {numel} elements into shape {list(shape)} because the "
                "unspecified dimension size -1 can be any value and is ambiguous")
        if numel % known:
            raise RuntimeError(
                f"shape '{list(shape)}' is invalid for input of size {numel} (input shape {list(src)})")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    if math.prod(shape) != numel:
        raise RuntimeError(
            f"shape '{list(shape)}' is invalid for input of size {numel} (input shape {list(src)}, "
            f"in {op})")
    return shape


# ---- reshaping ---------------------------------------------------------------------
class Reshape(Function):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a._data.shape
        return a._data.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape), None


def reshape(input: Tensor, shape, *more: int) -> Tensor:
    """The same elements in a new shape (a view when the layout allows it); one size may be -1."""
    shape = infer_shape(_shape_arg(shape, more), input._data.size, "reshape", input._data.shape)
    return _as_view(Reshape.apply(input, shape), input)


def view(input: Tensor, size, *more: int) -> Tensor:
    """reshape() that refuses to copy, as PyTorch's view() does."""
    if isinstance(size, dtypes.dtype):
        return input.to(size)  # view(dtype) is not supported beyond same-size casts
    target = infer_shape(_shape_arg(size, more), input._data.size, "view", input._data.shape)
    if not input._data.flags.c_contiguous and target != input._data.shape:
        try:
            probe = input._data.view()
            probe.shape = target  # raises when a copy would be needed
        except AttributeError:
            raise RuntimeError(
                f"view size is not compatible with input tensor's size and stride (input shape "
                f"{list(input.shape)}, target {list(target)}): at least one dimension spans across "
                "two contiguous subspaces. Use .reshape(...) instead.") from None
    return reshape(input, target)


def view_as(input: Tensor, other: Tensor) -> Tensor:
    """``input.view(other.shape)``."""
    return view(input, other._data.shape)


def reshape_as(input: Tensor, other: Tensor) -> Tensor:
    """``input.reshape(other.shape)``."""
    return reshape(input, other._data.shape)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dimensions ``start_dim..end_dim`` into one (a view when possible)."""
    input._wrap_dim(start_dim), input._wrap_dim(end_dim)  # IndexError out of range, 0-d included
    shape = input._data.shape
    if not shape:
        return reshape(input, (1,))
    s, e = input._wrap_dim(start_dim), input._wrap_dim(end_dim)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    return reshape(input, shape[:s] + (math.prod(shape[s:e + 1]),) + shape[e + 1:])


def ravel(input: Tensor) -> Tensor:
    """The elements as a 1-D tensor (a view when possible)."""
    return reshape(input, (-1,))


def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    """Split dimension ``dim`` into ``sizes`` (one entry may be -1)."""
    d = input._wrap_dim(dim)
    sizes = tuple(int(s) for s in sizes)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    n = input._data.shape[d]
    known = math.prod([s for s in sizes if s != -1])
    if sizes.count(-1) > 1:
        raise RuntimeError(f"unflatten: only one dimension can be inferred (got sizes {list(sizes)})")
    if -1 in sizes and known and n % known == 0:
        sizes = tuple(n // known if s == -1 else s for s in sizes)
    if -1 in sizes or math.prod(sizes) != n:
        raise RuntimeError(
            f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {dim} "
            f"({n}) in the input tensor")
    shape = input._data.shape
    return reshape(input, shape[:d] + sizes + shape[d + 1:])


# PyTorch's node names of the views Reshape and Permute make
_UNSQUEEZE = Reshape.node("UnsqueezeBackward0")
_SQUEEZE = tuple(Reshape.node(f"SqueezeBackward{i}") for i in range(3))  # (), (dim), (dims)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """A view with a size-1 dimension inserted at ``dim``."""
    d = input._wrap_dim(dim, input._data.ndim + 1)
    shape = input._data.shape[:d] + (1,) + input._data.shape[d:]
    return _as_view(_UNSQUEEZE.apply(input, shape), input)


def squeeze(input: Tensor, dim=None) -> Tensor:
    """A view without the size-1 dimensions (all, or those among ``dim``)."""
    shape = input._data.shape
    if dim is None:
        dims = [i for i, s in enumerate(shape) if s == 1]
    else:
        dims = [input._wrap_dim(d) for d in ((dim,) if isinstance(dim, (int, np.integer)) else dim)]
        dims = [d for d in dims if shape and shape[d] == 1]
    if not dims:
        return input
    new = tuple(s for i, s in enumerate(shape) if i not in dims)
    overload = 0 if dim is None else 1 if isinstance(dim, (int, np.integer)) else 2
    return _as_view(_SQUEEZE[overload].apply(input, new), input)


# ---- permuting ---------------------------------------------------------------------
class Permute(Function):
    @staticmethod
    def forward(ctx, a, dims):
        ctx.dims = dims
        return a._data.transpose(dims)

    @staticmethod
    def backward(ctx, grad):
        inverse = [0] * len(ctx.dims)
        for i, d in enumerate(ctx.dims):
            inverse[d] = i
        return grad.permute(inverse), None


def permute(input: Tensor, dims, *more: int) -> Tensor:
    """A view with the dimensions reordered: result dim i is input dim ``dims[i]``."""
    dims = _shape_arg(dims, more)
    n = input._data.ndim
    if len(dims) != n:
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the length "
            f"of the desired ordering of dimensions i.e. input.dim() = {n} is not equal to "
            f"len(dims) = {len(dims)}")
    dims = tuple(input._wrap_dim(d) for d in dims)
    if len(set(dims)) != n:
        raise RuntimeError(f"permute(): duplicate dims are not allowed (got {list(dims)})")
    return mark_view(Permute.apply(input, dims), input)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """A view with dimensions ``dim0`` and ``dim1`` swapped."""
    input._wrap_dim(dim0), input._wrap_dim(dim1)  # IndexError out of range, 0-d included
    n = input._data.ndim
    if n == 0:
        return input
    d0, d1 = input._wrap_dim(dim0), input._wrap_dim(dim1)
    dims = list(range(n))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return mark_view(_TRANSPOSE.apply(input, tuple(dims)), input)


swapaxes = swapdims = transpose
_TRANSPOSE, _T = Permute.node("TransposeBackward0"), Permute.node("TBackward0")


def t(input: Tensor) -> Tensor:
    """Transpose of a matrix (0-d and 1-d tensors are returned as they are)."""
    if input._data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input._data.ndim}D")
    return mark_view(_T.apply(input, (1, 0)), input) if input._data.ndim == 2 else input


def movedim(input: Tensor, source, destination) -> Tensor:
    """A view with dimensions ``source`` moved to positions ``destination`` (ints or sequences)."""
    src = (source,) if isinstance(source, (int, np.integer)) else tuple(source)
    dst = (destination,) if isinstance(destination, (int, np.integer)) else tuple(destination)
    if len(src) != len(dst):
        raise RuntimeError(
            f"movedim: Invalid source or destination dims: source ({list(src)} dims) should contain "
            f"the same number of dims as destination ({list(dst)} dims)")
    src = tuple(input._wrap_dim(d) for d in src)
    dst = tuple(input._wrap_dim(d) for d in dst)
    for name, ds in (("source", src), ("destination", dst)):
        if len(set(ds)) != len(ds):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({list(ds)})")
    if input._data.ndim == 0:  # dim 0 (or -1) of a 0-d tensor can only stay where it is
        return input
    order = [d for d in range(input._data.ndim) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(input, order)


moveaxis = movedim


# ---- broadcasting ------------------------------------------------------------------
class Expand(Function):
    @staticmethod
    def forward(ctx, a, shape):
        return np.broadcast_to(a._data, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad, None  # the engine sums the gradient back to the input's shape


def expand(input: Tensor, size, *more: int) -> Tensor:
    """A broadcast view; -1 keeps a dimension's size."""
    sizes = _shape_arg(size, more)
    shape = input._data.shape
    if len(sizes) < len(shape):
        raise RuntimeError(
            f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to the "
            f"number of dimensions in the tensor ({len(shape)})")
    lead = len(sizes) - len(shape)
    target = []
    for i, s in enumerate(sizes):
        cur = shape[i - lead] if i >= lead else None
        if s == -1:
            if cur is None:
                raise RuntimeError(f"expand: -1 is not allowed in a leading, non-existing dimension ({i})")
            s = cur
        elif s < 0:
            raise RuntimeError(f"expand: invalid size {s} at dimension {i} (target sizes {list(sizes)})")
        elif cur is not None and cur != s and cur != 1:
            raise RuntimeError(
                f"The expanded size of the tensor ({s}) must match the existing size ({cur}) at "
                f"non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: {list(shape)}")
        target.append(s)
    target = tuple(target)
    if target == shape:
        return input
    return _as_view(Expand.apply(input, target), input)


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    """``input.expand(other.shape)``."""
    return expand(input, other._data.shape)


def broadcast_to(input: Tensor, size) -> Tensor:
    """``input.expand(size)``."""
    return expand(input, tuple(size))


expand_copy = broadcast_to


def broadcast_shapes(*shapes) -> Size:
    """The shape that tensors of ``shapes`` broadcast to (each an int or a sequence)."""
    shapes = [(s,) if isinstance(s, (int, np.integer)) else tuple(s) for s in shapes]
    n = max((len(s) for s in shapes), default=0)
    out = [1] * n
    owner = [0] * n  # which argument set each size, for the error message
    for i, s in enumerate(shapes):
        for k, size in enumerate(s):
            d = n - len(s) + k
            if size < 0:
                raise RuntimeError(f"broadcast_shapes: negative size {size} in shape {list(s)}")
            if size == 1 or size == out[d]:
                continue
            if out[d] != 1:
                raise RuntimeError(
                    f"The size of tensor a ({out[d]}) must match the size of tensor b ({size}) at "
                    f"non-singleton dimension {d} (shapes {[list(x) for x in (shapes[owner[d]], s)]} "
                    f"of arguments {owner[d]} and {i})")
            out[d], owner[d] = size, i
    return Size(out)


def broadcast_tensors(*tensors: Tensor) -> tuple:
    """The tensors expanded (as views) to their common broadcast shape."""
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tuple(tensors[0])
    shape = broadcast_shapes(*(t._data.shape for t in tensors))
    return tuple(expand(t, shape) for t in tensors)


# ---- slicing views -----------------------------------------------------------------
def _index_view(input: Tensor, index: tuple) -> Tensor:
    """``input[index]`` for an index of ints and slices: a view."""
    from .indexing import getitem  # indexing imports this module
    return getitem(input, index)


def narrow(input: Tensor, dim: int, start, length: int) -> Tensor:
    """A view of ``length`` elements of dimension ``dim`` from ``start`` (negative counts from the end)."""
    if input._data.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = input._wrap_dim(dim)
    start, length, n = int(start), int(length), input._data.shape[d]
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if not -n <= start <= n:
        raise IndexError(
            f"start out of range (expected to be in range of [{-n}, {n}], but got {start})")
    if start < 0:
        start += n
    if start + length > n:
        raise RuntimeError(
            f"start ({start}) + length ({length}) exceeds dimension size ({n}) of dimension {d} of a "
            f"tensor of shape {list(input.shape)}.")
    return _index_view(input, (slice(None),) * d + (slice(start, start + length),))


def select(input: Tensor, dim: int, index: int) -> Tensor:
    """A view of entry ``index`` of dimension ``dim``, which is removed."""
    if input._data.ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = input._wrap_dim(dim)
    index, n = int(index), input._data.shape[d]
    if not -n <= index < n:
        raise IndexError(
            f"select(): index {index} out of range for tensor of size {list(input.shape)} at "
            f"dimension {d}")
    return _index_view(input, (slice(None),) * d + (index % n,))


# ---- diagonals ---------------------------------------------------------------------
def _diagonal_array(arr, offset: int, dim1: int, dim2: int):
    """NumPy's diagonal view, made writable so in-place changes reach the base as in PyTorch."""
    out = np.diagonal(arr, offset, dim1, dim2)
    if not getattr(out.flags, "writeable", True):
        out.flags.writeable = True
    return out


class Diagonal(Function):
    @staticmethod
    def forward(ctx, a, offset, dim1, dim2):
        ctx.args = (a._data.shape, offset, dim1, dim2)
        return _diagonal_array(a._data, offset, dim1, dim2)

    @staticmethod
    def backward(ctx, grad):
        return DiagonalScatter.apply(grad, *ctx.args), None, None, None


class DiagonalScatter(Function):
    """Zeros of ``shape`` with ``src`` on the given diagonal: Diagonal's adjoint."""

    @staticmethod
    def forward(ctx, src, shape, offset, dim1, dim2):
        ctx.args = (offset, dim1, dim2)
        out = np.zeros(shape, dtype=src._data.dtype, like=src._data)
        _diagonal_array(out, offset, dim1, dim2)[...] = src._data
        return out

    @staticmethod
    def backward(ctx, grad):
        return Diagonal.apply(grad, *ctx.args), None, None, None, None


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """A view of the diagonal of the ``dim1`` x ``dim2`` planes, appended as the last dimension."""
    input._wrap_dim(dim1), input._wrap_dim(dim2)  # IndexError out of range, 0-d included
    if input._data.ndim < 2:
        raise RuntimeError(
            f"diagonal(): expected a tensor with at least 2 dimensions, got {input._data.ndim}")
    d1, d2 = input._wrap_dim(dim1), input._wrap_dim(dim2)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return _as_view(Diagonal.apply(input, int(offset), d1, d2), input)


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Tensors whose ``dim1`` x ``dim2`` diagonals hold the last dimension of ``input``."""
    if input._data.ndim == 0:
        raise RuntimeError("diag_embed(): expected a tensor with at least 1 dimension, got 0")
    n = input._data.ndim + 1
    d1, d2 = input._wrap_dim(dim1, n), input._wrap_dim(dim2, n)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    size = input._data.shape[-1] + abs(int(offset))
    shape = list(input._data.shape[:-1])
    for d in sorted((d1, d2)):
        shape.insert(d, size)
    return DiagonalScatter.apply(input, tuple(shape), int(offset), d1, d2)


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A 1-D tensor as a square diagonal matrix, or a copy of a matrix's ``diagonal``-th diagonal."""
    if input._data.ndim == 1:
        return diag_embed(input, diagonal, 0, 1)
    if input._data.ndim == 2:
        return clone(Diagonal.apply(input, int(diagonal), 0, 1))
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input._data.ndim}D")


# ---- copies that move elements -----------------------------------------------------
class Flip(Function):
    @staticmethod
    def forward(ctx, a, dims):
        ctx.dims = dims
        return np.flip(a._data, dims).copy() if dims and a._data.ndim else a._data.copy()

    @staticmethod
    def backward(ctx, grad):
        return Flip.apply(grad, ctx.dims), None


def flip(input: Tensor, dims, *more: int) -> Tensor:
    """A copy with the order of elements reversed along ``dims``."""
    return Flip.apply(input, _dims_arg(input, _shape_arg(dims, more), "flip"))


def fliplr(input: Tensor) -> Tensor:
    """Reverse dimension 1 (columns of a matrix)."""
    if input._data.ndim < 2:
        raise RuntimeError(f"Input must be >= 2-d (fliplr got shape {list(input.shape)}).")
    return flip(input, 1)


def flipud(input: Tensor) -> Tensor:
    """Reverse dimension 0 (rows of a matrix)."""
    if input._data.ndim < 1:
        raise RuntimeError("Input must be >= 1-d (flipud got a 0-d tensor).")
    return flip(input, 0)


class Roll(Function):
    @staticmethod
    def forward(ctx, a, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        return np.roll(a._data, shifts, axis=dims)

    @staticmethod
    def backward(ctx, grad):
        return Roll.apply(grad, tuple(-s for s in ctx.shifts), ctx.dims), None, None


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """Shift elements cyclically along ``dims`` (the flattened tensor when None or empty)."""
    shifts = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
    dims = () if dims is None else (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    if not shifts:
        raise RuntimeError("roll: `shifts` required (got an empty sequence of shifts)")
    if len(shifts) != len(dims) and (dims or len(shifts) != 1):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    if input._data.size == 0:  # PyTorch copies an empty tensor without looking at the dims
        return input.clone()
    if not dims:
        return Roll.apply(input, (int(shifts[0]),), None)
    if input._data.ndim == 0:
        raise IndexError(f"Dimension specified as {dims[0]} but tensor has no dimensions (roll of a 0-d "
                         "tensor takes dims=None)")
    return Roll.apply(input, tuple(int(s) for s in shifts), tuple(input._wrap_dim(d) for d in dims))


class Clone(Function):
    @staticmethod
    def forward(ctx, a, memory_format):
        return copy_in(a._data, memory_format)

    @staticmethod
    def backward(ctx, grad):
        return grad, None


def clone(input: Tensor, *, memory_format=preserve_format) -> Tensor:
    """A copy with its own storage, laid out in ``memory_format`` (by default the input's own
    order where it is dense); gradients flow back to the input."""
    check_memory_format(memory_format, input._data.ndim, "clone")
    return Clone.apply(input, memory_format)


def contiguous(input: Tensor, memory_format=contiguous_format) -> Tensor:
    """The tensor itself when its storage is laid out in ``memory_format`` (row-major by
    default), else a copy that is."""
    check_memory_format(memory_format, input._data.ndim, "contiguous")
    if is_contiguous_as(input._data, memory_format):
        return input
    if memory_format is preserve_format:
        raise RuntimeError("preserve memory format is unsupported by the contiguous operator")
    return Clone.apply(input, memory_format)


class ToDevice(Function):
    @staticmethod
    def forward(ctx, a, device):
        ctx.src = a.device
        return move(a._data, device)

    @staticmethod
    def backward(ctx, grad):
        return to_device(grad, ctx.src), None


def to_device(input: Tensor, device) -> Tensor:
    """The tensor on ``device`` (itself when already there)."""
    dev = _to_device(device)
    return input if input.device == dev else ToDevice.apply(input, dev)


TENSOR_METHODS = {name: globals()[name] for name in __all__
                  if name not in ("expand_copy", "broadcast_tensors", "broadcast_shapes")}
TENSOR_METHODS.update(view=view, view_as=view_as, reshape_as=reshape_as, expand=expand,
                      expand_as=expand_as, contiguous=contiguous)
INPLACE: list = []
