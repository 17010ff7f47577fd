"""Confusion-matrix heat map saved as a PNG (matplotlib, Agg canvas, atomic write)."""
from __future__ import annotations

import os

import numpy as np

from .._optional import require
from ..io._files import atomic_write


def save_figure(figure, path: str) -> str:
    """Write a matplotlib figure as a PNG at ``path``, atomically and with the permissions any
    new file of the user gets; its folder is created if needed."""
    FigureCanvasAgg = require("matplotlib.backends.backend_agg", "Saving plots").FigureCanvasAgg
    FigureCanvasAgg(figure)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    atomic_write(path, lambda fh: figure.savefig(fh, format="png"))
    return path


def plot_confusion_matrix(matrix, path: str, class_names: list[str] | None = None,
                          title: str | None = None) -> str:
    """Save a confusion matrix (rows: true class, columns: predicted) as a PNG heat map.

    Args:
        matrix: ``(C, C)`` counts or fractions (a Tensor or an array).
        path: where the PNG goes; its directory is created if needed.
        class_names: ``C`` tick labels (default ``0 .. C-1``).
        title: figure title.
    """
    Figure = require("matplotlib.figure", "plot_confusion_matrix").Figure

    from ._base import to_numpy

    matrix = to_numpy(matrix, "matrix")
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"plot_confusion_matrix: expected a square (C, C) matrix, got shape {matrix.shape}")
    c = matrix.shape[0]
    names = [str(i) for i in range(c)] if class_names is None else [str(n) for n in class_names]
    if len(names) != c:
        raise ValueError(f"plot_confusion_matrix: {len(names)} class names for {c} classes")
    size = max(4.0, 0.5 * c + 2)
    figure = Figure(figsize=(size, size))
    ax = figure.add_subplot()
    image = ax.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set(xticks=range(c), yticks=range(c), xticklabels=names, yticklabels=names,
           xlabel="predicted class", ylabel="true class", title=title or "confusion matrix")
    ax.tick_params(axis="x", labelrotation=45)
    if c <= 30:  # numbers in the cells stay legible up to about this many classes
        is_count = np.issubdtype(matrix.dtype, np.integer)
        threshold = matrix.max() / 2 if matrix.size else 0
        for i in range(c):
            for j in range(c):
                ax.text(j, i, f"{matrix[i, j]:d}" if is_count else f"{matrix[i, j]:.2f}",
                        ha="center", va="center", fontsize=8,
                        color="white" if matrix[i, j] > threshold else "black")
    figure.tight_layout()
    return save_figure(figure, path)


__all__ = ["plot_confusion_matrix", "save_figure"]
