"""Streaming metrics: ``update(preds, target)`` per batch, ``compute()`` at the end, ``reset()``."""
from ._base import Metric
from .classification import Accuracy, ConfusionMatrix, F1Score, Precision, Recall, TopKAccuracy
from .plot import plot_confusion_matrix
from .regression import MeanAbsoluteError, MeanSquaredError, Perplexity, R2Score

__all__ = ["Metric", "Accuracy", "TopKAccuracy", "Precision", "Recall", "F1Score", "ConfusionMatrix",
           "MeanAbsoluteError", "MeanSquaredError", "R2Score", "Perplexity", "plot_confusion_matrix"]
