"""Sorting and searching: sort, argsort, topk, kthvalue, unique, searchsorted, bucketize.

Indices are computed on arrays; values are then gathered from the input with ``gather``,
so their gradients scatter back to the source positions with no code of their own.
NaN sorts as the largest value, as in PyTorch.
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import return_types
from .._tensor import Tensor
from ..backend.compat import as_array
from ..backend.device import xp_of
from .scatter import gather

__all__ = ["sort", "argsort", "msort", "topk", "kthvalue", "unique", "unique_consecutive",
           "searchsorted", "bucketize"]


def _dim(input: Tensor, dim: int) -> int:
    return input._wrap_dim(dim)


def _argsort(arr, axis: int, descending: bool):
    """Stable sort order along ``axis``: equal elements keep their order either way."""
    if not descending:
        return np.argsort(arr, axis=axis, kind="stable")
    # Sorting the reversed array ascending and reversing the result puts the largest (and NaN)
    # first while ties stay in their original order.
    flipped = np.flip(np.argsort(np.flip(arr, axis), axis=axis, kind="stable"), axis)
    return (arr.shape[axis] - 1) - flipped


def _values(input: Tensor, dim: int, indices) -> Tensor:
    return gather(input, dim, Tensor._make(indices))


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False):
    """Sorted values along ``dim`` and the indices they came from: ``(values, indices)``.

    The sort is always stable, so ``stable=True`` changes nothing.
    """
    d = _dim(input, dim)
    if input._data.ndim == 0:
        return return_types.sort(input.clone(), Tensor._make(np.zeros((), np.int64, like=input._data)))
    idx = _argsort(input._data, d, descending)
    return return_types.sort(_values(input, d, idx), Tensor._make(idx))


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The indices that sort ``input`` along ``dim`` (a stable sort)."""
    return sort(input, dim, descending, stable).indices


def msort(input: Tensor) -> Tensor:
    """``input`` sorted along its first dimension."""
    return sort(input, 0).values


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """The ``k`` largest (or smallest) elements along ``dim`` and their indices, best first."""
    d = _dim(input, dim)
    arr = input._data
    n = arr.shape[d] if arr.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"selected index k out of range (k={k} for dimension {d} of size {n})")
    if arr.ndim == 0:
        return return_types.topk(input.clone(), Tensor._make(np.zeros((), np.int64, like=arr)))
    if k == 0:
        idx = np.zeros(arr.shape[:d] + (0,) + arr.shape[d + 1:], dtype=np.int64, like=arr)
    elif k < n:
        # argpartition finds the k candidates in linear time; only those are sorted.
        part = np.argpartition(arr, n - k if largest else k - 1, axis=d)
        part = part[(slice(None),) * d + (slice(n - k, n) if largest else slice(0, k),)]
        order = _argsort(np.take_along_axis(arr, part, d), d, largest)
        idx = np.take_along_axis(part, order, d)
    else:
        idx = _argsort(arr, d, largest)
    return return_types.topk(_values(input, d, idx), Tensor._make(idx))


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False):
    """The k-th smallest element (k counts from 1) along ``dim`` and its index."""
    d = _dim(input, dim)
    arr = input._data
    n = arr.shape[d] if arr.ndim else 1
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d} "
                           f"(k={k}, size {n})")
    if arr.ndim == 0:
        return return_types.kthvalue(input.clone(), Tensor._make(np.zeros((), np.int64, like=arr)))
    idx = np.argpartition(arr, k - 1, axis=d)[(slice(None),) * d + (slice(k - 1, k),)]
    values, indices = _values(input, d, idx), Tensor._make(idx)
    if not keepdim:
        values, indices = values.squeeze(d), indices.squeeze(d)
    return return_types.kthvalue(values, indices)


def _unique_result(values, inverse, counts, return_inverse: bool, return_counts: bool):
    out = [Tensor._make(values)]
    if return_inverse:
        out.append(Tensor._make(inverse.astype(np.int64, copy=False)))
    if return_counts:
        out.append(Tensor._make(counts.astype(np.int64, copy=False)))
    return out[0] if len(out) == 1 else tuple(out)


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False,
           return_counts: bool = False, dim: int | None = None):
    """The distinct elements (or slices along ``dim``), in ascending order; optionally where
    each input element went (``inverse``, shaped like the input) and how often each occurs."""
    arr = input._data
    if dim is None:
        values, inverse, counts = np.unique(arr.reshape(-1), return_inverse=True, return_counts=True)
        inverse = inverse.reshape(arr.shape)
    else:
        d = _dim(input, dim)
        values, inverse, counts = np.unique(arr, return_inverse=True, return_counts=True, axis=d)
        inverse = inverse.reshape(-1)
    return _unique_result(values, inverse, counts, return_inverse, return_counts)


def unique_consecutive(input: Tensor, return_inverse: bool = False, return_counts: bool = False,
                       dim: int | None = None):
    """Collapse runs of equal consecutive elements (or slices along ``dim``) to one."""
    arr = input._data
    xp = xp_of(arr)
    if dim is None:
        flat, d = arr.reshape(-1), 0
        changed = flat[1:] != flat[:-1]
    else:
        d = _dim(input, dim)
        rows = np.moveaxis(arr, d, 0).reshape(arr.shape[d], -1)
        changed = np.any(rows[1:] != rows[:-1], axis=1)
        flat = arr
    n = flat.shape[d]
    starts = np.flatnonzero(np.concatenate((xp.ones(min(n, 1), dtype=bool), changed)))
    values = np.take(flat, starts, axis=d)
    inverse = np.cumsum(np.concatenate((xp.zeros(min(n, 1), dtype=np.int64), changed)))
    counts = np.diff(np.append(starts, n))
    if dim is None:
        inverse = inverse.reshape(arr.shape)
    return _unique_result(values, inverse, counts, return_inverse, return_counts)


def searchsorted(sorted_sequence: Tensor, input, *, out_int32: bool = False, right: bool = False,
                 side: str | None = None, sorter: Tensor | None = None) -> Tensor:
    """For each value, the index where it would be inserted into the sorted last dim of
    ``sorted_sequence`` to keep it sorted (after equal elements with right=True or side='right')."""
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"searchsorted(): side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise RuntimeError("searchsorted(): side and right can't be set to opposites, got "
                               "side of left while right was True")
        right = side == "right"
    seq = sorted_sequence._data
    if sorter is not None:
        seq = np.take_along_axis(seq, sorter._data, -1)
    scalar = not isinstance(input, Tensor)
    if scalar and not isinstance(input, (numbers.Number, np.generic)):
        raise TypeError(f"searchsorted(): values must be a tensor or a number, got {type(input).__name__}")
    values = xp_of(seq).asarray(input) if scalar else input._data
    if scalar and seq.ndim != 1:
        raise RuntimeError("searchsorted(): input value can be a scalar only when boundaries "
                           f"tensor dimension is 1, but we got boundaries tensor dim({seq.ndim})")
    side = "right" if right else "left"
    if seq.ndim <= 1:
        out = np.searchsorted(seq, values, side=side)
    else:
        if values.ndim != seq.ndim or values.shape[:-1] != seq.shape[:-1]:
            raise RuntimeError(
                "searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
                "dimensions of boundaries tensor and input value tensor must match, but we got "
                f"boundaries tensor {list(seq.shape)} and input value tensor {list(values.shape)}")
        rows, vals = seq.reshape(-1, seq.shape[-1]), values.reshape(-1, values.shape[-1])
        out = xp_of(vals).stack([np.searchsorted(r, v, side=side) for r, v in zip(rows, vals)]) \
            if rows.shape[0] else xp_of(vals).zeros(vals.shape, np.int64)
        out = out.reshape(values.shape)
    return Tensor._make(as_array(out).astype(np.int32 if out_int32 else np.int64, copy=False))


def bucketize(input, boundaries: Tensor, *, out_int32: bool = False, right: bool = False) -> Tensor:
    """For each element, the index of the bucket it falls in: with right=False, i such that
    boundaries[i-1] < x <= boundaries[i]; with right=True, boundaries[i-1] <= x < boundaries[i]."""
    if boundaries._data.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries._data.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


TENSOR_METHODS = {name: globals()[name] for name in
                  ("sort", "argsort", "msort", "topk", "kthvalue", "unique", "unique_consecutive")}
INPLACE: list = []
