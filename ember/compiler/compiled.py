"""A compiled callable: guards, the cache of captured graphs, and when to replay.

For each guard key (the shapes, dtypes, devices and requires_grad of the tensor inputs,
the other arguments, grad and autocast modes, the default dtype, the globals and closure
variables the code reads, and, for a module, the identity of every attribute, parameter,
buffer and submodule in its tree) a call goes through three stages:

1. the first call runs eagerly while a capture records it;
2. the second call runs eagerly and is captured again; the two captures must agree step
   for step (same ops, same constants), which catches constants that came from tensor
   values or Python state behind the ops' backs;
3. from the third call on, the graph replays.

A capture that cannot be replayed (a graph break) or two that disagree leave that key
eager for good, with a one-line warning (an error with ``fullgraph=True``). Results are
eager ember's: a replay runs the same ops in the same order, random draws included (a CNN's
on its input laid out channels-last: ``layout.py``).
"""
from __future__ import annotations

import types
import warnings
import weakref
from itertools import chain, count
from operator import is_

from .._tensor import Tensor
from ..amp import autocast_mode
from ..autograd import capture as hook
from ..autograd import function as _function
from ..autograd.grad_mode import state
from ..backend import dtypes
from ..nn.modules.module import Module
from .capture import Capture, user_frame
from .graph import Graph

# How many guard keys one compiled callable keeps (PyTorch's cache_size_limit).
CACHE_SIZE_LIMIT = 8
ALL: list = []  # weak references to every compiled callable, for reset()


class Entry:
    __slots__ = ("graph", "first", "reason", "keep")

    def __init__(self, keep):
        self.graph = None   # the replayable graph (stage 3)
        self.first = None   # the first capture's steps, awaiting the second (stage 2)
        self.reason = None  # why this key runs eagerly
        self.keep = keep    # the objects the key names by id, kept alive so ids stay unique


class Compiled:
    """``fn`` compiled: call it as ``fn``. ``module`` is the module whose call ``fn`` is."""

    def __init__(self, fn, module=None, fullgraph: bool = False, name: str | None = None,
                 limit: int | None = None, fuse: bool = True, channels_last: bool = True):
        self.fn = fn
        self.fuse = fuse
        self.channels_last = channels_last
        self.module = module
        self.fullgraph = fullgraph
        self.name = name or getattr(fn, "__qualname__", type(fn).__name__)
        self.cache: dict = {}
        self.trees: dict = {}  # id -> _Tree of the modules the guard keys name (kept with this callable)
        self.tree = None if module is None else _Tree(module)
        self.free = _free_reads([fn])  # the globals and closure cells the code reads
        # a bound method's object (not a module: a module is guarded as ``tree``)
        self.bound = None if module is not None else getattr(fn, "__self__", None)
        self._warned = False
        self.limit = limit  # None: CACHE_SIZE_LIMIT, read at each new signature
        ALL.append(weakref.ref(self))

    def __call__(self, *args, **kwargs):
        if hook.TRACER is not None or _function.INTERCEPT is not None:
            return self.fn(*args, **kwargs)  # inside another capture, or profiled
        tree = self.tree
        if tree is not None:
            version = tree.state()
            if any(tree.hooks):
                return self.fn(*args, **kwargs)  # hooks are Python that must run on every call
        tensors, keep = [], Kept(self.trees)
        key = (_arguments(args, kwargs, tensors, keep), state.enabled, autocast_mode.snapshot(),
               dtypes.get_default_dtype(),
               tuple(_describe(_value(s, n), keep) for s, n in self.free),
               None if self.bound is None else _describe(self.bound, keep))
        if tree is not None:
            key += tuple(_describe(_value(s, n), keep) for s, n in tree.free),
        if tree is not None:
            keep.append(tree.objects)
            key += (version,)
        entry = self.cache.get(key)
        if entry is not None:
            if entry.graph is not None and not entry.graph.stale():
                return entry.graph.run(tensors)
            if entry.graph is not None:  # a parameter resized in place: capture again
                entry.graph = None
            if entry.reason is not None:
                return self.fn(*args, **kwargs)
        elif len(self.cache) >= (self.limit or CACHE_SIZE_LIMIT):
            self._notice(f"more than {self.limit or CACHE_SIZE_LIMIT} input signatures (shapes, dtypes, modes)",
                         None, log_only=True)
            return self.fn(*args, **kwargs)
        else:
            entry = self.cache[key] = Entry(keep)
        return self._capture(entry, args, kwargs, tensors)

    def _capture(self, entry: Entry, args, kwargs, tensors):
        tree = self.tree
        cap = Capture()
        before = None if tree is None else _tree_snapshot(tree)
        cap.start(tensors)
        try:
            result = self.fn(*args, **kwargs)
        except BaseException:
            cap.stop()
            self.cache = {k: e for k, e in self.cache.items() if e is not entry}
            raise
        cap.stop()
        if before is not None and cap.reason is None:
            _check_tree(cap, tree, before)
        cap.finish(result)
        if cap.reason is not None:
            entry.reason = cap.reason
            self._notice(cap.reason, cap.where)
        elif entry.first is None:
            entry.first = cap
        else:
            diff = _difference(entry.first, cap)
            if diff is not None:
                entry.reason = diff
                self._notice(diff, None)
            else:
                entry.graph = graph_of(cap, self.fuse, self.channels_last)
            entry.first = None
        return result

    def _notice(self, reason: str, where, log_only: bool = False) -> None:
        at = f" (at {where})" if where else ""
        message = f"ember.compile: {self.name} runs eagerly for these inputs: {reason}{at}"
        if self.fullgraph and not log_only:
            raise RuntimeError(message + ". fullgraph=True asks for one graph with no breaks; "
                               "remove the cause, or compile without fullgraph=True.")
        if not self._warned or log_only:
            self._warned = True
            filename, lineno = user_frame()
            warnings.warn_explicit(message, UserWarning, filename, lineno)

    def reset(self) -> None:
        self.cache.clear()
        self.trees.clear()
        self._warned = False


def graph_of(cap: Capture, fuse: bool, channels_last: bool = False) -> Graph:
    """The replayable graph of a finished capture, its element-wise runs fused with ``fuse``,
    its convolutions computed channels-last with ``fuse`` and ``channels_last`` (layout.py)."""
    return Graph(cap.steps, cap.inputs, _size(cap), cap.output, list(cap.seen.values()), cap.meta if fuse else None,
                 channels_last)


def _size(cap: Capture) -> int:
    """The number of slots a replay needs: one past the highest slot any spec names."""
    top = max(cap.inputs, default=-1)
    for step in cap.steps:
        outs = step.outs
        if type(outs) is int:
            top = max(top, outs)
        elif outs:
            top = max([top] + [s for s in outs if s is not None])
    return top + 1


def _difference(first: Capture, second: Capture):
    """Why two captures of one key disagree, or None."""
    if len(first.steps) != len(second.steps):
        return (f"the calls ran different ops ({len(first.steps)} and {len(second.steps)} steps): "
                "its Python code depends on something other than the inputs' shapes")
    for k, (a, b) in enumerate(zip(first.steps, second.steps)):
        if not a.same_as(b):
            return (f"step {k} ({b.name}) got different arguments on two calls: a constant came "
                    "from tensor values or Python state that the guards do not see")
    if first.inputs != second.inputs:
        return "the inputs alias each other differently"
    from .graph import same
    if not same(first.output, second.output):
        return "the calls returned different structures or constants"
    return None


def _arguments(args: tuple, kwargs: dict, tensors: list, keep: Kept):
    """A hashable description of a call's arguments; their tensors go to ``tensors``."""
    if not kwargs and all(type(a) is Tensor for a in args) and len(set(map(id, args))) == len(args):
        tensors.extend(args)  # the common call: distinct plain tensors
        return tuple(map(_tensor_key, args))
    return _key((args, kwargs), tensors, keep)


def _tensor_key(t) -> tuple:
    data = t._data
    return (type(t), data.shape, data.dtype, type(data), t._requires_grad, data.flags.c_contiguous,
            t._base is not None)


def _key(value, tensors: list, keep: Kept):
    if isinstance(value, Tensor):
        for i, t in enumerate(tensors):
            if t is value:
                return ("alias", i)
        tensors.append(value)
        return _tensor_key(value)
    t = type(value)
    if t in _PLAIN:
        return _plain_key(value)
    if t in (tuple, list) or (isinstance(value, tuple) and hasattr(value, "_fields")):
        return (t,) + tuple(_key(v, tensors, keep) for v in value)
    if t is dict:
        return (dict,) + tuple((k, _key(v, tensors, keep)) for k, v in value.items())
    if isinstance(value, (dtypes.dtype, slice)) or t.__name__ == "device":
        return (t, repr(value))
    if isinstance(value, Module):
        return _module_key(value, keep)
    return _object_key(value, keep)


_PLAIN = (int, float, bool, str, complex, type(None))


def _plain_key(value) -> tuple:
    return (type(value), value) if value == value else (type(value), "nan")


def _object_key(value, keep: Kept) -> tuple:
    """An object by identity and, for a user's own object (a config, an argparse Namespace,
    a trainer), the numbers and strings it holds and its modules' trees, so that a changed
    setting or ``model.eval()`` is not frozen into a graph.
    ember's objects (optimizers, schedulers, scalers) replay through their methods, which
    read their state afresh: by identity only."""
    keep.append(value)
    attrs = getattr(value, "__dict__", None)
    if type(attrs) is not dict or type(value).__module__.startswith("ember") \
            or isinstance(value, (type, types.ModuleType, types.FunctionType)):
        return ("object", id(value))
    return ("object", id(value)) + tuple(
        (k, _plain_key(v) if type(v) in _PLAIN else _module_key(v, keep))
        for k, v in attrs.items() if type(v) in _PLAIN or isinstance(v, Module))


class Kept(list):
    """What a guard key names by identity, kept alive with its cache entry so that no id is
    reused; ``trees`` is the compiled callable's cache of module trees (``_module_key``), or
    None (a key made once: the tree is walked)."""
    __slots__ = ("trees",)

    def __init__(self, trees: dict | None = None):
        super().__init__()
        self.trees = trees


def _module_key(module, keep: Kept) -> tuple:
    """A module (an argument, a global, an object's attribute) by everything in its tree: the
    version of its ``_Tree``, walked again only when something in it changed. The trees live
    with the compiled callable (a global cache would keep every module alive) and are dropped
    when many modules passed through; versions are unique across trees, so a new tree never
    matches an old key."""
    trees = keep.trees if keep.trees is not None else {}
    tree = trees.get(id(module))
    if tree is None or tree.module is not module:
        if len(trees) >= 2 * CACHE_SIZE_LIMIT:
            trees.clear()
        tree = trees[id(module)] = _Tree(module)
    version = tree.state()
    keep.append((module, tree.objects))
    return ("module", id(module), version)


def _free_reads(functions: list) -> list:
    """(scope, name) of each global a function's code (nested functions included) reads, and
    (cell, None) of each closure variable: Python state a replay would otherwise freeze."""
    reads = []
    for fn in functions:
        fn = getattr(fn, "__func__", fn)
        code = getattr(fn, "__code__", None)
        if code is None:
            continue
        names, stack = set(), [code]
        while stack:
            c = stack.pop()
            names.update(c.co_names)
            stack.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
        scope = fn.__globals__
        reads += [(scope, n) for n in sorted(names) if n in scope]
        reads += [(cell, None) for cell in fn.__closure__ or ()]
    return reads


_MISSING = object()


def _value(scope, name):
    if name is not None:
        return scope.get(name, _MISSING)
    try:
        return scope.cell_contents
    except ValueError:  # a closure variable not assigned yet
        return _MISSING


def _describe(value, keep: Kept):
    """A global's or closure variable's part of the guard key: numbers, strings and small
    containers of them by value, a module by the identity of everything in its tree, any
    other object (a tensor, an optimizer, a function) by identity (see _object_key)."""
    t = type(value)
    if t in _PLAIN:
        return _plain_key(value)
    if t in (tuple, list) and len(value) <= 64:
        return (t,) + tuple(_describe(v, keep) for v in value)
    if t is dict and len(value) <= 64:
        return (dict,) + tuple((_describe(k, keep), _describe(v, keep)) for k, v in value.items())
    if isinstance(value, Module):
        return _module_key(value, keep)
    return _object_key(value, keep)


class _Tree:
    """A compiled module's tree as the guards see it: every module's attributes, parameters,
    buffers and submodules, by identity. ``state()`` numbers the version a call sees; while
    nothing changed it is one pass at C speed over the cached dicts' values."""

    def __init__(self, module):
        self.module = module
        self.versions: dict = {}  # the objects' ids -> (version, the objects, kept alive)
        self._walk()

    def _walk(self) -> None:
        self.modules = modules = list(self.module.modules())
        self.dicts = [d for m in modules for d in _dicts(m)]
        self.hooks = [m.__dict__[h] for m in modules for h in _HOOKS]
        # globals read by the forwards of the tree's own classes (ember's read none that change)
        self.free = _free_reads([type(m).forward for m in modules
                                 if not type(m).__module__.startswith("ember.")])
        self.objects = list(chain.from_iterable(map(dict.values, self.dicts)))
        ids = tuple(map(id, self.objects))
        if ids not in self.versions:
            if len(self.versions) >= 64:  # many states seen (a parameter replaced each step)
                self.versions.clear()
            self.versions[ids] = (next(_VERSIONS), self.objects)
        self.version = self.versions[ids][0]

    def state(self) -> int:
        now = list(chain.from_iterable(map(dict.values, self.dicts)))
        if len(now) != len(self.objects) or not all(map(is_, now, self.objects)):
            self._walk()
        return self.version


_HOOKS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
_VERSIONS = count(1)  # tree versions, unique across trees


def _dicts(m) -> tuple:
    d = m.__dict__
    return d, d["_parameters"], d["_buffers"], d["_modules"]


def _tree_snapshot(tree: _Tree):
    """What a capture checks a forward left alone (the tree's state was just taken): its
    version, the contents of the lists, sets and dicts it holds, and the version counters
    and values of its parameters and buffers."""
    values = [(t, t._vc[0], t._data.copy()) for m in tree.modules
              for t in (*m._parameters.values(), *m._buffers.values()) if t is not None]
    return tree.version, _contents(tree.objects), values


def _check_tree(cap: Capture, tree: _Tree, before) -> None:
    version, contents, values = before
    if tree.state() != version:
        cap.graph_break("the forward assigned a module attribute, which a replay would not do")
        return
    now = _contents(tree.objects)
    if len(now) != len(contents) or any(len(a) != len(b) or any(x is not y for x, y in zip(a, b))
                                        for a, b in zip(now, contents)):
        cap.graph_break("the forward changed a list or dict held by a module")
        return
    for t, version, old in values:
        # ember's in-place ops (batch norm's running statistics too) count their writes in
        # the version; a change without one was written past them, where a replay cannot see
        if t._vc[0] == version and not _equal(t._data, old):
            cap.graph_break("the forward changed a parameter or buffer outside ember's ops")
            return


def _contents(objects: list) -> list:
    """The elements of the lists and sets, and the keys and values of the dicts, among
    ``objects`` (compared by identity before and after a capture)."""
    return [list(v) for v in objects if isinstance(v, (list, set))] + \
        [[*v.keys(), *v.values()] for v in objects if isinstance(v, dict)]


def _equal(a, b) -> bool:
    same = a == b
    if a.dtype.kind in "fc":
        same |= (a != a) & (b != b)
    return bool(same.all())
