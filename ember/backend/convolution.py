"""Convolutions of float32 CPU arrays through oneDNN's convolution primitives.

oneDNN's direct convolutions (JIT-compiled for the machine's vector unit, the ones PyTorch's
CPU convolutions run) compute the three adjoint products ``ops/conv.py`` needs without
im2col's copies: forward, the input's gradient (a transposed convolution) and the weight's
gradient. On the benchmarks' shapes they ran 2-5x faster than im2col and a GEMM, at
PyTorch's speed (``bench/kernels.py``).

``forward``, ``backward_data`` and ``backward_weights`` take and return C-contiguous
arrays in ember's layout (N, C, *spatial) with weights (O, C / groups, *kernel); each
returns None where oneDNN does not take the case (no library: see ``onednn.library``;
another dtype; more than 3 spatial dims), and the caller computes it with NumPy. Each
geometry's primitives are created once (tens of microseconds to milliseconds, oneDNN
choosing an implementation for the shapes) and kept. They compute in oneDNN's blocked
layouts (channels in blocks of 16); the arrays are reordered into and out of them by
oneDNN's reorders, as PyTorch's convolutions of NCHW tensors are.
"""
from __future__ import annotations

import ctypes
import threading
from collections import OrderedDict

import numpy as np

from . import onednn

_P, _I = ctypes.c_void_p, ctypes.c_int
_Dims = ctypes.c_int64 * 12  # dnnl_dims_t


class _Arg(ctypes.Structure):  # dnnl_exec_arg_t
    _fields_ = [("arg", _I), ("memory", _P)]


# oneDNN's enumerations (dnnl_types.h)
_F32, _ANY = 3, 1  # dnnl_f32, dnnl_format_tag_any
_FORWARD_TRAINING, _DIRECT = 64, 1
_QUERY_SRC, _QUERY_DIFF_SRC, _QUERY_WEIGHTS, _QUERY_DIFF_WEIGHTS, _QUERY_DST, _QUERY_DIFF_DST = (
    129, 130, 131, 132, 133, 134)
_ARG_SRC, _ARG_DST, _ARG_WEIGHTS, _ARG_BIAS = 1, 17, 33, 41
_ARG_DIFF_SRC, _ARG_DIFF_DST, _ARG_DIFF_WEIGHTS = 129, 145, 161
_QUERY_IMPL_INFO = 8

# This many primitives (and geometries) are kept, the least recently used released.
CACHE_SIZE = 256

_lock = threading.Lock()  # a primitive's memory objects are rebound on each call
_cache: OrderedDict = OrderedDict()
_state: dict = {}


def _api():
    """The library with the signatures used here declared, and a CPU engine and stream."""
    lib = onednn.library()
    if lib is None:
        return None
    if "lib" not in _state:
        ptr = ctypes.POINTER(_P)
        lib.dnnl_memory_desc_create_with_tag.argtypes = [ptr, _I, _Dims, _I, _I]
        lib.dnnl_memory_desc_create_with_strides.argtypes = [ptr, _I, _Dims, _I, _Dims]
        lib.dnnl_memory_desc_equal.argtypes = [_P, _P]
        lib.dnnl_memory_desc_get_size.argtypes = [_P]
        lib.dnnl_memory_desc_get_size.restype = ctypes.c_size_t
        lib.dnnl_memory_desc_destroy.argtypes = [_P]
        lib.dnnl_memory_create.argtypes = [ptr, _P, _P, _P]
        lib.dnnl_memory_set_data_handle.argtypes = [_P, _P]
        lib.dnnl_memory_destroy.argtypes = [_P]
        lib.dnnl_primitive_desc_query_md.argtypes = [_P, _I, _I]
        lib.dnnl_primitive_desc_query_md.restype = _P
        lib.dnnl_primitive_desc_query.argtypes = [_P, _I, _I, _P]
        lib.dnnl_primitive_desc_destroy.argtypes = [_P]
        lib.dnnl_primitive_create.argtypes = [ptr, _P]
        lib.dnnl_primitive_destroy.argtypes = [_P]
        lib.dnnl_primitive_execute.argtypes = [_P, _P, _I, ctypes.POINTER(_Arg)]
        lib.dnnl_reorder_primitive_desc_create.argtypes = [ptr, _P, _P, _P, _P, _P]
        geometry = [_Dims, _Dims, _Dims, _Dims]
        lib.dnnl_convolution_forward_primitive_desc_create.argtypes = [ptr, _P, _I, _I, _P, _P, _P, _P,
                                                                       *geometry, _P]
        lib.dnnl_convolution_backward_data_primitive_desc_create.argtypes = [ptr, _P, _I, _P, _P, _P,
                                                                             *geometry, _P, _P]
        lib.dnnl_convolution_backward_weights_primitive_desc_create.argtypes = [ptr, _P, _I, _P, _P, _P, _P,
                                                                                *geometry, _P, _P]
        engine, stream = _P(), _P()
        _check(lib.dnnl_engine_create(ctypes.byref(engine), 1, 0), "engine")  # dnnl_cpu, index 0
        _check(lib.dnnl_stream_create(ctypes.byref(stream), engine, 1), "stream")  # in order
        _state.update(lib=lib, engine=engine, stream=stream)
    return _state["lib"]


class _Refused(Exception):
    """oneDNN does not take this convolution (a geometry it checks otherwise, such as a
    transposed convolution's output padding): NumPy computes it."""


def _check(status: int, what: str) -> None:
    if status:
        raise _Refused(f"{what}: status {status}")


def _ran(status: int, what: str) -> None:
    if status:  # not expected once a primitive exists
        raise RuntimeError(f"oneDNN failed to run a convolution's {what} (status {status}); "
                           "EMBER_ONEDNN=0 computes convolutions with NumPy instead")


def _desc(lib, shape, layout=None):
    """A float32 memory descriptor: ember's row-major layout, or ``_ANY`` (the primitive's choice)."""
    md = _P()
    if layout == _ANY:
        status = lib.dnnl_memory_desc_create_with_tag(ctypes.byref(md), len(shape), _Dims(*shape), _F32, _ANY)
    else:
        strides = [1] * len(shape)
        for i in range(len(shape) - 2, -1, -1):
            strides[i] = strides[i + 1] * shape[i + 1]
        status = lib.dnnl_memory_desc_create_with_strides(ctypes.byref(md), len(shape), _Dims(*shape), _F32,
                                                          _Dims(*strides))
    _check(status, "memory descriptor")
    return md


def _memory(lib, md):
    mem = _P()
    _check(lib.dnnl_memory_create(ctypes.byref(mem), md, _state["engine"], None), "memory")
    return mem


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
        self.size = lib.dnnl_memory_desc_get_size(wanted) // 4
        self.memory = _memory(lib, wanted)
        pd = _P()
        src, dst = (plain, wanted) if into else (wanted, plain)
        engine = _state["engine"]
        _check(lib.dnnl_reorder_primitive_desc_create(ctypes.byref(pd), src, engine, dst, engine, None), "reorder")
        self.reorder = _P()
        _check(lib.dnnl_primitive_create(ctypes.byref(self.reorder), pd), "reorder")
        lib.dnnl_primitive_desc_destroy(pd)
        ends = (self.plain, self.memory) if into else (self.memory, self.plain)
        self.args = (_Arg * 2)(_Arg(_ARG_SRC, ends[0]), _Arg(_ARG_DST, ends[1]))

    def bind(self, lib, array: np.ndarray):
        """Point the operand at ``array``; returns the blocked buffer, kept alive by the caller."""
        lib.dnnl_memory_set_data_handle(self.plain, array.ctypes.data)
        if self.reorder is None:
            return None
        blocked = np.empty(self.size, np.float32)
        lib.dnnl_memory_set_data_handle(self.memory, blocked.ctypes.data)
        return blocked

    def release(self, lib) -> None:
        lib.dnnl_memory_destroy(self.plain)
        if self.reorder is not None:
            lib.dnnl_memory_destroy(self.memory)
            lib.dnnl_primitive_destroy(self.reorder)

    def run_reorder(self, lib):
        if self.reorder is not None:
            _ran(lib.dnnl_primitive_execute(self.reorder, _state["stream"], 2, self.args), "reorder")


class _Primitive:
    """One primitive with its operands: per operand, ``plains`` has ember's layout, ``queries``
    what to ask the primitive for its own ((query, index)), and ``kinds`` (execute argument,
    whether it is an output)."""

    _lib = None  # set once built: the library that releases its objects

    def __init__(self, lib, pd, plains, queries, kinds, own: bool = False):
        self.primitive = _P()
        _check(lib.dnnl_primitive_create(ctypes.byref(self.primitive), pd), "primitive")
        self.impl = _impl(lib, pd)
        self.operands = [_Operand(lib, plain, lib.dnnl_primitive_desc_query_md(pd, *query), not out)
                         for plain, query, (_, out) in zip(plains, queries, kinds)]
        self.kinds = kinds
        if own:  # a descriptor only this primitive used (the forward one also hints the others)
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

    def run(self, lib, arrays):
        keep = [op.bind(lib, a) for op, a in zip(self.operands, arrays)]
        for op, (_, out) in zip(self.operands, self.kinds):
            if not out:
                op.run_reorder(lib)
        args = (_Arg * len(arrays))(*(_Arg(arg, op.memory) for op, (arg, _) in zip(self.operands, self.kinds)))
        _ran(lib.dnnl_primitive_execute(self.primitive, _state["stream"], len(arrays), args), "primitive")
        for op, (_, out) in zip(self.operands, self.kinds):
            if out:
                op.run_reorder(lib)
        del keep


def _impl(lib, pd) -> str:
    name = ctypes.c_char_p()
    lib.dnnl_primitive_desc_query(pd, _QUERY_IMPL_INFO, 0, ctypes.byref(name))
    return (name.value or b"").decode()


class _Convolution:
    """The three primitives of one geometry, created on first use of each."""

    _lib = None

    def __init__(self, lib, x_shape, w_shape, y_shape, bias: bool, g):
        groups = g.groups
        self.w_shape = w_shape if groups == 1 else (groups, w_shape[0] // groups) + tuple(w_shape[1:])
        self.plain = [_desc(lib, x_shape), _desc(lib, self.w_shape), _desc(lib, y_shape)]
        self.bias = _desc(lib, (y_shape[1],)) if bias else None
        anys = [_desc(lib, s, _ANY) for s in (x_shape, self.w_shape, y_shape)]
        self.geometry = (_Dims(*g.stride), _Dims(*(d - 1 for d in g.dilation)),
                         _Dims(*(lo for lo, _ in g.pads)), _Dims(*(hi for _, hi in g.pads)))
        self.forward_pd = _P()
        _check(lib.dnnl_convolution_forward_primitive_desc_create(
            ctypes.byref(self.forward_pd), _state["engine"], _FORWARD_TRAINING, _DIRECT, anys[0], anys[1],
            self.bias, anys[2], *self.geometry, None), "forward")
        self.anys = anys
        self.primitives = {}
        self._lib = lib

    def __del__(self):
        lib = self._lib
        if lib is None:
            return
        self._lib = None
        lib.dnnl_primitive_desc_destroy(self.forward_pd)
        for md in [*self.plain, *self.anys] + ([self.bias] if self.bias is not None else []):
            lib.dnnl_memory_desc_destroy(md)

    def primitive(self, lib, kind: str) -> _Primitive:
        if kind not in self.primitives:
            self.primitives[kind] = getattr(self, "_" + kind)(lib)
        return self.primitives[kind]

    def _forward(self, lib):
        plains = list(self.plain)
        queries = [(_QUERY_SRC, 0), (_QUERY_WEIGHTS, 0), (_QUERY_DST, 0)]
        kinds = [(_ARG_SRC, False), (_ARG_WEIGHTS, False), (_ARG_DST, True)]
        if self.bias is not None:  # the bias is the primitive's second weights argument
            plains.append(self.bias)
            queries.append((_QUERY_WEIGHTS, 1))
            kinds.append((_ARG_BIAS, False))
        return _Primitive(lib, self.forward_pd, plains, queries, kinds)

    def _backward_data(self, lib):
        pd = _P()
        _check(lib.dnnl_convolution_backward_data_primitive_desc_create(
            ctypes.byref(pd), _state["engine"], _DIRECT, self.anys[0], self.anys[1], self.anys[2],
            *self.geometry, self.forward_pd, None), "input gradient")
        return _Primitive(lib, pd, self.plain, [(_QUERY_DIFF_SRC, 0), (_QUERY_WEIGHTS, 0), (_QUERY_DIFF_DST, 0)],
                          [(_ARG_DIFF_SRC, True), (_ARG_WEIGHTS, False), (_ARG_DIFF_DST, False)], own=True)

    def _backward_weights(self, lib):
        pd = _P()
        _check(lib.dnnl_convolution_backward_weights_primitive_desc_create(
            ctypes.byref(pd), _state["engine"], _DIRECT, self.anys[0], self.anys[1], None, self.anys[2],
            *self.geometry, self.forward_pd, None), "weight gradient")
        return _Primitive(lib, pd, self.plain, [(_QUERY_SRC, 0), (_QUERY_DIFF_WEIGHTS, 0), (_QUERY_DIFF_DST, 0)],
                          [(_ARG_SRC, False), (_ARG_DIFF_WEIGHTS, True), (_ARG_DIFF_DST, False)], own=True)


def _usable(*arrays) -> bool:
    return all(type(a) is np.ndarray and a.dtype == np.float32 for a in arrays) and 3 <= arrays[0].ndim <= 5


def _primitive(lib, kind: str, shapes: tuple, bias: bool, g):
    """The cached primitive of this kind and geometry; None where oneDNN refuses it (remembered)."""
    key = (kind, shapes, bias, g)
    if key in _cache:
        _cache.move_to_end(key)
        return _cache[key]
    conv_key = ("convolution", shapes, bias, g)
    try:
        conv = _cache.get(conv_key) or _Convolution(lib, *shapes, bias, g)
        _cache[conv_key] = conv
        prim = conv.primitive(lib, kind)
    except _Refused:
        prim = None
    _cache[key] = prim
    while len(_cache) > CACHE_SIZE:
        _cache.popitem(last=False)  # released once no other entry holds it
    return prim


def _run(kind: str, shapes: tuple, arrays: list, out: int, bias: bool, g):
    with _lock:  # also around the first call's engine and stream, which threads would race to make
        try:
            lib = _api()
        except _Refused:  # no CPU engine: nothing oneDNN can run here
            return None
        prim = _primitive(lib, kind, shapes, bias, g)
        if prim is None:
            return None
        prim.run(lib, arrays)
    return arrays[out]


def forward(x: np.ndarray, w: np.ndarray, b, g):
    """The convolution's output (N, O, *out), the bias added; None where oneDNN does not take it."""
    if onednn.library() is None or not _usable(x, w) or (
            b is not None and (type(b) is not np.ndarray or b.dtype != np.float32)):
        return None
    x, w = np.ascontiguousarray(x), np.ascontiguousarray(w)
    y = np.empty((x.shape[0], w.shape[0]) + g.out_size, np.float32)
    arrays = [x, w, y] + ([np.ascontiguousarray(b)] if b is not None else [])
    return _run("forward", (x.shape, w.shape, y.shape), arrays, 2, b is not None, g)


def backward_data(y: np.ndarray, w: np.ndarray, g):
    """The adjoint in x, (N, O, *out) -> (N, C, *in); None where oneDNN does not take it."""
    if onednn.library() is None or not _usable(y, w):
        return None
    y, w = np.ascontiguousarray(y), np.ascontiguousarray(w)
    x = np.empty((y.shape[0], w.shape[1] * g.groups) + g.in_size, np.float32)
    return _run("backward_data", (x.shape, w.shape, y.shape), [x, w, y], 0, False, g)


def backward_weights(x: np.ndarray, y: np.ndarray, g):
    """The adjoint in w: (O, C / groups, *kernel); None where oneDNN does not take it."""
    if onednn.library() is None or not _usable(x, y):
        return None
    x, y = np.ascontiguousarray(x), np.ascontiguousarray(y)
    w = np.empty((y.shape[1], x.shape[1] // g.groups) + g.kernel, np.float32)
    return _run("backward_weights", (x.shape, w.shape, y.shape), [x, w, y], 1, False, g)
