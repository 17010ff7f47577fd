"""Gather and scatter along a dimension: gather, scatter, scatter_add, take_along_dim.

Each position of ``index`` names a position of the input: itself, with its ``dim``
coordinate replaced by the index's value. Gather reads there, scatter writes there,
scatter_add adds there (repeats adding up); gather and scatter_add are each other's adjoint.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.function import Function
from ..autograd.grad_mode import state
from ..backend.compat import multiply_at, open_grid
from ..backend.device import xp_of
from .elementwise import scalar_tensor
from .indexing import _accumulate, _check_bounds, _value

__all__ = ["gather", "scatter", "scatter_add", "take_along_dim"]


def _coords(index, dim: int) -> tuple:
    """Index arrays picking, for each position of ``index``, that position with its ``dim``
    coordinate replaced by the index's value."""
    grid = open_grid(index.shape, xp_of(index))
    grid[dim] = index
    return tuple(grid)


def _empty(index) -> bool:
    return isinstance(index, Tensor) and index._data.size == 0


def _check_gather(op: str, input: Tensor, dim: int, index: Tensor, src: Tensor | None = None):
    if not isinstance(index, Tensor) or index._data.dtype != np.int64:
        raise RuntimeError(f"{op}(): Expected dtype int64 for index")
    if index._data.ndim != input._data.ndim:
        raise RuntimeError(
            f"{op}(): Index tensor must have the same number of dimensions as input tensor "
            f"(index {list(index.shape)}, input {list(input.shape)})")
    d = input._wrap_dim(dim)
    for i, n in enumerate(index._data.shape):
        if (i != d and n > input._data.shape[i]) or (src is not None and n > src._data.shape[i]):
            raise RuntimeError(
                f"{op}(): Expected index {list(index.shape)} to be no larger than self "
                f"{list(input.shape)} apart from dimension {d}"
                + (f" and to be no larger size than src {list(src.shape)}" if src is not None else ""))
    _check_bounds(index._data, input._data.shape[d], d, negative=False, error=RuntimeError)
    return d


class Gather(Function):
    @staticmethod
    def forward(ctx, a, dim, index):
        ctx.shape, ctx.dim, ctx.index = a._data.shape, dim, index
        return a._data[_coords(index, dim)]

    @staticmethod
    def backward(ctx, grad):
        zeros = Tensor._make(np.zeros(ctx.shape, dtype=grad._data.dtype, like=grad._data))
        return ScatterAdd.apply(zeros, grad, ctx.dim, ctx.index), None, None


class ScatterAdd(Function):
    """A copy of ``a`` with ``src`` added at the positions ``index`` picks along ``dim``."""

    @staticmethod
    def forward(ctx, a, src, dim, index):
        ctx.dim, ctx.index = dim, index
        out = a._data.copy()
        _accumulate(out, _coords(index, dim), src._data)
        return out

    @staticmethod
    def backward(ctx, grad):
        gs = Gather.apply(grad, ctx.dim, ctx.index) if ctx.needs_input_grad[1] else None
        return grad, gs, None, None


class Scatter(Function):
    """A copy of ``a`` with ``src`` written at the positions ``index`` picks along ``dim``."""

    @staticmethod
    def forward(ctx, a, src, dim, index):
        ctx.dim, ctx.index = dim, index
        out = a._data.copy()
        out[_coords(index, dim)] = src._data
        return out

    @staticmethod
    def backward(ctx, grad):
        ga = gs = None
        if ctx.needs_input_grad[0]:
            ga = Scatter.apply(grad, scalar_tensor(0, grad.dtype, grad._data), ctx.dim, ctx.index)
        if ctx.needs_input_grad[1]:
            gs = Gather.apply(grad, ctx.dim, ctx.index)
        return ga, gs, None, None


def _vector_case(input: Tensor, index) -> bool:
    """PyTorch takes a 0-d input or index as a vector of one element next to a 0-d or 1-d one."""
    n, m = input._data.ndim, index._data.ndim if isinstance(index, Tensor) else 1
    return min(n, m) == 0 and max(n, m) <= 1


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    """out[i][j][k] = input[index[i][j][k]][j][k] (for dim=0); out has index's shape.
    The gradient is dense (``sparse_grad`` is accepted for compatibility)."""
    input._wrap_dim(dim)  # IndexError out of range, 0-d included
    if _empty(index):  # PyTorch checks nothing more: an empty result of index's shape
        return input.reshape(-1)[:0].reshape(index.shape).clone()
    if _vector_case(input, index):
        return gather(input.reshape(-1), 0, index.reshape(-1)).reshape(index.shape)
    d = _check_gather("gather", input, dim, index)
    return Gather.apply(input, d, index._data)


def _src(src, index: Tensor, input: Tensor, op: str) -> Tensor:
    """The source of a scatter: a number, or a tensor cut to index's shape."""
    if not isinstance(src, Tensor):
        return _value(src, input, op)
    if src.dtype is not input.dtype:
        raise RuntimeError(f"{op}(): Expected self.dtype to be equal to src.dtype "
                           f"(got {input.dtype} and {src.dtype})")
    if src._data.shape != index._data.shape:
        src = src[tuple(slice(0, n) for n in index._data.shape)]
    return src


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of input with src[i][j][k] added at [index[i][j][k]][j][k] (for dim=0)."""
    input._wrap_dim(dim)  # IndexError out of range, 0-d included
    if _empty(index):  # PyTorch checks nothing more: input unchanged
        return input.clone()
    if _vector_case(input, index):
        return scatter_add(input.reshape(-1), 0, index.reshape(-1), src.reshape(-1)).reshape(input.shape)
    d = _check_gather("scatter_add", input, dim, index, src if isinstance(src, Tensor) else None)
    return ScatterAdd.apply(input, _src(src, index, input, "scatter_add"), d, index._data)


def scatter(input: Tensor, dim: int, index: Tensor, src=None, value=None, *,
            reduce: str | None = None) -> Tensor:
    """A copy of input with src (a tensor or a number) written at [index[i][j][k]][j][k]
    (for dim=0); ``reduce='add'`` or ``'multiply'`` combines with the values there instead."""
    if (src is None) == (value is None):
        raise TypeError("scatter() expects exactly one of src or value")
    src = value if src is None else src
    input._wrap_dim(dim)  # IndexError out of range, 0-d included
    if _empty(index):  # PyTorch checks nothing more: input unchanged
        return input.clone()
    if _vector_case(input, index):
        src = src.reshape(-1) if isinstance(src, Tensor) else src
        return scatter(input.reshape(-1), 0, index.reshape(-1), src, reduce=reduce).reshape(input.shape)
    if reduce == "add":
        return scatter_add(input, dim, index, src if isinstance(src, Tensor) else
                           _value(src, input, "scatter").expand(index.shape))
    d = _check_gather("scatter", input, dim, index, src if isinstance(src, Tensor) else None)
    src = _src(src, index, input, "scatter")
    if reduce is None:
        return Scatter.apply(input, src, d, index._data)
    if reduce != "multiply":
        raise RuntimeError(f"scatter(): reduce argument must be either add or multiply, got {reduce!r}")
    if state.enabled and (input._requires_grad or src._requires_grad):
        raise RuntimeError("scatter(reduce='multiply') has no gradient: call it under ember.no_grad() "
                           "or on detached tensors")
    out = input._data.copy()
    multiply_at(out, _coords(index._data, d), src._data)
    return Tensor._make(out)


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """Values of input at ``indices`` along ``dim``, input and indices broadcast elsewhere
    (with dim=None, of the flattened input at the flattened indices)."""
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    if indices.ndim != input.ndim:
        raise RuntimeError(
            "take_along_dim(): input and indices should have the same number of dimensions, but got "
            f"{input.ndim} dimensions for input, and {indices.ndim} dimensions for indices")
    if input._data.ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions (take_along_dim of a "
                         "0-d tensor takes dim=None)")
    d = input._wrap_dim(dim)
    if input.ndim:
        a, i = list(input.shape), list(indices.shape)
        a[d] = i[d] = 1
        try:
            common = list(np.broadcast_shapes(tuple(a), tuple(i)))
        except ValueError:
            raise RuntimeError(f"take_along_dim(): input {list(input.shape)} and indices "
                               f"{list(indices.shape)} do not broadcast apart from dimension {d}") from None
        input = input.expand(common[:d] + [input.shape[d]] + common[d + 1:])
        indices = indices.expand(common[:d] + [indices.shape[d]] + common[d + 1:])
        if np.any(indices._data < 0):  # negative indices count from the end, as in PyTorch
            indices = Tensor._make(np.where(indices._data < 0, indices._data + input.shape[d], indices._data))
    return gather(input, d, indices)


TENSOR_METHODS = {name: globals()[name] for name in __all__}
INPLACE = ["scatter", "scatter_add"]
