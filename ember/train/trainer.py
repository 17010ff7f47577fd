"""Trainer: the common supervised loop (epochs of mini-batches, validation, metrics,
schedulers, gradient clipping and accumulation, callbacks, resumable checkpoints).

The plain PyTorch-style loop stays first-class: the Trainer only calls ``model``,
``loss_fn``, ``optimizer`` and ``scheduler`` the way such a loop would.
"""
from __future__ import annotations

import os
import random
import re
from typing import Any, Callable, Iterable

import numpy as np

from .. import autograd, nn
from .._tensor import Tensor
from ..backend import random as ember_random
from ..ops.join import cat
from ..optim.lr_scheduler import ReduceLROnPlateau
from ..utils.data import DataLoader, Dataset, IterableDataset, Subset, TensorDataset, random_split
from ..utils.data._worker import create_fetcher
from .callbacks import Callback
from .checkpoint import (
    callback_states, capture_rng_state, load_callback_states, load_checkpoint, restore_rng_state,
    save_checkpoint,
)
from .history import History
from .progress import ProgressBar

__all__ = ["Trainer", "fit"]


def _split(batch) -> tuple[tuple, Any]:
    """(model inputs, targets): a tensor is an input alone; a sequence's last item is the
    target and the others are the inputs."""
    if isinstance(batch, (list, tuple)):
        if len(batch) == 1:
            return (batch[0],), None
        return tuple(batch[:-1]), batch[-1]
    return (batch,), None


def _batch_size(inputs: tuple) -> int:
    first = inputs[0]
    return int(first.shape[0]) if isinstance(first, Tensor) and first.ndim else 1


def _named(metrics) -> dict:
    """A list of metrics (``[Accuracy(), f1]``) as the dict the Trainer logs: each named by
    its ``name`` attribute, else its class or function name in snake case (``accuracy``)."""
    named = {}
    for m in metrics:
        name = getattr(m, "name", None)
        if not isinstance(name, str):
            raw = m.__name__ if callable(m) and hasattr(m, "__name__") else type(m).__name__
            name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", raw).lower()
        if name in named:
            raise ValueError(f"Trainer: two metrics are both named {name!r}; pass a dict to name "
                             f"them, e.g. metrics={{'{name}': ..., '{name}_2': ...}}")
        named[name] = m
    return named


class _Metrics:
    """Accumulates each metric over an epoch: streaming objects (``update``/``compute``/
    ``reset``) are updated per batch, plain callables ``fn(outputs, targets) -> float`` are
    averaged weighted by batch size."""

    def __init__(self, metrics):
        self.metrics = _named(metrics) if isinstance(metrics, (list, tuple)) else dict(metrics or {})
        for name, m in self.metrics.items():
            if not (callable(m) or all(hasattr(m, a) for a in ("update", "compute", "reset"))):
                raise TypeError(f"Trainer: metric {name!r} must have update/compute/reset or be a "
                                f"callable fn(outputs, targets) -> float, got {type(m).__name__}")
        self.reset()

    @staticmethod
    def _streaming(m) -> bool:
        return all(hasattr(m, a) for a in ("update", "compute", "reset"))

    def reset(self) -> None:
        self.sums = {name: 0.0 for name in self.metrics}
        self.count = 0
        for m in self.metrics.values():
            if self._streaming(m):
                m.reset()

    def update(self, outputs, targets, n: int) -> None:
        self.count += n
        for name, m in self.metrics.items():
            if self._streaming(m):
                m.update(outputs, targets)
            else:
                self.sums[name] += float(m(outputs, targets)) * n

    def compute(self, prefix: str = "") -> dict:
        out = {}
        for name, m in self.metrics.items():
            value = m.compute() if self._streaming(m) else self.sums[name] / max(self.count, 1)
            out[prefix + name] = float(value.item() if hasattr(value, "item") else value)
        return out

    def state_dict(self) -> dict:
        return {"sums": dict(self.sums), "count": self.count,
                "streaming": {n: m.state_dict() for n, m in self.metrics.items()
                              if self._streaming(m) and hasattr(m, "state_dict")}}

    def load_state_dict(self, state: dict) -> None:
        self.sums, self.count = dict(state["sums"]), state["count"]
        for name, s in state["streaming"].items():
            self.metrics[name].load_state_dict(s)


class Trainer:
    """Fit a model with a loss, an optimizer and optional scheduler, metrics and callbacks.

    Args:
        model: the ``nn.Module``.
        loss_fn: ``loss_fn(outputs, targets) -> scalar tensor`` (a loss module or function).
        optimizer: the optimizer over ``model``'s parameters.
        scheduler: a learning-rate scheduler; ``ReduceLROnPlateau`` is given ``scheduler_monitor``.
        scheduler_interval: step the scheduler once per ``"epoch"`` or per optimizer step (``"batch"``).
        scheduler_monitor: the logged value ``ReduceLROnPlateau`` watches (``"loss"`` when
            there is no validation data).
        metrics: name -> streaming metric (``update``/``compute``/``reset``) or callable
            ``fn(outputs, targets) -> float``; or a list of them, named after their class or
            function (``[Accuracy()]`` logs ``accuracy`` and ``val_accuracy``).
        callbacks: ``Callback`` objects.
        grad_clip: clip the gradients' total 2-norm to this value before each optimizer step.
        accumulate_grad_batches: sum the gradients of that many batches per optimizer step. A
            loss with ``reduction='mean'`` (or a plain function) is divided by this number and
            one with ``reduction='sum'`` is not, so either way the step equals that of one
            batch as big as the accumulated ones.
        device: move the model and every batch there.
        seed: seed ember's, NumPy's and Python's generators at the start of ``fit``.
        progress: show progress bars (on a terminal), or lines every 10 s and one per epoch.
        live_plot: redraw the learning curves under the notebook cell after every epoch
            (:class:`~ember.train.live_plot.LivePlot`).

    A map-style DataLoader's batches of indices are drawn at the start of each epoch and
    saved in checkpoints, so ``fit(resume_from=...)`` continues an interrupted epoch with the
    same samples in the same order. With worker processes, each worker reseeds Python's,
    NumPy's and ember's generators before every batch from a seed drawn at the start of the
    epoch (saved too) and the batch's position, so random augmentation drawn from them
    resumes exactly as well. Streaming metrics without ``state_dict`` start over at such a
    resume (only the epoch's remaining batches count toward their value).

    A checkpoint asked for during a fit (``save_checkpoint`` from a callback's hook) is
    written once the current batch, or epoch, has ended and every callback has seen it: the
    states a fit can resume from exactly.
    """

    def __init__(self, model: nn.Module, loss_fn: Callable, optimizer, scheduler=None,
                 scheduler_interval: str = "epoch", metrics: dict | list | None = None,
                 callbacks: Iterable[Callback] | None = None, grad_clip: float | None = None,
                 accumulate_grad_batches: int = 1, device=None, seed: int | None = None,
                 progress: bool = True, scheduler_monitor: str = "val_loss", live_plot: bool = False):
        if scheduler_interval not in ("epoch", "batch"):
            raise ValueError(f"Trainer: scheduler_interval must be 'epoch' or 'batch', got {scheduler_interval!r}")
        if not isinstance(accumulate_grad_batches, int) or accumulate_grad_batches < 1:
            raise ValueError(f"Trainer: accumulate_grad_batches must be a positive int, got {accumulate_grad_batches!r}")
        self.model = model if device is None else model.to(device)
        self.loss_fn, self.optimizer, self.scheduler = loss_fn, optimizer, scheduler
        self.scheduler_interval, self.scheduler_monitor = scheduler_interval, scheduler_monitor
        self.metrics = _Metrics(metrics)
        self.callbacks = list(callbacks or [])
        if live_plot:
            from .live_plot import LivePlot
            self.callbacks.append(LivePlot(title=type(model).__name__))
        self.grad_clip, self.accumulate_grad_batches = grad_clip, accumulate_grad_batches
        self.device, self.seed, self.progress = device, seed, progress
        self.history = History()
        self.epoch = self.global_step = 0
        self.last_loss: float | None = None
        self.stop_training = self.stop_now = False
        self._position: dict = {}
        self._generator = None  # the training DataLoader's own generator, saved in checkpoints
        self._split: list | None = None  # validation_split's [train indices, val indices]
        # Inside a fit's loop: checkpoint paths asked for since the last batch or epoch end,
        # written there (None outside the loop, where checkpoints are written at once).
        self._deferred: list[str] | None = None

    # ---- data ---------------------------------------------------------------------

    def _loader(self, data, shuffle: bool, batch_size: int) -> DataLoader:
        if isinstance(data, DataLoader):
            return data
        if isinstance(data, (tuple, list)) and all(isinstance(t, Tensor) for t in data):
            data = TensorDataset(*data)
        if isinstance(data, Tensor):
            data = TensorDataset(data)
        if not isinstance(data, Dataset) and not hasattr(data, "__getitem__"):
            raise TypeError(f"Trainer: data must be a DataLoader, a Dataset or a tuple of tensors, "
                            f"got {type(data).__name__}")
        return DataLoader(data, batch_size=batch_size, shuffle=shuffle and not isinstance(data, IterableDataset))

    def _to_device(self, x):
        if self.device is None:
            return x
        if isinstance(x, Tensor):
            return x.to(self.device)
        if isinstance(x, (list, tuple)):
            return type(x)(self._to_device(v) for v in x)
        return x

    @staticmethod
    def _resumable(loader: DataLoader) -> bool:
        return loader.batch_sampler is not None and not isinstance(loader.dataset, IterableDataset)

    def _epoch_batches(self, loader: DataLoader, indices: list | None, start: int):
        """The epoch's batches from batch ``start`` on. A map-style loader's batches of indices
        are drawn up front (kept in ``self._position`` for checkpoints) and fetched from its
        dataset, so an interrupted epoch resumes with the same order."""
        if not self._resumable(loader):
            if start:
                raise ValueError("Trainer: cannot resume mid-epoch over an IterableDataset or a loader "
                                 "without a batch sampler")
            yield from loader
            return
        self._position["indices"] = indices
        if loader.num_workers == 0:
            fetcher = create_fetcher(False, loader.dataset, True, loader.collate_fn, False)
            for idx in indices[start:]:
                yield fetcher.fetch(idx)
            return
        # Worker processes: a loader over the remaining batches whose workers reseed before
        # each batch from the epoch's saved seed and the batch's position. Its own generator
        # (seeded from the same seed) keeps starting it from drawing on the default one.
        seed = self._position["worker_seed"]
        remaining = DataLoader(loader.dataset, batch_sampler=indices[start:], num_workers=loader.num_workers,
                               collate_fn=loader.collate_fn, pin_memory=loader.pin_memory,
                               timeout=loader.timeout, worker_init_fn=loader.worker_init_fn,
                               multiprocessing_context=loader.multiprocessing_context,
                               generator=ember_random.Generator().manual_seed(seed),
                               prefetch_factor=loader.prefetch_factor)
        remaining._batch_seeds = (seed, start)
        yield from remaining

    # ---- steps --------------------------------------------------------------------

    def _loss_scale(self) -> float:
        if self.accumulate_grad_batches == 1 or getattr(self.loss_fn, "reduction", "mean") != "mean":
            return 1.0
        return 1.0 / self.accumulate_grad_batches

    def _optimizer_step(self) -> None:
        if self.grad_clip is not None:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
        self.optimizer.step()
        self.optimizer.zero_grad()
        if self.scheduler is not None and self.scheduler_interval == "batch":
            self.scheduler.step()

    def _call(self, hook: str, *args) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(self, *args)

    def _write_deferred(self) -> None:
        """Write the checkpoints asked for since the last batch or epoch end (all callbacks
        have now seen it, so the state is one a fit resumes from exactly)."""
        paths, self._deferred = self._deferred, None
        try:
            if paths:
                state = self.state_dict()
                for path in paths:
                    save_checkpoint(state, path)
        finally:
            self._deferred = []

    def _train_epoch(self, loader: DataLoader, epochs: int, start: int, bar: ProgressBar,
                     epoch_logs: dict) -> dict:
        self.model.train()
        total = len(loader) if hasattr(loader, "__len__") else None
        if start == 0:
            # what on_epoch_start logged is kept, so a resumed epoch ends with it too
            self._position = {"loss_sum": 0.0, "count": 0, "logs": dict(epoch_logs)}
            self.metrics.reset()
            indices = None
            if self._resumable(loader):
                # drawn in the order iterating the loader draws them: the workers' seed, then the order
                self._position["worker_seed"] = loader._get_shared_seed()
                indices = list(loader.batch_sampler)
        else:
            indices = self._position["indices"]
            epoch_logs.update(self._position.get("logs", {}))
        bar.epoch_start(self.epoch, epochs, total, start)
        scale = self._loss_scale()
        batch_idx = start - 1
        for batch_idx, batch in enumerate(self._epoch_batches(loader, indices, start), start):
            logs: dict = {}
            self._call("on_batch_start", batch_idx, logs)
            inputs, targets = _split(self._to_device(batch))
            outputs = self.model(*inputs)
            loss = self.loss_fn(outputs, targets)
            (loss * scale if scale != 1.0 else loss).backward()
            n = _batch_size(inputs)
            self.last_loss = float(loss.item())
            self._position["loss_sum"] += self.last_loss * n
            self._position["count"] += n
            self.metrics.update(outputs.detach(), targets, n)
            self.global_step += 1
            self._position["batch"] = batch_idx + 1
            last = total is not None and batch_idx + 1 == total
            if (batch_idx + 1) % self.accumulate_grad_batches == 0 or last:
                self._optimizer_step()
            logs["loss"] = self.last_loss
            running = {"loss": self._position["loss_sum"] / self._position["count"]}
            bar.batch_end(n, running)
            self._call("on_batch_end", batch_idx, logs)
            self._write_deferred()
            if self.stop_now:
                break
        if (batch_idx + 1) % self.accumulate_grad_batches and total is None:
            self._optimizer_step()  # the remainder of an epoch of unknown length
        return {"loss": self._position["loss_sum"] / max(self._position["count"], 1), **self.metrics.compute()}

    def _run_eval(self, loader: DataLoader, prefix: str, bar: ProgressBar | None = None) -> dict:
        was_training = self.model.training
        self.model.eval()
        self.metrics.reset()
        loss_sum, count = 0.0, 0
        if bar is not None:
            bar.validation_start(len(loader) if hasattr(loader, "__len__") else None,
                                 "  validation" if prefix else "evaluate")
        with autograd.no_grad():
            for batch in loader:
                inputs, targets = _split(self._to_device(batch))
                outputs = self.model(*inputs)
                n = _batch_size(inputs)
                loss_sum += float(self.loss_fn(outputs, targets).item()) * n
                count += n
                self.metrics.update(outputs, targets, n)
                if bar is not None:
                    bar.validation_batch()
        if bar is not None:
            bar.validation_end()
        self.model.train(was_training)
        return {prefix + "loss": loss_sum / max(count, 1), **self.metrics.compute(prefix)}

    # ---- public -------------------------------------------------------------------

    def fit(self, train_data, val_data=None, epochs: int = 1, validation_split: float | None = None,
            batch_size: int = 32, resume_from: str | os.PathLike | None = None) -> History:
        """Train for ``epochs`` epochs and return the :class:`History`.

        Args:
            train_data: a DataLoader, a Dataset (batched by ``batch_size``, shuffled) or a
                tuple of tensors ``(inputs..., targets)``.
            val_data: the same kinds, evaluated after every epoch (logged as ``val_*``).
            epochs: the total number of epochs (a resumed fit continues up to it).
            validation_split: hold out this fraction of a Dataset ``train_data`` for
                validation (split with ``random_split`` using the trainer's seed).
            batch_size: the batch size for data that is not a DataLoader.
            resume_from: a checkpoint written by :meth:`save_checkpoint` (or ModelCheckpoint)
                to continue from, exactly where it stopped.
        """
        state = None if resume_from is None else load_checkpoint(resume_from)
        if state is None and self.seed is not None:
            ember_random.manual_seed(self.seed)
            np.random.seed(self.seed)
            random.seed(self.seed)
        if validation_split is not None:
            if val_data is not None or isinstance(train_data, DataLoader):
                raise ValueError("Trainer.fit: validation_split needs train_data to be a Dataset "
                                 "and val_data to be None")
            if not 0 < validation_split < 1:
                raise ValueError(f"Trainer.fit: validation_split must be in (0, 1), got {validation_split}")
            train_set = self._loader(train_data, False, batch_size).dataset
            if state is not None and state.get("split") is not None:
                self._split = [list(ix) for ix in state["split"]]  # the interrupted fit's split
            else:
                n_val = int(round(len(train_set) * validation_split))
                gen = ember_random.Generator().manual_seed(self.seed) if self.seed is not None else None
                parts = random_split(train_set, [len(train_set) - n_val, n_val],
                                     generator=gen or ember_random.default_generator)
                self._split = [list(part.indices) for part in parts]
            train_data, val_data = (Subset(train_set, ix) for ix in self._split)
        else:
            self._split = None
        train_loader = self._loader(train_data, True, batch_size)
        val_loader = None if val_data is None else self._loader(val_data, False, batch_size)
        self._generator = train_loader.generator
        if state is None:
            start_batch = 0
            self.stop_training = self.stop_now = False
        else:
            start_batch = self._load(state)
        bar = ProgressBar(self.progress)
        self._call("on_fit_start")
        self._deferred = []
        try:
            while self.epoch < epochs and not self.stop_training and not self.stop_now:
                logs: dict = {}
                if start_batch == 0:
                    self._call("on_epoch_start", self.epoch, logs)
                logs.update(self._train_epoch(train_loader, epochs, start_batch, bar, logs))
                start_batch = 0
                if self.stop_now:
                    break
                if val_loader is not None:
                    logs.update(self._run_eval(val_loader, "val_", bar))
                    self._call("on_validation_end", self.epoch, logs)
                self._step_epoch_scheduler(logs)
                self.epoch += 1
                self._position = {}
                self._call("on_epoch_end", self.epoch - 1, logs)
                self.history.append(self.epoch - 1, logs)
                self._write_deferred()
                bar.epoch_end(logs)
        finally:
            self._deferred = None
            bar.close()
        self._call("on_fit_end")
        return self.history

    def _step_epoch_scheduler(self, logs: dict) -> None:
        if self.scheduler is None or self.scheduler_interval != "epoch":
            return
        if isinstance(self.scheduler, ReduceLROnPlateau):
            key = self.scheduler_monitor if self.scheduler_monitor in logs else "loss"
            self.scheduler.step(logs[key])
        else:
            self.scheduler.step()

    def evaluate(self, data, batch_size: int = 32) -> dict:
        """The mean loss and the metrics over ``data`` (eval mode, no gradients), with a
        progress bar on a terminal."""
        bar = ProgressBar(self.progress)
        try:
            return self._run_eval(self._loader(data, False, batch_size), "", bar)
        finally:
            bar.close()

    def predict(self, data, batch_size: int = 32) -> Tensor:
        """The model's outputs over ``data``, concatenated along the batch dimension (eval
        mode, no gradients). Batches that are sequences give their last item as targets,
        which are ignored; a single tensor or 1-sequence is the input."""
        loader = self._loader(data, False, batch_size)
        was_training = self.model.training
        self.model.eval()
        with autograd.no_grad():
            outputs = [self.model(*_split(self._to_device(b))[0]) for b in loader]
        self.model.train(was_training)
        return cat(outputs)

    # ---- checkpoints --------------------------------------------------------------

    def state_dict(self) -> dict:
        """The whole training state (see ``ember.train.checkpoint``)."""
        if self._deferred is not None:
            raise RuntimeError("Trainer.state_dict: called while a batch or epoch of the fit is under way "
                               "(callbacks after this one have not seen it yet); call "
                               "trainer.save_checkpoint(path), which writes once every callback has")
        params = list(self.model.parameters())
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
                "epoch": self.epoch, "batch": self._position.get("batch", 0), "global_step": self.global_step,
                "position": dict(self._position), "metrics": self.metrics.state_dict(),
                "grads": [None if p.grad is None else p.grad.detach().clone() for p in params],
                "history": self.history.state_dict(), "callbacks": callback_states(self.callbacks),
                "stop_training": self.stop_training, "stop_now": self.stop_now, "last_loss": self.last_loss,
                "split": self._split, "rng": capture_rng_state(self._generator)}

    def save_checkpoint(self, path: str | os.PathLike) -> str:
        """Write :meth:`state_dict` to ``path`` atomically. During a fit's batch or epoch (from a
        callback's hook) the file is written once that batch or epoch has ended and every
        callback has seen it."""
        if self._deferred is not None:
            path = os.fspath(path)
            if path not in self._deferred:
                self._deferred.append(path)
            return path
        return save_checkpoint(self.state_dict(), path)

    def _load(self, state: dict) -> int:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state["scheduler"] is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.epoch, self.global_step = state["epoch"], state["global_step"]
        self._position = dict(state["position"])
        self.metrics.load_state_dict(state["metrics"])
        for p, g in zip(self.model.parameters(), state["grads"]):
            p.grad = None if g is None else g.to(p.device)
        self.history.load_state_dict(state["history"])
        load_callback_states(self.callbacks, state["callbacks"])
        self.stop_training, self.stop_now = state["stop_training"], state["stop_now"]
        self.last_loss = state["last_loss"]
        restore_rng_state(state["rng"], self._generator)
        return state["batch"]


def fit(model: nn.Module, train_data, val_data=None, loss: Callable | None = None, optimizer=None,
        epochs: int = 1, **kwargs) -> History:
    """Functional form of :class:`Trainer`: ``fit(model, train, val, loss, optimizer, epochs,
    ...)``; the other keywords go to ``Trainer`` or ``Trainer.fit``."""
    if loss is None or optimizer is None:
        raise TypeError("ember.train.fit: loss and optimizer are required")
    fit_keys = {"validation_split", "batch_size", "resume_from"}
    fit_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in fit_keys}
    return Trainer(model, loss, optimizer, **kwargs).fit(train_data, val_data, epochs, **fit_kwargs)
