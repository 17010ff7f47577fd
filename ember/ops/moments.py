"""Log-sum-exp, moments (var, std and their means) and norms: reductions that square or
exponentiate, so they accumulate in a wider or scaled form (see reduce.py's helpers) to
stay finite wherever their value is."""
from __future__ import annotations

import builtins
import math as _pymath
import warnings

import numpy as np

from ..amp.autocast_mode import autocast_op
from .._tensor import Tensor
from ..autograd.function import Function
from ..backend import dtypes
from ..backend.device import xp_of
from . import math as _math
from .indexing import where
from .reduce import (_count, _drop_reduced, _unreduce, acc_dtype, amax, amin, mean, normalize_dims, slice_scale,
                     sum, sum_of)

__all__ = ["logsumexp", "var", "std", "var_mean", "std_mean", "norm"]


# ---- log-sum-exp, moments, norms ---------------------------------------------------
class LogSumExp(Function):
    # Fused: two passes over the input (max shift, then exp-sum) instead of five ops, and a
    # backward (the softmax) that needs only the input and the result.
    @staticmethod
    def forward(ctx, a, dims, keepdim):
        dtype = a._data.dtype
        x = a._data.astype(acc_dtype(dtype), copy=False)
        ctx.dims, ctx.keepdim = dims, keepdim
        if x.size:
            m = np.max(x, axis=dims, keepdims=True)
            m = np.where(np.isinf(m), 0, m).astype(x.dtype, copy=False)  # all -inf or +inf: no shift
        else:
            m = np.zeros(tuple(1 if dims is None or i in dims else s for i, s in enumerate(x.shape)),
                         dtype=x.dtype, like=x)
        # log(0) of an empty or all -inf slice is -inf
        out = np.log(np.sum(np.exp(x - m), axis=dims, keepdims=True)) + m
        out = _drop_reduced(out, dims, keepdim).astype(dtype, copy=False)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        shape = a.shape
        g = _unreduce(grad, shape, ctx.dims, ctx.keepdim)
        return g * (a - _unreduce(out, shape, ctx.dims, ctx.keepdim)).exp(), None, None


@autocast_op("logsumexp")
def logsumexp(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    """log(sum(exp(input))) over ``dim``, computed without overflow."""
    input = _math._float(input)
    return LogSumExp.apply(input, normalize_dims(dim, input._data.ndim, "logsumexp"), keepdim)


class Root(Function):
    """``s ** (1 / p)`` of a non-negative sum, with gradient 0 where ``s`` is 0: the subgradient
    PyTorch uses for norms and std at zero (instead of inf * 0 = nan)."""

    @staticmethod
    def forward(ctx, s, p):
        ctx.p = p
        out = np.sqrt(s._data) if p == 2 else np.power(s._data, 1.0 / p)
        out = xp_of(s._data).asarray(out)
        ctx.save_for_backward(s, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        s, out = ctx.saved_tensors
        zero = s == 0
        return where(zero, 0.0, grad * out / (ctx.p * where(zero, 1.0, s))), None


class Variance(Function):
    """sum((x - mean)^2) / dof over ``dims``, or its square root (``root``): one node, because
    the value is computed in ``acc_dtype`` on (x - mean) / s, s a power of two near the largest
    deviation, so neither squares nor their sum overflow or underflow where the result is
    finite (PyTorch's CPU kernel accumulates in double). The gradient is PyTorch's formula,
    (2 / dof) * grad * (x - mean), in ember ops (differentiable again)."""

    @staticmethod
    def forward(ctx, a, dims, keepdim, dof, root):
        x = a._data
        xa = x.astype(acc_dtype(x.dtype), copy=False)
        n = _count(x.shape, dims)
        c = xa - sum_of(xa, dims, True, n)
        s = slice_scale(c, dims)
        c /= s  # exact: a power of two
        # dof = 0: inf/nan
        # minus the centred values' own mean square: it corrects the rounding of the mean (a
        # constant input has variance 0 exactly, not (1 ulp of the mean)^2, which overflows
        # near the dtype's maximum)
        first = np.sum(c, axis=dims, keepdims=True)
        v = np.maximum(np.sum(c * c, axis=dims, keepdims=True) - first * first / n, 0) / dof
        out = np.sqrt(v) * s if root else v * s * s
        out = _drop_reduced(out, dims, keepdim).astype(x.dtype, copy=False)
        ctx.dims, ctx.keepdim, ctx.dof, ctx.root = dims, keepdim, dof, root
        ctx.save_for_backward(a, out if root else None)
        return xp_of(x).asarray(out)

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        shape, dims, keepdim = x.shape, ctx.dims, ctx.keepdim
        if ctx.root:  # d std = d var / (2 std), 0 where std is 0 (PyTorch's subgradient)
            zero = out == 0
            grad = where(zero, 0.0, grad / (2 * where(zero, 1.0, out)))
        k = 2.0 / ctx.dof if ctx.dof else float("inf")
        centered = x - mean(x, dims, keepdim=True)
        return _unreduce(grad * k, shape, dims, keepdim) * centered, None, None, None, None


def _moments(input: Tensor, dim, unbiased, keepdim: bool, correction, op: str, root: bool) -> Tensor:
    """Variance (``root``: standard deviation) over ``dim`` with ``correction``."""
    if isinstance(dim, bool):  # legacy var(input, unbiased)
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError(f"{op}(): pass either unbiased or correction, not both")
    if correction is None:
        correction = 0 if unbiased is False else 1
    if not input.is_floating_point():
        raise RuntimeError(
            f"std and var only support floating point and complex dtypes (got {input.dtype}); "
            f"convert first, e.g. x.float().{op}()")
    dims = normalize_dims(dim, input._data.ndim, op)
    dof = builtins.max(_count(input._data.shape, dims) - correction, 0)
    if dof == 0:
        warnings.warn(f"{op}(): degrees of freedom is <= 0. Correction should be strictly less than "
                      "the reduction factor (input numel divided by output numel).", stacklevel=3)
    return (_STD if root else Variance).apply(input, dims, keepdim, dof, root)


_STD = Variance.node("StdBackward0")


def var(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: float | None = None) -> Tensor:
    """Variance over ``dim``: sum((x - mean)^2) / (N - correction); correction defaults to 1
    (``unbiased=False`` means 0)."""
    return _moments(input, dim, unbiased, keepdim, correction, "var", False)


def std(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: float | None = None) -> Tensor:
    """Standard deviation: the square root of var() with the same arguments (computed without
    squaring, so it is finite wherever it fits the dtype)."""
    return _moments(input, dim, unbiased, keepdim, correction, "std", True)


def var_mean(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction: float | None = None) -> tuple:
    """``(var, mean)`` over ``dim``."""
    v = _moments(input, dim, unbiased, keepdim, correction, "var_mean", False)
    return v, mean(input, dim if not isinstance(dim, bool) else None, keepdim)


def std_mean(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction: float | None = None) -> tuple:
    """``(std, mean)`` over ``dim``."""
    v = _moments(input, dim, unbiased, keepdim, correction, "std_mean", True)
    return v, mean(input, dim if not isinstance(dim, bool) else None, keepdim)


@autocast_op("norm")
def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """Vector p-norm over ``dim`` (all elements when None): p = 2 ('fro'), 1, inf, -inf, 0 (the
    count of nonzeros) or any other number.

    Powers are taken of |x| / s, s a constant power of two near the slice's largest |x| (the
    result is s times the norm of that), in ``acc_dtype``: no overflow or underflow wherever
    the norm itself fits the dtype."""
    if dtype is not None:
        input = input.to(dtype)
    if not input.is_floating_point():
        raise RuntimeError(
            f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
            f"{input.dtype}")
    if isinstance(p, str):
        if p != "fro":
            raise RuntimeError(f"norm(): p='{p}' is not supported; use p='fro' or a number")
        p = 2
    elif p is None:
        p = 2
    dims = normalize_dims(dim, input._data.ndim, "norm")
    if p == _pymath.inf:
        return amax(input.abs(), dims or (), keepdim)
    if p == -_pymath.inf:
        return amin(input.abs(), dims or (), keepdim)
    if p == 0:
        return sum(input != 0, dims, keepdim).to(input.dtype)
    if p == 1:
        return sum(input.abs(), dims, keepdim)
    x = input.to(dtypes.from_numpy_dtype(acc_dtype(input._data.dtype)))
    s = slice_scale(x._data, dims)
    y = x * Tensor._make(1 / s)  # exact: a power of two
    total = sum(y * y if p == 2 else y.abs() ** p, dims, keepdim)
    return (Root.apply(total, p) * Tensor._make(_drop_reduced(s, dims, keepdim))).to(input.dtype)


TENSOR_METHODS = {name: globals()[name] for name in __all__}
INPLACE: list = []
