"""Softmax, log-softmax and softmin along a dim (``torch.nn.functional``'s signatures).

They are fused primitives: the max-shifted form keeps them finite for large logits. Float32
arrays take oneDNN's softmax primitive where it applies (``backend/softmax.py``), else
NumPy's passes, a cache-sized run of rows at a time over the cores (``row_runs``, which the
cross-entropy losses share); the gradients without a recorded backward take the compiled
kernels (``backend/kernels/softmax.py``) or the same passes in place. Half types compute
in float32 and are rounded once, as in PyTorch.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..amp.autocast_mode import autocast_op
from .._tensor import Tensor
from ..autograd.function import Function
from ..autograd.grad_mode import state
from ..backend import dtypes, kernels, parallel
from ..backend import softmax as softmax_primitive
from .math import half_in_float32
from .reduce import acc_dtype

__all__ = ["softmax", "log_softmax", "softmin"]


def _shifted(x, dim: int):
    """``x - max(x, dim)`` (a 0-d x as shape (1,)): every exponent is <= 0, so exp never
    overflows."""
    if x.ndim == 0:
        x = x.reshape(1)
    if x.size == 0:
        return x.copy()
    return x - x.max(axis=dim, keepdims=True)


def _direct(x, *others) -> bool:
    """Whether the softmax passes can run on ``x`` as it is: a float32/float64 NumPy array
    (half types compute in float32 through the general path), with others of its dtype."""
    return (type(x) is np.ndarray and x.ndim > 0 and x.size > 0 and x.dtype == acc_dtype(x.dtype)
            and all(type(o) is np.ndarray and o.dtype == x.dtype for o in others))


# Rows are passed to the softmax passes this many elements at a time (1 MB of float32), so that
# the passes over them (and exp's temporary) stay in the core's cache instead of each one
# going out to memory: a (700, 10000) log_softmax on one core took 7.3 ms instead of 9.2.
_CACHED_ELEMENTS = 1 << 18


def row_runs(fn, rows: int, width: int) -> None:
    """``fn(start, stop)`` over ``range(rows)`` of rows ``width`` elements wide: in blocks split
    across the cores, each taken a cache-sized run of rows at a time."""
    if rows * width < parallel.MIN_ELEMENTS and rows * width <= _CACHED_ELEMENTS:
        fn(0, rows)  # one run, on this thread: what the blocks below come to, without their calls
        return
    step = max(1, _CACHED_ELEMENTS // max(width, 1))

    def block(lo, hi):
        for start in range(lo, hi, step):
            fn(start, min(start + step, hi))
    parallel.over_rows(block, rows, rows * width)


def _by_rows(block, out, dim: int, *arrays) -> None:
    """``block(axis, out_part, *parts)`` over ``arrays``: by ``row_runs`` when ``dim`` is the
    last axis of C-contiguous arrays; else in one call."""
    if dim == out.ndim - 1 and all(a.flags.c_contiguous for a in arrays):
        width = out.shape[-1]
        flat = [a.reshape(-1, width) for a in (out, *arrays)]
        row_runs(lambda lo, hi: block(1, *(f[lo:hi] for f in flat)), flat[0].shape[0], width)
    else:
        block(dim, out, *arrays)


def _softmax_block(axis: int, out, x, log: bool) -> None:
    # max-shifted in place, one exp, one sum: three passes and one temporary
    np.subtract(x, x.max(axis=axis, keepdims=True), out=out)
    e = np.exp(out)
    total = e.sum(axis=axis, keepdims=True)
    if log:
        out -= np.log(total)
    else:
        np.divide(e, total, out=out)


def _softmax_forward(x, dim: int, log: bool):
    if not _direct(x):
        # half types in float32 (acc_dtype), rounded once, as PyTorch does; 0-d and empty
        z = _shifted(x.astype(acc_dtype(x.dtype), copy=False), dim)
        e = np.exp(z)
        out = z - np.log(e.sum(axis=dim, keepdims=True)) if log else e / e.sum(axis=dim, keepdims=True)
        return out.reshape(x.shape).astype(x.dtype, copy=False)
    out = softmax_primitive.forward(x, dim, log)
    if out is None:
        out = np.empty(x.shape, x.dtype)
        _by_rows(lambda axis, o, part: _softmax_block(axis, o, part, log), out, dim, x)
    return out


def _softmax_grad_kernel(out, g, y, dim: int, log: bool) -> bool:
    """The gradient along the last axis by the compiled kernels (backend/kernels/softmax.py),
    one pass a row over all cores; False where they do not take it (float64 exp stays
    NumPy's)."""
    k = kernels.cpu()
    if k is None or dim != y.ndim - 1 or not kernels.usable(out, g, y) or (log and y.dtype != np.float32):
        return False
    width = y.shape[-1]
    rows = [a.reshape(-1, width) for a in (out, g, y)]  # a copy only of a strided g
    with kernels.lock:
        (k.softmax.log_softmax_backward if log else k.softmax.softmax_backward)(rows[1], rows[2], rows[0])
    return True


def _softmax_grad_block(axis: int, out, g, y, log: bool) -> None:
    if log:  # g - exp(y) * sum(g)
        np.exp(y, out=out)
        out *= g.sum(axis=axis, keepdims=True)
        np.subtract(g, out, out=out)
    else:  # y * (g - sum(g * y))
        np.multiply(g, y, out=out)
        total = out.sum(axis=axis, keepdims=True)
        np.subtract(g, total, out=out)
        out *= y


def softmax_grad(grad: Tensor, out: Tensor, dim: int, log: bool) -> Tensor:
    """The input's gradient of softmax (log-softmax with ``log``) along ``dim`` from its result
    ``out``; differentiable itself when a graph of the backward is being recorded."""
    g, y = grad._data, out._data
    dim %= max(y.ndim, 1)
    if not state.enabled and _direct(y, g) and g.shape == y.shape:
        # no graph of the backward is asked for: oneDNN, or the passes in place split over the cores
        result = softmax_primitive.backward(g, y, dim, log)
        if result is None:
            result = np.empty(y.shape, y.dtype)
            if not _softmax_grad_kernel(result, g, y, dim, log):
                _by_rows(lambda axis, o, gp, yp: _softmax_grad_block(axis, o, gp, yp, log), result, dim, g, y)
        return Tensor._make(result)
    if log:  # composed of tensor ops, so that it can be differentiated again
        return half_in_float32(lambda g, y: g - y.exp() * g.sum(dim, keepdim=True), grad, out)
    return half_in_float32(lambda g, y: y * (g - (g * y).sum(dim, keepdim=True)), grad, out)


class Softmax(Function):
    """softmax along ``dim`` (log-softmax where ``log``: LogSoftmax). Half types are computed
    in float32 and rounded once (acc_dtype), as PyTorch does; so is the gradient."""
    log = False

    @staticmethod
    def forward(ctx, a, dim):
        out = _softmax_forward(a._data, dim, log=ctx.log)
        ctx.dim = dim
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        return softmax_grad(grad, ctx.saved_tensors[0], ctx.dim, ctx.log), None


class LogSoftmax(Softmax):
    log = True


def _softmax_dim(name: str, ndim: int, stacklevel: int) -> int:
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. "
                  "Change the call to include dim=X as an argument.", UserWarning, stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def _softmax_input(input: Tensor, dim, dtype, name: str, stacklevel: int) -> tuple[Tensor, int]:
    """The input cast to ``dtype`` and the wrapped dim (PyTorch's implicit choice when None)."""
    if dim is None:
        dim = _softmax_dim(name, input._data.ndim, stacklevel + 1)
    dim = input._wrap_dim(dim)  # an out-of-range dim is reported first, as in PyTorch
    if dtype is not None:
        input = input.to(dtype)
    if not input.is_floating_point() and input._data.size:  # PyTorch returns an empty one as is
        raise NotImplementedError(
            f"\"{name}\" not implemented for '{input.dtype.name}': {name} needs a floating point input "
            f"(pass dtype=ember.float32 or convert with .float())")
    return input, dim


@autocast_op("softmax")
def softmax(input: Tensor, dim: int | None = None, dtype: dtypes.dtype | None = None, *,
            _stacklevel: int = 3) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim``, computed without overflow.

    Args:
        dim: the dimension that sums to 1.
        dtype: cast the input to this dtype first (e.g. to compute in float64).
    """
    x, d = _softmax_input(input, dim, dtype, "softmax", _stacklevel)
    return Softmax.apply(x, d) if x.is_floating_point() else x.clone()


@autocast_op("log_softmax")
def log_softmax(input: Tensor, dim: int | None = None, dtype: dtypes.dtype | None = None, *,
                _stacklevel: int = 3) -> Tensor:
    """log(softmax(x)) along ``dim``, as one stable step (x - max - log(sum(exp(x - max))))."""
    x, d = _softmax_input(input, dim, dtype, "log_softmax", _stacklevel)
    return LogSoftmax.apply(x, d) if x.is_floating_point() else x.clone()


def softmin(input: Tensor, dim: int | None = None, dtype: dtypes.dtype | None = None, *,
            _stacklevel: int = 3) -> Tensor:
    """softmax(-x) along ``dim``: the smallest elements get the largest weights."""
    x, d = _softmax_input(input, dim, dtype, "softmin", _stacklevel)
    return Softmax.apply(-x, d)


TENSOR_METHODS = {"softmax": softmax, "log_softmax": log_softmax}
INPLACE: list = []
