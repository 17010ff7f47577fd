"""Element-wise arithmetic with broadcasting and PyTorch's type promotion.

Every primitive's forward computes on arrays; its backward is written in tensor ops,
so it is differentiable again. Broadcast gradients are summed back by the engine.
"""
from __future__ import annotations

import numbers
import sys
import warnings

import numpy as np

from ..amp.autocast_mode import autocast_op
from .._tensor import Tensor
from ..autograd.function import Function
from ..autograd.grad_mode import state
from ..backend import dtypes, kernels
from ..backend.compat import as_array
from ..backend.device import xp_of
from ._out import with_out
from .creation import ones_like, zeros_like

__all__ = [
    "add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "floor_divide",
    "remainder", "fmod", "neg", "negative", "pow", "cast",
    "eq", "ne", "lt", "le", "gt", "ge", "equal", "allclose", "isclose", "isnan", "isinf", "isfinite",
    "logical_and", "logical_or", "logical_not", "logical_xor",
    "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift", "bitwise_right_shift",
]


# ---- operands ------------------------------------------------------------------------
def _level(t: Tensor) -> int:
    return 2 if t._data.ndim else 1


def scalar_tensor(value, dtype: dtypes.dtype, like, *, wrap: bool = False) -> Tensor:
    """A constant 0-d tensor on the same device as the array ``like``.

    A number written into a tensor must fit ``dtype`` (PyTorch's RuntimeError otherwise); an
    operand of arithmetic (``wrap=True``) is cast as PyTorch casts it, integers wrapping around
    and floats beyond the dtype's range becoming inf.
    """
    value = dtypes.wrap_scalar(value, dtype) if wrap else dtypes.checked_scalar(value, dtype, "")
    xp = xp_of(like)
    if dtype.is_floating_point and abs(value) > _FLOAT_MAX.get(dtype.np, float("inf")):
        with np.errstate(over="ignore"):
            return Tensor._make(xp.asarray(value, dtype=dtype.np))
    return Tensor._make(xp.asarray(value, dtype=dtype.np))


_FLOAT_MAX = {d.np: dtypes.float_max(d) for d in (dtypes.float16, dtypes.bfloat16, dtypes.float32)}
_LARGEST = dtypes.float_max(dtypes.float64)
_INT64 = 1 << 63


def check_broadcast(sa: tuple, sb: tuple, op: str = "") -> None:
    """Raise PyTorch's RuntimeError when shapes ``sa`` and ``sb`` do not broadcast."""
    for k, (x, y) in enumerate(zip(reversed(sa), reversed(sb))):
        if x != y and x != 1 and y != 1:
            d = max(len(sa), len(sb)) - 1 - k
            raise RuntimeError(
                f"The size of tensor a ({x}) must match the size of tensor b ({y}) at non-singleton "
                f"dimension {d}: {op + ' of ' if op else ''}shapes {list(sa)} and {list(sb)} do not "
                "broadcast (sizes must be equal or 1, aligned from the last dimension)")


def promote(a, b, op: str = "", *, wrap: bool = False, floating: bool = False):
    """Both operands as tensors of PyTorch's result dtype (a floating one when ``floating``);
    numbers become 0-d constants. Shapes that do not broadcast raise PyTorch's RuntimeError,
    here, for every binary op. A number is cast as PyTorch casts an arithmetic operand when
    ``wrap`` (integers wrap around), else it must fit the result dtype."""
    ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
    if ta and tb:
        da, db = a._data, b._data
        if da.shape != db.shape:
            check_broadcast(da.shape, db.shape, op)
        if type(da) is not np.ndarray or type(db) is not np.ndarray:
            a, b = same_device(a, b)
            da, db = a._data, b._data
        dt = da.dtype
        if (dt is db.dtype or dt == db.dtype) and not (floating and dt.kind not in "fc"):
            return a, b
        dt = _floating(dtypes.result_type(a.dtype, _level(a), b.dtype, _level(b)), floating)
        return cast(a, dt), cast(b, dt)
    if not ta and not tb:
        raise TypeError(f"expected a Tensor operand, got {type(a).__name__} and {type(b).__name__}")
    t, s = (a, b) if ta else (b, a)
    data = t._data
    if type(data) is np.ndarray and data.dtype.kind == "f" and held_number(s, data.dtype):
        # The common case, a float tensor and a Python number within its range: the tensor's
        # dtype, the number converted to it (what the general path below gives, 3x faster).
        s = Tensor._make(np.asarray(float(s), dtype=data.dtype))
        return (t, s) if ta else (s, t)
    if not isinstance(s, (numbers.Number, np.generic)):
        raise TypeError(f"unsupported operand type: Tensor and {type(s).__name__}")
    if isinstance(s, int) and not isinstance(s, bool) and dtypes.int64_bits(s) != s:
        # PyTorch holds ints in [2**63, 2**64) as uint64, which does not promote with bool
        if t.dtype is dtypes.bool_:
            raise RuntimeError("Promotion for uint16, uint32, uint64 types is not supported, attempted "
                               f"to promote Bool and UInt64 (the number {s} needs uint64)")
    dt = _floating(dtypes.result_type(t.dtype, _level(t), dtypes.scalar_dtype(s), 0), floating)
    t = cast(t, dt)
    s = scalar_tensor(s, dt, t._data, wrap=wrap)
    return (t, s) if ta else (s, t)


def held_number(s, np_dtype) -> bool:
    """Whether ``s`` is a Python float, or an int within int64, inside the range of the floating
    ``np_dtype``: the number converted to that dtype is then what PyTorch computes with."""
    kind = type(s)
    return (kind is float or (kind is int and -_INT64 <= s < _INT64)) and abs(s) <= _FLOAT_MAX.get(np_dtype, _LARGEST)


def same_device(a: Tensor, b: Tensor) -> tuple:
    """``a`` and ``b`` on one device. A 0-d CPU tensor joins the other's device, as PyTorch
    treats it as a number; other tensors on different devices are an error."""
    if a.device == b.device:
        return a, b
    from .shape import to_device
    if a.device.type == "cpu" and a._data.ndim == 0:
        return to_device(a, b.device), b
    if b.device.type == "cpu" and b._data.ndim == 0:
        return a, to_device(b, a.device)
    raise RuntimeError(
        "Expected all tensors to be on the same device, but found at least two devices, "
        f"{a.device} and {b.device}! Move one with .to(device).")


def _floating(dt: dtypes.dtype, floating: bool) -> dtypes.dtype:
    return dtypes.get_default_dtype() if floating and dt._kind < 2 else dt


def _operand_dtype(x) -> dtypes.dtype:
    return x.dtype if isinstance(x, Tensor) else dtypes.scalar_dtype(x)


def _no_kernel(kernel: str, a: Tensor, *dts: dtypes.dtype, hint: str = "") -> None:
    """PyTorch's NotImplementedError when the op computes in one of ``dts``."""
    if a.dtype in dts:
        raise dtypes.not_implemented(kernel, a.dtype, hint)


# ---- cast ----------------------------------------------------------------------------
class Cast(Function):
    @staticmethod
    def forward(ctx, a, dtype):
        ctx.src = a.dtype
        # complex to real keeps the real part, as PyTorch (NumPy would also warn)
        data = a._data.real if a.dtype.is_complex and not dtype.is_complex else a._data
        return dtypes.cast_array(data, dtype.np)

    @staticmethod
    def backward(ctx, grad):
        return cast(grad, ctx.src), None


def cast(input: Tensor, dtype: dtypes.dtype) -> Tensor:
    """The tensor converted to ``dtype`` (the same tensor when it already has it)."""
    if input._data.dtype == dtype.np:
        return input
    return Cast.apply(input, dtype)


# ---- arithmetic primitives -----------------------------------------------------------
ARITHMETIC = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide}
_ARITH_FROM = kernels.ARITH_FROM


def arith(name: str, x, y):
    """``x <name> y`` (add, sub, mul, div) as NumPy's operator computes it, over the cores
    where ``kernels.apply_arith`` takes the operands (the same bits). ``x`` an array, ``y`` an
    array or a Python float; the callers ask only for operands of ``ARITH_FROM`` elements and
    more (a small op skips the call)."""
    out = kernels.apply_arith(name, x, y)
    return ARITHMETIC[name](x, y) if out is None else out


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        x, y = a._data, b._data
        return x + y if x.size < _ARITH_FROM > y.size else arith("add", x, y)

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        x, y = a._data, b._data
        return x - y if x.size < _ARITH_FROM > y.size else arith("sub", x, y)

    @staticmethod
    def backward(ctx, grad):
        return grad, -grad


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        # Keep only what a gradient needs, so x.mul_(2) stays legal on graph tensors.
        ctx.save_for_backward(b if ctx.needs_input_grad[0] else None,
                              a if ctx.needs_input_grad[1] else None)
        x, y = a._data, b._data
        return x * y if x.size < _ARITH_FROM > y.size else arith("mul", x, y)

    @staticmethod
    def backward(ctx, grad):
        b, a = ctx.saved_tensors
        # conj: PyTorch's conjugate Wirtinger gradients (a no-op on real tensors)
        return (grad * b.conj() if b is not None else None), (grad * a.conj() if a is not None else None)


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b)
        x, y = a._data, b._data
        return x / y if x.size < _ARITH_FROM > y.size else arith("div", x, y)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        ga = grad / b.conj() if ctx.needs_input_grad[0] else None
        gb = -grad * (a / (b * b)).conj() if ctx.needs_input_grad[1] else None
        return ga, gb


class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        return -a._data

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Pow(Function):
    @staticmethod
    def forward(ctx, a, b):
        if a._data.dtype.kind in "iu":
            return _int_power(a._data, b._data)
        # inf/nan as in PyTorch
        out = _power_by_number(a._data, b._data)
        if out is None:
            out = np.power(a._data, b._data)
        ctx.save_for_backward(a, b, out if ctx.needs_input_grad[1] else None)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0] and not ctx.needs_input_grad[1] and not state.enabled \
                and b._data.ndim == 0 and b._data.dtype == np.float32 and float(b._data) == 3.0:
            cubed = kernels.apply_pointwise("cube_grad", (grad._data, a._data))  # x ** 3: one pass, same bits
            if cubed is not None:
                return Tensor._make(cubed), None
        if ctx.needs_input_grad[0]:
            # b * a^(b-1), with 0 where b == 0 (so 0**0 has gradient 0, as in PyTorch)
            ga = grad * where_(b == 0, 0.0, b * a ** (b - 1))
        if ctx.needs_input_grad[1]:
            gb = grad * where_((a == 0) & (b >= 0), 0.0, out * a.log())
        return ga, gb


def _cube(x):
    """x * x * x, as one compiled pass over a large float32 x (the same bits)."""
    out = kernels.apply_pointwise("cube", (x,))
    return x * x * x if out is None else out


# PyTorch's kernels for these exponents of a float tensor: products, square roots and
# reciprocals (NumPy's power runs powf, 5.3 ms for x ** 3 on 512k float32 against 0.13)
_BY_NUMBER = {
    2.0: lambda x: x * x,
    3.0: _cube,
    0.5: np.sqrt,
    -0.5: lambda x: 1 / np.sqrt(x),
    -1.0: lambda x: 1 / x,
    -2.0: lambda x: 1 / (x * x),
}


def _power_by_number(x, e):
    """x ** e as PyTorch computes it for the exponents of ``_BY_NUMBER``, for a float32 or
    float64 x and a 0-d exponent of its dtype; None otherwise (NumPy's power)."""
    if e.ndim or x.dtype != e.dtype or x.dtype.type not in (np.float32, np.float64):
        return None
    fn = _BY_NUMBER.get(float(e))
    return None if fn is None else fn(x)


def _int_power(a, b):
    """Integer powers as PyTorch computes them: wrapping around on overflow, and for a negative
    exponent the truncated value (1 for base 1, +-1 for base -1, else 0) where NumPy raises."""
    neg = b < 0
    if not neg.any():
        return np.power(a, b)
    out = np.power(a, np.where(neg, 0, b))
    odd = (b % 2) != 0
    truncated = np.where(a == 1, 1, np.where(a == -1, np.where(odd, -1, 1), 0))
    return np.where(neg, truncated, out).astype(out.dtype, copy=False)


def where_(cond, x, y):
    from .indexing import where
    return where(cond, x, y)


def _check_int_divisor(a: Tensor, b: Tensor, op: str) -> None:
    """PyTorch's error for an integer division by zero (an empty result divides nothing)."""
    if b._data.dtype.kind in "iub" and a._data.size and np.any(b._data == 0):
        raise RuntimeError(f"ZeroDivisionError: integer division by zero in {op} (divisor has a 0 "
                           "element); convert to a floating dtype to get inf/nan instead")


class DivRounded(Function):
    """a / b rounded toward zero ('trunc') or down ('floor'); the gradient is zero, as PyTorch's."""

    @staticmethod
    def forward(ctx, a, b, mode):
        x, y = a._data, b._data
        if mode == "floor":  # NumPy's float floor_divide is PyTorch's formula, bit for bit
            return np.floor_divide(x, y)
        if dtypes.is_floating_array(x.dtype):
            return np.trunc(x / y)
        q = np.floor_divide(x, y)
        return q + ((np.remainder(x, y) != 0) & ((x < 0) != (y < 0))).astype(q.dtype)

    @staticmethod
    def backward(ctx, grad):
        return zeros_like(grad), zeros_like(grad), None


class Remainder(Function):
    """Python's modulo (the sign of the divisor) as PyTorch computes it: the C remainder, plus b
    where its sign differs from b's; a zero keeps the dividend's sign."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b if ctx.needs_input_grad[1] else None)
        x, y = a._data, b._data
        if not dtypes.is_floating_array(x.dtype):
            return np.remainder(x, y)
        m = np.fmod(x, y)
        return np.where((m != 0) & ((y < 0) != (m < 0)), m + y, m)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return grad, (-grad * div(a, b, rounding_mode="floor") if b is not None else None)


class Fmod(Function):
    """C's modulo: the result has the sign of the dividend."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b if ctx.needs_input_grad[1] else None)
        return np.fmod(a._data, b._data)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return grad, (-grad * div(a, b, rounding_mode="trunc") if b is not None else None)


# ---- public functions ----------------------------------------------------------------
def _alpha(a: Tensor, alpha, op: str):
    """``alpha`` checked as PyTorch checks it, converted to the operands' dtype."""
    if isinstance(alpha, (bool, np.bool_)) and a.dtype is not dtypes.bool_:
        raise RuntimeError(f"{op}: Boolean alpha only supported for Boolean results "
                           f"(the operands are {a.dtype}); pass alpha=1 or 0")
    if isinstance(alpha, (float, np.floating)) and not a.is_floating_point():
        raise RuntimeError(f"{op}: For integral input tensors, argument alpha must not be a floating "
                           f"point number (got alpha={alpha} for {a.dtype} operands)")
    return dtypes.checked_scalar(alpha, a.dtype, op)


def _caller_outside_ember() -> int:
    """The warnings stacklevel of the user's line that called into ember (method, function,
    in-place and out= paths reach an op through different numbers of ember frames)."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("ember."):
        frame, level = frame.f_back, level + 1
    return level


def scalar_first(op: str, scalar, rest: tuple, names: tuple, keyword: str) -> tuple:
    """PyTorch's deprecated overloads that put the scalar first (``x.add(2, y)`` for
    ``x.add(y, alpha=2)``, ``x.addcmul(2, t1, t2)``), which it still accepts with a warning:
    ``rest`` holds the arguments after the scalar; returns them in place of ``names``,
    then the scalar."""
    new = ", ".join(f"Tensor {n}" for n in names) + f", *, Number {keyword} = 1"
    if len(rest) != len(names) or not (isinstance(scalar, numbers.Number) or
                                       (isinstance(scalar, Tensor) and scalar.dim() == 0)):
        raise TypeError(f"{op}() received an invalid combination of arguments: expected "
                        f"{op}({new}); pass the scalar as {keyword}=")
    old = ", ".join([f"Number {keyword}", *(f"Tensor {n}" for n in names)])
    warnings.warn(f"This overload of {op} is deprecated:\n\t{op}({old})\nConsider using one of the "
                  f"following signatures instead:\n\t{op}({new})", UserWarning,
                  stacklevel=_caller_outside_ember())
    return (*rest, scalar.item() if isinstance(scalar, Tensor) else scalar)


@with_out()
def add(input, other, *deprecated, alpha=1) -> Tensor:
    """input + alpha * other, broadcast."""
    if deprecated:
        other, alpha = scalar_first("add", other, deprecated, ("other",), "alpha")
    a, b = promote(input, other, "add", wrap=True)
    if alpha != 1 or isinstance(alpha, bool):
        alpha = _alpha(a, alpha, "add")
        if a.dtype is dtypes.bool_:
            return logical_or(a, b if alpha else zeros_like(b))
        b = mul(b, alpha)
    if a._data.dtype.kind == "b":
        return logical_or(a, b)
    return Add.apply(a, b)


def _check_bool_sub(input, other) -> None:
    bools = (_operand_dtype(input) is dtypes.bool_) + (_operand_dtype(other) is dtypes.bool_)
    if bools == 2:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. "
                           "Use the `^` or `logical_xor()` operator instead.")
    if bools:
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. "
                           "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.")


@with_out()
def sub(input, other, *deprecated, alpha=1) -> Tensor:
    """input - alpha * other, broadcast."""
    if deprecated:
        other, alpha = scalar_first("sub", other, deprecated, ("other",), "alpha")
    return _difference(input, other, alpha, "sub", Sub)


def rsub(input, other, *, alpha=1) -> Tensor:
    """other - alpha * input: ``number - tensor`` (PyTorch's node for it is RsubBackward1)."""
    return _difference(other, input, alpha, "rsub", _RSUB[isinstance(other, Tensor)])


def _difference(minuend, subtrahend, alpha, op: str, node) -> Tensor:
    a, b = promote(minuend, subtrahend, op, wrap=True)
    _check_bool_sub(minuend, subtrahend)
    if alpha != 1 or isinstance(alpha, bool):
        b = mul(b, _alpha(a, alpha, op))
    return node.apply(a, b)


@with_out()
def mul(input, other) -> Tensor:
    a, b = promote(input, other, "mul", wrap=True)
    if a._data.dtype.kind == "b":
        return logical_and(a, b)
    if _half_by_scalar(a, other):
        return _in_float32(Mul.apply, a, other, "mul")
    return Mul.apply(a, b)


def _half_by_scalar(a: Tensor, other) -> bool:
    """Whether PyTorch computes ``a * other`` or ``a / other`` in float32: when ``a`` is float16
    or bfloat16 and ``other`` a number or a 0-d tensor of another dtype, which is not rounded to
    ``a``'s dtype."""
    dt = a._data.dtype
    if dt.itemsize != 2 or not dtypes.is_half(dt):  # the size first: most calls end there
        return False
    return not isinstance(other, Tensor) or (other._data.ndim == 0 and other._data.dtype != a._data.dtype)


def _in_float32(fn, a: Tensor, other, op: str) -> Tensor:
    """``fn`` of ``a`` and ``other`` computed in float32, rounded to ``a``'s half dtype once at the end."""
    x, y = promote(cast(a, dtypes.float32), other, op, wrap=True)
    return cast(fn(x, y), a.dtype)


@with_out()
def div(input, other, *, rounding_mode: str | None = None) -> Tensor:
    """True division (integers give floats), or rounded with 'trunc' / 'floor'."""
    if rounding_mode is None:
        a, b = promote(input, other, "div", wrap=True, floating=True)
        if _half_by_scalar(a, other):
            return _in_float32(Div.apply, a, other, "div")
        return Div.apply(a, b)
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(
            f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{rounding_mode}'")
    a, b = promote(input, other, "div", wrap=True)
    _no_kernel(f"div_{rounding_mode}_cpu", a, dtypes.bool_)
    _check_int_divisor(a, b, "div")
    return DivRounded.apply(a, b, rounding_mode)


@with_out()
def floor_divide(input, other) -> Tensor:
    """input // other: the quotient rounded down (Python's //)."""
    return div(input, other, rounding_mode="floor")


@with_out()
def remainder(input, other) -> Tensor:
    """Python's modulo: the result has the sign of the divisor."""
    a, b = promote(input, other, "remainder", wrap=True)
    _no_kernel("remainder_cpu", a, dtypes.bool_)
    _check_int_divisor(a, b, "remainder")
    return Remainder.apply(a, b)


@with_out()
def fmod(input, other) -> Tensor:
    """C's modulo: the result has the sign of the dividend."""
    a, b = promote(input, other, "fmod", wrap=True)
    _no_kernel("fmod_cpu", a, dtypes.bool_)
    _check_int_divisor(a, b, "fmod")
    return Fmod.apply(a, b)


def neg(input: Tensor) -> Tensor:
    if input._data.dtype == np.bool_:
        raise RuntimeError(
            "Negation, the `-` operator, on a bool tensor is not supported. "
            "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.")
    return Neg.apply(input)


@autocast_op("pow")
@with_out()
def pow(input, exponent) -> Tensor:
    """input ** exponent; either may be a number."""
    if isinstance(input, Tensor) and isinstance(exponent, (numbers.Number, np.generic)):
        if isinstance(exponent, int) and not isinstance(exponent, bool):
            dtypes.int64_bits(exponent)  # PyTorch's OverflowError for ints beyond 64 bits comes first
        if (not input.is_floating_point() and isinstance(exponent, (int, np.integer))
                and not isinstance(exponent, bool) and exponent < 0):
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        a, b = promote(input, exponent, "pow", wrap=True)
        if a.dtype not in (dtypes.float32, dtypes.float64):  # PyTorch casts the exponent to a.dtype
            dtypes.checked_scalar(exponent, a.dtype, "pow")
        # PyTorch's shortcuts; they also serve bool tensors, which have no pow kernel
        if exponent == 1:
            return a.clone() if a is input else a
        if exponent == 2 and a.is_floating_point():
            return _SQUARE.apply(a, a)
        if a.dtype is dtypes.bool_:
            return ones_like(a)
        return Pow.apply(a, b)
    a, b = promote(input, exponent, "pow", wrap=True)  # a number base is an operand, as in +
    _no_kernel("pow", a, dtypes.bool_)
    return (_POW_TENSOR if isinstance(input, Tensor) else _POW_BASE).apply(a, b)


# PyTorch's node names of pow's overloads: x ** 2 (a product here), x ** tensor, number ** x
_RSUB = (Sub.node("RsubBackward1"), Sub.node("RsubBackward0"))  # by "other is a tensor"
_SQUARE, _POW_TENSOR, _POW_BASE = Mul.node("PowBackward0"), Pow.node("PowBackward1"), Pow.node("PowBackward2")

subtract, multiply, divide, true_divide, negative = sub, mul, div, div, neg


# ---- comparisons and logic (not differentiable: results are bool) --------------------
def _compare(ufunc, name: str):
    def op(input, other) -> Tensor:
        a, b = promote(input, other, name, wrap=True)
        return Tensor._make(ufunc(a._data, b._data))
    op.__name__ = name
    return with_out()(op)


eq = _compare(np.equal, "eq")
ne = _compare(np.not_equal, "ne")
lt = _compare(np.less, "lt")
le = _compare(np.less_equal, "le")
gt = _compare(np.greater, "gt")
ge = _compare(np.greater_equal, "ge")
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def _data(x):
    return x._data if isinstance(x, Tensor) else x


def _logical(ufunc, name: str):
    def op(input: Tensor, other: Tensor) -> Tensor:
        if not isinstance(other, Tensor):
            raise TypeError(f"{name}(): argument 'other' (position 2) must be Tensor, not "
                            f"{type(other).__name__}")
        check_broadcast(input._data.shape, other._data.shape, name)
        return Tensor._make(as_array(ufunc(input._data != 0, other._data != 0)))
    op.__name__ = name
    return with_out()(op)


logical_and = _logical(np.logical_and, "logical_and")
logical_or = _logical(np.logical_or, "logical_or")
logical_xor = _logical(np.logical_xor, "logical_xor")


def logical_not(input: Tensor) -> Tensor:
    return Tensor._make(np.logical_not(input._data))


def _integer_op(ufunc, name: str, kernel: str, no_bool: bool = False):
    """A bitwise op or shift: integer (and for and/or/xor, bool) operands, as in PyTorch."""
    hint = "it takes integer" + ("" if no_bool else " or bool") + " tensors"

    def op(input, other) -> Tensor:
        a, b = promote(input, other, name, wrap=True)
        _no_kernel(kernel, a, dtypes.float16, dtypes.float32, dtypes.float64,
                   *((dtypes.bool_,) if no_bool else ()), hint=f"{name}: {hint}")
        return Tensor._make(ufunc(a._data, b._data))
    op.__name__ = name
    return with_out()(op)


bitwise_and = _integer_op(np.bitwise_and, "bitwise_and", "bitwise_and_cpu")
bitwise_or = _integer_op(np.bitwise_or, "bitwise_or", "bitwise_or_cpu")
bitwise_xor = _integer_op(np.bitwise_xor, "bitwise_xor", "bitwise_xor_cpu")
# NumPy's shifts are PyTorch's: a shift by a negative amount or by the width or more gives 0,
# or for >> of a negative signed value, -1.
bitwise_left_shift = _integer_op(np.left_shift, "bitwise_left_shift", "lshift_cpu", no_bool=True)
bitwise_right_shift = _integer_op(np.right_shift, "bitwise_right_shift", "rshift_cpu", no_bool=True)


def bitwise_not(input: Tensor) -> Tensor:
    _no_kernel("bitwise_not_cpu", input, dtypes.float16, dtypes.float32, dtypes.float64,
               hint="bitwise_not takes integer or bool tensors")
    return Tensor._make(np.invert(input._data))


def equal(input: Tensor, other: Tensor) -> bool:
    """True when both tensors have the same shape and elements."""
    return input.shape == other.shape and bool(np.all(input._data == other._data))


def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    return Tensor._make(np.isclose(input._data, _data(other), rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    return bool(np.allclose(input._data, _data(other), rtol=rtol, atol=atol, equal_nan=equal_nan))


def isnan(input: Tensor) -> Tensor:
    return Tensor._make(np.isnan(input._data))


def isinf(input: Tensor) -> Tensor:
    return Tensor._make(np.isinf(input._data))


def isfinite(input: Tensor) -> Tensor:
    return Tensor._make(np.isfinite(input._data))


# Methods bound to Tensor (ops/__init__.py); each name in INPLACE also gets a `name_` form.
TENSOR_METHODS = {name: globals()[name] for name in __all__ if name not in ("equal",)}
TENSOR_METHODS.update(equal=equal, greater=gt, greater_equal=ge, less=lt, less_equal=le, not_equal=ne)
INPLACE = ["add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide",
           "floor_divide", "remainder", "fmod", "neg", "negative", "pow",
           "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_not",
           "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
           "bitwise_left_shift", "bitwise_right_shift"]
