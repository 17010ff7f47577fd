"""Adagrad: per-coordinate learning rates from the sum of squared gradients."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .._tensor import Tensor
from .optimizer import (
    Optimizer, add_scaled_, check_differentiable, check_lr, check_range, grad_of, increment,
    scalar, step_tensor,
)

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad (``torch.optim.Adagrad``).

    ``s += g*g`` and ``p -= lr / (1 + (t-1)*lr_decay) * g / (sqrt(s) + eps)``. The state
    is created for every parameter at construction, as in PyTorch.

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate.
        lr_decay: learning rate decay per step.
        weight_decay: L2 penalty added to the gradient.
        initial_accumulator_value: starting value of the sum of squared gradients.
        eps: added to the denominator for numerical stability.
        maximize: maximize the objective instead of minimizing it.
        foreach, fused: accepted for PyTorch compatibility (one implementation).
    """

    def __init__(self, params: Iterable, lr: float | Tensor = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0, eps: float = 1e-10,
                 foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        check_lr(lr)
        check_range(0.0 <= lr_decay, "lr_decay value", lr_decay)
        check_range(0.0 <= weight_decay, "weight_decay value", weight_decay)
        check_range(0.0 <= initial_accumulator_value, "initial_accumulator_value value",
                    initial_accumulator_value)
        check_range(0.0 <= eps, "epsilon value", eps)
        check_differentiable(differentiable)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                state["step"] = step_tensor()
                state["sum"] = Tensor._make(np.full_like(p._data, group["initial_accumulator_value"]))

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, lr_decay, eps = scalar(group["lr"]), group["lr_decay"], group["eps"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            step = increment(state["step"])
            g = grad_of(p, group["maximize"], group["weight_decay"])
            clr = lr / (1 + (step - 1) * lr_decay)
            total = state["sum"]._data
            add_scaled_(total, 1, g, g)
            std = np.sqrt(total)
            std += eps
            add_scaled_(p._data, -clr, g, std, divide=True)
            p._vc[0] += 1
