"""The gradient of ReLU, clamp and the other piecewise-linear ops: the incoming gradient where a
mask holds (or where the saved values are above a bound), else 0, in one pass.

NumPy's path multiplies by the mask and then scans the product for the inf * 0 = nan it would
have to undo (two passes and a temporary); a select needs neither and gives the same values
(bit for bit: each element is the gradient's or zero). One thread: memory-bound, like the
other kernels beside OpenBLAS (see conv.py). ReLU's forward is here too.
"""
from __future__ import annotations

from numba import njit

_JIT = dict(cache=True, nogil=True, fastmath=False, error_model="numpy", boundscheck=False)


@njit(**_JIT)
def relu(x, out):
    """out = x, or 0 where x < 0 (NaN and -0.0 pass, as in PyTorch's relu): NumPy's
    ``maximum(x, 0)`` took 2-5x longer. One thread: a parallel loop made training steps slower
    (the MLP's by 15%), its second thread waiting on the core oneDNN's pool still spins on
    (measured while Numba's threads were a pool apart from oneDNN's)."""
    zero = x.dtype.type(0)
    for k in range(x.shape[0]):
        v = x[k]
        out[k] = zero if v < zero else v


@njit(**_JIT)
def masked(grad, mask, out):
    """out = grad where mask, else 0 (1-d arrays of one length; mask boolean)."""
    zero = grad.dtype.type(0)
    for k in range(grad.shape[0]):
        out[k] = grad[k] if mask[k] else zero


@njit(**_JIT)
def unless_at_most(grad, values, bound, out):
    """out = 0 where values <= bound, else grad (NaN values pass it): ReLU's and threshold's
    gradient from the saved values in one pass, without the mask array (1-d arrays of one
    length and dtype)."""
    zero = grad.dtype.type(0)
    bound = values.dtype.type(bound)
    for k in range(grad.shape[0]):
        out[k] = zero if values[k] <= bound else grad[k]
