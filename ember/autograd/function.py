"""Function: a differentiable op and, once applied, its node in the autograd graph.

Built-in primitives receive tensors in ``forward``, compute on their backend arrays
(``t._data``) and return an array; user-defined Functions may instead compute with
tensor ops and return a tensor, as in PyTorch (forward runs without recording).
``backward`` receives and returns tensors, so gradients are themselves
differentiable when ``create_graph=True``.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager

from ..backend.compat import as_array, loud, quiet
from ..backend.dtypes import is_floating_array
from .grad_mode import state
from .node_names import node_name

_FREED = None  # marks saved tensors released after backward


def _check_devices(cls, args: tuple) -> None:
    """PyTorch's error when an op's tensors live on different devices. Checked only once a
    forward has failed, so the common case pays nothing."""
    devices = list(dict.fromkeys(a.device for a in args if isinstance(a, Tensor)))
    if len(devices) > 1:
        raise RuntimeError(
            f"Expected all tensors to be on the same device, but found at least two devices, "
            f"{devices[0]} and {devices[1]}! ({cls.__name__}) Move them to one device with .to(device).")


class Function:
    """Base class of every differentiable op (``torch.autograd.Function``).

    Subclasses define ``forward(ctx, *args)`` and ``backward(ctx, *grads)`` as static
    methods and are called through ``apply``. The instance is the ``ctx`` both receive
    and, when a graph is recorded, the node that ``tensor.grad_fn`` points to.
    """

    _saved = ()            # resolved saved tensors; _FREED after backward releases them
    _to_save = ()
    _edges = ()            # per argument: (next node or leaf tensor, output_nr, shape, dtype);
                           # None for a tensor that needs no grad, False for a non-tensor
    _out_hooks = None      # output_nr -> hooks registered on non-leaf tensors
    _retained = None       # output_nr -> weakref of a tensor that called retain_grad()
    _materialize = True
    fuse_backward = None   # a node's backward run together with its sole producer's (engine.py)
    _non_diff_objs = None  # outputs forward marked non-differentiable, until they are resolved
    needs_input_grad = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "_node" not in cls.__dict__:  # not itself a node class (node_class defines _node)
            cls._node = node_class(cls, node_name(cls))

    @classmethod
    def node(cls, name: str) -> type:
        """The node class of this op named ``name`` (PyTorch's name for the overload that
        reuses this primitive, e.g. mean is a Sum that says MeanBackward0)."""
        key = (cls, name)
        if key not in _NAMED:
            _NAMED[key] = node_class(cls, name)
        return _NAMED[key]

    @classmethod
    def apply(cls, *args):
        if INTERCEPT is not None and not _paused.on:  # the only cost of profiling and capture when neither runs
            return INTERCEPT.record(cls, args)
        for a in args:  # grad mode (thread-local, the dearest read) only once a tensor asks
            if isinstance(a, Tensor):
                if a._base is not None and a._vc[0] != a._view_version and state.enabled:
                    a._refresh_view()  # a view whose base changed in place: re-derived first
                if a._requires_grad and state.enabled:
                    return _new(cls._node)._record(args)
        # Nothing to differentiate: run forward and wrap, the path every no_grad op takes.
        ctx = _new(cls._node)
        ctx.needs_input_grad = _NO_GRADS[len(args)] if len(args) < 8 else (False,) * len(args)
        token = quiet()
        try:
            out = cls.forward(ctx, *args)
        except TypeError:  # CuPy refuses NumPy operands: name the devices instead
            _check_devices(cls, args)
            raise
        finally:
            loud(token)
        if type(out) is tuple:
            return tuple(_make(o._data if isinstance(o, Tensor) else o) for o in out)
        return _make(out._data if isinstance(out, Tensor) else out)

    def _record(self, args: tuple):
        """Run forward with recording off and make this node the outputs' grad_fn."""
        edges = []
        needs = []
        for a in args:
            if not isinstance(a, Tensor):
                edges.append(False)
                needs.append(False)
                continue
            if a._base is not None and a._vc[0] != a._view_version:
                a._refresh_view()
            if a._requires_grad:
                fn = a._grad_fn
                edges.append((fn if fn is not None else a, a._output_nr, a._data.shape, a._data.dtype))
                needs.append(True)
            else:
                edges.append(None)
                needs.append(False)
        self._edges = tuple(edges)
        self.needs_input_grad = tuple(needs)
        state.enabled = False
        token = quiet()
        try:
            out = type(self).forward(self, *args)
        except TypeError:
            _check_devices(type(self), args)
            raise
        finally:
            state.enabled = True
            loud(token)

        if type(out) is not tuple:  # one output, the common case, without the loop below
            result = self._output(out, 0)
            if self._to_save or self._non_diff_objs is not None:
                self._resolve_saved((result,), (out,))
            return result
        results = [self._output(o, i) for i, o in enumerate(out)]
        self._out_meta = [(r._data.shape, r._data.dtype) for r in results]
        self._resolve_saved(results, out)
        return tuple(results)

    def _output(self, o, i: int):
        """Output ``i`` as a tensor: of this node when floating or complex (differentiable)."""
        arr = o._data if isinstance(o, Tensor) else o
        kind = arr.dtype.kind
        if kind == "f" or kind == "c" or is_floating_array(arr.dtype):
            return _make(arr, True, self, i)
        return _make(arr)

    # ---- what forward() may call -------------------------------------------------
    def save_for_backward(self, *tensors) -> None:
        """Keep tensors (or arrays) for backward; in-place changes to them are detected."""
        self._to_save = tensors

    def mark_non_differentiable(self, *outputs) -> None:
        """Outputs (by identity, as returned from forward) that get no gradient."""
        self._non_diff_objs = outputs

    def set_materialize_grads(self, value: bool) -> None:
        """With False, backward receives None (not zeros) for outputs that got no gradient."""
        self._materialize = value

    def mark_dirty(self, *tensors) -> None:
        """Accepted for PyTorch compatibility; ember detects in-place changes by version."""

    # ---- what backward() may read ------------------------------------------------
    @property
    def saved_tensors(self) -> tuple:
        saved = self._saved
        if saved is _FREED:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved "
                "tensors after they have already been freed). Saved intermediate values of the "
                "graph are freed when you call .backward() or autograd.grad(). Specify "
                "retain_graph=True if you need to backward through the graph a second time or "
                "if you need to access saved tensors after calling backward.")
        out = []
        for t, counter, version in saved:
            if t is None:
                out.append(None)
                continue
            if isinstance(t, int):  # an output of this node: re-attached so double backward sees it
                t = Tensor._make(self._out_arrays[t], True, self, t)
            elif type(t) is PACKED_TYPE:  # saved while saved-tensor hooks were active
                t = t.unpack(self)
            if counter is not None and counter[0] != version:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by an "
                    f"inplace operation: [{t.dtype} {list(t.shape)}], which is saved by "
                    f"{self.name()}, is at version {counter[0]}; expected version {version} "
                    "instead. Hint: use .clone() before the in-place operation, or do it out of "
                    "place (x = x * 2 instead of x *= 2).")
            out.append(t)
        return tuple(out)

    # ---- graph-node interface ----------------------------------------------------
    def name(self) -> str:
        return type(self).__name__

    @property
    def next_functions(self) -> tuple:
        out = []
        for e in self._edges:
            if e is False:
                continue
            if e is None:
                out.append((None, 0))
            elif isinstance(e[0], Tensor):
                out.append((AccumulateGrad(e[0]), 0))
            else:
                out.append((e[0], e[1]))
        return tuple(out)

    def register_hook(self, hook):
        raise NotImplementedError("Node.register_hook: register hooks on tensors (tensor.register_hook)")

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self))}>"

    def _resolve_saved(self, results, raw_outputs) -> None:
        to_save, self._to_save = self._to_save, ()
        non_diff = self._non_diff_objs
        if non_diff is not None:
            del self._non_diff_objs
            for i, r in enumerate(results):
                if any(r._data is (o._data if isinstance(o, Tensor) else o) for o in non_diff):
                    r._requires_grad, r._grad_fn = False, None
        if not to_save:
            return
        # outputs are found by identity with what forward returned (a 0-d result may have been
        # a NumPy scalar)
        raw = [o._data if isinstance(o, Tensor) else o for o in raw_outputs]
        saved = []
        for x in to_save:
            if x is None:
                saved.append((None, None, 0))
                continue
            arr = x._data if isinstance(x, Tensor) else x
            idx = None
            for i, o in enumerate(raw):
                if o is arr:
                    idx = i
                    break
            if idx is not None and results[idx]._grad_fn is self:
                self._out_arrays = [r._data for r in results]
                counter = results[idx]._vc
                saved.append((idx, counter, counter[0]))
            elif isinstance(x, Tensor):
                saved.append((x, x._vc, x._vc[0]))
            else:
                saved.append((Tensor._make(as_array(x)), None, 0))
        self._saved = tuple(saved) if SAVED_HOOKS is None else SAVED_HOOKS.pack(self, saved, results)

    def _keep_value_of(self, t) -> None:
        """``t``, saved by this node, is about to be overwritten in place by this node's own
        result: save a copy of its current value instead, in t's place in the graph, as
        PyTorch does for in-place ops that need the old value."""
        if any(s[0] is t for s in self._saved):
            copy = Tensor._make(t._data.copy(), t._requires_grad, t._grad_fn, t._output_nr)
            self._saved = tuple((copy, None, 0) if s[0] is t else s for s in self._saved)
        elif any(type(s[0]) is PACKED_TYPE for s in self._saved):
            self._saved = tuple(s[0].keep_value_of(t, s) if type(s[0]) is PACKED_TYPE else s
                                for s in self._saved)

    def _release(self) -> None:
        if self._saved:
            self._saved = _FREED
            self.__dict__.pop("_out_arrays", None)

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError("a Function subclass must define forward(ctx, *args)")

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("a Function subclass must define backward(ctx, *grads)")


class AccumulateGrad:
    """The node a leaf tensor's gradient flows into (seen in ``next_functions``)."""

    def __init__(self, variable):
        self.variable = variable

    def name(self) -> str:
        return "AccumulateGrad"

    next_functions = ()

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {hex(id(self))}>"


def node_class(cls: type, name: str) -> type:
    """The class of ``cls``'s graph nodes: ``cls`` itself under PyTorch's node name, so
    ``type(t.grad_fn).__name__`` and ``t.grad_fn.name()`` read "MulBackward0" while the op
    keeps its own name (a user's ``MyFn`` makes ``MyFnBackward`` nodes, as in PyTorch)."""
    node = type(cls)(name, (cls,), {"_node": None, "__module__": cls.__module__,
                                    "__qualname__": name})
    node._node = node
    return node


_NO_GRADS = tuple((False,) * n for n in range(8))
_NAMED: dict = {}
_new = object.__new__

# What sees every apply while it is set: the active autograd profiler (timing each op) or
# ember.compile's capture (recording each op as a replay step); None otherwise.
INTERCEPT = None


class _Paused(threading.local):
    on = False


_paused = _Paused()


@contextmanager
def unintercepted():
    """This thread's applies run plainly within the block (an op the interceptor runs itself,
    or another thread's op while a capture records): a pause of the thread, never a change of
    INTERCEPT, which another thread could restore after the interceptor has finished."""
    was, _paused.on = _paused.on, True
    try:
        yield
    finally:
        _paused.on = was


# The innermost active saved_tensors_hooks (ember.autograd.graph sets it), and the type of
# the entries it packs; while None, saving for backward is untouched.
SAVED_HOOKS = None
PACKED_TYPE = None

# Bound by ember/_tensor.py once Tensor exists (the two modules need each other).
Tensor = None
_make = None
