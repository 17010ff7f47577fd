"""Gradient clipping: rescale or clamp the ``.grad`` of parameters in place, after backward."""
from __future__ import annotations

import math
import warnings
from typing import Iterable

import numpy as np

from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from ...backend import kernels
from ...backend.compat import as_array
from ...backend.device import xp_of
from ...backend.dtypes import get_default_dtype

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "clip_grads_with_norm_",
           "get_total_norm"]

_Tensors = Tensor | Iterable[Tensor]


def _tensors(tensors: _Tensors) -> list[Tensor]:
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _grads(parameters: _Tensors) -> list[Tensor]:
    return [p.grad for p in _tensors(parameters) if p.grad is not None]


def _norm(x, p: float):
    """The p-norm of an array as a 0-d array of its dtype (``p`` may be 0 or +-inf)."""
    flat = x.reshape(-1)
    if flat.size == 0:
        return np.zeros((), dtype=x.dtype, like=x)
    if p == 2 and flat.dtype.kind == "f":  # x * x is |x| * |x|: no pass of abs first
        return np.sqrt(np.dot(flat, flat))  # one BLAS call: the common case, on every training step
    a = np.abs(flat)
    if p == math.inf:
        return a.max()
    if p == -math.inf:
        return a.min()
    if p == 0:
        return np.asarray(np.count_nonzero(a), dtype=x.dtype, like=x)
    if p == 2:  # complex: the moduli's dot product
        return np.sqrt(np.dot(a, a))
    if p == 1:
        return a.sum()
    return (a ** p).sum() ** (1.0 / p)


@no_grad()
def get_total_norm(tensors: _Tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach: bool | None = None) -> Tensor:
    """The ``norm_type``-norm of all ``tensors`` together, as if concatenated into one vector.

    Args:
        norm_type: p of the norm; ``inf`` for the largest absolute value.
        error_if_nonfinite: raise when the norm is nan or inf.
        foreach: accepted for compatibility (one loop serves every device).
    """
    arrays = [t._data for t in _tensors(tensors)]
    p = float(norm_type)
    if not arrays:
        return Tensor._make(np.zeros((), dtype=get_default_dtype().np))
    norms = [_norm(a, p) for a in arrays]
    dtype = np.result_type(*[n.dtype for n in norms])
    total = _norm(xp_of(arrays[0]).stack([n.astype(dtype) for n in norms]), p)
    if error_if_nonfinite and not bool(np.isfinite(total)):
        raise RuntimeError(
            f"The total norm of order {p} for gradients from `parameters` is non-finite, so it "
            "cannot be clipped. To disable this error and scale the gradients by the non-finite "
            "norm anyway, set `error_if_nonfinite=False`")
    return Tensor._make(as_array(total.astype(dtype)))


@no_grad()
def clip_grads_with_norm_(parameters: _Tensors, max_norm: float, total_norm: Tensor,
                          foreach: bool | None = None) -> None:
    """Scale the gradients by ``max_norm / (total_norm + 1e-6)`` when that is below 1."""
    coef = min(float(max_norm) / (float(total_norm) + 1e-6), 1.0)
    with np.errstate(invalid="ignore"):  # a non-finite norm scales to nan, as in PyTorch
        for g in _grads(parameters):
            if not kernels.apply_scale(g._data, coef):  # one pass, large ones over the cores
                g._data *= g._data.dtype.type(coef)
            g._vc[0] += 1


def clip_grad_norm_(parameters: _Tensors, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Rescale the gradients in place so their total norm is at most ``max_norm``.

    Args:
        parameters: a tensor or an iterable of tensors whose ``.grad`` is clipped.
        max_norm: the largest total norm allowed.
        norm_type: p of the norm (``inf`` for the largest absolute value).
        error_if_nonfinite: raise instead of scaling when the total norm is nan or inf.
    Returns:
        The total norm of the gradients before clipping (a 0-d tensor).
    """
    parameters = _tensors(parameters)  # iterated twice below, so a generator is kept
    total = get_total_norm(_grads(parameters), norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total, foreach)
    return total


def clip_grad_norm(parameters: _Tensors, max_norm: float, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Deprecated spelling of :func:`clip_grad_norm_`."""
    warnings.warn("`ember.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`ember.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


@no_grad()
def clip_grad_value_(parameters: _Tensors, clip_value: float, foreach: bool | None = None) -> None:
    """Clamp every gradient element into ``[-clip_value, clip_value]`` in place."""
    v = float(clip_value)
    for g in _grads(parameters):
        np.clip(g._data, -v, v, out=g._data)
        g._vc[0] += 1
