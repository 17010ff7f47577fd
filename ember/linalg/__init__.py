"""ember.linalg: PyTorch's torch.linalg (batched over leading dims, float32 and float64).

Functions that fail on a singular or not positive-definite matrix raise LinAlgError (a
RuntimeError); their ``_ex`` forms report a per-matrix ``info`` code instead."""
from __future__ import annotations

from .._tensor import Tensor
from ..ops.linalg_checks import LinAlgError
from ..ops.linalg import matmul
from . import legacy
from .decompositions import cholesky, cholesky_ex, eigh, eigvalsh, matrix_rank, qr, svd, svdvals
from .inverses import det, inv, inv_ex, pinv, slogdet
from .norms import matrix_norm, norm, vector_norm
from .products import cross, diagonal, matrix_exp, matrix_power, multi_dot, vecdot
from .solvers import lstsq, solve, solve_ex

__all__ = ["LinAlgError", "cholesky", "cholesky_ex", "cross", "det", "diagonal", "eigh", "eigvalsh", "inv",
           "inv_ex", "lstsq", "matmul", "matrix_exp", "matrix_norm", "matrix_power", "matrix_rank",
           "multi_dot", "norm", "pinv", "qr", "slogdet", "solve", "solve_ex", "svd", "svdvals",
           "vecdot", "vector_norm"]

# The top-level forms are Tensor methods too (x.det(), x.svd(), ...), bound like ops' topics.
for _name, _fn in legacy.TENSOR_METHODS.items():
    setattr(Tensor, _name, _fn)
