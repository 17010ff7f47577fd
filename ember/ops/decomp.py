"""Primitives of matrix decompositions: Cholesky, QR, SVD and the symmetric eigensolver.
Backwards are PyTorch's formulas written in ember ops (so double backward works); each saves
the decomposition's own outputs. Arguments are checked by the public functions in ember/linalg/."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.function import Function
from ..backend.compat import contiguous
from ..backend.device import xp_of
from .join import cat
from .linalg_checks import raise_not_pd
from .solve import Inverse, Solve


def cholesky_array(a, op: str = "linalg.cholesky"):
    try:
        return np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        raise_not_pd(a, op)


class Cholesky(Function):
    """A = L L^T from A's lower triangle, or A = U^T U from its upper one."""

    @staticmethod
    def forward(ctx, a, upper):
        ctx.upper = upper
        x = a._data
        out = cholesky_array(x.swapaxes(-1, -2) if upper else x)
        if upper:
            out = contiguous(out.swapaxes(-1, -2))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out, = ctx.saved_tensors
        low, g = (out.mT, grad.mT) if ctx.upper else (out, grad)
        # L^-T Phi(L^T gL) L^-1 with Phi symmetrizing the lower triangle (diagonal once)
        p = (low.mT @ g).tril()
        p = 0.5 * (p + p.tril(-1).mT)
        low_inv = Inverse.apply(low)
        return low_inv.mT @ p @ low_inv, None


def _skew_free_triu(x: Tensor) -> Tensor:
    """X's upper triangle mirrored into the lower one (the diagonal once)."""
    t = x.triu()
    return t + t.mT - t.diagonal(0, -2, -1).diag_embed()


class QR(Function):
    @staticmethod
    def forward(ctx, a, mode):
        ctx.mode = mode
        if mode == "r":
            ctx.m_n = a._data.shape[-2:]
            return np.empty((0,), a._data.dtype), np.linalg.qr(a._data, mode="r")
        q, r = np.linalg.qr(a._data, mode=mode)
        ctx.save_for_backward(q, r, a if a._data.shape[-2] < a._data.shape[-1] else None)
        return q, r

    @staticmethod
    def backward(ctx, gq, gr):
        if ctx.mode == "r":
            raise RuntimeError(
                "The derivative of linalg.qr depends on Q, which is not computed when mode='r'. Please "
                "use linalg.qr(A, mode='reduced') if you are going to differentiate through linalg.qr.")
        q, r, a = ctx.saved_tensors
        m, n = q.shape[-2], r.shape[-1]
        if ctx.mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and "
                               "nrows > ncols.")
        if m >= n:
            return _qr_tall_grad(q, r, gq, gr), None
        # A = [X | Y] with X = Q R[:, :m] square, and R[:, m:] = Q^T Y
        gr_y = gr[..., m:]
        gx = _qr_tall_grad(q, r[..., :m], gq + a[..., m:] @ gr_y.mT, gr[..., :m])
        return cat([gx, q @ gr_y], -1), None


def _qr_tall_grad(q: Tensor, r: Tensor, gq: Tensor, gr: Tensor) -> Tensor:
    """(gQ + Q copyltu(gR R^T - Q^T gQ)) R^-T for A = Q R with R square."""
    b = gq + q @ _skew_free_triu(gr @ r.mT - q.mT @ gq)
    return Solve.apply(r, b.mT).mT


class SVD(Function):
    """A = U diag(S) Vh; with full_matrices only the first min(m, n) columns of U (rows of Vh)
    get a gradient, as in PyTorch (the others are not unique)."""

    @staticmethod
    def forward(ctx, a, full_matrices):
        u, s, vh = np.linalg.svd(a._data, full_matrices=full_matrices)
        ctx.set_materialize_grads(False)  # gradients of S alone need no 1 / (s_i^2 - s_j^2)
        ctx.save_for_backward(u, s, vh)
        return u, s, vh

    @staticmethod
    def backward(ctx, gu, gs, gvh):
        u, s, vh = ctx.saved_tensors
        m, n, k = u.shape[-2], vh.shape[-1], s.shape[-1]
        u, vh = u[..., :k], vh[..., :k, :]
        gu = gu[..., :k] if gu is not None else None
        gvh = gvh[..., :k, :] if gvh is not None else None
        if gu is None and gvh is None:
            if gs is None:
                return None, None
            return (u * gs[..., None, :]) @ vh, None
        s2 = s * s
        e = s2[..., None, :] - s2[..., :, None] + Tensor._make(xp_of(s._data).eye(k, dtype=s._data.dtype))
        ga = 0
        if gu is not None:
            uhgu = u.mT @ gu
            ga = (uhgu - uhgu.mT) * s[..., None, :]
        if gvh is not None:
            vhgv = vh @ gvh.mT
            ga = ga + s[..., :, None] * (vhgv - vhgv.mT)
        ga = ga / e
        if gs is not None:
            ga = ga + gs.diag_embed()
        if m > n and gu is not None:
            gus = gu / s[..., None, :]
            ga = (u @ ga + gus - u @ (u.mT @ gus)) @ vh
        elif m < n and gvh is not None:
            sgvh = gvh / s[..., :, None]
            ga = u @ (ga @ vh + sgvh - (sgvh @ vh.mT) @ vh)
        else:
            ga = u @ ga @ vh
        return ga, None


class Eigh(Function):
    """Eigenvalues (ascending) and orthonormal eigenvectors of a symmetric matrix, read from
    the triangle UPLO names."""

    @staticmethod
    def forward(ctx, a, uplo):
        w, v = np.linalg.eigh(a._data, UPLO=uplo)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(w, v)
        return w, v

    @staticmethod
    def backward(ctx, gw, gv):
        w, v = ctx.saved_tensors
        if gv is None:
            if gw is None:
                return None, None
            return (v * gw[..., None, :]) @ v.mT, None
        vhgv = v.mT @ gv
        n = w.shape[-1]
        e = w[..., None, :] - w[..., :, None] + Tensor._make(xp_of(w._data).eye(n, dtype=w._data.dtype))
        inner = 0.5 * (vhgv - vhgv.mT) / e
        if gw is not None:
            inner = inner + gw.diag_embed()
        return v @ inner @ v.mT, None
