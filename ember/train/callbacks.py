"""Callbacks: objects whose hooks the Trainer calls during a fit.

Every hook receives the trainer (``trainer.model``, ``trainer.optimizer``,
``trainer.global_step``, ``trainer.history``...); setting ``trainer.stop_training = True``
ends the fit after the current epoch, ``trainer.stop_now = True`` right after the current
batch. A callback that keeps state across batches or epochs returns it from
``state_dict()`` and takes it back in ``load_state_dict()``: the Trainer saves every
callback's state in its checkpoints and restores it when a fit resumes.
"""
from __future__ import annotations

import copy
import csv
import io
import math
import os
import warnings
from typing import Callable

import numpy as np
from tqdm import tqdm

from ..io._files import atomic_write

__all__ = ["Callback", "LambdaCallback", "EarlyStopping", "ModelCheckpoint", "LearningRateMonitor",
           "TerminateOnNaN", "CSVLogger"]


class Callback:
    """Base class: override the hooks you need; each does nothing by default."""

    def on_fit_start(self, trainer) -> None: ...

    def on_fit_end(self, trainer) -> None: ...

    def on_epoch_start(self, trainer, epoch: int, logs: dict) -> None: ...

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None: ...

    def on_batch_start(self, trainer, batch: int, logs: dict) -> None: ...

    def on_batch_end(self, trainer, batch: int, logs: dict) -> None: ...

    def on_validation_end(self, trainer, epoch: int, logs: dict) -> None: ...

    def state_dict(self) -> dict:
        """What a resumed fit needs to continue this callback (none by default)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Take back what :meth:`state_dict` returned."""


_HOOKS = ("on_fit_start", "on_fit_end", "on_epoch_start", "on_epoch_end", "on_batch_start",
          "on_batch_end", "on_validation_end")


class LambdaCallback(Callback):
    """A callback made of plain functions: ``LambdaCallback(on_epoch_end=lambda t, e, logs: ...)``."""

    def __init__(self, **hooks: Callable):
        unknown = set(hooks) - set(_HOOKS)
        if unknown:
            raise TypeError(f"LambdaCallback: unknown hook(s) {sorted(unknown)}; the hooks are {list(_HOOKS)}")
        for name, fn in hooks.items():
            setattr(self, name, fn)


# Words in a logged name that say which way is better, for mode="auto" (as Keras infers it).
_HIGHER_IS_BETTER = ("acc", "f1", "auc", "precision", "recall", "r2", "iou", "dice")
_LOWER_IS_BETTER = ("loss", "error", "mse", "mae", "perplexity", "ppl", "nll")


def _mode_of_name(monitor: str) -> str | None:
    """'max' or 'min' when the name says which way is better, else None."""
    name = monitor.lower()
    higher = any(w in name for w in _HIGHER_IS_BETTER)
    lower = any(w in name for w in _LOWER_IS_BETTER)
    return None if higher == lower else "max" if higher else "min"


class _Monitor:
    """Whether a monitored value improved, in mode 'min' or 'max' with a ``min_delta``.
    Mode 'auto' reads it from the name (accuracy, F1, R2... maximise; losses and errors
    minimise; anything else minimises); a mode the name contradicts gets a warning."""

    def __init__(self, owner: str, monitor: str, mode: str, min_delta: float = 0.0):
        if mode not in ("min", "max", "auto"):
            raise ValueError(f"{owner}: mode must be 'min', 'max' or 'auto', got {mode!r}")
        named = _mode_of_name(monitor)
        if mode == "auto":
            mode = named or "min"
        elif named is not None and named != mode:
            warnings.warn(
                f"{owner}: mode={mode!r} treats {'lower' if mode == 'min' else 'higher'} {monitor!r} "
                f"as better, but its name says {'higher' if named == 'max' else 'lower'} is better; "
                f"pass mode={named!r} (or mode='auto', the default, which reads the name)", UserWarning,
                stacklevel=3)
        self.owner, self.monitor, self.mode, self.min_delta = owner, monitor, mode, abs(min_delta)
        self.best = math.inf if mode == "min" else -math.inf

    def value(self, logs: dict) -> float:
        if self.monitor not in logs:
            raise KeyError(f"{self.owner}: monitored value {self.monitor!r} is not in the logs "
                           f"(available: {sorted(logs)}); pass validation data for 'val_*' values")
        return float(logs[self.monitor])

    def improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class EarlyStopping(Callback):
    """Stop the fit when ``monitor`` has not improved by more than ``min_delta`` for
    ``patience`` epochs.

    Args:
        monitor: the logged value to watch.
        patience: epochs without improvement after which the fit stops.
        min_delta: the least change that counts as an improvement.
        mode: 'min' (lower is better), 'max', or 'auto' (from the name: accuracy maximises,
            a loss minimises).
        restore_best_weights: load the weights of the best epoch when stopping (or at the end).
        verbose: say in one line when it stops the fit and when it restores weights.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 0, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = False, verbose: bool = True):
        self._monitor = _Monitor("EarlyStopping", monitor, mode, min_delta)
        self.patience = patience
        self.restore_best_weights = restore_best_weights
        self.verbose = verbose
        self.wait = 0
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None
        self.best_weights: dict | None = None

    @property
    def best(self) -> float:
        return self._monitor.best

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        value = self._monitor.value(logs)
        if self._monitor.improved(value):
            self._monitor.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = copy.deepcopy(trainer.model.state_dict())
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            trainer.stop_training = True

    def on_fit_end(self, trainer) -> None:
        # said here, after the stopped epoch's own line, which the progress display prints last
        if self.stopped_epoch is not None:
            self._say(f"EarlyStopping: stopping after epoch {self.stopped_epoch + 1}: {self._monitor.monitor} "
                      f"has not improved for {self.wait} epoch{'s' if self.wait != 1 else ''} (best "
                      f"{self.best:.4g} at epoch {self.best_epoch + 1 if self.best_epoch is not None else '-'})")
        if self.restore_best_weights and self.best_weights is not None:
            trainer.model.load_state_dict(self.best_weights)
            self._say(f"EarlyStopping: restored the weights of epoch {self.best_epoch + 1} "
                      f"({self._monitor.monitor} {self.best:.4g})")

    def _say(self, line: str) -> None:
        if self.verbose:
            tqdm.write(line)  # above any progress bar, which stays intact

    def state_dict(self) -> dict:
        return {"best": self._monitor.best, "wait": self.wait, "best_epoch": self.best_epoch,
                "stopped_epoch": self.stopped_epoch, "best_weights": self.best_weights}

    def load_state_dict(self, state: dict) -> None:
        self._monitor.best, self.wait = state["best"], state["wait"]
        self.best_epoch, self.stopped_epoch = state["best_epoch"], state["stopped_epoch"]
        self.best_weights = state["best_weights"]


class ModelCheckpoint(Callback):
    """Save resumable training checkpoints (see ``ember.train.checkpoint``), atomically.

    Args:
        dirpath: the directory of the files ``best.ckpt``, ``last.ckpt`` and ``step-<n>.ckpt``.
        filepath: instead of ``dirpath``: the file of the best checkpoint (may contain
            ``{epoch}`` and logged names, e.g. ``"ckpt-{epoch}-{val_loss:.3f}.ckpt"``).
        monitor: the logged value that decides which epoch is best.
        mode: 'min', 'max' or 'auto' (from the name, as in EarlyStopping).
        save_best_only: write only epochs that improve ``monitor`` (else every epoch).
        save_last: also write ``last.ckpt`` at the end of every epoch.
        every_n_steps: also write ``last.ckpt`` every that many batches (mid-epoch,
            so an interrupted fit resumes where it stopped).
    """

    def __init__(self, dirpath: str | os.PathLike | None = None, filepath: str | None = None,
                 monitor: str = "val_loss", mode: str = "auto", save_best_only: bool = True,
                 save_last: bool = True, every_n_steps: int | None = None):
        if (dirpath is None) == (filepath is None):
            raise ValueError("ModelCheckpoint: give exactly one of dirpath and filepath")
        self.dirpath = os.fspath(dirpath) if dirpath is not None else os.path.dirname(os.path.abspath(filepath))
        self.filepath = filepath or os.path.join(self.dirpath, "best.ckpt")
        self._monitor = _Monitor("ModelCheckpoint", monitor, mode)
        self.save_best_only, self.save_last, self.every_n_steps = save_best_only, save_last, every_n_steps
        self.last_path = os.path.join(self.dirpath, "last.ckpt")
        self.best_path: str | None = None

    def on_batch_end(self, trainer, batch: int, logs: dict) -> None:
        if self.every_n_steps and trainer.global_step % self.every_n_steps == 0:
            trainer.save_checkpoint(self.last_path)

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        value = self._monitor.value(logs)
        improved = self._monitor.improved(value)
        if improved:
            self._monitor.best = value
        if improved or not self.save_best_only:
            self.best_path = trainer.save_checkpoint(self.filepath.format(epoch=epoch, **logs))
        if self.save_last:
            trainer.save_checkpoint(self.last_path)

    def state_dict(self) -> dict:
        return {"best": self._monitor.best, "best_path": self.best_path}

    def load_state_dict(self, state: dict) -> None:
        self._monitor.best, self.best_path = state["best"], state["best_path"]


class LearningRateMonitor(Callback):
    """Log the learning rate of each parameter group at the end of every epoch: ``lr`` for a
    single group, ``lr/group<i>`` for several."""

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        groups = trainer.optimizer.param_groups
        if len(groups) == 1:
            logs["lr"] = float(groups[0]["lr"])
        else:
            logs.update({f"lr/group{i}": float(g["lr"]) for i, g in enumerate(groups)})


class TerminateOnNaN(Callback):
    """Stop the fit at the first batch whose loss, or any parameter or gradient, is not
    finite; the reason (step and tensor) is in ``self.reason`` and printed."""

    def __init__(self) -> None:
        self.reason: str | None = None

    def _first_non_finite(self, trainer) -> str | None:
        loss = trainer.last_loss
        if loss is not None and not math.isfinite(loss):
            return f"loss = {loss}"
        for name, p in trainer.model.named_parameters():
            if not np.isfinite(p._data).all():
                return f"parameter {name!r}"
            if p.grad is not None and not np.isfinite(p.grad._data).all():
                return f"gradient of {name!r}"
        return None

    def on_batch_end(self, trainer, batch: int, logs: dict) -> None:
        found = self._first_non_finite(trainer)
        if found is not None:
            self.reason = (f"TerminateOnNaN: non-finite value at step {trainer.global_step} "
                           f"(epoch {trainer.epoch}, batch {batch}): {found}")
            print(self.reason)
            trainer.stop_training = True
            trainer.stop_now = True

    def state_dict(self) -> dict:
        return {"reason": self.reason}

    def load_state_dict(self, state: dict) -> None:
        self.reason = state["reason"]


class CSVLogger(Callback):
    """Append one row per epoch (``epoch`` and every logged value) to a CSV file.

    Args:
        path: the CSV file.
        append: keep an existing file's rows instead of starting over.

    A fit resumed from a checkpoint keeps the rows written up to that checkpoint and drops
    any written after it, so the file ends as an uninterrupted fit's does.
    """

    def __init__(self, path: str | os.PathLike, append: bool = False):
        self.path, self.append = os.fspath(path), append
        self._keys: list[str] | None = None
        self._rows = 0  # rows in the file
        self._resumed_rows: int | None = None  # rows to keep, from a checkpoint

    def on_fit_start(self, trainer) -> None:
        if self._resumed_rows is None and not self.append and os.path.exists(self.path):
            os.remove(self.path)
        lines: list[list[str]] = []
        if os.path.exists(self.path):
            with open(self.path, newline="") as fh:
                lines = list(csv.reader(fh))
        if self._resumed_rows is not None and len(lines) > self._resumed_rows + 1:
            lines = lines[:self._resumed_rows + 1]  # the header and the rows the checkpoint saw
            text = io.StringIO()
            csv.writer(text).writerows(lines)
            atomic_write(self.path, lambda fh: fh.write(text.getvalue().encode()))
        self._resumed_rows = None
        self._keys = lines[0] if lines else None
        self._rows = max(len(lines) - 1, 0)

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        row = {"epoch": epoch, **{k: v for k, v in logs.items() if isinstance(v, (int, float))}}
        new = self._keys is None
        if new:
            self._keys = list(row)
        with open(self.path, "a", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=self._keys, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow(row)
        self._rows += 1

    def state_dict(self) -> dict:
        return {"rows": self._rows}

    def load_state_dict(self, state: dict) -> None:
        self._resumed_rows = state["rows"]
