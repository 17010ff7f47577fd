"""Python's arithmetic operators on tensors, and ``add_`` / ``sub_``, by their short paths:
the common cases (same-shape float tensors, a float tensor and a number, an update written
in place) skip the public functions' promotion and checks, which give nothing there, and
every other case takes those functions. ``ops/__init__.py`` binds them to Tensor."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd import function as _function
from ..autograd.grad_mode import state
from ..backend import kernels
from ..backend.compat import loud, quiet
from .elementwise import ARITHMETIC, Add, Div, Mul, Sub, arith, held_number
from .views import check_inplace


def operator(fn, primitive: type):
    """Tensor's operator for ``fn`` (add, sub, mul, div), whose primitive computes
    ``elementwise.arith(name, a, b)`` on the arrays. The common cases skip
    ``fn``'s checks, which are a third of a small op's dispatch: two NumPy tensors of one
    floating dtype and shape go straight to ``primitive``, and, where nothing is recorded, to
    ``arith`` itself, as does a float32 or float64 tensor with a Python number in its range
    (the number converted as ``promote`` converts it). Everything else (promotion,
    broadcasting, half and integer rules, devices, graphs, views to refresh, a profiler or
    capture watching) takes ``fn``."""
    name = _NAMES[primitive]

    def op(self, other):
        x = self._data
        if isinstance(other, Tensor):
            y = other._data
            if type(x) is np.ndarray and type(y) is np.ndarray and x.dtype is y.dtype \
                    and x.dtype.kind == "f" and x.shape == y.shape:
                if _untracked(self) and _untracked(other) and _function.INTERCEPT is None:
                    return _quietly(name, x, y)
                return primitive.apply(self, other)
        elif type(x) is np.ndarray and (x.dtype is _F32 or x.dtype is _F64) and held_number(other, x.dtype) \
                and _untracked(self) and _function.INTERCEPT is None:
            return _quietly(name, x, float(other))
        return fn(self, other)
    op.__name__ = op.__qualname__ = fn.__name__
    return op


_NAMES = {Add: "add", Sub: "sub", Mul: "mul", Div: "div"}
_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)


def _untracked(t: Tensor) -> bool:
    """Nothing to record for ``t`` and nothing to refresh first (a view whose base changed in
    place is re-derived by Function.apply)."""
    return not t._requires_grad and (t._base is None or t._vc[0] == t._view_version)


def _quietly(name: str, x, y) -> Tensor:
    """``x <name> y`` (``elementwise.arith``) as a new tensor, NumPy's floating-point warnings
    silenced as every op's are (overflow gives inf, as in PyTorch)."""
    token = quiet()
    try:
        return Tensor._make(ARITHMETIC[name](x, y) if x.size < kernels.ARITH_FROM else arith(name, x, y))
    finally:
        loud(token)


def scale_in_place(self: Tensor, other) -> bool:
    """``self *= other`` for a Python number, written straight into self's array by one kernel
    pass (large arrays over the cores) where the generic in-place path computes out of place
    and copies in: ``p.grad.mul_(scale)``, ``ema.mul_(decay)``. Only where nothing is recorded
    and the result is the generic path's bit for bit (the conditions of add_in_place, and a
    number the operators' fast path takes). Returns whether it wrote."""
    if self._base is not None or (state.enabled and self._requires_grad) or \
            not held_number(other, self._data.dtype):
        return False
    check_inplace(self, ())  # (what the generic path checks first too)
    if not kernels.apply_scale(self._data, float(other)):
        return False
    self._vc[0] += 1
    return True


def add_in_place(self: Tensor, other, alpha) -> bool:
    """``self += alpha * other`` written straight into self's array by one kernel pass (no
    temporaries, no copy back): the update scripts make by hand, ``p.data.add_(p.grad,
    alpha=-lr)``, which the generic in-place path computes out of place and copies in (a
    sixth of a word-level LSTM's training step). Only where nothing is recorded and the
    result is the generic path's bit for bit: float32/float64 NumPy arrays of one shape and
    dtype, C-contiguous, self not a view and not overlapping other (unless it is other).
    Returns whether it wrote; the caller takes the generic path otherwise."""
    k = kernels.cpu()
    if (k is None or not isinstance(other, Tensor) or type(alpha) not in (int, float) or abs(alpha) > 2 ** 53
            or self._base is not None or (state.enabled and (self._requires_grad or other._requires_grad))):
        return False
    y, x = self._data, other._data
    if not (kernels.usable(y, x) and y.shape == x.shape and y.flags.c_contiguous and x.flags.c_contiguous
            and y.flags.writeable and (x is y or not np.may_share_memory(x, y))):
        return False
    check_inplace(self, (other,))
    kernels.optim_update("axpy", y.size)(y.reshape(-1), x.reshape(-1), float(alpha))
    self._vc[0] += 1
    return True
