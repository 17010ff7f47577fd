"""Cumulative scans along one dimension: running sums and products."""
from __future__ import annotations

import numpy as np

from ..amp.autocast_mode import autocast_op
from .._tensor import Tensor
from ..autograd.function import Function
from ..backend import dtypes
from ..backend.device import xp_of
from .indexing import where
from .reduce import scan_dtype

__all__ = ["cumsum", "cumprod"]


def _scan_input(input: Tensor, dim: int, dtype) -> tuple:
    d = input._wrap_dim(dim)
    if dtype is not None:
        input = input.to(dtype)
    elif input._data.dtype.kind in "biu":
        input = input.to(dtypes.int64)
    return input, d


def _reverse_cumsum(t: Tensor, dim: int) -> Tensor:
    return t.flip(dim).cumsum(dim).flip(dim)


class CumSum(Function):
    @staticmethod
    def forward(ctx, a, dim):
        ctx.dim = dim
        x = a._data
        return np.cumsum(x, axis=dim, dtype=scan_dtype(x.dtype)).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        return _reverse_cumsum(grad, ctx.dim), None


class CumProd(Function):
    @staticmethod
    def forward(ctx, a, dim):
        ctx.dim = dim
        x = a._data
        out = np.cumprod(x, axis=dim, dtype=scan_dtype(x.dtype)).astype(x.dtype, copy=False)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        if not np.any(a._data == 0):  # the quotient is exact wherever no factor is zero
            return _reverse_cumsum(grad * out, ctx.dim) / a, None
        return _cumprod_grad_with_zeros(a, grad, ctx.dim), None


def _cumprod_grad_with_zeros(x: Tensor, grad: Tensor, dim: int) -> Tensor:
    """cumprod's vector-Jacobian product without division: row i of an n x n matrix holds the
    running products with x[i] left out, so zeros are exact (n times the memory along dim)."""
    n = x.shape[dim]
    x, grad = x.movedim(dim, -1), grad.movedim(dim, -1)
    xp = xp_of(x._data)
    skip = Tensor._make(xp.eye(n, dtype=bool))
    later = Tensor._make(~xp.tri(n, k=-1, dtype=bool))  # [i, j]: j >= i
    without_i = where(skip, 1.0, x.unsqueeze(-2)).cumprod(-1)  # [..., i, j] = prod_{k<=j, k!=i} x_k
    return (where(later, without_i, 0.0) * grad.unsqueeze(-2)).sum(-1).movedim(-1, dim)


@autocast_op("cumsum")
def cumsum(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Running sums along ``dim``. Integer and bool inputs give int64."""
    input, d = _scan_input(input, dim, dtype)
    return CumSum.apply(input, d) if input._data.ndim else input.clone()


@autocast_op("cumprod")
def cumprod(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Running products along ``dim`` (gradients exact with zeros). Integer and bool inputs give int64."""
    input, d = _scan_input(input, dim, dtype)
    return CumProd.apply(input, d) if input._data.ndim else input.clone()


TENSOR_METHODS = {name: globals()[name] for name in __all__}
INPLACE = ["cumsum", "cumprod"]
