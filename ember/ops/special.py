"""Special functions (torch.special and the top-level lgamma, digamma, polygamma, ...): the
forward on arrays from ``backend.special``, the derivatives in ember ops so that double
backward works (the derivative of lgamma is digamma, of digamma polygamma(1, .), ...)."""
from __future__ import annotations

import numbers

import numpy as np

from .._tensor import Tensor
from ..autograd.function import Function
from ..backend import special
from .elementwise import promote
from .indexing import where
from .math import _check_tensor, _const, _float, _float_unary

__all__ = ["lgamma", "digamma", "polygamma", "xlog1py"]


lgamma = _float_unary("lgamma", special.gammaln, lambda g, x: g * digamma(x),
                      doc="log|Gamma(x)|, element-wise.")
digamma = _float_unary("digamma", special.digamma, lambda g, x: g * polygamma(1, x),
                       doc="The logarithmic derivative of Gamma, Gamma'(x) / Gamma(x).")


class Polygamma(Function):
    @staticmethod
    def forward(ctx, a, n):
        ctx.n = n
        ctx.save_for_backward(a)
        x = a._data
        with np.errstate(all="ignore"):  # poles give inf/nan, as in PyTorch, without warnings
            out = np.asarray(special.polygamma(n, x))
        return out.astype(x.dtype, copy=False)  # SciPy computes float32 in float64

    @staticmethod
    def backward(ctx, grad):
        a, = ctx.saved_tensors
        return grad * polygamma(ctx.n + 1, a), None


def polygamma(n: int, input: Tensor) -> Tensor:
    """The n-th derivative of digamma, element-wise (polygamma(0, x) is digamma(x))."""
    _check_tensor("polygamma", input=input)
    if not isinstance(n, numbers.Integral) or isinstance(n, bool):
        raise TypeError(f"polygamma(): argument 'n' (position 1) must be int, not {type(n).__name__}")
    if n < 0:
        raise RuntimeError(f"polygamma(n, x) does not support negative n (got n={n})")
    return Polygamma.apply(_float(input), int(n))


class Xlog1py(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        x, y = a._data, b._data
        with np.errstate(all="ignore"):
            return np.where((x == 0) & ~np.isnan(y), x.dtype.type(0), x * np.log1p(y))

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:  # PyTorch's: 0 where x == 0 and log1p(y) is -inf or nan
            ga = where(_const((a._data == 0) & (b._data <= -1)), 0.0, xlog1py(grad, b))
        if ctx.needs_input_grad[1]:
            gb = grad * a / (b + 1)
        return ga, gb


def xlog1py(input, other) -> Tensor:
    """input * log1p(other), and 0 where input is 0 (unless other is NaN). Either may be a number."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError("xlog1py(): expected at least one Tensor argument")
    return Xlog1py.apply(*promote(input, other, "xlog1py", wrap=True, floating=True))


def _polygamma_method(self: Tensor, n: int) -> Tensor:
    return polygamma(n, self)


TENSOR_METHODS = {"lgamma": lgamma, "digamma": digamma, "polygamma": _polygamma_method}
INPLACE = list(TENSOR_METHODS)
