"""Learning curves that redraw in a Jupyter notebook after every epoch of a fit."""
from __future__ import annotations

import warnings

from .callbacks import Callback
from .history import History


def _notebook_display():
    """IPython's (clear_output, display) inside a running notebook kernel, else None."""
    try:
        from IPython import get_ipython
        from IPython.display import clear_output, display
    except ImportError:
        return None
    shell = get_ipython()
    return (clear_output, display) if shell is not None and hasattr(shell, "kernel") else None


class LivePlot(Callback):
    """Redraw the learning curves (training and validation, one panel per quantity) under the
    notebook cell after each epoch: ``fit(..., live_plot=True)``. Outside a notebook it says
    once that there is nowhere to draw, and the fit goes on."""

    def __init__(self, title: str | None = None):
        self.title = title
        self.history = History()

    def on_fit_start(self, trainer) -> None:
        self.history.load_state_dict(trainer.history.state_dict())  # a resumed fit keeps its past
        if _notebook_display() is None:
            warnings.warn("live_plot draws in a Jupyter notebook; here there is none, so no curves are "
                          "drawn during the fit (History.plot(path) saves them afterwards)", UserWarning,
                          stacklevel=4)

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        self.history.append(epoch, logs)
        shown = _notebook_display()
        if shown is None:
            return
        clear_output, display = shown
        clear_output(wait=True)
        display(self.history.figure(title=self.title))
