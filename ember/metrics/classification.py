"""Classification metrics: accuracy, top-k accuracy, precision/recall/F1, confusion matrix."""
from __future__ import annotations

from typing import Any

import numpy as np

from ._base import Metric

_AVERAGES = ("macro", "micro", "weighted", None)
_NORMALIZE = (None, "true", "pred", "all")


def _labels(preds: np.ndarray, target: np.ndarray, metric: str) -> np.ndarray:
    """Predicted class labels from logits/probabilities ``(N, C, ...)`` or labels ``(N, ...)``.

    Scores with one dimension more than ``target`` are reduced by argmax over dim 1
    (PyTorch's class dimension); float scores of ``target``'s shape are binary
    probabilities thresholded at 0.5; integer predictions are labels already.
    """
    if preds.ndim == target.ndim + 1:
        if preds.shape[:1] + preds.shape[2:] != target.shape:
            raise ValueError(f"{metric}: scores of shape {preds.shape} do not match target of shape "
                             f"{target.shape}; expected scores (N, C, ...) for target (N, ...)")
        return preds.argmax(axis=1)
    if preds.shape != target.shape:
        raise ValueError(f"{metric}: preds of shape {preds.shape} do not match target of shape "
                         f"{target.shape}; pass labels of target's shape or scores (N, C, ...)")
    if preds.dtype.kind == "f":
        return (preds >= 0.5).astype(np.int64)
    return preds


def _check_target(target: np.ndarray, metric: str) -> None:
    if target.dtype.kind not in "iub":
        raise TypeError(f"{metric}: target must hold integer class labels, got dtype {target.dtype}")


class Accuracy(Metric):
    """Fraction of samples whose target is among the top-``top_k`` predictions.

    Args:
        top_k: a sample counts as correct if its target is among the ``top_k`` highest
            scores (``top_k > 1`` needs scores ``(N, C, ...)``, not labels).
        ignore_index: target value whose samples are left out.

    ``preds`` are scores ``(N, C, ...)`` (logits or probabilities), labels of
    ``target``'s shape, or binary probabilities of ``target``'s shape.
    """

    def __init__(self, top_k: int = 1, ignore_index: int | None = None) -> None:
        if not isinstance(top_k, int) or top_k < 1:
            raise ValueError(f"{type(self).__name__}: top_k must be a positive integer, got {top_k!r}")
        self.top_k = top_k
        self.ignore_index = ignore_index
        super().__init__()

    def _zero_state(self) -> dict[str, Any]:
        return {"correct": 0, "total": 0}

    def _batch_state(self, preds: np.ndarray, target: np.ndarray) -> dict[str, Any]:
        name = type(self).__name__
        _check_target(target, name)
        if self.top_k == 1:
            correct = _labels(preds, target, name) == target
        else:
            if preds.ndim != target.ndim + 1:
                raise ValueError(f"{name}: top_k={self.top_k} needs scores of shape (N, C, ...), "
                                 f"got preds {preds.shape} for target {target.shape}")
            if self.top_k > preds.shape[1]:
                raise ValueError(f"{name}: top_k={self.top_k} exceeds the {preds.shape[1]} classes")
            _labels(preds, target, name)  # validates the shapes
            target_score = np.take_along_axis(preds, np.expand_dims(target, 1).clip(0, preds.shape[1] - 1), 1)
            # Ranks by strictly greater scores: a target tied with the k-th score counts as correct.
            correct = (preds > target_score).sum(axis=1) < self.top_k
        keep = np.ones(target.shape, bool) if self.ignore_index is None else target != self.ignore_index
        return {"correct": int(correct[keep].sum()), "total": int(keep.sum())}

    def _value(self, state: dict[str, Any]) -> float:
        return state["correct"] / state["total"] if state["total"] else 0.0


class TopKAccuracy(Accuracy):
    """Top-``k`` accuracy: :class:`Accuracy` with ``top_k=k`` (default 5)."""

    def __init__(self, k: int = 5, ignore_index: int | None = None) -> None:
        super().__init__(top_k=k, ignore_index=ignore_index)


class _Confusion(Metric):
    """Accumulates the confusion matrix of ``num_classes`` classes."""

    def __init__(self, num_classes: int) -> None:
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"{type(self).__name__}: num_classes must be a positive integer, got {num_classes!r}")
        self.num_classes = num_classes
        super().__init__()

    def _zero_state(self) -> dict[str, Any]:
        return {"matrix": np.zeros((self.num_classes, self.num_classes), np.int64)}

    def _batch_state(self, preds: np.ndarray, target: np.ndarray) -> dict[str, Any]:
        name = type(self).__name__
        _check_target(target, name)
        labels = _labels(preds, target, name).reshape(-1).astype(np.int64)
        target = target.reshape(-1).astype(np.int64)
        c = self.num_classes
        for what, values in (("target", target), ("predicted", labels)):
            if values.size and (values.min() < 0 or values.max() >= c):
                raise ValueError(f"{name}: {what} labels must lie in [0, {c}) for num_classes={c}, "
                                 f"got values in [{values.min()}, {values.max()}]")
        counts = np.bincount(target * c + labels, minlength=c * c)
        return {"matrix": counts.reshape(c, c)}


class ConfusionMatrix(_Confusion):
    """Counts of (true class, predicted class) pairs: row ``i``, column ``j`` counts
    samples of class ``i`` predicted as ``j``.

    Args:
        num_classes: number of classes ``C``; labels must lie in ``[0, C)``.
        normalize: ``None`` (counts), ``"true"`` (rows sum to 1), ``"pred"`` (columns
            sum to 1) or ``"all"`` (the whole matrix sums to 1).
    """

    def __init__(self, num_classes: int, normalize: str | None = None) -> None:
        if normalize not in _NORMALIZE:
            raise ValueError(f"{type(self).__name__}: normalize must be one of {_NORMALIZE}, got {normalize!r}")
        self.normalize = normalize
        super().__init__(num_classes)

    def _value(self, state: dict[str, Any]) -> np.ndarray:
        matrix = state["matrix"]
        if self.normalize is None:
            return matrix
        total = {"true": matrix.sum(axis=1, keepdims=True), "pred": matrix.sum(axis=0, keepdims=True),
                 "all": matrix.sum()}[self.normalize]
        return matrix / np.where(total == 0, 1, total)

    def plot(self, path: str, class_names: list[str] | None = None, title: str | None = None) -> str:
        """Save the matrix computed so far as a PNG heat map at ``path``; returns ``path``."""
        from .plot import plot_confusion_matrix
        return plot_confusion_matrix(self._value(self._state), path, class_names=class_names, title=title)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_classes={self.num_classes}, normalize={self.normalize!r})"


class _PerClass(_Confusion):
    """Precision, recall and F1 share the confusion matrix; they differ in ``_scores``."""

    def __init__(self, num_classes: int, average: str | None = "macro") -> None:
        if average not in _AVERAGES:
            raise ValueError(f"{type(self).__name__}: average must be one of {_AVERAGES}, got {average!r}")
        self.average = average
        super().__init__(num_classes)

    @staticmethod
    def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
        # A class without predictions (or samples) scores 0, as scikit-learn's zero_division=0.
        return np.where(den > 0, num / np.where(den > 0, den, 1), 0.0)

    def _scores(self, tp, fp, fn) -> np.ndarray:
        raise NotImplementedError

    def _value(self, state: dict[str, Any]):
        matrix = state["matrix"].astype(np.float64)
        tp = np.diag(matrix)
        fp = matrix.sum(axis=0) - tp
        fn = matrix.sum(axis=1) - tp
        if self.average == "micro":
            return self._scores(tp.sum(), fp.sum(), fn.sum())
        scores = self._scores(tp, fp, fn)
        if self.average is None:
            return scores
        if self.average == "macro":
            return scores.mean()
        support = tp + fn
        return (scores * support).sum() / support.sum() if support.sum() else 0.0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_classes={self.num_classes}, average={self.average!r})"


class Precision(_PerClass):
    """Precision ``tp / (tp + fp)`` per class, averaged by ``average``.

    Args:
        num_classes: number of classes.
        average: ``"macro"`` (unweighted mean over classes), ``"micro"`` (from the
            summed counts), ``"weighted"`` (mean weighted by class support) or ``None``
            (one value per class).
    """

    def _scores(self, tp, fp, fn):
        return self._ratio(tp, tp + fp)


class Recall(_PerClass):
    """Recall ``tp / (tp + fn)`` per class, averaged by ``average`` (see :class:`Precision`)."""

    def _scores(self, tp, fp, fn):
        return self._ratio(tp, tp + fn)


class F1Score(_PerClass):
    """F1 ``2 tp / (2 tp + fp + fn)`` per class, averaged by ``average`` (see :class:`Precision`)."""

    def _scores(self, tp, fp, fn):
        return self._ratio(2 * tp, 2 * tp + fp + fn)


__all__ = ["Accuracy", "TopKAccuracy", "ConfusionMatrix", "Precision", "Recall", "F1Score"]
