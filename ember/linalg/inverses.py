"""Inverses and determinants: inv, inv_ex, pinv, det, slogdet."""
from __future__ import annotations

import numpy as np

from .. import return_types
from .._tensor import Tensor
from ..ops.indexing import where
from ..ops.linalg_checks import LinAlgError, check_matrix, infos, lu_info
from ..ops.solve import Det, Inverse, Pinv, SlogDet


def inv(A: Tensor) -> Tensor:
    """The inverse of each square matrix in A (``(*, n, n)``); LinAlgError if one is singular."""
    check_matrix(A, "linalg.inv")
    return Inverse.apply(A)


def guarded(A: Tensor, info: np.ndarray, fn) -> Tensor:
    """``fn(A)`` where ``info`` is 0; NaN for the matrices that failed (an identity stands in
    for them, so the others keep their values and gradients)."""
    bad = info != 0
    if not bad.any():
        return fn(A)
    mask = Tensor._make(bad[..., None, None])
    eye = Tensor._make(np.eye(A.shape[-1], dtype=A._data.dtype))
    out = fn(where(mask, eye, A))
    return where(mask, Tensor._make(np.asarray(np.nan, dtype=out._data.dtype)), out)


def inv_ex(A: Tensor, *, check_errors: bool = False):
    """(inverse, info): info (int32, per matrix) is LAPACK's getrf code, 0 on success and the
    index of the first zero pivot for a singular matrix, whose inverse is NaN here."""
    check_matrix(A, "linalg.inv")
    try:
        out = Inverse.apply(A)
        info = np.zeros(A.shape[:-2], np.int32)
    except LinAlgError:
        if check_errors:
            raise
        info = infos(A._data, lu_info)
        out = guarded(A, info, Inverse.apply)
    return return_types.linalg_inv_ex(out, Tensor._make(info))


def det(A: Tensor) -> Tensor:
    """The determinant of each square matrix in A."""
    check_matrix(A, "linalg.det")
    return Det.apply(A)


def slogdet(A: Tensor):
    """(sign, logabsdet): det(A) = sign * exp(logabsdet), without overflow; sign is 0 and
    logabsdet -inf for a singular matrix."""
    check_matrix(A, "linalg.slogdet")
    return return_types.linalg_slogdet(*SlogDet.apply(A))


def default_rtol(A: Tensor, atol, rtol):
    """PyTorch's rule: eps * max(m, n) unless a positive atol is given (then 0)."""
    if rtol is not None:
        return rtol
    if atol is None or (not isinstance(atol, Tensor) and atol <= 0):
        return float(np.finfo(A._data.dtype).eps * max(A.shape[-2:], default=0))
    return 0.0


def pinv(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False) -> Tensor:
    """The Moore-Penrose pseudo-inverse (``(*, m, n)`` -> ``(*, n, m)``); singular values at or
    below max(atol, rtol * largest singular value) are treated as 0."""
    check_matrix(A, "linalg.pinv", square=hermitian)
    return Pinv.apply(A, 0.0 if atol is None else atol, default_rtol(A, atol, rtol), hermitian)
