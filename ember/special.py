"""torch.special: special functions under PyTorch's names (gammaln, psi, expit, ndtr, ...).

The primitives live in ``ops/special.py`` (and the shared ones, erf or softmax, in their own
topics); this module names them as torch.special does and gives each PyTorch's ``out=``.
"""
from __future__ import annotations

from ._tensor import Tensor as _Tensor
from .ops import activation as _activation
from .ops import binary as _binary
from .ops import math as _math
from .ops import moments as _moments
from .ops import special as _special
from .ops._out import with_out as _with_out

__all__ = [
    "bessel_j0", "bessel_j1", "digamma", "entr", "erf", "erfc", "erfcx", "erfinv", "exp2", "expit",
    "expm1", "gammainc", "gammaincc", "gammaln", "i0", "i0e", "i1", "i1e", "log1p", "log_ndtr",
    "log_softmax", "logit", "logsumexp", "multigammaln", "ndtr", "ndtri", "polygamma", "psi", "round",
    "sinc", "softmax", "spherical_bessel_j0", "xlog1py", "xlogy", "zeta",
]


def _named(fn, name: str):
    """``fn`` with out= under torch.special's name (errors and out= messages use it)."""
    def op(*args, **kwargs):
        return fn(*args, **kwargs)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = fn.__doc__
    return _with_out()(op)


_SOURCES = {
    "bessel_j0": _special.bessel_j0, "bessel_j1": _special.bessel_j1, "digamma": _special.digamma,
    "entr": _special.entr, "erf": _math.erf, "erfc": _math.erfc, "erfcx": _special.erfcx,
    "erfinv": _math.erfinv, "exp2": _math.exp2, "expit": _math.sigmoid, "expm1": _math.expm1,
    "gammainc": _special.igamma, "gammaincc": _special.igammac, "gammaln": _special.lgamma,
    "i0": _special.i0, "i0e": _special.i0e, "i1": _special.i1, "i1e": _special.i1e,
    "log1p": _math.log1p, "log_ndtr": _special.log_ndtr, "logit": _math.logit,
    "logsumexp": _moments.logsumexp, "multigammaln": _special.mvlgamma, "ndtr": _special.ndtr,
    "ndtri": _special.ndtri, "polygamma": _special.polygamma, "psi": _special.digamma,
    "sinc": _special.sinc, "spherical_bessel_j0": _special.spherical_bessel_j0,
    "xlog1py": _special.xlog1py, "xlogy": _binary.xlogy, "zeta": _special.zeta,
}
globals().update({name: _named(fn, name) for name, fn in _SOURCES.items()})


@_with_out()
def round(input, *, decimals: int = 0):
    """x rounded to ``decimals`` places, halves to even; unlike the top-level round,
    integer and bool tensors are refused, as in PyTorch."""
    if isinstance(input, _Tensor) and not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"round_cpu\" not implemented for '{input.dtype.kernel_name}': "
                                  "special.round needs a floating point tensor")
    return _math.round(input, decimals=decimals)


def softmax(input, dim: int, *, dtype=None):
    """exp(x) / sum(exp(x)) along ``dim`` (computed in ``dtype`` when given)."""
    return _activation.softmax(input, dim, dtype=dtype)


def log_softmax(input, dim: int, *, dtype=None):
    """log(softmax(x)) along ``dim`` (computed in ``dtype`` when given)."""
    return _activation.log_softmax(input, dim, dtype=dtype)
