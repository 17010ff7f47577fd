"""Pairs: a batch norm and the ReLU that alone reads its result become one op.

A batch norm followed by a ReLU (a CNN's conv - batch norm - ReLU) is two passes over the
activations forward and two backward; ``ops.norm.batch_norm_relu`` is one each, with the
same values and gradients, bit for bit. ``fuse_pairs(steps, output)`` replaces each such pair
of steps when the batch norm's result is read by the ReLU only (not by a later step, not
returned), and both ran under the same grad and autocast modes.
"""
from __future__ import annotations

from ..ops import math as math_ops, norm
from .graph import Slot, Step, last_reads


def fuse_pairs(steps: list, output) -> list:
    """``steps`` with each (batch norm, ReLU of its result only) pair as one step."""
    last = last_reads(steps, output)
    out, i = [], 0
    while i < len(steps):
        step = steps[i]
        if step.fn is norm.batch_norm and i + 1 < len(steps) and type(step.outs) is int and \
                _only_relu_of(steps[i + 1], step) and last.get(step.outs) == i + 1:
            relu = steps[i + 1]  # batch_norm_relu takes batch_norm's arguments
            out.append(Step(norm.batch_norm_relu, step.args, step.kwargs, relu.outs, step.grad, step.amp,
                            f"{step.name}+relu"))
            i += 2
        else:
            out.append(step)
            i += 1
    return out


def _only_relu_of(step: Step, before: Step) -> bool:
    """Whether ``step`` is ReLU of ``before``'s result, under the same modes."""
    return (step.fn == math_ops.Relu.apply and step.args == (Slot(before.outs),) and not step.kwargs
            and step.grad == before.grad and step.amp == before.amp)
