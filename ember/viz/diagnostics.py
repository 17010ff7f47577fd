"""Training diagnostics: activation, gradient and update statistics per layer, with warnings and plots."""
from __future__ import annotations

import html
import math
import os
import warnings
from typing import Any

import numpy as np

from .._tensor import Tensor
from ..autograd import is_grad_enabled
from ..train.callbacks import Callback
from .._optional import require

_RELUS = ("ReLU", "ReLU6")


def _first_tensor(value: Any) -> Tensor | None:
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (tuple, list)):
        for item in value:
            found = _first_tensor(item)
            if found is not None:
                return found
    return None


def _host(tensor: Tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy().astype(np.float64)


class TrainingDiagnostics(Callback):
    """Per-layer statistics of a training run, recorded every ``every_n_batches`` steps.

    Recorded per step (in ``history``, a list of dicts):

    - ``activations``: per leaf layer, the ``mean`` and ``std`` of its output and, for
      ``nn.ReLU``/``nn.ReLU6`` layers, ``dead_fraction``: the fraction of units (features or
      channels, dim 1) that are zero for every sample and position of the batch;
    - ``grad_norms``: the L2 norm of each parameter's gradient;
    - ``update_ratios``: ``||w_after - w_before|| / ||w_before||`` per parameter for the
      optimizer step.

    A gradient norm below ``vanishing`` or above ``exploding`` raises a warning naming the
    parameters. ``plot(dirpath)`` saves the curves as PNGs, each layer named by its path and
    type (``features.0 (Conv2d)``), with the usual healthy range shaded. As a callback with
    ``plot_dir`` it writes them when the fit ends (and every ``plot_every_n_epochs`` epochs
    when given): drawing costs far more than measuring.

    As a Trainer callback it attaches itself at the start of a fit. Standalone::

        diag = TrainingDiagnostics(model, every_n_batches=10).attach()
        for x, y in loader:
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            diag.record()          # after step(), once per batch
            optimizer.zero_grad()

    Only forward passes in training mode with gradients enabled are measured, so
    validation passes leave the statistics alone.
    """

    def __init__(self, model=None, every_n_batches: int = 10, vanishing: float = 1e-7,
                 exploding: float = 1e3, plot_dir: str | None = None,
                 plot_every_n_epochs: int | None = None) -> None:
        for name, value, optional in (("every_n_batches", every_n_batches, False),
                                      ("plot_every_n_epochs", plot_every_n_epochs, True)):
            if not (optional and value is None) and (not isinstance(value, int) or value < 1):
                raise ValueError(f"TrainingDiagnostics: {name} must be a positive integer, got {value!r}")
        self.plot_every_n_epochs = plot_every_n_epochs
        self.model = model
        self.every_n_batches = every_n_batches
        self.vanishing = vanishing
        self.exploding = exploding
        self.plot_dir = plot_dir
        self.history: list[dict] = []
        self.step = 0
        self._handles: list = []
        self._reset_window()

    def _reset_window(self) -> None:
        self._active = False
        self._activations: dict[str, dict] = {}
        self._grad_sum: dict[str, np.ndarray] = {}
        self._before: dict[str, np.ndarray] = {}

    # ---- attaching ------------------------------------------------------------------
    def attach(self, model=None) -> "TrainingDiagnostics":
        """Install the hooks on ``model`` (default: the one given at construction); returns self."""
        if model is not None:
            self.model = model
        if self.model is None:
            raise ValueError("TrainingDiagnostics.attach: no model; pass one here or to the constructor")
        self.detach()
        self._handles.append(self.model.register_forward_pre_hook(self._on_forward))
        for name, module in self.model.named_modules():
            if not any(True for _ in module.children()):
                self._handles.append(module.register_forward_hook(self._layer_hook(name or type(module).__name__)))
        for name, param in self.model.named_parameters():
            if param.requires_grad:
                self._handles.append(param.register_hook(self._grad_hook(name)))
        return self

    def detach(self) -> None:
        """Remove every hook this object installed."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _measuring(self) -> bool:
        return self._active and self.model.training and is_grad_enabled()

    def _on_forward(self, module, args) -> None:
        # The first training forward of a due step opens the window: weights are copied
        # here because the optimizer step that follows changes them before record() runs.
        if self._active or self.step % self.every_n_batches or not (module.training and is_grad_enabled()):
            return
        self._active = True
        self._before = {name: _host(p) for name, p in self.model.named_parameters() if p.requires_grad}

    def _layer_hook(self, name: str):
        def hook(module, args, output) -> None:
            out = _first_tensor(output)
            if not self._measuring() or out is None or not out.is_floating_point():
                return
            values = _host(out)
            stats = {"type": type(module).__name__, "mean": float(values.mean()) if values.size else 0.0,
                     "std": float(values.std()) if values.size else 0.0}
            if type(module).__name__ in _RELUS and values.ndim >= 2 and values.size:
                units = np.moveaxis(values, 1, 0).reshape(values.shape[1], -1)
                stats["dead_fraction"] = float((units == 0).all(axis=1).mean())
            self._activations.setdefault(name, stats)
        return hook

    def _grad_hook(self, name: str):
        def hook(grad: Tensor) -> None:
            if self._active:  # gradients of accumulated micro-batches add up, as in .grad
                g = _host(grad)
                self._grad_sum[name] = self._grad_sum.get(name, 0) + g
        return hook

    # ---- recording ------------------------------------------------------------------
    def record(self) -> dict | None:
        """Close the current step (call after ``optimizer.step()``); returns its statistics
        if this step was measured, else None."""
        self.step += 1
        if not self._active:
            return None
        params = dict(self.model.named_parameters())
        grad_norms = {name: float(np.linalg.norm(g)) for name, g in self._grad_sum.items()}
        ratios = {}
        for name, before in self._before.items():
            scale = np.linalg.norm(before)
            change = np.linalg.norm(_host(params[name]) - before)
            ratios[name] = float(change / scale) if scale > 0 else (0.0 if change == 0 else math.inf)
        entry = {"step": self.step - 1, "activations": self._activations, "grad_norms": grad_norms,
                 "update_ratios": ratios}
        self.history.append(entry)
        self._reset_window()
        self._warn(entry)
        return entry

    def _warn(self, entry: dict) -> None:
        norms = entry["grad_norms"]
        vanishing = {n: v for n, v in norms.items() if v < self.vanishing}
        exploding = {n: v for n, v in norms.items() if v > self.exploding or not math.isfinite(v)}
        step = entry["step"]
        if vanishing:
            warnings.warn(f"vanishing gradients at step {step}: norm below {self.vanishing:g} for "
                          f"{_listing(vanishing)}; look for dead ReLUs (dead_fraction), saturated "
                          f"activations or a too deep plain network", RuntimeWarning, stacklevel=3)
        if exploding:
            warnings.warn(f"exploding gradients at step {step}: norm above {self.exploding:g} for "
                          f"{_listing(exploding)}; lower the learning rate or clip gradients "
                          f"(nn.utils.clip_grad_norm_)", RuntimeWarning, stacklevel=3)

    def _repr_html_(self) -> str:
        """In a notebook: the last recorded step, one row per layer, values outside their
        usual healthy range in red."""
        if not self.history:
            return "<p>TrainingDiagnostics: nothing recorded yet</p>"
        last = self.history[-1]
        kinds = {name: type(m).__name__ for name, m in self.model.named_modules()} if self.model is not None else {}

        def cell(value, low, high, fmt="{:.3g}"):
            if value is None:
                return "<td></td>"
            bad = not (low <= value <= high)
            return f"<td style='color:{'#c00' if bad else 'inherit'}'>{fmt.format(value)}</td>"

        rows = []
        for name, stats in last["activations"].items():
            rows.append(f"<tr><td>{html.escape(name)} ({stats['type']})</td><td>output</td>"
                        + cell(stats["mean"], -1, 1) + cell(stats["std"], 0.5, 2.0)
                        + cell(stats.get("dead_fraction"), 0, 0.1, "{:.0%}") + "<td></td><td></td></tr>")
        for name, norm in last["grad_norms"].items():
            owner = kinds.get(name.rpartition(".")[0], "")
            rows.append(f"<tr><td>{html.escape(name)} ({owner})</td><td>parameter</td><td></td><td></td><td></td>"
                        + cell(norm, self.vanishing, self.exploding)
                        + cell(last["update_ratios"].get(name), 1e-4, 1e-2) + "</tr>")
        head = "".join(f"<th>{h}</th>" for h in ("layer", "", "activation mean", "activation std",
                                                   "dead ReLU units", "gradient norm", "update / weight"))
        return (f"<p>TrainingDiagnostics at step {last['step']} (red: outside the usual healthy range)</p>"
                f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")

    # ---- Trainer callback hooks -----------------------------------------------------
    def on_fit_start(self, trainer) -> None:
        if self.model is not trainer.model or not self._handles:
            self.attach(trainer.model)

    def on_batch_end(self, trainer, batch: int, logs: dict) -> None:
        self.record()

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        n = self.plot_every_n_epochs
        if self.plot_dir is not None and self.history and n and (epoch + 1) % n == 0:
            self.plot(self.plot_dir)

    def on_fit_end(self, trainer) -> None:
        self.detach()
        if self.plot_dir is not None and self.history:
            self.plot(self.plot_dir)

    # ---- plots ----------------------------------------------------------------------
    def plot(self, dirpath: str) -> list[str]:
        """Save ``activations.png``, ``dead_relu.png`` (if there are ReLU layers),
        ``grad_norms.png`` and ``update_ratios.png`` in ``dirpath``; returns their paths."""
        Figure = require("matplotlib.figure", "TrainingDiagnostics.plot").Figure

        from ..metrics.plot import save_figure

        if not self.history:
            raise RuntimeError("TrainingDiagnostics.plot: nothing recorded yet; call record() after "
                               "optimizer.step() (or use it as a Trainer callback)")
        os.makedirs(dirpath, exist_ok=True)
        steps = [e["step"] for e in self.history]
        paths = []
        kinds = {name: type(m).__name__ for name, m in self.model.named_modules()} if self.model is not None else {}

        def label(name: str, layer_type: str | None = None) -> str:
            """A layer's path and type: "features.0 (Conv2d)", "fc.weight (Linear)"."""
            owner = name.rsplit(".", 1)[0] if "." in name else ""
            kind = layer_type or kinds.get(name) or kinds.get(owner)
            return f"{name} ({kind})" if kind and kind != name else name

        def series(key: str, field: str | None = None) -> dict[str, list[float]]:
            names = list(dict.fromkeys(n for e in self.history for n, v in e[key].items()
                                       if field is None or field in v))
            out = {}
            for n in names:
                kind = next((e[key][n].get("type") for e in self.history if field and n in e[key]), None)
                out[label(n, kind)] = [(e[key].get(n, {}).get(field, math.nan) if field else e[key].get(n, math.nan))
                                       for e in self.history]
            return out

        def figure(panels, filename: str) -> None:
            fig = Figure(figsize=(8, 3.4 * len(panels)))
            for i, (title, ylabel, data, log, healthy) in enumerate(panels, 1):
                ax = fig.add_subplot(len(panels), 1, i)
                if healthy is not None:
                    low, high, words = healthy
                    ax.axhspan(low, high, color="tab:green", alpha=0.12, label=f"healthy: {words}")
                for name, values in data.items():
                    ax.plot(steps, values, marker=".", label=name)
                if log:
                    ax.set_yscale("symlog", linthresh=self.vanishing)
                ax.set(title=title, xlabel="training step", ylabel=ylabel)
                if data:
                    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
            fig.tight_layout()
            paths.append(save_figure(fig, os.path.join(dirpath, filename)))

        figure([("activation mean per layer", "mean of the layer's outputs",
                 series("activations", "mean"), False, (-1.0, 1.0, "near 0")),
                ("activation spread per layer", "std of the layer's outputs",
                 series("activations", "std"), False, (0.5, 2.0, "about 1"))], "activations.png")
        dead = series("activations", "dead_fraction")
        if dead:
            figure([("dead ReLU units per layer", "fraction of units never active in the batch",
                     dead, False, (0.0, 0.1, "under 10%"))], "dead_relu.png")
        figure([("gradient size per parameter", "L2 norm of the gradient", series("grad_norms"), True,
                 (self.vanishing, self.exploding, f"between {self.vanishing:g} and {self.exploding:g}"))],
               "grad_norms.png")
        figure([("update size per parameter", "||update|| / ||weight|| per step", series("update_ratios"), True,
                 (1e-4, 1e-2, "about 1e-3"))], "update_ratios.png")
        return paths


def _listing(values: dict[str, float]) -> str:
    shown = [f"{name} ({value:.2e})" for name, value in list(values.items())[:5]]
    more = len(values) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


__all__ = ["TrainingDiagnostics"]
