"""Reductions over dimensions (sum, mean, ...) and sum_to_size, which undoes broadcasting."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.function import Function
from ..backend import dtypes

__all__ = ["sum", "mean", "sum_to_size"]


def normalize_dims(dim, ndim: int, op: str = "") -> tuple | None:
    """``dim`` (None, an int or a sequence, negatives allowed) as a sorted tuple, or None for all."""
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    if not dims:
        return None
    n = max(ndim, 1)
    out = []
    for d in dims:
        if not -n <= d < n:
            raise IndexError(
                f"{op + ': ' if op else ''}Dimension out of range (expected to be in range of "
                f"[{-n}, {n - 1}], but got {d})")
        out.append(int(d) % n)
    if len(set(out)) != len(out):
        raise RuntimeError(f"{op}: dim {list(dims)} appears multiple times in the list of dims")
    return tuple(sorted(out)) if ndim else None


def expand_reduced(grad: Tensor, shape: tuple, dims: tuple | None, keepdim: bool) -> Tensor:
    """Broadcast the gradient of a reduction back over the reduced dimensions."""
    if not keepdim and dims is not None and grad.ndim != len(shape):
        for d in dims:
            grad = grad.unsqueeze(d)
    return grad.expand(shape)


class Sum(Function):
    @staticmethod
    def forward(ctx, a, dims, keepdim):
        ctx.shape, ctx.dims, ctx.keepdim = a._data.shape, dims, keepdim
        return a._data.sum(axis=dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        return expand_reduced(grad, ctx.shape, ctx.dims, ctx.keepdim), None, None


class SumToSize(Function):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a._data.shape
        arr = a._data
        lead = arr.ndim - len(shape)
        if lead < 0:
            raise ValueError(f"cannot sum shape {arr.shape} to {shape}")
        axes = tuple(range(lead)) + tuple(
            lead + i for i, s in enumerate(shape) if s == 1 and arr.shape[lead + i] != 1)
        for i, s in enumerate(shape):
            if s != 1 and arr.shape[lead + i] != s:
                raise ValueError(f"cannot sum shape {arr.shape} to {shape}")
        out = arr.sum(axis=axes, keepdims=True) if axes else arr
        return out.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.expand(ctx.shape), None


def sum_to_size(input: Tensor, *size) -> Tensor:
    """Sum broadcast dimensions away so the result has shape ``size``."""
    shape = tuple(size[0]) if len(size) == 1 and not isinstance(size[0], int) else tuple(size)
    if tuple(input._data.shape) == shape:
        return input
    return SumToSize.apply(input, shape)


def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum of elements over ``dim`` (all when None). Integer and bool inputs sum to int64."""
    dims = normalize_dims(dim, input._data.ndim, "sum")
    if dtype is not None:
        input = input.to(dtype)
    elif input._data.dtype.kind in "biu":
        input = input.to(dtypes.int64)
    return Sum.apply(input, dims, keepdim)


def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Mean over ``dim`` (all when None); needs a floating dtype, as in PyTorch."""
    if dtype is not None:
        input = input.to(dtype)
    if not input.is_floating_point():
        raise RuntimeError(
            f"mean(): could not infer output dtype. Input dtype must be either a floating point or "
            f"complex dtype. Got: {input.dtype}. Convert first, e.g. x.float().mean()")
    dims = normalize_dims(dim, input._data.ndim, "mean")
    shape = input._data.shape
    n = int(np.prod([shape[d] for d in dims])) if dims is not None else input._data.size
    total = Sum.apply(input, dims, keepdim)
    return total / n if n else total * float("nan")


TENSOR_METHODS = {"sum": sum, "mean": mean, "sum_to_size": sum_to_size}
INPLACE: list = []
