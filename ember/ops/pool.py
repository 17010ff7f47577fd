"""Pooling over 1-3 spatial dims: max, average, adaptive, power-average (LP) and max-unpooling,
with PyTorch's arguments, defaults and checks. The windows and their primitives (MaxPool,
WindowGather, WindowScatter) are in ``window.py``."""
from __future__ import annotations

import math

import numpy as np

from .._layout import suggest_format
from .._tensor import Tensor
from ..backend import dtypes
from .creation import zeros
from .indexing import where
from .linalg import matmul
from .math import tie_grad
from .window import MaxPool, WindowGather, adaptive, adaptive_bounds, avg_divisor, out_len, regular

__all__ = ["max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices", "max_pool2d_with_indices",
           "max_pool3d_with_indices", "avg_pool1d", "avg_pool2d", "avg_pool3d", "adaptive_max_pool1d",
           "adaptive_max_pool2d", "adaptive_max_pool3d", "adaptive_max_pool1d_with_indices",
           "adaptive_max_pool2d_with_indices", "adaptive_max_pool3d_with_indices", "adaptive_avg_pool1d",
           "adaptive_avg_pool2d", "adaptive_avg_pool3d", "lp_pool1d", "lp_pool2d", "lp_pool3d",
           "max_unpool1d", "max_unpool2d", "max_unpool3d"]

_COUNT = {1: "one int", 2: "two ints", 3: "three ints"}


# ---- argument checks -----------------------------------------------------------------------
def _ints(op: str, name: str, value, n: int) -> tuple:
    """An int or a sequence of 1 or ``n`` ints as an ``n``-tuple."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value),) * n
    if isinstance(value, (tuple, list)) and len(value) in (1, n) and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
        return tuple(int(v) for v in value) * (n if len(value) == 1 else 1)
    raise RuntimeError(f"{op}: {name} must either be a single int, or a tuple of {_COUNT[n]}, but got {value!r}")


def _check_input(op: str, input, n: int, floating: bool = False) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")
    shape = input._data.shape
    if len(shape) not in (n + 1, n + 2) or 0 in shape[-n - 1:]:
        raise RuntimeError(
            f"{op}: Expected {n + 1}D or {n + 2}D (batch mode) tensor with optional 0 dim batch size for "
            f"input, but got: {list(shape)}")
    if input._data.dtype == np.bool_ or (floating and not dtypes.is_floating_array(input._data.dtype)):
        raise NotImplementedError(f'"{op}" not implemented for {input.dtype}: convert the input with .float()')


def _window_args(op: str, n: int, input: Tensor, kernel_size, stride, padding, dilation, ceil_mode: bool):
    """Kernel, stride, padding, dilation as n-tuples, checked as PyTorch checks them."""
    k = _ints(op, "kernel_size", kernel_size, n)
    default = stride is None or (isinstance(stride, (tuple, list)) and not stride)
    s = k if default else _ints(op, "stride", stride, n)
    p, d = _ints(op, "padding", padding, n), _ints(op, "dilation", dilation, n)
    for name, v in (("kernel_size", k), ("stride", s), ("dilation", d)):
        if min(v) <= 0:
            raise RuntimeError(f"{op}: {name} should be greater than zero, but got {name}={v}")
    if min(p) < 0:
        raise RuntimeError(f"{op}: pad must be non-negative, but got pad={p}")
    if any(pi > ((ki - 1) * di + 1) // 2 for pi, ki, di in zip(p, k, d)):
        raise RuntimeError(f"{op}: pad should be at most half of effective kernel size, but got pad={p}, "
                           f"kernel_size={k} and dilation={d}")
    if any(pi > ki // 2 for pi, ki in zip(p, k)):  # PyTorch also bounds it by the undilated kernel
        raise RuntimeError(f"{op}: pad should be smaller than or equal to half of kernel size, but got pad={p} "
                           f"and kernel_size={k}")
    size = input._data.shape[-n:]
    out = tuple(out_len(*a, ceil_mode) for a in zip(size, k, s, p, d))
    if min(out) < 1:
        lead = input._data.shape[-n - 1:-n]
        raise RuntimeError(
            f"{op}: Given input size: ({'x'.join(map(str, lead + size))}). Calculated output size: "
            f"({'x'.join(map(str, lead + out))}). Output size is too small (input shape "
            f"{list(input.shape)}, kernel_size={k}, stride={s}, padding={p}, dilation={d}): use a smaller "
            "kernel or stride, or a larger input")
    return k, s, p, d


def _output_size(op: str, n: int, input: Tensor, output_size) -> tuple:
    """An adaptive pool's output size; None entries keep the input's size."""
    size = input._data.shape[-n:]
    if isinstance(output_size, (int, np.integer)) or output_size is None:
        output_size = (output_size,) * n
    output_size = tuple(output_size)
    if len(output_size) != n:
        raise RuntimeError(f"{op}: output_size must be {n}, but got {len(output_size)} sizes {output_size}")
    out = tuple(int(s if o is None else o) for o, s in zip(output_size, size))
    if min(out) < 0:
        raise RuntimeError(f"{op}: elements of output_size must be greater than or equal to 0 but got {out}")
    return out


# ---- max pooling ---------------------------------------------------------------------------
def _max_pool(op, n, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    _check_input(op, input, n)
    k, s, p, d = _window_args(op, n, input, kernel_size, stride, padding, dilation, ceil_mode)
    win = regular(tuple(input._data.shape[-n:]), k, s, p, d, bool(ceil_mode))
    if win.hollow:
        raise RuntimeError(f"{op}: some windows hold no input element, only padding (input shape "
                           f"{list(input.shape)}, kernel_size={k}, padding={p}, dilation={d}): use less "
                           "padding or dilation")
    return MaxPool.node(f"MaxPool{max(n, 2)}DWithIndicesBackward0").apply(input, win, bool(return_indices))


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """Max over sliding windows of an input (N, C, L) or (C, L); padding counts as -inf.

    Args:
        kernel_size, stride (default: kernel_size), padding, dilation: the windows.
        ceil_mode: round the output size up (windows may overhang the padded input).
        return_indices: also return each maximum's position along L (for max_unpool1d).
    """
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """Max over sliding windows of an input (N, C, H, W) or (C, H, W); padding counts as -inf.

    Args:
        kernel_size, stride (default: kernel_size), padding, dilation: ints or (h, w) pairs.
        ceil_mode: round the output size up (windows may overhang the padded input).
        return_indices: also return each maximum's flat position in its H x W plane.
    """
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """Max over sliding windows of an input (N, C, D, H, W) or (C, D, H, W); see max_pool2d."""
    return _max_pool("max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool1d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False) -> tuple[Tensor, Tensor]:
    """max_pool1d returning (values, indices)."""
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False) -> tuple[Tensor, Tensor]:
    """max_pool2d returning (values, indices)."""
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False) -> tuple[Tensor, Tensor]:
    """max_pool3d returning (values, indices)."""
    return _max_pool("max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode, True)


# ---- average pooling -----------------------------------------------------------------------
def _avg_pool(op, n, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    _check_input(op, input, n)
    k, s, p, _ = _window_args(op, n, input, kernel_size, stride, padding, 1, ceil_mode)
    size = tuple(input._data.shape[-n:])
    if divisor_override is not None:
        if divisor_override == 0:
            raise RuntimeError(f"{op}: divisor must be not zero (divisor_override=0)")
        div = divisor_override
    else:
        div = avg_divisor(size, k, s, p, bool(ceil_mode), bool(count_include_pad))
    win = regular(size, k, s, p, (1,) * n, bool(ceil_mode))
    return WindowGather.node(f"AvgPool{max(n, 2)}DBackward0").apply(input, win, None, div)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """Mean over sliding windows of an input (N, C, L) or (C, L).

    Args:
        kernel_size, stride (default: kernel_size), padding (zeros): the windows.
        ceil_mode: round the output size up.
        count_include_pad: count the zero padding in each window's divisor.
    """
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Mean over sliding windows of an input (N, C, H, W) or (C, H, W).

    Args:
        kernel_size, stride (default: kernel_size), padding (zeros): ints or (h, w) pairs.
        ceil_mode: round the output size up.
        count_include_pad: count the zero padding in each window's divisor.
        divisor_override: divide every window's sum by this number instead.
    """
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def avg_pool3d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Mean over sliding windows of an input (N, C, D, H, W) or (C, D, H, W); see avg_pool2d."""
    return _avg_pool("avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


# ---- adaptive pooling ----------------------------------------------------------------------
def _even_windows(size: tuple, out: tuple):
    """Adaptive windows that tile the input evenly are a regular kernel's (kernel = stride),
    and the fast ones; None when they do not."""
    if 0 in out or any(s % o for s, o in zip(size, out)):
        return None
    k = tuple(s // o for s, o in zip(size, out))
    return regular(size, k, k, (0,) * len(k), (1,) * len(k), False)


def _adaptive_max(op, n, input, output_size, return_indices):
    _check_input(op, input, n)
    out = _output_size(op, n, input, output_size)
    size = tuple(input._data.shape[-n:])
    win = _even_windows(size, out) or adaptive(size, out)
    return MaxPool.node(f"AdaptiveMaxPool{max(n, 2)}DBackward0").apply(input, win, bool(return_indices))


def adaptive_max_pool1d(input: Tensor, output_size,
                        return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """Max over ``output_size`` windows that tile an input (N, C, L) or (C, L)."""
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(input: Tensor, output_size,
                        return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """Max over windows that tile an input (N, C, H, W) or (C, H, W) into ``output_size``
    (an int or an (h, w) pair; None keeps the input's size)."""
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool3d(input: Tensor, output_size,
                        return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """Max over windows that tile an input (N, C, D, H, W) or (C, D, H, W) into ``output_size``."""
    return _adaptive_max("adaptive_max_pool3d", 3, input, output_size, return_indices)


def adaptive_max_pool1d_with_indices(input: Tensor, output_size) -> tuple[Tensor, Tensor]:
    """adaptive_max_pool1d returning (values, indices)."""
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size, True)


def adaptive_max_pool2d_with_indices(input: Tensor, output_size) -> tuple[Tensor, Tensor]:
    """adaptive_max_pool2d returning (values, indices)."""
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, True)


def adaptive_max_pool3d_with_indices(input: Tensor, output_size) -> tuple[Tensor, Tensor]:
    """adaptive_max_pool3d returning (values, indices)."""
    return _adaptive_max("adaptive_max_pool3d", 3, input, output_size, True)


def _adaptive_avg(op, n, input, output_size):
    _check_input(op, input, n, floating=True)
    out = _output_size(op, n, input, output_size)
    size = tuple(input._data.shape[-n:])
    win = _even_windows(size, out)
    if win is not None:  # PyTorch's node names: a global average is a mean
        name = "MeanBackward1" if set(out) == {1} else f"AdaptiveAvgPool{max(n, 2)}DBackward0"
        return WindowGather.node(name).apply(input, win, None, math.prod(win.kernel))
    # Uneven windows: averaging along each dim is a product with a (size, out) matrix.
    x = tie_grad(input)
    for d, s, o in zip(range(-n, 0), size, out):
        start, end = adaptive_bounds(s, o)
        j = np.arange(s)[:, None]
        m = ((j >= start) & (j < end)) / (end - start)
        weight = Tensor._make(np.asarray(m.astype(input._data.dtype), like=input._data))
        x = matmul(x.movedim(d, -1), weight).movedim(-1, d)
    return x.contiguous(memory_format=suggest_format(input._data))  # the input's format, as PyTorch's


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """Mean over ``output_size`` windows that tile an input (N, C, L) or (C, L)."""
    return _adaptive_avg("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Mean over windows that tile an input (N, C, H, W) or (C, H, W) into ``output_size``
    (an int or an (h, w) pair; None keeps the input's size)."""
    return _adaptive_avg("adaptive_avg_pool2d", 2, input, output_size)


def adaptive_avg_pool3d(input: Tensor, output_size) -> Tensor:
    """Mean over windows that tile an input (N, C, D, H, W) or (C, D, H, W) into ``output_size``."""
    return _adaptive_avg("adaptive_avg_pool3d", 3, input, output_size)


# ---- power-average pooling ---------------------------------------------------------------
def _lp_pool(op, n, input, norm_type, kernel_size, stride, ceil_mode):
    _check_input(op, input, n, floating=True)
    if norm_type == math.inf:
        return _max_pool(op, n, input.abs(), kernel_size, stride, 0, 1, ceil_mode, False)
    if norm_type == -math.inf:
        return -_max_pool(op, n, -input.abs(), kernel_size, stride, 0, 1, ceil_mode, False)
    out = _avg_pool(op, n, input.pow(norm_type), kernel_size, stride, 0, ceil_mode, True, None)
    k = math.prod(_ints(op, "kernel_size", kernel_size, n))
    # A window whose sum of powers is 0 gets 0 and a zero gradient (not 0 * inf), as in PyTorch.
    nonzero = out != 0
    return where(nonzero, (where(nonzero, out, 1.0) * k).pow(1.0 / norm_type), 0.0)


def lp_pool1d(input: Tensor, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """(sum over each window of x ** p) ** (1 / p) of an input (N, C, L) or (C, L)."""
    return _lp_pool("lp_pool1d", 1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input: Tensor, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """(sum over each window of x ** p) ** (1 / p) of an input (N, C, H, W) or (C, H, W)."""
    return _lp_pool("lp_pool2d", 2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input: Tensor, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """(sum over each window of x ** p) ** (1 / p) of an input (N, C, D, H, W) or (C, D, H, W)."""
    return _lp_pool("lp_pool3d", 3, input, norm_type, kernel_size, stride, ceil_mode)


# ---- max unpooling -----------------------------------------------------------------------
def _max_unpool(op, n, input, indices, kernel_size, stride, padding, output_size):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input._data.ndim not in (n + 1, n + 2):
        raise RuntimeError(f"{op}: Input to max_unpooling{n}d should be a {n + 1}d or {n + 2}d Tensor, but got "
                           f"a tensor with {input._data.ndim} dimensions.")
    if not isinstance(indices, Tensor) or indices._data.dtype != np.int64:
        got = indices.dtype if isinstance(indices, Tensor) else type(indices).__name__
        raise RuntimeError(f"{op}: elements in indices should be type int64 but got: {got}")
    if indices._data.shape != input._data.shape:
        raise RuntimeError(f"{op}: Expected shape of indices to be same as that of the input tensor "
                           f"({list(input.shape)}) but got indices tensor with shape: {list(indices.shape)}")
    k = _ints(op, "kernel_size", kernel_size, n)
    s = k if stride is None else _ints(op, "stride", stride, n)
    p = _ints(op, "padding", padding, n)
    size = input._data.shape[-n:]
    default = tuple((i - 1) * si + ki - 2 * pi for i, ki, si, pi in zip(size, k, s, p))
    if output_size is None:
        out = default
    else:
        out = tuple(int(o) for o in output_size)
        if len(out) == n + 2:
            out = out[2:]
        if len(out) != n:
            raise ValueError(f"{op}: output_size should be a sequence containing {n} or {n + 2} elements, but it "
                             f"has a length of '{len(out)}'")
        for d, (o, f, si) in enumerate(zip(out, default, s)):
            if not f - si < o < f + si:
                raise ValueError(f'{op}: invalid output_size "{output_size}" (dim {d} must be between '
                                 f"{f - si} and {f + si})")
    if min(out) < 0:
        raise ValueError(f"{op}: output_size must contain non-negative spatial dimensions, but got {out}")
    plane = math.prod(out)
    idx = indices._data
    bad = (idx < 0) | (idx >= plane)
    if bad.any():
        raise RuntimeError(f"{op}: Found an invalid max index: {int(idx[bad].flat[0])} (output volumes are of "
                           f"size {'x'.join(map(str, out))})")
    lead = tuple(input.shape[:-n])
    flat = zeros(lead + (plane,), dtype=input.dtype, device=input.device)
    values = math.prod(size)
    return flat.scatter(-1, indices.reshape(lead + (values,)), input.reshape(lead + (values,))).reshape(lead + out)


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """The partial inverse of max_pool1d: each value put back at its index, zeros elsewhere."""
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """The partial inverse of max_pool2d: each value put back at its index (from
    ``return_indices=True``), zeros elsewhere.

    Args:
        output_size: the (h, w) (or (n, c, h, w)) to produce where the pooling's input size is
            ambiguous; by default (in - 1) * stride - 2 * padding + kernel_size.
    """
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """The partial inverse of max_pool3d; see max_unpool2d."""
    return _max_unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding, output_size)


TENSOR_METHODS: dict = {}
INPLACE: list = []
