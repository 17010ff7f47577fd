"""SparseAdam: Adam that updates only the rows of a parameter that received a gradient."""
from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from .._tensor import Tensor
from .optimizer import Optimizer, check_betas, check_lr, check_range, scalar, state_zeros

__all__ = ["SparseAdam"]


class SparseAdam(Optimizer):
    """Masked Adam for embeddings (``torch.optim.SparseAdam``).

    PyTorch feeds it the sparse gradient of ``nn.Embedding(sparse=True)``: only the rows
    looked up in the batch are present, and only those rows' moments and weights change.
    ember's embeddings produce dense gradients, so the rows present are the rows whose
    gradient is not entirely zero; the update of those rows is PyTorch's. (A row that was
    looked up but got an exactly zero gradient is left alone here, where PyTorch would
    still decay its moments and move it.)

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate.
        betas: decay rates of the running averages of the gradient and its square.
        eps: added to the denominator for numerical stability.
        maximize: maximize the objective instead of minimizing it.
    """

    def __init__(self, params: Iterable, lr: float | Tensor = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 maximize: bool = False) -> None:
        check_lr(lr)
        check_range(0.0 < lr, "learning rate", lr)
        check_range(0.0 < eps, "epsilon value", eps)
        check_betas(betas)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, maximize=maximize))

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = scalar(group["lr"]), group["betas"], group["eps"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if not state:
                state["step"] = 0  # a Python int in PyTorch's SparseAdam, not a tensor
                state["exp_avg"] = state_zeros(p)
                state["exp_avg_sq"] = state_zeros(p)
            state["step"] += 1
            step = state["step"]
            g = _by_rows(p.grad._data)
            if group["maximize"]:
                g = np.negative(g)
            rows = np.flatnonzero(np.any(g.reshape(g.shape[0], -1) != 0, axis=1))
            if rows.size == 0:
                continue
            g = g[rows]
            weight = _by_rows(p._data)
            exp_avg, exp_avg_sq = _by_rows(state["exp_avg"]._data), _by_rows(state["exp_avg_sq"]._data)
            # The same operations, in the same order, as PyTorch's sparse kernel on the values.
            old_avg, old_sq = exp_avg[rows], exp_avg_sq[rows]
            avg_update = (g - old_avg) * (1 - beta1)
            sq_update = (g * g - old_sq) * (1 - beta2)
            exp_avg[rows] += avg_update
            exp_avg_sq[rows] += sq_update
            numer = avg_update + old_avg
            denom = np.sqrt(sq_update + old_sq) + eps
            step_size = lr * math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step)
            weight[rows] += -step_size * (numer / denom)
            p._vc[0] += 1


def _by_rows(a: np.ndarray) -> np.ndarray:
    """A view of ``a`` with a leading row dimension (a 0-d tensor is one row)."""
    return a.reshape(1) if a.ndim == 0 else a
