"""Compiled CPU kernels (Numba): the loops that NumPy can only run as many whole-array passes.

Ops ask ``kernels.cpu()``: this package, with its kernel modules (``arith``, ``conv``, ``grouped_norm``,
``loss``, ``pointwise``, ``pool``, ``reduce``, ``rnn``, ``norm``, ``norm_rows``, ``optim``, ``scatter``,
``select``, ``softmax``) loaded, when compiled kernels are available, else None, in which case they keep
their NumPy path.
Available means ``numba`` imports and the environment does not set ``EMBER_NUMBA=0``; that
is decided once, on the first call, so importing ember neither imports Numba nor compiles
anything. Each kernel compiles on its first call for the array types it is given, and Numba's
on-disk cache (``cache=True``) keeps the machine code for later processes.

Every kernel calls ``simd.wide()`` (inside its ``prange`` loop when parallel): it is compiled for
512-bit vectors where the CPU has them (see simd.py); batch norm's reassociated sums do not
(norm.py says why).

Kernels take C-contiguous NumPy arrays of one float dtype (float32 or float64) and write
into output arrays allocated by the caller; the ops check the arrays before calling.
"""
from __future__ import annotations

import functools
import os
import sys
import threading
from contextlib import contextmanager

import numpy as np

from ..._layout import flat_view

_state: dict = {}
_UNLOADED = object()
_KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
# Numba's workqueue pool (``_threading_layer``) aborts the process when two Python threads
# launch parallel kernels at once: calls take turns (on either layer).
lock = threading.Lock()


def cpu():
    """This package with its kernel modules loaded, or None where compiled kernels are off.

    Also None in a process forked from the one that imported ember (a DataLoader worker):
    Numba's thread pools are not all safe to use in a child forked from a process that ran
    them (GNU OpenMP's deadlocks); the NumPy path is always safe there."""
    module = _state.get("module", _UNLOADED)
    if module is _UNLOADED:
        module = _state["module"] = _load()
    return module


def _forked() -> None:
    _state["module"] = None  # for good: a child never loads them either (see cpu)


os.register_at_fork(after_in_child=_forked)


@contextmanager
def off():
    """Within the block, ``cpu()`` is None: ops run their NumPy paths (to compare and time them;
    a process-wide switch, not meant for use from several threads)."""
    module = cpu()
    _state["module"] = None
    try:
        yield
    finally:
        _state["module"] = module


def _load():
    if os.environ.get("EMBER_NUMBA", "1") == "0":
        return None
    try:
        import numba
    except ImportError:
        return None
    if numba.config.THREADING_LAYER == "default":  # NUMBA_THREADING_LAYER unset
        numba.config.THREADING_LAYER = _threading_layer()
    from . import (arith, conv, grouped_norm, loss, norm, norm_rows, optim, pointwise, pool, reduce,  # noqa: F401
                   rnn, scatter, select, softmax)  # (defining kernels compiles nothing yet)
    from .. import onednn
    from ..threads import get_num_threads
    _numba_threads(numba, get_num_threads())  # starts Numba's threads, which resets OpenMP's count:
    onednn.set_threads(get_num_threads())     # oneDNN's is set again
    return sys.modules[__name__]


def _numba_threads(numba, n: int) -> None:
    numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))


def set_threads(n: int) -> None:
    """Run the parallel kernels on ``n`` threads (``ember.set_num_threads``, which sets
    oneDNN's after this; at most the NUMBA_NUM_THREADS that Numba starts). Numba keeps the
    count per calling thread."""
    if _state.get("module") is not None:
        import numba
        _numba_threads(numba, n)


def _threading_layer() -> str:
    """Where oneDNN computes, GNU OpenMP, the runtime it runs on: the kernels' parallel loops
    then take the same pool of threads, as all of PyTorch's CPU work does. With a pool of its
    own, a kernel right after a oneDNN call shared the cores with oneDNN's idle workers, still
    spinning: a ResNet-8 training step took 72-93 ms against 57-82 on the one pool, a LeNet-5
    step 11.1-13.5 against 9.4-9.8 (2 cores). Without oneDNN, workqueue: its idle workers
    sleep, where OpenMP's would spin while other processes want the cores."""
    from .. import onednn
    if onednn.library() is not None:
        try:
            import numba.np.ufunc.omppool  # noqa: F401  (Numba's OpenMP layer, if it loads here)
            return "omp"
        except ImportError:
            pass
    return "workqueue"


POINTWISE_MIN = 1024  # elements: below, NumPy's ufunc call is as quick as a kernel's


def apply_pointwise(name: str, arrays: tuple, *numbers):
    """The float32 function ``name`` of pointwise.py (exp, tanh, sigmoid, silu, gelu, gelu_tanh,
    erf, elu, softplus, logsigmoid of one array; their ``_grad`` of the incoming gradient and
    the saved array) of ``arrays`` (float32 NumPy arrays of one shape and layout, see
    ``flat_views``, at least POINTWISE_MIN elements) and ``numbers`` (as float32), split over the cores when large.
    None where it does not apply (the caller's NumPy path)."""
    x = arrays[0]
    k = cpu() if x.size >= POINTWISE_MIN else None
    flats = None if k is None or x.dtype != np.float32 or not usable(*arrays) else flat_views(arrays)
    if flats is None:
        return None
    out = np.empty_like(x)  # x's layout, so its flat view lines up
    args = flats + [np.float32(v) for v in numbers] + [flat_view(out)]
    if x.size < k.pointwise.PARALLEL_FROM:
        getattr(k.pointwise, name)(*args)
    else:
        with lock:
            getattr(k.pointwise, name + "_parallel")(*args)
    return out


def optim_update(name: str, size: int):
    """The update kernel ``name`` of optim.py (sgd, adam, adadelta, rmsprop, axpy, scale) for arrays of
    ``size`` elements: the one-thread kernel, or from optim.PARALLEL_FROM the parallel one, called
    under ``lock``. Only where the kernels are on (``cpu()`` is not None)."""
    module = _state["module"].optim
    if size < module.PARALLEL_FROM:
        return getattr(module, name)
    return functools.partial(_under_lock, getattr(module, name + "_parallel"))


def apply_scale(y, alpha: float) -> bool:
    """``y *= alpha`` in place by optim.py's one-pass ``scale`` (over the cores when large),
    alpha rounded to y's dtype: NumPy's in-place product's bits. False, writing nothing, where
    it does not apply: no kernels, or ``y`` not a writeable dense float32/float64 NumPy array."""
    flat = flat_view(y) if cpu() is not None and usable(y) and y.flags.writeable else None
    if flat is None:
        return False
    optim_update("scale", y.size)(flat, alpha)
    return True


def _under_lock(kernel, *args) -> None:
    with lock:
        kernel(*args)


ARITH_FROM = 1 << 16  # elements: pointwise.PARALLEL_FROM, where the cores pay for their start


def apply_arith(name: str, a, b):
    """``a <name> b`` (add, sub, mul, div) by arith.py's kernels, into a new array: ``a`` a
    dense float32 or float64 NumPy array of at least ARITH_FROM elements, ``b`` an array of
    its shape, dtype and layout (see ``flat_views``), or a number (a Python float, or a 0-d
    array of a's dtype), which may come first for add and mul. The same bits as NumPy's
    operator; None where it does not apply (the caller's NumPy path)."""
    if type(a) is not np.ndarray or a.ndim == 0:
        if name not in ("add", "mul"):
            return None
        a, b = b, a  # IEEE addition and multiplication are commutative, bit for bit
        if type(a) is not np.ndarray:
            return None
    k = cpu() if a.size >= ARITH_FROM else None
    if k is None or a.dtype not in _KERNEL_DTYPES:
        return None
    if type(b) is np.ndarray and b.ndim:
        flats = flat_views((a, b)) if b.dtype == a.dtype else None
        if flats is None:
            return None
        flat_a, operand = flats
    elif (type(b) is np.ndarray and b.dtype == a.dtype) or type(b) is float:
        flat_a, operand = flat_view(a), a.dtype.type(b)
        if flat_a is None:
            return None
    else:
        return None
    out = np.empty_like(a)  # a's layout, so its flat view lines up
    with lock:
        getattr(k.arith, name)(flat_a, operand, flat_view(out))
    return out


def fill_rows(out, row) -> None:
    """``out[...] = row`` for a 2-d NumPy ``out``: over the cores by reduce.py's kernel for a
    C-contiguous float32 or float64 ``out`` of ARITH_FROM elements and a row of its width, else
    NumPy's broadcast copy (of any row that broadcasts: a (1,) or 0-d bias). The same values
    either way: a copy."""
    k = cpu() if out.size >= ARITH_FROM else None
    if k is None or not usable(out, row) or not out.flags.c_contiguous or row.shape != out.shape[1:]:
        out[...] = row
        return
    with lock:
        k.reduce.fill_rows(row, out)


def apply_select(name: str, arrays: tuple, *numbers):
    """select.py's kernel ``name`` of ``arrays`` (NumPy arrays of one shape and layout, see
    ``flat_views``, all float32 or all float64) and ``numbers`` (cast to their dtype), into a
    new array; None where it does not apply (the caller's NumPy path)."""
    k = cpu()
    flats = flat_views(arrays) if k is not None and usable(*arrays) else None
    if flats is None:
        return None
    x = arrays[0]
    out = np.empty_like(x)  # x's layout, so its flat view lines up
    cast = x.dtype.type
    getattr(k.select, name)(*flats, *[cast(v) for v in numbers], flat_view(out))
    return out


def flat_views(arrays):
    """1-D views of arrays of one shape whose elements line up one for one: all row-major, or
    all laid out alike in another dense order (channels-last, transposed); None otherwise. An
    elementwise kernel over them computes every layout as it does the row-major one."""
    x = arrays[0]
    shape = x.shape
    if x.flags.c_contiguous:  # the common case, first and cheap
        for a in arrays:
            if not a.flags.c_contiguous or a.shape != shape:
                return None
        return [a.reshape(-1) for a in arrays]
    strides = x.strides
    for a in arrays:
        if a.shape != shape or a.strides != strides:
            return None
    flat = flat_view(x)
    return None if flat is None else [flat] + [flat_view(a) for a in arrays[1:]]


def usable(*arrays) -> bool:
    """Whether the kernels take these arrays: NumPy arrays, all float32 or all float64 (native
    byte order), so that CuPy, half and integer arrays keep their NumPy path. (A loop, not
    all() of a generator: this runs before every kernel call, and the generator cost 0.5 us.)"""
    dt = arrays[0].dtype
    if dt not in _KERNEL_DTYPES:
        return False
    for a in arrays:
        if type(a) is not np.ndarray or a.dtype != dt:
            return False
    return True
