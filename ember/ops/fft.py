"""Discrete Fourier transforms (ember.fft): three primitives, the rest composed from them.

- _C2C: complex-to-complex over several dims; its gradient is the inverse transform with
  the opposite scaling (the adjoint).
- _R2C: one-sided real-to-complex over the last of its dims; gradient: zero-pad the
  cotangent to full length, take the adjoint transform, keep the real part.
- _C2R: one-sided complex-to-real over the last dim; gradient as PyTorch's: the forward
  one-sided transform of the cotangent, entries that stand for two bins doubled.
Sizes (n / s) pad with zeros or trim first (_Resize), so every primitive sees its
final lengths. Gradients are ember ops, so they differentiate again."""
from __future__ import annotations

import math

import numpy as np

from .._tensor import Tensor
from ..autograd.function import Function
from ..backend import dtypes
from ..backend.compat import contiguous
from ..backend.device import xp_of
from .complex import conj, real

_NORMS = ("backward", "ortho", "forward")
_SWAP = {"backward": "forward", "forward": "backward", "ortho": "ortho"}


def _scale(norm: str, n: int, inverse: bool) -> float:
    """The factor on NumPy's pair (forward unscaled, inverse scaled by 1/n) that ``norm`` asks."""
    if norm == "backward":
        return 1.0
    if norm == "ortho":
        return n ** 0.5 if inverse else n ** -0.5
    return float(n) if inverse else 1 / n


class _Resize(Function):
    """Zero-pad or trim ``dims`` to ``sizes`` (the n / s arguments)."""
    @staticmethod
    def forward(ctx, a, dims, sizes):
        ctx.dims, ctx.old = dims, [a.shape[d] for d in dims]
        out = a._data
        for d, n in zip(dims, sizes):
            if n < out.shape[d]:
                out = out[(slice(None),) * d + (slice(0, n),)]
            elif n > out.shape[d]:
                pad = [(0, 0)] * out.ndim
                pad[d] = (0, n - out.shape[d])
                out = np.pad(out, pad)
        return contiguous(out)

    @staticmethod
    def backward(ctx, grad):
        return _resize(grad, ctx.dims, ctx.old), None, None


def _resize(x: Tensor, dims, sizes) -> Tensor:
    if all(x.shape[d] == n for d, n in zip(dims, sizes)):
        return x
    return _Resize.apply(x, tuple(dims), tuple(sizes))


class _C2C(Function):
    @staticmethod
    def forward(ctx, a, dims, norm, inverse):
        ctx.dims, ctx.norm, ctx.inverse = dims, norm, inverse
        fn = np.fft.ifftn if inverse else np.fft.fftn
        out = fn(a._data, axes=dims) if dims else a._data.copy()
        n = math.prod([a.shape[d] for d in dims])
        return _scaled(out, _scale(norm, n, inverse), a.dtype)

    @staticmethod
    def backward(ctx, grad):
        return _C2C.apply(grad, ctx.dims, _SWAP[ctx.norm], not ctx.inverse), None, None, None


class _R2C(Function):
    @staticmethod
    def forward(ctx, a, dim, norm):
        ctx.dim, ctx.norm, ctx.n = dim, norm, a.shape[dim]
        out = np.fft.rfft(a._data, axis=dim)
        return _scaled(out, _scale(norm, ctx.n, False), dtypes.to_complex(a.dtype))

    @staticmethod
    def backward(ctx, grad):
        full = _resize(grad, (ctx.dim,), (ctx.n,))  # bins the one-sided output dropped had no cotangent
        return real(_C2C.apply(full, (ctx.dim,), _SWAP[ctx.norm], True)), None, None


class _C2R(Function):
    @staticmethod
    def forward(ctx, a, dim, norm, n):
        ctx.dim, ctx.norm = dim, norm
        out = np.fft.irfft(a._data, n=n, axis=dim)
        return _scaled(out, _scale(norm, n, True), dtypes.to_real(a.dtype))

    @staticmethod
    def backward(ctx, grad):
        g = _R2C.apply(grad, ctx.dim, _SWAP[ctx.norm])
        twice = grad.shape[ctx.dim] - g.shape[ctx.dim]  # bins 1..twice stand for k and n - k
        if twice <= 0:
            return g, None, None, None
        w = xp_of(g._data).ones(g.shape[ctx.dim], dtypes.to_real(g.dtype).np)
        w[1:1 + twice] = 2
        shape = [1] * g.dim()
        shape[ctx.dim] = -1
        return g * Tensor._make(w.reshape(shape)), None, None, None


def _scaled(out: np.ndarray, s: float, d: dtypes.dtype) -> np.ndarray:
    if s != 1.0:
        out = out * s
    return out.astype(d.np, copy=False)


# ---- argument handling ---------------------------------------------------------------
def _check(op: str, x, norm) -> str:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' (position 1) must be Tensor, not {type(x).__name__}")
    norm = "backward" if norm is None else norm
    if norm not in _NORMS:
        raise RuntimeError(f"Invalid normalization mode: \"{norm}\" ({op}); use 'backward', 'ortho' or 'forward'")
    return norm


def _dims_sizes(op: str, x: Tensor, s, dim, last_only: bool = False):
    """PyTorch's reading of (s, dim): dims wrapped and distinct; s of the same length (-1 keeps
    a size); without dim, s names the last len(s) dims; without both, every dim."""
    nd = x.dim()
    if dim is None:
        dims = list(range(nd - len(s), nd)) if s is not None else list(range(nd))
    else:
        dims = [dim] if isinstance(dim, int) else list(dim)
        for i, d in enumerate(dims):
            if not -max(nd, 1) <= d < max(nd, 1):
                raise IndexError(f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], "
                                 f"but got {d}) ({op})")
            dims[i] = d % nd
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"{op} dims must be unique, got {tuple(dims)}")
    if s is not None:
        s = [s] if isinstance(s, int) else list(s)
        if len(s) != len(dims):
            raise RuntimeError(f"When given, dim and shape arguments must have the same length ({op}: "
                               f"s={tuple(s)}, dim={tuple(dims)})")
    if s is not None and any(n == 0 or n < -1 for n in s):
        bad = next(n for n in s if n == 0 or n < -1)
        raise RuntimeError(f"Invalid number of data points ({bad}) specified ({op})")
    return dims, s


def _complex_input(x: Tensor) -> Tensor:
    return x if x.dtype.is_complex else x.to(dtypes.to_complex(x.dtype))


def _real_input(op: str, x: Tensor) -> Tensor:
    if x.dtype.is_complex:
        raise RuntimeError(f"{op} expects a real input tensor, but got {x.dtype}; use fft for complex input")
    return x if x.dtype.is_floating_point else x.to(dtypes.get_default_dtype())


def _c2c(op, x, s, dim, norm, inverse):
    norm = _check(op, x, norm)
    dims, s = _dims_sizes(op, x, s, dim)
    x = _complex_input(x)
    if s is not None:
        x = _resize(x, dims, [x.shape[d] if n == -1 else n for d, n in zip(dims, s)])
    return _C2C.apply(x, tuple(dims), norm, inverse)


def _r2c(op, x, s, dim, norm):
    norm = _check(op, x, norm)
    dims, s = _dims_sizes(op, x, s, dim)
    if not dims:
        raise RuntimeError(f"{op} must transform at least one axis")
    x = _real_input(op, x)
    if s is not None:
        x = _resize(x, dims, [x.shape[d] if n == -1 else n for d, n in zip(dims, s)])
    out = _R2C.apply(x, dims[-1], norm)
    return _C2C.apply(out, tuple(dims[:-1]), norm, False) if len(dims) > 1 else out


def _c2r(op, x, s, dim, norm):
    norm = _check(op, x, norm)
    dims, s = _dims_sizes(op, x, s, dim)
    if not dims:
        raise RuntimeError(f"{op} must transform at least one axis")
    x = _complex_input(x)
    sizes = [x.shape[d] for d in dims]
    if s is not None:
        sizes = [old if n == -1 else n for old, n in zip(sizes, s)]
    last = sizes[-1] if s is not None and s[-1] != -1 else 2 * (x.shape[dims[-1]] - 1)
    if last < 1:
        raise RuntimeError(f"Invalid number of data points ({last}) specified ({op})")
    x = _resize(x, dims, sizes[:-1] + [last // 2 + 1])
    if len(dims) > 1:
        x = _C2C.apply(x, tuple(dims[:-1]), norm, True)
    return _C2R.apply(x, dims[-1], norm, last)
