"""Batch normalization of (N, C, L) arrays (L = the spatial size), one thread per channel
(``prange``).

Statistics are sums in float64: for float32 inputs in one read of the channel (sums shifted
by a first estimate of the mean), for float64 ones in two (the mean, then the squares about
it, while the channel's data is still in cache). The sums alone may be reassociated (``_SUM``),
so that LLVM runs them as vectors of accumulators; everything else keeps program order.

Per-channel values the kernels round to the input's dtype are written to arrays of that dtype
and read back, which rounds them (Numba has no generic cast to an array's dtype). Each kernel
also reports per channel whether everything it wrote is finite (``finite``), so that callers
can fall back to their NumPy path, which handles overflow by rescaling.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import simd, vmath

_JIT = dict(parallel=True, cache=True, fastmath=False, nogil=True)
# float64 sums as vectors of accumulators: 2.5-4x faster than one chain of adds (64 x 32 x 256:
# 0.29 -> 0.08 ms for the backward's sums); each channel is still summed by one thread, in one order.
# These keep the default vector width (no simd.wide): in 512-bit vectors LLVM split _sums_g and
# _sums_g_relu into lanes differently, and the fused ReLU's gradients must have eager's bits.
_SUM = dict(cache=True, nogil=True, fastmath={"reassoc"}, error_model="numpy", boundscheck=False)


@njit(**_SUM)
def _sum_sq_dev(row, m):
    """sum((row - m) ** 2), in float64 (m a float64)."""
    a = 0.0
    for j in range(row.size):
        d = row[j] - m
        a += d * d
    return a


@njit(**_SUM)
def _shifted_sums(row, k):
    """(sum(row - k), sum((row - k) ** 2)) in float64 (k a float64), in one pass."""
    a = 0.0
    b = 0.0
    for j in range(row.size):
        d = row[j] - k
        a += d
        b += d * d
    return a, b


@njit(**_SUM)
def _sums_g(g, row, m):
    """(sum(g), sum(g * (row - m))) in float64, row - m in the input's dtype (m is), in one pass."""
    a = 0.0
    b = 0.0
    for j in range(row.size):
        gj = np.float64(g[j])
        a += gj
        b += gj * (row[j] - m)
    return a, b


@njit(**_SUM)
def _sums_g_relu(g, y, row, m):
    """_sums_g of g where y > 0 (NaN y passes), else 0: the gradient through a ReLU of y."""
    a = 0.0
    b = 0.0
    for j in range(row.size):
        gj = np.float64(g[j]) if not (y[j] <= 0) else 0.0
        a += gj
        b += gj * (row[j] - m)
    return a, b


@njit(**_JIT)
def batch_norm_train(x, weight, bias, eps, one_pass, relu, y, shift, var, rstd, offset, finite):
    """Per channel: shift = the mean, var = the biased variance, rstd = 1 / sqrt(var + eps)
    (each rounded to x's dtype), y = (x - shift) * scale + offset with scale = rstd * weight and
    offset = bias - (mean - shift) * scale: the rounding of the mean to x's dtype is corrected
    there, as x - shift is exact for values near the mean (a float32 mean of values near 1e4 is
    off by up to 5e-4, a twentieth of a standard deviation of 1e-2).

    With ``one_pass`` (float32 inputs) the statistics take one read of the channel: float64 sums
    of x - k and of its squares, k the mean of the channel's first sample (a read of 1/N of the
    data). The variance's cancellation then costs a factor 1 + (mean - k)^2 / var on the float64
    roundings of the sums, which for k that close to the mean leaves them far below float32's
    resolution. float64 inputs take two reads (the mean, then the squares about it).

    With ``relu`` y is then max(y, 0) as ReLU gives it (-0.0 and NaN pass), in the same pass."""
    n, c, l = x.shape
    count = n * l
    for ch in prange(c):
        simd.wide()
        if one_pass:
            k = vmath.sum64(x[0, ch]) / l
            s1 = 0.0
            s2 = 0.0
            for i in range(n):
                a, b = _shifted_sums(x[i, ch], k)
                s1 += a
                s2 += b
            m = k + s1 / count
            v = max((s2 - s1 * s1 / count) / count, 0.0)
        else:
            acc = 0.0
            for i in range(n):
                acc += vmath.sum64(x[i, ch])
            m = acc / count
            sq = 0.0
            for i in range(n):
                sq += _sum_sq_dev(x[i, ch], m)
            v = sq / count
        shift[ch] = m
        var[ch] = v
        rstd[ch] = 1.0 / np.sqrt(v + eps)
        mt = shift[ch]
        scale = rstd[ch] * weight[ch]
        offset[ch] = bias[ch] - (m - mt) * scale
        b = offset[ch]
        ok = np.isfinite(mt) and np.isfinite(var[ch]) and np.isfinite(scale) and np.isfinite(b)
        zero = y.dtype.type(0)
        for i in range(n):
            xr = x[i, ch]
            yr = y[i, ch]
            for j in range(l):
                out = (xr[j] - mt) * scale + b
                ok &= abs(out) < np.inf
                yr[j] = zero if relu and out < zero else out
        finite[ch] = ok


@njit(**_JIT)
def batch_norm_train_backward(g, x, shift, rstd, weight, need_dx, relu, y, dx, sum_g, sum_gxc, coef, finite):
    """Per channel: sum_g = sum(g), sum_gxc = sum(g * (x - shift)) and, with ``need_dx``,
    dx = g * a - (x - shift) * b - c, the gradient of batch_norm_train's y, with a = rstd * weight,
    b = a * rstd^2 * sum_gxc / count, c = a * sum_g / count (rounded to x's dtype, via ``coef``).
    With ``relu`` g is the gradient of ReLU's result ``y``, and 0 stands for it where y <= 0."""
    n, c, l = x.shape
    count = n * l
    for ch in prange(c):
        simd.wide()
        m = shift[ch]
        sg = 0.0
        sgx = 0.0
        for i in range(n):
            if relu:
                a, b = _sums_g_relu(g[i, ch], y[i, ch], x[i, ch], m)
            else:
                a, b = _sums_g(g[i, ch], x[i, ch], m)
            sg += a
            sgx += b
        sum_g[ch] = sg
        sum_gxc[ch] = sgx
        ok = np.isfinite(sum_g[ch]) and np.isfinite(sum_gxc[ch])
        if need_dx:
            r = rstd[ch]
            a = r * weight[ch]
            coef[ch, 0] = a
            coef[ch, 1] = a * r * r * sgx / count
            coef[ch, 2] = a * sg / count
            ca, cb, cc = coef[ch, 0], coef[ch, 1], coef[ch, 2]
            ok = ok and np.isfinite(cb) and np.isfinite(cc)
            zero = g.dtype.type(0)
            for i in range(n):
                gr = g[i, ch]
                xr = x[i, ch]
                dr = dx[i, ch]
                if relu:
                    yr = y[i, ch]
                    for j in range(l):
                        gj = gr[j] if not (yr[j] <= zero) else zero
                        out = gj * ca - (xr[j] - m) * cb - cc
                        dr[j] = out
                        ok &= abs(out) < np.inf
                else:
                    for j in range(l):
                        out = gr[j] * ca - (xr[j] - m) * cb - cc
                        dr[j] = out
                        ok &= abs(out) < np.inf
        finite[ch] = ok


@njit(**_JIT)
def channel_affine(x, scale, shift, y):
    """y = x * scale + shift per channel (evaluation-mode batch norm, folded)."""
    n, c, l = x.shape
    for ch in prange(c):
        simd.wide()
        s = scale[ch]
        b = shift[ch]
        for i in range(n):
            xr = x[i, ch]
            yr = y[i, ch]
            for j in range(l):
                yr[j] = xr[j] * s + b
