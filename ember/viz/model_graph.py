"""``draw_model``: a model's layers as a Graphviz diagram, wired by the data that flows."""
from __future__ import annotations

from typing import Any, Sequence

from .._summary import _shapes, example_inputs, trace
from .._tensor import Tensor
from .graph import new_digraph, render


def _display_modules(model, depth: int | None) -> dict[int, tuple[str, Any]]:
    """Modules drawn as nodes: leaves of the module tree, or containers cut at ``depth``."""
    shown: dict[int, tuple[str, Any]] = {}

    def visit(module, name: str, level: int) -> None:
        children = list(module.named_children())
        if not children or (depth is not None and level >= depth):
            shown.setdefault(id(module), (name, module))
            return
        for child_name, child in children:
            visit(child, f"{name}.{child_name}" if name else child_name, level + 1)

    visit(model, "", 0)
    return shown


def _tensors(value: Any) -> list[Tensor]:
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for item in value for t in _tensors(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in _tensors(item)]
    return []


def draw_model(model, input_size: Sequence | None = None, input_data: Any = None,
               dtypes: Sequence | None = None, depth: int | None = None, format: str = "svg",
               path: str | None = None):
    """Draw a model's layers as nodes joined in the order data flows between them.

    A forward pass runs (eval mode, training flags restored) on ``input_data`` or zero
    tensors of ``input_size`` (see :func:`ember.summary`); each layer's inputs are traced
    back through the autograd graph to the layers that produced them, so skip connections,
    merges and functional ops between layers are drawn as they run.

    Args:
        model: the ``nn.Module``.
        input_size, input_data, dtypes: the example input, as for :func:`ember.summary`.
        depth: draw modules at this nesting depth as single nodes (default: every leaf layer).
        format: ``"svg"`` or ``"png"``.
        path: if given, the rendered file is written there (needs Graphviz's ``dot``).

    Returns:
        the ``graphviz.Digraph``.
    """
    if input_size is None and input_data is None:
        raise ValueError("draw_model: give input_size or input_data for the forward pass that finds the wiring")
    dot = new_digraph("draw_model", format)
    inputs = []
    for x in example_inputs(model, input_size, input_data, dtypes):
        # Floating inputs join the graph, so each layer's input can be traced to them.
        inputs.append(x.detach().requires_grad_() if isinstance(x, Tensor) and x.is_floating_point() else x)
    shown = _display_modules(model, depth)
    producers: dict[int, str] = {}  # id of a grad_fn or input tensor -> node name
    for k, x in enumerate(inputs):
        node = f"input{k}"
        dot.node(node, f"input {k}\n{_shapes(x)[0] if _shapes(x) else type(x).__name__}", fillcolor="lightblue")
        producers[id(x)] = node
    wiring: list[tuple[str, list]] = []  # (layer node, where each of its inputs came from)
    before: dict[int, set[int]] = {}
    hooks = []

    def pre_hook(module, args):
        # Taken before the call: an in-place layer gives its input tensor a new grad_fn.
        starts = [t.grad_fn if t.grad_fn is not None else t for t in _tensors(args)]
        wiring.append((f"layer{id(module)}", starts))
        before[id(module)] = {id(t.grad_fn) for t in _tensors(args)}

    def hook(module, args, output):
        for t in _tensors(output):
            if t.grad_fn is not None and id(t.grad_fn) not in before[id(module)]:
                producers[id(t.grad_fn)] = f"layer{id(module)}"  # a pass-through layer produces nothing

    for module in {id(m): m for _, m in shown.values()}.values():
        hooks.append(module.register_forward_pre_hook(pre_hook))
        hooks.append(module.register_forward_hook(hook))
    try:
        calls, output = trace(model, tuple(inputs), grad=True)
    finally:
        for handle in hooks:
            handle.remove()
    for module_id, (name, module) in shown.items():
        label = [name or type(module).__name__, type(module).__name__]
        call = calls.get(module_id)
        if call is not None:
            label.append("out: " + ", ".join(str(s) for s in call.output_shapes))
        params = sum(p.numel() for p in module.parameters())
        if params:
            label.append(f"{params:,} params")
        dot.node(f"layer{module_id}", "\n".join(label), fillcolor="lightgrey")
    edges: set[tuple[str, str]] = set()
    for node, starts in wiring:
        for source in _sources(starts, producers):
            edges.add((source, node))
    outs = _tensors(output)
    for k, t in enumerate(outs):
        name = f"output{k}"
        dot.node(name, f"output {k if len(outs) > 1 else ''}".strip() + f"\n{list(t.shape)}",
                 fillcolor="darkolivegreen1")
        for source in _sources([t.grad_fn if t.grad_fn is not None else t], producers):
            edges.add((source, name))
    for source, target in sorted(edges):
        dot.edge(source, target)
    if path is not None:
        render(dot, path)
    return dot


def _sources(starts: list, producers: dict[int, str]) -> set[str]:
    """The layer (or input) nodes that the given graph nodes (or graph-less tensors) were
    computed from: the autograd graph is walked back until a layer's output is met."""
    found: set[str] = set()
    stack, seen = [], set()
    for start in starts:
        if isinstance(start, Tensor):
            if id(start) in producers:
                found.add(producers[id(start)])
        else:
            stack.append(start)
    while stack:
        fn = stack.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        if id(fn) in producers:
            found.add(producers[id(fn)])
            continue
        for child, _ in fn.next_functions:
            if child is None:
                continue
            variable = getattr(child, "variable", None)
            if variable is not None:
                if id(variable) in producers:
                    found.add(producers[id(variable)])
            else:
                stack.append(child)
    return found


__all__ = ["draw_model"]
