"""ember.fft: PyTorch's torch.fft namespace (transforms, frequencies, shifts).

``norm`` is "backward" (no scaling forward, 1/n inverse; the default), "ortho" (1/sqrt(n)
both ways) or "forward" (1/n forward). ``n`` / ``s`` pad with zeros or trim the input first."""
from __future__ import annotations

from ._tensor import Tensor
from .backend import dtypes
from .ops.complex import conj
from .ops.creation import arange
from .ops.fft import _SWAP, _c2c, _c2r, _check, _r2c
from .ops.shape import roll

__all__ = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fft2", "ifft2", "rfft2", "irfft2",
           "fftn", "ifftn", "rfftn", "irfftn", "fftfreq", "rfftfreq", "fftshift", "ifftshift"]


def _one(n):
    return None if n is None else [n]


def fft(input: Tensor, n=None, dim: int = -1, norm=None) -> Tensor:
    """One-dimensional discrete Fourier transform (complex output)."""
    return _c2c("fft_fft", input, _one(n), [dim], norm, False)


def ifft(input: Tensor, n=None, dim: int = -1, norm=None) -> Tensor:
    """Inverse of fft."""
    return _c2c("fft_ifft", input, _one(n), [dim], norm, True)


def rfft(input: Tensor, n=None, dim: int = -1, norm=None) -> Tensor:
    """fft of a real input, keeping the n // 2 + 1 non-redundant bins."""
    return _r2c("fft_rfft", input, _one(n), [dim], norm)


def irfft(input: Tensor, n=None, dim: int = -1, norm=None) -> Tensor:
    """Inverse of rfft: a real output of length n (default 2 * (input length - 1))."""
    return _c2r("fft_irfft", input, _one(n), [dim], norm)


def hfft(input: Tensor, n=None, dim: int = -1, norm=None) -> Tensor:
    """fft of a Hermitian-symmetric signal given by its one-sided half (real output)."""
    norm = _check("fft_hfft", input, norm)
    return _c2r("fft_hfft", conj(input), _one(n), [dim], _SWAP[norm])


def ihfft(input: Tensor, n=None, dim: int = -1, norm=None) -> Tensor:
    """Inverse of hfft: the one-sided half of a real input's inverse transform."""
    norm = _check("fft_ihfft", input, norm)
    return conj(_r2c("fft_ihfft", input, _one(n), [dim], _SWAP[norm]))


def fft2(input: Tensor, s=None, dim=(-2, -1), norm=None) -> Tensor:
    """Two-dimensional fft."""
    return _c2c("fft_fft2", input, s, dim, norm, False)


def ifft2(input: Tensor, s=None, dim=(-2, -1), norm=None) -> Tensor:
    """Two-dimensional ifft."""
    return _c2c("fft_ifft2", input, s, dim, norm, True)


def rfft2(input: Tensor, s=None, dim=(-2, -1), norm=None) -> Tensor:
    """Two-dimensional rfft (one-sided in the last dim)."""
    return _r2c("fft_rfft2", input, s, dim, norm)


def irfft2(input: Tensor, s=None, dim=(-2, -1), norm=None) -> Tensor:
    """Two-dimensional irfft."""
    return _c2r("fft_irfft2", input, s, dim, norm)


def fftn(input: Tensor, s=None, dim=None, norm=None) -> Tensor:
    """N-dimensional fft over ``dim`` (all dims, or the last len(s), by default)."""
    return _c2c("fft_fftn", input, s, dim, norm, False)


def ifftn(input: Tensor, s=None, dim=None, norm=None) -> Tensor:
    """N-dimensional ifft."""
    return _c2c("fft_ifftn", input, s, dim, norm, True)


def rfftn(input: Tensor, s=None, dim=None, norm=None) -> Tensor:
    """N-dimensional rfft (one-sided in the last transformed dim)."""
    return _r2c("fft_rfftn", input, s, dim, norm)


def irfftn(input: Tensor, s=None, dim=None, norm=None) -> Tensor:
    """N-dimensional irfft."""
    return _c2r("fft_irfftn", input, s, dim, norm)


def fftfreq(n: int, d: float = 1.0, *, dtype=None, device=None, requires_grad: bool = False, **kw) -> Tensor:
    """Sample frequencies of an n-point fft: [0, 1, ..., n//2 - 1 (or (n-1)//2), -n//2, ..., -1] / (d n)."""
    dt = dtypes.get_default_dtype() if dtype is None else dtypes.to_dtype(dtype)
    k = arange(n, dtype=dtypes.float64)
    k = k - (k >= (n + 1) // 2).to(dtypes.float64) * n
    out = (k / (d * n)).to(dt, device=device) if device is not None else (k / (d * n)).to(dt)
    return out.requires_grad_(requires_grad)


def rfftfreq(n: int, d: float = 1.0, *, dtype=None, device=None, requires_grad: bool = False, **kw) -> Tensor:
    """Sample frequencies of an n-point rfft: [0, 1, ..., n // 2] / (d n)."""
    dt = dtypes.get_default_dtype() if dtype is None else dtypes.to_dtype(dtype)
    k = arange(n // 2 + 1, dtype=dtypes.float64)
    out = (k / (d * n)).to(dt, device=device) if device is not None else (k / (d * n)).to(dt)
    return out.requires_grad_(requires_grad)


def _shift(input: Tensor, dim, sign: int) -> Tensor:
    dims = list(range(input.dim())) if dim is None else ([dim] if isinstance(dim, int) else list(dim))
    if not dims:
        return input.clone()
    return roll(input, [sign * (input.shape[d] // 2) for d in dims], dims)


def fftshift(input: Tensor, dim=None) -> Tensor:
    """Move the zero frequency to the centre of ``dim`` (all dims by default)."""
    return _shift(input, dim, 1)


def ifftshift(input: Tensor, dim=None) -> Tensor:
    """Inverse of fftshift."""
    return _shift(input, dim, -1)
