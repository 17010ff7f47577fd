"""Looking inside a network: filters, feature maps, the spread of activations and gradients,
and a classifier's decision regions on 2-D data. Each function returns a matplotlib Figure
(shown by a notebook as it is; ``fig.savefig(path)`` writes it)."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .._optional import require
from .._tensor import Tensor
from ..autograd import no_grad


def _figure(rows: int, cols: int, width: float, height: float):
    Figure = require("matplotlib.figure", "ember.viz plots").Figure
    fig = Figure(figsize=(width * cols, height * rows))
    return fig, [fig.add_subplot(rows, cols, i + 1) for i in range(rows * cols)]


def _host(t: Tensor) -> np.ndarray:
    return t.detach().cpu().float().numpy()


def _leaves(model) -> list:
    """(path, module) of the layers that hold no other layers, in definition order."""
    return [(name or type(m).__name__, m) for name, m in model.named_modules() if not any(True for _ in m.children())]


def show_filters(conv, max_filters: int = 64, ncols: int = 8):
    """The kernels of a convolution layer as small images, one per output channel: in colour
    when the layer reads 3 channels (an RGB input), else the mean over input channels. Each
    image is scaled to its own range, so patterns show whatever their size."""
    w = getattr(conv, "weight", None)
    if w is None or w.ndim != 4:
        raise TypeError(f"show_filters: expected a 2-D convolution layer (weight of shape (out, in, kh, kw)), "
                        f"got {type(conv).__name__}" + (f" with a weight of shape {list(w.shape)}" if w is not None else ""))
    kernels = _host(w)[:max_filters]
    n = len(kernels)
    cols = min(ncols, n)
    fig, axes = _figure(math.ceil(n / cols), cols, 1.2, 1.3)
    for i, ax in enumerate(axes):
        ax.axis("off")
        if i >= n:
            continue
        k = kernels[i]
        image = k.transpose(1, 2, 0) if k.shape[0] == 3 else k.mean(0)
        span = image.max() - image.min()
        image = (image - image.min()) / span if span > 0 else np.zeros_like(image)
        ax.imshow(image, cmap=None if image.ndim == 3 else "gray", interpolation="nearest")
        ax.set_title(str(i), fontsize=7)
    fig.suptitle(f"{type(conv).__name__} filters ({w.shape[1]} in, {w.shape[0]} out, "
                 f"{w.shape[2]}x{w.shape[3]}): {'RGB' if w.shape[1] == 3 else 'mean over inputs'}")
    fig.tight_layout()
    return fig


def show_feature_maps(model, image: Tensor, layers: str | Sequence[str] | None = None, max_maps: int = 16):
    """What each convolution layer (or the named ``layers``) outputs for one ``image`` (C, H, W
    or 1, C, H, W): one row per layer, its first ``max_maps`` channels as grey images."""
    named = dict(model.named_modules())
    chosen = ([layers] if isinstance(layers, str) else list(layers)) if layers is not None else [
        name for name, m in named.items() if type(m).__name__.startswith("Conv")]
    unknown = [n for n in chosen if n not in named]
    if unknown or not chosen:
        raise ValueError(f"show_feature_maps: {'no layer named ' + repr(unknown) if unknown else 'no convolution layer'}"
                         f" in {type(model).__name__}; its layers are {[n for n in named if n]}")
    outputs = {}
    handles = [named[n].register_forward_hook(lambda m, a, out, n=n: outputs.__setitem__(n, out)) for n in chosen]
    was_training = model.training
    try:
        model.eval()
        with no_grad():
            model(image if image.ndim == 4 else image.unsqueeze(0))
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    cols = max(min(max_maps, outputs[n].shape[1]) for n in chosen)
    fig, axes = _figure(len(chosen), cols, 1.1, 1.3)
    for r, name in enumerate(chosen):
        maps = _host(outputs[name])[0]
        for c in range(cols):
            ax = axes[r * cols + c]
            if c == 0:  # the row's name beside it, where tight_layout keeps room for it
                ax.set(xticks=[], yticks=[])
                for spine in ax.spines.values():
                    spine.set_visible(False)
                ax.set_ylabel(f"{name}\n({type(named[name]).__name__})", rotation=0, ha="right",
                              va="center", fontsize=8)
            else:
                ax.axis("off")
            if c < min(max_maps, len(maps)):
                ax.imshow(maps[c], cmap="viridis", interpolation="nearest")
    fig.suptitle("feature maps: brighter is a stronger response")
    fig.tight_layout()
    return fig


def _histograms(title: str, named_values: list, xlabel: str):
    cols = min(3, len(named_values))
    fig, axes = _figure(math.ceil(len(named_values) / cols), cols, 3.4, 2.4)
    for ax in axes[len(named_values):]:
        ax.axis("off")
    for ax, (name, values) in zip(axes, named_values):
        values = values[np.isfinite(values)]
        ax.hist(values, bins=40, color="tab:blue")
        ax.set_title(f"{name}\nmean {values.mean():.3g}, std {values.std():.3g}" if values.size else name, fontsize=8)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.set_ylabel("count", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_activations(model, inputs: Tensor):
    """Histograms of each layer's outputs for ``inputs``: healthy layers spread around zero
    with a std near 1; a ReLU layer with a tall spike at 0 has many dead units."""
    outputs, handles = [], []
    for name, m in _leaves(model):
        handles.append(m.register_forward_hook(
            lambda mod, a, out, name=name: outputs.append((f"{name} ({type(mod).__name__})", _host(out).ravel()))
            if isinstance(out, Tensor) else None))
    try:
        with no_grad():
            model(inputs)
    finally:
        for h in handles:
            h.remove()
    if not outputs:
        raise ValueError(f"show_activations: {type(model).__name__} has no layers whose output is a tensor")
    return _histograms("activations per layer (healthy: centred, std near 1)", outputs, "output value")


def show_gradients(model):
    """Histograms of each parameter's gradient (after ``loss.backward()``): gradients piled
    at zero vanish, very wide ones explode."""
    grads = [(f"{name} ({type(model.get_submodule(name.rpartition('.')[0]) if '.' in name else model).__name__})",
              _host(p.grad).ravel()) for name, p in model.named_parameters() if p.grad is not None]
    if not grads:
        raise RuntimeError("show_gradients: no parameter has a gradient; call loss.backward() first")
    return _histograms("gradients per parameter (healthy: small, not all zero)", grads, "gradient value")


def plot_decision_boundary(model, X, y, resolution: int = 200, margin: float = 0.5):
    """A classifier on 2-D inputs: the plane coloured by the class the model predicts (the
    arg-max of its outputs, or output > 0 for a single logit), with the points of ``X``
    coloured by their labels ``y`` on top."""
    X = _host(X) if isinstance(X, Tensor) else np.asarray(X, dtype=np.float32)
    y = _host(y) if isinstance(y, Tensor) else np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary: X must have shape (N, 2), got {list(X.shape)}")
    lo, hi = X.min(0) - margin, X.max(0) + margin
    xs, ys = np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    grid = np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2).astype(np.float32)
    params = list(model.parameters())
    from ..ops.creation import tensor
    points = tensor(grid, device=params[0].device if params else None)
    was_training = model.training
    try:
        model.eval()
        with no_grad():
            out = _host(model(points))
    finally:
        model.train(was_training)
    classes = (out.reshape(len(grid), -1)[:, 0] > 0).astype(int) if out.size == len(grid) else out.argmax(1)
    fig, (ax,) = _figure(1, 1, 5.5, 5)
    n_classes = int(max(classes.max(), y.max())) + 1
    cmap = "tab10" if n_classes <= 10 else "tab20"
    ax.contourf(xs, ys, classes.reshape(resolution, resolution), levels=np.arange(n_classes + 1) - 0.5,
                cmap=cmap, alpha=0.3, vmin=-0.5, vmax=(10 if n_classes <= 10 else 20) - 0.5)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap=cmap, vmin=-0.5, vmax=(10 if n_classes <= 10 else 20) - 0.5,
               edgecolors="black", linewidths=0.5, s=18)
    accuracy = float((_predict(classes, xs, ys, X) == y).mean())
    ax.set(title=f"decision regions of {type(model).__name__} (training points: {accuracy:.0%} in their region)",
           xlabel="x1", ylabel="x2")
    ax.title.set_fontsize(9)
    return fig


def _predict(classes: np.ndarray, xs: np.ndarray, ys: np.ndarray, X: np.ndarray) -> np.ndarray:
    """The grid's class at the grid point nearest each point of ``X``."""
    grid = classes.reshape(len(ys), len(xs))
    i = np.clip(np.searchsorted(ys, X[:, 1]), 0, len(ys) - 1)
    j = np.clip(np.searchsorted(xs, X[:, 0]), 0, len(xs) - 1)
    return grid[i, j]


__all__ = ["show_filters", "show_feature_maps", "show_activations", "show_gradients", "plot_decision_boundary"]
