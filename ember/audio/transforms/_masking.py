"""SpecAugment's FrequencyMasking and TimeMasking (torchaudio.transforms)."""
from __future__ import annotations

from ember import Tensor, nn

from ..functional.masking import mask_along_axis, mask_along_axis_iid


class _AxisMasking(nn.Module):
    """A band along ``axis`` of a ``(channel, freq, time)`` spectrogram (1: frequency, 2: time);
    leading batch dims shift it. ``iid_masks`` draws one band per example and channel."""

    def __init__(self, mask_param: int, axis: int, iid_masks: bool, p: float = 1.0):
        super().__init__()
        self.mask_param = mask_param
        self.axis = axis
        self.iid_masks = iid_masks
        self.p = p

    def forward(self, specgram: Tensor, mask_value: float = 0.0) -> Tensor:
        axis = self.axis + specgram.dim() - 3
        if self.iid_masks:
            return mask_along_axis_iid(specgram, self.mask_param, mask_value, axis, p=self.p)
        return mask_along_axis(specgram, self.mask_param, mask_value, axis, p=self.p)


class FrequencyMasking(_AxisMasking):
    """Masks ``[f0, f0 + f)`` frequency bins, ``f ~ U[0, freq_mask_param)``."""

    def __init__(self, freq_mask_param: int, iid_masks: bool = False):
        super().__init__(freq_mask_param, 1, iid_masks)


class TimeMasking(_AxisMasking):
    """Masks ``[t0, t0 + t)`` frames, ``t ~ U[0, time_mask_param)``, capped at ``p`` times the
    number of frames when ``p < 1``."""

    def __init__(self, time_mask_param: int, iid_masks: bool = False, p: float = 1.0):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"The value of p must be between 0.0 and 1.0 ({p} given).")
        super().__init__(time_mask_param, 2, iid_masks, p=p)
