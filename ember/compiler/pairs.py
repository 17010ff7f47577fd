"""Pairs: two ops where the second alone reads the first's result become one op.

- A batch norm, then a ReLU (a CNN's conv - batch norm - ReLU): two passes over the
  activations forward and two backward; ``ops.batch_norm.batch_norm_relu`` is one each.
- A ReLU, then a max pool of 2x2 windows (a CNN's conv - ReLU - pool): the ReLU's pass over
  the activations forward and its gradient's backward; ``ops.window.relu_max_pool`` pools the
  ReLU's windows without making its result.

Both give the two ops' values and gradients, bit for bit. ``fuse_pairs(steps, output)``
replaces each such pair of steps when the first one's result is read by the second only (not
by a later step, not returned), and both ran under the same grad and autocast modes.
"""
from __future__ import annotations

from ..ops import batch_norm as bn, math as math_ops, window
from .graph import Slot, Step, last_reads


def fuse_pairs(steps: list, output) -> list:
    """``steps`` with each pair above as one step."""
    last = last_reads(steps, output)
    out, i = [], 0
    while i < len(steps):
        step = steps[i]
        pair = None
        if i + 1 < len(steps) and type(step.outs) is int and last.get(step.outs) == i + 1:
            pair = _pair(step, steps[i + 1])
        out.append(step if pair is None else pair)
        i += 1 if pair is None else 2
    return out


def _pair(first: Step, second: Step) -> Step | None:
    """The one step computing ``first`` then ``second``, which reads first's result; None where
    they are not a pair."""
    if second.grad != first.grad or second.amp != first.amp or second.kwargs:
        return None
    if first.fn is bn.batch_norm and second.fn == math_ops.Relu.apply and second.args == (Slot(first.outs),):
        # batch_norm_relu takes batch_norm's arguments
        return Step(bn.batch_norm_relu, first.args, first.kwargs, second.outs, first.grad, first.amp,
                    f"{first.name}+relu")
    node = getattr(second.fn, "__self__", None)  # MaxPool's graph node: max_pool2d's steps apply it
    if first.fn == math_ops.Relu.apply and not first.kwargs and isinstance(node, type) and \
            issubclass(node, window.MaxPool) and len(second.args) == 3 and second.args[0] == Slot(first.outs) \
            and second.args[1].pairs and second.args[2] is False:
        return Step(window.relu_max_pool, (first.args[0], second.args[1], node), None, second.outs, first.grad,
                    first.amp, f"relu+{second.name}")
    return None
