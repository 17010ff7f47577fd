"""The LSTM cell's element-wise part, one step at a time: the loops between the step's
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

_JIT = dict(cache=True, nogil=True, fastmath=False, error_model="numpy", boundscheck=False)


@njit(**_JIT)
def lstm_cell_forward(g, scale, shift, c_prev, c):
    """From tanh of the scaled pre-activations in ``g``: g = g * scale + shift (the gates:
    sigmoid as 0.5 tanh(x / 2) + 0.5), then c = f * c_prev + i * g_gate."""
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
