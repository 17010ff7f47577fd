"""Spectrogram, MelScale, MelSpectrogram, MFCC and AmplitudeToDB (torchaudio.transforms' names,
defaults and buffers, so their state_dict keys are torchaudio's)."""
from __future__ import annotations

import math
import warnings
from typing import Callable

import ember
from ember import Tensor, nn

from .. import functional as AF
from .._window import hann_window


class Spectrogram(nn.Module):
    """The (power) spectrogram of ``(..., time)``: ``(..., n_fft // 2 + 1, frames)``.

    ``hop_length`` defaults to ``win_length // 2`` and ``win_length`` to ``n_fft``; the window
    (``window_fn(win_length, **wkwargs)``) is the buffer ``window``.
    """

    def __init__(self, n_fft: int = 400, win_length: int | None = None, hop_length: int | None = None,
                 pad: int = 0, window_fn: Callable[..., Tensor] = hann_window, power: float | None = 2.0,
                 normalized=False, wkwargs: dict | None = None, center: bool = True, pad_mode: str = "reflect",
                 onesided: bool = True, return_complex: bool | None = None):
        super().__init__()
        if return_complex is not None:
            warnings.warn("`return_complex` argument is now deprecated and is not effective. "
                          "`Spectrogram(power=None)` always returns a complex tensor.", UserWarning, stacklevel=2)
        self.n_fft = n_fft
        self.win_length = win_length if win_length is not None else n_fft
        self.hop_length = hop_length if hop_length is not None else self.win_length // 2
        window = window_fn(self.win_length) if wkwargs is None else window_fn(self.win_length, **wkwargs)
        self.register_buffer("window", window)
        self.pad = pad
        self.power = power
        self.normalized = normalized
        self.center = center
        self.pad_mode = pad_mode
        self.onesided = onesided

    def forward(self, waveform: Tensor) -> Tensor:
        return AF.spectrogram(waveform, self.pad, self.window, self.n_fft, self.hop_length, self.win_length,
                              self.power, self.normalized, self.center, self.pad_mode, self.onesided)


class MelScale(nn.Module):
    """A linear-frequency spectrogram ``(..., n_stft, time)`` to ``(..., n_mels, time)`` through
    the triangular filters in the buffer ``fb`` (``(n_stft, n_mels)``)."""

    def __init__(self, n_mels: int = 128, sample_rate: int = 16000, f_min: float = 0.0, f_max: float | None = None,
                 n_stft: int = 201, norm: str | None = None, mel_scale: str = "htk"):
        super().__init__()
        self.n_mels = n_mels
        self.sample_rate = sample_rate
        self.f_max = f_max if f_max is not None else float(sample_rate // 2)
        self.f_min = f_min
        self.norm = norm
        self.mel_scale = mel_scale
        if f_min > self.f_max:
            raise ValueError(f"Require f_min: {f_min} <= f_max: {self.f_max}")
        self.register_buffer("fb", AF.melscale_fbanks(n_stft, self.f_min, self.f_max, self.n_mels,
                                                      self.sample_rate, self.norm, self.mel_scale))

    def forward(self, specgram: Tensor) -> Tensor:
        return ember.matmul(specgram.transpose(-1, -2), self.fb).transpose(-1, -2)


class MelSpectrogram(nn.Module):
    """Spectrogram followed by MelScale: ``(..., time)`` to ``(..., n_mels, frames)``."""

    def __init__(self, sample_rate: int = 16000, n_fft: int = 400, win_length: int | None = None,
                 hop_length: int | None = None, f_min: float = 0.0, f_max: float | None = None, pad: int = 0,
                 n_mels: int = 128, window_fn: Callable[..., Tensor] = hann_window, power: float = 2.0,
                 normalized: bool = False, wkwargs: dict | None = None, center: bool = True,
                 pad_mode: str = "reflect", onesided: bool | None = None, norm: str | None = None,
                 mel_scale: str = "htk"):
        super().__init__()
        if onesided is not None:
            warnings.warn("Argument 'onesided' has been deprecated and has no influence on the behavior of this "
                          "module.", stacklevel=2)
        self.sample_rate = sample_rate
        self.n_fft = n_fft
        self.win_length = win_length if win_length is not None else n_fft
        self.hop_length = hop_length if hop_length is not None else self.win_length // 2
        self.pad = pad
        self.power = power
        self.normalized = normalized
        self.n_mels = n_mels
        self.f_max = f_max
        self.f_min = f_min
        self.spectrogram = Spectrogram(n_fft=self.n_fft, win_length=self.win_length, hop_length=self.hop_length,
                                       pad=self.pad, window_fn=window_fn, power=self.power,
                                       normalized=self.normalized, wkwargs=wkwargs, center=center,
                                       pad_mode=pad_mode, onesided=True)
        self.mel_scale = MelScale(self.n_mels, self.sample_rate, self.f_min, self.f_max, self.n_fft // 2 + 1,
                                  norm, mel_scale)

    def forward(self, waveform: Tensor) -> Tensor:
        return self.mel_scale(self.spectrogram(waveform))


class AmplitudeToDB(nn.Module):
    """A power (``stype="power"``: 10 log10) or magnitude (``"magnitude"``: 20 log10) spectrogram
    in decibels, floored at ``top_db`` below its maximum when given."""

    def __init__(self, stype: str = "power", top_db: float | None = None):
        super().__init__()
        if stype not in ("power", "magnitude"):
            raise ValueError(f'AmplitudeToDB: stype must be "power" or "magnitude", got {stype!r}')
        self.stype = stype
        if top_db is not None and top_db < 0:
            raise ValueError("top_db must be positive value")
        self.top_db = top_db
        self.multiplier = 10.0 if stype == "power" else 20.0
        self.amin = 1e-10
        self.ref_value = 1.0
        self.db_multiplier = math.log10(max(self.amin, self.ref_value))

    def forward(self, x: Tensor) -> Tensor:
        return AF.amplitude_to_DB(x, self.multiplier, self.amin, self.db_multiplier, self.top_db)


class MFCC(nn.Module):
    """Mel-frequency cepstral coefficients: the DCT-II (buffer ``dct_mat``) of the log mel
    spectrogram, ``(..., time)`` to ``(..., n_mfcc, frames)``. The log is decibels floored 80 dB
    below the maximum, or ``log(mel + 1e-6)`` with ``log_mels=True``."""

    def __init__(self, sample_rate: int = 16000, n_mfcc: int = 40, dct_type: int = 2, norm: str = "ortho",
                 log_mels: bool = False, melkwargs: dict | None = None):
        super().__init__()
        if dct_type != 2:
            raise ValueError(f"DCT type not supported: {dct_type}")
        self.sample_rate = sample_rate
        self.n_mfcc = n_mfcc
        self.dct_type = dct_type
        self.norm = norm
        self.top_db = 80.0
        self.amplitude_to_DB = AmplitudeToDB("power", self.top_db)
        self.MelSpectrogram = MelSpectrogram(sample_rate=self.sample_rate, **(melkwargs or {}))
        if self.n_mfcc > self.MelSpectrogram.n_mels:
            raise ValueError("Cannot select more MFCC coefficients than # mel bins")
        self.register_buffer("dct_mat", AF.create_dct(self.n_mfcc, self.MelSpectrogram.n_mels, self.norm))
        self.log_mels = log_mels

    def forward(self, waveform: Tensor) -> Tensor:
        mel = self.MelSpectrogram(waveform)
        if self.log_mels:
            mel = ember.log(mel + 1e-6)
        else:
            mel = self.amplitude_to_DB(mel)
        return ember.matmul(mel.transpose(-1, -2), self.dct_mat).transpose(-1, -2)
