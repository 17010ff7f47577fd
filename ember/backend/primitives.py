"""oneDNN primitives called through ctypes: memory descriptors, memory objects, reorders, the
cache of created primitives, and running one.

A primitive (a convolution, a softmax, ...) is created once per geometry (tens of
microseconds to milliseconds: oneDNN picks and JIT-compiles an implementation for the shapes)
and kept in an LRU cache of ``CACHE_SIZE`` entries; an evicted one releases its library
objects. Operands are C-contiguous float32 NumPy arrays in ember's layout; where a primitive
computes in another layout (a convolution's channel blocks), oneDNN's reorders convert
into and out of it around the call. ``convolution.py`` and ``softmax.py`` build on this.
"""
from __future__ import annotations

import ctypes
import threading
from collections import OrderedDict

import numpy as np

from . import onednn

P, I = ctypes.c_void_p, ctypes.c_int
Dims = ctypes.c_int64 * 12  # dnnl_dims_t
POINTER = ctypes.POINTER(P)


class _Arg(ctypes.Structure):  # dnnl_exec_arg_t
    _fields_ = [("arg", I), ("memory", P)]


# oneDNN's enumerations (dnnl_types.h)
F32, ANY = 3, 1  # dnnl_f32, dnnl_format_tag_any
FORWARD_TRAINING = 64
QUERY_SRC, QUERY_DIFF_SRC, QUERY_WEIGHTS, QUERY_DIFF_WEIGHTS, QUERY_DST, QUERY_DIFF_DST = (
    129, 130, 131, 132, 133, 134)
QUERY_WORKSPACE, QUERY_ARG = 135, 255  # dnnl_query_exec_arg_md: an operand by its ARG_ number
ARG_SRC, ARG_DST, ARG_WEIGHTS, ARG_BIAS = 1, 17, 33, 41
ARG_DIFF_SRC, ARG_DIFF_DST, ARG_DIFF_WEIGHTS, ARG_DIFF_BIAS = 129, 145, 161, 169
_QUERY_IMPL_INFO = 8

# This many primitives (and geometries) are kept, the least recently used released.
CACHE_SIZE = 256

_lock = threading.Lock()  # a primitive's memory objects are rebound on each call
_cache: OrderedDict = OrderedDict()
_state: dict = {}


def api():
    """The library with the shared signatures declared, and a CPU engine and stream (made on
    the first call, under the lock that ``run`` holds)."""
    lib = onednn.library()
    if lib is None:
        return None
    if "lib" not in _state:
        lib.dnnl_memory_desc_create_with_tag.argtypes = [POINTER, I, Dims, I, I]
        lib.dnnl_memory_desc_create_with_strides.argtypes = [POINTER, I, Dims, I, Dims]
        lib.dnnl_memory_desc_equal.argtypes = [P, P]
        lib.dnnl_memory_desc_get_size.argtypes = [P]
        lib.dnnl_memory_desc_get_size.restype = ctypes.c_size_t
        lib.dnnl_memory_desc_destroy.argtypes = [P]
        lib.dnnl_memory_desc_clone.argtypes = [POINTER, P]
        lib.dnnl_memory_create.argtypes = [POINTER, P, P, P]
        lib.dnnl_memory_set_data_handle.argtypes = [P, P]
        lib.dnnl_memory_destroy.argtypes = [P]
        lib.dnnl_primitive_desc_query_md.argtypes = [P, I, I]
        lib.dnnl_primitive_desc_query_md.restype = P
        lib.dnnl_primitive_desc_query.argtypes = [P, I, I, P]
        lib.dnnl_primitive_desc_destroy.argtypes = [P]
        lib.dnnl_primitive_create.argtypes = [POINTER, P]
        lib.dnnl_primitive_destroy.argtypes = [P]
        lib.dnnl_primitive_execute.argtypes = [P, P, I, ctypes.POINTER(_Arg)]
        lib.dnnl_reorder_primitive_desc_create.argtypes = [POINTER, P, P, P, P, P]
        engine, stream = P(), P()
        check(lib.dnnl_engine_create(ctypes.byref(engine), 1, 0), "engine")  # dnnl_cpu, index 0
        check(lib.dnnl_stream_create(ctypes.byref(stream), engine, 1), "stream")  # in order
        _state.update(lib=lib, engine=engine, stream=stream)
    return _state["lib"]


def engine():
    return _state["engine"]


class Refused(Exception):
    """oneDNN does not take this case (a geometry it checks otherwise, such as a transposed
    convolution's output padding): NumPy computes it."""


def check(status: int, what: str) -> None:
    if status:
        raise Refused(f"{what}: status {status}")


def _ran(status: int, what: str) -> None:
    if status:  # not expected once a primitive exists
        raise RuntimeError(f"oneDNN failed to run a primitive's {what} (status {status}); "
                           "EMBER_ONEDNN=0 computes with NumPy instead")


def desc(lib, shape, layout=None, strides=None):
    """A float32 memory descriptor: ember's row-major layout, ``ANY`` (the primitive's choice),
    or the given element ``strides`` (another array's layout seen through these dims)."""
    md = P()
    if layout == ANY:
        status = lib.dnnl_memory_desc_create_with_tag(ctypes.byref(md), len(shape), Dims(*shape), F32, ANY)
    else:
        if strides is None:
            strides = [1] * len(shape)
            for i in range(len(shape) - 2, -1, -1):
                strides[i] = strides[i + 1] * shape[i + 1]
        status = lib.dnnl_memory_desc_create_with_strides(ctypes.byref(md), len(shape), Dims(*shape), F32,
                                                          Dims(*strides))
    check(status, "memory descriptor")
    return md


def _memory(lib, md):
    mem = P()
    check(lib.dnnl_memory_create(ctypes.byref(mem), md, _state["engine"], None), "memory")
    return mem


class Blocked:
    """An input as a primitive's reorder left it: its buffer in that primitive's layout, and
    the operand that describes the layout (its primitive kept alive with it). Given to another
    primitive that computes in the same layout, it replaces that primitive's reorder of the
    same array."""
    __slots__ = ("buffer", "operand", "primitive")

    def __init__(self, buffer, operand, primitive):
        self.buffer, self.operand, self.primitive = buffer, operand, primitive


class _Operand:
    """An array of ember's layout bound to a primitive argument, through a reorder when the
    primitive computes in another layout (``into``: the reorder runs before the primitive,
    else after it, for an output)."""

    def __init__(self, lib, plain, wanted, into: bool):
        self.plain = _memory(lib, plain)
        self.reorder = None
        if lib.dnnl_memory_desc_equal(plain, wanted):
            self.memory = self.plain
            return
        self.wanted = P()  # a copy: the primitive descriptor that owns ``wanted`` may go first
        check(lib.dnnl_memory_desc_clone(ctypes.byref(self.wanted), wanted), "memory descriptor")
        self.size = lib.dnnl_memory_desc_get_size(wanted) // 4
        self.memory = _memory(lib, wanted)
        pd = P()
        src, dst = (plain, wanted) if into else (wanted, plain)
        check(lib.dnnl_reorder_primitive_desc_create(ctypes.byref(pd), src, engine(), dst, engine(), None),
              "reorder")
        self.reorder = P()
        check(lib.dnnl_primitive_create(ctypes.byref(self.reorder), pd), "reorder")
        lib.dnnl_primitive_desc_destroy(pd)
        ends = (self.plain, self.memory) if into else (self.memory, self.plain)
        self.args = (_Arg * 2)(_Arg(ARG_SRC, ends[0]), _Arg(ARG_DST, ends[1]))

    def bind(self, lib, array, blocked=None):
        """Point the operand at ``array`` (and at ``blocked``, its copy in the primitive's layout,
        when given); returns the blocked buffer, kept alive by the caller."""
        lib.dnnl_memory_set_data_handle(self.plain, array.ctypes.data)
        if self.reorder is None:
            return None
        if blocked is None:
            blocked = np.empty(self.size, np.float32)
        lib.dnnl_memory_set_data_handle(self.memory, blocked.ctypes.data)
        return blocked

    def takes(self, lib, blocked: Blocked) -> bool:
        """Whether ``blocked`` is in this operand's layout (so its reorder can be skipped)."""
        return self.reorder is not None and (
            blocked.operand is self or bool(lib.dnnl_memory_desc_equal(blocked.operand.wanted, self.wanted)))

    def release(self, lib) -> None:
        lib.dnnl_memory_destroy(self.plain)
        if self.reorder is not None:
            lib.dnnl_memory_destroy(self.memory)
            lib.dnnl_primitive_destroy(self.reorder)
            lib.dnnl_memory_desc_destroy(self.wanted)

    def run_reorder(self, lib):
        if self.reorder is not None:
            _ran(lib.dnnl_primitive_execute(self.reorder, _state["stream"], 2, self.args), "reorder")


class Primitive:
    """One primitive with its operands: per operand, ``plains`` has ember's layout, ``queries``
    what to ask the primitive for its own ((query, index)), and ``kinds`` (execute argument,
    whether it is an output). With ``own``, the primitive descriptor is released here.
    ``accumulating`` lists the outputs the primitive adds into (an RNN's weight gradients):
    they start from zero on each run. ``reference_ok`` accepts an implementation named
    ``ref`` (oneDNN's one CPU RNN, whose products run its JIT GEMM)."""

    _lib = None  # set once built: the library that releases its objects

    def __init__(self, lib, pd, plains, queries, kinds, own: bool = False, accumulating=(),
                 reference_ok: bool = False):
        self.impl = _impl(lib, pd)
        self.accumulating = frozenset(accumulating)
        if self.impl.startswith("ref") and not reference_ok:
            # oneDNN's reference loops, its fallback where no JIT kernel covers the case (a
            # softmax's backward on AVX2: 73 ms for NumPy's 9): NumPy computes it instead
            if own:
                lib.dnnl_primitive_desc_destroy(pd)
            raise Refused(f"only oneDNN's reference implementation ({self.impl})")
        self.primitive = P()
        check(lib.dnnl_primitive_create(ctypes.byref(self.primitive), pd), "primitive")
        self.operands = [_Operand(lib, plain, lib.dnnl_primitive_desc_query_md(pd, *query), not out)
                         for plain, query, (_, out) in zip(plains, queries, kinds)]
        self.kinds = kinds
        if own:
            lib.dnnl_primitive_desc_destroy(pd)
        self._lib = lib

    def __del__(self):
        """The library's objects go with the cache entry (geometries come and go, as with
        sequences of varying length)."""
        lib = self._lib
        if lib is None:
            return
        self._lib = None
        for op in self.operands:
            op.release(lib)
        lib.dnnl_primitive_destroy(self.primitive)

    def run(self, lib, arrays, given=None) -> list:
        """Run on ``arrays`` (one per operand). ``given`` may map an operand's index to a
        ``Blocked`` copy of that input already reordered: one in this primitive's layout is
        used instead of reordering again. Returns, per operand, the input's ``Blocked`` copy this
        call made or used (None for outputs and inputs used in place)."""
        blocked = [None] * len(arrays)
        outputs = []  # (operand, its blocked buffer, kept alive until the reorder out)
        for i, (op, a, (_, out)) in enumerate(zip(self.operands, arrays, self.kinds)):
            reuse = given.get(i) if given is not None else None
            if reuse is not None and op.takes(lib, reuse):
                op.bind(lib, a, reuse.buffer)
                blocked[i] = reuse
                continue
            zeroed = None
            if i in self.accumulating:
                if op.reorder is None:
                    a.fill(0)
                else:
                    zeroed = np.zeros(op.size, np.float32)
            buffer = op.bind(lib, a, zeroed)
            if out:
                outputs.append((op, buffer))
            elif buffer is not None:
                op.run_reorder(lib)
                blocked[i] = Blocked(buffer, op, self)
        args = (_Arg * len(arrays))(*(_Arg(arg, op.memory) for op, (arg, _) in zip(self.operands, self.kinds)))
        _ran(lib.dnnl_primitive_execute(self.primitive, _state["stream"], len(arrays), args), "primitive")
        for op, _ in outputs:
            op.run_reorder(lib)
        return blocked


class Family:
    """The primitives of one geometry (a convolution's forward, input gradient and weight
    gradient), each made on first use by the subclass's ``_<kind>(lib)``. The subclass sets
    ``forward_pd`` (the forward primitive descriptor, a hint to the others) and ``descs`` (the
    memory descriptors it made), released with the family, and ``_lib`` once built."""

    _lib = None
    forward_pd = None
    descs = ()

    def __del__(self):
        lib = self._lib
        if lib is None:
            return
        self._lib = None
        lib.dnnl_primitive_desc_destroy(self.forward_pd)
        for md in self.descs:
            lib.dnnl_memory_desc_destroy(md)

    def primitive(self, lib, kind: str) -> Primitive:
        made = self.__dict__.setdefault("primitives", {})
        if kind not in made:
            made[kind] = getattr(self, "_" + kind)(lib)
        return made[kind]


def _impl(lib, pd) -> str:
    name = ctypes.c_char_p()
    lib.dnnl_primitive_desc_query(pd, _QUERY_IMPL_INFO, 0, ctypes.byref(name))
    return (name.value or b"").decode()


def cached(key, build):
    """The cached entry under ``key``, else ``build()``'s (None where oneDNN refuses it: also
    remembered). Call under the lock (``run`` does)."""
    if key in _cache:
        _cache.move_to_end(key)
        return _cache[key]
    try:
        entry = build()
    except Refused:
        entry = None
    _cache[key] = entry
    while len(_cache) > CACHE_SIZE:
        _cache.popitem(last=False)  # released once no other entry holds it
    return entry


def _api_or_none():
    """``api()``, or None where nothing oneDNN can run here (no library, or no CPU engine).
    Call under the lock."""
    try:
        return api()
    except Refused:
        return None


def refused(key) -> bool:
    """Whether oneDNN already refused the primitive that ``run`` caches under ``key``: a
    caller can then skip the checks it makes before running one."""
    with _lock:
        return key in _cache and _cache[key] is None


def family(key: tuple, make):
    """The ``Family`` cached under ``key`` (made by ``make(lib)`` on first use), or None where
    oneDNN does not take it: for a caller that sizes buffers from it before a run."""
    with _lock:
        lib = _api_or_none()
        return None if lib is None else cached(key, lambda: make(lib))


def run_family(kind: str, key: tuple, make, arrays, given=None):
    """Run the primitive ``kind`` of the ``Family`` cached under ``key`` (made by ``make(lib)``
    on first use) on ``arrays``: ``run``'s result."""
    def build(lib):
        family = cached(key, lambda: make(lib))
        if family is None:
            raise Refused(str(key[0]))
        return family.primitive(lib, kind)
    return run((kind,) + key, build, arrays, given)


def run(key, build, arrays, given=None):
    """Run the primitive cached under ``key`` (made by ``build(lib)`` on first use) on
    ``arrays`` (with ``given``, as ``Primitive.run`` takes it): the inputs' ``Blocked`` copies,
    per operand, as ``Primitive.run`` returns them; None where oneDNN does not take it (no
    CPU engine, or refused)."""
    with _lock:  # also around the first call's engine and stream, which threads would race to make
        lib = _api_or_none()
        if lib is None:
            return None
        prim = cached(key, lambda: build(lib))
        if prim is None:
            return None
        return prim.run(lib, arrays, given)
