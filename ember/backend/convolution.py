"""Convolutions of float32 CPU arrays through oneDNN's convolution primitives.

oneDNN's direct convolutions (JIT-compiled for the machine's vector unit, the ones PyTorch's
CPU convolutions run) compute the three adjoint products ``ops/conv.py`` needs without
im2col's copies: forward, the input's gradient (a transposed convolution) and the weight's
gradient. On the benchmarks' shapes they ran 2-5x faster than im2col and a GEMM, at
PyTorch's speed (``bench/kernels.py``). The primitives, their operands and their cache are
``primitives.py``'s.

``forward``, ``backward_data`` and ``backward_weights`` take arrays of shape (N, C, *spatial)
with weights (O, C / groups, *kernel), each row-major or channels-last (``_layout.py``), and
return arrays of those shapes; each returns None where oneDNN does not take the case (no
library: see ``onednn.library``; another dtype; more than 3 spatial dims), and the caller
computes it with NumPy. Each geometry's primitives are created once per layout and kept.

Row-major activations are computed in oneDNN's blocked layouts (channels in blocks of 8 or
16), reordered into and out of them around each call, as PyTorch's convolutions of NCHW
tensors are. Where an operand is channels-last (PyTorch's rule: the input or the weight), the
call computes in that layout: oneDNN's NHWC kernels read and write the arrays in place, and
only the weights are reordered. On ResNet-8's 3x3 convolutions (batch 64, 2 cores) that took
each of the three products from 1.3-1.7 ms to 1.0-1.5. ``backward`` gives a training step's
gradients in one call: the output's gradient is reordered once for both of its primitives,
and the bias's gradient comes out of the weight gradient's primitive.
"""
from __future__ import annotations

import ctypes

import numpy as np

from .._layout import channels_last, channels_last_3d, contiguous_format, copy_in, is_channels_last, suggest_format
from . import onednn
from .primitives import (ANY, ARG_BIAS, ARG_DIFF_DST, ARG_DIFF_SRC, ARG_DIFF_WEIGHTS, ARG_DST, ARG_SRC,
                         ARG_WEIGHTS, ARG_DIFF_BIAS, FORWARD_TRAINING, POINTER, QUERY_DIFF_DST, QUERY_DIFF_SRC,
                         QUERY_DIFF_WEIGHTS, QUERY_DST, QUERY_SRC, QUERY_WEIGHTS, Dims, Family, I, P,
                         Primitive, check, desc, engine, run_family)

_DIRECT = 1  # dnnl_convolution_direct


def _declare(lib) -> None:
    geometry = [Dims, Dims, Dims, Dims]
    lib.dnnl_convolution_forward_primitive_desc_create.argtypes = [POINTER, P, I, I, P, P, P, P, *geometry, P]
    lib.dnnl_convolution_backward_data_primitive_desc_create.argtypes = [POINTER, P, I, P, P, P, *geometry,
                                                                         P, P]
    lib.dnnl_convolution_backward_weights_primitive_desc_create.argtypes = [POINTER, P, I, P, P, P, P,
                                                                            *geometry, P, P]


class _Convolution(Family):
    """The three primitives of one geometry and layout, created on first use of each.
    ``last``: computed channels-last; ``layouts``: which of x, w and y are (see ``_operand``)."""

    def __init__(self, lib, x_shape, w_shape, y_shape, bias: bool, g, last: bool, layouts: tuple):
        _declare(lib)
        groups = g.groups
        self.w_shape = w_shape if groups == 1 else (groups, w_shape[0] // groups) + tuple(w_shape[1:])
        x_last, w_last, y_last = layouts
        self.plain = [desc(lib, x_shape, strides=_strides(x_shape, x_last)),
                      desc(lib, self.w_shape, strides=_weight_strides(w_shape, groups, w_last)),
                      desc(lib, y_shape, strides=_strides(y_shape, y_last))]
        self.bias = desc(lib, (y_shape[1],)) if bias else None
        # channels-last: the activations as they are (oneDNN's NHWC kernels); else its choice
        anys = [desc(lib, s, strides=_strides(s, True)) if last and i != 1 else desc(lib, s, ANY)
                for i, s in enumerate((x_shape, self.w_shape, y_shape))]
        self.geometry = (Dims(*g.stride), Dims(*(d - 1 for d in g.dilation)),
                         Dims(*(lo for lo, _ in g.pads)), Dims(*(hi for _, hi in g.pads)))
        self.forward_pd = P()
        check(lib.dnnl_convolution_forward_primitive_desc_create(
            ctypes.byref(self.forward_pd), engine(), FORWARD_TRAINING, _DIRECT, anys[0], anys[1],
            self.bias, anys[2], *self.geometry, None), "forward")
        self.anys = anys
        self.descs = [*self.plain, *anys] + ([self.bias] if self.bias is not None else [])
        self._lib = lib

    def _forward(self, lib):
        plains = list(self.plain)
        queries = [(QUERY_SRC, 0), (QUERY_WEIGHTS, 0), (QUERY_DST, 0)]
        kinds = [(ARG_SRC, False), (ARG_WEIGHTS, False), (ARG_DST, True)]
        if self.bias is not None:  # the bias is the primitive's second weights argument
            plains.append(self.bias)
            queries.append((QUERY_WEIGHTS, 1))
            kinds.append((ARG_BIAS, False))
        return Primitive(lib, self.forward_pd, plains, queries, kinds)

    def _backward_data(self, lib):
        pd = P()
        check(lib.dnnl_convolution_backward_data_primitive_desc_create(
            ctypes.byref(pd), engine(), _DIRECT, self.anys[0], self.anys[1], self.anys[2],
            *self.geometry, self.forward_pd, None), "input gradient")
        return Primitive(lib, pd, self.plain, [(QUERY_DIFF_SRC, 0), (QUERY_WEIGHTS, 0), (QUERY_DIFF_DST, 0)],
                         [(ARG_DIFF_SRC, True), (ARG_WEIGHTS, False), (ARG_DIFF_DST, False)], own=True)

    def _backward_weights(self, lib, bias=None):
        pd = P()
        check(lib.dnnl_convolution_backward_weights_primitive_desc_create(
            ctypes.byref(pd), engine(), _DIRECT, self.anys[0], self.anys[1], bias, self.anys[2],
            *self.geometry, self.forward_pd, None), "weight gradient")
        plains = list(self.plain)
        queries = [(QUERY_SRC, 0), (QUERY_DIFF_WEIGHTS, 0), (QUERY_DIFF_DST, 0)]
        kinds = [(ARG_SRC, False), (ARG_DIFF_WEIGHTS, True), (ARG_DIFF_DST, False)]
        if bias is not None:  # the bias's gradient is the primitive's second weights output
            plains.append(bias)
            queries.append((QUERY_DIFF_WEIGHTS, 1))
            kinds.append((ARG_DIFF_BIAS, True))
        return Primitive(lib, pd, plains, queries, kinds, own=True)

    def _backward_weights_bias(self, lib):
        return self._backward_weights(lib, self.bias)


def _usable(*arrays) -> bool:
    return all(type(a) is np.ndarray and a.dtype == np.float32 for a in arrays) and 3 <= arrays[0].ndim <= 5


def _format(ndim: int):
    return channels_last if ndim == 4 else channels_last_3d if ndim == 5 else None


def _prefers_last(a) -> bool:
    """Whether ``a`` asks for a channels-last computation (PyTorch's ``suggest_memory_format``)."""
    return a is not None and _format(a.ndim) is not None and suggest_format(a) is not contiguous_format


def _operand(a, last: bool):
    """(``a`` as a primitive takes it, whether that is channels-last): the array itself where it
    is dense row-major or channels-last, else a copy in the call's layout."""
    if a.flags.c_contiguous:
        return a, False
    if is_channels_last(a):
        return a, True
    return (copy_in(a, _format(a.ndim)), True) if last else (np.ascontiguousarray(a), False)


def _empty(shape: tuple, last: bool):
    """A new output array, channels-last with ``last``."""
    if not last:
        return np.empty(shape, np.float32)
    return np.empty((shape[0], *shape[2:], shape[1]), np.float32).transpose(0, -1, *range(1, len(shape) - 1))


def _strides(shape: tuple, last: bool) -> list:
    """The element strides of a dense array of ``shape``, row-major or channels-last."""
    order = (0, *range(2, len(shape)), 1) if last else tuple(range(len(shape)))
    strides, step = [0] * len(shape), 1
    for d in reversed(order):
        strides[d] = step
        step *= shape[d]
    return strides


def _weight_strides(w_shape: tuple, groups: int, last: bool) -> list:
    """The weights' strides as the primitives see them: (groups, O / groups, ...) for grouped ones."""
    strides = _strides(w_shape, last)
    return strides if groups == 1 else [strides[0] * (w_shape[0] // groups)] + strides


def _run(kind: str, shapes: tuple, arrays: list, bias: bool, g, last: bool, layouts: tuple, given=None):
    """``run_family``'s result: the inputs' blocked copies, or None where oneDNN refuses."""
    return run_family(kind, ("convolution", shapes, bias, g, last, layouts),
                      lambda lib: _Convolution(lib, *shapes, bias, g, last, layouts), arrays, given)


def forward(x: np.ndarray, w: np.ndarray, b, g):
    """The convolution's output (N, O, *out), the bias added, channels-last where ``x`` or ``w``
    is; None where oneDNN does not take it."""
    if onednn.library() is None or not _usable(x, w) or (
            b is not None and (type(b) is not np.ndarray or b.dtype != np.float32)):
        return None
    last = _prefers_last(x) or _prefers_last(w)
    (x, x_last), (w, w_last) = _operand(x, last), _operand(w, last and g.groups == 1)
    y = _empty((x.shape[0], w.shape[0]) + g.out_size, last)
    arrays = [x, w, y] + ([np.ascontiguousarray(b)] if b is not None else [])
    ran = _run("forward", (x.shape, w.shape, y.shape), arrays, b is not None, g, last, (x_last, w_last, last))
    return None if ran is None else y


def backward_data(y: np.ndarray, w: np.ndarray, g):
    """The adjoint in x, (N, O, *out) -> (N, C, *in), channels-last where ``y`` or ``w`` is;
    None where oneDNN does not take it."""
    if onednn.library() is None or not _usable(y, w):
        return None
    last = _prefers_last(y) or _prefers_last(w)
    (y, y_last), (w, w_last) = _operand(y, last), _operand(w, last and g.groups == 1)
    x = _empty((y.shape[0], w.shape[1] * g.groups) + g.in_size, last)
    ran = _run("backward_data", (x.shape, w.shape, y.shape), [x, w, y], False, g, last, (last, w_last, y_last))
    return None if ran is None else x


def backward_weights(x: np.ndarray, y: np.ndarray, g):
    """The adjoint in w: (O, C / groups, *kernel), channels-last where ``x`` or ``y`` is; None
    where oneDNN does not take it."""
    if onednn.library() is None or not _usable(x, y):
        return None
    last = _prefers_last(x) or _prefers_last(y)
    (x, x_last), (y, y_last) = _operand(x, last), _operand(y, last)
    w_last = last and g.groups == 1
    w = _empty((y.shape[1], x.shape[1] // g.groups) + g.kernel, w_last)
    ran = _run("backward_weights", (x.shape, w.shape, y.shape), [x, w, y], False, g, last, (x_last, w_last, y_last))
    return None if ran is None else w


def backward(x, w, dy: np.ndarray, g, need_dx: bool, need_dw: bool, biased: bool, need_db: bool):
    """The gradients (dx, dw, db) of the convolution of ``x`` by ``w`` (with a bias where
    ``biased``: the forward's primitives) given the output's gradient ``dy``: dx with
    ``need_dx`` (``w`` may be None without it), dw with ``need_dw`` (``x`` may be None without
    it) and, with ``need_db`` too, the bias's, computed by the weight gradient's primitive in
    its pass over ``dy``; each None where not asked. One reorder of ``dy`` serves both
    primitives when their layouts agree. The gradients are channels-last where the forward's
    operands (or ``dy``) are. None where oneDNN does not take the case."""
    if onednn.library() is None or not _usable(dy) or (need_dx and not _usable(w)) or (need_dw and not _usable(x)):
        return None
    last = _prefers_last(x) or _prefers_last(w) or _prefers_last(dy)
    dy, dy_last = _operand(dy, last)
    n, out_ch = dy.shape[:2]
    w_shape = (out_ch, x.shape[1] // g.groups if need_dw else w.shape[1]) + g.kernel
    x_shape = (n, w_shape[1] * g.groups) + g.in_size
    shapes = (x_shape, w_shape, dy.shape)
    w_last = last and g.groups == 1
    with_db = need_db and need_dw and biased
    dx = dw = db = None
    given = None
    if need_dx:
        dx = _empty(x_shape, last)
        w, w_last = _operand(w, w_last)
        ran = _run("backward_data", shapes, [dx, w, dy], biased, g, last, (last, w_last, dy_last))
        if ran is None:
            return None
        given = {2: ran[2]}  # dy, as the input gradient's primitive reordered it
    if need_dw:
        x, x_last = _operand(x, last)
        dw = _empty(w_shape, last and g.groups == 1)
        arrays = [x, dw, dy]
        if with_db:
            db = np.empty(out_ch, np.float32)
            arrays.append(db)
        if _run("backward_weights_bias" if with_db else "backward_weights", shapes, arrays, biased, g, last,
                (x_last, last and g.groups == 1, dy_last), given) is None:
            return None
    return dx, dw, db
