"""Resample as a module: the filter bank is computed once, for the rates given at construction."""
from __future__ import annotations

import math

from ember import Tensor, nn

from ..functional.resample import _apply_sinc_resample_kernel, _sinc_resample_kernel


class Resample(nn.Module):
    """``(..., time)`` from ``orig_freq`` to ``new_freq`` (see ember.audio.functional.resample).
    The filter is the non-persistent buffer ``kernel``, made in ``dtype`` (the default float dtype
    when None) and cast to the waveform's dtype per call."""

    def __init__(self, orig_freq: int = 16000, new_freq: int = 16000, resampling_method: str = "sinc_interp_hann",
                 lowpass_filter_width: int = 6, rolloff: float = 0.99, beta: float | None = None, *, dtype=None):
        super().__init__()
        self.orig_freq = orig_freq
        self.new_freq = new_freq
        self.gcd = math.gcd(int(self.orig_freq), int(self.new_freq))
        self.resampling_method = resampling_method
        self.lowpass_filter_width = lowpass_filter_width
        self.rolloff = rolloff
        self.beta = beta
        if self.orig_freq != self.new_freq:
            kernel, self.width = _sinc_resample_kernel(self.orig_freq, self.new_freq, self.gcd,
                                                       self.lowpass_filter_width, self.rolloff,
                                                       self.resampling_method, beta, dtype)
            self.register_buffer("kernel", kernel, persistent=False)

    def forward(self, waveform: Tensor) -> Tensor:
        if self.orig_freq == self.new_freq:
            return waveform
        return _apply_sinc_resample_kernel(waveform, self.orig_freq, self.new_freq, self.gcd, self.kernel, self.width)
