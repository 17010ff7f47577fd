"""Geometric distribution: the number of failures before the first success."""
from __future__ import annotations

import numbers

import ember
from . import constraints
from .distribution import Distribution
from .utils import BinaryProbs, broadcast_all, finfo

__all__ = ["Geometric"]


class Geometric(BinaryProbs, Distribution):
    """Failures before the first success of Bernoulli trials with success probability ``probs``
    (or log-odds ``logits``); support {0, 1, 2, ...}."""
    arg_constraints = {"probs": constraints.interval(0.0, 1.0), "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
        else:
            (self.logits,) = broadcast_all(logits)
        given = probs if probs is not None else logits
        super().__init__(() if isinstance(given, numbers.Number) else given.size(), validate_args=validate_args)
        # probs = 0 passes the unit interval but never succeeds: no distribution.
        if self._validate_args and probs is not None and not bool((self.probs > 0).all()):
            raise ValueError(f"Expected parameter probs ({type(self.probs).__name__} of shape "
                             f"{tuple(self.probs.shape)}) of distribution {self!r} to be positive "
                             f"but found invalid values:\n{self.probs}")

    def expand(self, batch_shape, _instance=None):
        return self._expand_tensors(Geometric, batch_shape, _instance, ('probs', 'logits'))

    @property
    def mean(self):
        return 1.0 / self.probs - 1.0

    @property
    def mode(self):
        return ember.zeros_like(self.probs)

    @property
    def variance(self):
        return (1.0 / self.probs - 1.0) / self.probs

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        with ember.no_grad():
            u = ember.rand(shape, dtype=self.probs.dtype, device=self.probs.device)
            u = u.clamp(min=float(finfo(self.probs).tiny))
            return (u.log() / (-self.probs).log1p()).floor()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value, probs = broadcast_all(value, self.probs)
        # probs = 1 puts all mass on 0: 0 * log(0) there is 0, not nan.
        probs = ember.where((probs == 1) & (value == 0), 0.0, probs)
        return value * (-probs).log1p() + self.probs.log()

    def entropy(self):
        bce = ember.nn.functional.binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")
        return bce / self.probs
