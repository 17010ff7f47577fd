"""Layout: a captured graph's 2-D convolutions computed channels-last (inductor's
``layout_optimization``, on by default as in PyTorch).

oneDNN's channels-last convolutions, batch norm's (N, L, C) kernels and the pools' NHWC
kernels run a CIFAR ResNet's training step faster than the row-major ops
(``docs/PERFORMANCE.md``). ``compute_channels_last(steps, inputs, output, meta)`` rewrites a
graph to compute that way, where that pays (``_gains``), while everything the user sees keeps
eager's layout:

- before each 2-D float32 convolution whose input is row-major (with more than one
  channel), a step copies the input channels-last; the convolution's result is then
  channels-last, and so is what the layout-keeping ops below make of it;
- before any other step that reads such a value, a step copies it back to row-major, so
  that step computes on what eager gave it (a ``view``, a ``flatten``, a linear layer); so
  does the call's result, where it would be channels-last.

The layout-keeping ops (``_KEEPING_CLASSES``, ``_KEEPING_FUNCTIONS``) take any strides and
lay their results out like their input: convolutions, batch norm, element-wise arithmetic and
activations, pooling, dropout, padding, interpolation, indexing, a concatenation of
channels-last values (a U-Net's skip connections); and every op that writes in place, which
writes wherever its target lives. Values are eager ember's up to float32 rounding (the
channels-last kernels add in another order); random draws are eager's.

A copy breaks the aliasing between a tensor and the views eager made of it. So a graph that
writes in place into a tensor (or a view of one) after a copy of it was made keeps its
layouts: a replay of the rewrite would not see that write where eager does. So does a graph
that would copy a value back to row-major and then channels-last again for a convolution:
the copies would cost more than the convolution gains.
"""
from __future__ import annotations

import numpy as np

from .. import _layout
from ..nn import functional as F
from ..ops import activation as a, elementwise as e, math as m, window
from ..ops.conv import Conv
from ..ops.indexing import getitem
from ..ops.join import cat
from .graph import Const, Nested, Slot, Step, slots_in

CL = "channels_last"
_WIDE = (16, 64)  # the input channels of the convolutions that gain from channels-last (_gains)


def layout_of(array) -> str | None:
    """A slot's layout in meta (capture.finish): "C" (row-major), CL (a dense 4-D array
    channels-last, not also row-major) or None (any other)."""
    if array.flags.c_contiguous:
        return "C"
    return CL if array.ndim == 4 and _layout.is_channels_last(array) else None


def compute_channels_last(steps: list, inputs: list, output, meta: list):
    """(steps, output, meta) rewritten as the module docstring says; the arguments as they are
    where no convolution is rewritten, or where a write in place would be missed."""
    if not _gains(steps, meta):
        return steps, output, meta
    new_meta = list(meta)  # each slot's (shape, dtype, array type, layout, alias group)
    moved = {}             # slot -> (grad, autocast) of its step: channels-last here, not in eager
    copies = {}            # (slot, grad, autocast) -> the slot of its copy in the other layout
    split = set()          # the alias groups that a copy was made of
    seen = set(inputs)
    returned = set()       # slots computed from a row-major copy
    out = []

    def copy(s: int, layout, grad, amp) -> int:
        key = (s, grad, amp)
        if key not in copies:
            copies[key] = len(new_meta)
            shape, dtype, kind, _, _ = new_meta[s]
            new_meta.append((shape, dtype, kind, layout, ("copy", key)))
            out.append(Step(_to_channels_last if layout == CL else _to_row_major, (Slot(s),), None,
                            copies[key], grad, amp, f"ember.compile>to {layout}"))
            split.add(new_meta[s][4])
        return copies[key]

    for step in steps:
        reads = set(slots_in((step.args, tuple((step.kwargs or {}).values()))))
        outs = _outs(step)
        writes = (outs & seen) | (reads if step.outs is None else set())
        seen |= outs
        if any(new_meta[s][4] in split for s in writes):
            return steps, output, meta  # a copy made before would miss this write
        if writes:  # in place: computed wherever its target lives
            out.append(step)
            continue
        conv_input = _row_major_conv_input(step, new_meta)
        if conv_input is not None:
            if conv_input in returned:
                return steps, output, meta  # a round trip: a copy back and forth between convolutions
            copy(conv_input, CL, step.grad, step.amp)
        # (cat is channels-last where all its operands are)
        if conv_input is not None or _keeps_layout(step) or (step.fn is cat and reads and all(
                s in moved or (s, step.grad, step.amp) in copies for s in reads)):
            # reads the channels-last copy of a row-major value where one was made
            twins = {s: copies[k] for s in reads - moved.keys() if (k := (s, step.grad, step.amp)) in copies}
            step = _renamed(step, twins)
            relabel = bool(twins or reads & moved.keys())
        else:
            if reads & moved.keys():
                step = _renamed(step, {s: copy(s, "C", step.grad, step.amp) for s in sorted(reads & moved.keys())})
                returned.update(outs)
            relabel = False
        if reads & returned:
            returned.update(outs)
        out.append(step)
        if relabel:
            _label(step, outs, new_meta, moved)
    back = {s: copy(s, "C", *moved[s]) for s in sorted(set(slots_in(output)) & moved.keys())}
    return out, _rename(output, back), new_meta


def _label(step: Step, outs: set, meta: list, moved: dict) -> None:
    """Mark the results of a layout-keeping step that read a channels-last value: dense
    results channels-last where that differs from row-major, an indexed view as moved."""
    for s in outs:
        shape = meta[s][0]
        if step.fn is getitem:
            layout = None
        elif len(shape) == 4 and shape[1] > 1 and shape[2] * shape[3] > 1:
            layout = CL
        else:
            continue  # one channel, or 1x1 planes: both layouts are one
        moved[s] = (step.grad, step.amp)
        meta[s] = meta[s][:3] + (layout, meta[s][4])


def _to_channels_last(t):
    return t.contiguous(memory_format=_layout.channels_last)


def _to_row_major(t):
    return t.contiguous()


def _outs(step: Step) -> set:
    outs = step.outs
    if outs is None:
        return set()
    return {outs} if type(outs) is int else {s for s in outs if s is not None}


def _row_major_conv_input(step: Step, meta: list):
    """The input slot of a 2-D float32 convolution step whose input is row-major with more
    than one channel, else None."""
    cls = getattr(step.fn, "__self__", None)
    if not isinstance(cls, type) or not issubclass(cls, Conv) or type(step.args[0]) is not Slot:
        return None
    s = step.args[0].i
    shape, dtype, kind, layout, _ = meta[s]
    if kind is not np.ndarray or dtype != np.float32 or layout != "C" or len(shape) != 4 or shape[1] < 2 \
            or shape[2] * shape[3] < 2 or type(step.outs) is not int:
        return None  # (one channel, or 1x1 planes: both layouts are one)
    return s


def _gains(steps: list, meta: list) -> bool:
    """Whether the rewrite pays: some convolution's input is rewritten, and most of the
    multiply-adds of the convolutions with a window wider than 1x1 are depthwise or read 16 to
    64 channels. A 1x1 convolution is a matrix product in either layout and counts for neither.

    Compiled training steps, rewritten against not, as fast as (2 cores, 32x32 images):
    ResNet-8 (3x3 over 16-64 channels) 1.16x and 1.26x, MobileNetV2 1.22x and 1.18x and
    EfficientNet-B0 1.07x and 1.05x (depthwise); LeNet-5 (5x5 over 1 and 6 channels) 0.93x,
    ResNet-18 0.85x and 0.87x, ResNet-50 0.89x and VGG-11 0.93x and 1.01x (3x3 over up to
    512 channels on planes down to 1x1)."""
    wide = total = 0
    for step in steps:
        s = _row_major_conv_input(step, meta)
        if s is None:
            continue
        weight = step.args[1]
        w_shape = meta[weight.i][0] if type(weight) is Slot else (weight.t if type(weight) is Const else weight).shape
        if w_shape[2] * w_shape[3] == 1:
            continue
        macs = int(np.prod(meta[step.outs][0])) * int(np.prod(w_shape[1:]))
        channels = meta[s][0][1]
        total += macs
        wide += macs if w_shape[1] == 1 or _WIDE[0] <= channels <= _WIDE[1] else 0
    return total > 0 and 2 * wide >= total


def _keeps_layout(step: Step) -> bool:
    cls = getattr(step.fn, "__self__", None)
    if isinstance(cls, type):
        return issubclass(cls, _KEEPING_CLASSES)
    return step.fn in _KEEPING_FUNCTIONS


# The Function classes and the functions whose results are laid out like their input
_KEEPING_CLASSES = (Conv, e.Add, e.Sub, e.Mul, e.Div, e.Neg, e.Pow, m._Unary, m.Relu, m.Clamp, a.LeakyRelu,
                    a.Hardtanh, a.Threshold, a.Hardsigmoid, a.Hardswish, a.Elu, a.Gelu, a.Silu, a.Softplus,
                    window.WindowGather, window.MaxPool)
_KEEPING_FUNCTIONS = frozenset(getattr(F, name) for name in (
    "relu", "relu6", "leaky_relu", "hardtanh", "silu", "gelu", "elu", "selu", "celu", "hardswish",
    "hardsigmoid", "mish", "softplus", "sigmoid", "tanh", "batch_norm", "dropout", "dropout2d", "pad",
    "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d", "interpolate")) | {getitem}


def _renamed(step: Step, names: dict) -> Step:
    kwargs = None if step.kwargs is None else {k: _rename(v, names) for k, v in step.kwargs.items()}
    return Step(step.fn, _rename(step.args, names), kwargs, step.outs, step.grad, step.amp, step.name)


def _rename(spec, names: dict):
    """``spec`` with each Slot(i) in ``names`` read as Slot(names[i])."""
    t = type(spec)
    if t is Slot:
        return Slot(names[spec.i]) if spec.i in names else spec
    if t is Nested:
        items = tuple((k, _rename(s, names)) for k, s in spec.items) if spec.kind is dict \
            else tuple(_rename(s, names) for s in spec.items)
        return Nested(spec.kind, items)
    if t is tuple or t is list:
        return t(_rename(s, names) for s in spec)
    return spec
