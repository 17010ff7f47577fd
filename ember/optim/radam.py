"""RAdam: Adam with a rectified (variance-corrected) adaptive learning rate."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .._tensor import Tensor
from ..backend.compat import as_array
from .optimizer import (
    Optimizer, adam_moments_, check_betas, check_differentiable, check_lr, check_range, scalar,
    state_zeros, step_tensor,
)

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """RAdam (``torch.optim.RAdam``).

    While the variance of the adaptive rate is intractable (``rho_t <= 5``) the step is
    plain momentum SGD on the bias-corrected average; afterwards it is Adam's step
    scaled by the rectification term ``r_t``.

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate.
        betas: decay rates of the running averages of the gradient and its square.
        eps: added to the denominator for numerical stability.
        weight_decay: weight decay coefficient (L2, or decoupled as in AdamW).
        decoupled_weight_decay: shrink the weights directly instead of adding an L2 term.
        maximize: maximize the objective instead of minimizing it.
        foreach, capturable: accepted for PyTorch compatibility (one implementation).
    """

    def __init__(self, params: Iterable, lr: float | Tensor = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        check_lr(lr)
        check_range(0.0 <= eps, "epsilon value", eps)
        check_betas(betas)
        check_range(0.0 <= weight_decay, "weight_decay value", weight_decay)
        check_differentiable(differentiable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable,
                        decoupled_weight_decay=decoupled_weight_decay, differentiable=differentiable)
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = scalar(group["lr"]), group["betas"], group["eps"]
        rho_inf = 2 / (1 - beta2) - 1
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if not state:
                state["step"] = step_tensor()
                state["exp_avg"] = state_zeros(p)
                state["exp_avg_sq"] = state_zeros(p)
            step, g, exp_avg, exp_avg_sq = adam_moments_(state, p, group, lr, beta1, beta2)

            bias_correction1 = 1 - beta1 ** step
            bias_correction2 = 1 - beta2 ** step
            update = exp_avg / bias_correction1
            update *= lr
            rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
            if rho_t > 5.0:
                rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                        / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                adaptive = as_array(np.sqrt(exp_avg_sq) + eps)
                np.divide(bias_correction2 ** 0.5, adaptive, out=adaptive)
                update *= adaptive
                update *= rect
            p._data -= update
            p._vc[0] += 1
