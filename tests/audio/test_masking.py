"""SpecAugment masks: with a seed, the masked band is [start, start + width) where width and
start come from the generator's next uniform draws as torchaudio draws them; the rest is untouched."""
import numpy as np
import pytest

import ember
from ember.audio import functional as AF
from ember.audio import transforms as T


def _band(seed, mask_param, size, shape=(1,)):
    """The start and end the masks should pick after ember.manual_seed(seed)."""
    ember.manual_seed(seed)
    value = ember.rand(shape).numpy().astype(np.float64) * mask_param
    min_value = ember.rand(shape).numpy().astype(np.float64) * (size - value.astype(np.float32))
    start = np.floor(min_value.astype(np.float32)).astype(int)
    return start, start + np.floor(value.astype(np.float32)).astype(int)


@pytest.mark.parametrize("seed", range(6))
def test_time_masking_zeroes_one_band_of_frames(seed):
    spec = ember.rand(2, 8, 50) + 1.0  # nothing is 0 before masking
    start, end = _band(seed, 20, 50)
    ember.manual_seed(seed)
    out = T.TimeMasking(20)(spec).numpy()
    zero_cols = np.flatnonzero((out == 0).all(axis=(0, 1)))
    np.testing.assert_array_equal(zero_cols, np.arange(start[0], end[0]))
    keep = np.ones(50, bool)
    keep[start[0]:end[0]] = False
    np.testing.assert_array_equal(out[..., keep], spec.numpy()[..., keep])


@pytest.mark.parametrize("seed", range(4))
def test_frequency_masking_zeroes_one_band_of_bins(seed):
    spec = ember.rand(3, 40, 10) + 1.0
    start, end = _band(seed, 15, 40)
    ember.manual_seed(seed)
    out = T.FrequencyMasking(15)(spec, mask_value=-5.0).numpy()
    rows = np.flatnonzero((out == -5.0).all(axis=(0, 2)))
    np.testing.assert_array_equal(rows, np.arange(start[0], end[0]))
    assert (out != -5.0).sum() == spec.numel() - 3 * 10 * (end[0] - start[0])


def test_iid_masks_differ_per_example_and_channel():
    spec = ember.rand(4, 2, 16, 30) + 1.0
    start, end = _band(3, 12, 30, shape=(4, 2))
    ember.manual_seed(3)
    out = T.TimeMasking(12, iid_masks=True)(spec).numpy()
    for b in range(4):
        for c in range(2):
            cols = np.flatnonzero((out[b, c] == 0).all(axis=0))
            np.testing.assert_array_equal(cols, np.arange(start[b, c], end[b, c]))
    assert len({(s, e) for s, e in zip(start.ravel(), end.ravel())}) > 1


def test_p_caps_the_band_width():
    spec = ember.rand(1, 4, 20) + 1.0
    ember.manual_seed(0)
    out = T.TimeMasking(100, p=0.1)(spec).numpy()  # at most int(20 * 0.1) = 2 frames, so fewer than 2
    assert (out == 0).all(axis=(0, 1)).sum() < 2
    assert T.TimeMasking(100, p=0.01)(spec) is spec  # int(20 * 0.01) = 0: nothing to mask


def test_masking_errors():
    with pytest.raises(ValueError, match="at least two dimensions"):
        AF.mask_along_axis(ember.zeros(5), 2, 0.0, 0)
    with pytest.raises(ValueError, match=r"axis 1 and axis 2 supported; 0 given"):
        AF.mask_along_axis(ember.zeros(2, 3, 4), 2, 0.0, 0)
    with pytest.raises(ValueError, match="p must be between 0.0 and 1.0"):
        T.TimeMasking(3, p=1.5)
    with pytest.raises(ValueError, match="at least three dimensions"):
        T.TimeMasking(3, iid_masks=True)(ember.zeros(4, 5))
