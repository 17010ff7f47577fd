"""The Hann window the spectral transforms default to (``torch.hann_window``'s values)."""
from __future__ import annotations

import numpy as np

import ember
from ember import Tensor


def hann_window(window_length: int, periodic: bool = True, *, dtype=None, device=None,
                requires_grad: bool = False) -> Tensor:
    """``0.5 - 0.5 cos(2 pi n / N)``: N = window_length for a periodic window (the one an STFT
    wants: consecutive frames overlap-add to a constant), window_length - 1 for a symmetric one."""
    if window_length < 0:
        raise RuntimeError(f"hann_window requires non-negative window_length, got window_length={window_length}")
    if window_length <= 1:
        values = np.ones(window_length)
    else:
        n = window_length if periodic else window_length - 1
        values = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(window_length) / n)
    out = ember.tensor(values, dtype=dtype if dtype is not None else ember.get_default_dtype(), device=device)
    return out.requires_grad_(requires_grad)
