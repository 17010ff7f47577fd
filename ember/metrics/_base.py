"""The streaming-metric base class: additive state over batches, one value at the end."""
from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor
from ..backend import dtypes


def to_numpy(x: Any, name: str) -> np.ndarray:
    """A host NumPy array of a Tensor (detached, moved to the CPU) or of any array-like."""
    if isinstance(x, Tensor):
        return x.detach().cpu().numpy()
    try:
        return np.asarray(x)
    except Exception as exc:  # the array-like's own error says little about which argument failed
        raise TypeError(f"metric {name} must be a Tensor or an array-like, got {type(x).__name__}") from exc


class Metric:
    """Base of the streaming metrics.

    A metric keeps additive sufficient statistics (counts, sums) so the value over
    several batches equals the value over their concatenation. ``update(preds, target)``
    adds a batch, ``compute()`` gives the value so far, ``reset()`` starts over, and
    calling the metric adds a batch and returns that batch's own value.

    Subclasses define ``_zero_state()`` (the state of no data), ``_batch_state(preds,
    target)`` (the increments a batch contributes) and ``_value(state)``.
    """

    def __init__(self) -> None:
        self._state = self._zero_state()

    def _zero_state(self) -> dict[str, Any]:
        raise NotImplementedError

    def _batch_state(self, preds: np.ndarray, target: np.ndarray) -> dict[str, Any]:
        raise NotImplementedError

    def _value(self, state: dict[str, Any]):
        raise NotImplementedError

    def _increments(self, preds, target) -> dict[str, Any]:
        return self._batch_state(to_numpy(preds, "preds"), to_numpy(target, "target"))

    def update(self, preds, target) -> None:
        """Add a batch of predictions and targets to the running statistics."""
        self._add(self._increments(preds, target))

    def _add(self, increments: dict[str, Any]) -> None:
        for key, value in increments.items():
            self._state[key] = self._state[key] + value

    def compute(self) -> Tensor:
        """The metric over every batch since construction or the last ``reset()``."""
        return self._as_tensor(self._value(self._state))

    def reset(self) -> None:
        """Forget every batch seen so far."""
        self._state = self._zero_state()

    def __call__(self, preds, target) -> Tensor:
        increments = self._increments(preds, target)
        self._add(increments)
        batch = self._zero_state()
        for key, value in increments.items():
            batch[key] = batch[key] + value
        return self._as_tensor(self._value(batch))

    @staticmethod
    def _as_tensor(value) -> Tensor:
        array = np.asarray(value)
        if array.dtype.kind == "f":
            array = array.astype(dtypes.get_default_dtype().np)
        return Tensor._make(array)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
