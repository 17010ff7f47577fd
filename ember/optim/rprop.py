"""Rprop: resilient backpropagation (per-element step sizes driven by gradient signs)."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .._tensor import Tensor
from .optimizer import (
    Optimizer, check_differentiable, check_lr, grad_of, increment, scalar, state_zeros, step_tensor,
)

__all__ = ["Rprop"]


class Rprop(Optimizer):
    """Resilient backpropagation (``torch.optim.Rprop``).

    Each element keeps its own step size: it grows by ``etaplus`` while the gradient keeps
    its sign and shrinks by ``etaminus`` when the sign flips (clamped to ``step_sizes``);
    the parameter moves by ``-sign(g) * step_size``. After a sign flip the gradient counts
    as zero for that element, so it neither moves nor changes its step size next time.

    Args:
        params: tensors or parameter groups to optimize.
        lr: the initial step size of every element.
        etas: (etaminus, etaplus), the shrink and growth factors (0 < etaminus < 1 < etaplus).
        step_sizes: (minimum, maximum) step size.
        maximize: maximize the objective instead of minimizing it.
        foreach, capturable: accepted for PyTorch compatibility (one implementation).
    """

    def __init__(self, params: Iterable, lr: float | Tensor = 1e-2,
                 etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50), *, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        check_lr(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        check_differentiable(differentiable)
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any]) -> None:
        etaminus, etaplus = group["etas"]
        step_size_min, step_size_max = group["step_sizes"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if not state:
                state["step"] = step_tensor()
                state["prev"] = state_zeros(p)
                state["step_size"] = Tensor._make(np.full_like(p._data, scalar(group["lr"])))
            increment(state["step"])
            g = grad_of(p, group["maximize"], 0)
            prev, step_size = state["prev"]._data, state["step_size"]._data
            sign = np.sign(g * prev)
            factor = np.where(sign > 0, etaplus, np.where(sign < 0, etaminus, 1)).astype(g.dtype)
            step_size *= factor
            np.clip(step_size, step_size_min, step_size_max, out=step_size)
            # PyTorch zeroes the gradient where the factor (cast to the dtype) equals etaminus.
            g = np.where(factor == g.dtype.type(etaminus), 0, g).astype(g.dtype)
            p._data -= np.sign(g) * step_size
            p._vc[0] += 1
            prev[...] = g
