"""Stochastic gradient descent, optionally with (Nesterov) momentum."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .._tensor import Tensor
from .optimizer import Optimizer, check_differentiable, check_lr, check_range, grad_of, one_pass, scalar

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent (``torch.optim.SGD``).

    With momentum ``mu`` and dampening ``tau``: ``b = mu * b + (1 - tau) * g`` (``b = g``
    on the first step), then ``p -= lr * (g + mu * b if nesterov else b)``.

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate.
        momentum: momentum factor.
        dampening: dampening for momentum.
        weight_decay: L2 penalty added to the gradient.
        nesterov: use Nesterov momentum.
        maximize: maximize the objective instead of minimizing it.
        foreach, fused: accepted for PyTorch compatibility (ember has one implementation).
    """

    def __init__(self, params: Iterable, lr: float | Tensor = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        check_lr(lr)
        check_range(momentum >= 0.0, "momentum value", momentum)
        check_range(weight_decay >= 0.0, "weight_decay value", weight_decay)
        check_differentiable(differentiable)
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach,
                        differentiable=differentiable, fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, momentum, dampening = scalar(group["lr"]), group["momentum"], group["dampening"]
        nesterov, maximize, weight_decay = group["nesterov"], group["maximize"], group["weight_decay"]
        for p in group["params"]:
            if p.grad is None:
                continue
            buf, first = None, False
            if momentum != 0:
                state = self.state[p]
                buf = state.get("momentum_buffer")
                if buf is None:  # the first step: the buffer starts as the gradient
                    buf = state["momentum_buffer"] = Tensor._make(np.empty_like(p._data))
                    first = True
            fused = one_pass(p, "sgd", buf)
            if fused is not None:
                update, param, grad, flat_buf = fused
                update(param, grad, flat_buf, lr, momentum, 1 - dampening, weight_decay, nesterov, maximize, first)
            else:
                g = grad_of(p, maximize, weight_decay)
                if buf is not None:
                    b = buf._data
                    if first:
                        np.copyto(b, g)
                    else:
                        b *= momentum
                        if dampening == 0:
                            b += g
                        else:
                            b += (1 - dampening) * g
                    g = g + momentum * b if nesterov else b
                p._data -= lr * g
            p._vc[0] += 1
