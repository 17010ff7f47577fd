"""Activation functions with ``torch.nn.functional``'s signatures (relu, gelu, softmax, ...).

Softmax and log-softmax are fused primitives: the max-shifted form is what keeps
them finite for large logits, and their gradients are one short expression each.
"""
from __future__ import annotations

import warnings

import numpy as np

from .._tensor import Tensor
from ..autograd.function import Function
from ..backend import dtypes

__all__ = ["softmax", "log_softmax", "softmin"]


# ---- softmax family ------------------------------------------------------------------
def _shifted(x, dim: int):
    """``x - max(x, dim)``: every exponent is <= 0, so exp never overflows."""
    if x.size == 0:
        return x.copy()
    return x - x.max(axis=dim, keepdims=True)


class Softmax(Function):
    @staticmethod
    def forward(ctx, a, dim):
        e = np.exp(_shifted(a._data, dim))
        out = e / e.sum(axis=dim, keepdims=True)
        ctx.dim = dim
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out, = ctx.saved_tensors
        return out * (grad - (grad * out).sum(ctx.dim, keepdim=True)), None


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, a, dim):
        z = _shifted(a._data, dim)
        out = z - np.log(np.exp(z).sum(axis=dim, keepdims=True))
        ctx.dim = dim
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out, = ctx.saved_tensors
        return grad - out.exp() * grad.sum(ctx.dim, keepdim=True), None


def _softmax_dim(name: str, ndim: int, stacklevel: int) -> int:
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. "
                  "Change the call to include dim=X as an argument.", UserWarning, stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def _softmax_input(input: Tensor, dim, dtype, name: str, stacklevel: int) -> tuple[Tensor, int]:
    """The input cast to ``dtype`` and the wrapped dim (PyTorch's implicit choice when None)."""
    if dim is None:
        dim = _softmax_dim(name, input._data.ndim, stacklevel + 1)
    if dtype is not None:
        input = input.to(dtype)
    if not input.is_floating_point():
        raise NotImplementedError(
            f"\"{name}\" not implemented for '{input.dtype}': {name} needs a floating point input "
            f"(pass dtype=ember.float32 or convert with .float())")
    d = input._wrap_dim(dim)
    return (input.reshape(1), 0) if input._data.ndim == 0 else (input, d)


def softmax(input: Tensor, dim: int | None = None, dtype: dtypes.dtype | None = None, *,
            _stacklevel: int = 3) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim``, computed without overflow.

    Args:
        dim: the dimension that sums to 1.
        dtype: cast the input to this dtype first (e.g. to compute in float64).
    """
    x, d = _softmax_input(input, dim, dtype, "softmax", _stacklevel)
    out = Softmax.apply(x, d)
    return out.reshape(()) if input._data.ndim == 0 else out


def log_softmax(input: Tensor, dim: int | None = None, dtype: dtypes.dtype | None = None, *,
                _stacklevel: int = 3) -> Tensor:
    """log(softmax(x)) along ``dim``, as one stable step (x - max - log(sum(exp(x - max))))."""
    x, d = _softmax_input(input, dim, dtype, "log_softmax", _stacklevel)
    out = LogSoftmax.apply(x, d)
    return out.reshape(()) if input._data.ndim == 0 else out


def softmin(input: Tensor, dim: int | None = None, dtype: dtypes.dtype | None = None, *,
            _stacklevel: int = 3) -> Tensor:
    """softmax(-x) along ``dim``: the smallest elements get the largest weights."""
    x, d = _softmax_input(input, dim, dtype, "softmin", _stacklevel)
    out = Softmax.apply(-x, d)
    return out.reshape(()) if input._data.ndim == 0 else out


TENSOR_METHODS = {"softmax": softmax, "log_softmax": log_softmax}
INPLACE: list = []
