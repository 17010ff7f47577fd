"""Complex tensors: real/imag parts, conj, angle, abs, view_as_real/view_as_complex,
complex() and polar().

Gradients follow PyTorch's convention: for a real loss L of z = x + iy the gradient is
dL/dx + i dL/dy (the conjugate Wirtinger derivative, doubled). PyTorch returns views from
real/imag/conj/view_as_real/view_as_complex; ember returns copies, made read-only so that
an in-place write to one raises instead of silently leaving the complex tensor unchanged."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.function import Function
from ..backend import dtypes
from ..backend.device import xp_of

__all__ = ["real", "imag", "conj", "conj_physical", "resolve_conj", "is_complex", "angle",
           "view_as_real", "view_as_complex", "complex", "polar"]


def _need_complex(op: str, x: Tensor) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' (position 1) must be Tensor, not {type(x).__name__}")
    if not x.dtype.is_complex:
        raise RuntimeError(f"{op} is not implemented for tensors with non-complex dtypes "
                           f"(got {x.dtype}); make one with ember.complex(real, imag)")


class _Real(Function):
    @staticmethod
    def forward(ctx, a):
        return a._data.real.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad.to(dtypes.to_complex(grad.dtype))  # dL/dx goes to the real part


class _Imag(Function):
    @staticmethod
    def forward(ctx, a):
        return a._data.imag.copy()

    @staticmethod
    def backward(ctx, grad):
        return complex(grad.new_zeros(grad.shape), grad)  # dL/dy goes to the imaginary part


class _Conj(Function):
    @staticmethod
    def forward(ctx, a):
        return np.conj(a._data)

    @staticmethod
    def backward(ctx, grad):
        return conj(grad)


class _Complex(Function):
    @staticmethod
    def forward(ctx, re, im):
        out = xp_of(re._data).empty(re._data.shape, dtypes.to_complex(re.dtype).np)
        out.real, out.imag = re._data, im._data
        return out

    @staticmethod
    def backward(ctx, grad):
        return real(grad), imag(grad)


class _ViewAsReal(Function):
    @staticmethod
    def forward(ctx, a):
        return np.stack([a._data.real, a._data.imag], axis=-1)

    @staticmethod
    def backward(ctx, grad):
        return view_as_complex(grad.contiguous())


class _ViewAsComplex(Function):
    @staticmethod
    def forward(ctx, a):
        return _Complex.forward(ctx, Tensor._make(a._data[..., 0]), Tensor._make(a._data[..., 1]))

    @staticmethod
    def backward(ctx, grad):
        return view_as_real(grad)


class _ComplexAbs(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.abs(a._data)

    @staticmethod
    def backward(ctx, grad):
        (z,) = ctx.saved_tensors
        r = complex_abs(z)
        # d|z| = Re(conj(z/|z|) dz); PyTorch's subgradient at 0 is 0
        return grad * (z / r.masked_fill(r == 0, 1.0))


class _Angle(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        if a.dtype.is_complex:
            return np.angle(a._data)
        # real input: 0 for x >= 0, pi for x < 0, nan stays nan (as PyTorch)
        out = np.where(a._data < 0, np.pi, 0.0).astype(a._data.dtype)
        return np.where(np.isnan(a._data), a._data, out)

    @staticmethod
    def backward(ctx, grad):
        (z,) = ctx.saved_tensors
        if not z.dtype.is_complex:
            return grad.new_zeros(grad.shape)
        r2 = real(z) * real(z) + imag(z) * imag(z)
        # angle = atan2(y, x): (-y + ix) / |z|^2 = i z / |z|^2; 0 at z = 0 as PyTorch
        return grad * (z * 1j) / r2.masked_fill(r2 == 0, 1.0)


def _read_only(t: Tensor) -> Tensor:
    """A copy standing where PyTorch returns a view: writes to it would be lost, so refuse them."""
    t._data.flags.writeable = False
    return t


def is_complex(input: Tensor) -> bool:
    """Whether the tensor's dtype is complex64 or complex128."""
    return input.dtype.is_complex


def real(input: Tensor) -> Tensor:
    """The real part (the tensor itself when it is real, as PyTorch)."""
    if not input.dtype.is_complex:
        return input
    return _read_only(_Real.apply(input))


def imag(input: Tensor) -> Tensor:
    """The imaginary part of a complex tensor."""
    if not input.dtype.is_complex:
        raise RuntimeError(f"imag is not implemented for tensors with non-complex dtypes (got "
                           f"{input.dtype}); only complex tensors have an imaginary part")
    return _read_only(_Imag.apply(input))


def conj(input: Tensor) -> Tensor:
    """The complex conjugate (the tensor itself when it is real, as PyTorch)."""
    if not input.dtype.is_complex:
        return input
    return _read_only(_Conj.apply(input))


def conj_physical(input: Tensor) -> Tensor:
    """The complex conjugate, always a new tensor."""
    return _Conj.apply(input) if input.dtype.is_complex else input.clone()


def resolve_conj(input: Tensor) -> Tensor:
    """The tensor itself: ember conjugates eagerly, so there is no conjugate bit to resolve."""
    return input


def angle(input: Tensor) -> Tensor:
    """The argument of each element, in radians (0 or pi for real input)."""
    if input.dtype._kind < 2:  # PyTorch computes integer angles in the default float dtype
        input = input.to(dtypes.get_default_dtype())
    return _Angle.apply(input)


def complex_abs(input: Tensor) -> Tensor:
    """|z| of a complex tensor, as a real tensor (ember.abs dispatches here)."""
    return _ComplexAbs.apply(input)


def view_as_real(input: Tensor) -> Tensor:
    """A complex tensor as a real one with a last dimension of 2 (real, imaginary)."""
    _need_complex("view_as_real", input)
    return _read_only(_ViewAsReal.apply(input))


def view_as_complex(input: Tensor) -> Tensor:
    """A float32/float64 tensor whose last dimension is 2 as a complex tensor."""
    if not isinstance(input, Tensor) or input.dtype not in (dtypes.float32, dtypes.float64):
        got = input.dtype if isinstance(input, Tensor) else type(input).__name__
        raise RuntimeError(f"view_as_complex is only supported for float and double tensors, but got "
                           f"a tensor of scalar type: {got}")
    if input.dim() == 0 or input.shape[-1] != 2:
        raise RuntimeError(f"Tensor must have a last dimension of size 2 (view_as_complex got shape "
                           f"{tuple(input.shape)})")
    return _read_only(_ViewAsComplex.apply(input))


def complex(real: Tensor, imag: Tensor) -> Tensor:
    """real + i imag, element-wise (both float32, or both float64; broadcast)."""
    for name, t in (("real", real), ("imag", imag)):
        if not isinstance(t, Tensor):
            raise TypeError(f"complex(): argument '{name}' must be Tensor, not {type(t).__name__}")
        if t.dtype not in (dtypes.float16, dtypes.float32, dtypes.float64):
            raise RuntimeError(f"Expected both inputs to be Half, Float or Double tensors but got "
                               f"{real.dtype} and {imag.dtype} (complex)")
    if real.dtype is not imag.dtype:
        raise RuntimeError(f"Expected object of scalar type {real.dtype} but got scalar type "
                           f"{imag.dtype} for second argument (complex): convert one with .to()")
    shape = np.broadcast_shapes(real._data.shape, imag._data.shape)
    return _Complex.apply(real.expand(shape), imag.expand(shape))


def polar(abs: Tensor, angle: Tensor) -> Tensor:
    """abs * (cos(angle) + i sin(angle)), element-wise."""
    return complex(abs * angle.cos(), abs * angle.sin())


TENSOR_METHODS = {name: globals()[name] for name in
                  ("conj", "conj_physical", "resolve_conj", "is_complex", "angle")}
INPLACE: list = []
# PyTorch's Tensor.real / Tensor.imag are properties
Tensor.real = property(real, doc=real.__doc__)
Tensor.imag = property(imag, doc=imag.__doc__)
