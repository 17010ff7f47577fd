"""One LSTM layer of float32 CPU arrays through oneDNN's LSTM primitives, forward and back
through time in one call each.

ember's own layer (``ops/rnn.py``) runs a step at a time from Python: a matrix product of
(batch, hidden) rows, then the cell's element-wise loop, 35 times a sequence. oneDNN's
primitive (the one under PyTorch's CPU LSTM) runs the whole sequence in C with its weights
packed once for its GEMM. On a word-level LM's layer (35 steps, batch 20, 200 units) one
direction took 3.7-4.5 ms forward against 6.5-10 ms step by step, and 12.4-12.9 ms forward
and backward against 15.3-16.8 (PyTorch: 11.9-12.2; 2 cores).

``forward(x, h0, c0, w_ih, w_hh, bias, reverse, training)`` takes x (T, B, I), states
(B, H), PyTorch's weights (4H, I) and (4H, H) with gates (i, f, g, o) (oneDNN's order too),
and one bias (4H) (PyTorch's two summed): it returns (output (T, B, H), h_n, c_n, workspace)
(workspace: what the backward reads, None without ``training``), or None where oneDNN does
not take the case (no library, another dtype), and the caller runs its own loop. With
``reverse`` the layer reads the sequence from its end, as a bidirectional layer's second
direction does, without reversing any array. ``backward`` takes the forward's arrays and the
gradients of its outputs, and returns those of x, h0, c0, w_ih, w_hh and the bias.

The weights are read in PyTorch's layout through strided descriptors, reordered by oneDNN
into its packed one on each call. oneDNN adds the weight gradients into its outputs
(``Primitive``'s ``accumulating``): they start from zero. oneDNN names its CPU RNN
implementation ``ref`` although its products are JIT-compiled GEMMs, so it is accepted
(``reference_ok``) where other primitives' reference loops are refused.
"""
from __future__ import annotations

import ctypes

import numpy as np

from . import onednn
from .primitives import (ANY, FORWARD_TRAINING, POINTER, QUERY_ARG, QUERY_WORKSPACE, Family, I, P, Primitive,
                         check, desc, engine, family, run_family)

_FORWARD_INFERENCE, _BACKWARD = 96, 128
_LEFT_TO_RIGHT, _RIGHT_TO_LEFT = 1, 2  # dnnl_unidirectional_left2right / right2left
# execute arguments (dnnl_types.h): layer, state and cell state in and out, weights, bias
SRC, SRC_ITER, SRC_ITER_C = 1, 2, 3
DST, DST_ITER, DST_ITER_C = 17, 18, 19
WEIGHTS, WEIGHTS_ITER, BIAS, WORKSPACE = 33, 34, 41, 64
DIFF = 128  # DIFF + an argument: its gradient


def _declare(lib) -> None:
    lib.dnnl_lstm_forward_primitive_desc_create.argtypes = [POINTER, P, I, I] + [P] * 11 + [ctypes.c_uint, P]
    lib.dnnl_lstm_backward_primitive_desc_create.argtypes = [POINTER, P, I, I] + [P] * 22 + [ctypes.c_uint, P, P]


class _Lstm(Family):
    """The primitives of one geometry (steps, batch, input size, hidden size, direction)."""

    def __init__(self, lib, steps, batch, inputs, hidden, reverse):
        _declare(lib)
        self.direction = _RIGHT_TO_LEFT if reverse else _LEFT_TO_RIGHT
        layer_in, layer_out = desc(lib, (steps, batch, inputs)), desc(lib, (steps, batch, hidden))
        state = desc(lib, (1, 1, batch, hidden))
        # PyTorch's (4H, I) weights seen as oneDNN's (layers, directions, I, gates, H) dims
        w_layer = desc(lib, (1, 1, inputs, 4, hidden), strides=(4 * hidden * inputs,) * 2 + (1, hidden * inputs, inputs))
        w_iter = desc(lib, (1, 1, hidden, 4, hidden), strides=(4 * hidden * hidden,) * 2 + (1, hidden * hidden, hidden))
        bias = desc(lib, (1, 1, 4, hidden))
        w_any = [desc(lib, (1, 1, inputs, 4, hidden), ANY), desc(lib, (1, 1, hidden, 4, hidden), ANY)]
        self.mds = (layer_in, state, state, *w_any, bias, layer_out, state, state)
        self.forward_pd = self._forward_pd(lib, FORWARD_TRAINING)
        self.plain = {SRC: layer_in, SRC_ITER: state, SRC_ITER_C: state, WEIGHTS: w_layer, WEIGHTS_ITER: w_iter,
                      BIAS: bias, DST: layer_out, DST_ITER: state, DST_ITER_C: state}
        self.descs = [layer_in, layer_out, state, w_layer, w_iter, bias, *w_any]
        self._lib = lib

    def _forward_pd(self, lib, prop: int):
        pd = P()
        src, it, itc, wl, wi, bias, dst, dit, ditc = self.mds
        check(lib.dnnl_lstm_forward_primitive_desc_create(
            ctypes.byref(pd), engine(), prop, self.direction, src, it, itc, wl, wi, None, None, bias, dst, dit,
            ditc, 0, None), "lstm forward")
        return pd

    def _primitive(self, lib, pd, args, outputs, own, accumulating=()):
        plains = []
        for a in args:
            if a == WORKSPACE:
                plains.append(lib.dnnl_primitive_desc_query_md(pd, QUERY_WORKSPACE, 0))
            else:
                plains.append(self.plain[a - DIFF if a >= DIFF else a])
        return Primitive(lib, pd, plains, [(QUERY_ARG, a) for a in args], [(a, a in outputs) for a in args],
                         own=own, accumulating=[args.index(a) for a in accumulating], reference_ok=True)

    def _training(self, lib):
        args = [SRC, SRC_ITER, SRC_ITER_C, WEIGHTS, WEIGHTS_ITER, BIAS, DST, DST_ITER, DST_ITER_C, WORKSPACE]
        return self._primitive(lib, self.forward_pd, args, {DST, DST_ITER, DST_ITER_C, WORKSPACE}, own=False)

    def _inference(self, lib):
        args = [SRC, SRC_ITER, SRC_ITER_C, WEIGHTS, WEIGHTS_ITER, BIAS, DST, DST_ITER, DST_ITER_C]
        return self._primitive(lib, self._forward_pd(lib, _FORWARD_INFERENCE), args, {DST, DST_ITER, DST_ITER_C},
                               own=True)

    def _backward(self, lib):
        pd = P()
        src, it, itc, wl, wi, bias, dst, dit, ditc = self.mds
        check(lib.dnnl_lstm_backward_primitive_desc_create(
            ctypes.byref(pd), engine(), _BACKWARD, self.direction, src, it, itc, wl, wi, None, None, bias, dst,
            dit, ditc, src, it, itc, wl, wi, None, None, bias, dst, dit, ditc, 0, self.forward_pd, None),
            "lstm backward")
        ins = [SRC, SRC_ITER, SRC_ITER_C, WEIGHTS, WEIGHTS_ITER, BIAS, DST, DST_ITER, DST_ITER_C, WORKSPACE,
               DIFF + DST, DIFF + DST_ITER, DIFF + DST_ITER_C]
        outs = [DIFF + SRC, DIFF + SRC_ITER, DIFF + SRC_ITER_C, DIFF + WEIGHTS, DIFF + WEIGHTS_ITER, DIFF + BIAS]
        return self._primitive(lib, pd, ins + outs, set(outs), own=True, accumulating=outs[3:])

    def workspace_bytes(self) -> int:
        """The size of what the training forward keeps for the backward."""
        lib = self._lib
        return lib.dnnl_memory_desc_get_size(lib.dnnl_primitive_desc_query_md(self.forward_pd, QUERY_WORKSPACE, 0))


def takes(*arrays) -> bool:
    """Whether oneDNN runs a layer of these arrays: float32 NumPy arrays, C-contiguous, none
    empty (oneDNN refuses to run an empty batch)."""
    return onednn.library() is not None and all(
        type(a) is np.ndarray and a.dtype == np.float32 and a.flags.c_contiguous and a.size for a in arrays)


def _family(shape: tuple, reverse: bool):
    key = ("lstm",) + shape + (reverse,)
    return key, lambda lib: _Lstm(lib, *shape, reverse)


def forward(x, h0, c0, w_ih, w_hh, bias, reverse: bool, training: bool):
    """See the module's notes: (output, h_n, c_n, workspace) or None."""
    if not takes(x, h0, c0, w_ih, w_hh, bias):
        return None
    steps, batch, inputs = x.shape
    hidden = h0.shape[-1]
    key, make = _family((steps, batch, inputs, hidden), reverse)
    y = np.empty((steps, batch, hidden), np.float32)
    h_n, c_n = np.empty((batch, hidden), np.float32), np.empty((batch, hidden), np.float32)
    arrays = [x, h0, c0, w_ih, w_hh, bias, y, h_n, c_n]
    workspace = None
    if training:
        layer = family(key, make)
        if layer is None:
            return None
        workspace = np.empty(layer.workspace_bytes(), np.uint8)
        arrays.append(workspace)
    done = run_family("training" if training else "inference", key, make, arrays)
    return None if done is None else (y, h_n, c_n, workspace)


def backward(x, h0, c0, w_ih, w_hh, bias, y, h_n, c_n, workspace, dy, dh_n, dc_n, reverse: bool):
    """Gradients of x, h0, c0, w_ih, w_hh and the bias from those of the forward's outputs
    (arrays of their shapes: zeros for an output that got none), or None."""
    if not takes(x, h0, c0, w_ih, w_hh, bias, y, h_n, c_n, dy, dh_n, dc_n):
        return None
    steps, batch, inputs = x.shape
    hidden = h0.shape[-1]
    key, make = _family((steps, batch, inputs, hidden), reverse)
    grads = [np.empty_like(x), np.empty_like(h0), np.empty_like(c0), np.empty_like(w_ih), np.empty_like(w_hh),
             np.empty_like(bias)]
    arrays = [x, h0, c0, w_ih, w_hh, bias, y, h_n, c_n, workspace, dy, dh_n, dc_n] + grads
    return None if run_family("backward", key, make, arrays) is None else grads
