"""``ember.summary``: a table of a model's layers, output shapes and parameter counts."""
from __future__ import annotations

import html

from dataclasses import dataclass, field
from typing import Any, Sequence

from ._tensor import Tensor
from .autograd import set_grad_enabled
from .backend import dtypes as _dtypes

COLUMNS = {"input_size": "Input Shape", "output_size": "Output Shape", "num_params": "Param #",
           "trainable": "Trainable"}


def _shapes(value: Any) -> list[list[int]]:
    """Shapes of every tensor in a (nested) forward input or output, in order."""
    if isinstance(value, Tensor):
        return [list(value.shape)]
    if isinstance(value, (tuple, list)):
        return [s for item in value for s in _shapes(item)]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _shapes(item)]
    return []


def _nbytes(value: Any) -> int:
    if isinstance(value, Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, (tuple, list)):
        return sum(_nbytes(item) for item in value)
    if isinstance(value, dict):
        return sum(_nbytes(item) for item in value.values())
    return 0


def example_inputs(model, input_size=None, input_data=None, dtypes=None) -> tuple:
    """The positional inputs of a forward pass: ``input_data`` as given, or zero tensors
    of the shapes in ``input_size`` (one shape, or a list of shapes for several inputs)
    with the matching ``dtypes`` (default float), on the device of the model's parameters."""
    if input_data is not None:
        return tuple(input_data) if isinstance(input_data, (tuple, list)) else (input_data,)
    if input_size is None:
        return ()
    sizes = list(input_size)
    several = bool(sizes) and all(isinstance(s, (tuple, list)) for s in sizes)
    if not several:
        if not all(isinstance(s, int) for s in sizes):
            raise TypeError(f"summary: input_size must be a shape (tuple of ints) or a list of shapes, "
                            f"got {input_size!r}")
        sizes = [sizes]
    kinds = list(dtypes) if dtypes is not None else [None] * len(sizes)
    if len(kinds) != len(sizes):
        raise ValueError(f"summary: {len(kinds)} dtypes for {len(sizes)} inputs; give one dtype per input")
    param = next(iter(model.parameters()), None)
    device = param.device if param is not None else None
    from .ops.creation import zeros
    return tuple(zeros(*size, dtype=kind or _dtypes.get_default_dtype(), device=device)
                 for size, kind in zip(sizes, kinds))


@dataclass
class LayerCall:
    """One module's first call in a traced forward pass."""

    name: str
    module: Any
    order: int
    input_shapes: list = field(default_factory=list)
    output_shapes: list = field(default_factory=list)
    output_bytes: int = 0
    calls: int = 0


def trace(model, inputs: tuple, grad: bool = False) -> tuple[dict[int, LayerCall], Any]:
    """Run ``model(*inputs)`` once in eval mode, recording every module's first call (keyed
    by ``id(module)``); training flags are restored afterwards. The autograd graph is
    recorded only with ``grad``."""
    modes = [(m, m.training) for m in model.modules()]
    names = {}
    for name, module in model.named_modules(remove_duplicate=False):
        names.setdefault(id(module), name)
    calls: dict[int, LayerCall] = {}
    handles = []

    def hook(module, args, output):
        call = calls.get(id(module))
        if call is None:
            call = calls[id(module)] = LayerCall(names.get(id(module), ""), module, len(calls),
                                                 _shapes(args), _shapes(output), _nbytes(output))
        call.calls += 1

    try:
        for module in {id(m): m for _, m in model.named_modules(remove_duplicate=False)}.values():
            handles.append(module.register_forward_hook(hook))
        model.eval()
        with set_grad_enabled(grad):
            try:
                output = model(*inputs)
            except Exception as exc:
                shapes = ", ".join(str(s) for s in _shapes(inputs)) or "no inputs"
                raise RuntimeError(f"the forward pass of {type(model).__name__} failed on inputs "
                                   f"of shapes {shapes}: {exc}") from exc
    finally:
        for handle in handles:
            handle.remove()
        for module, mode in modes:
            module.training = mode
    return calls, output


def _format_shapes(shapes: list) -> str:
    if not shapes:
        return "--"
    return ", ".join(str(s) for s in shapes)


@dataclass
class LayerRow:
    """A row of the summary table."""

    name: str
    type: str
    depth: int
    input_shapes: list
    output_shapes: list
    num_params: int
    trainable_params: int
    called: bool


class ModelSummary:
    """The result of :func:`summary`: ``str()`` is the table; counts are attributes. Once
    :func:`summary` has printed it, its repr is one line, so a REPL or notebook that echoes
    the returned value does not show the table twice; in a notebook ``summary(model,
    verbose=0)`` displays it as an HTML table.

    Attributes:
        layers: the table's rows (:class:`LayerRow`).
        total_params, trainable_params, non_trainable_params: parameter counts (each
            shared parameter once, as ``sum(p.numel() for p in model.parameters())``).
        input_bytes, forward_backward_bytes, params_bytes: the estimated memory.
    """

    def __init__(self, model, layers, col_names, input_bytes: int, forward_bytes: int) -> None:
        params = list(model.parameters())
        self.model_name = type(model).__name__
        self.layers = layers
        self.col_names = tuple(col_names)
        self.total_params = sum(p.numel() for p in params)
        self.trainable_params = sum(p.numel() for p in params if p.requires_grad)
        self.non_trainable_params = self.total_params - self.trainable_params
        self.input_bytes = input_bytes
        # Activations are kept for the backward pass, which writes gradients of the same size.
        self.forward_backward_bytes = 2 * forward_bytes
        self.params_bytes = sum(p.numel() * p.element_size() for p in params)
        self.printed = False

    def _cells(self, row: LayerRow) -> list[str]:
        name = ("│    " * (row.depth - 1) + "├─" if row.depth else "") + (f"{row.name} ({row.type})" if row.name else row.type)
        values = {"input_size": _format_shapes(row.input_shapes) if row.called else "--",
                  "output_size": _format_shapes(row.output_shapes) if row.called else "--",
                  "num_params": f"{row.num_params:,}" if row.num_params else "--",
                  "trainable": ("--" if not row.num_params else "True" if row.trainable_params == row.num_params
                                else "False" if row.trainable_params == 0 else "Partial")}
        return [name] + [values[c] for c in self.col_names]

    def __str__(self) -> str:
        header = ["Layer (type)"] + [COLUMNS[c] for c in self.col_names]
        body = [self._cells(row) for row in self.layers]
        widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]

        def line(cells):
            return "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

        rule = "=" * max(len(line(header)), 40)
        mb = 1024 ** 2
        total_bytes = self.input_bytes + self.forward_backward_bytes + self.params_bytes
        lines = [rule, line(header), rule, *(line(cells) for cells in body), rule,
                 f"Total params: {self.total_params:,}",
                 f"Trainable params: {self.trainable_params:,}",
                 f"Non-trainable params: {self.non_trainable_params:,}", rule,
                 f"Input size (MB): {self.input_bytes / mb:.2f}",
                 f"Forward/backward pass size (MB): {self.forward_backward_bytes / mb:.2f}",
                 f"Params size (MB): {self.params_bytes / mb:.2f}",
                 f"Estimated Total Size (MB): {total_bytes / mb:.2f}", rule]
        return "\n".join(lines)

    def __repr__(self) -> str:
        if self.printed:
            return (f"<ModelSummary of {self.model_name}: {self.total_params:,} parameters; the table "
                    "is printed above (print() shows it again)>")
        return str(self)

    def _repr_html_(self) -> str | None:
        """An HTML table for Jupyter (None once printed: the printed text stands)."""
        if self.printed:
            return None
        header = ["Layer (type)"] + [COLUMNS[c] for c in self.col_names]
        rows = "".join("<tr>" + "".join(f"<td style='text-align:left'>{html.escape(c)}</td>" for c in self._cells(r))
                       + "</tr>" for r in self.layers)
        mb = 1024 ** 2
        totals = (f"Total params: {self.total_params:,} &middot; trainable {self.trainable_params:,} &middot; "
                  f"non-trainable {self.non_trainable_params:,} &middot; estimated size "
                  f"{(self.input_bytes + self.forward_backward_bytes + self.params_bytes) / mb:.2f} MB")
        return (f"<table><thead><tr>{''.join(f'<th>{html.escape(h)}</th>' for h in header)}</tr></thead>"
                f"<tbody>{rows}</tbody></table><p>{totals}</p>")


def summary(model, input_size: Sequence | None = None, input_data: Any = None, dtypes: Sequence | None = None,
            depth: int = 3, col_names: Sequence[str] = ("output_size", "num_params"),
            verbose: int = 1) -> ModelSummary:
    """Summarize a model: every layer with its output shape and parameter count, and totals.

    A forward pass (no gradients, eval mode, training flags restored afterwards) runs on
    ``input_data`` or on zero tensors of ``input_size``; without either, only parameters
    are listed.

    Args:
        model: the ``nn.Module``.
        input_size: the input's shape including the batch dimension, or a list of shapes
            for a model with several inputs.
        input_data: a tensor, or a tuple/list of tensors passed positionally.
        dtypes: one dtype per input of ``input_size`` (e.g. ``ember.long`` for token ids).
        depth: modules nested deeper than this are folded into their ancestor's row.
        col_names: columns among ``"input_size"``, ``"output_size"``, ``"num_params"``,
            ``"trainable"``.
        verbose: 1 prints the table, 0 only returns it.
    """
    from .nn.modules.module import Module

    if not isinstance(model, Module):
        raise TypeError(f"summary: expected an nn.Module, got {type(model).__name__}")
    unknown = [c for c in col_names if c not in COLUMNS]
    if unknown:
        raise ValueError(f"summary: unknown column(s) {unknown}; valid names are {list(COLUMNS)}")
    if not isinstance(depth, int) or depth < 0:
        raise ValueError(f"summary: depth must be a non-negative integer, got {depth!r}")
    inputs = example_inputs(model, input_size, input_data, dtypes)
    calls, _ = trace(model, inputs) if inputs else ({}, None)

    layers = []

    def visit(module, name: str, level: int) -> None:
        children = list(module.named_children())
        folded = level >= depth or not children
        params = module.parameters(recurse=folded)
        counted = [(p.numel(), p.requires_grad) for p in params]
        call = calls.get(id(module))
        layers.append(LayerRow(name, type(module).__name__, level,
                               call.input_shapes if call else [], call.output_shapes if call else [],
                               sum(n for n, _ in counted), sum(n for n, g in counted if g), call is not None))
        if not folded:
            for child_name, child in children:
                visit(child, child_name, level + 1)

    visit(model, "", 0)
    leaf_bytes = sum(c.output_bytes for c in calls.values() if not list(c.module.children()))
    result = ModelSummary(model, layers, col_names, sum(_nbytes(x) for x in inputs), leaf_bytes)
    if verbose:
        print(result)
        result.printed = True
    return result


__all__ = ["summary", "ModelSummary", "LayerRow"]
