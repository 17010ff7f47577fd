"""Primitives of linear systems: inverse, solve, determinants and the pseudo-inverse.
Each backward is written in ember ops (inverses and solves of the saved values), so it is
differentiable again. Arguments are checked by the public functions in ember/linalg/."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.function import Function
from ..backend.compat import as_array, max_initial
from ..backend.device import xp_of
from .cumulative import cumprod
from .join import cat
from .linalg_checks import raise_singular


def _array(x):
    """NumPy's linalg returns scalars for a single matrix's det; the graph wants arrays."""
    return as_array(x)


def inv_array(a, op: str = "linalg.inv"):
    try:
        return np.linalg.inv(a)
    except np.linalg.LinAlgError:
        raise_singular(a, op)


def solve_array(a, b, op: str = "torch.linalg.solve"):
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        raise_singular(np.broadcast_to(a, np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + a.shape[-2:]), op)


class Inverse(Function):
    @staticmethod
    def forward(ctx, a):
        out = inv_array(a._data)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        inv_t = ctx.saved_tensors[0].mT
        return -(inv_t @ grad @ inv_t)


class Solve(Function):
    """X with A X = B, B of shape (*, n, k); batch dims broadcast."""

    @staticmethod
    def forward(ctx, a, b):
        x = solve_array(a._data, b._data)
        ctx.save_for_backward(a, x)
        return x

    @staticmethod
    def backward(ctx, grad):
        a, x = ctx.saved_tensors
        gb = Solve.apply(a.mT, grad)  # A^T gB = gX
        return (-(gb @ x.mT) if ctx.needs_input_grad[0] else None), gb


class SlogDet(Function):
    @staticmethod
    def forward(ctx, a):
        sign, logabs = (_array(v) for v in np.linalg.slogdet(a._data))
        ctx.save_for_backward(a)
        return sign, logabs

    @staticmethod
    def backward(ctx, gsign, glog):  # sign is piecewise constant: its gradient is 0 (as in PyTorch)
        a, = ctx.saved_tensors
        return glog[..., None, None] * Inverse.apply(a).mT


class Det(Function):
    @staticmethod
    def forward(ctx, a):
        d = _array(np.linalg.det(a._data))
        ctx.save_for_backward(a, d)
        return d

    @staticmethod
    def backward(ctx, grad):
        a, d = ctx.saved_tensors
        return grad[..., None, None] * cofactor(a, d)


def cofactor(a: Tensor, d: Tensor) -> Tensor:
    """d det(A) / dA: det(A) A^-T, or for a batch holding a singular matrix (where that is
    0 * inf) U diag(prod_{j != i} s_j) V^T det(U V^T) from the SVD, which needs no inverse."""
    if bool(np.all(d._data != 0)):
        return d[..., None, None] * Inverse.apply(a).mT
    from .decomp import SVD  # decomp's QR backward uses this module's Solve
    u, s, vh = SVD.apply(a, False)
    ones = s[..., :1] * 0 + 1
    before = cumprod(cat([ones, s[..., :-1]], -1), -1)      # prod_{j < i} s_j
    after = cumprod(cat([ones, s[..., 1:].flip(-1)], -1), -1).flip(-1)  # prod_{j > i} s_j
    sign = np.linalg.det(u._data) * np.linalg.det(vh._data)  # +-1, a constant of the gauge
    return (u * (before * after)[..., None, :]) @ vh * Tensor._make(_array(sign)[..., None, None])


class Pinv(Function):
    """The Moore-Penrose inverse; singular values at or below ``tol`` (per matrix) count as 0."""

    @staticmethod
    def forward(ctx, a, atol, rtol, hermitian):
        x = a._data
        if hermitian:
            w, v = np.linalg.eigh(x)
            s, left, right = np.abs(w), v, v.swapaxes(-1, -2)
            inv_s = w
        else:
            left, s, right = np.linalg.svd(x, full_matrices=False)
            inv_s = s
        smax = max_initial(s, axis=-1, keepdims=True, initial=0)
        tol = np.maximum(_batch_tol(atol, x), _batch_tol(rtol, x) * smax)
        keep = s > tol
        inv_s = np.where(keep, 1 / np.where(keep, inv_s, 1), 0).astype(x.dtype)
        out = (right.swapaxes(-1, -2) * inv_s[..., None, :]) @ left.swapaxes(-1, -2)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, p = ctx.saved_tensors
        m, n = a.shape[-2:]
        ph, gh = p.mT, grad.mT
        # d pinv(A) written for the smaller of the two Gram products
        if m <= n:
            k = gh @ p
            kph = k @ ph
            ga = -(p @ k).mT + kph - (a @ p) @ kph + (ph @ p) @ (gh - k @ a)
        else:
            k = p @ gh
            phk = ph @ k
            ga = -(k @ p).mT + (gh - a @ k) @ p @ ph + phk - phk @ p @ a
        return ga, None, None, None


def _batch_tol(t, x):
    """A tolerance given as a number or a tensor broadcast against the batch, as (*, 1)."""
    if isinstance(t, Tensor):
        return t._data[..., None]
    return xp_of(x).asarray(t, dtype=x.dtype)
