"""SpecAugment masks (torchaudio.functional.mask_along_axis / mask_along_axis_iid): one band of
consecutive frequency bins or time frames set to ``mask_value``, its width and start drawn
from ember's generator, so ``ember.manual_seed`` makes them reproducible."""
from __future__ import annotations

import ember
from ember import Tensor


def _band_limit(specgram: Tensor, mask_param: int, axis: int, p: float) -> int:
    """The widest band allowed along ``axis`` (frequency or time only), after checking the
    arguments as torchaudio does; with ``p < 1`` it is also capped at ``p`` times the axis length."""
    dim = specgram.dim()
    if axis not in (dim - 2, dim - 1):
        raise ValueError(f"Only Frequency and Time masking are supported "
                         f"(axis {dim - 2} and axis {dim - 1} supported; {axis} given).")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"The value of p must be between 0.0 and 1.0 ({p} given).")
    return mask_param if p == 1.0 else min(mask_param, int(specgram.shape[axis] * p))


def mask_along_axis(specgram: Tensor, mask_param: int, mask_value: float, axis: int, p: float = 1.0) -> Tensor:
    """One band ``[start, start + width)`` along ``axis`` (frequency: dim - 2, time: dim - 1) of
    every spectrogram in the batch, with ``width ~ U[0, mask_param)`` and
    ``start ~ U[0, size - width)``, both truncated to integers."""
    dim = specgram.dim()
    if dim < 2:
        raise ValueError(f"Spectrogram must have at least two dimensions (time and frequency). "
                         f"Input has {dim} dimensions.")
    mask_param = _band_limit(specgram, mask_param, axis, p)
    if mask_param < 1:
        return specgram
    size = specgram.shape[axis]
    value = ember.rand(1) * mask_param
    min_value = ember.rand(1) * (size - value)
    start = int(min_value.long().item())
    end = start + int(value.long().item())
    mask = ember.arange(size, device=specgram.device)
    mask = (mask >= start) & (mask < end)
    if axis == dim - 2:
        mask = mask.unsqueeze(-1)
    return specgram.masked_fill(mask, mask_value)


def mask_along_axis_iid(specgrams: Tensor, mask_param: int, mask_value: float, axis: int, p: float = 1.0) -> Tensor:
    """As mask_along_axis, with an independent band for every example and channel of a
    ``(..., freq, time)`` batch (at least three dims)."""
    dim = specgrams.dim()
    if dim < 3:
        raise ValueError(f"Spectrogram must have at least three dimensions ({dim} given).")
    mask_param = _band_limit(specgrams, mask_param, axis, p)
    if mask_param < 1:
        return specgrams
    batch = tuple(specgrams.shape[:dim - 2])
    value = ember.rand(batch, device=specgrams.device) * mask_param
    min_value = ember.rand(batch, device=specgrams.device) * (specgrams.shape[axis] - value)
    start = min_value.long()[..., None, None]
    end = (min_value.long() + value.long())[..., None, None]
    positions = ember.arange(specgrams.shape[axis], device=specgrams.device)
    moved = specgrams.transpose(axis, -1)
    moved = moved.masked_fill((positions >= start) & (positions < end), mask_value)
    return moved.transpose(axis, -1)
