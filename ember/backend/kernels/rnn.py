"""The LSTM and GRU cells' element-wise part, one step at a time: the loops between the step's
matrix product and its tanh, which NumPy runs as a dozen small calls per step.

For a batch of 20 and 200 hidden units a step's arrays hold 4,000 to 16,000 elements, where
each NumPy call costs a few microseconds over its work: the backward's thirteen calls per
step took about 100 us against about 10 for this loop (a word-level LSTM runs 70 such steps
per training step). The transcendental functions stay NumPy's (vectorized tanh); these
loops only multiply and add, in the NumPy path's order and rounding (``fastmath`` off, no
fused multiply-add), so both paths give the same bits.

Arrays: rows of one step (n, 4H) for gates in (i, f, g, o) column blocks and (n, H) for the
rest, C-contiguous, one float dtype.
"""
from __future__ import annotations

from numba import njit

from . import simd

_JIT = dict(cache=True, nogil=True, fastmath=False, error_model="numpy", boundscheck=False)


@njit(**_JIT)
def lstm_cell_forward(g, scale, shift, c_prev, c):
    """From tanh of the scaled pre-activations in ``g``: g = g * scale + shift (the gates:
    sigmoid as 0.5 tanh(x / 2) + 0.5), then c = f * c_prev + i * g_gate."""
    simd.wide()
    rows, width = g.shape
    hidden = width // 4
    for r in range(rows):
        for j in range(width):
            g[r, j] = g[r, j] * scale[j] + shift[j]
        for j in range(hidden):
            c[r, j] = g[r, hidden + j] * c_prev[r, j] + g[r, j] * g[r, 2 * hidden + j]


@njit(**_JIT)
def lstm_cell_backward(d, g, tc, c_prev, dc, flag, dg):
    """One step back: from the output gradient ``d``, the gates ``g``, tanh(c) ``tc``, the
    previous cell state and the cell gradient ``dc`` (updated in place to the previous
    step's), the gates' pre-activation gradients into ``dg``. ``flag`` is 1 on the g columns
    (tanh: derivative (1 - y)(1 + y)), 0 on the sigmoid ones (y (1 - y))."""
    simd.wide()
    rows, width = g.shape
    hidden = width // 4
    one = g.dtype.type(1)
    for r in range(rows):
        for j in range(hidden):
            dd, t = d[r, j], tc[r, j]
            i, f, gg, o = g[r, j], g[r, hidden + j], g[r, 2 * hidden + j], g[r, 3 * hidden + j]
            dct = (one - t * t) * o * dd + dc[r, j]
            dg[r, j] = dct * gg * ((one - i) * (i + flag[j]))
            dg[r, hidden + j] = dct * c_prev[r, j] * ((one - f) * (f + flag[hidden + j]))
            dg[r, 2 * hidden + j] = dct * i * ((one - gg) * (gg + flag[2 * hidden + j]))
            dg[r, 3 * hidden + j] = dd * t * ((one - o) * (o + flag[3 * hidden + j]))
            dc[r, j] = dct * f


@njit(**_JIT)
def gru_cell_before_tanh(g, hw, b_hn, hn):
    """Gates (r, z, n columns): the r and z columns become (g + hw) / 2 (the sigmoids'
    argument for 0.5 tanh(x / 2) + 0.5), hn = hw's n columns + b_hn (``b_hn`` empty: none)."""
    simd.wide()
    rows, width = g.shape
    hidden = width // 3
    half = g.dtype.type(0.5)
    with_bias = b_hn.shape[0] != 0
    for r in range(rows):
        for j in range(2 * hidden):
            g[r, j] = (g[r, j] + hw[r, j]) * half
        for j in range(hidden):
            hn[r, j] = hw[r, 2 * hidden + j] + b_hn[j] if with_bias else hw[r, 2 * hidden + j]


@njit(**_JIT)
def gru_cell_between_tanhs(g, hn):
    """From the tanh of the r and z columns: r, z = 0.5 t + 0.5; n columns += r * hn."""
    simd.wide()
    rows, width = g.shape
    hidden = width // 3
    half = g.dtype.type(0.5)
    for r in range(rows):
        for j in range(2 * hidden):
            g[r, j] = g[r, j] * half + half
        for j in range(hidden):
            g[r, 2 * hidden + j] = g[r, 2 * hidden + j] + g[r, j] * hn[r, j]


@njit(**_JIT)
def gru_cell_after_tanh(g, h, h_next):
    """h_next = n + z (h - n), from the gates after the n columns' tanh."""
    simd.wide()
    rows, width = g.shape
    hidden = width // 3
    for r in range(rows):
        for j in range(hidden):
            nn = g[r, 2 * hidden + j]
            h_next[r, j] = nn + (h[r, j] - nn) * g[r, hidden + j]


@njit(**_JIT)
def gru_cell_backward(d, g, h, hn, dx, dh_gates, d_prev):
    """One step back from the output gradient ``d``: the input-side pre-activations'
    gradients into ``dx`` (r, z, n columns), the hidden-side ones into ``dh_gates`` and
    d * z, the direct part of the previous step's gradient, into ``d_prev`` (which may be
    ``d`` itself: each element is read before it is written)."""
    simd.wide()
    rows, width = g.shape
    hidden = width // 3
    one = g.dtype.type(1)
    for r in range(rows):
        for j in range(hidden):
            dd, rr, z, nn = d[r, j], g[r, j], g[r, hidden + j], g[r, 2 * hidden + j]
            dn = (one - z) * dd * (one - nn * nn)
            dr = dn * hn[r, j] * ((one - rr) * rr)
            dz = (h[r, j] - nn) * dd * ((one - z) * z)
            dx[r, j], dx[r, hidden + j], dx[r, 2 * hidden + j] = dr, dz, dn
            dh_gates[r, j], dh_gates[r, hidden + j], dh_gates[r, 2 * hidden + j] = dr, dz, dn * rr
            d_prev[r, j] = dd * z
