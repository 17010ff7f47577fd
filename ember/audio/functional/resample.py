"""Band-limited resampling (torchaudio.functional.resample): a windowed-sinc polyphase filter.

For orig/new reduced by their gcd, output sample j of each block of ``new`` outputs is a dot
product of the input with its own phase of the filter; all phases are one conv1d with
``new`` output channels and stride ``orig``, so the result is differentiable in the waveform.
"""
from __future__ import annotations

import math

import numpy as np

import ember
from ember import Tensor
from ember.nn import functional as F

_KAISER_BETA = 14.769656459379492  # torchaudio's default beta for sinc_interp_kaiser


def _sinc_resample_kernel(orig_freq: int, new_freq: int, gcd: int, lowpass_filter_width: int, rolloff: float,
                          resampling_method: str, beta: float | None, dtype) -> tuple[Tensor, int]:
    """The ``(new, 1, 2 * width + orig)`` filter bank and the half-width ``width`` in input samples."""
    if int(orig_freq) != orig_freq or int(new_freq) != new_freq:
        raise Exception("Frequencies must be of integer type to ensure quality resampling computation. "
                        "To work around this, manually convert both frequencies to integer values that maintain "
                        "their resampling rate ratio before passing them into the function. "
                        f"Got orig_freq={orig_freq}, new_freq={new_freq}.")
    if resampling_method not in ("sinc_interp_hann", "sinc_interp_kaiser"):
        raise ValueError(f"Invalid resampling method: {resampling_method}")
    if lowpass_filter_width <= 0:
        raise ValueError("Low pass filter width should be positive.")
    orig, new = int(orig_freq) // gcd, int(new_freq) // gcd
    # The cutoff sits just below the lower Nyquist frequency (rolloff), in units of the input rate.
    base_freq = min(orig, new) * rolloff
    width = math.ceil(lowpass_filter_width * orig / base_freq)
    idx = np.arange(-width, width + orig, dtype=np.float64)[None, None] / orig
    t = np.arange(0, -new, -1, dtype=np.float64)[:, None, None] / new + idx
    t = np.clip(t * base_freq, -lowpass_filter_width, lowpass_filter_width)
    if resampling_method == "sinc_interp_hann":
        window = np.cos(t * math.pi / lowpass_filter_width / 2) ** 2
    else:
        beta = _KAISER_BETA if beta is None else float(beta)
        window = np.i0(beta * np.sqrt(1 - (t / lowpass_filter_width) ** 2)) / np.i0(beta)
    t = t * math.pi
    with np.errstate(invalid="ignore", divide="ignore"):
        kernels = np.where(t == 0, 1.0, np.sin(t) / t)
    kernels = kernels * window * (base_freq / orig)
    return ember.tensor(kernels, dtype=dtype if dtype is not None else ember.get_default_dtype()), width


def _apply_sinc_resample_kernel(waveform: Tensor, orig_freq: int, new_freq: int, gcd: int,
                                kernel: Tensor, width: int) -> Tensor:
    if not waveform.is_floating_point():
        raise TypeError(f"Expected floating point type for waveform tensor, but received {waveform.dtype}.")
    orig, new = int(orig_freq) // gcd, int(new_freq) // gcd
    shape = tuple(waveform.shape)
    waveform = waveform.reshape(-1, shape[-1])
    num_wavs, length = waveform.shape
    padded = F.pad(waveform, (width, width + orig))
    out = F.conv1d(padded[:, None], kernel.to(device=waveform.device, dtype=waveform.dtype), stride=orig)
    out = out.transpose(1, 2).reshape(num_wavs, -1)  # (wav, block, phase) -> samples in time order
    target_length = math.ceil(new * length / orig)
    return out[..., :target_length].reshape(shape[:-1] + (-1,))


def resample(waveform: Tensor, orig_freq: int, new_freq: int, lowpass_filter_width: int = 6,
             rolloff: float = 0.99, resampling_method: str = "sinc_interp_hann", beta: float | None = None) -> Tensor:
    """``(..., time)`` sampled at ``orig_freq`` to ``(..., ceil(time * new_freq / orig_freq))`` at
    ``new_freq``, low-pass filtered below ``rolloff`` times the lower Nyquist frequency."""
    if orig_freq <= 0.0 or new_freq <= 0.0:
        raise ValueError(f"Original frequency and desired frequecy should be positive, "
                         f"got orig_freq={orig_freq}, new_freq={new_freq}")
    if orig_freq == new_freq:
        return waveform
    gcd = math.gcd(int(orig_freq), int(new_freq))
    kernel, width = _sinc_resample_kernel(orig_freq, new_freq, gcd, lowpass_filter_width, rolloff,
                                          resampling_method, beta, waveform.dtype)
    return _apply_sinc_resample_kernel(waveform, orig_freq, new_freq, gcd, kernel, width)
