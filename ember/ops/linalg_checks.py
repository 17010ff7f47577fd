"""What every linear-algebra op checks first (PyTorch's messages), LinAlgError, and the
LAPACK-style ``info`` codes a failed factorization reports (computed on the error path only,
so a successful call pays nothing)."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor


class LinAlgError(RuntimeError):
    """A matrix the algorithm cannot handle (singular, not positive-definite): PyTorch's
    ``torch.linalg.LinAlgError``, a RuntimeError subclass."""


_TYPE_NAMES = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
               "bool": "Bool", "float16": "Half", "float32": "Float", "float64": "Double"}


def type_name(t: Tensor) -> str:
    return _TYPE_NAMES.get(t._data.dtype.name, t._data.dtype.name)


def check_matrix(a: Tensor, op: str, square: bool = True) -> None:
    """A floating batch of matrices (``(*, m, n)``), square unless told otherwise."""
    if not isinstance(a, Tensor):
        raise TypeError(f"{op}: expected a Tensor as A, got {type(a).__name__}")
    if a._data.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor A must have at least 2 dimensions.")
    if a._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: Expected a floating point or complex tensor as input. Got {type_name(a)}")
    if a._data.dtype.itemsize < 4:
        raise RuntimeError(f"{op}: Low precision dtypes not supported. Got {type_name(a)} (convert with "
                           ".float())")
    if square and a._data.shape[-1] != a._data.shape[-2]:
        raise RuntimeError(f"{op}: A must be batches of square matrices, but they are "
                           f"{a._data.shape[-2]} by {a._data.shape[-1]} matrices")


def check_same_dtype(a: Tensor, b: Tensor, op: str) -> None:
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"{op}: Expected A and B to have the same dtype, but found A of type "
                           f"{type_name(a)} and B of type {type_name(b)} instead")


def _batch_prefix(index: int, batched: bool) -> str:
    return f"(Batch element {index}): " if batched else ""


def lu_info(m: np.ndarray) -> int:
    """getrf's info of one square matrix: the 1-based index of the first zero pivot of its
    partially pivoted LU (0 when there is none). Rounding may leave a tiny pivot where LAPACK
    found an exact zero; the smallest pivot is reported then."""
    try:
        np.linalg.inv(m)  # LAPACK's own verdict on singularity
        return 0
    except np.linalg.LinAlgError:
        pass
    u = np.array(m, dtype=np.float64, copy=True)
    n = u.shape[0]
    pivots = np.empty(n)
    for k in range(n):
        p = k + int(np.argmax(np.abs(u[k:, k])))
        u[[k, p]] = u[[p, k]]
        pivots[k] = u[k, k]
        if u[k, k] != 0:
            u[k + 1:, k:] -= np.outer(u[k + 1:, k] / u[k, k], u[k, k:])
    zero = np.flatnonzero(pivots == 0)
    return int(zero[0] + 1 if zero.size else np.argmin(np.abs(pivots)) + 1)


def cholesky_info(m: np.ndarray) -> int:
    """potrf's info of one symmetric matrix: the order of the first leading minor that is not
    positive-definite (0 when all are). Positive-definiteness of leading minors is monotone,
    so a bisection over np.linalg.cholesky finds it."""
    lo, hi = 0, m.shape[-1]  # the minor of order lo is positive-definite, the one of order hi is not
    if _is_pd(m):
        return 0
    while lo + 1 < hi:
        mid = (lo + hi) // 2
        if _is_pd(m[:mid, :mid]):
            lo = mid
        else:
            hi = mid
    return hi


def _is_pd(m) -> bool:
    try:
        np.linalg.cholesky(m)
        return True
    except np.linalg.LinAlgError:
        return False


def infos(a: np.ndarray, info_of) -> np.ndarray:
    """``info_of`` for every matrix of a batch, shaped like the batch (int32, as PyTorch)."""
    flat = a.reshape((-1,) + a.shape[-2:])
    return np.array([info_of(np.asarray(m)) for m in flat], dtype=np.int32).reshape(a.shape[:-2])


def raise_singular(a: np.ndarray, op: str) -> None:
    info = infos(a, lu_info)
    bad = np.flatnonzero(info.reshape(-1))
    i = int(bad[0]) if bad.size else 0
    prefix = _batch_prefix(i, a.ndim > 2)
    if op == "torch.linalg.solve":
        raise LinAlgError(f"{op}: {prefix}The solver failed because the input matrix is singular.")
    raise LinAlgError(f"{op}: {prefix}The diagonal element {int(info.reshape(-1)[i])} is zero, the "
                      "inversion could not be completed because the input matrix is singular.")


def raise_not_pd(a: np.ndarray, op: str) -> None:
    info = infos(a, cholesky_info)
    bad = np.flatnonzero(info.reshape(-1))
    i = int(bad[0]) if bad.size else 0
    raise LinAlgError(f"{op}: {_batch_prefix(i, a.ndim > 2)}The factorization could not be completed "
                      "because the input is not positive-definite (the leading minor of order "
                      f"{int(info.reshape(-1)[i])} is not positive-definite).")
