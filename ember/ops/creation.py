"""Tensor creation: from data, filled, ranges, and random draws."""
from __future__ import annotations

import numbers
import warnings

import numpy as np

from .._layout import (check_layout, check_memory_format, copy_ordered, in_dim_order, laid_out, memory_order,
                      preserve_format, strided)
from ..autograd.capture import replayable
from .._tensor import Tensor
from ..backend import cuda as _cuda, dtypes
from ..backend.device import CPU, CudaUnavailableError, move, resolve, xp_of
from ..backend.random import rng
from . import _out
from .data import array_from_data
from .views import overwrite

__all__ = [
    "tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "empty", "zeros_like",
    "ones_like", "full_like", "empty_like", "arange", "linspace", "logspace", "eye",
    "rand", "randn", "randint", "randperm", "normal", "bernoulli", "multinomial",
    "rand_like", "randn_like", "randint_like",
]


def _options(op: str, layout, pin_memory: bool) -> None:
    """PyTorch's checks of ``layout=`` and ``pin_memory=``: pinned (page-locked) host memory
    needs an accelerator; with one, ember's host arrays are ordinary NumPy memory."""
    check_layout(layout, op)
    if pin_memory and not _cuda.is_available():
        raise RuntimeError(f"{op}(): pin_memory=True requires a CUDA or other accelerator backend; no "
                           "pinned memory allocator is available on this system (pass pin_memory=False)")


def _out_dtype(out, dtype, op: str):
    """The dtype a creation function makes with ``out=``: out's, which an explicit dtype must equal."""
    if out is None:
        return dtype
    _out.check_out(out, op)
    if dtype is not None and dtypes.to_dtype(dtype) is not out.dtype:
        raise RuntimeError(f"{op}(): dtype {dtypes.to_dtype(dtype).kernel_name} does not match dtype of "
                           f"out parameter ({out.dtype.kernel_name})")
    return out.dtype


def _finish(array, device, requires_grad: bool, out=None, op: str = "") -> Tensor:
    """The new tensor on ``device`` (None: the default device), or ``out`` resized and
    filled (creation functions resize ``out`` without a warning, as PyTorch's do)."""
    if out is not None:
        t = _out.write(out, Tensor._make(move(array, out.device)), op, "exact", warn_resize=False)
    else:
        t = Tensor._make(move(array, resolve(device)))
    if requires_grad:
        t.requires_grad = True
    return t


def tensor(data, *, dtype=None, device=None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, numbers, arrays or tensors)."""
    _options("tensor", None, pin_memory)
    if isinstance(data, Tensor):
        device = data.device if device is None else device
        data = data._data
    if hasattr(data, "dtype") and hasattr(data, "shape"):  # NumPy/CuPy arrays and scalars
        d = dtypes.to_dtype(dtype) if dtype is not None else dtypes.from_numpy_dtype(data.dtype)
        arr = dtypes.cast_array(data, d.np)
    else:
        arr = array_from_data(data, dtype)
    return _finish(arr, device, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like tensor(), but shares memory with a NumPy array or tensor when it can."""
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype) if (dtype or device) else data
    if isinstance(data, np.ndarray) and resolve(device) == CPU:
        d = dtypes.to_dtype(dtype) if dtype is not None else dtypes.from_numpy_dtype(data.dtype)
        return Tensor._make(data if data.dtype == d.np else dtypes.cast_array(data, d.np))
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with a NumPy array."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    dtypes.from_numpy_dtype(array.dtype)
    return Tensor._make(array)


def _shape(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    try:
        shape = tuple(int(s) for s in size)
    except TypeError:
        raise TypeError(f"size must be a sequence of ints, got {size!r}") from None
    if any(s < 0 for s in shape):
        raise RuntimeError(f"Trying to create tensor with negative dimension: {list(shape)}")
    return shape


def _dtype(dtype) -> dtypes.dtype:
    return dtypes.get_default_dtype() if dtype is None else dtypes.to_dtype(dtype)


def _filled(fill, size, dtype, device, requires_grad, op: str = "full", out=None, layout=None,
            pin_memory: bool = False) -> Tensor:
    _options(op, layout, pin_memory)
    d = _dtype(_out_dtype(out, dtype, op))
    if fill is None:
        return _finish(np.empty(_shape(size), dtype=d.np), device, requires_grad, out, op)
    if isinstance(fill, Tensor):
        fill = fill.item()
    if not isinstance(fill, (numbers.Number, np.generic)):
        raise TypeError(f"{op}(): argument 'fill_value' (position 2) must be Number, not {type(fill).__name__}")
    fill = dtypes.checked_scalar(fill, d, op)
    return _finish(np.full(_shape(size), fill, dtype=d.np), device, requires_grad, out, op)


def zeros(*size, out=None, dtype=None, layout=None, device=None, pin_memory: bool = False,
          requires_grad: bool = False) -> Tensor:
    return _filled(0, size, dtype, device, requires_grad, "zeros", out, layout, pin_memory)


def ones(*size, out=None, dtype=None, layout=None, device=None, pin_memory: bool = False,
         requires_grad: bool = False) -> Tensor:
    return _filled(1, size, dtype, device, requires_grad, "ones", out, layout, pin_memory)


def empty(*size, out=None, dtype=None, layout=None, device=None, pin_memory: bool = False,
          requires_grad: bool = False, memory_format=None) -> Tensor:
    t = _filled(None, size, dtype, device, requires_grad, "empty", out, layout, pin_memory)
    if memory_format is not None:
        check_memory_format(memory_format, t.ndim, "empty")
        if memory_format is preserve_format:
            raise RuntimeError("unsupported memory format Preserve: empty() has no tensor whose format to keep "
                               "(empty_like(t) keeps t's)")
        order = memory_order(t._data, memory_format)
        if order != tuple(range(t.ndim)):
            t._data = laid_out(lambda s: xp_of(t._data).empty(s, t._data.dtype), t._data.shape, order)
    return t


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None, pin_memory: bool = False,
         requires_grad: bool = False) -> Tensor:
    if dtype is None and out is None:
        dtype = dtypes.scalar_dtype(fill_value.item() if isinstance(fill_value, Tensor) else fill_value)
    return _filled(fill_value, (size,) if isinstance(size, int) else tuple(size), dtype, device, requires_grad,
                   "full", out, layout, pin_memory)


def _like(t: Tensor, dtype, device, layout=None, memory_format=None, op: str = ""):
    """dtype, device and memory order (see ``_layout.memory_order``) of a ``*_like`` result:
    the source's unless given, after PyTorch's checks of layout and memory_format."""
    check_layout(layout, op)
    check_memory_format(memory_format, t.ndim, op)
    order = memory_order(t._data, preserve_format if memory_format is None else memory_format)
    return (t.dtype if dtype is None else dtype), (t.device if device is None else device), order


def _ordered(t: Tensor, order: tuple) -> Tensor:
    """``t``, a tensor just made, with its values laid out in ``order``."""
    if order != tuple(range(t.ndim)):
        t._data = copy_ordered(t._data, order)
    return t


def _fill_in_order(make, shape: tuple, order: tuple) -> Tensor:
    """``make(shape)``, a constant fill, made laid out in ``order``: the fill of the permuted
    shape, seen through the inverse permutation (no copy, as ``_ordered`` needs for values
    that depend on their position)."""
    if order == tuple(range(len(shape))):
        return make(shape)
    t = make(tuple(shape[d] for d in order))
    t._data = in_dim_order(t._data, order)
    return t


def zeros_like(input: Tensor, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
               memory_format=None) -> Tensor:
    d, dev, order = _like(input, dtype, device, layout, memory_format, "zeros_like")
    return _fill_in_order(lambda s: zeros(s, dtype=d, device=dev, requires_grad=requires_grad), input.shape, order)


def ones_like(input: Tensor, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
              memory_format=None) -> Tensor:
    d, dev, order = _like(input, dtype, device, layout, memory_format, "ones_like")
    return _fill_in_order(lambda s: ones(s, dtype=d, device=dev, requires_grad=requires_grad), input.shape, order)


def empty_like(input: Tensor, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
               memory_format=None) -> Tensor:
    d, dev, order = _like(input, dtype, device, layout, memory_format, "empty_like")
    return _fill_in_order(lambda s: empty(s, dtype=d, device=dev, requires_grad=requires_grad), input.shape, order)


def full_like(input: Tensor, fill_value, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
              memory_format=None) -> Tensor:
    d, dev, order = _like(input, dtype, device, layout, memory_format, "full_like")
    return _fill_in_order(lambda s: full(s, fill_value, dtype=d, device=dev, requires_grad=requires_grad), input.shape,
                   order)


def arange(start, end=None, step=1, *, out=None, dtype=None, layout=None, device=None, pin_memory: bool = False,
           requires_grad: bool = False) -> Tensor:
    """Values from start (inclusive) to end (exclusive); int64 unless a bound is a float."""
    _options("arange", layout, pin_memory)
    dtype = _out_dtype(out, dtype, "arange")
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if dtype is None:
        dtype = dtypes.int64 if all(isinstance(v, (int, np.integer)) for v in vals) else dtypes.get_default_dtype()
    d = dtypes.to_dtype(dtype)
    if d is dtypes.bool_:
        raise dtypes.not_implemented("arange_cpu", d, "arange makes numbers; compare them for a bool tensor")
    if not all(np.isfinite(v) for v in vals):
        raise RuntimeError(f"arange: unsupported range: start={vals[0]}, end={vals[1]}, step={vals[2]} "
                           "(bounds must be finite)")
    if (vals[1] - vals[0]) * vals[2] < 0:
        raise RuntimeError(f"upper bound and lower bound inconsistent with step sign: start={vals[0]}, "
                           f"end={vals[1]}, step={vals[2]}")
    n = max(int(np.ceil((vals[1] - vals[0]) / vals[2])), 0)
    if out is not None and out.numel() not in (0, n):
        warnings.warn(f"The number of elements in the out tensor of shape {list(out.shape)} is {out.numel()} "
                      f"which does not match the computed number of elements {n}. Note that this may occur "
                      f"as a result of rounding error. The out tensor will be resized to a tensor of shape "
                      f"({n},).", UserWarning, stacklevel=2)
    arr = dtypes.cast_array(vals[0] + vals[2] * np.arange(n, dtype=np.float64 if d.is_floating_point else np.int64), d.np)
    return _finish(arr, device, requires_grad, out, "arange")


def linspace(start, end, steps: int, *, out=None, dtype=None, layout=None, device=None, pin_memory: bool = False,
             requires_grad: bool = False) -> Tensor:
    _options("linspace", layout, pin_memory)
    d = _dtype(_out_dtype(out, dtype, "linspace"))
    arr = dtypes.cast_array(np.linspace(float(start), float(end), int(steps)), d.np)
    return _finish(arr, device, requires_grad, out, "linspace")


def logspace(start, end, steps: int, base: float = 10.0, *, out=None, dtype=None, layout=None, device=None,
             pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    _options("logspace", layout, pin_memory)
    d = _dtype(_out_dtype(out, dtype, "logspace"))
    arr = dtypes.cast_array(np.logspace(float(start), float(end), int(steps), base=base), d.np)
    return _finish(arr, device, requires_grad, out, "logspace")


def eye(n: int, m: int | None = None, *, out=None, dtype=None, layout=None, device=None,
        pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    _options("eye", layout, pin_memory)
    d = _dtype(_out_dtype(out, dtype, "eye"))
    return _finish(np.eye(n, m, dtype=d.np), device, requires_grad, out, "eye")


# ---- random ---------------------------------------------------------------------------
def _float_draws(d: dtypes.dtype, kernel: str) -> dtypes.dtype:
    """Uniform and normal draws are floating point, as PyTorch's kernels are."""
    if not d.is_floating_point:
        raise dtypes.not_implemented(kernel, d, "draw floats and convert, or use randint for integers")
    return d


def rand(*size, generator=None, out=None, dtype=None, layout=None, device=None, pin_memory: bool = False,
         requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1)."""
    _options("rand", layout, pin_memory)
    d = _float_draws(_dtype(_out_dtype(out, dtype, "rand")), "check_uniform_bounds")
    arr = rng(generator).random(_shape(size), dtype=np.float64 if dtypes.is_half(d.np) else d.np).astype(d.np, copy=False)
    return _finish(arr, device, requires_grad, out, "rand")


def randn(*size, generator=None, out=None, dtype=None, layout=None, device=None, pin_memory: bool = False,
          requires_grad: bool = False) -> Tensor:
    """Standard normal samples."""
    _options("randn", layout, pin_memory)
    d = _float_draws(_dtype(_out_dtype(out, dtype, "randn")), "normal_kernel_cpu")
    arr = rng(generator).standard_normal(_shape(size), dtype=np.float64 if dtypes.is_half(d.np) else d.np)
    return _finish(arr.astype(d.np, copy=False), device, requires_grad, out, "randn")


def randint(low, high=None, size=None, *, generator=None, out=None, dtype=None, layout=None, device=None,
            pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """Integers drawn uniformly from [low, high)."""
    _options("randint", layout, pin_memory)
    dtype = _out_dtype(out, dtype, "randint")
    if size is None and isinstance(high, (tuple, list)):  # randint(high, size)
        high, size = None, high
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing required argument 'size'")
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    d = dtypes.int64 if dtype is None else dtypes.to_dtype(dtype)
    arr = rng(generator).integers(low, high, size=_shape((size,) if isinstance(size, int) else tuple(size)))
    return _finish(arr.astype(d.np), device, requires_grad, out, "randint")


def randperm(n: int, *, generator=None, out=None, dtype=None, layout=None, device=None, pin_memory: bool = False,
             requires_grad: bool = False) -> Tensor:
    _options("randperm", layout, pin_memory)
    dtype = _out_dtype(out, dtype, "randperm")
    d = dtypes.int64 if dtype is None else dtypes.to_dtype(dtype)
    return _finish(rng(generator).permutation(int(n)).astype(d.np), device, requires_grad, out, "randperm")


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None, layout=None, device=None,
           pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """Normal samples; mean and std may be tensors (broadcast) or numbers (then size is needed)."""
    _options("normal", layout, pin_memory)
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        if out is not None:
            _out.check_out(out, "normal", (mean, std))
            return _out.write(out, normal(mean, std, generator=generator), "normal")
        m = mean._data if isinstance(mean, Tensor) else mean
        s = std._data if isinstance(std, Tensor) else std
        like = mean if isinstance(mean, Tensor) else std
        if np.any(np.asarray(move(s if hasattr(s, "shape") else np.asarray(s), CPU)) < 0):
            raise RuntimeError("normal expects all elements of std >= 0.0")
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
        z = rng(generator).standard_normal(shape)
        return Tensor._make((m + s * move(z, like.device)).astype(like._data.dtype))
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    if size is None:
        raise TypeError("normal() with float mean and std needs a size")
    d = _dtype(_out_dtype(out, dtype, "normal"))
    arr = rng(generator).normal(mean, std, _shape((size,) if isinstance(size, int) else tuple(size)))
    return _finish(arr.astype(d.np), device, requires_grad, out, "normal")


def bernoulli(input: Tensor, p: float | None = None, *, generator=None) -> Tensor:
    """1 with probability ``input`` (or ``p``) element-wise, else 0; same dtype as input."""
    probs = input._data if p is None else np.full_like(input._data, p)
    if np.any((move(probs, CPU) < 0) | (move(probs, CPU) > 1)):
        raise RuntimeError("bernoulli: all probabilities must be in [0, 1]")
    u = move(rng(generator).random(input._data.shape), input.device)
    return Tensor._make((u < probs).astype(input._data.dtype))


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *, generator=None) -> Tensor:
    """Indices sampled from rows of non-negative weights (1-D or 2-D input)."""
    w = move(input._data, CPU).astype(np.float64)
    if w.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got {w.ndim}")
    rows = w.reshape(-1, w.shape[-1])
    if np.any(rows < 0) or not np.all(np.isfinite(rows)):
        raise RuntimeError("multinomial: probability tensor contains either `inf`, `nan` or element < 0")
    if np.any(rows.sum(-1) <= 0):
        raise RuntimeError("multinomial: invalid multinomial distribution (sum of probabilities <= 0)")
    if not replacement and num_samples > (rows > 0).sum(-1).min():
        raise RuntimeError("multinomial: cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    g = rng(generator)
    out = np.stack([g.choice(r.size, size=num_samples, replace=replacement, p=r / r.sum()) for r in rows])
    out = out.reshape(w.shape[:-1] + (num_samples,)).astype(np.int64)
    return Tensor._make(move(out, input.device))


def rand_like(input: Tensor, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
              memory_format=None) -> Tensor:
    d, dev, order = _like(input, dtype, device, layout, memory_format, "rand_like")
    return _ordered(rand(input.shape, dtype=d, device=dev, requires_grad=requires_grad), order)


def randn_like(input: Tensor, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
              memory_format=None) -> Tensor:
    d, dev, order = _like(input, dtype, device, layout, memory_format, "randn_like")
    return _ordered(randn(input.shape, dtype=d, device=dev, requires_grad=requires_grad), order)


def randint_like(input: Tensor, low, high=None, *, dtype=None, layout=None, device=None,
                 requires_grad: bool = False, memory_format=None) -> Tensor:
    d, dev, order = _like(input, dtype, device, layout, memory_format, "randint_like")
    return _ordered(randint(low, high, input.shape, dtype=d, device=dev, requires_grad=requires_grad), order)


# ---- in-place random fills and new_* (Tensor methods) ---------------------------------
def _fill_random(self: Tensor, draw) -> Tensor:
    """Overwrite ``self`` with draws (float64 samples cast to its dtype): a constant, so the
    old value gets no gradient."""
    return overwrite(self, move(draw(self._data.shape), self.device).astype(self._data.dtype, copy=False))


def uniform_(self: Tensor, from_: float = 0.0, to: float = 1.0, *, generator=None) -> Tensor:
    return _fill_random(self, lambda s: rng(generator).uniform(from_, to, s))


def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    return _fill_random(self, lambda s: rng(generator).normal(mean, std, s))


def bernoulli_(self: Tensor, p: float = 0.5, *, generator=None) -> Tensor:
    return _fill_random(self, lambda s: rng(generator).random(s) < p)


def exponential_(self: Tensor, lambd: float = 1.0, *, generator=None) -> Tensor:
    return _fill_random(self, lambda s: rng(generator).exponential(1.0 / lambd, s))


def random_(self: Tensor, from_: int = 0, to: int | None = None, *, generator=None) -> Tensor:
    if to is None:
        from_, to = 0, (2 ** 24 if self.is_floating_point() else np.iinfo(self._data.dtype).max)
    return _fill_random(self, lambda s: rng(generator).integers(from_, to, s))


def new_tensor(self: Tensor, data, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return tensor(data, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)


def new_zeros(self: Tensor, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return zeros(*size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)


def new_ones(self: Tensor, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return ones(*size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)


def new_empty(self: Tensor, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return empty(*size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)


def new_full(self: Tensor, size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return full(size, fill_value, dtype=dtype or self.dtype, device=device or self.device,
                requires_grad=requires_grad)


def pin_memory(self: Tensor, device=None) -> Tensor:
    """A copy for fast transfers to the GPU. PyTorch pins (page-locks) it, which needs an
    accelerator; ember's host arrays are ordinary memory, so with one it is a plain copy."""
    if not _cuda.is_available():
        raise CudaUnavailableError("pin_memory(): Cannot access accelerator device when none is available.")
    if self.device != CPU:
        raise RuntimeError(f"pin_memory(): cannot pin a tensor on {self.device}: only dense CPU tensors "
                           "can be pinned")
    return self.clone()


def is_pinned(self: Tensor, device=None) -> bool:
    """False: ember never page-locks host memory."""
    if device is not None:
        warnings.warn("The argument 'device' of Tensor.is_pinned() is deprecated. Please do not pass this "
                      "argument.", DeprecationWarning, stacklevel=2)
    return False


TENSOR_METHODS = {f.__name__: f for f in (
    uniform_, normal_, bernoulli_, exponential_, random_, new_tensor, new_zeros, new_ones,
    new_empty, new_full, pin_memory, is_pinned)}
TENSOR_METHODS["layout"] = property(lambda self: strided, doc="ember.strided: tensors are dense arrays")
TENSOR_METHODS["bernoulli"] = bernoulli
TENSOR_METHODS["multinomial"] = multinomial
INPLACE: list = []


# ember.compile replays each creation as one op, also where ember's own code calls it
# directly rather than through the ember namespace.
for _name in __all__:
    globals()[_name] = replayable(globals()[_name])
