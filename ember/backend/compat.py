"""One function for each place where CuPy's NumPy-like API differs from NumPy's.

Ops call NumPy's functions on their arrays, and CuPy arrays dispatch most of them
to CuPy. These are the exceptions: calls CuPy lacks, arguments it does not take,
and flags it does not keep. Ops call these instead of testing for the library.
"""
from __future__ import annotations

import functools

import numpy as np

from .device import CPU, move, xp_of

try:  # NumPy 2: floating-point error handling lives in a context variable
    from numpy._core._multiarray_umath import _extobj_contextvar, _make_extobj
    _IGNORE = _make_extobj(all="ignore")
except ImportError:  # NumPy 1.x
    _extobj_contextvar = None


def overlaps(array) -> bool:
    """Whether some elements of ``array`` share memory (expand, or overlapping strides): the
    dims sorted by stride must each step past everything the smaller ones span."""
    if array.size == 0:  # CuPy gives empty arrays zero strides
        return False
    extent = array.itemsize
    for stride, n in sorted((abs(st), n) for st, n in zip(array.strides, array.shape) if n > 1):
        if stride < extent:
            return True
        extent = stride * (n - 1) + extent
    return False


def writeable(array) -> bool:
    """Whether writing into ``array`` element by element is allowed. NumPy marks read-only
    arrays (expanded views among them); CuPy keeps no such flag, so a CuPy array counts as
    writeable unless several of its elements share memory."""
    if type(array) is np.ndarray:
        return array.flags.writeable
    return not overlaps(array)


# dtypes cupyx.scatter_add accumulates atomically on the GPU
_GPU_ADD_DTYPES = frozenset("int32 int64 uint32 uint64 float16 float32 float64".split())


def add_at(out, index, values) -> None:
    """``out[index] += values`` with repeated indices accumulating (NumPy's ``np.add.at``)."""
    if type(out) is np.ndarray:
        np.add.at(out, index, values)
    elif out.dtype.name in _GPU_ADD_DTYPES:
        import cupyx
        cupyx.scatter_add(out, index, values)
    else:
        _at_on_host(np.add, out, index, values)


def multiply_at(out, index, values) -> None:
    """``out[index] *= values`` with repeated indices multiplying (``np.multiply.at``)."""
    if type(out) is np.ndarray:
        np.multiply.at(out, index, values)
    else:
        _at_on_host(np.multiply, out, index, values)


def _at_on_host(ufunc, out, index, values) -> None:
    """``ufunc.at`` for a GPU array where the GPU has no atomic form of it: computed on a
    host copy, then written back (correct, not fast; only rare ops and dtypes come here)."""
    host = out.get()
    ufunc.at(host, _host(index), _host(values))
    out.set(host)


def _host(x):
    """An index (a tuple of entries) or values with every array moved to the host."""
    if isinstance(x, tuple):
        return tuple(_host(i) for i in x)
    return move(x, CPU) if hasattr(x, "shape") else x


def max_initial(x, axis=None, keepdims: bool = False, initial=None):
    """``np.max(x, axis, keepdims=..., initial=...)``; CuPy's max takes no ``initial``, so
    there empty reductions give ``initial`` and the others are clipped below by it."""
    if isinstance(x, (np.ndarray, np.generic)) or initial is None:
        return np.max(x, axis=axis, keepdims=keepdims, **({} if initial is None else {"initial": initial}))
    xp = xp_of(x)
    if x.size == 0:
        shape = np.zeros(x.shape).max(axis=axis, keepdims=keepdims, initial=0).shape
        return xp.full(shape, initial, dtype=x.dtype)
    return xp.maximum(xp.max(x, axis=axis, keepdims=keepdims), initial)


def open_grid(shape, xp) -> list:
    """Index arrays of every position of ``shape``, each broadcastable against it
    (``np.indices(shape, sparse=True)``, which CuPy lacks)."""
    nd = len(shape)
    return [xp.arange(n).reshape((1,) * i + (n,) + (1,) * (nd - i - 1)) for i, n in enumerate(shape)]


def as_array(x):
    """A NumPy scalar (what NumPy's reductions of a whole array return) as a 0-d array;
    arrays of either library pass through. ``np.asarray`` would copy a CuPy array to the host."""
    return np.asarray(x) if isinstance(x, np.generic) else x


def contiguous(array):
    """``array`` in C order (a copy only when it is not already), on its own device."""
    return xp_of(array).ascontiguousarray(array)


if _extobj_contextvar is not None:
    # quiet() silences NumPy's floating-point warnings until loud(token): ops give inf and
    # nan quietly, as PyTorch's do. Function.apply wraps every forward in it and the engine
    # every backward pass. Both are the context variable's own C methods, so a call costs
    # no Python frame (np.errstate costs 0.8 us, more than the rest of a small op's dispatch).
    quiet = functools.partial(_extobj_contextvar.set, _IGNORE)
    loud = _extobj_contextvar.reset
else:
    def quiet():
        """Silence NumPy's floating-point warnings until ``loud(token)``."""
        return np.seterr(all="ignore")

    def loud(token) -> None:
        """Restore the floating-point error handling ``quiet()`` replaced."""
        np.seterr(**token)
