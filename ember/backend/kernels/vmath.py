"""float32 exp, expm1 and log1p written out for compiled loops, so that LLVM vectorizes the loop
that calls them (a call to NumPy's or libm's would keep it scalar), and a float64 row sum that
LLVM vectorizes.

NumPy's float32 exp runs at 1.6 ns an element on an AVX2 core; inlined in a loop this one
takes about 0.9 (7M elements: 6.3 ms against 11.4 on one core). It is inlined
(``inline="always"``) into the kernel that calls it, with that kernel's fastmath flags:
allow ``contract`` (fused multiply-adds; 7.8 ms without). Numba's on-disk cache does not
follow imports: a kernel inlining it is recompiled when its own file changes, not when this
one does (delete ``__pycache__`` after editing here).

- ``exp32``: exp(v) = 2^k p(r), k = round(v / ln 2) (rounded by adding 1.5 * 2^23), r = v -
  k ln 2 in two parts, p = 1 + r + r^2 P(r) with Cephes' expf polynomial, 2^k applied by
  adding k to p's exponent bits: about 20 vector instructions. Within 1 ulp of the exact
  value over the range; under -87.33 it gives 0 (exp is subnormal there, under 1.2e-38), from
  88.72 +inf, NaN gives NaN.
- ``exp32_nonpositive``: exp32's bits for v <= 0 (exp(-|x|) in sigmoid, softplus, erf),
  without the check for overflow.
- ``expm1_32``: exp(v) - 1 without the cancellation near 0: below |v| = ln 2, h (h + 2)
  with h = exp(v / 2) - 1 from exp32's reduced polynomial without its 1 (r + r^2 P(r)), else
  exp32(v) - 1. Within 2.5 ulp.
- ``log1p_unit``: log(1 + v) for 0 <= v <= 1 (the softplus family's log(1 + exp(-|z|))): u
  = 1 + v rounded, log(u) by Cephes' logf polynomial on [sqrt(1/2), sqrt(2)), times v / (u -
  1), which undoes the rounding of u (Goldberg's correction). Within 2.5 ulp.
- ``sum64``, ``dot64``: the float64 sum of a row and of the products of two, in the order
  LLVM's vector lanes take them (``reassoc``: compiled on their own, not inlined, so that
  the flag stays on their loops; 512-bit lanes, ``simd.wide``, where the CPU has them).

Tested against float64 over float32's range (``tests/backend/test_softmax_kernels.py``,
``test_exp_log_kernels.py``).
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from . import simd

_INLINE = dict(inline="always", cache=True, nogil=True, error_model="numpy", boundscheck=False)
_SUM = dict(cache=True, nogil=True, fastmath={"reassoc"}, error_model="numpy", boundscheck=False)

_LOG2E = np.float32(1.4426950408889634)
_LN2_HI, _LN2_LO = np.float32(0.693359375), np.float32(-2.12194440e-4)  # ln 2 = hi + lo
_LOWEST, _HIGHEST = np.float32(-87.33654), np.float32(88.72284)  # exp's normal float32 range
_ROUNDER = np.float32(1.5 * 2 ** 23)  # added to |x| < 2^22, leaves round(x) in the low mantissa bits


@intrinsic
def _float_with_bits(typingctx, bits):
    """The float32 whose bits are the low 32 of the integer ``bits`` (LLVM's bitcast)."""
    if not isinstance(bits, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        low = builder.trunc(args[0], ir.IntType(32)) if bits.bitwidth > 32 else args[0]
        return builder.bitcast(low, ir.FloatType())
    return types.float32(bits), codegen


@intrinsic
def _bits_of(typingctx, value):
    """The bits of the float32 ``value`` as an int32 (LLVM's bitcast)."""
    if value != types.float32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))
    return types.int32(value), codegen


@njit(**_INLINE)
def _expm1_reduced(r):
    """exp(r) - 1 for |r| <= ln 2 / 2: r + r^2 P(r), P of degree 5 (Cephes' expf)."""
    return (((((np.float32(1.9875691500e-4) * r + np.float32(1.3981999507e-3)) * r + np.float32(8.3334519073e-3)) * r
              + np.float32(4.1665795894e-2)) * r + np.float32(1.6666665459e-1)) * r
            + np.float32(5.0000001201e-1)) * (r * r) + r


@njit(**_INLINE)
def _exp_in_range(v):
    """exp(v) for v in [_LOWEST, _HIGHEST): 2^k p(r), 2^k applied by adding k to p's exponent
    bits (k up to 128, where p < 1; from _LOWEST up, r >= 0 where k = -126, so p >= 1 and the
    sum stays a normal float)."""
    t = v * _LOG2E + _ROUNDER
    k = t - _ROUNDER  # round(v / ln 2), and t's low bits hold it as an integer
    r = (v - k * _LN2_HI) - k * _LN2_LO
    p = _expm1_reduced(r) + np.float32(1.0)
    return _float_with_bits(_bits_of(p) + (_bits_of(t) << np.int32(23)))


@njit(**_INLINE)
def exp32(v):
    """exp of a float32 (see the module's notes for its accuracy and edge values)."""
    e = _exp_in_range(v)
    e = e if v >= _LOWEST else np.float32(0)
    e = e if v < _HIGHEST else np.float32(np.inf)
    return e if v == v else v


@njit(**_INLINE)
def exp32_nonpositive(v):
    """exp32(v) for v <= 0 (or NaN), with the same bits, without exp32's check for overflow."""
    e = _exp_in_range(v)
    e = e if v >= _LOWEST else np.float32(0)
    return e if v == v else v


_LN2_32 = np.float32(0.69314718)


@njit(**_INLINE)
def expm1_32(v):
    """exp(v) - 1 of a float32 (see the module's notes)."""
    h = _expm1_reduced(v * np.float32(0.5))  # exp(v / 2) - 1: v / 2 is in the reduced range where |v| < ln 2
    small = h * (h + np.float32(2)) if v != 0 else v  # (e^(v/2) - 1)(e^(v/2) + 1); -0.0 stays
    return small if abs(v) < _LN2_32 else exp32(v) - np.float32(1)


_SQRT_TWO32 = np.float32(1.41421356)
_LOG_POLY = np.float32([7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
                        -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1])  # Cephes' logf


@njit(**_INLINE)
def log1p_unit(v):
    """log(1 + v) of a float32 0 <= v <= 1 (see the module's notes)."""
    u = np.float32(1) + v
    above = u > _SQRT_TWO32  # u in (sqrt 2, 2]: log u = log(u / 2) + ln 2
    m = u * np.float32(0.5) if above else u
    f = m - np.float32(1)
    z = f * f
    c = _LOG_POLY
    y = (((((((((c[0] * f + c[1]) * f + c[2]) * f + c[3]) * f + c[4]) * f + c[5]) * f + c[6]) * f + c[7]) * f + c[8])
         * f * z)
    log_m = f + (y - np.float32(0.5) * z)
    log_u = log_m + _LN2_HI + _LN2_LO if above else log_m
    d = u - np.float32(1)
    return v if d == 0 else log_u * (v / d)


@njit(**_SUM)
def sum64(row):
    """sum(row) in float64 (see the module's notes)."""
    simd.wide()
    total = 0.0
    for j in range(row.shape[0]):
        total += np.float64(row[j])
    return total


@njit(**_SUM)
def dot64(a, b):
    """sum(a * b) in float64 (see the module's notes)."""
    simd.wide()
    total = 0.0
    for j in range(a.shape[0]):
        total += np.float64(a[j]) * np.float64(b[j])
    return total
