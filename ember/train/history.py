"""History: the per-epoch values a fit produced, and a plot of its learning curves."""
from __future__ import annotations

import base64
import html
import io
import math
import os

from .._optional import require
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

    def _repr_html_(self) -> str:
        """In a notebook: the learning curves (when matplotlib is there) over a table of the values."""
        keys = list(self.history)
        rows = []
        for i, epoch in enumerate(self.epochs):
            cells = []
            for k in keys:
                offset = len(self.epochs) - len(self.history[k])  # a key logged only in later epochs
                cells.append(f"{self.history[k][i - offset]:.4g}" if i >= offset else "")
            rows.append(f"<tr><td>{epoch + 1}</td>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        table = (f"<table><thead><tr><th>epoch</th>{''.join(f'<th>{html.escape(k)}</th>' for k in keys)}</tr>"
                 f"</thead><tbody>{''.join(rows)}</tbody></table>")
        if not keys:
            return "<p>History: nothing logged yet</p>"
        try:
            fig = self.figure()
        except ModuleNotFoundError:
            return table
        image = io.BytesIO()
        fig.savefig(image, format="png")
        return f"<img src='data:image/png;base64,{base64.b64encode(image.getvalue()).decode()}'/>{table}"

    def plot(self, path: str | os.PathLike, keys: list[str] | None = None, title: str | None = None,
             x: str = "epoch") -> str:
        """Save :meth:`figure` as a PNG, written atomically (its folder is created if needed);
        returns the path written."""
        fig = self.figure(keys, title, x)
        path = os.fspath(path)
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        atomic_write(path, lambda fh: fig.savefig(fh, format="png"))
        return path

    def figure(self, keys: list[str] | None = None, title: str | None = None, x: str = "epoch"):
        """The learning curves as a matplotlib Figure: one panel per quantity, the training
        value and its ``val_`` counterpart on the same axes, accuracies in percent, whole
        epochs on the x axis.

        Args:
            keys: the quantities to plot (default: every logged one).
            title: a title over the panels (e.g. the model and data set).
            x: what the recorded numbers count: "epoch" (0-based, shown from 1 as printed) or
                another name (e.g. "iteration"), whose numbers are shown as recorded.
        """
        Figure = require("matplotlib.figure", "History.plot").Figure  # no pyplot: the user's backend stays
        from matplotlib.ticker import MaxNLocator

        names = keys or [k for k in self.history if not k.startswith("val_") or k[4:] not in self.history]
        if not names:
            raise ValueError("History.plot: nothing was logged yet")
        shift = 1 if x == "epoch" else 0  # epochs are printed from 1
        cols = min(len(names), 3)
        rows = math.ceil(len(names) / cols)
        fig = Figure(figsize=(4.5 * cols, 3.5 * rows))
        for i, name in enumerate(names):
            ax = fig.add_subplot(rows, cols, i + 1)
            percent = "acc" in name.lower()  # printed as percentages, so plotted as them too
            for series, label in ((name, "training"), ("val_" + name, "validation")):
                if series in self.history:
                    values = [100 * v for v in self.history[series]] if percent else self.history[series]
                    at = [e + shift for e in self.epochs[-len(values):]]
                    ax.plot(at, values, marker="o", label=label)
            shown = sorted({e + shift for e in self.epochs})
            if len(shown) <= 12:  # each epoch its tick (a locator puts fractions around a single one)
                ax.set_xticks(shown)
            else:
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel(x)
            ax.set_ylabel(f"{name} (%)" if percent else name)
            ax.set_title(name.replace("_", " "))
            ax.grid(alpha=0.3)
            ax.legend()
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        return fig
