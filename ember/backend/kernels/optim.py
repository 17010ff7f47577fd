"""Optimizer updates in one pass over a parameter: SGD, Adam (and AdamW), Adadelta, RMSprop; and
the in-place updates around them: ``axpy`` (``add_`` with alpha) and ``scale`` (``mul_`` by a
number, gradient clipping's).

NumPy runs an update as a dozen whole-array passes (each reading and writing the parameter's
size), where these loops read each element once. Each kernel does, per element, the same
float operations in the same order as the optimizer's NumPy path in ``ember.optim``, in the
parameter's dtype, so both give the same bits: ``fastmath`` stays off (no reassociation, no
fused multiply-add) and the hyper-parameters arrive already derived, as the NumPy path uses
them (``1 - beta1``, ``-lr / (1 - beta1 ** step)``), and are rounded to the dtype here as
NumPy rounds a Python number in an array operation. ``error_model="numpy"`` lets a division
give inf or nan without a check per element, which is what lets LLVM vectorize the loops; so
does writing each loop out whole (the shared steps called as jitted helpers measured 30 times
slower).

Each update's loop is written once (``_sgd``, ...) and inlined into two kernels: ``sgd`` on one
thread, and ``sgd_parallel``, which splits parameters from ``PARALLEL_FROM`` elements into
blocks over the cores (the OpenMP pool the products run on): an update is bound by memory, and
two cores move more of it than one (a word-level LSTM's 4.7M-parameter SGD step, 2.7 ms on
one thread, as PyTorch's 1.4 on two). Blocks change no value: each element is updated alone.
Arrays are 1-d views of C-contiguous parameters, gradients and state of one dtype; an unused
state is a 0-size array (its blocks are too).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import simd

_JIT = dict(cache=True, nogil=True, fastmath=False, error_model="numpy", boundscheck=False)
_PARALLEL = dict(_JIT, parallel=True)
_LOOP = dict(_JIT, inline="always")

PARALLEL_FROM = 1 << 16  # elements, as pointwise.py's
_BLOCK = 1 << 14         # elements a thread updates at a time


@njit(**_LOOP)
def _sgd(p, g, buf, lr, momentum, damp, wd, nesterov, maximize, first):
    """p -= lr * d, d the gradient or its momentum buffer (Nesterov's look-ahead when asked);
    ``buf`` is empty without momentum and takes the gradient itself on the ``first`` step."""
    t = p.dtype.type
    lr, momentum, damp, wd = t(lr), t(momentum), t(damp), t(wd)
    has_momentum = buf.shape[0] != 0
    for k in range(p.shape[0]):
        gk = -g[k] if maximize else g[k]  # the gradient as optimizer.grad_of forms it
        if wd != 0:
            gk = gk + wd * p[k]
        if has_momentum:
            b = gk if first else buf[k] * momentum + damp * gk  # damp * gk is gk where damp is 1
            buf[k] = b
            gk = gk + momentum * b if nesterov else b
        p[k] = p[k] - lr * gk


@njit(**_LOOP)
def _adam(p, g, m, v, vmax, shrink, wd, maximize, w1, one_minus_w1, small1, w2, b2, bc2_sqrt, eps, step_size):
    """Adam's step: decoupled decay ``p *= shrink`` (1 where none), moments m (lerp towards g by
    w1) and v (v * b2 + w2 * g * g), AMSGrad's running maximum in ``vmax`` when it is not
    empty, then p += step_size * m / (sqrt(v) / bc2_sqrt + eps)."""
    t = p.dtype.type
    shrink, wd, w1, one_minus_w1, w2, b2 = t(shrink), t(wd), t(w1), t(one_minus_w1), t(w2), t(b2)
    bc2_sqrt, eps, step_size = t(bc2_sqrt), t(eps), t(step_size)
    amsgrad = vmax.shape[0] != 0
    for k in range(p.shape[0]):
        if shrink != 1:
            p[k] = p[k] * shrink
        gk = -g[k] if maximize else g[k]  # the gradient as optimizer.grad_of forms it
        if wd != 0:
            gk = gk + wd * p[k]
        diff = gk - m[k]  # optimizer.lerp_: exact at both ends
        mk = m[k] + diff * w1 if small1 else gk - diff * one_minus_w1
        m[k] = mk
        vk = v[k] * b2 + gk * w2 * gk
        v[k] = vk
        if amsgrad:
            top = vmax[k]
            if not (top >= vk or top != top):  # np.maximum: the larger, nan from either side
                top = vk
            vmax[k] = top
            vk = top
        p[k] = p[k] + mk * step_size / (np.sqrt(vk) / bc2_sqrt + eps)


@njit(**_LOOP)
def _adadelta(p, g, square_avg, acc_delta, lr, rho, one_minus_rho, eps, wd, maximize):
    """Adadelta's step: the running averages of g^2 and of the update's square, and
    p -= lr * sqrt(acc_delta + eps) / sqrt(square_avg + eps) * g."""
    t = p.dtype.type
    lr, rho, one_minus_rho, eps, wd = t(lr), t(rho), t(one_minus_rho), t(eps), t(wd)
    for k in range(p.shape[0]):
        gk = -g[k] if maximize else g[k]  # the gradient as optimizer.grad_of forms it
        if wd != 0:
            gk = gk + wd * p[k]
        s = square_avg[k] * rho + gk * one_minus_rho * gk
        square_avg[k] = s
        d = np.sqrt(acc_delta[k] + eps) / np.sqrt(s + eps) * gk
        acc_delta[k] = acc_delta[k] * rho + d * one_minus_rho * d
        p[k] = p[k] - d * lr


@njit(**_LOOP)
def _rmsprop(p, g, square_avg, grad_avg, buf, lr, alpha, w, one_minus_w, small, eps, momentum, wd, maximize):
    """RMSprop's step: the running averages of g^2 (weight w = 1 - alpha) and, when
    ``grad_avg`` is not empty (centered), of g; then g / (sqrt(the variance) + eps) into the
    momentum buffer when it is not empty, or straight into p, times -lr."""
    t = p.dtype.type
    lr, alpha, w, one_minus_w, eps, momentum, wd = t(lr), t(alpha), t(w), t(one_minus_w), t(eps), t(momentum), t(wd)
    centered, has_momentum = grad_avg.shape[0] != 0, buf.shape[0] != 0
    for k in range(p.shape[0]):
        gk = -g[k] if maximize else g[k]  # the gradient as optimizer.grad_of forms it
        if wd != 0:
            gk = gk + wd * p[k]
        s = square_avg[k] * alpha + gk * w * gk
        square_avg[k] = s
        if centered:
            diff = gk - grad_avg[k]
            ga = grad_avg[k] + diff * w if small else gk - diff * one_minus_w
            grad_avg[k] = ga
            s = s - ga * ga
        avg = np.sqrt(s) + eps
        if has_momentum:
            b = buf[k] * momentum + gk / avg
            buf[k] = b
            p[k] = p[k] - lr * b
        else:
            p[k] = p[k] + gk * -lr / avg


@njit(**_LOOP)
def _axpy(y, x, alpha):
    """y += alpha * x, alpha rounded to the dtype and the product rounded before the sum, as
    NumPy's ``y + x * alpha`` computes it: the hand-written update ``p.data.add_(p.grad,
    alpha=-lr)`` in one pass."""
    alpha = y.dtype.type(alpha)
    for k in range(y.shape[0]):
        y[k] = y[k] + x[k] * alpha


@njit(**_LOOP)
def _scale(y, alpha):
    """y *= alpha, alpha rounded to the dtype (NumPy's in-place product): gradient clipping's
    rescale in one pass over the cores."""
    alpha = y.dtype.type(alpha)
    for k in range(y.shape[0]):
        y[k] = y[k] * alpha


@njit(**_JIT)
def sgd(p, g, buf, lr, momentum, damp, wd, nesterov, maximize, first):
    simd.wide()
    _sgd(p, g, buf, lr, momentum, damp, wd, nesterov, maximize, first)


@njit(**_PARALLEL)
def sgd_parallel(p, g, buf, lr, momentum, damp, wd, nesterov, maximize, first):
    n = p.shape[0]
    for b in prange((n + _BLOCK - 1) // _BLOCK):
        simd.wide()
        lo, hi = b * _BLOCK, min(n, (b + 1) * _BLOCK)
        _sgd(p[lo:hi], g[lo:hi], buf[lo:hi], lr, momentum, damp, wd, nesterov, maximize, first)


@njit(**_JIT)
def adam(p, g, m, v, vmax, shrink, wd, maximize, w1, one_minus_w1, small1, w2, b2, bc2_sqrt, eps, step_size):
    simd.wide()
    _adam(p, g, m, v, vmax, shrink, wd, maximize, w1, one_minus_w1, small1, w2, b2, bc2_sqrt, eps, step_size)


@njit(**_PARALLEL)
def adam_parallel(p, g, m, v, vmax, shrink, wd, maximize, w1, one_minus_w1, small1, w2, b2, bc2_sqrt, eps,
                  step_size):
    n = p.shape[0]
    for b in prange((n + _BLOCK - 1) // _BLOCK):
        simd.wide()
        lo, hi = b * _BLOCK, min(n, (b + 1) * _BLOCK)
        _adam(p[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi], vmax[lo:hi], shrink, wd, maximize, w1, one_minus_w1, small1,
              w2, b2, bc2_sqrt, eps, step_size)


@njit(**_JIT)
def adadelta(p, g, square_avg, acc_delta, lr, rho, one_minus_rho, eps, wd, maximize):
    simd.wide()
    _adadelta(p, g, square_avg, acc_delta, lr, rho, one_minus_rho, eps, wd, maximize)


@njit(**_PARALLEL)
def adadelta_parallel(p, g, square_avg, acc_delta, lr, rho, one_minus_rho, eps, wd, maximize):
    n = p.shape[0]
    for b in prange((n + _BLOCK - 1) // _BLOCK):
        simd.wide()
        lo, hi = b * _BLOCK, min(n, (b + 1) * _BLOCK)
        _adadelta(p[lo:hi], g[lo:hi], square_avg[lo:hi], acc_delta[lo:hi], lr, rho, one_minus_rho, eps, wd, maximize)


@njit(**_JIT)
def rmsprop(p, g, square_avg, grad_avg, buf, lr, alpha, w, one_minus_w, small, eps, momentum, wd, maximize):
    simd.wide()
    _rmsprop(p, g, square_avg, grad_avg, buf, lr, alpha, w, one_minus_w, small, eps, momentum, wd, maximize)


@njit(**_PARALLEL)
def rmsprop_parallel(p, g, square_avg, grad_avg, buf, lr, alpha, w, one_minus_w, small, eps, momentum, wd,
                     maximize):
    n = p.shape[0]
    for b in prange((n + _BLOCK - 1) // _BLOCK):
        simd.wide()
        lo, hi = b * _BLOCK, min(n, (b + 1) * _BLOCK)
        _rmsprop(p[lo:hi], g[lo:hi], square_avg[lo:hi], grad_avg[lo:hi], buf[lo:hi], lr, alpha, w, one_minus_w,
                 small, eps, momentum, wd, maximize)


@njit(**_JIT)
def axpy(y, x, alpha):
    simd.wide()
    _axpy(y, x, alpha)


@njit(**_PARALLEL)
def axpy_parallel(y, x, alpha):
    n = y.shape[0]
    for b in prange((n + _BLOCK - 1) // _BLOCK):
        simd.wide()
        lo, hi = b * _BLOCK, min(n, (b + 1) * _BLOCK)
        _axpy(y[lo:hi], x[lo:hi], alpha)


@njit(**_JIT)
def scale(y, alpha):
    simd.wide()
    _scale(y, alpha)


@njit(**_PARALLEL)
def scale_parallel(y, alpha):
    n = y.shape[0]
    for b in prange((n + _BLOCK - 1) // _BLOCK):
        simd.wide()
        lo, hi = b * _BLOCK, min(n, (b + 1) * _BLOCK)
        _scale(y[lo:hi], alpha)
