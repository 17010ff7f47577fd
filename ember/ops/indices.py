"""Reading an index written in Python (``x[idx]``) as PyTorch reads it, into NumPy index tuples.

``to_index`` sorts an index into the part that makes a view and the part that gathers;
``_numpy_index`` checks it against the indexed shape and returns two steps NumPy applies in
turn: integers, slices and None (a view), then the advanced part (integer arrays and boolean
masks). PyTorch selects integers before advanced indexing, which is why ``x[0, :, [1, 2]]``
has shape (4, 2) here and (2, 4) in NumPy.
"""
from __future__ import annotations

import operator
import warnings

import numpy as np

from .._tensor import Tensor

# An index is read in PyTorch's order: its entries are first counted against the tensor's
# dimensions ("too many indices"), then taken one by one (a bad slice step or an int out of
# range raises at its turn), and index tensors are checked last, as the gather itself does.
# Each `...` skips the dimensions the other entries leave unindexed, so a second one passes
# the last dimension: x[..., 0, ...] is x[..., 0], and x[..., ..., 0] of a 2-d x fails.
_INVALID = ("only integers, slices (`:`), ellipsis (`...`), None, lists and long, int, byte or bool "
            "tensors are valid indices (got {})")


class _Written(tuple):
    """An index as written, ``(entries, None)`` when it makes a view (ints, slices, None and
    ...) or ``(None, entries)`` when it gathers; ``_numpy_index`` checks it against a shape."""


def _is_array(e) -> bool:
    return hasattr(e, "dtype") and hasattr(e, "shape")


def _dims(e) -> int:
    """Dimensions of the indexed array a NumPy index entry uses up (a k-d mask k)."""
    if _is_array(e):
        return e.ndim if e.dtype == np.bool_ else 1
    return 0 if e is None or type(e) is bool else 1


def _gathers(e) -> bool:
    """Whether an entry as written is an advanced index (a mask, a list or a non-scalar tensor)."""
    if isinstance(e, Tensor):
        return not (e._data.ndim == 0 and e._data.dtype.kind in "iu" and e._data.dtype != np.uint8)
    return type(e) is bool or isinstance(e, (list, tuple, range, np.ndarray))


def _span(e) -> int:
    """Dimensions an entry as written indexes, counted as PyTorch counts them before indexing."""
    if isinstance(e, Tensor):
        return e._data.ndim if e._data.dtype in (np.bool_, np.uint8) else 1
    return 0 if e is None or e is Ellipsis or type(e) is bool else 1


def _sequence(i):
    """A list, tuple or NumPy array as an index array: bool stays a mask, numbers become int64."""
    try:
        arr = np.asarray(i)
    except ValueError:
        raise ValueError("nested index lists must be rectangular (every inner list the same "
                         "length)") from None
    if arr.dtype == np.uint8 and isinstance(i, np.ndarray):
        warnings.warn("indexing with dtype uint8 is deprecated, use a bool tensor instead")
        return arr.astype(np.bool_)
    if arr.dtype == np.bool_:
        return arr
    if arr.dtype.kind not in "iuf" and arr.size:
        raise TypeError(f"index lists must hold integers or bools (got an element of type "
                        f"{arr.dtype})")
    return arr.astype(np.int64)  # floats truncate toward zero, as PyTorch converts them


def _entry(i):
    """One entry as NumPy reads it: int, slice, None, Ellipsis, bool or an array."""
    if isinstance(i, Tensor):
        i = i._data
        if i.dtype == np.uint8:
            warnings.warn("indexing with dtype uint8 is deprecated, use a bool tensor instead")
            i = i.astype(np.bool_)
        if i.dtype.kind in "iu" and i.ndim == 0:
            return int(i)  # a 0-d integer tensor selects like an int
        return i  # its dtype is checked after the other entries (_check_dtypes)
    if type(i) is bool or i is None or i is Ellipsis:
        return i
    if isinstance(i, (int, np.integer)):
        return int(i)
    if isinstance(i, slice):
        start, stop, step = (None if v is None else operator.index(v) for v in (i.start, i.stop, i.step))
        if step is not None and step <= 0:
            raise ValueError("slice step cannot be zero" if step == 0 else
                             "step must be greater than zero (reverse with x.flip(dim) instead)")
        return slice(start, stop, step)
    if isinstance(i, (list, tuple, range, np.ndarray)):  # x[range(n), y] as x[list(range(n)), y]
        return _sequence(i)
    if isinstance(i, str):
        raise TypeError(f"a str cannot index a tensor (got {i!r})")
    raise IndexError(_INVALID.format(type(i).__name__))


def _place(entries: tuple, shape: tuple) -> tuple:
    """The entries with each ... written out as full slices; PyTorch's checks in its order."""
    ndim = len(shape)
    count = sum(_span(e) for e in entries)
    if count > ndim:
        raise IndexError(f"too many indices for tensor of dimension {ndim}: the index has {count} "
                         f"entries that each index a dimension, the tensor's shape is {list(shape)}")
    gap = ndim - count
    out, arrays, room = [], [], ndim  # room: dimensions not yet passed by the entries placed so far
    for raw in entries:
        e = _entry(raw)
        if e is Ellipsis:
            out.extend([slice(None)] * max(0, min(gap, room)))
            room -= gap
            continue
        need = _dims(e)  # 0 for None and bools: a new dimension where the entries have got to
        if room < need:  # only after a second ... has passed the last dimension
            if isinstance(e, slice) and e == slice(None):
                room -= 1  # a full slice there changes nothing
                continue
            raise IndexError(f"too many indices for tensor of dimension {ndim} (shape {list(shape)}): "
                             "each `...` skips the dimensions not indexed, so a second one leaves "
                             f"none for the entry {raw!r} after it")
        d = ndim - room
        if type(e) is int and not -shape[d] <= e < shape[d]:
            raise IndexError(f"index {e} is out of bounds for dimension {d} with size {shape[d]}")
        if _is_array(e):
            arrays.append((d, e))
        out.append(e)
        room -= need
    for d, e in arrays:  # checked after the other entries, as PyTorch's gather checks them
        if e.dtype not in (np.int64, np.int32, np.bool_):
            raise IndexError(
                f"tensors used as indices must be long, int, byte or bool tensors (got {e.dtype})")
        if e.dtype == np.bool_ and e.shape != shape[d:d + e.ndim]:  # NumPy lets an empty mask pass
            raise IndexError(f"The shape of the mask {list(e.shape)} does not match the shape "
                             f"{list(shape[d:d + e.ndim])} of the dimensions it indexes, from dimension "
                             f"{d} of a tensor of shape {list(shape)}")
    return tuple(out)


def _split(entries: tuple) -> tuple:
    """Placed entries as ``(basic, advanced)``: two NumPy index tuples (either may be None)."""
    if not any(_is_array(e) or type(e) is bool for e in entries):
        return entries + (Ellipsis,), None  # the ... keeps an index of only ints a 0-d view
    if not any(type(e) is int for e in entries):
        return None, entries
    basic, adv = [], []
    for e in entries:
        if type(e) is int:
            basic.append(e)
        elif e is None or isinstance(e, slice):
            basic.append(e)
            adv.append(slice(None))
        else:
            basic.extend([slice(None)] * _dims(e))
            adv.append(e)
    return tuple(basic) + (Ellipsis,), tuple(adv)  # a view even when every dimension gets an int


def _as_tuple(idx) -> tuple:
    if isinstance(idx, tuple):
        return idx
    # A short list holding sequences, tensors, slices, None or ... is a tuple of indices (NumPy's
    # legacy rule, kept by PyTorch): x[[[0, 1], [1, 2]]] is x[[0, 1], [1, 2]].
    if isinstance(idx, list) and len(idx) < 32 and any(
            isinstance(i, (list, tuple, range, Tensor, slice)) or i is None or i is Ellipsis for i in idx):
        return tuple(idx)
    return (idx,)


def to_index(idx) -> tuple:
    """An index as written: ``index[1] is None`` when it makes a view. Applying it to an array
    (``_read``, ``_write``) checks it against the array's shape."""
    entries = _as_tuple(idx)
    return _Written((None, entries) if any(_gathers(e) for e in entries) else (entries, None))


def _numpy_index(index: tuple, shape: tuple) -> tuple:
    """``(basic, advanced)`` NumPy index tuples for an index from ``to_index`` (or already so)."""
    if type(index) is not _Written:
        return index
    return _split(_place(index[0] if index[1] is None else index[1], shape))


def _unread_values_unchecked(array, adv: tuple) -> tuple:
    """``adv`` with its index arrays zeroed when the result is empty through a dimension they
    do not index: PyTorch checks an index value only when it reads an element through it, so
    x[[9], 0:0] is empty, not an error (NumPy checks even then). An index into a dimension of
    size 0 is left as it is: it fails when not empty, in both."""
    shape, on_gpu = array.shape, type(array) is not np.ndarray
    d, empty, arrays, on_device = 0, False, {}, []
    for k, e in enumerate(adv):
        if isinstance(e, slice):
            empty |= len(range(*e.indices(shape[d]))) == 0
        elif _is_array(e) and e.dtype != np.bool_:
            if shape[d]:
                arrays[k] = np.zeros_like(e)
            if on_gpu:
                on_device.append((d, e, shape[d]))
        d += _dims(e)
    if not arrays or not (empty or 0 in shape[d:]):
        if on_device and _selects_any(adv):
            _check_device_bounds(on_device)
        return adv
    return tuple(arrays.get(k, e) for k, e in enumerate(adv))


def _selects_any(adv: tuple) -> bool:
    """Whether the advanced entries pick at least one position (a False mask or an empty
    index array broadcast the others to nothing, and then no index value is read)."""
    if any(type(e) is bool and not e for e in adv):
        return False
    sizes = [(int(e.sum()),) if e.dtype == np.bool_ else e.shape for e in adv if _is_array(e)]
    return 0 not in np.broadcast_shapes(*sizes)


def _check_device_bounds(arrays: list) -> None:
    """NumPy raises IndexError for an index out of range; CuPy wraps it around (or faults),
    so index arrays into a GPU array are range-checked here, in NumPy's words."""
    for d, e, n in arrays:
        if e.size and (int(e.min()) < -n or int(e.max()) >= n):
            bad = e[(e < -n) | (e >= n)][0]
            raise IndexError(f"index {int(bad)} is out of bounds for axis {d} with size {n}")
