"""Linear systems: solve, solve_ex and least squares (lstsq)."""
from __future__ import annotations

import numpy as np

from .. import return_types
from .._tensor import Tensor
from ..ops.linalg_checks import LinAlgError, check_matrix, check_same_dtype, infos, lu_info
from ..ops.solve import Pinv, Solve
from .inverses import guarded
from ..backend.compat import max_initial


def _is_vector_rhs(A: Tensor, B: Tensor) -> bool:
    """PyTorch's rule: B is a (batch of) vector(s) if it is 1-D, or has one dim less than A
    and A's shape without its last dim."""
    return B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))


def _as_matrix_rhs(A: Tensor, B: Tensor, op: str, left: bool = True):
    check_matrix(A, op.replace("torch.", ""), square=op != "torch.linalg.lstsq")
    if not isinstance(B, Tensor):
        raise TypeError(f"{op}: expected a Tensor as B, got {type(B).__name__}")
    check_same_dtype(A, B, op.replace("torch.", ""))
    vector = _is_vector_rhs(A, B)
    b = B.unsqueeze(-1) if vector else B
    if b.shape[-2] != A.shape[-2] and op == "torch.linalg.lstsq":
        raise RuntimeError(f"{op}: input.size(-2) should match other.size(-2) (A is {list(A.shape)}, B is "
                           f"{list(B.shape)})")
    if b.shape[-2] != A.shape[-2]:
        raise RuntimeError(f"{op.replace('torch.', '')}: Incompatible shapes of A and B for the "
                           f"equation {'AX = B' if left else 'XA = B'} ({A.shape[-2]}x{A.shape[-1]} and "
                           f"{b.shape[-2]}x{b.shape[-1]})")
    try:
        np.broadcast_shapes(tuple(A.shape[:-2]), tuple(b.shape[:-2]))
    except ValueError:
        raise RuntimeError(f"{op}: the batch dimensions of A {list(A.shape)} and B {list(B.shape)} do not "
                           "broadcast") from None
    return b, vector


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """X with A X = B (or X A = B when ``left`` is False). B is (*, n, k) or a batch of vectors
    (*, n); batch dims broadcast. LinAlgError if A is singular."""
    if not left:  # X A = B  <=>  A^T X^T = B^T
        return solve(A.mT, B.mT).mT
    b, vector = _as_matrix_rhs(A, B, "torch.linalg.solve")
    x = Solve.apply(A, b)
    return x.squeeze(-1) if vector else x


def solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False):
    """(result, info): ``solve`` that reports a singular A by info (getrf's code, int32 per
    matrix of A's broadcast batch) instead of an error; its result there is NaN."""
    try:
        out = solve(A, B, left=left)
        return return_types.linalg_solve_ex(out, Tensor._make(np.zeros(A.shape[:-2], np.int32)))
    except LinAlgError:
        if check_errors:
            raise
    info = infos(A._data, lu_info)
    return return_types.linalg_solve_ex(guarded(A, info, lambda a: solve(a, B, left=left)),
                                        Tensor._make(info))


_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def lstsq(A: Tensor, B: Tensor, rcond: float | None = None, *, driver: str | None = None):
    """Least-squares solution of A X = B, as PyTorch computes it on the CPU.

    Returns (solution, residuals, rank, singular_values). ``driver`` (default 'gelsy') decides
    what is filled in: rank for gelsy/gelsd/gelss, singular values for gelsd/gelss, and
    residuals (squared column norms of A X - B) for gels/gelsd/gelss when m > n and A has full
    rank; the others are empty. Singular values at or below rcond * the largest one
    (default eps * max(m, n)) are treated as 0 (gels assumes full rank)."""
    driver = "gelsy" if driver is None else driver
    if driver not in _DRIVERS:
        raise RuntimeError(f"torch.linalg.lstsq: parameter `driver` should be one of "
                           f"({', '.join(_DRIVERS)})")
    b, vector = _as_matrix_rhs(A, B, "torch.linalg.lstsq")
    m, n = A.shape[-2:]
    dt = A._data.dtype
    if rcond is None:
        rcond = float(np.finfo(dt).eps * max(m, n))
    # PyTorch differentiates lstsq through the pseudo-inverse too
    x = Pinv.apply(A, 0.0, 0.0 if driver == "gels" else rcond, False) @ b
    s = np.linalg.svd(A._data, compute_uv=False)
    rank = np.sum(s > rcond * max_initial(s, axis=-1, keepdims=True, initial=0), axis=-1).astype(np.int64)
    empty = Tensor._make(np.empty((0,), dt))
    residuals = x.flatten()[:0]  # empty, but attached to the graph as PyTorch's is
    if driver != "gelsy" and m > n and (driver == "gels" or bool(np.all(rank == n))):
        residuals = ((A @ x - b) ** 2).sum(-2)  # (*, 1) for a vector B, as in PyTorch
    return return_types.linalg_lstsq(
        x.squeeze(-1) if vector else x, residuals,
        Tensor._make(np.empty((0,), np.int64) if driver == "gels" else rank),
        Tensor._make(s) if driver in ("gelsd", "gelss") else empty)
