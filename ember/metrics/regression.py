"""Regression and language-model metrics: MAE, MSE/RMSE, R2, perplexity."""
from __future__ import annotations

from typing import Any

import numpy as np

from ._base import Metric


def _check_same_shape(preds: np.ndarray, target: np.ndarray, metric: str) -> None:
    if preds.shape != target.shape:
        raise ValueError(f"{metric}: preds of shape {preds.shape} and target of shape {target.shape} "
                         f"must have the same shape")


class _ErrorSum(Metric):
    """Mean of an elementwise error over every element seen."""

    def _zero_state(self) -> dict[str, Any]:
        return {"total": 0.0, "count": 0}

    def _error(self, diff: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _batch_state(self, preds: np.ndarray, target: np.ndarray) -> dict[str, Any]:
        _check_same_shape(preds, target, type(self).__name__)
        diff = preds.astype(np.float64) - target.astype(np.float64)
        return {"total": float(self._error(diff).sum()), "count": diff.size}

    def _mean(self, state: dict[str, Any]) -> float:
        return state["total"] / state["count"] if state["count"] else 0.0


class MeanAbsoluteError(_ErrorSum):
    """Mean absolute error ``mean(|preds - target|)`` over every element."""

    def _error(self, diff):
        return np.abs(diff)

    def _value(self, state):
        return self._mean(state)


class MeanSquaredError(_ErrorSum):
    """Mean squared error ``mean((preds - target)^2)``; with ``squared=False`` its root (RMSE)."""

    def __init__(self, squared: bool = True) -> None:
        self.squared = squared
        super().__init__()

    def _error(self, diff):
        return diff * diff

    def _value(self, state):
        mse = self._mean(state)
        return mse if self.squared else np.sqrt(mse)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(squared={self.squared})"


class R2Score(Metric):
    """Coefficient of determination ``1 - SS_res / SS_tot``.

    Targets are ``(N,)`` or ``(N, D)``; for ``D`` outputs, ``multioutput`` is
    ``"uniform_average"`` (mean of the per-output scores) or ``"raw_values"``.
    A constant target (``SS_tot = 0``) scores 1 if predicted exactly, else 0.
    """

    def __init__(self, multioutput: str = "uniform_average") -> None:
        if multioutput not in ("uniform_average", "raw_values"):
            raise ValueError(f"R2Score: multioutput must be 'uniform_average' or 'raw_values', "
                             f"got {multioutput!r}")
        self.multioutput = multioutput
        super().__init__()

    def _zero_state(self) -> dict[str, Any]:
        # Sums per output column; the sum of squares about the mean follows from them.
        return {"count": 0, "sum": 0.0, "sum_sq": 0.0, "residual": 0.0}

    def _batch_state(self, preds: np.ndarray, target: np.ndarray) -> dict[str, Any]:
        _check_same_shape(preds, target, "R2Score")
        if target.ndim not in (1, 2):
            raise ValueError(f"R2Score: expected targets of shape (N,) or (N, D), got {target.shape}")
        y = target.astype(np.float64)
        residual = ((preds.astype(np.float64) - y) ** 2).sum(axis=0)
        return {"count": y.shape[0], "sum": y.sum(axis=0), "sum_sq": (y * y).sum(axis=0),
                "residual": residual}

    def _value(self, state: dict[str, Any]):
        n = state["count"]
        if n < 2:
            raise ValueError(f"R2Score needs at least two samples, got {n}")
        total = state["sum_sq"] - state["sum"] ** 2 / n
        residual = state["residual"]
        scores = np.where(total > 0, 1.0 - residual / np.where(total > 0, total, 1.0),
                          np.where(residual == 0, 1.0, 0.0))
        return scores if self.multioutput == "raw_values" else np.mean(scores)


class Perplexity(Metric):
    """Perplexity ``exp(mean negative log-likelihood)`` of next-token predictions.

    ``preds`` are logits ``(..., V)`` over a vocabulary of ``V`` tokens (the last
    dimension, as language models return them) and ``target`` token ids ``(...)``;
    positions whose target equals ``ignore_index`` are left out.
    """

    def __init__(self, ignore_index: int | None = None) -> None:
        self.ignore_index = ignore_index
        super().__init__()

    def _zero_state(self) -> dict[str, Any]:
        return {"nll": 0.0, "count": 0}

    def _batch_state(self, preds: np.ndarray, target: np.ndarray) -> dict[str, Any]:
        if preds.shape[:-1] != target.shape:
            raise ValueError(f"Perplexity: logits of shape {preds.shape} do not match target of shape "
                             f"{target.shape}; expected logits (..., V) for target (...)")
        if target.dtype.kind not in "iu":
            raise TypeError(f"Perplexity: target must hold integer token ids, got dtype {target.dtype}")
        logits = preds.reshape(-1, preds.shape[-1]).astype(np.float64)
        ids = target.reshape(-1)
        if self.ignore_index is not None:
            keep = ids != self.ignore_index
            logits, ids = logits[keep], ids[keep]
        if ids.size and (ids.min() < 0 or ids.max() >= logits.shape[1]):
            raise ValueError(f"Perplexity: target ids must lie in [0, {logits.shape[1]}), "
                             f"got values in [{ids.min()}, {ids.max()}]")
        shift = logits.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(logits - shift).sum(axis=1)) + shift[:, 0]
        nll = log_norm - logits[np.arange(ids.size), ids]
        return {"nll": float(nll.sum()), "count": int(ids.size)}

    def _value(self, state: dict[str, Any]) -> float:
        return float(np.exp(state["nll"] / state["count"])) if state["count"] else float("nan")

    def __repr__(self) -> str:
        return f"Perplexity(ignore_index={self.ignore_index})"


__all__ = ["MeanAbsoluteError", "MeanSquaredError", "R2Score", "Perplexity"]
