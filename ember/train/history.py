"""History: the per-epoch values a fit produced, and a plot of its learning curves."""
from __future__ import annotations

import math
import os

from ..io._files import atomic_write

__all__ = ["History"]


class History:
    """Per-epoch logs of a fit: ``history["val_loss"]`` is the list of values, one per epoch
    that logged it, and ``history.epochs`` the matching epoch numbers."""

    def __init__(self) -> None:
        self.epochs: list[int] = []
        self.history: dict[str, list[float]] = {}

    def append(self, epoch: int, logs: dict) -> None:
        """Record the numeric entries of one epoch's ``logs``."""
        self.epochs.append(epoch)
        for k, v in logs.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                self.history.setdefault(k, []).append(float(v))

    def __len__(self) -> int:
        """The number of epochs recorded."""
        return len(self.epochs)

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def __contains__(self, key: str) -> bool:
        return key in self.history

    def keys(self):
        return self.history.keys()

    def state_dict(self) -> dict:
        return {"epochs": list(self.epochs), "history": {k: list(v) for k, v in self.history.items()}}

    def load_state_dict(self, state: dict) -> None:
        self.epochs = list(state["epochs"])
        self.history = {k: list(v) for k, v in state["history"].items()}

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epochs)}, keys={list(self.history)})"

    def plot(self, path: str | os.PathLike, keys: list[str] | None = None) -> str:
        """Save a PNG of the learning curves: one panel per quantity, the training value and
        its ``val_`` counterpart on the same axes. The file is written atomically.

        Args:
            path: where to write the PNG.
            keys: the quantities to plot (default: every logged one).
        Returns:
            the path written.
        """
        from matplotlib.figure import Figure  # no pyplot: the user's backend is left alone
        from matplotlib.ticker import MaxNLocator

        names = keys or [k for k in self.history if not k.startswith("val_") or k[4:] not in self.history]
        if not names:
            raise ValueError("History.plot: nothing was logged yet")
        cols = min(len(names), 3)
        rows = math.ceil(len(names) / cols)
        fig = Figure(figsize=(4.5 * cols, 3.5 * rows))
        for i, name in enumerate(names):
            ax = fig.add_subplot(rows, cols, i + 1)
            for series in (name, "val_" + name):
                if series in self.history:
                    values = self.history[series]
                    epochs = [e + 1 for e in self.epochs[-len(values):]]  # 1-based, as printed
                    ax.plot(epochs, values, marker="o", label=series)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel("epoch")
            ax.set_title(name)
            ax.grid(alpha=0.3)
            ax.legend()
        fig.tight_layout()
        path = os.fspath(path)
        atomic_write(path, lambda fh: fig.savefig(fh, format="png"))
        return path
