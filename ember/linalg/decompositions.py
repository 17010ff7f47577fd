"""Decompositions: cholesky (and _ex), qr, svd, svdvals, eigh, eigvalsh, matrix_rank."""
from __future__ import annotations

import numpy as np

from .. import return_types
from .._tensor import Tensor
from ..autograd.grad_mode import state
from ..ops.decomp import QR, SVD, Cholesky, Eigh
from ..ops.linalg_checks import LinAlgError, check_matrix, cholesky_info, infos
from .inverses import default_rtol, guarded
from ..backend.compat import max_initial


def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """L (lower triangular) with A = L L^T, from A's lower triangle; with ``upper`` U = L^T
    from A's upper triangle. LinAlgError if A is not positive-definite."""
    check_matrix(A, "linalg.cholesky")
    return Cholesky.apply(A, upper)


def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False):
    """(L, info): info (int32, per matrix) is 0 on success, else the order of the first leading
    minor that is not positive-definite (L is NaN for that matrix here)."""
    check_matrix(A, "linalg.cholesky")
    try:
        out = Cholesky.apply(A, upper)
        info = np.zeros(A.shape[:-2], np.int32)
    except LinAlgError:
        if check_errors:
            raise
        info = infos(A._data.swapaxes(-1, -2) if upper else A._data, cholesky_info)
        out = guarded(A, info, lambda a: Cholesky.apply(a, upper))
    return return_types.linalg_cholesky_ex(out, Tensor._make(info))


def qr(A: Tensor, mode: str = "reduced"):
    """(Q, R) with A = Q R: mode 'reduced' (Q is (*, m, k), k = min(m, n)), 'complete' (Q is
    (*, m, m)) or 'r' (R only; Q is empty)."""
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' "
                           "(default), 'r', or 'complete'")
    check_matrix(A, "linalg.qr", square=False)
    return return_types.linalg_qr(*QR.apply(A, mode))


def svd(A: Tensor, full_matrices: bool = True, *, driver=None):
    """(U, S, Vh) with A = U diag(S) Vh, S descending. Only S is unique: U's columns and Vh's
    rows may change sign, so differentiate functions that do not depend on that choice."""
    check_matrix(A, "linalg.svd", square=False)
    return return_types.linalg_svd(*SVD.apply(A, full_matrices))


def svdvals(A: Tensor, *, driver=None) -> Tensor:
    """The singular values of A, descending."""
    check_matrix(A, "linalg.svdvals", square=False)
    if not (A._requires_grad and state.enabled):  # U and V are needed for the gradient only
        return Tensor._make(np.linalg.svd(A._data, compute_uv=False))
    return SVD.apply(A, False)[1]


def _check_uplo(UPLO: str, op: str) -> None:
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"{op}: Expected UPLO argument to be 'L' or 'U', but got {UPLO}")


def eigh(A: Tensor, UPLO: str = "L"):
    """(eigenvalues ascending, eigenvectors as columns) of symmetric A, read from the triangle
    UPLO names. Each eigenvector's sign is arbitrary."""
    check_matrix(A, "linalg.eigh")
    _check_uplo(UPLO, "linalg.eigh")
    return return_types.linalg_eigh(*Eigh.apply(A, UPLO))


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:
    """The eigenvalues of symmetric A, ascending."""
    check_matrix(A, "linalg.eigvalsh")
    _check_uplo(UPLO, "linalg.eigvalsh")
    if not (A._requires_grad and state.enabled):
        return Tensor._make(np.linalg.eigvalsh(A._data, UPLO=UPLO))
    return Eigh.apply(A, UPLO)[0]


def matrix_rank(A: Tensor, tol=None, hermitian: bool = False, *, atol=None, rtol=None) -> Tensor:
    """The number of singular values above max(atol, rtol * the largest one), per matrix
    (int64). ``tol`` is the older spelling of atol (with rtol 0)."""
    check_matrix(A, "linalg.matrix_rank", square=hermitian)
    if tol is not None:
        atol, rtol = tol, 0.0
    x = A._data
    s = np.abs(np.linalg.eigvalsh(x)) if hermitian else np.linalg.svd(x, compute_uv=False)
    rtol = default_rtol(A, atol, rtol)
    a = atol._data if isinstance(atol, Tensor) else (0.0 if atol is None else atol)
    r = rtol._data if isinstance(rtol, Tensor) else rtol
    tol_arr = np.maximum(a, r * max_initial(s, axis=-1, initial=0))
    return Tensor._make(np.sum(s > np.asarray(tol_arr)[..., None], axis=-1).astype(np.int64))
