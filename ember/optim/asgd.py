"""ASGD: averaged stochastic gradient descent (SGD plus a running average of the iterates)."""
from __future__ import annotations

from typing import Any, Iterable


from .._tensor import Tensor
from .optimizer import (
    Optimizer, check_differentiable, check_lr, check_range, grad_of, increment, scalar, state_zeros,
    step_tensor,
)

__all__ = ["ASGD"]


class ASGD(Optimizer):
    """Averaged stochastic gradient descent (``torch.optim.ASGD``).

    Each step decays and moves the weights, ``p = p * (1 - lambd*eta) - eta * g``, and
    updates the average ``ax`` of the iterates (a copy of ``p`` until step ``t0``, a running
    mean after it). The step size decays as ``eta = lr / (1 + lambd*lr*t) ** alpha``. The
    average lives in ``optimizer.state[p]['ax']``; copy it into the weights to evaluate it.

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate.
        lambd: decay term.
        alpha: power of the step-size decay.
        t0: the step at which averaging starts.
        weight_decay: L2 penalty added to the gradient.
        maximize: maximize the objective instead of minimizing it.
        foreach, capturable: accepted for PyTorch compatibility (one implementation).
    """

    def __init__(self, params: Iterable, lr: float | Tensor = 1e-2, lambd: float = 1e-4,
                 alpha: float = 0.75, t0: float = 1e6, weight_decay: float = 0,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        check_lr(lr)
        check_range(0.0 <= weight_decay, "weight_decay value", weight_decay)
        check_differentiable(differentiable)
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, lambd, alpha, t0 = scalar(group["lr"]), group["lambd"], group["alpha"], group["t0"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if not state:
                # eta and mu are 0-d tensors of the step counter's dtype, like PyTorch's, so
                # the float32 rounding of eta is the same on both sides.
                state["step"] = step_tensor()
                state["eta"] = step_tensor(lr)
                state["mu"] = step_tensor(1.0)
                state["ax"] = state_zeros(p)
            step = increment(state["step"])
            g = grad_of(p, group["maximize"], group["weight_decay"])
            eta, mu, ax = float(state["eta"]._data), float(state["mu"]._data), state["ax"]._data
            w = p._data
            w *= 1 - lambd * eta
            w -= eta * g
            p._vc[0] += 1
            if mu != 1:
                ax += (w - ax) * w.dtype.type(mu)
            else:
                ax[...] = w
            # Rounded to the default-dtype scalar first, as PyTorch's as_tensor does, even when
            # a loaded state holds eta and mu in the parameters' (wider) dtype.
            state["eta"]._data[...] = step_tensor(lr / ((1 + lambd * lr * step) ** alpha))._data
            state["mu"]._data[...] = step_tensor(1 / max(1, step - t0))._data
