"""Indexing: x[idx], x[idx] = v, where, and the gather/scatter family."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.function import Function
from ..autograd.grad_mode import state
from .elementwise import promote, scalar_tensor
from .shape import _as_view

__all__ = ["where"]


def _index_part(i):
    if isinstance(i, Tensor):
        if i._data.dtype.kind not in "biu":
            raise IndexError(
                f"tensors used as indices must be long, int, byte or bool tensors (got {i.dtype})")
        return i._data
    if isinstance(i, list):
        arr = np.asarray([x.item() if isinstance(x, Tensor) else x for x in i])
        if arr.size and arr.dtype.kind not in "biu":
            raise IndexError(f"list indices must be integers or bools, got {arr.dtype}")
        return arr.astype(np.int64) if arr.size == 0 else arr
    if i is None or i is Ellipsis or isinstance(i, (int, np.integer, slice)):
        return i
    if isinstance(i, bool):
        return i
    raise IndexError(
        "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid "
        f"indices (got {type(i).__name__})")


def to_index(idx) -> tuple:
    """A Python/tensor index as a NumPy index tuple."""
    if not isinstance(idx, tuple):
        idx = (idx,)
    return tuple(_index_part(i) for i in idx)


def _is_basic(idx: tuple) -> bool:
    return all(i is None or i is Ellipsis or isinstance(i, (int, np.integer, slice)) for i in idx)


def _get(arr, idx, shape):
    try:
        return arr[idx]
    except IndexError as e:
        raise IndexError(f"{e} (indexing a tensor of shape {list(shape)})".replace("axis", "dimension")) from None


class GetItem(Function):
    @staticmethod
    def forward(ctx, a, idx):
        ctx.shape, ctx.idx = a._data.shape, idx
        return _get(a._data, idx, a._data.shape)

    @staticmethod
    def backward(ctx, grad):
        return IndexAddInto.apply(grad, ctx.shape, ctx.idx), None


class IndexAddInto(Function):
    """zeros(shape) with grad added at idx (duplicates accumulate): GetItem's adjoint."""

    @staticmethod
    def forward(ctx, grad, shape, idx):
        ctx.idx = idx
        out = np.zeros(shape, dtype=grad._data.dtype, like=grad._data)
        if _is_basic(idx):
            out[idx] = grad._data
        else:
            np.add.at(out, idx, grad._data)
        return out

    @staticmethod
    def backward(ctx, gg):
        return GetItem.apply(gg, ctx.idx), None, None


def getitem(self: Tensor, idx) -> Tensor:
    """``x[idx]``: ints, slices with steps, None, Ellipsis, bool masks and integer tensors."""
    np_idx = to_index(idx)
    out = GetItem.apply(self, np_idx)
    return _as_view(out, self) if _is_basic(np_idx) else out


class IndexPut(Function):
    @staticmethod
    def forward(ctx, a, value, idx):
        ctx.idx = idx
        out = a._data.copy()
        out[idx] = value._data
        return out

    @staticmethod
    def backward(ctx, grad):
        ga = gv = None
        if ctx.needs_input_grad[0]:
            ga = IndexPut.apply(grad, scalar_tensor(0, grad.dtype, grad._data), ctx.idx)
        if ctx.needs_input_grad[1]:
            gv = GetItem.apply(grad, ctx.idx)
        return ga, gv, None


def setitem(self: Tensor, idx, value) -> None:
    """``x[idx] = value``; value is a tensor or number, broadcast to the indexed shape."""
    np_idx = to_index(idx)
    if isinstance(value, Tensor):
        if value._data.dtype != self._data.dtype:
            value = value.to(self.dtype)
    else:
        value = scalar_tensor(value, self.dtype, self._data)
    if state.enabled and (self._requires_grad or value._requires_grad):
        self._assign(IndexPut.apply(self, value, np_idx))
        return
    try:
        self._data[np_idx] = value._data
    except (IndexError, ValueError) as e:
        raise type(e)(f"{e} (setting values of a tensor of shape {list(self.shape)}, value shape "
                      f"{list(value.shape)})") from None
    self._vc[0] += 1


class Where(Function):
    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.save_for_backward(cond)
        return np.where(cond._data, a._data, b._data)

    @staticmethod
    def backward(ctx, grad):
        cond, = ctx.saved_tensors
        zero = scalar_tensor(0, grad.dtype, grad._data)
        ga = Where.apply(cond, grad, zero) if ctx.needs_input_grad[1] else None
        gb = Where.apply(cond, zero, grad) if ctx.needs_input_grad[2] else None
        return None, ga, gb


def where(condition: Tensor, input=None, other=None) -> Tensor:
    """Elements of ``input`` where ``condition`` holds, else of ``other`` (broadcast).
    With only a condition, the indices of its true elements (like nonzero(as_tuple=True))."""
    if input is None and other is None:
        return tuple(Tensor._make(i) for i in np.nonzero(condition._data))
    if condition._data.dtype != np.bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype {condition.dtype}")
    a, b = promote(input, other)
    return Where.apply(condition, a, b)


TENSOR_METHODS = {"where": lambda self, condition, other: where(condition, self, other)}
INPLACE: list = []
