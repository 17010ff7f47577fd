"""Special functions (torch.special and the top-level lgamma, digamma, polygamma, ...): the
forward on arrays from ``backend.special``, the derivatives in ember ops so that double
backward works (the derivative of lgamma is digamma, of digamma polygamma(1, .), ...)."""
from __future__ import annotations

import math as _m
import numbers

import numpy as np

from .._tensor import Tensor
from ..autograd.function import Function
from ..backend import special
from .binary import Xlogy
from .elementwise import promote
from .indexing import where
from .math import _check_tensor, _const, _float, _float_unary

__all__ = ["lgamma", "digamma", "polygamma", "xlog1py", "mvlgamma", "i0", "sinc", "igamma", "igammac"]

_SQRT_2PI = _m.sqrt(2 * _m.pi)


def _lgamma(x):
    # PyTorch's lgamma(-inf) is +inf (log|Gamma| grows without bound there); SciPy's is -inf
    return np.where(x == -np.inf, x.dtype.type(np.inf), special.gammaln(x))


lgamma = _float_unary("lgamma", _lgamma, lambda g, x: g * digamma(x),
                      doc="log|Gamma(x)|, element-wise.")
digamma = _float_unary("digamma", special.digamma, lambda g, x: g * polygamma(1, x),
                       doc="The logarithmic derivative of Gamma, Gamma'(x) / Gamma(x).")


class Polygamma(Function):
    @staticmethod
    def forward(ctx, a, n):
        ctx.n = n
        ctx.save_for_backward(a)
        x = a._data
        # poles give inf/nan, as in PyTorch
        out = np.asarray(special.polygamma(n, x))
        # PyTorch's at the infinities: trigamma(-inf) and, through zeta(n + 1, +inf), the
        # higher orders at +inf are nan (the other infinities agree with SciPy)
        out = np.where((x == (-np.inf if n == 1 else np.inf)) & (n >= 1), np.nan, out)
        return out.astype(x.dtype, copy=False)  # SciPy computes float32 in float64

    @staticmethod
    def backward(ctx, grad):
        a, = ctx.saved_tensors
        return grad * polygamma(ctx.n + 1, a), None


def polygamma(n: int, input: Tensor) -> Tensor:
    """The n-th derivative of digamma, element-wise (polygamma(0, x) is digamma(x))."""
    _check_tensor("polygamma", input)
    if not isinstance(n, numbers.Integral) or isinstance(n, bool):
        raise TypeError(f"polygamma(): argument 'n' (position 1) must be int, not {type(n).__name__}")
    if n < 0:
        raise RuntimeError(f"polygamma(n, x) does not support negative n (got n={n})")
    return Polygamma.apply(_float(input), int(n))


class Xlog1py(Xlogy):
    log, shift = staticmethod(np.log1p), 1


def xlog1py(input, other) -> Tensor:
    """input * log1p(other), and 0 where input is 0 (unless other is NaN). Either may be a number."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError("xlog1py(): expected at least one Tensor argument")
    return Xlog1py.apply(*promote(input, other, "xlog1py", wrap=True, floating=True))


# ---- functions of one tensor (torch.special's own names; the public ones are in __all__) ----
erfcx = _float_unary("erfcx", special.erfcx,
                     lambda g, x: g * (x * erfcx(x) * 2 - 2 / _m.sqrt(_m.pi)),
                     doc="The scaled complementary error function, exp(x^2) * erfc(x).")
i0 = _float_unary("i0", special.i0, lambda g, x: g * i1(x),
                  doc="The modified Bessel function of the first kind of order 0.")
i0e = _float_unary("i0e", special.i0e, lambda g, x: g * (i1e(x) - x.sign() * i0e(x)),
                   doc="The exponentially scaled i0: exp(-|x|) * i0(x).")
# i1(x) / x and i1e(x) / x tend to 1/2 at 0, where PyTorch's gradients take that limit
i1 = _float_unary("i1", special.i1,
                  lambda g, x: g * where(_const(x._data == 0), 0.5, i0(x) - i1(x) / x),
                  doc="The modified Bessel function of the first kind of order 1.")
i1e = _float_unary("i1e", special.i1e,
                   lambda g, x: g * where(_const(x._data == 0), 0.5,
                                          i0e(x) - i1e(x) * (x.sign() + 1 / x)),
                   doc="The exponentially scaled i1: exp(-|x|) * i1(x).")
ndtr = _float_unary("ndtr", special.ndtr, lambda g, x: g * (x * x * -0.5).exp() / _SQRT_2PI,
                    doc="The standard normal CDF.")
ndtri = _float_unary("ndtri", special.ndtri, lambda g, y: g * (y * y * 0.5).exp() * _SQRT_2PI, "y",
                     doc="The inverse of the standard normal CDF.")
log_ndtr = _float_unary("log_ndtr", special.log_ndtr,
                        lambda g, x: g * (-(log_ndtr(x) + x * x * 0.5)).exp() / _SQRT_2PI,
                        doc="log of the standard normal CDF, accurate far into both tails.")
entr = _float_unary("entr", special.entr, lambda g, x: g * -(x.log() + 1),
                    doc="-x * log(x) for x > 0, 0 at 0, -inf for x < 0.")


def _sinc(x):
    px = x * np.pi
    return np.where(x == 0, x.dtype.type(1), np.sin(px) / np.where(x == 0, 1, px))


def _dsinc(g: Tensor, x: Tensor) -> Tensor:
    px, pxx = x * _m.pi, x * x * _m.pi
    # 0 where pi x^2 underflows to 0 (x = 1e-300 as well as x = 0), as PyTorch's
    return g * where(_const(pxx._data == 0), 0.0, (px * px.cos() - px.sin()) / pxx)


sinc = _float_unary("sinc", _sinc, _dsinc, doc="sin(pi x) / (pi x), and 1 at 0.")


def mvlgamma(input: Tensor, p: int) -> Tensor:
    """The multivariate log-gamma function of dimension ``p``:
    sum of lgamma(x - i/2) for i < p, plus p (p - 1) / 4 log(pi)."""
    _check_tensor("mvlgamma", input)
    if not isinstance(p, numbers.Integral) or isinstance(p, bool):
        raise TypeError(f"mvlgamma(): argument 'p' (position 2) must be int, not {type(p).__name__}")
    if p < 1:
        raise RuntimeError(f"mvlgamma(): p has to be greater than or equal to 1 (got p={p})")
    if input._data.dtype == np.bool_:
        raise RuntimeError("mvlgamma(): the input tensor may not be a boolean tensor")
    x = _float(input)
    offsets = Tensor._make(np.arange(p, dtype=x._data.dtype, like=x._data) * -0.5)
    return lgamma(x.unsqueeze(-1) + offsets).sum(-1) + p * (p - 1) / 4 * _m.log(_m.pi)


# ---- functions without a derivative (PyTorch's outputs of these never require grad) ----
def _no_grad(name: str, fn, doc: str):
    def op(input: Tensor) -> Tensor:
        _check_tensor(name, input)
        x = _float(input)._data
        with np.errstate(all="ignore"):
            return Tensor._make(np.asarray(fn(x)).astype(x.dtype, copy=False))
    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


def _spherical_j0(x):
    # sin(x) / x, whose limit at +-inf is 0 (the quotient would be nan)
    out = np.sin(x) / np.where(x == 0, 1, x)
    return np.where(x == 0, x.dtype.type(1), np.where(np.isinf(x), x.dtype.type(0), out))


bessel_j0 = _no_grad("bessel_j0", special.j0, "The Bessel function of the first kind of order 0.")
bessel_j1 = _no_grad("bessel_j1", special.j1, "The Bessel function of the first kind of order 1.")
spherical_bessel_j0 = _no_grad("spherical_bessel_j0", _spherical_j0,
                               "The spherical Bessel function of the first kind of order 0, sin(x) / x.")


# ---- functions of two tensors differentiable in the second only ----------------------
def _not_implemented(what: str):
    raise NotImplementedError(f"the derivative for '{what}' is not implemented.")


class _SecondOnly(Function):
    """f(a, x) whose derivative exists only with respect to x (``dx``, in tensor ops);
    asking for the one with respect to a raises PyTorch's NotImplementedError."""

    @staticmethod
    def forward(ctx, a, x):
        ctx.save_for_backward(a, x)
        out = np.asarray(ctx.fn(a._data, x._data))
        return out.astype(a._data.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        a, x = ctx.saved_tensors
        if ctx.needs_input_grad[0]:
            _not_implemented(ctx.first)
        return None, ctx.dx(grad, a, x)


def _igamma_dx(g: Tensor, a: Tensor, x: Tensor) -> Tensor:
    """d/dx of the regularized lower incomplete gamma: x^(a-1) e^-x / Gamma(a)."""
    return g * ((a - 1) * x.log() - x - lgamma(a)).exp()


def _incomplete_gamma(lower: bool):
    """SciPy's P (lower) or Q, with PyTorch's values where an argument is nan: its checks
    x == 0, a == inf and x == inf come before any nan test."""
    fn = special.gammainc if lower else special.gammaincc

    def forward(a, x):
        out = fn(a, x)
        one, zero = (1, 0) if lower else (0, 1)
        out = np.where(np.isnan(a) & (x == 0), zero, out)
        out = np.where(np.isnan(a) & (x == np.inf), one, out)
        return np.where((a == np.inf) & np.isnan(x), zero, out)
    return forward


def _zeta(s, q):
    # PyTorch's zeta(s, +inf) is nan (SciPy's 0, the limit), except the pole at s = 1
    return np.where((q == np.inf) & (s != 1), np.nan, special.zeta(s, q))


def _binary(name: str, fn, dx, first: str, doc: str, numbers: bool):
    """The public function: ``numbers`` says whether an argument may be a Python number
    (zeta's may; igamma's must be tensors, and integer tensors are refused, as in PyTorch)."""
    cls = type(name.capitalize(), (_SecondOnly,), {
        "fn": staticmethod(fn), "dx": staticmethod(dx), "first": first, "__module__": __name__})

    def op(input, other) -> Tensor:
        if numbers:
            if not isinstance(input, Tensor) and not isinstance(other, Tensor):
                raise TypeError(f"{name}(): expected at least one Tensor argument")
            return cls.apply(*promote(input, other, name, floating=True))
        _check_tensor(name, input=input, other=other)
        a, x = promote(input, other, name)
        if not a.dtype.is_floating_point:
            raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{a.dtype.kernel_name}': "
                                      f"{name} needs floating point tensors (use .double())")
        return cls.apply(a, x)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


igamma = _binary("igamma", _incomplete_gamma(True), _igamma_dx, "igamma: input",
                 "The regularized lower incomplete gamma function P(input, other).", False)
igammac = _binary("igammac", _incomplete_gamma(False), lambda g, a, x: -_igamma_dx(g, a, x),
                  "igammac: input", "The regularized upper incomplete gamma function Q(input, other) = 1 - P.",
                  False)
zeta = _binary("zeta", _zeta, lambda g, s, q: g * -s * zeta(s + 1, q), "zeta",
               "The Hurwitz zeta function: sum over k >= 0 of (k + other)^-input.", True)


def _polygamma_method(self: Tensor, n: int) -> Tensor:
    return polygamma(n, self)


TENSOR_METHODS = {"lgamma": lgamma, "digamma": digamma, "polygamma": _polygamma_method,
                  "mvlgamma": mvlgamma, "i0": i0, "sinc": sinc, "igamma": igamma, "igammac": igammac}
INPLACE = list(TENSOR_METHODS)
