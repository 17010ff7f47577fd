"""Softmax and log-softmax gradients, one compiled pass per row instead of NumPy's four.

The gradient of log-softmax is ``g - exp(y) * sum(g)`` and that of softmax
``y * (g - sum(g * y))``, both along rows, from the forward's result ``y``. NumPy runs them
as an exp, a sum, a product and a difference, each a pass over the whole array. On a
word-level LSTM's (700, 10000) logits that took 11.6 ms on 2 cores, most of it NumPy's
float32 exp (1.6 ns an element on AVX2, against PyTorch's 3.9 ms for the whole gradient).
Here each row is read while in cache: its sum, then one loop that writes the result.

exp is computed in the loop, so that LLVM vectorizes it (a call to NumPy's exp would stop
that): Cephes' expf, exp(v) = 2^k p(r) with k = round(v / ln 2), r = v - k ln 2 in two
parts, p a degree-7 polynomial, and 2^k made from its exponent bits. Within 1 float32 ulp
of the exact value up to 88.37 and 2.5 ulp above it (where k is capped at 127 and
exp(r / 2) is squared), tested against float64; arguments under -87.33 give 0 (exp's
result there is subnormal, under 1.2e-38), above 88.72 +inf, NaN gives NaN. Row sums are
taken in float64 (``reassoc`` lets LLVM vectorize them). Rows: 2-d arrays, one thread a
call (``ops/activation.py`` hands blocks of rows to the cores).
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

_JIT = dict(cache=True, nogil=True, fastmath=False, error_model="numpy", boundscheck=False)
# fused multiply-adds in exp's polynomial: 6.3 ms instead of 7.8 for 7M elements on one core
_EXP = dict(cache=True, nogil=True, fastmath={"contract"}, error_model="numpy", boundscheck=False)
_SUM = dict(cache=True, nogil=True, fastmath={"reassoc"}, error_model="numpy", boundscheck=False)

_LOG2E = np.float32(1.4426950408889634)
_LN2_HI, _LN2_LO = np.float32(0.693359375), np.float32(-2.12194440e-4)  # ln 2 = hi + lo
_LOWEST, _HIGHEST = np.float32(-87.33654), np.float32(88.72284)  # exp's normal float32 range
_HALVED_ABOVE = np.float32(0.35)  # |r| past ln 2 / 2 only where k was capped at 127


@njit(**_SUM)
def _row_sum(a):
    total = 0.0
    for j in range(a.shape[0]):
        total += np.float64(a[j])
    return total


@njit(**_SUM)
def _row_dot(a, b):
    total = 0.0
    for j in range(a.shape[0]):
        total += np.float64(a[j]) * np.float64(b[j])
    return total


@intrinsic
def _float_with_bits(typingctx, bits):
    """The float32 whose bits are the low 32 of the integer ``bits`` (LLVM's bitcast)."""
    if not isinstance(bits, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        low = builder.trunc(args[0], ir.IntType(32)) if bits.bitwidth > 32 else args[0]
        return builder.bitcast(low, ir.FloatType())
    return types.float32(bits), codegen


@njit(inline="always", **_EXP)
def _exp(v):
    c = v if v > _LOWEST else _LOWEST  # v clamped to exp's range (NaN to its low end)
    c = c if c < _HIGHEST else _HIGHEST
    k = np.floor(c * _LOG2E + np.float32(0.5))
    k = k if k < np.float32(127) else np.float32(127)
    scale = _float_with_bits(np.int32((k + np.float32(127)) * np.float32(1 << 23)))  # 2^k
    r = (c - k * _LN2_HI) - k * _LN2_LO
    halved = r > _HALVED_ABOVE  # near the top of the range: exp(r) = exp(r / 2)^2
    r = r * np.float32(0.5) if halved else r
    z = r * r
    p = (((((np.float32(1.9875691500e-4) * r + np.float32(1.3981999507e-3)) * r + np.float32(8.3334519073e-3)) * r
           + np.float32(4.1665795894e-2)) * r + np.float32(1.6666665459e-1)) * r + np.float32(5.0000001201e-1)) \
        * z + r + np.float32(1.0)
    p = p * p if halved else p
    e = scale * p
    e = e if v >= _LOWEST else np.float32(0)
    e = e if v <= _HIGHEST else np.float32(np.inf)
    return e if v == v else v


@njit(**_EXP)
def log_softmax_backward(g, y, out):
    """out = g - exp(y) * sum(g), row by row (float32)."""
    for i in range(y.shape[0]):
        total = np.float32(_row_sum(g[i]))
        gi, yi, oi = g[i], y[i], out[i]
        for j in range(yi.shape[0]):
            oi[j] = gi[j] - _exp(yi[j]) * total


@njit(**_JIT)
def softmax_backward(g, y, out):
    """out = y * (g - sum(g * y)), row by row (float32 or float64)."""
    for i in range(y.shape[0]):
        gi, yi, oi = g[i], y[i], out[i]
        total = gi.dtype.type(_row_dot(gi, yi))
        for j in range(yi.shape[0]):
            oi[j] = yi[j] * (gi[j] - total)
