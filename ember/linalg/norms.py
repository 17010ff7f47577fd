"""Norms: vector_norm, matrix_norm and norm (which picks one of them as PyTorch does)."""
from __future__ import annotations

import math
import numbers

from .._tensor import Tensor
from ..ops.moments import norm as _vector_norm
from ..ops.reduce import amax, amin, sum
from .decompositions import svdvals


def vector_norm(x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The ord-norm of x's elements over ``dim`` (all of them when None): any real ord,
    inf, -inf, or 0 (the count of nonzeros)."""
    if isinstance(ord, (str, bool)) or not isinstance(ord, numbers.Real):
        raise TypeError(f"linalg_vector_norm(): argument 'ord' must be Number, not {type(ord).__name__}")
    return _vector_norm(x, ord, dim, keepdim, dtype)


_MATRIX_ORDS = ("fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf)


def matrix_norm(A: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None) -> Tensor:
    """A matrix norm over the two dims ``dim``: 'fro', 'nuc' (sum of singular values), 2 / -2
    (largest / smallest singular value), 1 / -1 (max / min column sum of |A|), inf / -inf
    (max / min row sum of |A|)."""
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    if ord not in _MATRIX_ORDS or isinstance(ord, bool):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    if dtype is not None:
        A = A.to(dtype)
    dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    if len(dims) != 2 or A._wrap_dim(dims[0]) == A._wrap_dim(dims[1]):
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple of different dims. Got {dim}")
    d0, d1 = A._wrap_dim(dims[0]), A._wrap_dim(dims[1])
    if ord == "fro":
        return _vector_norm(A, 2, (d0, d1), keepdim)
    if ord in ("nuc", 2, -2):
        s = svdvals(A.movedim((d0, d1), (-2, -1)))
        out = s.sum(-1) if ord == "nuc" else (amax if ord == 2 else amin)(s, -1)
    else:
        # 1-norms reduce columns (sum over rows, d0) first; inf-norms the other way round
        first, second = (d0, d1) if ord in (1, -1) else (d1, d0)
        best = amax if ord > 0 else amin
        out = best(sum(A.abs(), first, True), second, True)
        out = out.squeeze((d0, d1))
    if keepdim:
        for d in sorted((d0, d1)):
            out = out.unsqueeze(d)
    return out


def norm(A: Tensor, ord=None, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """A vector norm (``dim`` an int, or ``A`` 1-D) or a matrix norm (``dim`` a 2-tuple, or A
    2-D); with neither ord nor dim, the 2-norm of all elements."""
    if isinstance(dim, int):
        dim = (dim,)
    if dim is not None and len(dim) not in (1, 2):
        raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {list(dim)}")
    if ord is None:
        if dim is not None and len(dim) == 2:
            return matrix_norm(A, "fro", dim, keepdim, dtype=dtype)
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if dim is None:
        if A.ndim not in (1, 2):
            raise RuntimeError("linalg.norm: If dim is not specified but ord is, the input must be 1D "
                               f"or 2D. Got {A.ndim}D.")
        dim = (-2, -1) if A.ndim == 2 else (-1,)
    if len(dim) == 2:
        return matrix_norm(A, ord, dim, keepdim, dtype=dtype)
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: ord='{ord}' is a matrix norm; give dim two dims or use "
                           "a number")
    return vector_norm(A, ord, dim, keepdim, dtype=dtype)
