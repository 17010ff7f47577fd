"""Adadelta: step sizes from running averages of squared gradients and squared updates."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .._tensor import Tensor
from ..backend.compat import as_array
from .optimizer import (
    Optimizer, add_scaled_, check_differentiable, check_lr, check_range, grad_of, increment,
    one_pass, scalar, state_zeros, step_tensor,
)

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta (``torch.optim.Adadelta``).

    ``v = rho*v + (1-rho)*g*g``, ``d = sqrt(u + eps) / sqrt(v + eps) * g``,
    ``u = rho*u + (1-rho)*d*d`` and ``p -= lr * d``.

    Args:
        params: tensors or parameter groups to optimize.
        lr: coefficient that scales the delta.
        rho: decay rate of the running averages.
        eps: added inside the square roots for numerical stability.
        weight_decay: L2 penalty added to the gradient.
        maximize: maximize the objective instead of minimizing it.
        foreach, capturable: accepted for PyTorch compatibility (one implementation).
    """

    def __init__(self, params: Iterable, lr: float | Tensor = 1.0, rho: float = 0.9,
                 eps: float = 1e-6, weight_decay: float = 0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False) -> None:
        check_lr(lr)
        check_range(0.0 <= rho <= 1.0, "rho value", rho)
        check_range(0.0 <= eps, "epsilon value", eps)
        check_range(0.0 <= weight_decay, "weight_decay value", weight_decay)
        check_differentiable(differentiable)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, rho, eps = scalar(group["lr"]), group["rho"], group["eps"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if not state:
                state["step"] = step_tensor()
                state["square_avg"] = state_zeros(p)
                state["acc_delta"] = state_zeros(p)
            increment(state["step"])
            fused = one_pass(p, "adadelta", state["square_avg"], state["acc_delta"])
            if fused is not None:
                update, param, grad, square_avg, acc_delta = fused
                update(param, grad, square_avg, acc_delta, lr, rho, 1 - rho, eps, group["weight_decay"],
                       group["maximize"])
                p._vc[0] += 1
                continue
            g = grad_of(p, group["maximize"], group["weight_decay"])
            square_avg, acc_delta = state["square_avg"]._data, state["acc_delta"]._data
            square_avg *= rho
            add_scaled_(square_avg, 1 - rho, g, g)
            std = as_array(square_avg + eps)
            np.sqrt(std, out=std)
            delta = as_array(acc_delta + eps)
            np.sqrt(delta, out=delta)
            delta /= std
            delta *= g
            acc_delta *= rho
            add_scaled_(acc_delta, 1 - rho, delta, delta)
            delta *= lr
            p._data -= delta
            p._vc[0] += 1
