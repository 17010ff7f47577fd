"""Turning a list of samples into a batch (``default_collate``) and converting a single
sample's arrays to tensors (``default_convert``), with PyTorch's rules."""
from __future__ import annotations

import collections.abc
import copy
import re
from typing import Any, Callable

import numpy as np

from ..._tensor import Tensor
from ...backend import dtypes
from ...ops.creation import as_tensor, tensor
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
# (a 0-d tensor or NumPy scalar counts with its own dtype), and ember.tensor follows the same
# rules. The batch's first element is a number here (that is how collate dispatched).

def _scalar_batch(batch, dtype: dtypes.dtype | None = None) -> Tensor:
    return tensor(batch, dtype=dtype)


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
