"""float32 exp, tanh, sigmoid, SiLU, erf, both GELUs, the ELU family, softplus, log-sigmoid and
the cube of whole arrays, each one compiled loop.

NumPy's float32 transcendental ufuncs are slow on AVX2 (exp 1.6 ns an element, tanh 2.8, and
SciPy's erf 9 in float64), and a function built from them is several whole-array passes: on
512k elements ember's sigmoid took 4.4 ms, SiLU 3.6, GELU 4.9, the tanh GELU 2.5, ELU 10.1 and
softplus 11.4, against PyTorch's 0.25, 0.33, 0.24, 1.0, 0.65 and 0.86. Here each is one loop
over the elements with exp written out (``vmath.exp32``, ``expm1_32``, ``log1p_unit``), which
LLVM vectorizes. Arrays from ``PARALLEL_FROM`` elements are split into blocks over the cores
(the OpenMP pool oneDNN uses); below that the start of the pool's threads costs more than
the second core saves.

- ``exp``: ``vmath.exp32`` (within 1 ulp; see vmath.py for its edge values).
- ``tanh``: Cephes' tanhf: an odd polynomial below |x| = 0.625, 1 - 2 / (exp(2|x|) + 1)
  above it (within 2 ulp; +-inf give +-1, NaN gives NaN, -0.0 stays -0.0).
- ``sigmoid``: 1 / (1 + e), or e / (1 + e) for negative x, with e = exp(-|x|), which never
  overflows (ember's NumPy formula, with exp32).
- ``silu``: x * sigmoid(x).
- ``erf``: below |x| = 1, x P(x^2) in float64, P of degree 7 fitted to erf(x) / x on
  Chebyshev nodes (relative error 1e-10: the float32 result is correctly rounded); above,
  1 - erfc|x| with Numerical Recipes' erfc = t exp(-x^2 + poly(t)), t = 1 / (1 + |x| / 2),
  in float32 (relative error under 1.2e-7). Within 1.6 ulp of the exact value over the
  whole line; NaN gives NaN, +-inf give +-1, -0.0 stays -0.0.
- ``gelu``: (x / 2) (1 + erf(x / sqrt 2)), with 1 + erf(z) as erfc(|z|) (z < 0) or 2 - erfc(z)
  (Numerical Recipes' erfc, as above): half the work of erf's two branches, and no cancellation
  for very negative x, where 1 + erf loses every digit: within 6 ulp of the exact value above
  x = -1, within 2e-5 relative below (the rounding of x^2 inside exp); ``gelu_tanh``: (x / 2)
  (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))), in the NumPy path's order of operations.
- ``elu(x, alpha * scale, scale, input_scale)``: ELU, SELU and CELU (``vmath.expm1_32``).
- ``softplus(x, beta, threshold)``: x where beta x > threshold, else (max(z, 0) + log(1 +
  exp(-|z|))) / beta with z = beta x (``vmath.log1p_unit``), which never overflows;
  ``logsigmoid``: min(x, 0) - log(1 + exp(-|x|)).
- ``cube``: x * x * x (x ** 3, in the NumPy path's order: the same bits).
- ``<name>_grad(g, saved, out)``: the input's gradient of sigmoid, tanh and ELU (from their
  result; ELU's only for alpha > 0, where the result's sign is the input's) and of SiLU,
  both GELUs, softplus, log-sigmoid and the cube (from their input), for a backward that is not
  itself recorded (no ``create_graph``), in one pass instead of the formula's tensor ops.

Each function's serial and parallel kernels are written out, not made by a factory: Numba's
disk cache misses for closures made by one factory, and for kernels given the element function
as an argument (each process compiled them again and added cache entries).

Tested against float64 and the NumPy paths in ``tests/backend/test_pointwise_kernels.py`` and
``test_exp_log_kernels.py``.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import simd, vmath

# fused multiply-adds in exp's and tanh's polynomials (as in softmax.py)
_JIT = dict(cache=True, nogil=True, fastmath={"contract"}, error_model="numpy", boundscheck=False)
_PARALLEL = dict(_JIT, parallel=True)
_ELEMENT = dict(_JIT, inline="always")

PARALLEL_FROM = 1 << 16  # elements; see the module's notes
_BLOCK = 1 << 14         # elements a thread takes at a time

_ONE, _TWO, _THREE, _HALF = np.float32(1), np.float32(2), np.float32(3), np.float32(0.5)
_TANH_POLY_BELOW = np.float32(0.625)
_SQRT_2_OVER_PI, _GELU_CUBIC = np.float32(np.sqrt(2 / np.pi)), np.float32(0.044715)
_SQRT_HALF, _ONE_OVER_SQRT_2PI = np.float32(np.sqrt(0.5)), np.float32(1 / np.sqrt(2 * np.pi))
_GELU_CUBIC_3 = np.float32(3 * 0.044715)
_ERFC_FIT = np.float32([-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807,
                        -1.13520398, 1.48851587, -0.82215223, 0.17087277])


@njit(**_ELEMENT)
def _tanh(v):
    a = abs(v)
    big = _ONE - _TWO / (vmath.exp32(_TWO * a) + _ONE)
    big = big if v >= 0 else -big
    s = v * v
    small = ((((np.float32(-5.70498872745e-3) * s + np.float32(2.06390887954e-2)) * s
               - np.float32(5.37397155531e-2)) * s + np.float32(1.33314422036e-1)) * s
             - np.float32(3.33332819422e-1)) * s * v + v
    small = small if a != 0 else v  # +-0 itself: the polynomial's sum would give +0 for -0
    return big if a >= _TANH_POLY_BELOW else small


@njit(**_ELEMENT)
def _erf(v):
    x = np.float64(v)  # below |x| = 1: erf(x) / x as a polynomial in x^2, in float64
    t = x * x
    small = np.float32(x * (1.1283791670110168 + t * (-0.37612638290685374 + t * (0.11283780859165692 + t * (
        -0.02686536856969451 + t * (0.005220920627321206 + t * (-0.0008483168509558632 + t * (
            0.00011263509276158531 + t * -9.670125724208334e-06))))))))
    a = abs(v)
    r = _ONE / (_ONE + _HALF * a)
    exponent = -a * a + _erfc_poly(r)
    big = _ONE - r * vmath.exp32_nonpositive(exponent)  # 1 - erfc|x|; the exponent is below 0 from |x| = 1
    big = big if v >= 0 else -big
    return small if a < _ONE else big


@njit(**_ELEMENT)
def _erfc_poly(t):
    """Numerical Recipes' Chebyshev fit: erfc(x) = t exp(-x^2 + poly(t)), t = 1 / (1 + x / 2)."""
    c = _ERFC_FIT
    return c[0] + t * (c[1] + t * (c[2] + t * (c[3] + t * (c[4] + t * (c[5] + t * (c[6] + t * (
        c[7] + t * (c[8] + t * c[9]))))))))


@njit(**_ELEMENT)
def _erfc_of_abs(a):
    """erfc(a) for a >= 0 (or NaN), within 1.2e-7 relative: Numerical Recipes' fit."""
    r = _ONE / (_ONE + _HALF * a)
    return r * vmath.exp32_nonpositive(-a * a + _erfc_poly(r))


@njit(**_ELEMENT)
def _twice_cdf(v):
    """1 + erf(v / sqrt 2), the normal CDF times 2, as erfc(|v| / sqrt 2) or 2 minus it: never
    a difference that cancels, so within 1.2e-7 relative also where it is tiny (v << 0)."""
    e = _erfc_of_abs(abs(v) * _SQRT_HALF)
    return _TWO - e if v >= 0 else e


@njit(**_ELEMENT)
def _gelu(v):
    return (v * _HALF) * _twice_cdf(v)


@njit(**_ELEMENT)
def _sigmoid(v):
    e = vmath.exp32_nonpositive(-abs(v))
    return _ONE / (_ONE + e) if v >= 0 else e / (_ONE + e)


@njit(**_ELEMENT)
def _silu(v):
    return v * _sigmoid(v)


@njit(**_ELEMENT)
def _gelu_tanh(v):
    return (v * _HALF) * (_tanh((v + v * v * v * _GELU_CUBIC) * _SQRT_2_OVER_PI) + _ONE)


@njit(**_ELEMENT)
def _elu(v, neg, scale, input_scale):
    return v * scale if not (v <= 0) else vmath.expm1_32(v * input_scale) * neg


@njit(**_ELEMENT)
def _log1p_exp(z):
    """log(1 + exp(z)) without overflow: max(z, 0) + log(1 + exp(-|z|))."""
    return (z if z > 0 else np.float32(0)) + vmath.log1p_unit(vmath.exp32_nonpositive(-abs(z)))


@njit(**_ELEMENT)
def _softplus(v, beta, threshold):
    z = v * beta
    return v if z > threshold else _log1p_exp(z) / beta


@njit(**_ELEMENT)
def _logsigmoid(v):
    return (v if v < 0 else np.float32(0)) - vmath.log1p_unit(vmath.exp32_nonpositive(-abs(v)))


@njit(**_ELEMENT)
def _cube(v):
    return v * v * v


# Gradients from the incoming gradient g and what the op saved (its result y, or its input x),
# in the order of operations of the tensor-op formulas they stand in for (ops/math.py,
# ops/activation.py).
@njit(**_ELEMENT)
def _sigmoid_grad(g, y):
    return (g * y) * (_ONE - y)


@njit(**_ELEMENT)
def _tanh_grad(g, y):
    return g * (_ONE - y * y)


@njit(**_ELEMENT)
def _silu_grad(g, x):
    s = _sigmoid(x)
    return (g * s) * (x * (_ONE - s) + _ONE)


@njit(**_ELEMENT)
def _gelu_grad(g, x):
    cdf = _twice_cdf(x) * _HALF
    pdf = vmath.exp32_nonpositive(x * x * -_HALF) * _ONE_OVER_SQRT_2PI
    return g * (cdf + x * pdf)


@njit(**_ELEMENT)
def _gelu_tanh_grad(g, x):
    t = _tanh((x + x * x * x * _GELU_CUBIC) * _SQRT_2_OVER_PI)
    inner = (x * x * _GELU_CUBIC_3 + _ONE) * _SQRT_2_OVER_PI
    return g * ((t + _ONE) * _HALF + x * _HALF * (_ONE - t * t) * inner)


@njit(**_ELEMENT)
def _cube_grad(g, x):
    return g * (_THREE * (x * x))  # the NumPy path's grad * (3 * x ** 2)


@njit(**_ELEMENT)
def _elu_grad(g, y, neg, scale, input_scale):
    return g * (y + neg) * input_scale if y <= 0 else g * scale  # from the result (alpha > 0)


@njit(**_ELEMENT)
def _softplus_grad(g, x, beta, threshold):
    z = x * beta
    return g if z > threshold else g * _sigmoid(z)


@njit(**_ELEMENT)
def _logsigmoid_grad(g, x):
    return g * _sigmoid(-x)


# One serial and one blocked-parallel loop per function (Numba inlines the element function
# into each, so that the loop vectorizes; a function passed as an argument would not be). A
# block's loop runs over slices from 0: indexing the whole arrays from the block's start
# kept LLVM from vectorizing it (exp 2.2 ns an element on one thread, against 1.0).
@njit(**_JIT)
def exp(x, out):
    simd.wide()
    for k in range(x.shape[0]):
        out[k] = vmath.exp32(x[k])


@njit(**_PARALLEL)
def exp_parallel(x, out):
    n = x.shape[0]
    for b in prange((n + _BLOCK - 1) // _BLOCK):
        simd.wide()
        lo, hi = b * _BLOCK, min(n, (b + 1) * _BLOCK)
        xb, ob = x[lo:hi], out[lo:hi]
        for k in range(hi - lo):
            ob[k] = vmath.exp32(xb[k])


@njit(**_JIT)
def tanh(x, out):
    simd.wide()
    for k in range(x.shape[0]):
        out[k] = _tanh(x[k])


@njit(**_PARALLEL)
def tanh_parallel(x, out):
    n = x.shape[0]
    for b in prange((n + _BLOCK - 1) // _BLOCK):
        simd.wide()
        lo, hi = b * _BLOCK, min(n, (b + 1) * _BLOCK)
        xb, ob = x[lo:hi], out[lo:hi]
        for k in range(hi - lo):
            ob[k] = _tanh(xb[k])


@njit(**_JIT)
def sigmoid(x, out):
    simd.wide()
    for k in range(x.shape[0]):
        out[k] = _sigmoid(x[k])


@njit(**_PARALLEL)
def sigmoid_parallel(x, out):
    n = x.shape[0]
    for b in prange((n + _BLOCK - 1) // _BLOCK):
        simd.wide()
        lo, hi = b * _BLOCK, min(n, (b + 1) * _BLOCK)
        xb, ob = x[lo:hi], out[lo:hi]
        for k in range(hi - lo):
            ob[k] = _sigmoid(xb[k])


@njit(**_JIT)
def silu(x, out):
    simd.wide()
    for k in range(x.shape[0]):
        out[k] = _silu(x[k])


@njit(**_PARALLEL)
def silu_parallel(x, out):
    n = x.shape[0]
    for b in prange((n + _BLOCK - 1) // _BLOCK):
        simd.wide()
        lo, hi = b * _BLOCK, min(n, (b + 1) * _BLOCK)
        xb, ob = x[lo:hi], out[lo:hi]
        for k in range(hi - lo):
            ob[k] = _silu(xb[k])


@njit(**_JIT)
def gelu_tanh(x, out):
    simd.wide()
    for k in range(x.shape[0]):
        out[k] = _gelu_tanh(x[k])


@njit(**_PARALLEL)
def gelu_tanh_parallel(x, out):
    n = x.shape[0]
    for b in prange((n + _BLOCK - 1) // _BLOCK):
        simd.wide()
        lo, hi = b * _BLOCK, min(n, (b + 1) * _BLOCK)
        xb, ob = x[lo:hi], out[lo:hi]
        for k in range(hi - lo):
            ob[k] = _gelu_tanh(xb[k])


@njit(**_JIT)
def erf(x, out):
    simd.wide()
    for k in range(x.shape[0]):
        out[k] = _erf(x[k])


@njit(**_PARALLEL)
def erf_parallel(x, out):
    n = x.shape[0]
    for b in prange((n + _BLOCK - 1) // _BLOCK):
        simd.wide()
        lo, hi = b * _BLOCK, min(n, (b + 1) * _BLOCK)
        xb, ob = x[lo:hi], out[lo:hi]
        for k in range(hi - lo):
            ob[k] = _erf(xb[k])


@njit(**_JIT)
def gelu(x, out):
    simd.wide()
    for k in range(x.shape[0]):
        out[k] = _gelu(x[k])


@njit(**_PARALLEL)
def gelu_parallel(x, out):
    n = x.shape[0]
    for b in prange((n + _BLOCK - 1) // _BLOCK):
        simd.wide()
        lo, hi = b * _BLOCK, min(n, (b + 1) * _BLOCK)
        xb, ob = x[lo:hi], out[lo:hi]
        for k in range(hi - lo):
            ob[k] = _gelu(xb[k])


@njit(**_JIT)
def sigmoid_grad(g, saved, out):
    simd.wide()
    for k in range(g.shape[0]):
        out[k] = _sigmoid_grad(g[k], saved[k])


@njit(**_PARALLEL)
def sigmoid_grad_parallel(g, saved, out):
    n = g.shape[0]
    for b in prange((n + _BLOCK - 1) // _BLOCK):
        simd.wide()
        lo, hi = b * _BLOCK, min(n, (b + 1) * _BLOCK)
        gb, sb, ob = g[lo:hi], saved[lo:hi], out[lo:hi]
        for k in range(hi - lo):
            ob[k] = _sigmoid_grad(gb[k], sb[k])


@njit(**_JIT)
def tanh_grad(g, saved, out):
    simd.wide()
    for k in range(g.shape[0]):
        out[k] = _tanh_grad(g[k], saved[k])


@njit(**_PARALLEL)
def tanh_grad_parallel(g, saved, out):
    n = g.shape[0]
    for b in prange((n + _BLOCK - 1) // _BLOCK):
        simd.wide()
        lo, hi = b * _BLOCK, min(n, (b + 1) * _BLOCK)
        gb, sb, ob = g[lo:hi], saved[lo:hi], out[lo:hi]
        for k in range(hi - lo):
            ob[k] = _tanh_grad(gb[k], sb[k])


@njit(**_JIT)
def silu_grad(g, saved, out):
    simd.wide()
    for k in range(g.shape[0]):
        out[k] = _silu_grad(g[k], saved[k])


@njit(**_PARALLEL)
def silu_grad_parallel(g, saved, out):
    n = g.shape[0]
    for b in prange((n + _BLOCK - 1) // _BLOCK):
        simd.wide()
        lo, hi = b * _BLOCK, min(n, (b + 1) * _BLOCK)
        gb, sb, ob = g[lo:hi], saved[lo:hi], out[lo:hi]
        for k in range(hi - lo):
            ob[k] = _silu_grad(gb[k], sb[k])


@njit(**_JIT)
def gelu_grad(g, saved, out):
    simd.wide()
    for k in range(g.shape[0]):
        out[k] = _gelu_grad(g[k], saved[k])


@njit(**_PARALLEL)
def gelu_grad_parallel(g, saved, out):
    n = g.shape[0]
    for b in prange((n + _BLOCK - 1) // _BLOCK):
        simd.wide()
        lo, hi = b * _BLOCK, min(n, (b + 1) * _BLOCK)
        gb, sb, ob = g[lo:hi], saved[lo:hi], out[lo:hi]
        for k in range(hi - lo):
            ob[k] = _gelu_grad(gb[k], sb[k])


@njit(**_JIT)
def gelu_tanh_grad(g, saved, out):
    simd.wide()
    for k in range(g.shape[0]):
        out[k] = _gelu_tanh_grad(g[k], saved[k])


@njit(**_PARALLEL)
def gelu_tanh_grad_parallel(g, saved, out):
    n = g.shape[0]
    for b in prange((n + _BLOCK - 1) // _BLOCK):
        simd.wide()
        lo, hi = b * _BLOCK, min(n, (b + 1) * _BLOCK)
        gb, sb, ob = g[lo:hi], saved[lo:hi], out[lo:hi]
        for k in range(hi - lo):
            ob[k] = _gelu_tanh_grad(gb[k], sb[k])


@njit(**_JIT)
def elu(x, neg, scale, input_scale, out):
    simd.wide()
    for k in range(x.shape[0]):
        out[k] = _elu(x[k], neg, scale, input_scale)


@njit(**_PARALLEL)
def elu_parallel(x, neg, scale, input_scale, out):
    n = x.shape[0]
    for b in prange((n + _BLOCK - 1) // _BLOCK):
        simd.wide()
        lo, hi = b * _BLOCK, min(n, (b + 1) * _BLOCK)
        xb, ob = x[lo:hi], out[lo:hi]
        for k in range(hi - lo):
            ob[k] = _elu(xb[k], neg, scale, input_scale)


@njit(**_JIT)
def elu_grad(g, saved, neg, scale, input_scale, out):
    simd.wide()
    for k in range(g.shape[0]):
        out[k] = _elu_grad(g[k], saved[k], neg, scale, input_scale)


@njit(**_PARALLEL)
def elu_grad_parallel(g, saved, neg, scale, input_scale, out):
    n = g.shape[0]
    for b in prange((n + _BLOCK - 1) // _BLOCK):
        simd.wide()
        lo, hi = b * _BLOCK, min(n, (b + 1) * _BLOCK)
        gb, sb, ob = g[lo:hi], saved[lo:hi], out[lo:hi]
        for k in range(hi - lo):
            ob[k] = _elu_grad(gb[k], sb[k], neg, scale, input_scale)


@njit(**_JIT)
def softplus(x, beta, threshold, out):
    simd.wide()
    for k in range(x.shape[0]):
        out[k] = _softplus(x[k], beta, threshold)


@njit(**_PARALLEL)
def softplus_parallel(x, beta, threshold, out):
    n = x.shape[0]
    for b in prange((n + _BLOCK - 1) // _BLOCK):
        simd.wide()
        lo, hi = b * _BLOCK, min(n, (b + 1) * _BLOCK)
        xb, ob = x[lo:hi], out[lo:hi]
        for k in range(hi - lo):
            ob[k] = _softplus(xb[k], beta, threshold)


@njit(**_JIT)
def softplus_grad(g, saved, beta, threshold, out):
    simd.wide()
    for k in range(g.shape[0]):
        out[k] = _softplus_grad(g[k], saved[k], beta, threshold)


@njit(**_PARALLEL)
def softplus_grad_parallel(g, saved, beta, threshold, out):
    n = g.shape[0]
    for b in prange((n + _BLOCK - 1) // _BLOCK):
        simd.wide()
        lo, hi = b * _BLOCK, min(n, (b + 1) * _BLOCK)
        gb, sb, ob = g[lo:hi], saved[lo:hi], out[lo:hi]
        for k in range(hi - lo):
            ob[k] = _softplus_grad(gb[k], sb[k], beta, threshold)


@njit(**_JIT)
def logsigmoid(x, out):
    simd.wide()
    for k in range(x.shape[0]):
        out[k] = _logsigmoid(x[k])


@njit(**_PARALLEL)
def logsigmoid_parallel(x, out):
    n = x.shape[0]
    for b in prange((n + _BLOCK - 1) // _BLOCK):
        simd.wide()
        lo, hi = b * _BLOCK, min(n, (b + 1) * _BLOCK)
        xb, ob = x[lo:hi], out[lo:hi]
        for k in range(hi - lo):
            ob[k] = _logsigmoid(xb[k])


@njit(**_JIT)
def logsigmoid_grad(g, saved, out):
    simd.wide()
    for k in range(g.shape[0]):
        out[k] = _logsigmoid_grad(g[k], saved[k])


@njit(**_PARALLEL)
def logsigmoid_grad_parallel(g, saved, out):
    n = g.shape[0]
    for b in prange((n + _BLOCK - 1) // _BLOCK):
        simd.wide()
        lo, hi = b * _BLOCK, min(n, (b + 1) * _BLOCK)
        gb, sb, ob = g[lo:hi], saved[lo:hi], out[lo:hi]
        for k in range(hi - lo):
            ob[k] = _logsigmoid_grad(gb[k], sb[k])


@njit(**_JIT)
def cube(x, out):
    simd.wide()
    for k in range(x.shape[0]):
        out[k] = _cube(x[k])


@njit(**_PARALLEL)
def cube_parallel(x, out):
    n = x.shape[0]
    for b in prange((n + _BLOCK - 1) // _BLOCK):
        simd.wide()
        lo, hi = b * _BLOCK, min(n, (b + 1) * _BLOCK)
        xb, ob = x[lo:hi], out[lo:hi]
        for k in range(hi - lo):
            ob[k] = _cube(xb[k])


@njit(**_JIT)
def cube_grad(g, saved, out):
    simd.wide()
    for k in range(g.shape[0]):
        out[k] = _cube_grad(g[k], saved[k])


@njit(**_PARALLEL)
def cube_grad_parallel(g, saved, out):
    n = g.shape[0]
    for b in prange((n + _BLOCK - 1) // _BLOCK):
        simd.wide()
        lo, hi = b * _BLOCK, min(n, (b + 1) * _BLOCK)
        gb, sb, ob = g[lo:hi], saved[lo:hi], out[lo:hi]
        for k in range(hi - lo):
            ob[k] = _cube_grad(gb[k], sb[k])
