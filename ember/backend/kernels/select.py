"""The gradient of ReLU, clamp and the other piecewise-linear ops: the incoming gradient where a
mask holds (or where the saved values are above a bound), else 0, in one pass.

NumPy's path multiplies by the mask and then scans the product for the inf * 0 = nan it would
have to undo (two passes and a temporary); a select needs neither and gives the same values
(bit for bit: each element is the gradient's or zero). One thread: memory-bound, like the
other kernels beside OpenBLAS (see conv.py).
"""
from __future__ import annotations

from numba import njit

_JIT = dict(cache=True, nogil=True, fastmath=False, error_model="numpy", boundscheck=False)


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
