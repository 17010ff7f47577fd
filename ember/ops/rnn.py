"""Recurrent networks' math: the cells (RNN with tanh or ReLU, LSTM, GRU) and whole layers.

A layer is one direction of one recurrent layer run over a (T, B, I) sequence. Its fast form,
``RecurrentLayer``, is one graph node: one GEMM for the input projections of every time step,
then per step one GEMM with W_hh and the gate math on arrays, in place; its backward runs
back-propagation through time the same way and ends with one GEMM per weight matrix. Built
from ops, a step is about 15 graph nodes; the fused node halves the time of a 2-layer
LSTM(200, 200) forward and backward on (35, 20, 200) (measured: 30 ms against 61 ms of CPU
time, most of the rest being the GEMMs themselves). ``composed_layer`` builds the same layer
from differentiable ops: it is the reference the fused node is tested against, and what
double backward differentiates.

Variable-length batches (packed sequences) arrive padded to (T, B, *), with ``sizes[t]`` the
number of sequences still running at time t (the batch sorted by decreasing length). A step
updates the first sizes[t] rows only, so each sequence's final state is the one after its
own last step, a reverse direction starts each sequence from h0 at its own end, and
outputs past a sequence's end are zero.

Gate order and biases are PyTorch's: LSTM (i, f, g, o); GRU (r, z, n) with
n = tanh(W_in x + b_in + r * (W_hn h + b_hn)).
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.function import Function
from ..autograd.grad_mode import state
from ..backend import gemm, kernels
from ..backend import lstm as lstm_primitive
from ..backend.compat import contiguous
from ..backend.device import xp_of
from .creation import zeros
from .join import cat, stack
from .linalg import linear
from .math import relu, sigmoid, tanh

__all__ = ["rnn_tanh_cell", "rnn_relu_cell", "lstm_cell", "gru_cell"]

GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


# ---- the composed reference ---------------------------------------------------------------
def _lstm_step(xw: Tensor, h: Tensor, c: Tensor, w_hh, b_hh, w_hr):
    i, f, g, o = (xw + linear(h, w_hh, b_hh)).chunk(4, 1)
    c = sigmoid(f) * c + sigmoid(i) * tanh(g)
    h = sigmoid(o) * tanh(c)
    return (h if w_hr is None else linear(h, w_hr)), c


def _gru_step(xw: Tensor, h: Tensor, w_hh, b_hh) -> Tensor:
    xr, xz, xn = xw.chunk(3, 1)
    hr, hz, hn = linear(h, w_hh, b_hh).chunk(3, 1)
    r, z = sigmoid(xr + hr), sigmoid(xz + hz)
    n = tanh(xn + r * hn)
    return n + z * (h - n)


def composed_layer(mode: str, x: Tensor, h0: Tensor, c0, w_ih: Tensor, w_hh: Tensor, b_ih, b_hh,
                   w_hr, sizes, reverse: bool) -> tuple:
    """``RecurrentLayer``'s outputs, (output, h_n) or for LSTM (output, h_n, c_n), built from
    differentiable ops step by step."""
    steps, batch = x.shape[0], x.shape[1]
    xw = linear(x, w_ih, b_ih)
    h, c = h0, c0
    outs = [None] * steps
    for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
        n = batch if sizes is None else sizes[t]
        hp, cp, xt = (h, c, xw[t]) if n == batch else (h[:n], None if c is None else c[:n], xw[t, :n])
        if mode == "LSTM":
            hn, cn = _lstm_step(xt, hp, cp, w_hh, b_hh, w_hr)
        elif mode == "GRU":
            hn, cn = _gru_step(xt, hp, w_hh, b_hh), None
        else:
            pre = xt + linear(hp, w_hh, b_hh)
            hn, cn = (tanh(pre) if mode == "RNN_TANH" else relu(pre)), None
        if n == batch:
            outs[t], h, c = hn, hn, cn
        else:  # finished sequences keep their state; their outputs are zero
            outs[t] = cat([hn, zeros(batch - n, hn.shape[1], dtype=hn.dtype, device=hn.device)])
            h = cat([hn, h[n:]])
            c = None if c is None else cat([cn, c[n:]])
    out = stack(outs)
    return (out, h, c) if mode == "LSTM" else (out, h)


class _Boundary(Function):
    """The identity; marks where the nested backward of ``_grad_through`` stops."""

    @staticmethod
    def forward(ctx, a):
        return a._data

    @staticmethod
    def backward(ctx, grad):
        return grad


def _grad_through(fn, inputs: tuple, grads: tuple) -> tuple:
    """Gradients of ``fn(*inputs)`` (given its outputs' gradients) for each input that requires
    one, as a recorded graph that reaches the inputs (so they can be differentiated again).

    A nested backward computes them; each input enters ``fn`` through a ``_Boundary`` node
    whose edges are cut while it runs, so it stays inside ``fn``'s graph (the graph upstream
    of the inputs belongs to the backward that called this)."""
    from ..autograd import grad
    proxies = [_Boundary.apply(t) if t is not None and t._requires_grad else None for t in inputs]
    outputs = fn(*(p if p is not None else t for p, t in zip(proxies, inputs)))
    roots = [(o, g) for o, g in zip(outputs, grads) if g is not None]
    wanted = [p for p in proxies if p is not None]
    if not roots or not wanted:
        return (None,) * len(inputs)
    cut = [(p.grad_fn, p.grad_fn._edges) for p in wanted]
    for node, _ in cut:
        node._edges = ()
    try:
        found = iter(grad([o for o, _ in roots], wanted, [g for _, g in roots], create_graph=True,
                          allow_unused=True))
    finally:
        for node, edges in cut:
            node._edges = edges
    return tuple(None if p is None else next(found) for p in proxies)


# ---- the fused layer: forward and back-propagation through time on arrays ----------------
def _lstm_constants(hidden: int, like) -> tuple:
    """(scale, shift, tanh_flag) over the LSTM's gate columns (i, f, g, o): sigmoid(x) is
    computed as 0.5 * tanh(0.5 x) + 0.5 (one transcendental, no overflow) and tanh(x) as
    1 * tanh(1 x) + 0; ``tanh_flag`` (1 on the g columns) turns the derivative s(1 - s) into
    (1 - y)(1 + y) there."""
    def cols(sig: float, tan: float):
        return np.repeat(np.array([sig, sig, tan, sig], dtype=like.dtype, like=like), hidden)
    return cols(0.5, 1.0), cols(0.5, 0.0), cols(0.0, 1.0)


def _cell_kernels(*arrays):
    """The compiled LSTM and GRU cell loops (backend/kernels/rnn.py) where they take these arrays
    (float32/float64 NumPy, C-contiguous), else None: the NumPy passes run."""
    k = kernels.cpu()
    if k is None or not kernels.usable(*arrays) or not all(a.flags.c_contiguous for a in arrays):
        return None
    return k.rnn


def _lstm_forward(xw, h0, c0, w_hh, w_hr, sizes):
    """Runs the steps in place on ``xw`` (which ends up holding the activated gates)."""
    steps, batch, gates = xw.shape
    hidden = gates // 4
    dt = xw.dtype
    hs = np.empty((steps + 1,) + h0.shape, dt, like=xw)
    cs = np.empty((steps + 1,) + c0.shape, dt, like=xw)
    hs[0], cs[0] = h0, c0
    tanh_c = np.empty((steps,) + c0.shape, dt, like=xw)
    new = np.zeros if sizes is not None else np.empty  # packed: unused rows must stay finite
    h_raw = None if w_hr is None else new((steps,) + c0.shape, dt, like=xw)
    scale, shift, _ = _lstm_constants(hidden, xw)
    # W_hh^T as a row-major copy, once: oneDNN multiplies it 1.5x faster than the transposed
    # view (20 x 200 x 800: 27 against 42 us)
    w_hh_t = contiguous(w_hh.T)
    cell = _cell_kernels(xw, hs, cs)
    for k in range(steps):
        n = batch if sizes is None else sizes[k]
        g = xw[k, :n]
        gemm.matmul(hs[k, :n], w_hh_t, out=g, accumulate=True)
        g *= scale
        np.tanh(g, out=g)
        c = cs[k + 1, :n]
        i, f, gg, o = g[:, :hidden], g[:, hidden:2 * hidden], g[:, 2 * hidden:3 * hidden], g[:, 3 * hidden:]
        if cell is not None:
            cell.lstm_cell_forward(g, scale, shift, cs[k, :n], c)
        else:
            g *= scale
            g += shift
            np.multiply(f, cs[k, :n], out=c)
            c += i * gg
        tc = tanh_c[k, :n]
        np.tanh(c, out=tc)
        if w_hr is None:
            np.multiply(o, tc, out=hs[k + 1, :n])
        else:
            np.multiply(o, tc, out=h_raw[k, :n])
            gemm.matmul(h_raw[k, :n], w_hr.T, out=hs[k + 1, :n])
        if n < batch:
            hs[k + 1, n:], cs[k + 1, n:] = hs[k, n:], cs[k, n:]
    return hs, cs, tanh_c, h_raw


def _lstm_backward(saved, w_hh, w_hr, dout, dh, dc, sizes):
    """BPTT; returns the gate pre-activations' gradients (T, B, 4H), dh0, dc0, dW_hr."""
    gates, hs, cs, tanh_c, h_raw = saved
    steps, batch, width = gates.shape
    hidden = width // 4
    new = np.zeros if sizes is not None else np.empty
    d_gates = new(gates.shape, gates.dtype, like=gates)
    d_proj = None if w_hr is None else new((steps,) + hs.shape[1:], gates.dtype, like=gates)
    _, _, flag = _lstm_constants(hidden, gates)
    cell = _cell_kernels(gates, d_gates, dh, dc, cs, tanh_c)
    for k in range(steps - 1, -1, -1):
        n = batch if sizes is None else sizes[k]
        d = dh[:n] if dout is None else dh[:n] + dout[k, :n]
        if w_hr is not None:
            d_proj[k, :n] = d
            d = gemm.matmul(d, w_hr)
        g, dg = gates[k, :n], d_gates[k, :n]
        if cell is not None:  # d is C-contiguous: rows of dh, a sum or a product
            cell.lstm_cell_backward(d, g, tanh_c[k, :n], cs[k, :n], dc[:n], flag, dg)
            gemm.matmul(dg, w_hh, out=dh[:n])
            continue
        i, f, gg, o = g[:, :hidden], g[:, hidden:2 * hidden], g[:, 2 * hidden:3 * hidden], g[:, 3 * hidden:]
        di, df, dgg, do = (dg[:, :hidden], dg[:, hidden:2 * hidden], dg[:, 2 * hidden:3 * hidden],
                           dg[:, 3 * hidden:])
        tc = tanh_c[k, :n]
        np.multiply(d, tc, out=do)
        dct = tc * tc  # the cell state's gradient: dc + d * o * (1 - tanh(c)^2)
        np.subtract(1, dct, out=dct)
        dct *= o
        dct *= d
        dct += dc[:n]
        np.multiply(dct, gg, out=di)
        np.multiply(dct, i, out=dgg)
        np.multiply(dct, cs[k, :n], out=df)
        np.multiply(dct, f, out=dc[:n])
        deriv = 1 - g  # s(1 - s) on sigmoid columns, (1 - y)(1 + y) on the tanh one
        deriv *= g + flag
        dg *= deriv
        gemm.matmul(dg, w_hh, out=dh[:n])
    d_w_hr = None
    if w_hr is not None:
        d_w_hr = gemm.matmul(d_proj.reshape(-1, d_proj.shape[-1]).T, h_raw.reshape(-1, hidden))
    return d_gates, d_gates, dh, dc, d_w_hr


def _gru_forward(xw, h0, w_hh, b_hn, sizes):
    """Runs the steps in place on ``xw`` (ending as r, z, n); also keeps W_hn h + b_hn."""
    steps, batch, gates = xw.shape
    hidden = gates // 3
    dt = xw.dtype
    hs = np.empty((steps + 1,) + h0.shape, dt, like=xw)
    hs[0] = h0
    hn_all = np.empty((steps,) + h0.shape, dt, like=xw)
    w_hh_t = contiguous(w_hh.T)  # as in _lstm_forward
    cell = _cell_kernels(xw, hs, hn_all, *(() if b_hn is None else (b_hn,)))
    no_bias = np.empty(0, dt)  # the kernels' "no b_hn"
    for k in range(steps):
        n = batch if sizes is None else sizes[k]
        h, g = hs[k, :n], xw[k, :n]
        hw = gemm.matmul(h, w_hh_t)
        if cell is not None:
            cell.gru_cell_before_tanh(g, hw, no_bias if b_hn is None else b_hn, hn_all[k, :n])
            np.tanh(g[:, :2 * hidden], out=g[:, :2 * hidden])
            cell.gru_cell_between_tanhs(g, hn_all[k, :n])
            np.tanh(g[:, 2 * hidden:], out=g[:, 2 * hidden:])
            cell.gru_cell_after_tanh(g, h, hs[k + 1, :n])
            if n < batch:
                hs[k + 1, n:] = hs[k, n:]
            continue
        rz = g[:, :2 * hidden]
        rz += hw[:, :2 * hidden]
        rz *= 0.5  # sigmoid as 0.5 * tanh(0.5 x) + 0.5
        np.tanh(rz, out=rz)
        rz *= 0.5
        rz += 0.5
        hn = hn_all[k, :n]
        if b_hn is None:
            hn[...] = hw[:, 2 * hidden:]
        else:
            np.add(hw[:, 2 * hidden:], b_hn, out=hn)
        nn = g[:, 2 * hidden:]
        nn += g[:, :hidden] * hn
        np.tanh(nn, out=nn)
        step = h - nn  # h' = n + z * (h - n)
        step *= g[:, hidden:2 * hidden]
        np.add(nn, step, out=hs[k + 1, :n])
        if n < batch:
            hs[k + 1, n:] = hs[k, n:]
    return hs, hn_all


def _gru_backward(saved, w_hh, dout, dh, sizes):
    """BPTT; returns the gradients of the input-side and hidden-side pre-activations."""
    gates, hs, hn_all = saved
    steps, batch, width = gates.shape
    hidden = width // 3
    new = np.zeros if sizes is not None else np.empty
    d_x = new(gates.shape, gates.dtype, like=gates)  # for (W_ir x, W_iz x, W_in x) + b_ih
    d_h = new(gates.shape, gates.dtype, like=gates)  # for (W_hr h, W_hz h, W_hn h) + b_hh
    cell = _cell_kernels(gates, hs, hn_all, d_x, d_h, dh)
    for k in range(steps - 1, -1, -1):
        n = batch if sizes is None else sizes[k]
        d = dh[:n] if dout is None else dh[:n] + dout[k, :n]
        g, h = gates[k, :n], hs[k, :n]
        if cell is not None:  # d is C-contiguous: rows of dh, or a sum
            cell.gru_cell_backward(d, g, h, hn_all[k, :n], d_x[k, :n], d_h[k, :n], dh[:n])
            gemm.matmul(d_h[k, :n], w_hh, out=dh[:n], accumulate=True)
            continue
        r, z, nn = g[:, :hidden], g[:, hidden:2 * hidden], g[:, 2 * hidden:]
        dx, dhk = d_x[k, :n], d_h[k, :n]
        dr, dz, dn = dx[:, :hidden], dx[:, hidden:2 * hidden], dx[:, 2 * hidden:]
        np.subtract(1, z, out=dn)  # dn = d (1 - z) (1 - n^2)
        dn *= d
        sq = nn * nn
        np.subtract(1, sq, out=sq)
        dn *= sq
        np.subtract(h, nn, out=dz)  # dz = d (h - n)
        dz *= d
        np.multiply(dn, hn_all[k, :n], out=dr)
        np.multiply(dn, r, out=dhk[:, 2 * hidden:])
        rz, drz = g[:, :2 * hidden], dx[:, :2 * hidden]
        deriv = 1 - rz
        deriv *= rz
        drz *= deriv
        dhk[:, :2 * hidden] = drz
        d_prev = d * z
        gemm.matmul(dhk, w_hh, out=d_prev, accumulate=True)
        dh[:n] = d_prev
    return d_x, d_h, dh


def _rnn_forward(xw, h0, w_hh, relu_: bool, sizes):
    steps, batch, _ = xw.shape
    hs = np.empty((steps + 1,) + h0.shape, xw.dtype, like=xw)
    hs[0] = h0
    w_hh_t = contiguous(w_hh.T)  # as in _lstm_forward
    for k in range(steps):
        n = batch if sizes is None else sizes[k]
        g = xw[k, :n]
        gemm.matmul(hs[k, :n], w_hh_t, out=g, accumulate=True)
        if relu_:
            np.maximum(g, 0, out=hs[k + 1, :n])
        else:
            np.tanh(g, out=hs[k + 1, :n])
        if n < batch:
            hs[k + 1, n:] = hs[k, n:]
    return (hs,)


def _rnn_backward(saved, w_hh, relu_: bool, dout, dh, sizes):
    (hs,) = saved
    steps, batch = hs.shape[0] - 1, hs.shape[1]
    d_pre = (np.zeros if sizes is not None else np.empty)((steps,) + hs.shape[1:], hs.dtype, like=hs)
    for k in range(steps - 1, -1, -1):
        n = batch if sizes is None else sizes[k]
        d = dh[:n] if dout is None else dh[:n] + dout[k, :n]
        y, dp = hs[k + 1, :n], d_pre[k, :n]
        if relu_:
            np.multiply(d, y > 0, out=dp)
        else:
            np.multiply(y, y, out=dp)
            np.subtract(1, dp, out=dp)
            dp *= d
        gemm.matmul(dp, w_hh, out=dh[:n])
    return d_pre, d_pre, dh


def _flat(a):
    return a.reshape(-1, a.shape[-1])


class RecurrentLayer(Function):
    """One direction of one recurrent layer over a whole sequence, in one graph node.

    forward(x (T, B, I), h0 (B, P), c0 (B, H) or None, w_ih, w_hh, b_ih, b_hh, w_hr,
    mode, sizes, reverse) -> output (T, B, P), h_n (B, P) and, for LSTM, c_n (B, H).
    """

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, mode, sizes, reverse):
        ctx.set_materialize_grads(False)
        ctx.mode, ctx.sizes, ctx.reverse = mode, sizes, reverse
        ctx.fused = False
        if mode == "LSTM" and w_hr is None and sizes is None:
            out = _fused_lstm_forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse)
            if out is not None:
                return out
        xs = x._data[::-1] if reverse else x._data  # in processing order
        if reverse and sizes is not None:
            sizes = sizes[::-1]
        steps, batch = xs.shape[:2]
        xw = gemm.matmul(_flat(xs), w_ih._data.T).reshape(steps, batch, w_ih._data.shape[0])
        hidden = xw.shape[2] // GATES[mode]
        if b_ih is not None:
            xw += b_ih._data
        if b_hh is not None:  # joins the input side, but for the GRU's n gate (r multiplies it)
            if mode == "GRU":
                xw[..., :2 * hidden] += b_hh._data[:2 * hidden]
            else:
                xw += b_hh._data
        w = w_hh._data
        if mode == "LSTM":
            saved = (xw,) + _lstm_forward(xw, h0._data, c0._data, w, _data(w_hr), sizes)
        elif mode == "GRU":
            b_hn = None if b_hh is None else b_hh._data[2 * hidden:]
            saved = (xw,) + _gru_forward(xw, h0._data, w, b_hn, sizes)
        else:
            saved = _rnn_forward(xw, h0._data, w, mode == "RNN_RELU", sizes)
        ctx.save_for_backward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, *saved)
        hs = saved[0] if mode.startswith("RNN") else saved[1]
        out = hs[1:]
        if sizes is not None:  # zero outputs past each sequence's end (a new array)
            xp = xp_of(out)
            out = out * (xp.arange(batch) < xp.asarray(sizes)[:, None])[..., None]
        elif not reverse:
            out = out.copy()  # never hand out the storage backward reads
        if reverse:
            out = contiguous(out[::-1])
        if mode == "LSTM":
            return out, hs[-1].copy(), saved[2][-1].copy()
        return out, hs[-1].copy()

    @staticmethod
    def backward(ctx, dout, dh_n, dc_n=None):
        mode, sizes, reverse = ctx.mode, ctx.sizes, ctx.reverse
        x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, *saved = ctx.saved_tensors
        inputs = (x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr)
        if state.enabled:
            # create_graph=True: the gradient must be differentiable again, which the array
            # code below is not, so the composed layer is differentiated instead.
            grads = (dout, dh_n, dc_n) if mode == "LSTM" else (dout, dh_n)
            return _grad_through(lambda *a: composed_layer(mode, *a, sizes, reverse), inputs,
                                 grads) + (None, None, None)
        saved = [None if s is None else s._data for s in saved]
        if ctx.fused:
            return _fused_lstm_backward(ctx, inputs, saved, dout, dh_n, dc_n)
        xs = x._data[::-1] if reverse else x._data
        if reverse and sizes is not None:
            sizes = sizes[::-1]
        d_out = None if dout is None else (dout._data[::-1] if reverse else dout._data)
        dh = np.zeros_like(h0._data) if dh_n is None else dh_n._data.copy()
        w = w_hh._data
        d_w_hr = None
        if mode == "LSTM":
            dc = np.zeros_like(c0._data) if dc_n is None else dc_n._data.copy()
            d_x, d_h, dh, dc, d_w_hr = _lstm_backward(saved, w, _data(w_hr), d_out, dh, dc, sizes)
        elif mode == "GRU":
            d_x, d_h, dh = _gru_backward(saved, w, d_out, dh, sizes)
        else:
            d_x, d_h, dh = _rnn_backward(saved, w, mode == "RNN_RELU", d_out, dh, sizes)
        hs = saved[0] if mode.startswith("RNN") else saved[1]
        need = ctx.needs_input_grad
        g = [None] * 8
        if need[0]:
            gx = gemm.matmul(_flat(d_x), w_ih._data).reshape(xs.shape)
            g[0] = contiguous(gx[::-1]) if reverse else gx
        g[1] = dh if need[1] else None
        g[2] = dc if mode == "LSTM" and need[2] else None
        if need[3]:
            g[3] = gemm.matmul(_flat(d_x).T, _flat(xs))
        if need[4]:
            g[4] = gemm.matmul(_flat(d_h).T, _flat(hs[:-1]))
        if need[5]:
            g[5] = d_x.sum((0, 1))
        if need[6]:
            g[6] = d_h.sum((0, 1))
        g[7] = d_w_hr if need[7] else None
        return tuple(None if a is None else Tensor._make(a) for a in g) + (None, None, None)


def _data(t):
    return None if t is None else t._data


def _fused_lstm_forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse: bool):
    """``RecurrentLayer.forward`` of an LSTM layer through oneDNN's primitive
    (``backend/lstm.py``), or None where it does not take the arrays (the loops above run)."""
    hidden4 = w_ih._data.shape[0]
    biases = [b._data for b in (b_ih, b_hh) if b is not None]
    bias = biases[0] + biases[1] if len(biases) == 2 else (
        biases[0] if biases else np.zeros(hidden4, dtype=w_ih._data.dtype))
    training = any(ctx.needs_input_grad)
    out = lstm_primitive.forward(contiguous(x._data), h0._data, c0._data, w_ih._data, w_hh._data,
                                 contiguous(bias), reverse, training)
    if out is None:
        return None
    y, h_n, c_n, workspace = out
    ctx.fused = True
    ctx.save_for_backward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, None, bias, y, h_n, c_n, workspace)
    # the outputs are copies where backward reads the arrays (an in-place change to an output
    # must not reach them)
    return (y.copy(), h_n.copy(), c_n.copy()) if training else (y, h_n, c_n)


def _fused_lstm_backward(ctx, inputs, saved, dout, dh_n, dc_n):
    """``RecurrentLayer.backward`` after ``_fused_lstm_forward``: the primitive's backward."""
    x, h0, c0, w_ih, w_hh, b_ih, b_hh, _ = inputs
    bias, y, h_n, c_n, workspace = saved
    grads = [np.zeros_like(a) if g is None else contiguous(g._data) for g, a in ((dout, y), (dh_n, h_n), (dc_n, c_n))]
    found = lstm_primitive.backward(contiguous(x._data), h0._data, c0._data, w_ih._data, w_hh._data, bias, y,
                                    h_n, c_n, workspace, *grads, ctx.reverse)
    if found is None:  # not expected: the forward's arrays took the primitive
        return _grad_through(lambda *a: composed_layer("LSTM", *a, None, ctx.reverse), inputs,
                             (dout, dh_n, dc_n)) + (None, None, None)
    dx, dh0, dc0, dw_ih, dw_hh, db = found
    need = ctx.needs_input_grad
    g = [dx, dh0, dc0, dw_ih, dw_hh, db if b_ih is not None else None, None, None]
    if b_hh is not None:  # the one bias's gradient is each of PyTorch's two
        g[6] = db.copy() if g[5] is not None else db
    return tuple(Tensor._make(a) if a is not None and n else None for a, n in zip(g, need)) + (None, None, None)


def rnn_layer(mode: str, input: Tensor, h0: Tensor, c0, w_ih: Tensor, w_hh: Tensor, b_ih=None,
              b_hh=None, w_hr=None, sizes=None, reverse: bool = False) -> tuple:
    """One direction of one layer of ``mode`` ("RNN_TANH", "RNN_RELU", "LSTM", "GRU") over a
    (T, B, I) input; see ``RecurrentLayer``. Arguments are not checked (nn.RNNBase does)."""
    return RecurrentLayer.apply(input, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, mode, sizes, reverse)


# ---- cells ---------------------------------------------------------------------------------
def _check_cell(input: Tensor, hx: tuple, w_ih: Tensor, w_hh: Tensor) -> None:
    if input.dim() != 2:
        raise RuntimeError(f"rnn cell: expected input of shape (batch, input_size), got {list(input.shape)}")
    if input.shape[1] != w_ih.shape[1]:
        raise RuntimeError(f"input has inconsistent input_size: got {input.shape[1]} expected {w_ih.shape[1]}")
    for i, h in enumerate(hx):
        if h.dim() != 2 or h.shape[0] != input.shape[0]:
            raise RuntimeError(f"Input batch size {input.shape[0]} doesn't match hidden{i} batch size "
                               f"{h.shape[0] if h.dim() else 0}")
        if h.shape[1] != w_hh.shape[1]:
            raise RuntimeError(f"hidden{i} has inconsistent hidden_size: got {h.shape[1]}, expected "
                               f"{w_hh.shape[1]}")
    for t in (*hx, w_ih, w_hh):
        if t.dtype != input.dtype:
            raise RuntimeError(f"rnn cell: expected all tensors to have the input's dtype {input.dtype}, "
                               f"got {t.dtype}. Convert with .to({input.dtype}) (or the cell with "
                               f".to({t.dtype})).")


def _cell(mode: str, input: Tensor, h: Tensor, c, w_ih, w_hh, b_ih, b_hh) -> tuple:
    _check_cell(input, (h,) if c is None else (h, c), w_ih, w_hh)
    return rnn_layer(mode, input.unsqueeze(0), h, c, w_ih, w_hh, b_ih, b_hh)[1:]


def rnn_tanh_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
                  b_hh: Tensor | None = None) -> Tensor:
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh). Shape: input (B, I), hx (B, H) -> (B, H)."""
    return _cell("RNN_TANH", input, hx, None, w_ih, w_hh, b_ih, b_hh)[0]


def rnn_relu_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
                  b_hh: Tensor | None = None) -> Tensor:
    """h' = relu(x W_ih^T + b_ih + h W_hh^T + b_hh). Shape: input (B, I), hx (B, H) -> (B, H)."""
    return _cell("RNN_RELU", input, hx, None, w_ih, w_hh, b_ih, b_hh)[0]


def lstm_cell(input: Tensor, hx: tuple, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
              b_hh: Tensor | None = None) -> tuple:
    """One LSTM step: (h', c') from input (B, I) and hx = (h (B, H), c (B, H))."""
    return _cell("LSTM", input, hx[0], hx[1], w_ih, w_hh, b_ih, b_hh)


def gru_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
             b_hh: Tensor | None = None) -> Tensor:
    """One GRU step: h' from input (B, I) and hx (B, H)."""
    return _cell("GRU", input, hx, None, w_ih, w_hh, b_ih, b_hh)[0]
