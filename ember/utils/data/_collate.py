"""Turning a list of samples into a batch (``default_collate``) and converting a single
sample's arrays to tensors (``default_convert``), with PyTorch's rules."""
from __future__ import annotations

import collections.abc
import copy
import operator
import re
from typing import Any, Callable

import numpy as np

from ..._tensor import Tensor
from ...backend import dtypes
from ...ops.creation import as_tensor
from ...ops.join import stack

__all__ = ["collate", "default_collate", "default_collate_fn_map", "default_convert"]

# NumPy dtypes of strings and objects: they have no tensor counterpart.
_NP_STR_OBJ = re.compile(r"[SaUO]")

_ERR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def default_convert(data: Any) -> Any:
    """Convert NumPy arrays (and scalars) inside ``data`` to tensors, keeping the structure.

    Used as the DataLoader's ``collate_fn`` when automatic batching is off (``batch_size=None``).
    """
    if isinstance(data, Tensor):
        return data
    if isinstance(data, (np.ndarray, np.generic)) and not isinstance(data, (np.str_, np.bytes_)):
        if isinstance(data, np.ndarray) and _NP_STR_OBJ.search(data.dtype.str):
            return data
        return as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        converted = {key: default_convert(data[key]) for key in data}
        if isinstance(data, collections.abc.MutableMapping):
            clone = copy.copy(data)
            clone.update(converted)
            return clone
        try:
            return type(data)(converted)
        except TypeError:
            return converted
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        converted = [default_convert(d) for d in data]
        if isinstance(data, collections.abc.MutableSequence):
            clone = copy.copy(data)
            clone[:] = converted
            return clone
        try:
            return type(data)(converted)
        except TypeError:
            return converted
    return data


# ---- a batch of scalars -----------------------------------------------------------
# PyTorch batches numbers with torch.tensor(batch): the dtype promotes over every element
# (a 0-d tensor or NumPy scalar counts with its own dtype, a Python float as the default
# dtype), then each element is read as one number of that dtype through Python's number
# protocols, which decide the errors. The batch's first element is a number here (that is
# how collate dispatched), so the result is 1-d.

def _element_dtype(x) -> dtypes.dtype:
    if isinstance(x, (np.ndarray, np.generic)):  # before float: np.float64 is a float
        return dtypes.from_numpy_dtype(x.dtype)
    if isinstance(x, float):
        return dtypes.get_default_dtype()
    if isinstance(x, bool):
        return dtypes.bool_
    if isinstance(x, int):
        return dtypes.int64
    if isinstance(x, Tensor):
        return x.dtype
    if isinstance(x, (str, bytes)):
        raise TypeError(f"new(): invalid data type '{type(x).__name__}'")
    if isinstance(x, collections.abc.Sequence):
        return _promoted_dtype(x)
    raise RuntimeError(f"Could not infer dtype of {type(x).__name__}")


def _promoted_dtype(items) -> dtypes.dtype:
    result = None
    for x in items:
        d = _element_dtype(x)
        result = d if result is None else dtypes.promote_types(result, d)
    return dtypes.get_default_dtype() if result is None else result


def _as_float(x) -> float:
    if isinstance(x, Tensor) and x.numel() != 1:
        raise ValueError("only one element tensors can be converted to Python scalars")
    if hasattr(type(x), "__float__"):
        return float(x)
    if hasattr(type(x), "__index__"):
        return float(operator.index(x))
    raise TypeError(f"must be real number, not {type(x).__name__}")


def _as_int(x) -> int:
    if isinstance(x, float):  # truncated, as PyTorch still accepts floats for integer dtypes
        return int(x)
    value = operator.index(x)
    if not -2 ** 63 <= value < 2 ** 63:
        raise ValueError("Overflow when unpacking long long")
    return value


def _as_bool(x) -> bool:
    if isinstance(x, (float, np.bool_)):
        return bool(x)
    return operator.index(x) != 0


def _scalar_batch(batch, dtype: dtypes.dtype | None = None) -> Tensor:
    d = _promoted_dtype(batch) if dtype is None else dtype
    read = _as_float if d.is_floating_point else _as_bool if d is dtypes.bool_ else _as_int
    with np.errstate(over="ignore"):  # a float too large for float16 becomes inf, as in PyTorch
        return as_tensor(np.array([read(x) for x in batch], dtype=d.np))


def collate_tensor_fn(batch, *, collate_fn_map=None) -> Tensor:
    return stack(batch, 0)


def collate_numpy_array_fn(batch, *, collate_fn_map=None) -> Tensor:
    if _NP_STR_OBJ.search(batch[0].dtype.str):
        raise TypeError(_ERR.format(batch[0].dtype))
    return collate([as_tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch, *, collate_fn_map=None) -> Tensor:
    return _scalar_batch(batch)


def collate_float_fn(batch, *, collate_fn_map=None) -> Tensor:
    return _scalar_batch(batch, dtypes.float64)


def collate_int_fn(batch, *, collate_fn_map=None) -> Tensor:
    # bool is an int: a batch of bools becomes a bool tensor, as tensor([True, False]) is.
    return _scalar_batch(batch)


def collate_str_fn(batch, *, collate_fn_map=None):
    return batch


default_collate_fn_map: dict[type | tuple[type, ...], Callable] = {
    Tensor: collate_tensor_fn,
    np.ndarray: collate_numpy_array_fn,
    (np.bool_, np.number): collate_numpy_scalar_fn,
    float: collate_float_fn,
    int: collate_int_fn,
    str: collate_str_fn,
    bytes: collate_str_fn,
}


def collate(batch: list, *, collate_fn_map: dict | None = None) -> Any:
    """Collate ``batch`` recursively; ``collate_fn_map`` maps element types to the function
    that batches them (exact type first, then the first ``isinstance`` match)."""
    elem = batch[0]
    elem_type = type(elem)
    if collate_fn_map is not None:
        if elem_type in collate_fn_map:
            return collate_fn_map[elem_type](batch, collate_fn_map=collate_fn_map)
        for collate_type, fn in collate_fn_map.items():
            if isinstance(elem, collate_type):
                return fn(batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map) for key in elem}
        if isinstance(elem, collections.abc.MutableMapping):
            clone = copy.copy(elem)
            clone.update(collated)
            return clone
        try:
            return elem_type(collated)
        except TypeError:
            return collated
    if _is_namedtuple(elem):
        return elem_type(*(collate(list(samples), collate_fn_map=collate_fn_map) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(e) != size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = list(zip(*batch))
        if isinstance(elem, tuple):
            return [collate(samples, collate_fn_map=collate_fn_map) for samples in transposed]
        collated = [collate(samples, collate_fn_map=collate_fn_map) for samples in transposed]
        if isinstance(elem, collections.abc.MutableSequence):
            clone = copy.copy(elem)
            clone[:] = collated
            return clone
        try:
            return elem_type(collated)
        except TypeError:
            return collated
    raise TypeError(_ERR.format(elem_type))


def default_collate(batch: list) -> Any:
    """Stack a list of samples into a batch, keeping the samples' structure.

    The first sample's type decides, as in PyTorch. Tensors and NumPy arrays are stacked
    along a new first dimension; Python ints become an int64 tensor, floats a float64
    tensor, bools a bool tensor (later samples that are 0-d tensors or NumPy scalars
    promote the dtype, as in ``torch.tensor``); strings stay a sequence; dicts,
    namedtuples and sequences are collated field by field (a batch of tuples becomes a
    list of batches).
    """
    return collate(batch, collate_fn_map=default_collate_fn_map)
