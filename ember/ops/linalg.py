"""Matrix products: matmul (batched, broadcast) and linear, the layer's fused x @ W.T + b."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.function import Function

__all__ = ["matmul", "mm", "bmm", "mv", "dot", "outer"]


def _check_same(a: Tensor, b: Tensor, op: str) -> None:
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(
            f"{op}: expected both operands to have the same dtype, but got {a.dtype} and {b.dtype}. "
            "Convert one with .to(other.dtype).")


class MatMul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None,
                              b if ctx.needs_input_grad[0] else None)
        ctx.a_ndim, ctx.b_ndim = a._data.ndim, b._data.ndim
        return np.matmul(a._data, b._data)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        if ctx.a_ndim == 1 and ctx.b_ndim == 1:  # dot product
            return (grad * b if b is not None else None), (grad * a if a is not None else None)
        # Vectors act as a row (a) or a column (b) matrix; the extra dim is dropped again.
        g = grad
        a1 = ctx.a_ndim == 1
        b1 = ctx.b_ndim == 1
        if a1:
            g = g.unsqueeze(-2)
        if b1:
            g = g.unsqueeze(-1)
        ga = gb = None
        if b is not None:
            bm = b.unsqueeze(-1) if b1 else b
            ga = matmul(g, bm.mT)
            if a1:
                ga = ga.squeeze(-2)
        if a is not None:
            am = a.unsqueeze(0) if a1 else a
            gb = matmul(am.mT, g)
            if b1:
                gb = gb.squeeze(-1)
        return ga, gb


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with NumPy/PyTorch semantics: vectors, matrices, broadcast batches."""
    if input._data.ndim == 0 or other._data.ndim == 0:
        raise RuntimeError(
            f"both arguments to matmul need to be at least 1D, but they are "
            f"{input._data.ndim}D and {other._data.ndim}D")
    _check_same(input, other, "matmul")
    k1 = input._data.shape[-1]
    k2 = other._data.shape[-2] if other._data.ndim > 1 else other._data.shape[0]
    if k1 != k2:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({_rows(input)}x{k1} and {k2}x"
            f"{other._data.shape[-1] if other._data.ndim > 1 else 1}): input shape "
            f"{list(input.shape)}, other shape {list(other.shape)}")
    if input._data.ndim > 2 or other._data.ndim > 2:
        try:
            np.broadcast_shapes(input._data.shape[:-2], other._data.shape[:-2])
        except ValueError:
            raise RuntimeError(
                f"matmul: batch dimensions {list(input.shape[:-2])} and {list(other.shape[:-2])} "
                f"cannot be broadcast (shapes {list(input.shape)} and {list(other.shape)})") from None
    return MatMul.apply(input, other)


def _rows(t: Tensor) -> int:
    return int(np.prod(t._data.shape[:-1])) if t._data.ndim > 1 else 1


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    if input._data.ndim != 2 or mat2._data.ndim != 2:
        raise RuntimeError(f"mm: expected 2D tensors, got {input._data.ndim}D and {mat2._data.ndim}D")
    return matmul(input, mat2)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    if input._data.ndim != 3 or mat2._data.ndim != 3:
        raise RuntimeError(f"bmm: expected 3D tensors, got {input._data.ndim}D and {mat2._data.ndim}D")
    if input._data.shape[0] != mat2._data.shape[0]:
        raise RuntimeError(
            f"bmm: batch sizes must match, got {list(input.shape)} and {list(mat2.shape)}")
    return matmul(input, mat2)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    if input._data.ndim != 2 or vec._data.ndim != 1:
        raise RuntimeError(f"mv: expected a matrix and a vector, got {input._data.ndim}D and {vec._data.ndim}D")
    return matmul(input, vec)


def dot(input: Tensor, other: Tensor) -> Tensor:
    if input._data.ndim != 1 or other._data.ndim != 1:
        raise RuntimeError(
            f"1D tensors expected, but got {input._data.ndim}D and {other._data.ndim}D tensors")
    if input._data.shape != other._data.shape:
        raise RuntimeError(
            f"inconsistent tensor size, expected tensor [{input._data.shape[0]}] and src "
            f"[{other._data.shape[0]}] to have the same number of elements, but got "
            f"{input._data.shape[0]} and {other._data.shape[0]} elements respectively")
    return matmul(input, other)


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    return input.reshape(-1, 1) * vec2.reshape(1, -1)


class Linear(Function):
    """x @ W.T + b in one node: one GEMM forward, two backward (measured to pay on MLPs)."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x if ctx.needs_input_grad[1] else None,
                              weight if ctx.needs_input_grad[0] else None)
        out = np.matmul(x._data, weight._data.T)
        if bias is not None:
            out += bias._data
        return out

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        gx = matmul(grad, weight) if weight is not None else None
        gw = None
        if x is not None:
            g2 = grad.reshape(-1, grad.shape[-1]) if grad.ndim != 2 else grad
            x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
            gw = matmul(g2.mT, x2)
        gb = None
        if ctx.needs_input_grad[2]:
            gb = grad.sum(tuple(range(grad.ndim - 1))) if grad.ndim > 1 else grad
        return gx, gw, gb


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = input @ weight.T + bias."""
    return Linear.apply(input, weight, bias)


TENSOR_METHODS = {name: globals()[name] for name in __all__ if name != "outer"}
TENSOR_METHODS.update(outer=outer, ger=outer)
INPLACE: list = []
