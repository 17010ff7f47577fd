"""Indexing: x[idx], x[idx] = v, index_select/add/fill/put, masks, where, take, tril/triu.

How an index is read (PyTorch's rules and order of checks) is in indices.py; here it is applied.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .._layout import laid_out, memory_order, preserve_format
from .._tensor import Tensor
from ..autograd.function import Function
from ..autograd.grad_mode import state
from ..backend import dtypes, kernels
from ..backend.compat import add_at
from ..backend.device import xp_of
from .elementwise import cast, promote, scalar_tensor
from .indices import _dims, _is_array, _numpy_index, _unread_values_unchecked, to_index
from .shape import _as_view, expand
from .views import check_inplace, records_inplace

__all__ = ["where", "index_select", "index_add", "index_fill", "index_put", "masked_fill",
           "masked_select", "masked_scatter", "nonzero", "argwhere", "take", "tril", "triu"]


def _index_error(e: Exception, shape) -> IndexError:
    msg = str(e).replace("axis", "dimension").replace("array", "tensor")
    return IndexError(f"{msg} (indexing a tensor of shape {list(shape)})")


def _read(arr, index):
    basic, adv = _numpy_index(index, arr.shape)
    try:
        out = arr if basic is None else arr[basic]
        return out if adv is None else out[_unread_values_unchecked(out, adv)]
    except IndexError as e:
        raise _index_error(e, arr.shape) from None


def _write(arr, index, vals, accumulate: bool = False) -> None:
    """arr[index] = vals, or += vals with repeated positions adding up (accumulate)."""
    basic, adv = _numpy_index(index, arr.shape)
    try:
        if adv is None:
            if accumulate:
                arr[basic] += vals
            else:
                arr[basic] = vals
            return
        target = arr if basic is None else arr[basic]
        adv = _unread_values_unchecked(target, adv)
        if accumulate and any(_is_array(e) and e.dtype.kind in "iu" for e in adv):
            _accumulate(target, adv, vals)
        elif accumulate:  # masks never select a position twice
            target[adv] += vals
        else:
            target[adv] = vals
    except IndexError as e:
        raise _index_error(e, arr.shape) from None
    except ValueError as e:
        raise RuntimeError(f"cannot write a value of shape {list(np.shape(vals))} into a tensor of "
                           f"shape {list(arr.shape)} at this index: {e}") from None


def _out_of_bounds(arr, size: int, negative: bool = True):
    """The first index in ``arr`` outside [-size, size) (or [0, size)), or None."""
    lo = -size if negative else 0
    if arr.size == 0 or (arr.min() >= lo and arr.max() < size):
        return None
    return int(arr[(arr < lo) | (arr >= size)].reshape(-1)[0])


def _check_bounds(arr, size: int, dim: int, negative: bool = True, error=IndexError) -> None:
    bad = _out_of_bounds(arr, size, negative)
    if bad is not None:
        raise error(f"index {bad} is out of bounds for dimension {dim} with size {size}")


# ---- scatter-add: out[idx] += vals with duplicates --------------------------------------
def _adjacent(shape: tuple, adv: tuple):
    """``(first dim, dims spanned, integer arrays)`` when ``adv`` is full slices around one run
    of adjacent index arrays (embedding lookups, gather, index_select); otherwise None."""
    arrays, first, end, pos = [], None, None, 0
    for e in adv:
        if _is_array(e) and e.ndim:
            if end is not None and end != pos:
                return None  # a second run of arrays
            first = pos if first is None else first
            arrays.extend(np.nonzero(e) if e.dtype == np.bool_ else (e,))
            pos = end = pos + _dims(e)
        elif isinstance(e, slice) and e == slice(None):
            pos += 1
        else:  # None, a bool, a 0-d array or a partial slice
            return None
    return (first, end - first, arrays) if arrays else None


def _accumulate(out, adv: tuple, vals) -> None:
    """out[adv] += vals where repeated positions add up (np.add.at's meaning).

    np.add.at is fast only for a 1-D target and one index array. The common layouts (the
    index arrays of an embedding lookup, gather or index_select, between full slices) are
    turned into that case with the flat position of every element: 3-5x faster than
    np.add.at on rows (measured on embedding-sized gradients). Other array libraries have a
    fast atomic scatter-add behind np.add.at itself.
    """
    plan = None
    if type(out) is np.ndarray and out.ndim > 1 and out.flags.c_contiguous:
        plan = _adjacent(out.shape, adv)
    if plan is None:
        add_at(out, adv, vals)
        return
    d, k, arrays = plan
    shape = out.shape
    arrays = np.broadcast_arrays(*arrays)
    for j, a in enumerate(arrays):
        _check_bounds(a, shape[d + j], d + j)
    keys = np.ravel_multi_index(arrays, shape[d:d + k], mode="wrap")  # negative indices wrap
    pre, post = math.prod(shape[:d]), math.prod(shape[d + k:])
    flat = (np.arange(pre)[:, None, None] * math.prod(shape[d:d + k]) + keys.reshape(1, -1, 1)) * post \
        + np.arange(post)
    vals = np.broadcast_to(vals, shape[:d] + keys.shape + shape[d + k:])
    add_at(out.reshape(-1), flat.reshape(-1), vals.reshape(-1))


# ---- x[idx] and x[idx] = v -----------------------------------------------------------
class GetItem(Function):
    @staticmethod
    def forward(ctx, a, index):
        ctx.shape, ctx.index = a._data.shape, _numpy_index(index, a._data.shape)
        # the gradient is laid out as the input (a channels-last one's too), so that the sums
        # with its other gradients run on one layout
        ctx.order = None if a._data.flags.c_contiguous else memory_order(a._data, preserve_format)
        return _read(a._data, ctx.index)

    @staticmethod
    def backward(ctx, grad):
        return IndexAddInto.apply(grad, ctx.shape, ctx.index, ctx.order), None


class IndexAddInto(Function):
    """zeros(shape) with grad added at index (repeats add up): GetItem's adjoint, its dims in
    memory in ``order`` (None: row-major)."""

    @staticmethod
    def forward(ctx, grad, shape, index, order=None):
        ctx.index = index
        if order is None:
            out = np.zeros(shape, dtype=grad._data.dtype, like=grad._data)
        else:  # (_write reads the layout: its flat fast path takes row-major arrays only)
            out = laid_out(lambda s: xp_of(grad._data).zeros(s, grad._data.dtype), shape, order)
        _write(out, index, grad._data, accumulate=True)
        return out

    @staticmethod
    def backward(ctx, gg):
        return GetItem.apply(gg, ctx.index), None, None, None


class IndexPut(Function):
    """A copy of ``a`` with ``values`` written at ``index`` (added there with accumulate)."""

    @staticmethod
    def forward(ctx, a, values, index, accumulate):
        ctx.index = _numpy_index(index, a._data.shape)
        ctx.accumulate, ctx.value_ndim = accumulate, values._data.ndim
        out = a._data.copy()
        _write(out, ctx.index, values._data, accumulate)
        return out

    @staticmethod
    def backward(ctx, grad):
        ga = gv = None
        if ctx.needs_input_grad[0]:
            ga = grad if ctx.accumulate else \
                IndexPut.apply(grad, scalar_tensor(0, grad.dtype, grad._data), ctx.index, False)
        if ctx.needs_input_grad[1]:
            gv = GetItem.apply(grad, ctx.index)
            extra = ctx.value_ndim - gv.ndim
            if extra > 0:
                gv = gv.reshape((1,) * extra + tuple(gv.shape))
        return ga, gv, None, None


def getitem(self: Tensor, idx) -> Tensor:
    """``x[idx]``: ints, slices with steps, None, Ellipsis, bool masks and integer tensors."""
    if type(idx) is int and self._data.ndim and -self._data.shape[0] <= idx < self._data.shape[0]:
        # x[i], the commonest index (a dataset's item, a row): its NumPy index as to_index and
        # _place would make it, without their general analysis (4 us -> 2 us)
        return _as_view(_SELECT.apply(self, ((idx, Ellipsis), None)), self)
    index = to_index(idx)
    if index[1] is not None:
        return GetItem.apply(self, index)
    return _as_view(_basic_node(idx).apply(self, index), self)


# PyTorch's node names of a basic index: the last step it takes (x[0] selects, x[1:] slices,
# x[:, None] unsqueezes; x[...] and x[:, :] only alias).
_SELECT, _SLICE, _UNSQUEEZE, _ALIAS = (GetItem.node(n) for n in (
    "SelectBackward0", "SliceBackward0", "UnsqueezeBackward0", "AliasBackward0"))
_FULL = slice(None)


def _basic_node(idx) -> type:
    if isinstance(idx, slice):
        return _SLICE  # a lone slice, even a full one, is a slice in PyTorch
    node = _ALIAS
    for c in idx if isinstance(idx, tuple) else (idx,):
        if c is None:
            node = _UNSQUEEZE
        elif isinstance(c, slice):
            if c != _FULL:
                node = _SLICE
        elif c is not Ellipsis:
            node = _SELECT
    return node


def _value(value, like: Tensor, op: str) -> Tensor:
    """A value written into ``like``: a tensor cast to its dtype, or a number."""
    if isinstance(value, Tensor):
        return cast(value, like.dtype)
    if isinstance(value, (numbers.Number, np.generic)):
        return scalar_tensor(value, like.dtype, like._data)
    raise TypeError(f"{op}: can't assign a {type(value).__name__} to a {like.dtype} tensor "
                    "(wrap it in ember.tensor(...))")


def setitem(self: Tensor, idx, value) -> None:
    """``x[idx] = value``; value is a tensor or number, broadcast to the indexed shape."""
    index = to_index(idx)
    value = _value(value, self, "setitem")
    grad = state.enabled and value._requires_grad
    if index[1] is None:  # x[basic] = v writes through the view x[basic], as in PyTorch
        target = _as_view(GetItem.apply(self, index), self)
        check_inplace(target, (value,))
        while value._data.ndim > target._data.ndim and value._data.shape[0] == 1:
            value = value.squeeze(0)  # leading 1s of the value are dropped, as in PyTorch
        try:
            value = expand(value, target._data.shape)
        except RuntimeError:
            raise RuntimeError(f"shape mismatch: value tensor of shape {list(value.shape)} cannot be "
                               f"broadcast to indexing result of shape {list(target.shape)}") from None
        if grad or records_inplace(target):
            target._assign(value)
        else:
            target._store(value._data)
        return
    check_inplace(self, (value,))
    if grad or records_inplace(self):
        self._assign(IndexPut.apply(self, value, index, False))
        return
    _write(self._data, index, value._data)
    self._vc[0] += 1


def index_put(input: Tensor, indices, values, accumulate: bool = False) -> Tensor:
    """A copy of input with ``input[indices] = values`` (or ``+=``, repeats adding up)."""
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"index_put(): indices must be a tuple of tensors, got {type(indices).__name__}")
    if isinstance(values, Tensor) and values.dtype is not input.dtype:
        raise RuntimeError(
            "Index put requires the source and destination dtypes match, got "
            f"{input.dtype} for the destination and {values.dtype} for the source.")
    return IndexPut.apply(input, _value(values, input, "index_put"), to_index(tuple(indices)),
                          bool(accumulate))


# ---- dim-wise indexing -----------------------------------------------------------------
# PyTorch's CPU kernels differ in the error they raise for an index out of range: its type is
# kept here, since code catching IndexError from x[i] may also wrap these ops.
def _index_vector(index: Tensor, op: str):
    """A 0-d or 1-d int32/int64 index tensor as a 1-D array (its shape is checked first)."""
    if isinstance(index, Tensor) and index._data.ndim > 1:
        raise IndexError(f"{op}(): Index is supposed to be a vector (got shape {list(index.shape)})")
    if not isinstance(index, Tensor) or index._data.dtype not in (np.int64, np.int32):
        got = index.dtype if isinstance(index, Tensor) else type(index).__name__
        raise RuntimeError(f"{op}(): Expected dtype int32 or int64 for index (got {got})")
    return index._data.reshape(-1)


def _along(dim: int, arr) -> tuple:
    """The advanced index selecting ``arr`` along ``dim``."""
    return None, (slice(None),) * dim + (arr,)


def _check_in_range(idx, input: Tensor, d: int, op: str, error) -> None:
    """Every index in [0, size of dim d): negative indices are out of range for index_*."""
    size = input._data.shape[d] if input._data.ndim else 1
    bad = _out_of_bounds(idx, size, negative=False)
    if bad is not None:
        raise error(f"{op}(): index {bad} is out of range for dimension {d} of size {size} (input "
                    f"of shape {list(input.shape)}; index_* ops take no negative indices)")


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The slices of ``input`` along ``dim`` at the positions in the 1-D ``index``."""
    d = input._wrap_dim(dim)  # IndexError out of range, 0-d included
    idx = _index_vector(index, "index_select")
    if input._data.ndim == 0:
        if idx.size != 1:
            raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got {idx.size} "
                               "value(s)")
        _check_in_range(idx, input, d, "index_select", IndexError)
        return input.clone()
    if input._data.ndim == 1 or (d != 1 and input._data.size):
        _check_in_range(idx, input, d, "index_select", IndexError)
    elif idx.size:  # PyTorch's other kernels (dim 1, or an empty input) raise RuntimeError
        if input._data.shape[d] == 0:
            raise RuntimeError(f"index_select(): self indexing axis dim should be positive: dimension "
                               f"{d} of the input of shape {list(input.shape)} is empty")
        _check_in_range(idx, input, d, "index_select", RuntimeError)
    return GetItem.apply(input, _along(d, idx))


def _check_source(input: Tensor, d: int, n: int, source: Tensor) -> None:
    """index_add's source: the input's dtype and shape with ``n`` (the index length) at dim d."""
    if source.dtype is not input.dtype:
        raise RuntimeError(f"index_add_(): self ({input.dtype}) and source ({source.dtype}) must "
                           "have the same scalar type")
    if d >= max(source._data.ndim, 1):
        raise RuntimeError(f"index_add_(): Indexing dim {d} is out of bounds of the source of shape "
                           f"{list(source.shape)}")
    if n != 1 or source._data.ndim:  # a 0-d source goes with one index
        if not source._data.ndim:
            raise IndexError(f"index_add_(): a 0-d source goes with a single index, got {n} indices "
                             f"(give a source with {n} slices at dim {d})")
        if source._data.shape[d] != n:
            raise RuntimeError(f"index_add_(): Number of indices ({n}) should be equal to "
                               f"source.size(dim) ({source._data.shape[d]})")
    want, got = list(input.shape), list(source.shape)
    if want and got:
        del want[d], got[d]
    if want != got:
        raise RuntimeError(
            "index_add_(): source tensor shape must match self tensor shape, excluding the specified "
            f"dimension. Got self.shape = {list(input.shape)} source.shape = {list(source.shape)}")


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """A copy of input with ``alpha * source`` slices added at ``index`` along ``dim``."""
    d = input._wrap_dim(dim)  # IndexError out of range, 0-d included
    idx = _index_vector(index, "index_add_")
    _check_source(input, d, idx.size, source)
    ndim = input._data.ndim
    if ndim > 1 and input._data.size == 0:  # PyTorch adds nothing to an empty input, checking no index
        return input.clone()
    # PyTorch's kernel for an int64 index along the first or last of several dims raises
    # RuntimeError, its others IndexError
    outer = ndim > 1 and idx.dtype == np.int64 and d in (0, ndim - 1)
    _check_in_range(idx, input, d, "index_add_", RuntimeError if outer else IndexError)
    if alpha != 1:
        source = source * alpha
    if input._data.ndim == 0:
        return IndexPut.apply(input.reshape(1), source.reshape(1), _along(0, idx), True).reshape(())
    return IndexPut.apply(input, source, _along(d, idx), True)


def index_fill(input: Tensor, dim: int, index: Tensor, value) -> Tensor:
    """A copy of input with the slices at ``index`` along ``dim`` set to ``value``."""
    if not isinstance(index, Tensor) or index._data.dtype != np.int64:
        got = index.dtype if isinstance(index, Tensor) else type(index).__name__
        raise IndexError(f"index_fill_(): Expected dtype int64 for index (got {got})")
    d = input._wrap_dim(dim)
    if index._data.ndim > 1:
        raise RuntimeError(f"index_fill_(): Index has to be a vector/scalar (got shape {list(index.shape)})")
    idx = index._data.reshape(-1)
    n = input._data.shape[d] if input._data.ndim else 1
    mask = np.zeros(n, dtype=np.bool_, like=input._data)
    if input._data.size:
        _check_bounds(idx, n, d)
        mask[idx] = True
    elif idx.size and not n:  # PyTorch checks no index of an empty input, but fails on an empty dim
        raise RuntimeError(f"index_fill_(): cannot fill at {idx.size} indices along dimension {d} of "
                           f"size 0 (input of shape {list(input.shape)})")
    shape = [1] * input._data.ndim
    if shape:
        shape[d] = n
    return Where.apply(Tensor._make(mask.reshape(shape)), _fill_value(value, input, "index_fill_"), input)


# ---- masks -------------------------------------------------------------------------------
def _mask_shape(input: Tensor, mask: Tensor, op: str) -> tuple:
    """The shape ``input`` and the bool ``mask`` broadcast to."""
    if not isinstance(mask, Tensor) or mask._data.dtype != np.bool_:
        got = mask.dtype if isinstance(mask, Tensor) else type(mask).__name__
        raise RuntimeError(f"{op}: expected BoolTensor for mask, but got {got} "
                           "(build it with a comparison, e.g. x > 0, or call .bool())")
    try:
        return np.broadcast_shapes(input._data.shape, mask._data.shape)
    except ValueError:
        raise RuntimeError(f"{op}: mask of shape {list(mask.shape)} does not broadcast with input of "
                           f"shape {list(input.shape)}") from None


def _fill_value(value, input: Tensor, op: str) -> Tensor:
    if isinstance(value, Tensor) and value._data.ndim != 0:
        raise RuntimeError(f"{op} only supports a 0-dimensional value tensor, but got tensor with "
                           f"{value._data.ndim} dimension(s).")
    return _value(value, input, op)


def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """input with ``value`` where ``mask`` (broadcast) is True; keeps input's dtype."""
    _mask_shape(input, mask, "masked_fill_")
    node = Where.node("MaskedFillBackward1" if isinstance(value, Tensor) else "MaskedFillBackward0")
    return node.apply(mask, _fill_value(value, input, "masked_fill_"), input)


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """A 1-D tensor of the elements of input where ``mask`` (broadcast) is True."""
    shape = _mask_shape(input, mask, "masked_select")
    return GetItem.apply(input.expand(shape), (None, (np.broadcast_to(mask._data, shape),)))


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """input with the first elements of ``source``, in order, where ``mask`` is True."""
    shape = _mask_shape(input, mask, "masked_scatter")
    if source.dtype is not input.dtype:
        raise RuntimeError(f"masked_scatter_: expected self and source to have same dtypes but got "
                           f"{input.dtype} and {source.dtype}")
    m = np.broadcast_to(mask._data, shape)
    n = int(m.sum())
    if source.numel() < n:
        raise RuntimeError(f"masked_scatter: Number of elements of source ({source.numel()}) < "
                           f"number of ones in mask ({n})")
    return IndexPut.apply(input.expand(shape), source.reshape(-1)[:n], (None, (m,)), False)


def nonzero(input: Tensor, *, as_tuple: bool = False):
    """Indices of the non-zero elements: an (n, ndim) int64 tensor, or one 1-D tensor per dim."""
    arr = input._data
    if not as_tuple:
        return Tensor._make(np.argwhere(arr).astype(np.int64, copy=False))
    return tuple(Tensor._make(i.astype(np.int64, copy=False))
                 for i in np.nonzero(arr.reshape(1) if arr.ndim == 0 else arr))


def argwhere(input: Tensor) -> Tensor:
    """Indices of the non-zero elements as an (n, ndim) int64 tensor."""
    return nonzero(input)


def take(input: Tensor, index: Tensor) -> Tensor:
    """Elements of the flattened input at ``index`` (negative indices count from the end)."""
    if not isinstance(index, Tensor) or index._data.dtype.kind not in "iu":
        got = index.dtype if isinstance(index, Tensor) else type(index).__name__
        raise RuntimeError(f"take(): Expected a long tensor for index, but got {got}")
    n = input._data.size
    bad = _out_of_bounds(index._data, n)
    if bad is not None:
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} elements.")
    return GetItem.apply(input.reshape(-1), (None, (index._data,)))


# ---- where, tril / triu -------------------------------------------------------------------
class Where(Function):
    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.save_for_backward(cond)
        out = _selected(cond._data, a._data, b._data)
        return np.where(cond._data, a._data, b._data) if out is None else out

    @staticmethod
    def backward(ctx, grad):
        cond, = ctx.saved_tensors
        zero = scalar_tensor(0, grad.dtype, grad._data)
        ga = Where.apply(cond, grad, zero) if ctx.needs_input_grad[1] else None
        gb = Where.apply(cond, zero, grad) if ctx.needs_input_grad[2] else None
        return None, ga, gb


def _selected(cond, a, b):
    """np.where(cond, a, b) by a compiled select (kernels/select.py) where it applies: a
    C-contiguous boolean condition of at least one dimension, and two float32 or float64
    arrays of its shape, C-contiguous, or one of them 0-d; None otherwise."""
    k = kernels.cpu()
    if (k is None or type(cond) is not np.ndarray or cond.dtype != np.bool_ or not cond.ndim
            or not cond.flags.c_contiguous or not kernels.usable(a, b)):
        return None  # (a 0-d condition broadcasts to the arrays' shape: NumPy's)
    full = [x for x in (a, b) if x.shape == cond.shape and x.flags.c_contiguous]
    if len(full) == 2:
        out = np.empty_like(a)
        k.select.where(cond.reshape(-1), a.reshape(-1), b.reshape(-1), out.reshape(-1))
        return out
    if len(full) == 1 and (a.ndim == 0 or b.ndim == 0):
        array, value = (a, b[()]) if b.ndim == 0 else (b, a[()])
        out = np.empty_like(array)
        k.select.where_number(cond.reshape(-1), array.reshape(-1), value, b.ndim == 0, out.reshape(-1))
        return out
    return None


def where(condition: Tensor, input=None, other=None):
    """Elements of ``input`` where ``condition`` holds, else of ``other`` (broadcast; either may
    be a number). With only a condition, the indices of its true elements (nonzero(as_tuple=True))."""
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    if condition._data.dtype != np.bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with "
                           f"dtype {condition.dtype}")
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        dt = dtypes.result_type(dtypes.scalar_dtype(input), 0, dtypes.scalar_dtype(other), 0)
        a, b = scalar_tensor(input, dt, condition._data), scalar_tensor(other, dt, condition._data)
    else:
        a, b = promote(input, other)
    return Where.apply(condition, a, b)


class Tri(Function):
    @staticmethod
    def forward(ctx, a, diagonal, upper):
        ctx.diagonal, ctx.upper = diagonal, upper
        return (np.triu if upper else np.tril)(a._data, diagonal)

    @staticmethod
    def backward(ctx, grad):
        return Tri.apply(grad, ctx.diagonal, ctx.upper), None, None


def _tri(input: Tensor, diagonal: int, upper: bool) -> Tensor:
    if input._data.ndim < 2:
        raise RuntimeError(f"{'triu' if upper else 'tril'}: input tensor must have at least 2 "
                           f"dimensions (got shape {list(input.shape)})")
    return Tri.apply(input, int(diagonal), upper)


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (elements j <= i + diagonal); zeros elsewhere."""
    return _tri(input, diagonal, False)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (elements j >= i + diagonal); zeros elsewhere."""
    return _tri(input, diagonal, True)


TENSOR_METHODS = {name: globals()[name] for name in __all__ if name != "where"}
TENSOR_METHODS["where"] = lambda self, condition, other: where(condition, self, other)
INPLACE = ["index_add", "index_fill", "index_put", "masked_fill", "masked_scatter", "tril", "triu"]
