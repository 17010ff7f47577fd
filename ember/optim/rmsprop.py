"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .._tensor import Tensor
from ..backend.compat import as_array
from .optimizer import (
    Optimizer, add_scaled_, check_differentiable, check_lr, check_range, grad_of, increment,
    lerp_, one_pass, scalar, state_zeros, step_tensor,
)

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop (``torch.optim.RMSprop``).

    ``v = alpha*v + (1-alpha)*g*g``; the step is ``lr * g / (sqrt(v) + eps)`` (with
    ``centered``, ``v`` minus the square of the running mean gradient), accumulated in a
    momentum buffer when ``momentum > 0``.

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate.
        alpha: smoothing constant of the running average of squared gradients.
        eps: added to the denominator for numerical stability.
        weight_decay: L2 penalty added to the gradient.
        momentum: momentum factor.
        centered: normalize by an estimate of the gradient's variance.
        maximize: maximize the objective instead of minimizing it.
        capturable, foreach: accepted for PyTorch compatibility (one implementation).
    """

    def __init__(self, params: Iterable, lr: float | Tensor = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, capturable: bool = False, foreach: bool | None = None,
                 maximize: bool = False, differentiable: bool = False) -> None:
        check_lr(lr)
        check_range(0.0 <= eps, "epsilon value", eps)
        check_range(0.0 <= momentum, "momentum value", momentum)
        check_range(0.0 <= weight_decay, "weight_decay value", weight_decay)
        check_range(0.0 <= alpha, "alpha value", alpha)
        check_differentiable(differentiable)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, alpha, eps, momentum = scalar(group["lr"]), group["alpha"], group["eps"], group["momentum"]
        centered = group["centered"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if not state:
                state["step"] = step_tensor()
                state["square_avg"] = state_zeros(p)
                if momentum > 0:
                    state["momentum_buffer"] = state_zeros(p)
                if centered:
                    state["grad_avg"] = state_zeros(p)
            increment(state["step"])
            fused = one_pass(p, "rmsprop", state["square_avg"], state["grad_avg"] if centered else None,
                             state["momentum_buffer"] if momentum > 0 else None)
            if fused is not None:
                update, param, grad, square_avg, grad_avg, buf = fused
                update(param, grad, square_avg, grad_avg, buf, lr, alpha, 1 - alpha, 1 - (1 - alpha),
                       abs(1 - alpha) < 0.5, eps, momentum, group["weight_decay"], group["maximize"])
                p._vc[0] += 1
                continue
            g = grad_of(p, group["maximize"], group["weight_decay"])
            square_avg = state["square_avg"]._data
            square_avg *= alpha
            add_scaled_(square_avg, 1 - alpha, g, g)
            if centered:
                grad_avg = state["grad_avg"]._data
                lerp_(grad_avg, g, 1 - alpha)
                avg = as_array(square_avg - grad_avg * grad_avg)
                np.sqrt(avg, out=avg)
            else:
                avg = np.sqrt(square_avg)
            avg += eps
            if momentum > 0:
                buf = state["momentum_buffer"]._data
                buf *= momentum
                add_scaled_(buf, 1, g, avg, divide=True)
                p._data -= lr * buf
            else:
                add_scaled_(p._data, -lr, g, avg, divide=True)
            p._vc[0] += 1
