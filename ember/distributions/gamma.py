"""Gamma distribution, and standard gamma samples with implicit reparameterization gradients."""
from __future__ import annotations

import numbers

import numpy as np

import ember
from .._tensor import Tensor
from ..autograd.function import Function
from ..backend import special
from ..backend.device import move
from ..backend.random import rng
from ..ops.special import digamma, igamma, lgamma
from . import constraints
from .exp_family import ExponentialFamily
from .utils import broadcast_all, finfo, numpy_of

__all__ = ["Gamma"]


class _StandardGamma(Function):
    """Gamma(alpha, 1) samples; d sample / d alpha by implicit differentiation of the CDF:
    dx/dalpha = -(dP(alpha, x)/dalpha) / p(x; alpha), with P the regularized lower incomplete
    gamma function (the derivative in alpha by a central difference in float64)."""

    @staticmethod
    def forward(ctx, alpha):
        a = numpy_of(alpha)
        x = np.maximum(rng(None).standard_gamma(a), np.finfo(alpha._data.dtype).tiny)
        if alpha.requires_grad:
            h = 1e-5 * np.maximum(a, 1e-3)
            dp_da = (special.gammainc(a + h, x) - special.gammainc(a - h, x)) / (2 * h)
            log_pdf = (a - 1) * np.log(x) - x - special.gammaln(a)
            ctx.dx_da = move((-dp_da * np.exp(-log_pdf)).astype(alpha._data.dtype), alpha.device)
        return move(x.astype(alpha._data.dtype), alpha.device)

    @staticmethod
    def backward(ctx, grad):
        return grad * Tensor._make(ctx.dx_da)


def standard_gamma(alpha: Tensor) -> Tensor:
    """Samples of Gamma(alpha, 1), one per element of ``alpha``, differentiable in ``alpha``."""
    return _StandardGamma.apply(alpha)


class Gamma(ExponentialFamily):
    """Gamma distribution with shape ``concentration`` and inverse scale ``rate``."""
    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _mean_carrier_measure = 0

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = broadcast_all(concentration, rate)
        both_numbers = isinstance(concentration, numbers.Number) and isinstance(rate, numbers.Number)
        super().__init__(() if both_numbers else self.concentration.size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_tensors(Gamma, batch_shape, _instance, ('concentration', 'rate'))

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def mode(self):
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self):
        return self.concentration / self.rate.pow(2)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        value = standard_gamma(self.concentration.expand(shape)) / self.rate.expand(shape)
        return value.clamp(min=float(finfo(value).tiny))

    def log_prob(self, value):
        value = ember.as_tensor(value, dtype=self.rate.dtype, device=self.rate.device)
        if self._validate_args:
            self._validate_sample(value)
        return (ember.xlogy(self.concentration, self.rate) + ember.xlogy(self.concentration - 1, value)
                - self.rate * value - lgamma(self.concentration))

    def entropy(self):
        return (self.concentration - ember.log(self.rate) + lgamma(self.concentration)
                + (1.0 - self.concentration) * digamma(self.concentration))

    @property
    def _natural_params(self):
        return (self.concentration - 1, -self.rate)

    def _log_normalizer(self, x, y):
        return lgamma(x + 1) + (x + 1) * ember.log(-y.reciprocal())

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return igamma(self.concentration, self.rate * value)
