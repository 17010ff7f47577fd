"""Optimizer updates in one pass over a parameter: SGD, Adam (and AdamW), Adadelta, RMSprop.

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

One thread each (no ``prange``): an update is bound by memory, and a parallel loop would
compete with the core OpenBLAS keeps busy after each matrix product. Arrays are 1-d views of
C-contiguous parameters, gradients and state of one dtype; an unused state is a 0-size array.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from . import simd

_JIT = dict(cache=True, nogil=True, fastmath=False, error_model="numpy", boundscheck=False)


@njit(**_JIT)
def sgd(p, g, buf, lr, momentum, damp, wd, nesterov, maximize, first):
    """p -= lr * d, d the gradient or its momentum buffer (Nesterov's look-ahead when asked);
    ``buf`` is empty without momentum and takes the gradient itself on the ``first`` step."""
    simd.wide()
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


@njit(**_JIT)
def adam(p, g, m, v, vmax, shrink, wd, maximize, w1, one_minus_w1, small1, w2, b2, bc2_sqrt, eps, step_size):
    """Adam's step: decoupled decay ``p *= shrink`` (1 where none), moments m (lerp towards g by
    w1) and v (v * b2 + w2 * g * g), AMSGrad's running maximum in ``vmax`` when it is not
    empty, then p += step_size * m / (sqrt(v) / bc2_sqrt + eps)."""
    simd.wide()
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


@njit(**_JIT)
def adadelta(p, g, square_avg, acc_delta, lr, rho, one_minus_rho, eps, wd, maximize):
    """Adadelta's step: the running averages of g^2 and of the update's square, and
    p -= lr * sqrt(acc_delta + eps) / sqrt(square_avg + eps) * g."""
    simd.wide()
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


@njit(**_JIT)
def rmsprop(p, g, square_avg, grad_avg, buf, lr, alpha, w, one_minus_w, small, eps, momentum, wd, maximize):
    """RMSprop's step: the running averages of g^2 (weight w = 1 - alpha) and, when
    ``grad_avg`` is not empty (centered), of g; then g / (sqrt(the variance) + eps) into the
    momentum buffer when it is not empty, or straight into p, times -lr."""
    simd.wide()
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


@njit(**_JIT)
def axpy(y, x, alpha):
    """y += alpha * x, alpha rounded to the dtype and the product rounded before the sum, as
    NumPy's ``y + x * alpha`` computes it: the hand-written update ``p.data.add_(p.grad,
    alpha=-lr)`` in one pass."""
    simd.wide()
    alpha = y.dtype.type(alpha)
    for k in range(y.shape[0]):
        y[k] = y[k] + x[k] * alpha
