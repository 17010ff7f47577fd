"""Special functions NumPy lacks (erf, gamma functions, Bessel functions, ...), from SciPy on
the CPU and CuPy's cupyx.scipy.special on CUDA. ``ops/special.py`` and a few other ops call
them by the names below; nothing else chooses between the two libraries. A float32 erf of
``kernels.POINTWISE_MIN`` elements or more (GELU's) runs on the compiled kernels
(``kernels/pointwise.py``, about 5x SciPy's speed on one core) where they are on."""
from __future__ import annotations

import numpy as np


def _module(array):
    if type(array) is np.ndarray or np.isscalar(array):
        import scipy.special
        return scipy.special
    import cupyx.scipy.special
    return cupyx.scipy.special


def erf(x):
    if type(x) is np.ndarray and x.dtype == np.float32:
        from . import kernels
        out = kernels.apply_pointwise("erf", (np.ascontiguousarray(x),))
        if out is not None:
            return out
    return _module(x).erf(x)


def erfc(x):
    return _module(x).erfc(x)


def erfinv(x):
    return _module(x).erfinv(x)


def gammaln(x):
    return _module(x).gammaln(x)


def digamma(x):
    return _module(x).digamma(x)


def polygamma(n: int, x):
    return _module(x).polygamma(n, x)


def _same_name(name: str):
    """The function ``name`` of whichever library holds the last argument's array."""
    def fn(*args):
        return getattr(_module(args[-1]), name)(*args)
    fn.__name__ = fn.__qualname__ = name
    return fn


erfcx, i0, i0e, i1, i1e = (_same_name(n) for n in ("erfcx", "i0", "i0e", "i1", "i1e"))
ndtr, ndtri, log_ndtr, entr = (_same_name(n) for n in ("ndtr", "ndtri", "log_ndtr", "entr"))
gammainc, gammaincc, zeta, j0, j1 = (_same_name(n) for n in ("gammainc", "gammaincc", "zeta", "j0", "j1"))
