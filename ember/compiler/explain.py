"""torch._dynamo.explain's place: what ember.compile makes of one call, without compiling
anything for later.

``ember._dynamo.explain(fn)(*args)`` runs ``fn`` once (eagerly, its side effects included)
while a capture records it, and returns an ``ExplainOutput``: the graph the calls with these
inputs would replay and its steps (after fusion: ``ember.compile>fused(...)`` names a run of
element-wise ops made one loop), or why they would run eagerly (the graph break and its
line). ember makes one graph per call or none: a break runs the whole call eagerly.
"""
from __future__ import annotations

import warnings

from .capture import Capture
from .compiled import Kept, _arguments, graph_of


class ExplainOutput:
    """torch._dynamo's ExplainOutput: ``graphs``, ``graph_count``, ``graph_break_count``,
    ``break_reasons``, ``op_count``, ``ops_per_graph``; ``fused_runs``, the steps that fuse
    element-wise runs, is ember's own. ``print()`` it for a summary."""

    def __init__(self, graphs: list, break_reasons: list):
        self.graphs = graphs
        self.graph_count = len(graphs)
        self.graph_break_count = len(break_reasons)
        self.break_reasons = break_reasons
        self.ops_per_graph = [[step.name for step in graph.steps] for graph in graphs]
        self.op_count = sum(len(ops) for ops in self.ops_per_graph)
        self.fused_runs = [name for ops in self.ops_per_graph for name in ops
                           if name.startswith("ember.compile>fused(")]

    def __str__(self) -> str:
        lines = [f"Graph Count: {self.graph_count}", f"Graph Break Count: {self.graph_break_count}",
                 f"Op Count: {self.op_count}", "Break Reasons:"]
        lines += [f"  Break Reason {i + 1}:\n    {reason}" for i, reason in enumerate(self.break_reasons)]
        lines.append("Ops per Graph:")
        for i, ops in enumerate(self.ops_per_graph):
            lines.append(f"  Ops {i + 1}:")
            lines += [f"    {op}" for op in ops]
        lines.append(f"Fused Runs: {len(self.fused_runs)} (element-wise ops, one compiled loop each)")
        return "\n".join(lines)

    __repr__ = __str__


def explain(fn, *extra_args, **extra_kwargs):
    """``explain(fn)(*args, **kwargs)``: an ``ExplainOutput`` of one call. The older form
    ``explain(fn, *args, **kwargs)`` is accepted with PyTorch's deprecation warning."""
    def inner(*args, **kwargs) -> ExplainOutput:
        tensors: list = []
        _arguments(args, kwargs, tensors, Kept())
        cap = Capture()
        cap.start(tensors)
        try:
            result = fn(*args, **kwargs)
        finally:
            cap.stop()
        cap.finish(result)
        if cap.reason is not None:
            return ExplainOutput([], [f"{cap.reason} (at {cap.where})"])
        return ExplainOutput([graph_of(cap, fuse=True, channels_last=True)], [])

    if extra_args or extra_kwargs:
        warnings.warn("explain(f, *args, **kwargs) is deprecated, use explain(f)(*args, **kwargs) instead.",
                      FutureWarning, stacklevel=2)
        return inner(*extra_args, **extra_kwargs)
    return inner
