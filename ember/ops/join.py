"""Joining and splitting: cat/stack and their inverses split/chunk/unbind, and repetition
(repeat, tile, repeat_interleave).

The pieces of split/chunk/unbind are views of the input, made by one node each call so
that the backward pass joins their gradients in one step (``for row in x`` stays linear).
"""
from __future__ import annotations

import functools
from typing import Sequence

import numpy as np

from .._layout import contiguous_format, in_dim_order, memory_order, suggest_format
from .._tensor import Tensor
from ..autograd.function import Function
from ..backend import dtypes
from ..backend.device import xp_of
from ._out import with_out
from .elementwise import cast
from .indexing import index_select
from .shape import _as_view, _index_view, _shape_arg, expand, reshape, unsqueeze

__all__ = ["cat", "concat", "concatenate", "stack", "hstack", "vstack", "dstack", "column_stack",
           "atleast_1d", "atleast_2d", "atleast_3d", "split", "chunk", "tensor_split", "unbind",
           "tile", "repeat_interleave"]


def _tensor_list(tensors, op: str) -> list:
    if isinstance(tensors, Tensor):
        raise TypeError(f"{op}(): argument 'tensors' (position 1) must be tuple of Tensors, not Tensor")
    tensors = list(tensors)
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}(): expected a sequence of Tensors, but element {i} is "
                            f"{type(t).__name__}")
    return tensors


def _common(tensors: list) -> list:
    """The tensors cast to their promoted dtype, checked to share a device."""
    dt = functools.reduce(dtypes.promote_types, (t.dtype for t in tensors))
    dev = tensors[0].device
    for i, t in enumerate(tensors):
        if t.device != dev:
            raise RuntimeError(
                "Expected all tensors to be on the same device, but found at least two devices, "
                f"{dev} and {t.device} (tensor number {i} in the list)!")
    return [cast(t, dt) for t in tensors]


# ---- joining -----------------------------------------------------------------------
class Cat(Function):
    # As in PyTorch, 1-D empty tensors are skipped whatever the other shapes are (they still
    # get a gradient, of shape (0,)).
    @staticmethod
    def forward(ctx, dim, *tensors):
        ctx.dim = dim
        ctx.sizes = [None if t._data.shape == (0,) else t._data.shape[dim] for t in tensors]
        arrays = [t._data for t, s in zip(tensors, ctx.sizes) if s is not None]
        order = _shared_order(arrays)
        if order is not None:  # joined in the layout they share, as in PyTorch
            return in_dim_order(np.concatenate([a.transpose(order) for a in arrays], axis=order.index(dim)), order)
        return np.concatenate(arrays or [t._data for t in tensors], axis=dim)

    @staticmethod
    def backward(ctx, grad):
        out, start = [None], 0
        for size, needed in zip(ctx.sizes, ctx.needs_input_grad[1:]):
            if size is None:
                empty = np.zeros((0,), grad._data.dtype, like=grad._data)
                out.append(Tensor._make(empty) if needed else None)
                continue
            out.append(grad.narrow(ctx.dim, start, size) if needed else None)
            start += size
        return tuple(out)


def _shared_order(arrays: list):
    """The dims' memory order of a channels-last format that every array suggests (PyTorch's
    rule for cat's result), or None: row-major."""
    fmts = {suggest_format(a) for a in arrays}
    if len(fmts) != 1:
        return None
    fmt = fmts.pop()
    return None if fmt is contiguous_format else memory_order(arrays[0], fmt)


@with_out("cat")
def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Concatenate tensors along an existing dimension ``dim``; other sizes must match."""
    tensors = _tensor_list(tensors, "cat")
    if not tensors:
        raise ValueError("cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if t._data.ndim == 0:
            raise RuntimeError(
                f"zero-dimensional tensor (at position {i}) cannot be concatenated; use stack() or "
                "unsqueeze it first")
    tensors = _common(tensors)
    parts = [(i, t) for i, t in enumerate(tensors) if t._data.shape != (0,)]
    if not parts:
        return Cat.apply(0, *tensors)
    ref = parts[0][1]
    d = ref._wrap_dim(dim)
    shape = ref._data.shape
    for i, t in parts:
        if t._data.ndim != len(shape):
            raise RuntimeError(
                f"Tensors must have same number of dimensions: got {len(shape)} and {t._data.ndim} "
                f"(tensor number {i} in the list has shape {list(t.shape)})")
        for k, (a, b) in enumerate(zip(shape, t._data.shape)):
            if k != d and a != b:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {d}. Expected size {a} but got "
                    f"size {b} for tensor number {i} in the list.")
    return Cat.apply(d, *tensors)


concat = concatenate = cat


class Stack(Function):
    @staticmethod
    def forward(ctx, dim, *tensors):
        ctx.dim = dim
        return np.stack([t._data for t in tensors], axis=dim)

    @staticmethod
    def backward(ctx, grad):
        return (None,) + tuple(grad.select(ctx.dim, i) if needed else None
                               for i, needed in enumerate(ctx.needs_input_grad[1:]))


@with_out("cat")
def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors of equal shape along a new dimension ``dim``."""
    tensors = _tensor_list(tensors, "stack")
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    shape = tensors[0]._data.shape
    d = tensors[0]._wrap_dim(dim, len(shape) + 1)  # PyTorch checks the dim first
    for i, t in enumerate(tensors):
        if t._data.shape != shape:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(shape)} at entry 0 and "
                f"{list(t.shape)} at entry {i}")
    return Stack.apply(d, *_common(tensors))


def _atleast(t: Tensor, ndim: int) -> Tensor:
    shape = t._data.shape
    if len(shape) >= ndim:
        return t
    if ndim == 3 and len(shape) == 2:
        return reshape(t, shape + (1,))
    if ndim == 3 and len(shape) == 1:
        return reshape(t, (1,) + shape + (1,))
    return reshape(t, (1,) * (ndim - len(shape)) + shape)


def _atleast_each(tensors: tuple, ndim: int):
    """One tensor for one tensor argument, else a tuple (from varargs or one sequence)."""
    if len(tensors) == 1 and isinstance(tensors[0], Tensor):
        return _atleast(tensors[0], ndim)
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tensors[0]
    return tuple(_atleast(t, ndim) for t in _tensor_list(tensors, f"atleast_{ndim}d"))


def atleast_1d(*tensors):
    """Each tensor viewed with at least 1 dimension (0-d becomes shape (1,))."""
    return _atleast_each(tensors, 1)


def atleast_2d(*tensors):
    """Each tensor viewed with at least 2 dimensions (leading size-1 dims are added)."""
    return _atleast_each(tensors, 2)


def atleast_3d(*tensors):
    """Each tensor viewed with at least 3 dimensions: (n,) -> (1, n, 1), (m, n) -> (m, n, 1)."""
    return _atleast_each(tensors, 3)


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate horizontally: along dim 0 for 1-D tensors, else dim 1."""
    ts = [_atleast(t, 1) for t in _tensor_list(tensors, "hstack")]
    return cat(ts, 0 if ts and ts[0]._data.ndim == 1 else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate vertically (dim 0), treating 1-D tensors as rows."""
    return cat([_atleast(t, 2) for t in _tensor_list(tensors, "vstack")], 0)


def dstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate depth-wise (dim 2) after atleast_3d."""
    return cat([_atleast(t, 3) for t in _tensor_list(tensors, "dstack")], 2)


def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate along dim 1, treating 0-d and 1-d tensors as columns."""
    ts = [reshape(t, (t._data.size, 1)) if t._data.ndim < 2 else t
          for t in _tensor_list(tensors, "column_stack")]
    return cat(ts, 1)


# ---- splitting ---------------------------------------------------------------------
class Split(Function):
    @staticmethod
    def forward(ctx, a, sizes, dim):
        ctx.dim = dim
        lead, out, start = (slice(None),) * dim, [], 0
        for s in sizes:
            out.append(a._data[lead + (slice(start, start + s),)])
            start += s
        return tuple(out)

    @staticmethod
    def backward(ctx, *grads):
        return cat(grads, ctx.dim), None, None

    def fuse_backward(self, producer, grads):
        """The input gradients of ``producer`` straight from these pieces' gradients, when it is
        a linear layer whose output's last dim this split cut (linalg.linear_grads_of_pieces),
        instead of joining the pieces first; None otherwise (the engine runs both apart)."""
        if any(g is None for g in grads) or self.dim != grads[0]._data.ndim - 1:
            return None
        from .linalg import linear_grads_of_pieces  # linalg imports reduce, which imports this module
        return linear_grads_of_pieces(producer, grads)


def _split(input: Tensor, sizes: list, dim: int) -> tuple:
    return tuple(_as_view(p, input, ("multi_output", "SplitBackward0", i))
                 for i, p in enumerate(Split.apply(input, tuple(sizes), dim)))


def _split_dim(input: Tensor, dim: int, op: str) -> int:
    if input._data.ndim == 0:
        raise RuntimeError(f"{op} expects at least a 1-dimensional tensor")
    return input._wrap_dim(dim)


def split(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Views of consecutive pieces along ``dim``: of ``split_size`` each (the last may be
    smaller), or of the given list of sizes."""
    if isinstance(split_size_or_sections, (int, np.integer)) and split_size_or_sections < 0:
        raise RuntimeError("split expects split_size be non-negative, but got "
                           f"split_size={int(split_size_or_sections)}")  # checked before dim, as PyTorch
    d = _split_dim(tensor, dim, "split")
    n = tensor._data.shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)):
        s = int(split_size_or_sections)
        if s == 0:
            if n:
                raise RuntimeError(
                    f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}")
            return _split(tensor, [0], d)
        sizes = [s] * (n // s) + ([n % s] if n % s else [])
        return _split(tensor, sizes or [0], d)
    sizes = [int(s) for s in split_size_or_sections]
    if sum(sizes) != n or any(s < 0 for s in sizes):
        raise RuntimeError(
            f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at "
            f"dimension {d}), but got split_sizes={sizes}")
    return _split(tensor, sizes, d)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """Split into ``chunks`` pieces of ceil(size / chunks) (fewer when they run out)."""
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = _split_dim(input, dim, "chunk")
    n = input._data.shape[d]
    if n == 0:
        return _split(input, [0] * chunks, d)
    return split(input, -(-n // chunks), d)


def tensor_split(input: Tensor, indices_or_sections, dim: int = 0) -> tuple:
    """Split into ``sections`` nearly equal pieces (the first ones one larger), or at the given
    indices (pieces ``input[i0:i1]`` along ``dim``, with Python slicing rules)."""
    d = _split_dim(input, dim, "tensor_split")
    n = input._data.shape[d]
    spec = indices_or_sections
    if isinstance(spec, Tensor):
        spec = spec.item() if spec._data.ndim == 0 else spec.tolist()
    if isinstance(spec, (int, np.integer)):
        k = int(spec)
        if k <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {k}")
        q, r = divmod(n, k)
        return _split(input, [q + 1] * r + [q] * (k - r), d)
    bounds = [None] + [int(i) for i in spec] + [None]
    lead = (slice(None),) * d
    return tuple(_index_view(input, lead + (slice(a, b),)) for a, b in zip(bounds, bounds[1:]))


class Unbind(Function):
    @staticmethod
    def forward(ctx, a, dim):
        ctx.dim = dim
        lead = (slice(None),) * dim
        return tuple(a._data[lead + (i, Ellipsis)] for i in range(a._data.shape[dim]))  # 0-d views, not scalars

    @staticmethod
    def backward(ctx, *grads):
        return stack(grads, ctx.dim), None


def unbind(input: Tensor, dim: int = 0) -> tuple:
    """Views of every entry along ``dim``, which is removed."""
    if input._data.ndim == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    return tuple(_as_view(p, input, ("multi_output", "UnbindBackward0", i))
                 for i, p in enumerate(Unbind.apply(input, input._wrap_dim(dim))))


# ---- repetition --------------------------------------------------------------------
class Repeat(Function):
    @staticmethod
    def forward(ctx, a, reps):
        ctx.shape, ctx.reps = a._data.shape, reps
        return np.tile(a._data, reps)

    @staticmethod
    def backward(ctx, grad):
        # grad viewed as (r0, s0, r1, s1, ...) summed over the repeat axes
        shape = (1,) * (len(ctx.reps) - len(ctx.shape)) + ctx.shape
        split = [n for pair in zip(ctx.reps, shape) for n in pair]
        return grad.reshape(split).sum(tuple(range(0, len(split), 2))).reshape(ctx.shape), None


def repeat(input: Tensor, repeats, *more: int) -> Tensor:
    """A copy tiled ``repeats[i]`` times along each dimension (extra leading ones add dimensions)."""
    reps = _shape_arg(repeats, more)
    shape = input._data.shape
    if len(reps) < len(shape):
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions of "
            f"tensor (repeat dims {list(reps)}, tensor shape {list(shape)})")
    padded = (1,) * (len(reps) - len(shape)) + shape
    out_shape = [r * s for r, s in zip(reps, padded)]
    bad = [r for r in reps if r < 0]
    if bad:
        raise RuntimeError(f"Trying to create tensor with negative dimension {bad[0]}: {out_shape}")
    return Repeat.apply(input, reps)


def tile(input: Tensor, dims) -> Tensor:
    """repeat() where fewer ``dims`` than dimensions are padded with leading 1s."""
    reps = _shape_arg(dims)
    return repeat(input, (1,) * (input._data.ndim - len(reps)) + reps)


def repeat_interleave(input: Tensor, repeats=None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Repeat each element ``repeats`` times along ``dim`` (the flattened input when None).

    ``repeats`` is an int or a 1-D tensor with one count per element; with only a tensor of
    counts, returns ``arange(len(counts))`` repeated by them.
    """
    if repeats is None:
        counts = input._data
        if counts.ndim > 1 or counts.dtype.kind not in "iu":
            raise RuntimeError(
                f"repeat_interleave: repeats must be a 0-d or 1-d integer tensor, got {input.dtype} "
                f"of shape {list(input.shape)}")
        if np.any(counts < 0):
            raise RuntimeError("Repeats must be non-negative")
        idx = np.repeat(xp_of(counts).arange(counts.size, dtype=np.int64), counts.reshape(-1))
        return Tensor._make(idx)
    if dim is None:
        input, d = reshape(input, (-1,)), 0
    elif input._data.ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions (repeat_interleave "
                         "of a 0-d tensor takes dim=None)")
    else:
        d = input._wrap_dim(dim)
    if input._data.ndim == 0:
        input = reshape(input, (1,))
    n = input._data.shape[d]
    if isinstance(repeats, Tensor) and repeats._data.size == 1 and repeats._data.ndim <= 1:
        repeats = repeats.item()
    if isinstance(repeats, (int, np.integer)):
        r = int(repeats)
        if r < 0:
            raise RuntimeError("Repeats must be non-negative")
        shape = input._data.shape
        wide = expand(unsqueeze(input, d + 1), shape[:d + 1] + (r,) + shape[d + 1:])
        out = reshape(wide, shape[:d] + (n * r,) + shape[d + 1:])
        return out if out._base is None else out.clone()  # always a copy, as in PyTorch
    counts = repeats._data
    if counts.ndim != 1 or counts.shape[0] != n:
        raise RuntimeError(
            f"repeats must have the same size as input along dim, but got repeats.size(0) = "
            f"{counts.shape[0] if counts.ndim else 1} and input.size({d}) = {n}")
    if np.any(counts < 0):
        raise RuntimeError("Repeats must be non-negative")
    idx = np.repeat(xp_of(counts).arange(n, dtype=np.int64), counts)
    return index_select(input, d, Tensor._make(idx))


TENSOR_METHODS = {name: globals()[name] for name in
                  ("split", "chunk", "tensor_split", "unbind", "tile", "repeat_interleave")}
TENSOR_METHODS["repeat"] = repeat
INPLACE: list = []
