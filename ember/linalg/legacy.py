"""The top-level forms (``ember.det``, ``ember.svd``, ...) and their Tensor methods, with
PyTorch's older conventions where they differ from ember.linalg's: svd returns V (not Vh)
and takes ``some``, qr takes ``some``, pinverse takes ``rcond``."""
from __future__ import annotations

import numpy as np

from .. import return_types
from .._tensor import Tensor
from ..ops.indexing import where
from .decompositions import cholesky as _cholesky, qr as _qr, svd as _svd, svdvals
from .inverses import det, inv, pinv, slogdet as _slogdet
from .products import matrix_exp, matrix_power

__all__ = ["det", "logdet", "slogdet", "inverse", "pinverse", "cholesky", "qr", "svd", "matrix_power",
           "matrix_exp"]


def logdet(input: Tensor) -> Tensor:
    """log(det(A)): nan where det < 0, -inf where it is 0."""
    sign, logabs = _slogdet(input)
    # nan where det < 0, with a zero gradient there (as PyTorch's): not log(sign) + logabs
    return where(sign < 0, Tensor._make(np.asarray(np.nan, logabs._data.dtype)), logabs)


def slogdet(input: Tensor):
    """(sign, logabsdet) of each square matrix."""
    return return_types.slogdet(*_slogdet(input))


def inverse(input: Tensor) -> Tensor:
    """The inverse of each square matrix (linalg.inv)."""
    return inv(input)


def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    """The pseudo-inverse, singular values at or below rcond * the largest one dropped."""
    return pinv(input, rtol=rcond)


def cholesky(input: Tensor, upper: bool = False) -> Tensor:
    """L with A = L L^T (or U = L^T with ``upper``)."""
    return _cholesky(input, upper=upper)


def qr(input: Tensor, some: bool = True):
    """(Q, R): reduced with ``some`` (the default), complete otherwise."""
    return return_types.qr(*_qr(input, "reduced" if some else "complete"))


def svd(input: Tensor, some: bool = True, compute_uv: bool = True):
    """(U, S, V) with A = U diag(S) V^T: note V, not linalg.svd's Vh. ``some`` gives the reduced
    form; without ``compute_uv`` U and V are zeros."""
    if not compute_uv:
        s = svdvals(input)
        m, n = input.shape[-2:]
        z = input.new_zeros
        return return_types.svd(z(tuple(input.shape[:-2]) + (m, m)), s, z(tuple(input.shape[:-2]) + (n, n)))
    u, s, vh = _svd(input, full_matrices=not some)
    return return_types.svd(u, s, vh.mT)


TENSOR_METHODS = {name: globals()[name] for name in __all__}
