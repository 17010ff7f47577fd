"""pdist: the p-norm distances between all pairs of rows of one matrix."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from .indexing import where

__all__ = ["pdist"]


def pdist(input: Tensor, p: float = 2) -> Tensor:
    """Distances ||x_i - x_j||_p for i < j over the rows of an (N, M) input, in row-major
    order of the pairs (the condensed upper triangle), shape (N * (N - 1) / 2,)."""
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"pdist only supports floating-point dtypes, got {input.dtype}")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    i, j = np.triu_indices(input.shape[0], 1)
    diff = input[input.new_tensor(i).long()] - input[input.new_tensor(j).long()]
    if not 0 < p < 1:
        return diff.norm(p, dim=1)
    # For p < 1, |d|^p has an infinite slope at d = 0; pdist's gradient there is 0 (equal
    # coordinates, or equal rows, contribute nothing) instead of the norm's NaN.
    a = diff.abs()
    zero = a == 0
    powered = where(zero, 0.0, where(zero, 1.0, a) ** p).sum(1)
    none = powered == 0
    return where(none, 0.0, where(none, 1.0, powered) ** (1.0 / p))
