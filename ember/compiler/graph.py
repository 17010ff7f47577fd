"""A captured call as data, and its replay.

A call's tensors live in numbered slots: the call's tensor inputs first, then each step's
tensor results. A step is one whole op (a Function's apply, a Tensor method, a public
function) with its arguments written as specs: ``Slot(i)`` for a slot's tensor, ``Nested``
for a list, tuple or dict holding some, ``Const`` for a tensor an op lowered to its
primitives made from its constants, and the value itself for everything else (numbers,
shapes, dtypes, and tensors that existed before the call: parameters, buffers). Replaying
runs the steps in order on the new inputs' tensors, with the grad and autocast modes each
step saw; nothing else of the Python code that made them runs again.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..amp import autocast_mode
from ..autograd.grad_mode import state
from ..backend.device import xp_of


class Slot:
    __slots__ = ("i",)

    def __init__(self, i: int):
        self.i = i

    def __eq__(self, other):
        return type(other) is Slot and other.i == self.i

    def __hash__(self):
        return self.i

    def __repr__(self):
        return f"Slot({self.i})"


class Const:
    """A tensor an op made for itself from its constant arguments (a number as a 0-d tensor),
    kept by a step lowered to that op's primitives: every replay uses the same tensor, and
    two captures agree when its values do."""
    __slots__ = ("t",)

    def __init__(self, t):
        self.t = t

    def __eq__(self, other):
        return type(other) is Const and same(self.t._data, other.t._data)

    __hash__ = None


class Nested:
    """A container with slot references inside: rebuilt at each replay."""
    __slots__ = ("kind", "items")

    def __init__(self, kind, items):
        self.kind = kind      # tuple, list, dict, or a namedtuple class
        self.items = items    # specs (for a dict: (key, spec) pairs)

    def __eq__(self, other):
        return type(other) is Nested and other.kind is self.kind and same(other.items, self.items)

    __hash__ = None


def build(value, ref):
    """The spec of ``value``; ``ref(tensor)`` gives each tensor's Slot (or the tensor itself
    when it existed before the call)."""
    t = type(value)
    if isinstance(value, Tensor):
        return ref(value)
    if t is tuple or t is list or (isinstance(value, tuple) and hasattr(value, "_fields")):
        items = [build(v, ref) for v in value]
        if any(type(s) in (Slot, Nested, Const) for s in items):
            return Nested(t, tuple(items))
        return value
    if t is dict:
        items = tuple((k, build(v, ref)) for k, v in value.items())
        if any(type(s) in (Slot, Nested, Const) for _, s in items):
            return Nested(dict, items)
        return value
    return value


def resolve(spec, slots):
    t = type(spec)
    if t is Slot:
        return slots[spec.i]
    if t is Const:
        return spec.t
    if t is not Nested:
        return spec
    kind = spec.kind
    if kind is dict:
        return {k: resolve(s, slots) for k, s in spec.items}
    items = [resolve(s, slots) for s in spec.items]
    if kind is tuple:
        return tuple(items)
    if kind is list:
        return items
    return kind(*items)  # a namedtuple


def _metadata(tensors: list) -> list:
    return [(t._data.shape, t._data.dtype) for t in tensors]


def tensors_in(value, out: list) -> list:
    """The tensors of ``value`` (nested in lists, tuples and dicts), in a fixed order."""
    if isinstance(value, Tensor):
        out.append(value)
    elif isinstance(value, (tuple, list)):
        for v in value:
            tensors_in(v, out)
    elif type(value) is dict:
        for v in value.values():
            tensors_in(v, out)
    return out


def slots_in(spec):
    """The slot numbers a spec names (in its containers too), in order."""
    t = type(spec)
    if t is Slot:
        yield spec.i
    elif t is Nested:
        for s in spec.items:
            yield from slots_in(s[1] if spec.kind is dict else s)
    elif t is tuple or t is list:
        for s in spec:
            yield from slots_in(s)


def last_reads(steps: list, output) -> dict:
    """Slot -> the index of the last step that reads it (``len(steps)`` for the result's): what
    the fusion passes ask before they let a value go unwritten."""
    last = {}
    for i, step in enumerate(steps):
        for s in slots_in((step.args, tuple((step.kwargs or {}).values()))):
            last[s] = i
    for s in slots_in(output):
        last[s] = len(steps)
    return last


def same(a, b) -> bool:
    """Whether two specs say the same thing: slots by number, tensors that existed before
    the call by identity, arrays by value, everything else by equality (nan equal to nan)."""
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return a is b
    if type(a) is not type(b):
        return False
    if type(a) in (tuple, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if type(a) is dict:
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if hasattr(a, "__array__") and hasattr(a, "dtype") and hasattr(a, "shape"):  # NumPy/CuPy arrays and scalars
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        xp = np if isinstance(a, (np.ndarray, np.generic)) else xp_of(a)  # CuPy's stay on the GPU
        return bool(xp.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if type(a) is float and a != a:
        return b != b
    try:
        return bool(a == b)
    except Exception:  # an object without a truthful ==: only itself is the same
        return a is b


class Step:
    __slots__ = ("fn", "args", "kwargs", "outs", "grad", "amp", "name")

    def __init__(self, fn, args, kwargs, outs, grad, amp, name):
        self.fn, self.args, self.kwargs, self.outs = fn, args, kwargs, outs
        self.grad, self.amp, self.name = grad, amp, name

    def same_as(self, other: "Step") -> bool:
        return (self.fn == other.fn and self.outs == other.outs and self.grad == other.grad
                and self.amp == other.amp and same(self.args, other.args)
                and same(self.kwargs, other.kwargs))

    def plan(self) -> tuple:
        """The step as a replay reads it: the argument positions that hold slots (with the
        slot's number, or the spec of a container of them) are the only ones filled in."""
        fill = tuple((i, s.i if type(s) is Slot else s) for i, s in enumerate(self.args)
                     if type(s) in (Slot, Nested))
        args = tuple(s.t if type(s) is Const else s for s in self.args)
        return self.fn, args, fill, self.kwargs, self.outs, self.grad, self.amp


class Graph:
    """Replays a captured call: ``run(tensors)`` with the call's tensor inputs, in order."""

    def __init__(self, steps: list, inputs: list, size: int, output, external: list,
                 meta: list | None = None, channels_last: bool = False):
        if meta is not None:
            # convolutions channels-last (layout.py), batch norm + ReLU pairs, then element-wise
            # runs, fused (pairs.py, fusion.py)
            from .fusion import fuse
            from .layout import compute_channels_last
            from .pairs import fuse_pairs
            if channels_last:
                steps, output, meta = compute_channels_last(steps, inputs, output, meta)
                size = max(size, len(meta))
            steps = fuse(fuse_pairs(steps, output), meta, output)
        self.steps = steps
        self.inputs = inputs    # the input slots, in the order of the call's tensors
        self.size = size
        self.output = output    # the spec of the call's result
        self._plan = [step.plan() for step in steps]
        # the tensors from outside the call the steps use (parameters, buffers), and their
        # shapes and dtypes then: a tensor resized in place since makes the graph stale
        self.external = external
        self._metadata = _metadata(external)

    def stale(self) -> bool:
        """Whether a tensor the steps use from outside the call changed shape or dtype."""
        return _metadata(self.external) != self._metadata

    def run(self, tensors: list):
        slots = [None] * self.size
        for i, t in zip(self.inputs, tensors):
            slots[i] = t
        grad0 = grad = state.enabled
        amp0 = amp = autocast_mode.snapshot()
        try:
            for fn, args, fill, kwargs, outs, step_grad, step_amp in self._plan:
                if step_grad is not grad:
                    state.enabled = grad = step_grad
                if step_amp != amp:
                    autocast_mode.restore(step_amp)
                    amp = step_amp
                if fill:
                    args = list(args)
                    for i, s in fill:
                        args[i] = slots[s] if type(s) is int else resolve(s, slots)
                if kwargs is None:
                    out = fn(*args)
                else:
                    out = fn(*args, **{k: resolve(v, slots) for k, v in kwargs.items()})
                if outs is None:
                    continue
                if type(outs) is int:
                    slots[outs] = out
                else:
                    for i, t in zip(outs, tensors_in(out, [])):
                        if i is not None:
                            slots[i] = t
        finally:
            if grad is not grad0:
                state.enabled = grad0
            if amp != amp0:
                autocast_mode.restore(amp0)
        return resolve(self.output, slots)
