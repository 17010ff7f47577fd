"""Adamax: Adam with the infinity norm in place of the second moment."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .._tensor import Tensor
from .optimizer import (
    Optimizer, add_scaled_, check_betas, check_differentiable, check_lr, check_range, grad_of,
    increment, lerp_, scalar, state_zeros, step_tensor,
)

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """Adamax (``torch.optim.Adamax``).

    ``m = b1*m + (1-b1)*g``, ``u = max(b2*u, |g| + eps)`` and ``p -= lr / (1-b1^t) * m / u``.

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate.
        betas: decay rates of the running average of the gradient and of the infinity norm.
        eps: added to the denominator for numerical stability.
        weight_decay: L2 penalty added to the gradient.
        maximize: maximize the objective instead of minimizing it.
        foreach, capturable: accepted for PyTorch compatibility (one implementation).
    """

    def __init__(self, params: Iterable, lr: float | Tensor = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        check_lr(lr)
        check_range(0.0 <= eps, "epsilon value", eps)
        check_betas(betas)
        check_range(0.0 <= weight_decay, "weight_decay value", weight_decay)
        check_differentiable(differentiable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = scalar(group["lr"]), group["betas"], group["eps"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if not state:
                state["step"] = step_tensor()
                state["exp_avg"] = state_zeros(p)
                state["exp_inf"] = state_zeros(p)
            step = increment(state["step"])
            g = grad_of(p, group["maximize"], group["weight_decay"])
            exp_avg, exp_inf = state["exp_avg"]._data, state["exp_inf"]._data
            lerp_(exp_avg, g, 1 - beta1)
            exp_inf *= beta2
            norm = np.abs(g)
            norm += eps
            np.maximum(exp_inf, norm, out=exp_inf)
            add_scaled_(p._data, -(lr / (1 - beta1 ** step)), exp_avg, exp_inf, divide=True)
            p._vc[0] += 1
