"""Capture: one eager run of a call that also records it as replay steps, or finds why it
cannot be replayed (a graph break).

While a capture runs, every op the call reaches from outside another op is one step: a
Function's apply, a Tensor method or property, a public function of ember's namespaces, or
a ``replayable`` method (an optimizer's step). Ops called inside a step belong to it. The
capture also watches for what a replay could not repeat, and breaks the graph on it:

- a tensor's values handed to Python (``item``, ``bool(t)``, ``tolist``, formatting...),
  which may steer the Python code;
- a tensor made outside any step (by code that computes on arrays directly) reaching a
  step or the result, since a replay would reuse that tensor instead of making it anew;
- random numbers drawn outside steps, which a replay would not draw;
- the shape of a tensor whose shape came from values (``nonzero``, ``unique``...) read
  into Python.

A step of an op whose Python only dispatches (``_LOWERED``) is recorded as the applies it
made instead, when nothing else happened inside it; tensors its Python made from its
constant arguments (a number as a 0-d tensor) are kept as constants of those applies.
"""
from __future__ import annotations

import os
import sys
import threading
import types
import weakref

import numpy as np

from .._tensor import Tensor
from ..amp import autocast_mode
from ..autograd import capture as hook
from ..autograd import function as _function
from ..autograd.grad_mode import state
from ..backend import random as _random
from .graph import Const, Slot, Step, build, slots_in, tensors_in
from .layout import layout_of

# Tensor methods that read metadata only: called through, never steps.
_METADATA = frozenset({
    "size", "dim", "ndimension", "numel", "nelement", "stride", "is_contiguous",
    "is_floating_point", "is_complex", "is_signed", "element_size", "storage_offset",
    "get_device", "__len__", "__hash__", "is_tensor", "is_storage", "is_same_size",
    "is_nonzero_size", "is_grad_enabled", "is_inference_mode_enabled", "is_autocast_enabled",
    "get_default_dtype", "result_type", "promote_types", "can_cast", "is_inference",
    "is_shared", "is_pinned", "is_set_to", "has_names", "dim_order",
})
# Tensor methods that hand a tensor's values to Python.
_READS = frozenset({
    "item", "tolist", "__bool__", "__float__", "__int__", "__index__", "__complex__", "numpy",
    "__array__", "__format__", "__repr__", "__str__", "data_ptr", "equal", "allclose",
    "is_nonzero", "__reduce_ex__", "__getstate__", "untyped_storage", "storage",
})
# Ops whose result's shape depends on their input's values.
_DATA_SHAPED = frozenset({"nonzero", "argwhere", "unique", "unique_consecutive", "masked_select",
                          "bincount", "repeat_interleave", "nonzero_static", "one_hot",
                          "tensor_split", "pack_padded_sequence", "pad_packed_sequence",
                          "pack_sequence"})
# Ops that hand Python as many pieces as a tensor's size: a shape read, when it came from values.
_COUNTS = frozenset({"__iter__", "unbind", "split", "chunk", "tensor_split"})
# Tensor internals that are parts of ops, never called by user code.
_INTERNAL = frozenset({"__init__", "__new__", "__init_subclass__", "__getattribute__", "__setattr__",
                       "__delattr__", "__dir__", "__sizeof__", "__class_getitem__", "_init", "_make",
                       "_wrap_dim", "_refresh_view", "_store", "_check_writeable",
                       "_check_inplace_allowed", "_scalar", "__deepcopy__", "__copy__",
                       "__torch_function__", "__array_priority__", "__weakref__"})
# Ops whose Python layer reads only metadata and its constant arguments, never values, and
# does all its work through Function.apply: a step of one of them replays as those applies,
# skipping the layer's dispatch (when the capture saw no random draw, in-place write or view
# outside the applies). Ops that take indices (embedding, gather, losses) check their values
# in Python and stay whole steps.
_LOWERED = frozenset({
    "linear", "conv1d", "conv2d", "relu", "gelu", "silu", "tanh", "sigmoid", "softmax",
    "log_softmax", "layer_norm", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "leaky_relu",
    "elu", "hardtanh", "softplus", "exp", "log", "sqrt", "neg", "pow", "sum", "mean", "matmul",
    "mm", "bmm", "add", "sub", "mul", "div", "__add__", "__radd__", "__sub__", "__rsub__",
    "__mul__", "__rmul__", "__truediv__", "__rtruediv__", "__matmul__", "__neg__", "__pow__",
})
# Tensor methods that write a tensor or its graph in place: an op calling one is not lowered.
_WRITES = frozenset({"_assign", "__setitem__", "copy_", "requires_grad_", "retain_grad",
                     "register_hook", "detach_", "data=", "requires_grad="})
# Properties that give or set tensors: steps.
_TENSOR_PROPERTIES = ("data", "T", "mT", "real", "imag")
# The namespaces whose public functions are steps (those imported already).
_NAMESPACES = ("ember", "ember.nn.functional", "ember.linalg", "ember.special", "ember.fft",
               "ember.autograd", "ember.nn.utils", "ember.nn.init", "ember.distributed")
_NOT_STEPS = frozenset({"compile", "is_compiling"})
# Namespace functions that set state later ops read (no tensors in or out): always steps.
_SETTERS = frozenset({"manual_seed", "seed", "set_rng_state", "set_default_dtype", "set_default_device",
                      "set_default_tensor_type", "use_deterministic_algorithms"})
_EMBER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


class Capture:
    """Records one call: ``start(inputs)``, run the call, ``stop()``, ``finish(result)``;
    then ``reason`` is None and ``steps``/``inputs``/``output`` describe a replayable graph,
    or ``reason`` and ``where`` say why it is not."""

    def __init__(self):
        self.steps: list[Step] = []
        self.values: list = []        # slot -> tensor (kept alive, so ids stay unique)
        self.slot_of: dict = {}       # id(tensor) -> slot
        self.born = weakref.WeakValueDictionary()  # tensors made during the call
        self.dynamic: set = set()     # slots whose shapes came from values
        self.seen: dict = {}          # tensors from before the call that steps used
        self.depth = 0                # > 0 inside a step
        self._lowering = None         # the applies of the running step, if it may be lowered
        self.reason = None
        self.where = None
        self.output = None
        self._used = False
        self._patches: list = []
        self._rng = None
        self._thread = threading.get_ident()  # ops of other threads are theirs, not the call's

    # ---- lifecycle ---------------------------------------------------------------------
    def start(self, inputs: list) -> None:
        self.inputs = [self._input(t) for t in inputs]
        self._rng = _random.default_generator.get_state()
        self._install()
        hook.TRACER = self
        _function.INTERCEPT = self

    def stop(self) -> None:
        hook.TRACER = None
        _function.INTERCEPT = None
        for owner, name, old in reversed(self._patches):
            setattr(owner, name, old)
        self._patches.clear()

    def finish(self, result) -> None:
        if self.reason is None and _random.default_generator.get_state() != self._rng:
            self.graph_break("random numbers were drawn outside ember's ops")
        self.output = build(result, lambda t: self._ref(t, "the result"))
        # each slot's (shape, dtype, array type, layout, alias group): what the layout and
        # fusion passes need of it (tensors that share a version counter alias one storage)
        self.meta = [(t._data.shape, t._data.dtype, type(t._data), layout_of(t._data), id(t._vc))
                     for t in self.values]
        self.values = []
        self.slot_of = {}
        self.born = None

    def graph_break(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
            self.where = "%s:%d" % user_frame()
            _function.INTERCEPT = None  # the rest of the call runs plainly

    # ---- steps -------------------------------------------------------------------------
    def record(self, cls, args: tuple):
        """Function.apply's entry while capturing."""
        if threading.get_ident() != self._thread or self.depth:
            # another thread's op (or one that slipped in while this thread's step runs):
            # run it unrecorded, pausing only its own thread, so that this thread's ops are
            # still recorded meanwhile, and the capture ends cleanly while the op runs on.
            with _function.unintercepted():
                return cls.apply(*args)
        return self.step(cls.apply, args, {}, cls.__name__)

    def step(self, fn, args: tuple, kwargs: dict, name: str, always: bool = False):
        """Run ``fn`` as one step and record it (when outside any other step); a step that
        touches no tensors is left out unless ``always`` (a replayable method's state)."""
        if self.depth or self.reason is not None or threading.get_ident() != self._thread:
            if self.depth == 1 and self._lowering is not None and _base(name) in _WRITES:
                self._lowering.ok = False
            return fn(*args, **kwargs)
        if any(isinstance(a, types.GeneratorType) for a in args):
            # a generator (model.parameters()) is read once: the step and its replays get a list
            args = tuple(list(a) if isinstance(a, types.GeneratorType) else a for a in args)
        self._used = False
        ref = lambda t: self._ref(t, name)  # noqa: E731
        spec_args = tuple(build(a, ref) for a in args)
        spec_kwargs = {k: build(v, ref) for k, v in kwargs.items()} or None
        if self.reason is None and _random.default_generator.get_state() != self._rng:
            self.graph_break(f"random numbers were drawn outside ember's ops before {name}")
        if self.dynamic and _base(name) in _COUNTS and args and isinstance(args[0], Tensor) \
                and self._slot(args[0]) in self.dynamic:
            self.graph_break(f"{name} reads a shape that came from tensor values")
        if self.reason is not None:
            return fn(*args, **kwargs)
        used = self._used
        grad, amp = state.enabled, autocast_mode.snapshot()
        lowering = _Lowering(self, (args, kwargs)) \
            if name.startswith(("Tensor.", "ember.")) and _base(name) in _LOWERED else None
        self.depth += 1
        self._lowering = lowering
        _function.INTERCEPT = lowering
        try:
            out = fn(*args, **kwargs)
        finally:
            self.depth -= 1
            self._lowering = None
            _function.INTERCEPT = self if self.reason is None else None
        self._rng = _random.default_generator.get_state()
        single = isinstance(out, Tensor)
        results = [out] if single else tensors_in(out, [])
        if not results:
            if used and out is not None and not _is_metadata(name) and _is_value(out):
                self.graph_break(f"{name} hands a value computed from tensors to Python")
            if not used and not always:
                return out  # pure Python: nothing a replay needs
        shaped = _shaped_by_values(name, args) or bool(
            self.dynamic and _reads_dynamic(spec_args + tuple((spec_kwargs or {}).values()), self.dynamic))
        if lowering is not None and self._lower(lowering, results, amp, name, shaped):
            return out
        outs = [self._define(t) for t in results]
        if shaped:
            self.dynamic.update(s for s in outs if s is not None)
        self.steps.append(Step(fn, spec_args, spec_kwargs, outs[0] if single else (outs or None),
                               grad, amp, name))
        return out

    def _lower(self, lowering: "_Lowering", results: list, amp, name: str, shaped: bool) -> bool:
        """Record the step as the applies it made, if they are all it did (their results
        have shapes from values when ``shaped``, as the step's would)."""
        made = {id(t) for _, _, out, _ in lowering.applies for t in tensors_in(out, [])}
        if not lowering.ok or not lowering.applies or _random.default_generator.get_state() != lowering.rng \
                or lowering.wrote():
            return False
        for _, _, out, _ in lowering.applies:
            if any(t._base is not None for t in tensors_in(out, [])):
                return False  # a view: its link to its base is the op's Python's doing
        for t in results:  # each result came from an apply, or is a tensor the op was given
            if id(t) not in made and self.born.get(id(t)) is t and self._slot(t) is None:
                return False
        for cls, args, out, grad in lowering.applies:
            spec = tuple(build(a, self._lowered_ref) for a in args)
            single = isinstance(out, Tensor)
            outs = [self._define(t) for t in ([out] if single else tensors_in(out, []))]
            if shaped:
                self.dynamic.update(s for s in outs if s is not None)
            self.steps.append(Step(cls.apply, spec, None, outs[0] if single else (outs or None),
                                   grad, amp, f"{name}>{cls.__name__}"))
        return True

    def _lowered_ref(self, t):
        s = self._slot(t)
        if s is not None:
            return Slot(s)
        if self.born.get(id(t)) is t:
            return Const(t)  # made by the op's Python from its constants
        self.seen[id(t)] = t
        return t

    def _slot(self, t):
        s = self.slot_of.get(id(t))
        return s if s is not None and self.values[s] is t else None

    def _input(self, t) -> int:
        s = self.slot_of.get(id(t))
        if s is None:
            s = len(self.values)
            self.values.append(t)
            self.slot_of[id(t)] = s
        return s

    def _define(self, t):
        s = self.slot_of.get(id(t))
        if s is not None and self.values[s] is t:
            return s
        if self.born.get(id(t)) is not t:
            return None  # a tensor from before the call, returned as it is
        s = len(self.values)
        self.values.append(t)
        self.slot_of[id(t)] = s
        return s

    def _ref(self, t, name: str):
        self._used = True
        s = self.slot_of.get(id(t))
        if s is not None and self.values[s] is t:
            return Slot(s)
        if self.born is not None and self.born.get(id(t)) is t:
            self.graph_break(f"{name} was given a tensor made outside ember's ops (by code "
                             "computing on arrays directly)")
            return t
        self.seen[id(t)] = t
        return t

    # ---- what the capture wraps while it runs -------------------------------------------
    def _patch(self, owner, name: str, new) -> None:
        self._patches.append((owner, name, owner.__dict__[name] if isinstance(owner, type)
                              else getattr(owner, name)))
        setattr(owner, name, new)

    def _install(self) -> None:
        cap = self
        make = Tensor.__dict__["_make"].__func__
        init = Tensor.__dict__["_init"]

        def made(*args, **kwargs):
            t = make(*args, **kwargs)
            if threading.get_ident() == cap._thread:
                cap.born[id(t)] = t
            return t

        def initialised(t, *args, **kwargs):
            init(t, *args, **kwargs)
            if threading.get_ident() == cap._thread:
                cap.born[id(t)] = t

        self._patch(Tensor, "_make", staticmethod(made))
        self._patch(_function, "_make", Tensor._make)
        self._patch(Tensor, "_init", initialised)
        for name, fn in list(vars(Tensor).items()):
            if isinstance(fn, types.FunctionType) and name not in _INTERNAL:
                self._patch(Tensor, name, self._wrap(fn, f"Tensor.{name}"))
        for name in _TENSOR_PROPERTIES:
            prop = vars(Tensor)[name]
            self._patch(Tensor, name, self._property(prop, f"Tensor.{name}"))
        grad = vars(Tensor)["grad"]  # a slot: its get and set as a property's
        self._patch(Tensor, "grad", self._property(property(grad.__get__, grad.__set__), "Tensor.grad"))
        requires = vars(Tensor)["requires_grad"]
        self._patch(Tensor, "requires_grad", property(
            requires.fget, lambda t, v: cap.step(requires.fset, (t, v), {}, "Tensor.requires_grad=")))
        shape = vars(Tensor)["shape"]
        self._patch(Tensor, "shape", property(lambda t: cap._metadata(shape.fget, (t,), "Tensor.shape")))
        for module_name in _NAMESPACES:
            module = sys.modules.get(module_name)
            if module is None:
                continue
            for name, fn in list(vars(module).items()):
                if (isinstance(fn, types.FunctionType) and not name.startswith("_")
                        and name not in _NOT_STEPS and fn.__module__.startswith("ember")):
                    self._patch(module, name, self._wrap(fn, f"{module_name}.{name}"))

    def _wrap(self, fn, qual: str):
        """``fn`` (a Tensor method or a namespace function) as the capture sees it: a read
        of values breaks the graph, a read of metadata is checked for shapes that came from
        values, anything else is a step."""
        cap, name = self, _base(qual)
        if name in _READS:
            def read(*args, **kwargs):
                if not cap.depth:
                    cap.graph_break(f"{qual} hands a tensor's values to Python")
                return fn(*args, **kwargs)
            return read
        if name in _METADATA:
            def metadata(*args, **kwargs):
                return cap._metadata(fn, args, qual, kwargs)
            return metadata

        always = name in _SETTERS

        def step(*args, **kwargs):
            return cap.step(fn, args, kwargs, qual, always)
        return step

    def _property(self, prop: property, qual: str) -> property:
        cap = self
        fset = None if prop.fset is None else (lambda t, v: cap.step(prop.fset, (t, v), {}, qual + "="))
        return property(lambda t: cap.step(prop.fget, (t,), {}, qual), fset)

    def _metadata(self, fn, args: tuple, qual: str, kwargs=None):
        if self.dynamic and not self.depth and self.reason is None:
            if any(isinstance(a, Tensor) and self._slot(a) in self.dynamic for a in args):
                self.graph_break(f"{qual} reads a shape that came from tensor values")
        return fn(*args, **(kwargs or {}))


class _Lowering:
    """Function.apply's entry while a lowerable step runs: records the applies the step
    makes itself (those inside an apply belong to it), and whether random numbers were drawn
    between them."""

    def __init__(self, cap: Capture, arguments):
        self.cap = cap
        self.applies: list = []  # (Function class, args, result, grad mode)
        self.ok = True
        self.rng = _random.default_generator.get_state()
        self.given = [(t, _state_of(t)) for t in tensors_in(arguments, [])]

    def wrote(self) -> bool:
        """Whether the step changed a tensor it was given (an ``out=``): writes an op's
        Python makes are not in its applies."""
        return any(_state_of(t) != before for t, before in self.given)

    def record(self, cls, args: tuple):
        if threading.get_ident() != self.cap._thread:
            return self.cap.record(cls, args)
        if _random.default_generator.get_state() != self.rng:
            self.ok = False
        grad = state.enabled
        with _function.unintercepted():
            out = cls.apply(*args)
        self.rng = _random.default_generator.get_state()
        self.applies.append((cls, args, out, grad))
        return out


def _state_of(t) -> tuple:
    """What a write to ``t`` changes: its storage, version (counter and count), graph node."""
    return id(t._data), id(t._vc), t._vc[0], t._requires_grad, id(t._grad_fn)


def _base(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _is_metadata(name: str) -> bool:
    return _base(name) in _METADATA


def _is_value(out) -> bool:
    """A Python or NumPy number, or a list of them: what values of tensors become."""
    return isinstance(out, (bool, int, float, complex, np.generic, np.ndarray, list))


def _reads_dynamic(specs, dynamic: set) -> bool:
    return any(i in dynamic for i in slots_in(specs))


def _shaped_by_values(name: str, args: tuple) -> bool:
    """Whether the op's result may have a shape that came from tensor values: an op of
    ``_DATA_SHAPED``, ``where(condition)``, ``t[mask]``, or a size or count given as an
    integer tensor (``arange(n)``, ``x.view(n, -1)``) after the first argument."""
    base = _base(name)
    if base in _DATA_SHAPED or (base == "where" and len(args) == 1):
        return True
    if base == "__getitem__" and len(args) > 1:
        items = args[1] if isinstance(args[1], tuple) else (args[1],)
        if any(isinstance(i, Tensor) and i._data.dtype == np.bool_ for i in items):
            return True
    rest = tensors_in(args[1:], []) if name.startswith("Tensor.") else tensors_in(args, [])
    return any(t._data.ndim == 0 and t._data.dtype.kind in "iu" for t in rest)


def user_frame() -> tuple:
    """(file, line) of the innermost frame outside ember: where the user's code is."""
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_EMBER_DIR):
        frame = frame.f_back
    return (frame.f_code.co_filename, frame.f_lineno) if frame is not None else ("ember", 0)
