"""Element-wise math functions of one tensor (exp, log, trigonometry, activations' cores)."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.function import Function
from ..backend import dtypes

__all__ = ["abs", "exp", "log", "sqrt", "tanh", "sigmoid", "relu"]


def _float(input: Tensor) -> Tensor:
    """Integer inputs of float functions compute in the default float dtype, as in PyTorch."""
    return input if input._data.dtype.kind == "f" else input.to(dtypes.get_default_dtype())


class Abs(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.abs(a._data)

    @staticmethod
    def backward(ctx, grad):
        a, = ctx.saved_tensors
        return grad * a.sign()


class Exp(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.exp(a._data)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out, = ctx.saved_tensors
        return grad * out


class Log(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.log(a._data)

    @staticmethod
    def backward(ctx, grad):
        a, = ctx.saved_tensors
        return grad / a


class Sqrt(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.sqrt(a._data)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out, = ctx.saved_tensors
        return grad / (2 * out)


class Tanh(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.tanh(a._data)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out, = ctx.saved_tensors
        return grad * (1 - out * out)


class Sigmoid(Function):
    @staticmethod
    def forward(ctx, a):
        x = a._data
        # exp of a non-positive number only, so large |x| never overflows
        e = np.exp(-np.abs(x))
        out = np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out, = ctx.saved_tensors
        return grad * out * (1 - out)


class Relu(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.maximum(a._data, 0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out, = ctx.saved_tensors
        return grad * (out > 0)


def abs(input: Tensor) -> Tensor:
    return Abs.apply(input)


def exp(input: Tensor) -> Tensor:
    return Exp.apply(_float(input))


def log(input: Tensor) -> Tensor:
    return Log.apply(_float(input))


def sqrt(input: Tensor) -> Tensor:
    return Sqrt.apply(_float(input))


def tanh(input: Tensor) -> Tensor:
    return Tanh.apply(_float(input))


def sigmoid(input: Tensor) -> Tensor:
    return Sigmoid.apply(_float(input))


def relu(input: Tensor) -> Tensor:
    return Relu.apply(input)


TENSOR_METHODS = {name: globals()[name] for name in __all__}
INPLACE = list(__all__)
