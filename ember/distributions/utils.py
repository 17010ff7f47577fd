"""Helpers shared by the distributions: broadcasting parameters, probs <-> logits, lazy attributes."""
from __future__ import annotations

import numbers
from functools import update_wrapper

import numpy as np

import ember
from .._tensor import Tensor
from ..backend.device import move
from ..backend.random import rng


def broadcast_all(*values):
    """Broadcast tensors and numbers to one shape; numbers take the first tensor's dtype and device."""
    if not all(isinstance(v, (Tensor, numbers.Number)) for v in values):
        raise ValueError("Input arguments must all be instances of numbers.Number or ember.Tensor.")
    if not any(isinstance(v, Tensor) for v in values):
        d = ember.get_default_dtype()
        return ember.broadcast_tensors(*(ember.tensor(v, dtype=d) for v in values))
    like = next(v for v in values if isinstance(v, Tensor))
    values = [v if isinstance(v, Tensor) else ember.tensor(v, dtype=like.dtype, device=like.device)
              for v in values]
    return ember.broadcast_tensors(*values)


def finfo(t: Tensor) -> np.finfo:
    """Machine limits of a floating tensor's dtype (eps, tiny) for clamping probabilities."""
    return np.finfo(t._data.dtype)


def clamp_probs(probs: Tensor) -> Tensor:
    eps = float(finfo(probs).eps)
    return probs.clamp(min=eps, max=1 - eps)


def logits_to_probs(logits: Tensor, is_binary: bool = False) -> Tensor:
    return logits.sigmoid() if is_binary else logits.softmax(dim=-1)


def probs_to_logits(probs: Tensor, is_binary: bool = False) -> Tensor:
    p = clamp_probs(probs)
    return p.log() - (-p).log1p() if is_binary else p.log()


def sum_rightmost(value: Tensor, dim: int) -> Tensor:
    """Sum out the rightmost ``dim`` dimensions (event dimensions of a log density)."""
    if dim == 0:
        return value
    return value.reshape(tuple(value.shape[:-dim]) + (-1,)).sum(-1)


def draw(like: Tensor, sample) -> Tensor:
    """A tensor of ``sample(numpy_generator)`` on ``like``'s device with its dtype, outside the graph."""
    arr = np.asarray(sample(rng(None))).astype(like._data.dtype)
    return Tensor._make(move(arr, like.device))


def numpy_of(t: Tensor) -> np.ndarray:
    """A float64 CPU copy of a tensor's values (for samplers that run in NumPy)."""
    return np.asarray(move(t.detach()._data, ember.device("cpu")), dtype=np.float64)


class lazy_property:
    """A property computed on first access and cached on the instance (as PyTorch's)."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        update_wrapper(self, wrapped)

    def __get__(self, instance, obj_type=None):
        if instance is None:
            return _LazyPropertyAndProperty(self.wrapped)
        with ember.enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


class _LazyPropertyAndProperty(lazy_property, property):
    """Read on the class, a lazy property also looks like a property (for introspection)."""

    def __init__(self, wrapped):
        property.__init__(self, wrapped)


class BinaryProbs:
    """``probs`` and ``logits`` of a distribution with one success probability per element:
    ``__init__`` sets one, and the other is computed from it on first use."""

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits, is_binary=True)
