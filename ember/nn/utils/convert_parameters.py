"""Flatten parameters into one vector and back (e.g. for second-order optimizers)."""
from __future__ import annotations

from typing import Iterable

from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from ...ops.join import cat

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def _check_same_device(param: Tensor, device):
    if device is not None and param.device != device:
        raise TypeError("Found two parameters on different devices, this is currently not supported.")
    return param.device


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and concatenated into one 1-D tensor (differentiable)."""
    device = None
    flat = []
    for p in parameters:
        device = _check_same_device(p, device)
        flat.append(p.reshape(-1))
    return cat(flat)


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Make each parameter's data the next slice of ``vec`` (a view of it, not a copy)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected ember.Tensor, but got: {type(vec).__name__}")
    device = None
    start = 0
    with no_grad():
        for p in parameters:
            device = _check_same_device(p, device)
            n = p.numel()
            p.data = vec[start:start + n].view(p.shape).data
            start += n
