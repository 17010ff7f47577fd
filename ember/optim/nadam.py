"""NAdam: Adam with Nesterov momentum (and momentum decay)."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .._tensor import Tensor
from ..backend.compat import as_array
from .optimizer import (
    Optimizer, adam_moments_, add_scaled_, check_betas, check_differentiable, check_lr,
    check_range, scalar, state_zeros, step_tensor,
)

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """NAdam (``torch.optim.NAdam``).

    The momentum coefficient at step t is ``mu_t = b1 * (1 - 0.5 * 0.96^(t*momentum_decay))``;
    the update mixes the current gradient and the running average ``m`` with weights
    ``(1-mu_t) / (1 - prod mu)`` and ``mu_{t+1} / (1 - prod mu * mu_{t+1})``, both
    divided by ``sqrt(v / (1-b2^t)) + eps``.

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate.
        betas: decay rates of the running averages of the gradient and its square.
        eps: added to the denominator for numerical stability.
        weight_decay: weight decay coefficient (L2, or decoupled as in AdamW).
        momentum_decay: momentum decay psi.
        decoupled_weight_decay: shrink the weights directly instead of adding an L2 term.
        maximize: maximize the objective instead of minimizing it.
        foreach, capturable: accepted for PyTorch compatibility (one implementation).
    """

    def __init__(self, params: Iterable, lr: float | Tensor = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        check_lr(lr)
        check_range(0.0 <= eps, "epsilon value", eps)
        check_betas(betas)
        check_range(0.0 <= weight_decay, "weight_decay value", weight_decay)
        check_range(0.0 <= momentum_decay, "momentum_decay value", momentum_decay)
        check_differentiable(differentiable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = scalar(group["lr"]), group["betas"], group["eps"]
        momentum_decay = group["momentum_decay"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if not state:
                state["step"] = step_tensor()
                state["mu_product"] = step_tensor(1.0)
                state["exp_avg"] = state_zeros(p)
                state["exp_avg_sq"] = state_zeros(p)
            step, g, exp_avg, exp_avg_sq = adam_moments_(state, p, group, lr, beta1, beta2)
            mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
            mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
            # The product is kept in the counter's dtype (float32 by default), as PyTorch does.
            mu_product_t = state["mu_product"]
            mu_product_t._data *= mu
            mu_product = float(mu_product_t._data)

            denom = as_array(exp_avg_sq / (1 - beta2 ** step))
            np.sqrt(denom, out=denom)
            denom += eps
            add_scaled_(p._data, -lr * (1.0 - mu) / (1.0 - mu_product), g, denom, divide=True)
            add_scaled_(p._data, (-lr * mu_next) / (1.0 - mu_product * mu_next), exp_avg, denom,
                        divide=True)
            p._vc[0] += 1
