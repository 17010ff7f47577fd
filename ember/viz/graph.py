"""``draw_graph``: the autograd graph behind a tensor as a Graphviz diagram."""
from __future__ import annotations

import os
import tempfile
from typing import Any, Mapping, Sequence

import numpy as np

from .._tensor import Tensor
from .._optional import require

FORMATS = ("svg", "png")
_DOT_MISSING = ("the Graphviz 'dot' program is not installed, so the graph cannot be rendered "
                "(its DOT text is in .source). Install it with `apt-get install graphviz` "
                "(Debian/Ubuntu), `brew install graphviz` (macOS) or `conda install graphviz`")


def _graphviz():
    return require("graphviz", "Drawing graphs with ember.viz")


def new_digraph(name: str, format: str):
    """An empty top-to-bottom Graphviz digraph with ember's node style."""
    if format not in FORMATS:
        raise ValueError(f"{name}: format must be one of {FORMATS}, got {format!r}")
    dot = _graphviz().Digraph(name=name, format=format)
    dot.attr(rankdir="TB")
    dot.attr("node", shape="box", style="filled,rounded", fontname="Helvetica", fontsize="10")
    dot.attr("edge", fontname="Helvetica", fontsize="9")
    return dot


def render(dot, path: str) -> str:
    """Render ``dot`` in its format to ``path`` atomically (temp file, then rename); returns ``path``."""
    graphviz = _graphviz()
    try:
        data = dot.pipe()
    except graphviz.ExecutableNotFound as exc:
        raise RuntimeError(_DOT_MISSING) from exc
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path


def _array_text(tensor: Tensor) -> str:
    array = tensor.detach().cpu().numpy()
    return np.array2string(array, precision=3, threshold=12, edgeitems=2, max_line_width=48)


def _shape(shape) -> str:
    return str(tuple(shape))


def draw_graph(tensor: Tensor | Sequence[Tensor], params: Mapping[str, Tensor] | None = None,
               show_values: bool = False, show_grads: bool = False, format: str = "svg",
               path: str | None = None):
    """Draw the computation graph that produced ``tensor`` (or several tensors).

    Op nodes are the backward functions (``MulBackward0``, ...), leaf nodes the tensors
    gradients flow into, with their shapes; edges carry the shape of the tensor passed
    along and point the way data flows in the forward pass.

    Args:
        tensor: a tensor with a graph (or a sequence of them).
        params: names for leaf tensors, e.g. ``dict(model.named_parameters())``.
        show_values: print leaf tensors' values in their nodes.
        show_grads: print leaf tensors' ``.grad`` in their nodes (after ``backward()``).
        format: ``"svg"`` or ``"png"``.
        path: if given, the rendered file is written there (needs Graphviz's ``dot``).

    Returns:
        the ``graphviz.Digraph`` (its ``.source`` is the DOT text; Jupyter displays it).
    """
    roots = [tensor] if isinstance(tensor, Tensor) else list(tensor)
    if not roots or not all(isinstance(t, Tensor) for t in roots):
        raise TypeError("draw_graph: expected a Tensor or a sequence of Tensors")
    for t in roots:
        if t.grad_fn is None and not t.requires_grad:
            raise ValueError(f"draw_graph: the tensor of shape {_shape(t.shape)} has no graph: it does not "
                             f"require grad. Build it from tensors created with requires_grad=True, "
                             f"outside no_grad()")
    names = {id(p): name for name, p in (params or {}).items()}
    dot = new_digraph("draw_graph", format)

    def leaf_node(variable: Tensor) -> str:
        node = f"leaf{id(variable)}"
        if node not in drawn:
            drawn.add(node)
            label = [names.get(id(variable), ""), _shape(variable.shape)]
            if show_values:
                label.append("value:\n" + _array_text(variable))
            if show_grads:
                label.append("grad:\n" + (_array_text(variable.grad) if variable.grad is not None else "None"))
            dot.node(node, "\n".join(s for s in label if s), fillcolor="lightblue")
        return node

    drawn: set[str] = set()
    stack: list[Any] = []
    for i, t in enumerate(roots):
        out = f"out{i}"
        label = ["output" if len(roots) == 1 else f"output {i}", _shape(t.shape)]
        if show_values:
            label.append("value:\n" + _array_text(t))
        dot.node(out, "\n".join(label), fillcolor="darkolivegreen1")
        if t.grad_fn is None:
            dot.edge(leaf_node(t), out)
        else:
            dot.edge(f"fn{id(t.grad_fn)}", out)
            stack.append(t.grad_fn)
    while stack:
        fn = stack.pop()
        node = f"fn{id(fn)}"
        if node in drawn:
            continue
        drawn.add(node)
        dot.node(node, fn.name(), fillcolor="lightgrey")
        edges = getattr(fn, "_edges", None) or ()
        shapes = [e[2] if e else None for e in edges if e is not False]  # one per entry of next_functions
        for k, (child, _) in enumerate(fn.next_functions):
            if child is None:
                continue
            label = _shape(shapes[k]) if k < len(shapes) and shapes[k] is not None else ""
            if hasattr(child, "variable"):
                dot.edge(leaf_node(child.variable), node, label=label)
            else:
                dot.edge(f"fn{id(child)}", node, label=label)
                stack.append(child)
    if path is not None:
        render(dot, path)
    return dot


__all__ = ["draw_graph"]
