"""Adam: adaptive moment estimation (with AMSGrad and decoupled weight decay options)."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .._tensor import Tensor
from .optimizer import (
    Optimizer, adam_moments_, add_scaled_, check_betas, check_differentiable, check_lr,
    check_range, increment, one_pass, scalar, state_zeros, step_tensor,
)

__all__ = ["Adam"]


class Adam(Optimizer):
    """Adam (``torch.optim.Adam``).

    ``m = b1*m + (1-b1)*g``, ``v = b2*v + (1-b2)*g*g`` and
    ``p -= lr / (1-b1^t) * m / (sqrt(v) / sqrt(1-b2^t) + eps)``; with ``amsgrad`` the
    running maximum of ``v`` is used. ``weight_decay`` is an L2 term added to the
    gradient, or with ``decoupled_weight_decay=True`` a shrink ``p *= 1 - lr*wd`` (AdamW).

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate.
        betas: decay rates of the running averages of the gradient and its square.
        eps: added to the denominator for numerical stability.
        weight_decay: weight decay coefficient.
        amsgrad: use the AMSGrad variant.
        maximize: maximize the objective instead of minimizing it.
        decoupled_weight_decay: apply weight decay to the weights directly (AdamW).
        foreach, capturable, fused: accepted for PyTorch compatibility (one implementation).
    """

    def __init__(self, params: Iterable, lr: float | Tensor = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False) -> None:
        check_lr(lr)
        check_range(0.0 <= eps, "epsilon value", eps)
        check_betas(betas)
        check_range(0.0 <= weight_decay, "weight_decay value", weight_decay)
        check_differentiable(differentiable)
        betas = tuple(scalar(b) for b in betas)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = scalar(group["lr"]), group["betas"], group["eps"]
        amsgrad = group["amsgrad"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if not state:
                state["step"] = step_tensor()
                state["exp_avg"] = state_zeros(p)
                state["exp_avg_sq"] = state_zeros(p)
                if amsgrad:
                    state["max_exp_avg_sq"] = state_zeros(p)
            fused = one_pass(p, "adam", state["exp_avg"], state["exp_avg_sq"],
                             state.get("max_exp_avg_sq") if amsgrad else None)
            if fused is not None:
                self._fused_step(fused, state, group, lr, beta1, beta2, eps)
                p._vc[0] += 1
                continue
            step, g, exp_avg, exp_avg_sq = adam_moments_(state, p, group, lr, beta1, beta2)

            bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
            if amsgrad:
                second = state["max_exp_avg_sq"]._data
                np.maximum(second, exp_avg_sq, out=second)
            else:
                second = exp_avg_sq
            denom = np.sqrt(second)
            denom /= bias_correction2_sqrt
            denom += eps
            add_scaled_(p._data, -lr / (1 - beta1 ** step), exp_avg, denom, divide=True)
            p._vc[0] += 1

    @staticmethod
    def _fused_step(fused: tuple, state: dict, group: dict, lr: float, beta1: float, beta2: float,
                    eps: float) -> None:
        """The step above by the one-pass kernel, from the same derived hyper-parameters."""
        update, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq = fused
        step = increment(state["step"])
        weight_decay, decoupled = group["weight_decay"], group["decoupled_weight_decay"]
        shrink = 1 - lr * weight_decay if decoupled and weight_decay != 0 else 1.0
        w1 = 1 - beta1
        update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, shrink, 0 if decoupled else weight_decay,
               group["maximize"], w1, 1 - w1, abs(w1) < 0.5, 1 - beta2, beta2, (1 - beta2 ** step) ** 0.5, eps,
               -lr / (1 - beta1 ** step))
