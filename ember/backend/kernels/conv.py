"""im2col and col2im of 2-d convolutions (1-d ones as planes of one row): the copies around
each convolution's GEMM.

Columns are ``ember.ops.conv``'s layout, (C, kh, kw, N, oh, ow): one row per input channel
and kernel tap, one column per output position. Both loops read and write the input
``xp`` already padded, (N, C, H + pads, W + pads), so every index is in range, and index
with unsigned integers: the innermost loop is then a plain strided copy or add, which LLVM
vectorizes. (Numba wraps a signed index that may be negative, a test per element: with
indices computed from the strides as signed integers the loops ran 1.8x slower, and with a
test for the padding inside them 2-4x slower than NumPy.) col2im adds the taps in
row-major order into a zeroed ``xp``, as the NumPy path does, so the two give the same sums.

One thread each, like NumPy's copies they replace: a parallel im2col measured slower inside
a training step (ResNet-8: 155-164 against 138-151 ms), its threads competing with the core
OpenBLAS keeps busy after each matrix product. Serial, they measured 1.3-1.9x (im2col) and
2.2-3.5x (col2im) faster than the NumPy path's copy per tap on the benchmarks' shapes; a
whole convolution 1.1-1.5x (``bench/kernels.py``). The two loops are written out separately
rather than one loop with a copy-or-add switch, as Numba vectorizes a plain loop reliably
(see optim.py on jitted helpers).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from . import simd

_JIT = dict(cache=True, nogil=True, fastmath=False, error_model="numpy", boundscheck=False)


@njit(**_JIT)
def im2col_2d(xp, cols, sh, sw, dh, dw):
    """cols[c, i, j, n, oh, ow] = xp[n, c, oh * sh + i * dh, ow * sw + j * dw]."""
    simd.wide()
    nc, kh, kw, nb, oh_n, ow_n = cols.shape
    for c in range(nc):
        for i in range(kh):
            for j in range(kw):
                base = np.uintp(j * dw)
                for n in range(nb):
                    for oh in range(oh_n):
                        src = xp[n, c, np.uintp(oh * sh + i * dh)]
                        dst = cols[c, i, j, n, oh]
                        if sw == 1:
                            for ow in range(ow_n):
                                dst[ow] = src[np.uintp(ow) + base]
                        else:
                            for ow in range(ow_n):
                                dst[ow] = src[np.uintp(ow * sw) + base]


@njit(**_JIT)
def col2im_2d(cols, xp, sh, sw, dh, dw):
    """xp[n, c, oh * sh + i * dh, ow * sw + j * dw] += cols[c, i, j, n, oh, ow], tap after tap
    (``xp`` zeroed by the caller)."""
    simd.wide()
    nc, kh, kw, nb, oh_n, ow_n = cols.shape
    for c in range(nc):
        for i in range(kh):
            for j in range(kw):
                base = np.uintp(j * dw)
                for n in range(nb):
                    for oh in range(oh_n):
                        dst = xp[n, c, np.uintp(oh * sh + i * dh)]
                        src = cols[c, i, j, n, oh]
                        if sw == 1:
                            for ow in range(ow_n):
                                dst[np.uintp(ow) + base] += src[ow]
                        else:
                            for ow in range(ow_n):
                                dst[np.uintp(ow * sw) + base] += src[ow]
