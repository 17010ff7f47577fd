"""Special functions NumPy lacks (erf, gamma functions, Bessel functions, ...), from SciPy on
the CPU and CuPy's cupyx.scipy.special on CUDA. ``ops/special.py`` and a few other ops call
them by the names below; nothing else chooses between the two libraries."""
from __future__ import annotations

import numpy as np


def _module(array):
    if type(array) is np.ndarray or np.isscalar(array):
        import scipy.special
        return scipy.special
    import cupyx.scipy.special
    return cupyx.scipy.special


def erf(x):
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
