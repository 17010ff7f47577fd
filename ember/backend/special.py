"""Special functions NumPy lacks (erf, erfinv), from SciPy on the CPU and CuPy on CUDA."""
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
