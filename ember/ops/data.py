"""Python data (nested lists and tuples of numbers, 0-d tensors, NumPy scalars and arrays)
as an array, with PyTorch's rules: the dtype promotes over every element, and each element
is stored as PyTorch stores it (floats round, integers must fit, unsigned dtypes take
negatives that wrap). ``tensor()`` and ``default_collate`` both use it."""
from __future__ import annotations

import numbers
import operator

import numpy as np

from .._tensor import Tensor
from ..backend import dtypes


def array_from_data(data, dtype=None) -> np.ndarray:
    """``data`` as a NumPy array of ``dtype`` (inferred as PyTorch infers it when None)."""
    inferred, odd, plain = _scan(data)
    if dtype is None:
        if odd:
            kind = type(odd[0]).__name__
            if isinstance(odd[0], (str, bytes)):
                raise TypeError(f"new(): invalid data type '{kind}'")
            raise RuntimeError(f"Could not infer dtype of {kind}")
        d = inferred
    else:
        d = dtypes.to_dtype(dtype)
    if plain and not odd:
        try:
            return _array(data, d)
        except ValueError as e:
            if "inhomogeneous" not in str(e):
                raise
    flat, shape = _read_nested(data, d)  # element by element, as PyTorch reads them
    return _array(flat, d).reshape(shape)


def _scan(data) -> tuple[dtypes.dtype, tuple, bool]:
    """PyTorch's dtype for nested data; the first element that has none, as a 1-tuple (empty
    if none); and whether NumPy may read the data whole (only Python numbers and arrays).
    The dtype promotes over every element: a Python float counts as the default dtype, an
    int as int64, a bool as bool, a tensor or NumPy value as its own dtype."""
    result, odd, plain = None, (), True
    stack = [data]
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(reversed(x))
            continue
        if isinstance(x, Tensor):
            d, plain = x.dtype, False
        elif isinstance(x, np.ndarray):
            d = dtypes.from_numpy_dtype(x.dtype)
        elif isinstance(x, np.generic):  # PyTorch reads these through number protocols
            d, plain = dtypes.from_numpy_dtype(x.dtype), False
        elif isinstance(x, bool):
            d = dtypes.bool_
        elif isinstance(x, numbers.Integral):
            d = dtypes.int64
            if not -2 ** 63 <= x < 2 ** 63:  # NumPy would read it as uint64 or float
                plain = False
        elif isinstance(x, numbers.Real):
            d = dtypes.get_default_dtype()
        elif isinstance(x, numbers.Complex):
            d = dtypes.to_complex(dtypes.get_default_dtype())
        else:
            odd = odd or (x,)
            continue
        result = d if result is None else dtypes.promote_types(result, d)
    return (dtypes.get_default_dtype() if result is None else result), odd, plain


def _array(data, d: dtypes.dtype) -> np.ndarray:
    """Python data as an array of ``d``, each element converted as PyTorch converts it: floats
    round (beyond float16's range to inf), bools take truthiness, and a value stored in an
    integer dtype must fit it (an unsigned one also takes negatives down to -max, which wrap)."""
    if d._kind != 1:
        with np.errstate(over="ignore"):
            # bfloat16 through float32, as PyTorch builds it (Python floats round twice)
            return np.array(data, dtype=np.float32 if d is dtypes.bfloat16 else d.np).astype(d.np, copy=False)
    raw = np.array(data)
    if raw.dtype.kind not in "bif":
        raise TypeError(f"tensor(): can't convert elements of type {raw.dtype} to {d}")
    if raw.dtype.kind != "b":
        info = np.iinfo(d.np)
        low = info.min if info.min < 0 or dtypes.is_floating_array(raw.dtype) else -info.max
        fits = (raw >= low) & (raw <= info.max)  # False for NaN
        if not fits.all():
            dtypes.checked_scalar(raw[~fits].flat[0].item(), d, "tensor()")  # raises
        if dtypes.is_floating_array(raw.dtype):
            raw = np.trunc(raw)
    return raw.astype(d.np)


def _read_nested(data, d: dtypes.dtype) -> tuple[list, list]:
    """The elements of ``data`` as Python numbers, and its shape, read the way PyTorch reads
    them: the shape
    follows the first element at each depth, a tensor is one number, and Python's number
    protocols decide the errors."""
    shape = []
    x = data
    while isinstance(x, (list, tuple, np.ndarray)):
        if isinstance(x, np.ndarray):
            shape.extend(x.shape)
            break
        shape.append(len(x))
        if not x:
            break
        x = x[0]
    read = _as_float if d.is_floating_point else _as_bool if d is dtypes.bool_ else _as_int
    flat: list = []

    def walk(x, dim: int) -> None:
        if dim == len(shape):
            flat.append(read(x))
            return
        if isinstance(x, np.ndarray):
            x = x.tolist()
        if not isinstance(x, (list, tuple)):
            raise TypeError("not a sequence")
        if len(x) != shape[dim]:
            raise ValueError(f"expected sequence of length {shape[dim]} at dim {dim} (got {len(x)})")
        for e in x:
            walk(e, dim + 1)

    walk(data, 0)
    return flat, shape


def _as_float(x) -> float:
    if isinstance(x, Tensor) and x.numel() != 1:
        raise ValueError("only one element tensors can be converted to Python scalars")
    if hasattr(type(x), "__float__"):
        return float(x)
    if hasattr(type(x), "__index__"):
        return float(operator.index(x))
    raise TypeError(f"must be real number, not {type(x).__name__}")


def _as_int(x):
    if isinstance(x, float):  # stored truncated (and range-checked) by _array
        return x
    value = operator.index(x)
    if not -2 ** 63 <= value < 2 ** 63:
        raise ValueError("Overflow when unpacking long long")
    return value


def _as_bool(x) -> bool:
    if isinstance(x, (float, np.bool_)):
        return bool(x)
    return operator.index(x) != 0
