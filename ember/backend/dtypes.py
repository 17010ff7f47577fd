"""ember dtypes, their array dtypes, and PyTorch's type-promotion rules."""
from __future__ import annotations

import builtins as _b

import ml_dtypes
import numpy as np


class dtype:
    """A tensor element type, e.g. ``ember.float32``. Compared by identity."""

    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "_kind", "kernel_name")

    def __init__(self, name: str, np_dtype, kind: int, kernel_name: str):
        self.name = name
        self.kernel_name = kernel_name  # PyTorch's scalar-type name, used in "not implemented" errors
        self.np = np.dtype(np_dtype)
        self._kind = kind  # 0 bool, 1 integer, 2 floating, 3 complex: the promotion category
        self.is_floating_point = kind == 2
        self.is_signed = kind >= 2 or (kind == 1 and self.np.kind == "i")
        self.itemsize = self.np.itemsize

    @property
    def is_complex(self) -> bool:
        return self._kind == 3

    def __repr__(self) -> str:
        return f"ember.{self.name}"

    def __reduce__(self):  # dtypes are singletons, also across pickling (DataLoader workers)
        return (_from_name, (self.name,))


float16 = dtype("float16", np.float16, 2, "Half")
# bfloat16 is stored by ml_dtypes' NumPy dtype (kind "V", not "f": test floating arrays with
# is_floating_array). Its ufuncs compute in float32 and round once, as PyTorch's CPU kernels do.
bfloat16 = dtype("bfloat16", ml_dtypes.bfloat16, 2, "BFloat16")
float32 = dtype("float32", np.float32, 2, "Float")
float64 = dtype("float64", np.float64, 2, "Double")
int8 = dtype("int8", np.int8, 1, "Char")
int16 = dtype("int16", np.int16, 1, "Short")
int32 = dtype("int32", np.int32, 1, "Int")
int64 = dtype("int64", np.int64, 1, "Long")
uint8 = dtype("uint8", np.uint8, 1, "Byte")
bool_ = dtype("bool", np.bool_, 0, "Bool")
complex64 = dtype("complex64", np.complex64, 3, "ComplexFloat")
complex128 = dtype("complex128", np.complex128, 3, "ComplexDouble")

half, float, double = float16, float32, float64
short, int, long = int16, int32, int64
cfloat, cdouble = complex64, complex128

ALL = (float16, bfloat16, float32, float64, int8, int16, int32, int64, uint8, bool_, complex64, complex128)
_BY_NP = {d.np: d for d in ALL}
_BY_NAME = {d.name: d for d in ALL}
# The 2-byte floating dtypes: ops compute them in float32 and round the result once.
HALF_NP = (float16.np, bfloat16.np)
_FLOAT_NP = frozenset((float16.np, bfloat16.np, float32.np, float64.np))


def is_floating_array(np_dtype) -> bool:
    """Whether a NumPy/CuPy dtype is one of ember's floating dtypes (bfloat16's kind is "V")."""
    return np_dtype in _FLOAT_NP


def is_half(np_dtype) -> bool:
    """Whether a NumPy/CuPy dtype is float16 or bfloat16 (computed in float32, rounded once)."""
    return np_dtype == HALF_NP[0] or np_dtype == HALF_NP[1]


def _from_name(name: str) -> dtype:
    return _BY_NAME[name]


_default = float32


def get_default_dtype() -> dtype:
    """The floating dtype of tensors made from Python floats (float32 unless changed)."""
    return _default


def set_default_dtype(d: dtype) -> None:
    """Set the default floating dtype (float32 or float64, as in PyTorch)."""
    global _default
    if d not in (float16, bfloat16, float32, float64):
        raise TypeError(f"set_default_dtype: only floating dtypes are supported, got {d}")
    _default = d


def from_numpy_dtype(np_dtype) -> dtype:
    """The ember dtype that stores the same elements as a NumPy/CuPy dtype."""
    try:
        return _BY_NP[np.dtype(np_dtype)]
    except KeyError:
        raise TypeError(
            f"can't convert array of dtype {np.dtype(np_dtype)}: ember supports "
            "float16/32/64, bfloat16, complex64/128, int8/16/32/64, uint8 and bool") from None


def to_complex(d: dtype) -> dtype:
    """The complex dtype holding pairs of ``d`` (itself when already complex): float64 and
    complex128 give complex128, every other dtype complex64 (ember has no complex32)."""
    return complex128 if d in (float64, complex128) else complex64


def to_real(d: dtype) -> dtype:
    """The real dtype of a complex dtype's parts (``d`` itself when real)."""
    return {complex64: float32, complex128: float64}.get(d, d)


def to_dtype(d) -> dtype:
    """Accept an ember dtype, a NumPy dtype, or a Python type (float/int/bool)."""
    if isinstance(d, dtype):
        return d
    if d is _b.float:
        return _default
    if d is _b.int:
        return int64
    if d is _b.bool:
        return bool_
    if d is _b.complex:
        return to_complex(_default)
    if d is None:
        raise TypeError("dtype must be an ember dtype, got None")
    return from_numpy_dtype(d)


def promote_types(a: dtype, b: dtype) -> dtype:
    """Result dtype of an operation on two tensors of these dtypes: the higher category
    (bool < integer < floating < complex) keeps its own dtype; within one category, the
    wider. Complex with floating keeps both precisions (float64 + complex64 is complex128)."""
    if a is b:
        return a
    if {a._kind, b._kind} == {2, 3}:
        return _BY_NP[np.promote_types(a.np, b.np)]
    if a._kind != b._kind:
        return a if a._kind > b._kind else b
    return _BY_NP[np.promote_types(a.np, b.np)]


def scalar_dtype(value) -> dtype:
    """The dtype PyTorch gives a tensor made from this Python scalar."""
    if isinstance(value, _b.bool):
        return bool_
    if isinstance(value, _b.int):
        return int64
    if isinstance(value, _b.float):
        return _default
    if isinstance(value, _b.complex):
        return to_complex(_default)
    if isinstance(value, np.generic):
        return from_numpy_dtype(value.dtype)
    raise TypeError(f"expected a number, got {type(value).__name__}")


def result_type(a: dtype, a_level: int, b: dtype, b_level: int) -> dtype:
    """PyTorch's promotion of two operands. Levels rank the operands: 2 for a
    dimensioned tensor, 1 for a 0-d tensor, 0 for a Python scalar. The higher level
    decides the dtype unless the lower one is of a higher category
    (bool < integer < floating), which then decides it."""
    if a is b:
        return a
    if a_level == b_level:
        return promote_types(a, b)
    hi, lo = (a, b) if a_level > b_level else (b, a)
    if lo._kind == 3 and hi._kind == 2:  # a complex scalar keeps a float tensor's precision
        return to_complex(hi)
    return lo if lo._kind > hi._kind else hi


def float_max(d: dtype) -> _b.float:
    """The largest finite value of a floating dtype, as a Python float."""
    return _b.float(ml_dtypes.finfo(d.np).max)


def not_implemented(kernel: str, d: dtype, hint: str = "") -> NotImplementedError:
    """PyTorch's error for an op that has no kernel for dtype ``d``."""
    return NotImplementedError(f"\"{kernel}\" not implemented for '{d.kernel_name}'"
                               + (f": {hint}" if hint else ""))


# ---- Python numbers as elements ------------------------------------------------------
# PyTorch holds a Python int in 64 bits: as int64 when it fits, else as uint64.
_INT64_MIN, _UINT64_END = -2 ** 63, 2 ** 64


def int64_bits(value: int) -> int:
    """A Python int as PyTorch holds it (int64, or uint64 above int64's range), as int64 bits."""
    if value >= _UINT64_END:
        raise OverflowError(f"int too big to convert: {value} does not fit in 64 bits")
    if value < _INT64_MIN:
        raise OverflowError(f"can't convert negative int to unsigned: {value} does not fit in 64 bits")
    return value - _UINT64_END if value >= 2 ** 63 else value


def wrap_scalar(value, d: dtype):
    """A Python number as an operand of an op on a ``d`` tensor: PyTorch casts it to ``d``
    without a range check, so integers wrap around (``int8 + 200`` adds -56)."""
    if isinstance(value, (_b.bool, np.bool_)) or d._kind == 0:
        return _b.bool(value)
    if d._kind == 3:
        return _b.complex(value)
    if d._kind == 2:
        return _b.float(value) if isinstance(value, _b.int) else value
    v = int64_bits(_b.int(value))
    bits = 8 * d.itemsize
    lo = -(1 << (bits - 1)) if d.is_signed else 0
    return (v - lo) % (1 << bits) + lo


def _limits(d: dtype) -> tuple:
    if d._kind == 2:
        return -float_max(d), float_max(d)
    return _b.int(np.iinfo(d.np).min), _b.int(np.iinfo(d.np).max)


def checked_scalar(value, d: dtype, op: str):
    """A Python number written into a ``d`` tensor (tensor(), full, fill_, ...): as PyTorch,
    it must fit ``d``, except that an unsigned dtype also takes negative integers down to -max,
    which wrap around (``uint8`` takes -1 as 255). Returns the converted Python number."""
    if isinstance(value, (_b.int, np.integer)) and not isinstance(value, _b.bool):
        int64_bits(_b.int(value))  # PyTorch's OverflowError beyond 64 bits, whatever the dtype
    if d._kind == 0:
        return _b.bool(value)
    if d._kind == 3:  # complex holds every real and complex number (inf and nan included)
        return _b.complex(value)
    if isinstance(value, (_b.complex, np.complexfloating)):
        raise TypeError(f"{op + ': ' if op else ''}can't convert complex to {d.name}: "
                        "take .real or make the tensor complex")
    if isinstance(value, (_b.bool, np.bool_)):
        return _b.int(value)
    low, high = _limits(d)
    if isinstance(value, (_b.float, np.floating)):
        value = _b.float(value)
        if value != value or abs(value) == _b.float("inf"):  # only a floating dtype holds them
            if d._kind == 2:
                return value
        elif low <= value <= high:
            return value if d._kind == 2 else _b.int(value)
    else:
        value = _b.int(value)
        if not d.is_signed:
            low = -high
        if low <= value <= high:
            return _b.float(value) if d._kind == 2 else wrap_scalar(value, d)
    raise RuntimeError(
        f"{op + ': ' if op else ''}value cannot be converted to type {d.name} without overflow: "
        f"{value} is outside [{low}, {high}]; convert it first or pick a wider dtype")


class finfo:
    """Machine limits of a floating dtype, with torch.finfo's fields (``ember.finfo()`` is the
    default dtype's)."""

    def __init__(self, type: dtype | None = None):  # noqa: A002 (PyTorch's parameter name)
        d = _default if type is None else type
        if not isinstance(d, dtype) or d._kind not in (2, 3):
            raise TypeError(f"finfo: expected a floating or complex dtype, got {d!r}; use iinfo-style "
                            "limits of NumPy for integer dtypes")
        info = ml_dtypes.finfo(to_real(d).np)
        self.dtype = to_real(d).name
        self.bits = info.bits
        self.eps = _b.float(info.eps)
        self.max = _b.float(info.max)
        self.min = _b.float(info.min)
        self.tiny = self.smallest_normal = _b.float(info.smallest_normal)
        self.resolution = 10.0 ** -info.precision

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, eps={self.eps:g}, "
                f"smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, dtype={self.dtype})")


def round_to(out, np_dtype):
    """``out`` rounded once to the operands' ``np_dtype``: NumPy's matmul of bfloat16 arrays
    accumulates and returns float32 (as PyTorch's GEMM accumulates), and PyTorch then rounds."""
    return out if out.dtype == np_dtype else out.astype(np_dtype)


def float32_of(arr):
    """A half array widened to float32, for NumPy routines that have no bfloat16 loop (einsum)
    or that would round every step; other arrays unchanged."""
    return arr.astype(np.float32) if is_half(arr.dtype) else arr


def cast_array(arr, np_dtype):
    """``arr`` converted to ``np_dtype`` as PyTorch converts: to bfloat16 every source but
    float32 goes through float32 first (PyTorch's bfloat16 is built from a float, so float64 and
    int64 values round twice; a direct conversion would differ in the last bit near midpoints)."""
    if np_dtype == bfloat16.np and arr.dtype not in (float32.np, bfloat16.np) and arr.dtype.kind != "c":
        arr = arr.astype(np.float32)
    return arr.astype(np_dtype)
