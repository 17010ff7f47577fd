"""Padding: constant (a primitive) and reflect/replicate/circular (gathers along each dim)."""
from __future__ import annotations

import numpy as np

from .._layout import laid_out, memory_order, preserve_format
from .._tensor import Tensor
from ..autograd.function import Function
from ..backend import dtypes
from ..backend.device import xp_of

__all__ = ["constant_pad_nd"]

_MODES = ("constant", "reflect", "replicate", "circular")


def _pairs(pad: tuple, ndim: int) -> list:
    """Per-dim (before, after) amounts for all ``ndim`` dims; ``pad`` lists the last dim first."""
    pairs = [(0, 0)] * ndim
    for i in range(len(pad) // 2):
        pairs[ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return pairs


class ConstantPad(Function):
    """Negative amounts crop; the gradient is the same op with the amounts negated."""

    @staticmethod
    def forward(ctx, a, pad, value):
        ctx.pad = pad
        x = a._data
        pairs = _pairs(pad, x.ndim)
        x = x[tuple(slice(max(-lo, 0), x.shape[d] - max(-hi, 0)) for d, (lo, hi) in enumerate(pairs))]
        widths = [(max(lo, 0), max(hi, 0)) for lo, hi in pairs]
        if not any(lo or hi for lo, hi in widths):
            return x.copy(order="K")
        # in the input's memory order (channels-last stays so), as PyTorch's
        shape = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape, widths))
        out = laid_out(lambda s: xp_of(x).full(s, value, x.dtype), shape, memory_order(a._data, preserve_format))
        out[tuple(slice(lo, lo + n) for n, (lo, _) in zip(x.shape, widths))] = x
        return out

    @staticmethod
    def backward(ctx, grad):
        return ConstantPad.apply(grad, tuple(-p for p in ctx.pad), 0), None, None


def constant_pad_nd(input: Tensor, pad, value: float = 0) -> Tensor:
    """Pad with ``value`` (negative amounts crop); ``pad`` = (last_lo, last_hi, prev_lo, ...)."""
    pad = _check_pad(input, pad)
    if any(p > 0 for p in pad):  # the fill must fit the dtype, where there is one to write
        value = dtypes.checked_scalar(value, input.dtype, "pad")
    shape = input._data.shape
    for d, (lo, hi) in enumerate(_pairs(pad, len(shape))):
        if shape[d] + lo + hi < 0:
            raise RuntimeError(
                f"The input size {shape[d]}, plus negative padding {lo} and {hi} resulted in a negative "
                f"output size, which is invalid. Check dimension {d} of your input.")
    return ConstantPad.apply(input, pad, value)


def _check_pad(input: Tensor, pad) -> tuple:
    for i, p in enumerate(pad):
        if not isinstance(p, (int, np.integer)) or isinstance(p, bool):
            raise TypeError(f"pad(): argument 'pad' (position 2) must be tuple of ints, but found element "
                            f"of type {type(p).__name__} at pos {i}")
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) > 2 * input._data.ndim:
        raise RuntimeError(
            "Padding length should be less than or equal to two times the input dimension but got padding "
            f"length {len(pad)} and input of dimension {input._data.ndim}")
    return tuple(int(p) for p in pad)


def _source_index(size: int, lo: int, hi: int, mode: str) -> np.ndarray:
    """For each output position along one dim, the input position it copies.

    Negative amounts crop first; the padding then copies from the cropped range.
    """
    start = max(-lo, 0)
    m = size - start - max(-hi, 0)
    i = np.arange(-max(lo, 0), m + max(hi, 0))
    if mode == "reflect":
        i = np.abs(i)
        i = np.where(i >= m, 2 * (m - 1) - i, i)
    elif mode == "replicate":
        i = np.clip(i, 0, m - 1)
    else:
        i = i % m
    return i + start


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad ``input``'s last ``len(pad) // 2`` dims (``torch.nn.functional.pad``).

    Args:
        pad: (last_lo, last_hi, second_last_lo, second_last_hi, ...); negative amounts crop.
        mode: ``"constant"`` (any number of dims), or ``"reflect"``, ``"replicate"``,
            ``"circular"`` (the last 1, 2 or 3 dims of a (batched) 2-5 D input).
        value: the fill value of constant padding (0 when None).
    """
    if mode not in _MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if mode == "constant":
        return constant_pad_nd(input, pad, 0 if value is None else value)
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    pad = _check_pad(input, pad)
    shape = input._data.shape
    k = len(pad) // 2
    if k not in (1, 2, 3) or len(shape) not in (k + 1, k + 2):
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {len(shape)}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    batched = len(shape) == k + 2
    if mode != "circular" and 0 in shape[1 if batched else 0:]:
        raise RuntimeError(
            f"Expected {k + 1}D or {k + 2}D (batch mode) tensor with possibly 0 batch size and other non-zero "
            f"dimensions for input, but got: {list(shape)}")
    out = input
    for d, (lo, hi) in enumerate(_pairs(pad, len(shape))):
        if not (lo or hi):
            continue
        size = shape[d]
        if mode == "reflect" and (lo >= size or hi >= size):
            raise RuntimeError(
                f"Argument #4: Padding size should be less than the corresponding input dimension, but got: "
                f"padding ({lo}, {hi}) at dimension {d} of input {list(shape)}")
        if mode == "circular" and (lo > size or hi > size):
            raise RuntimeError("Padding value causes wrapping around more than once.")
        if size + lo + hi < (0 if mode == "circular" else 1):
            name = "DHW"[3 - k + d - (len(shape) - k)]
            raise RuntimeError(
                f"input ({name}: {size}) is too small. Calculated output {name}: {size + lo + hi} "
                f"(padding ({lo}, {hi}) at dimension {d} of input {list(shape)} in {mode} mode)")
        idx = Tensor._make(_source_index(size, lo, hi, mode))
        out = out[(slice(None),) * d + (idx,)]
    return out if out is not input else input.clone()


TENSOR_METHODS: dict = {}
INPLACE: list = []
