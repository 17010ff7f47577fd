"""erf of float32 arrays in two compiled loops around NumPy's vectorized exp.

SciPy's erf runs scalar code, about 11 ns an element (1M float32: 11 ms); it was 30% of a
small GPT's training step through GELU. Here, in float64 and rounded once to float32:

- |x| < 1: x P(x^2) / Q(x^2), the rational fit Eigen and XLA use (no exp);
- |x| >= 1: sign(x) (1 - erfc|x|), erfc from Numerical Recipes' Chebyshev fit
  t exp(-x^2 + poly(t)), t = 1 / (1 + |x| / 2), relative error below 1.2e-7.

The exponent is one loop, NumPy's exp (SIMD) runs on it in place, and the result is a
second loop; LLVM vectorizes both (no calls inside). Within 1.6 float32 ulp of the exact
value over the whole line (tested against SciPy in float64), as PyTorch's vectorized erf is
within about 1; nan gives nan, +-inf gives +-1. One thread, like the other kernels.
"""
from __future__ import annotations

import numpy as np
from numba import njit

_JIT = dict(cache=True, nogil=True, fastmath=False, error_model="numpy", boundscheck=False)


@njit(**_JIT)
def erfc_exponent(x, out):
    """out = -x^2 + poly(t), the exponent of erfc|x| / t (1-d; x float32, out float64)."""
    for k in range(x.shape[0]):
        a = abs(np.float64(x[k]))
        t = 1.0 / (1.0 + 0.5 * a)
        out[k] = -a * a + (-1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (
            0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (
                1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))))


@njit(**_JIT)
def erf_from(x, e, out):
    """out = erf(x), with e = exp(erfc_exponent(x)) (1-d; x and out float32)."""
    for k in range(x.shape[0]):
        v = np.float64(x[k])
        a = abs(v)
        if a < 1.0:
            v2 = v * v
            p = ((((((-2.72614225801306e-10 * v2 + 2.77068142495902e-08) * v2 - 2.10102402082508e-06)
                    * v2 - 5.69250639462346e-05) * v2 - 7.34990630326855e-04) * v2 - 2.95459980854025e-03)
                 * v2 - 1.60960333262415e-02)
            q = ((((-1.45660718464996e-05 * v2 - 2.13374055278905e-04) * v2 - 1.68282697438203e-03)
                  * v2 - 7.37332916720468e-03) * v2 - 1.42647390514189e-02)
            r = v * p / q
        else:
            r = 1.0 - e[k] / (1.0 + 0.5 * a)
            if v < 0.0:
                r = -r
        out[k] = r


def erf_float32(x: np.ndarray) -> np.ndarray:
    """erf of a float32 array (any shape and strides)."""
    flat = np.ascontiguousarray(x).reshape(-1)
    e = np.empty(flat.shape[0], np.float64)
    erfc_exponent(flat, e)
    with np.errstate(under="ignore"):
        np.exp(e, out=e)
    out = np.empty(flat.shape[0], np.float32)
    erf_from(flat, e, out)
    return out.reshape(x.shape)
