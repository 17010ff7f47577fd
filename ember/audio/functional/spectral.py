"""Spectrograms, mel filter banks, decibels and the DCT (torchaudio.functional's names and
formulas). The STFT is composed from ember ops (pad, a gather of frames, the window product,
one FFT), so every result here is differentiable with respect to the waveform."""
from __future__ import annotations

import math
import warnings

import numpy as np

import ember
from ember import Tensor
from ember.nn import functional as F


def _spec_norms(normalized) -> tuple[bool, bool]:
    """torchaudio's ``normalized``: True or "window" divides by the window's L2 norm;
    "frame_length" by sqrt(n_fft) (the STFT's own normalization)."""
    if normalized is True or normalized == "window":
        return False, True
    if normalized is False:
        return False, False
    if normalized == "frame_length":
        return True, False
    raise ValueError(f'spectrogram: normalized must be a bool, "window" or "frame_length", got {normalized!r}')


def _stft(x: Tensor, n_fft: int, hop_length: int, win_length: int, window: Tensor | None,
          center: bool, pad_mode: str, normalized: bool, onesided: bool) -> Tensor:
    """torch.stft(..., return_complex=True) of a (batch, time) signal: (batch, freq, frames)."""
    if not 0 < win_length <= n_fft:
        raise RuntimeError(f"stft: expected 0 < win_length <= n_fft, got win_length={win_length}, n_fft={n_fft}")
    if hop_length <= 0:
        raise RuntimeError(f"stft: expected hop_length > 0, got {hop_length}")
    if window is None:
        window = ember.ones(win_length, dtype=x.dtype if x.is_floating_point() else ember.get_default_dtype(),
                            device=x.device)
    if window.dim() != 1 or window.shape[0] != win_length:
        raise RuntimeError(f"stft: expected a 1-D window of win_length={win_length} values, "
                           f"got shape {tuple(window.shape)}")
    if win_length < n_fft:  # the window sits centered in the n_fft-long frame, zeros around it
        left = (n_fft - win_length) // 2
        window = F.pad(window, (left, n_fft - win_length - left))
    if center:
        x = F.pad(x.unsqueeze(1), (n_fft // 2, n_fft // 2), mode=pad_mode).squeeze(1)
    length = x.shape[-1]
    if length < n_fft:
        raise RuntimeError(f"stft: the signal ({length} samples after padding) is shorter than n_fft={n_fft}; "
                           f"use a smaller n_fft or center=True")
    n_frames = 1 + (length - n_fft) // hop_length
    index = hop_length * np.arange(n_frames)[:, None] + np.arange(n_fft)[None, :]
    frames = x[:, ember.tensor(index, device=x.device)] * window  # (batch, frames, n_fft)
    if onesided and not frames.is_complex():
        spec = ember.fft.rfft(frames, dim=-1)
    else:
        spec = ember.fft.fft(frames, dim=-1)
    if normalized:
        spec = spec * (n_fft ** -0.5)
    return spec.transpose(-1, -2)


def spectrogram(waveform: Tensor, pad: int, window: Tensor, n_fft: int, hop_length: int, win_length: int,
                power: float | None, normalized, center: bool = True, pad_mode: str = "reflect",
                onesided: bool = True, return_complex: bool | None = None) -> Tensor:
    """The (power) spectrogram of ``(..., time)``: ``(..., n_fft // 2 + 1, frames)`` when onesided.

    ``power=None`` returns the complex STFT; 1.0 its magnitude, 2.0 its power.
    """
    if return_complex is not None:
        warnings.warn("`return_complex` argument is now deprecated and is not effective. "
                      "spectrogram(power=None) always returns a complex tensor.", UserWarning, stacklevel=2)
    if pad > 0:
        waveform = F.pad(waveform, (pad, pad), "constant")
    frame_length_norm, window_norm = _spec_norms(normalized)
    shape = tuple(waveform.shape)
    spec = _stft(waveform.reshape(-1, shape[-1]), n_fft, hop_length, win_length, window, center,
                 pad_mode, frame_length_norm, onesided)
    spec = spec.reshape(shape[:-1] + tuple(spec.shape[-2:]))
    if window_norm:
        spec = spec / window.pow(2.0).sum().sqrt()
    if power is None:
        return spec
    if power == 1.0:
        return spec.abs()
    return spec.abs().pow(power)


# ---- mel scale ---------------------------------------------------------------------------


def _hz_to_mel(freq, mel_scale: str = "htk"):
    if mel_scale not in ("slaney", "htk"):
        raise ValueError('mel_scale should be one of "htk" or "slaney".')
    freq = np.asarray(freq, dtype=np.float64)
    if mel_scale == "htk":
        return 2595.0 * np.log10(1.0 + freq / 700.0)
    # Slaney: linear below 1 kHz, logarithmic above
    f_sp, min_log_hz, min_log_mel, logstep = 200.0 / 3, 1000.0, 15.0, math.log(6.4) / 27.0
    mels = freq / f_sp
    log_part = min_log_mel + np.log(np.maximum(freq, min_log_hz) / min_log_hz) / logstep
    return np.where(freq >= min_log_hz, log_part, mels)


def _mel_to_hz(mels, mel_scale: str = "htk"):
    if mel_scale not in ("slaney", "htk"):
        raise ValueError('mel_scale should be one of "htk" or "slaney".')
    mels = np.asarray(mels, dtype=np.float64)
    if mel_scale == "htk":
        return 700.0 * (10.0 ** (mels / 2595.0) - 1.0)
    f_sp, min_log_hz, min_log_mel, logstep = 200.0 / 3, 1000.0, 15.0, math.log(6.4) / 27.0
    freqs = f_sp * mels
    return np.where(mels >= min_log_mel, min_log_hz * np.exp(logstep * (mels - min_log_mel)), freqs)


def melscale_fbanks(n_freqs: int, f_min: float, f_max: float, n_mels: int, sample_rate: int,
                    norm: str | None = None, mel_scale: str = "htk") -> Tensor:
    """Triangular mel filters, ``(n_freqs, n_mels)``: ``spec.transpose(-1, -2) @ fb`` maps a
    linear-frequency spectrogram to mel bins. ``norm="slaney"`` scales each filter to unit area."""
    if norm is not None and norm != "slaney":
        raise ValueError('norm must be one of None or "slaney"')
    all_freqs = np.linspace(0, sample_rate // 2, n_freqs)
    m_pts = np.linspace(_hz_to_mel(f_min, mel_scale), _hz_to_mel(f_max, mel_scale), n_mels + 2)
    f_pts = _mel_to_hz(m_pts, mel_scale)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts[None, :] - all_freqs[:, None]  # (n_freqs, n_mels + 2)
    with np.errstate(divide="ignore", invalid="ignore"):  # f_min == f_max gives empty filters, as torchaudio's
        down = -slopes[:, :-2] / f_diff[:-1]
        up = slopes[:, 2:] / f_diff[1:]
        fb = np.maximum(0.0, np.minimum(down, up))
        if norm == "slaney":
            fb = fb * (2.0 / (f_pts[2:n_mels + 2] - f_pts[:n_mels]))[None, :]
    if (fb.max(axis=0) == 0.0).any():
        warnings.warn("At least one mel filterbank has all zero values. "
                      f"The value for `n_mels` ({n_mels}) may be set too high. "
                      f"Or, the value for `n_freqs` ({n_freqs}) may be set too low.")
    return ember.tensor(fb, dtype=ember.get_default_dtype())


# ---- decibels and the DCT ----------------------------------------------------------------


def amplitude_to_DB(x: Tensor, multiplier: float, amin: float, db_multiplier: float,
                    top_db: float | None = None) -> Tensor:
    """``multiplier * log10(max(x, amin)) - multiplier * db_multiplier``; with ``top_db``, values
    more than top_db below the maximum of each spectrogram (the last three dims) are raised to it."""
    x_db = multiplier * ember.log10(ember.clamp(x, min=amin))
    x_db = x_db - multiplier * db_multiplier
    if top_db is not None:
        shape = tuple(x_db.shape)
        packed_channels = shape[-3] if x_db.dim() > 2 else 1
        x_db = x_db.reshape(-1, packed_channels, shape[-2], shape[-1])
        floor = (x_db.amax(dim=(-3, -2, -1)) - top_db).view(-1, 1, 1, 1)
        x_db = ember.maximum(x_db, floor).reshape(shape)
    return x_db


def DB_to_amplitude(x: Tensor, ref: float, power: float) -> Tensor:
    """The inverse of amplitude_to_DB: ``ref * (10 ** (0.1 * x)) ** power``."""
    return ref * ember.pow(ember.pow(10.0, 0.1 * x), power)


def create_dct(n_mfcc: int, n_mels: int, norm: str | None) -> Tensor:
    """The DCT-II matrix, ``(n_mels, n_mfcc)``, applied as ``x @ dct`` along the mel axis;
    ``norm="ortho"`` makes it orthonormal, None scales by 2 (the unnormalized DCT-II)."""
    if norm is not None and norm != "ortho":
        raise ValueError('norm must be either "ortho" or None')
    n = np.arange(float(n_mels))
    k = np.arange(float(n_mfcc))[:, None]
    dct = np.cos(math.pi / float(n_mels) * (n + 0.5) * k)  # (n_mfcc, n_mels)
    if norm is None:
        dct *= 2.0
    else:
        dct[0] *= 1.0 / math.sqrt(2.0)
        dct *= math.sqrt(2.0 / float(n_mels))
    return ember.tensor(dct.T, dtype=ember.get_default_dtype())
