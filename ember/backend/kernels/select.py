"""The piecewise-linear ops and their gradients in one pass each: ReLU, clamp (hardtanh, relu6),
leaky ReLU, hardsigmoid and hardswish, ``where``, and the masked gradient of ReLU, clamp and
the others: the incoming gradient where a mask holds (or where the saved values are above a
bound), else 0.

NumPy's paths are several passes and temporaries, and its float32 ``maximum``, ``minimum``
and ``where`` are slow on AVX2 (a 512k-element clamp took 0.51 ms, leaky ReLU 2.4, against
PyTorch's 0.03 and 0.07); here each op is one loop: 0.06-0.09 ms. A select gives the same
values as the mask product (bit for bit: each element is the gradient's or zero), without
scanning for inf * 0 = nan. Clamping keeps -0.0, as PyTorch does. One thread:
memory-bound, like the other kernels beside OpenBLAS (see conv.py). Every loop reads its
operands before it selects: a read inside a branch of the select compiles to a branch, which
a mixed condition mispredicts (``where`` on a random condition: 2.1 ms against 0.15).
"""
from __future__ import annotations

from numba import njit

from . import simd

_JIT = dict(cache=True, nogil=True, fastmath=False, error_model="numpy", boundscheck=False)


@njit(**_JIT)
def relu(x, out):
    """out = x, or 0 where x < 0 (NaN and -0.0 pass, as in PyTorch's relu): NumPy's
    ``maximum(x, 0)`` took 2-5x longer. One thread: a parallel loop made training steps slower
    (the MLP's by 15%), its second thread waiting on the core oneDNN's pool still spins on
    (measured while Numba's threads were a pool apart from oneDNN's)."""
    simd.wide()
    zero = x.dtype.type(0)
    for k in range(x.shape[0]):
        v = x[k]
        out[k] = zero if v < zero else v


@njit(**_JIT)
def masked(grad, mask, out):
    """out = grad where mask, else 0 (1-d arrays of one length; mask boolean)."""
    simd.wide()
    zero = grad.dtype.type(0)
    for k in range(grad.shape[0]):
        g = grad[k]
        out[k] = g if mask[k] else zero


@njit(**_JIT)
def unless_at_most(grad, values, bound, out):
    """out = 0 where values <= bound, else grad (NaN values pass it): ReLU's and threshold's
    gradient from the saved values in one pass, without the mask array (1-d arrays of one
    length and dtype; ``bound`` of that dtype)."""
    simd.wide()
    zero = grad.dtype.type(0)
    for k in range(grad.shape[0]):
        g = grad[k]
        out[k] = zero if values[k] <= bound else g


@njit(**_JIT)
def clamp(x, lo, hi, out):
    """out = x limited to [lo, hi] (hi where lo > hi; NaN stays NaN): clamp, hardtanh, relu6.
    The bounds are numbers of x's dtype (+-inf for a missing one), never NaN."""
    simd.wide()
    for k in range(x.shape[0]):
        v = x[k]
        v = lo if v < lo else v
        out[k] = hi if v > hi else v


@njit(**_JIT)
def inside(grad, x, lo, hi, out):
    """out = grad where lo <= x <= hi, else 0 (NaN x gets 0): clamp's input gradient."""
    simd.wide()
    zero = grad.dtype.type(0)
    for k in range(grad.shape[0]):
        v, g = x[k], grad[k]
        out[k] = g if (v >= lo) & (v <= hi) else zero


@njit(**_JIT)
def strictly_inside(grad, y, lo, hi, out):
    """out = 0 where y <= lo or y >= hi, else grad (NaN y passes): hardtanh's gradient from its
    result."""
    simd.wide()
    zero = grad.dtype.type(0)
    for k in range(grad.shape[0]):
        v, g = y[k], grad[k]
        out[k] = zero if (v <= lo) | (v >= hi) else g


@njit(**_JIT)
def leaky_relu(x, slope, out):
    """out = x where x > 0, else slope * x (NaN gives NaN)."""
    simd.wide()
    for k in range(x.shape[0]):
        v = x[k]
        out[k] = v if v > 0 else v * slope


@njit(**_JIT)
def leaky_relu_grad(grad, x, slope, out):
    """out = grad where x > 0, else grad * slope (NaN x takes the slope, as in PyTorch)."""
    simd.wide()
    for k in range(grad.shape[0]):
        g = grad[k]
        out[k] = g if x[k] > 0 else g * slope


@njit(**_JIT)
def hardsigmoid(x, out):
    """out = min(max(x + 3, 0), 6) / 6."""
    simd.wide()
    three, six, zero = x.dtype.type(3), x.dtype.type(6), x.dtype.type(0)
    for k in range(x.shape[0]):
        v = x[k] + three
        v = zero if v < zero else v
        out[k] = (six if v > six else v) / six


@njit(**_JIT)
def hardsigmoid_grad(grad, x, out):
    """out = grad * (1 / 6) where -3 < x < 3, else 0 (PyTorch's product by a sixth)."""
    simd.wide()
    three, sixth, zero = x.dtype.type(3), x.dtype.type(1 / 6), x.dtype.type(0)
    for k in range(grad.shape[0]):
        v, g = x[k], grad[k]
        out[k] = g * sixth if (v > -three) & (v < three) else zero


@njit(**_JIT)
def hardswish(x, out):
    """out = x * min(max(x + 3, 0), 6) / 6, in PyTorch's order."""
    simd.wide()
    three, six, zero = x.dtype.type(3), x.dtype.type(6), x.dtype.type(0)
    for k in range(x.shape[0]):
        u = x[k]
        v = u + three
        v = zero if v < zero else v
        out[k] = u * (six if v > six else v) / six


@njit(**_JIT)
def hardswish_grad(grad, x, out):
    """out = 0 up to x = -3, grad * (x / 3 + 1 / 2) below 3, grad from 3 on and at NaN
    (PyTorch's formula)."""
    simd.wide()
    three, half, zero = x.dtype.type(3), x.dtype.type(0.5), x.dtype.type(0)
    for k in range(grad.shape[0]):
        v = x[k]
        g = grad[k]
        out[k] = zero if v <= -three else (g * (v / three + half) if v < three else g)


@njit(**_JIT)
def where(cond, a, b, out):
    """out = a where cond, else b (1-d arrays of one length): branch-free, where NumPy's where
    mispredicts on a mixed condition (2.2 ms on 512k float32 elements)."""
    simd.wide()
    for k in range(cond.shape[0]):
        av, bv = a[k], b[k]  # both read first: a select, not a branch around each load
        out[k] = av if cond[k] else bv


@njit(**_JIT)
def where_number(cond, a, value, keep, out):
    """out = a where cond == keep, else value (``where(c, x, 0)`` and ``where(c, 0, x)``)."""
    simd.wide()
    for k in range(cond.shape[0]):
        av = a[k]
        out[k] = av if cond[k] == keep else value
