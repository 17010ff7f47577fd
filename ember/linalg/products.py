"""Products and powers: cross, vecdot, multi_dot, matrix_power, matrix_exp, diagonal."""
from __future__ import annotations

import math

import numpy as np

from ..amp.autocast_mode import autocast_op
from .._tensor import Tensor
from ..ops import linalg as _ops_linalg
from ..ops.indexing import where
from ..ops.linalg_checks import check_matrix
from ..ops.shape import diagonal as _diagonal
from ..ops.solve import Inverse
from ..backend.compat import max_initial


def cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (the last by default), broadcasting."""
    return _ops_linalg.cross(input, other, dim)


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """The dot product of vectors along ``dim``, broadcasting the other dims."""
    return (x * y).sum(dim)


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """The diagonal of each matrix (a view), as torch.diagonal with batch-first defaults."""
    return _diagonal(A, offset, dim1, dim2)


@autocast_op("multi_dot")
def multi_dot(tensors) -> Tensor:
    """The product of a chain of matrices; the first and last may be vectors (a row and a
    column), as in ``A @ B @ C``."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    last = len(tensors) - 1
    for i, t in enumerate(tensors):
        if i in (0, last) and t.ndim not in (1, 2):
            raise RuntimeError(f"multi_dot(): the {'first' if i == 0 else 'last'} tensor must be 1D or 2D "
                               f"but got {t.ndim}D")
        if 0 < i < last and t.ndim != 2:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {t.ndim}D")
    out = tensors[0]
    for t in tensors[1:]:
        out = out @ t
    return out


def matrix_power(A: Tensor, n: int) -> Tensor:
    """A multiplied by itself n times (n < 0: the inverse's power; n = 0: the identity)."""
    check_matrix(A, "linalg.matrix_power")
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise TypeError(f"linalg.matrix_power(): argument 'n' must be int, not {type(n).__name__}")
    if n == 0:  # the identity, with A's (zero) gradient
        eye = Tensor._make(np.eye(A.shape[-1], dtype=A._data.dtype))
        return where(Tensor._make(np.zeros((), np.bool_)), A, eye.expand(A.shape))
    base = Inverse.apply(A) if n < 0 else A
    result = None
    n = abs(int(n))
    while n:  # square-and-multiply: log2(n) products
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n:
            base = base @ base
    return result


def matrix_exp(A: Tensor) -> Tensor:
    """exp(A) = sum_k A^k / k!: scaled by 2^-s to a 1-norm of at most 1/2, a Taylor series
    (its tail below float64's rounding there), then squared s times. Composed of products,
    so it is differentiable to any order."""
    check_matrix(A, "linalg.matrix_exp")
    norm1 = float(max_initial(np.abs(A._data).sum(-2), initial=0)) if A.numel() else 0.0
    s = math.ceil(math.log2(norm1 / 0.5)) if math.isfinite(norm1) and norm1 > 0.5 else 0
    x = A * (0.5 ** s) if s else A
    eye = Tensor._make(np.eye(A.shape[-1], dtype=A._data.dtype))
    terms = 18 if A._data.dtype == np.float64 else 10
    out = eye
    for k in range(terms, 0, -1):  # Horner: I + X/1 (I + X/2 (I + ...))
        out = eye + (x @ out) * (1.0 / k)
    for _ in range(s):
        out = out @ out
    return out
