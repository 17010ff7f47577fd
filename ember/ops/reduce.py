"""Reductions over dimensions: sums and products, extrema, medians and logical reductions,
plus sum_to_size, which undoes broadcasting, and the accumulation helpers the other
reducing ops share (moments.py: log-sum-exp, variance, norms).

``dim`` is None (every dimension), an int or a sequence of ints (negatives count from
the end); ``keepdim`` keeps reduced dimensions with size 1, as in PyTorch.
"""
from __future__ import annotations

import builtins
import math as _pymath
from functools import partial

import numpy as np

from .. import return_types
from ..amp.autocast_mode import autocast_op
from .._tensor import Tensor
from ..autograd.function import Function
from ..backend import dtypes, kernels
from ..backend.compat import as_array, max_initial
from ..backend.device import xp_of
from ._out import with_out
from .binary import maximum, minimum
from .creation import ones_like
from .elementwise import cast
from .indexing import where
from .join import cat

__all__ = ["sum", "mean", "sum_to_size", "nansum", "nanmean", "prod", "amax", "amin", "max", "min",
           "argmax", "argmin", "all", "any", "count_nonzero", "median", "nanmedian"]


def normalize_dims(dim, ndim: int, op: str = "", unique: bool = True) -> tuple | None:
    """``dim`` (None, an int or a sequence, negatives allowed) as a sorted tuple, or None for all.
    A dim given twice is an error unless ``unique`` is False (then it appears once)."""
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    if not dims:
        return None
    n = builtins.max(ndim, 1)
    out = []
    for d in dims:
        if not -n <= d < n:
            raise IndexError(
                f"{op + ': ' if op else ''}Dimension out of range (expected to be in range of "
                f"[{-n}, {n - 1}], but got {d})")
        d = int(d) % n
        if d in out and not unique:
            continue
        if d in out:
            raise RuntimeError(f"{op + ': ' if op else ''}dim {d} appears multiple times in the list of dims")
        out.append(d)
    return tuple(sorted(out)) if ndim else None


def _unreduce(t: Tensor, shape: tuple, dims: tuple | None, keepdim: bool) -> Tensor:
    """A reduction's result with its reduced dimensions back as size 1 (it broadcasts to ``shape``)."""
    if keepdim or dims is None or t.ndim == len(shape):
        return t
    return t.reshape(tuple(1 if i in dims else s for i, s in enumerate(shape)))


def _drop_reduced(arr, dims: tuple | None, keepdim: bool):
    """A keepdims-shaped reduction result without its reduced dimensions unless ``keepdim``."""
    if keepdim:
        return arr
    return arr.reshape(()) if dims is None else arr.squeeze(dims)


def expand_reduced(grad: Tensor, shape: tuple, dims: tuple | None, keepdim: bool) -> Tensor:
    """Broadcast the gradient of a reduction back over the reduced dimensions."""
    return _unreduce(grad, shape, dims, keepdim).expand(shape)


def _count(shape: tuple, dims: tuple | None) -> int:
    """How many elements each output of a reduction over ``dims`` combines."""
    return _pymath.prod(shape) if dims is None else _pymath.prod(shape[d] for d in dims)


def _check_nonempty(input: Tensor, dims: tuple | None, op: str, error=RuntimeError) -> None:
    """Reductions without an identity (max, argmax, ...) refuse empty slices, as in PyTorch."""
    shape = input._data.shape
    if dims is None:
        if input._data.size == 0:
            raise error(
                f"{op}(): Expected reduction dim to be specified for input.numel() == 0. Specify the "
                f"reduction dim with the 'dim' argument (input shape {list(shape)}).")
        return
    for d in dims:
        if shape[d] == 0:
            raise IndexError(
                f"{op}(): Expected reduction dim {d} to have non-zero size (input shape {list(shape)}).")


def acc_dtype(dtype) -> np.dtype:
    """The dtype a reduction of ``dtype`` accumulates in: float32 for float16 and bfloat16 (as
    PyTorch's kernels do; float16 sums overflow at 65504, and both drift long before), else
    ``dtype`` itself. Results are cast back to ``dtype``."""
    known = _ACC.get(dtype)
    if known is None:
        known = _ACC[dtype] = np.dtype(np.float32) if dtypes.is_half(np.dtype(dtype)) else np.dtype(dtype)
    return known


_ACC: dict = {}  # acc_dtype's answers by the dtype (or type) asked about: every reduction asks


def scan_dtype(dtype) -> np.dtype:
    """The dtype running sums and products (cumsum, cumprod) accumulate in: float64 for float32,
    as PyTorch's CPU scans do (a million float32 steps do not drift, and a running sum past
    float32's range comes back when later terms cancel it); otherwise ``acc_dtype``."""
    dtype = np.dtype(dtype)
    return np.dtype(np.float64) if dtype == np.float32 else acc_dtype(dtype)


def pow2_scale(m):
    """Per slice, a power of two ``s`` with ``m / s`` in [1, 2) (1 where ``m`` is 0 or not
    finite; ``m`` is a max of absolute values): dividing by it is exact, and it keeps squares
    and powers of values up to ``m`` from overflowing or underflowing. (A bound in [0.5, 1)
    would need 2^128 for float32 values near their maximum, which is not representable.)"""
    ok = np.isfinite(m) & (m > 0)
    exponent = np.frexp(np.where(ok, m, 1))[1] - 1
    return np.where(ok, np.ldexp(np.ones_like(m), exponent), 1).astype(m.dtype)


def slice_scale(x, dims: tuple | None):
    """``pow2_scale`` of each slice's largest |x| over ``dims`` (kept, with size 1)."""
    return pow2_scale(max_initial(np.abs(x), axis=dims, keepdims=True, initial=0))


def sum_of(x, dims: tuple | None, keepdim: bool, divisor=None, skip_nan: bool = False):
    """The sum of ``x`` over ``dims`` (NaNs counted as zero with ``skip_nan``) in ``acc_dtype``,
    divided there by ``divisor`` (None, a count, or an ``acc_dtype`` array of the result's shape).

    Where that result is not finite, it is recomputed on x / s (s = ``slice_scale``, exact), whose
    partial sums cannot overflow, and multiplied by s after dividing: so a mean of finite values is
    always finite, and a sum is finite wherever its true value fits the dtype (its partial sums may
    not) and inf where not, as in PyTorch. Slices holding inf or NaN get s = 1, their plain result.
    Ordinary inputs pay one check of the result."""
    acc = acc_dtype(x.dtype)
    if divisor is not None and isinstance(divisor, (int, float)):
        divisor = acc.type(divisor)
    if skip_nan:
        out = np.nansum(x, axis=dims, keepdims=keepdim, dtype=acc)
    elif type(x) is np.ndarray:
        out = _column_sums(x, keepdim) if dims == (0,) else None
        if out is None:  # ndarray.sum's own call, without its Python wrapper
            out = np.add.reduce(x, dims, acc, None, keepdim)  # (axis, dtype, out, keepdims): keywords cost
    else:
        out = x.sum(axis=dims, keepdims=keepdim, dtype=acc)
    if divisor is not None:
        out = out / divisor
    # (a scalar is checked in Python: a third of the time of a 100-element mean otherwise)
    if _pymath.isfinite(out) if out.ndim == 0 else np.isfinite(out).all():
        return out
    bad = ~np.isfinite(out)
    if skip_nan:
        x = np.where(np.isnan(x), 0, x)
    s = slice_scale(x, dims).astype(acc, copy=False)
    scaled = np.sum(x / s, axis=dims, keepdims=keepdim, dtype=acc)
    if divisor is not None:
        scaled = scaled / divisor
    return np.where(bad, scaled * _drop_reduced(s, dims, keepdim), out)


# Column sums of at least this many elements (and 2 columns: NumPy sums a single column
# pairwise, in another order) run on the compiled kernel, split over the cores.
_COLUMN_SUM_ELEMENTS = 1 << 15


def _column_sums(x: np.ndarray, keepdim: bool):
    """The sum over the rows (dim 0) of a large 2-d float32/float64 C-contiguous ``x``, in its
    own dtype (its accumulation dtype), by the compiled kernel (NumPy's bits, both cores);
    None for every other case."""
    if x.ndim != 2 or x.size < _COLUMN_SUM_ELEMENTS or x.shape[1] < 2:
        return None
    k = kernels.cpu()
    if k is None or not kernels.usable(x) or not x.flags.c_contiguous:
        return None
    out = np.empty(x.shape[1], x.dtype)
    with kernels.lock:
        k.reduce.column_sums(x, out)
    return out.reshape(1, -1) if keepdim else out


def _int64(result, like) -> Tensor:
    """An index/count result (a NumPy scalar or array) as an int64 tensor on ``like``'s device."""
    return Tensor._make(xp_of(like).asarray(result).astype(np.int64, copy=False))


def _require_float(input: Tensor, op: str) -> None:
    if not input.is_floating_point():
        raise RuntimeError(
            f"{op}(): expected input to have floating point or complex dtype but got {input.dtype}. "
            f"Convert first, e.g. x.float().{op}()")


# ---- sums and products -------------------------------------------------------------
class Sum(Function):
    """sum, nansum (``skip_nan``), mean and nanmean: ``sum_of`` over ``dims`` divided by
    ``divisor`` (None for sums, the count for means: a number, or for nanmean an ``acc_dtype``
    array of the result's shape), cast back to the input's dtype."""

    counted = None  # for nansum's gradient: where the input is not NaN

    @staticmethod
    def forward(ctx, a, dims, keepdim, divisor=None, skip_nan=False):
        x = a._data
        if ctx.needs_input_grad[0]:  # what backward reads (a no-grad sum keeps nothing)
            ctx.shape, ctx.dims, ctx.keepdim, ctx.divisor = x.shape, dims, keepdim, divisor
            if skip_nan:
                ctx.counted = ~np.isnan(x)
        out = as_array(sum_of(x, dims, keepdim, divisor, skip_nan))  # NumPy's full sum is a scalar
        return out if out.dtype == x.dtype else out.astype(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        divisor = ctx.divisor
        if isinstance(divisor, int):
            grad = grad / divisor if divisor else grad * float("nan")
        elif divisor is not None:
            grad = grad / Tensor._make(divisor)
        grad = expand_reduced(grad, ctx.shape, ctx.dims, ctx.keepdim)
        if ctx.counted is not None:
            # a product (not a select), so an infinite gradient gives NaN at NaNs, as in PyTorch
            grad = grad * Tensor._make(ctx.counted)
        return grad, None, None, None, None


class SumToSize(Function):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a._data.shape
        arr = a._data
        lead = arr.ndim - len(shape)
        if lead < 0:
            raise ValueError(f"cannot sum shape {arr.shape} to {shape}")
        axes = tuple(range(lead)) + tuple(
            lead + i for i, s in enumerate(shape) if s == 1 and arr.shape[lead + i] != 1)
        for i, s in enumerate(shape):
            if s != 1 and arr.shape[lead + i] != s:
                raise ValueError(f"cannot sum shape {arr.shape} to {shape}")
        out = arr.sum(axis=axes, keepdims=True) if axes else arr
        return out.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.expand(ctx.shape), None


def sum_to_size(input: Tensor, *size) -> Tensor:
    """Sum broadcast dimensions away so the result has shape ``size``."""
    shape = tuple(size[0]) if len(size) == 1 and not isinstance(size[0], int) else tuple(size)
    if tuple(input._data.shape) == shape:
        return input
    return SumToSize.apply(input, shape)


# PyTorch's node names of the overloads Sum serves (sum(dim) and mean(dim) are a second overload).
_SUM_DIM, _MEAN, _MEAN_DIM, _NANSUM = (Sum.node(n) for n in (
    "SumBackward1", "MeanBackward0", "MeanBackward1", "NansumBackward0"))
_SUM = Sum._node


@autocast_op("sum")
@with_out("accumulate")
def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum of elements over ``dim`` (all when None). Integer and bool inputs sum to int64."""
    dims = normalize_dims(dim, input._data.ndim, "sum")
    if dtype is not None:
        input = input.to(dtype)
    elif input._data.dtype.kind in "biu":
        input = input.to(dtypes.int64)
    return (_SUM if dim is None else _SUM_DIM).apply(input, dims, keepdim)


@with_out()
def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Mean over ``dim`` (all when None); needs a floating dtype, as in PyTorch."""
    if dtype is not None:
        input = input.to(dtype)
    if not input.is_floating_point():
        raise RuntimeError(
            f"mean(): could not infer output dtype. Input dtype must be either a floating point or "
            f"complex dtype. Got: {input.dtype}. Convert first, e.g. x.float().mean()")
    dims = normalize_dims(dim, input._data.ndim, "mean")
    return (_MEAN if dim is None else _MEAN_DIM).apply(input, dims, keepdim,
                                                       _count(input._data.shape, dims))


@with_out("accumulate")
def nansum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """sum() counting NaNs as zero (they get no gradient)."""
    if dtype is not None:
        input = input.to(dtype)
    if not input.is_floating_point():
        return sum(input, dim, keepdim)
    return _NANSUM.apply(input, normalize_dims(dim, input._data.ndim, "nansum"), keepdim, None, True)


@with_out()
def nanmean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """mean() of the elements that are not NaN (NaN where there are none)."""
    if dtype is not None:
        input = input.to(dtype)
    _require_float(input, "nanmean")
    dims = normalize_dims(dim, input._data.ndim, "nanmean")
    x = input._data
    # divided in acc_dtype: a float16 count past 65504 would be inf
    count = np.sum(~np.isnan(x), axis=dims, keepdims=keepdim).astype(acc_dtype(x.dtype))
    return Sum.apply(input, dims, keepdim, xp_of(x).asarray(count), True)


class Prod(Function):
    @staticmethod
    def forward(ctx, a, dim, keepdim):
        ctx.dim, ctx.keepdim = dim, keepdim
        x = a._data
        out = xp_of(x).asarray(np.prod(x, axis=dim, keepdims=keepdim, dtype=acc_dtype(x.dtype))).astype(x.dtype)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        dims = None if ctx.dim is None else (ctx.dim,)
        grad = _unreduce(grad, a.shape, dims, ctx.keepdim)
        if not np.any(a._data == 0):  # the quotient is exact wherever no factor is zero
            return grad * _unreduce(out, a.shape, dims, ctx.keepdim) / a, None, None
        return grad * _prod_of_others(a, ctx.dim), None, None


def _prod_of_others(x: Tensor, dim: int | None) -> Tensor:
    """For each element, the product of the other elements of its slice along ``dim``
    (all elements when None), without dividing, so zeros are handled exactly."""
    if dim is None:
        return _prod_of_others(x.reshape(-1), 0).reshape(x.shape)
    n = x.shape[dim]
    one = ones_like(x.narrow(dim, 0, 1))
    before = cat([one, x.narrow(dim, 0, n - 1)], dim).cumprod(dim)
    after = cat([one, x.narrow(dim, 1, n - 1).flip(dim)], dim).cumprod(dim).flip(dim)
    return before * after


@autocast_op("prod")
@with_out("accumulate")
def prod(input: Tensor, dim: int | None = None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Product of elements over one ``dim`` (all when None). Integer and bool inputs give int64."""
    if dim is not None and not isinstance(dim, (int, np.integer)):
        raise TypeError(f"prod(): argument 'dim' must be int, not {type(dim).__name__} "
                        "(reduce one dimension at a time)")
    if dtype is not None:
        input = input.to(dtype)
    elif input._data.dtype.kind in "biu":
        input = input.to(dtypes.int64)
    dims = normalize_dims(dim, input._data.ndim, "prod")
    return Prod.apply(input, None if dims is None else dims[0], keepdim)


# ---- extrema -----------------------------------------------------------------------
class SelectValue(Function):
    """A reduction that picks one value per slice (max, min, median of all); its gradient is
    split evenly among the elements equal to the picked value, as in PyTorch. With
    ``nan_ties`` (max/min/median) a NaN result is shared by the NaN elements; without
    (amax/amin), nothing equals a NaN result, so its slice's gradient is NaN, as in PyTorch."""

    @staticmethod
    def forward(ctx, a, dims, keepdim, reducer, nan_ties=True):
        ctx.dims, ctx.keepdim, ctx.nan_ties = dims, keepdim, nan_ties
        out = xp_of(a._data).asarray(reducer(a._data, axis=dims, keepdims=keepdim))
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        shape = a.shape
        out = _unreduce(out, shape, ctx.dims, ctx.keepdim)
        hit = a == out
        if ctx.nan_ties and np.isnan(out._data).any():
            hit = hit | (a.isnan() & out.isnan())
        hit = cast(hit, grad.dtype)
        share = _unreduce(grad, shape, ctx.dims, ctx.keepdim) / hit.sum(ctx.dims, keepdim=True)
        return share * hit, None, None, None, None


class TakeAlong(Function):
    """The elements at ``index`` along ``dim`` (``index`` has the input's shape with size 1 at
    ``dim``): the values of max/min/median with a dim. Their gradient goes to those elements."""

    @staticmethod
    def forward(ctx, a, index, dim, keepdim):
        ctx.index, ctx.dim, ctx.keepdim, ctx.size = index, dim, keepdim, a._data.shape[dim]
        out = np.take_along_axis(a._data, index, axis=dim)
        return out if keepdim else out.squeeze(dim)

    @staticmethod
    def backward(ctx, grad):
        index, dim = ctx.index, ctx.dim
        if not ctx.keepdim:
            grad = grad.unsqueeze(dim)
        shape = [1] * index.ndim
        shape[dim] = ctx.size
        chosen = xp_of(index).arange(ctx.size).reshape(shape) == index
        return where(Tensor._make(chosen), grad, 0.0), None, None, None


# max/min along a dim: PyTorch's names of their nodes (other ops keep TakeAlong's)
_ALONG_NODES = {"max": TakeAlong.node("MaxBackward0"), "min": TakeAlong.node("MinBackward0")}


def _select_along(input: Tensor, dim: int, keepdim: bool, pick, op: str) -> tuple:
    """Values and int64 indices of the element ``pick(array, dim)`` chooses in each slice
    (``pick`` returns the index with the reduced dimension kept)."""
    d = input._wrap_dim(dim)
    if input._data.ndim == 0:
        input, keepdim = input.reshape(1), False
    _check_nonempty(input, (d,), op)
    index = pick(input._data, d)
    values = (_ALONG_NODES.get(op) or TakeAlong).apply(input, index, d, keepdim)
    return values, _int64(index if keepdim else index.squeeze(d), input._data)


@with_out("input")
def amax(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Maximum over ``dim`` (all when empty); the gradient is split evenly among ties."""
    # an empty reduced dim is reported before a repeated one, as in PyTorch
    _check_nonempty(input, normalize_dims(dim, input._data.ndim, "amax", unique=False), "amax")
    dims = normalize_dims(dim, input._data.ndim, "amax")
    return SelectValue.node("AmaxBackward0").apply(input, dims, keepdim, np.max, False)


@with_out("input")
def amin(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Minimum over ``dim`` (all when empty); the gradient is split evenly among ties."""
    # an empty reduced dim is reported before a repeated one, as in PyTorch
    _check_nonempty(input, normalize_dims(dim, input._data.ndim, "amin", unique=False), "amin")
    dims = normalize_dims(dim, input._data.ndim, "amin")
    return SelectValue.node("AminBackward0").apply(input, dims, keepdim, np.min, False)


def _extreme(input: Tensor, dim, keepdim: bool, other, op: str, reduce, arg, elementwise, result):
    """max/min: over everything, along ``dim`` with indices, or element-wise with ``other``."""
    if isinstance(dim, Tensor):
        dim, other = None, dim
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"{op}(): argument 'dim' must be int, not {type(dim).__name__} (amax/amin "
                        "reduce several dims)")
    if other is not None:
        return elementwise(input, other)
    if dim is None:
        _check_nonempty(input, None, op)
        return SelectValue.node(f"{op.capitalize()}Backward1").apply(input, None, False, reduce)
    return result(*_select_along(input, dim, keepdim, partial(arg, keepdims=True), op))


@with_out()
def max(input: Tensor, dim=None, keepdim: bool = False, *, other: Tensor | None = None):
    """The largest element (a 0-d tensor); with ``dim``, ``(values, indices)`` of each slice's
    first maximum; with another tensor, the element-wise maximum."""
    return _extreme(input, dim, keepdim, other, "max", np.max, np.argmax, maximum, return_types.max)


@with_out()
def min(input: Tensor, dim=None, keepdim: bool = False, *, other: Tensor | None = None):
    """The smallest element (a 0-d tensor); with ``dim``, ``(values, indices)`` of each slice's
    first minimum; with another tensor, the element-wise minimum."""
    return _extreme(input, dim, keepdim, other, "min", np.min, np.argmin, minimum, return_types.min)


def _arg_extreme(input: Tensor, dim, keepdim: bool, fn, op: str) -> Tensor:
    arr = input._data
    if arr.dtype == np.bool_:
        raise RuntimeError(f"{op}(): does not support bool input (convert with .int() or .float())")
    if dim is None:
        _check_nonempty(input, None, op, IndexError)
        return _int64(fn(arr, axis=None, keepdims=keepdim), arr)
    d = input._wrap_dim(dim)
    if arr.ndim == 0:
        return _int64(0, arr)
    _check_nonempty(input, (d,), op)
    return _int64(fn(arr, axis=d, keepdims=keepdim), arr)


@with_out("exact")
def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the first maximum over ``dim`` (of the flattened tensor when None)."""
    return _arg_extreme(input, dim, keepdim, np.argmax, "argmax")


@with_out("exact")
def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the first minimum over ``dim`` (of the flattened tensor when None)."""
    return _arg_extreme(input, dim, keepdim, np.argmin, "argmin")


def _median_index(arr, d: int, ignore_nan: bool):
    """Index (dimension ``d`` kept) of the lower median of each slice; a slice with NaN gives
    its first NaN, unless NaNs are ignored."""
    if ignore_nan:
        order = np.argsort(arr, axis=d)  # NaNs sort last
        valid = np.sum(~np.isnan(arr), axis=d, keepdims=True)
        return np.take_along_axis(order, np.maximum((valid - 1) // 2, 0), axis=d)
    k = (arr.shape[d] - 1) // 2
    index = np.argpartition(arr, k, axis=d)[(slice(None),) * d + (slice(k, k + 1),)]
    if dtypes.is_floating_array(arr.dtype):
        nan = np.isnan(arr)
        index = np.where(nan.any(axis=d, keepdims=True), np.argmax(nan, axis=d, keepdims=True), index)
    return index


def _median(input: Tensor, dim, keepdim: bool, ignore_nan: bool, op: str):
    if dim is not None and input._data.ndim:  # a bad or empty dim is reported first, as in PyTorch
        _check_nonempty(input, (input._wrap_dim(dim),), op)
    elif dim is not None:
        input._wrap_dim(dim)
    if input._data.dtype == np.bool_:
        raise NotImplementedError(f"\"{op}_cpu\" not implemented for 'Bool' (convert with .int() first)")
    if dim is not None:
        pick = partial(_median_index, ignore_nan=ignore_nan)
        return getattr(return_types, op)(*_select_along(input, dim, keepdim, pick, op))
    arr = input._data
    if arr.size == 0:
        _require_float(input, op)
        return Tensor._make(xp_of(arr).full((), np.nan, dtype=arr.dtype))
    flat = arr.reshape(-1)
    value = flat[_median_index(flat, 0, ignore_nan)].reshape(())

    def reducer(a, axis, keepdims):
        return value
    return SelectValue.apply(input, None, False, reducer)


@with_out()
def median(input: Tensor, dim: int | None = None, keepdim: bool = False):
    """The lower median (NaN if any element is NaN); with ``dim``, ``(values, indices)``."""
    return _median(input, dim, keepdim, False, "median")


@with_out()
def nanmedian(input: Tensor, dim: int | None = None, keepdim: bool = False):
    """median() of the elements that are not NaN."""
    return _median(input, dim, keepdim, True, "nanmedian")


# ---- logical reductions and counts -------------------------------------------------
def _logical(input: Tensor, dim, keepdim: bool, fn, op: str) -> Tensor:
    arr = input._data
    if isinstance(dim, (tuple, list)) and not dim:  # dim=() reduces nothing here, as in PyTorch
        out = arr != 0
        return Tensor._make(out.astype(np.uint8) if arr.dtype == np.uint8 else out)
    dims = normalize_dims(dim, arr.ndim, op)
    out = xp_of(arr).asarray(fn(arr, axis=dims, keepdims=keepdim))
    return Tensor._make(out.astype(np.uint8) if arr.dtype == np.uint8 else out)


def all(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Whether every element over ``dim`` is nonzero (bool; uint8 for uint8 input)."""
    return _logical(input, dim, keepdim, np.all, "all")


def any(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Whether any element over ``dim`` is nonzero (bool; uint8 for uint8 input)."""
    return _logical(input, dim, keepdim, np.any, "any")


def count_nonzero(input: Tensor, dim=None) -> Tensor:
    """Number of nonzero elements over ``dim`` (all when None), as int64."""
    arr = input._data
    return _int64(np.count_nonzero(arr, axis=normalize_dims(dim, arr.ndim, "count_nonzero")), arr)


TENSOR_METHODS = {name: globals()[name] for name in __all__}
INPLACE: list = []
