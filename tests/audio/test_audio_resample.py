"""resample / Resample against the windowed-sinc sum written directly here (one output sample
at a time, not polyphase), and against scipy.signal.resample_poly on band-limited signals."""
import math

import numpy as np
import pytest
from scipy import signal

import ember
from ember.audio import functional as AF
from ember.audio import transforms as T
from ember.autograd import gradcheck


def _direct(x, orig, new, width=6, rolloff=0.99):
    """y[m] = sum_n x[n] h(n / orig - m / new): h a Hann-windowed sinc cut off at
    rolloff * min(orig, new) / 2 Hz, in units where the rates are orig and new per second."""
    g = math.gcd(orig, new)
    orig, new = orig // g, new // g
    base = min(orig, new) * rolloff
    n = np.arange(len(x))
    out = []
    for m in range(math.ceil(new * len(x) / orig)):
        t = np.clip((n / orig - m / new) * base, -width, width)
        h = np.sinc(t) * np.cos(np.pi * t / width / 2) ** 2 * base / orig
        out.append((x * h).sum())
    return np.array(out)


@pytest.mark.parametrize("orig,new", [(16000, 8000), (8000, 16000), (44100, 16000), (3, 5), (48000, 44100)])
def test_resample_is_the_windowed_sinc_sum(orig, new):
    x = np.random.default_rng(0).standard_normal(300)
    got = AF.resample(ember.tensor(x, dtype=ember.float64), orig, new).numpy()
    assert got.shape == (math.ceil(300 * new / orig),)
    np.testing.assert_allclose(got, _direct(x, orig, new), atol=1e-12)


@pytest.mark.parametrize("orig,new", [(16000, 8000), (8000, 16000), (44100, 16000)])
def test_a_sine_keeps_its_frequency(orig, new):
    f, n = 440.0, 4410
    x = np.sin(2 * np.pi * f * np.arange(n) / orig)
    got = AF.resample(ember.tensor(x, dtype=ember.float64), orig, new).numpy()
    assert len(got) == math.ceil(n * new / orig)
    want = np.sin(2 * np.pi * f * np.arange(len(got)) / new)
    inner = slice(50, len(got) - 50)  # away from the zero-padded edges
    np.testing.assert_allclose(got[inner], want[inner], atol=2e-3)
    g = math.gcd(orig, new)
    poly = signal.resample_poly(x, new // g, orig // g)
    np.testing.assert_allclose(got[inner], poly[inner], atol=2e-3)


def test_module_batches_and_matches_functional():
    x = ember.randn(2, 3, 1000)
    t = T.Resample(16000, 22050)
    got = t(x)
    assert tuple(got.shape) == (2, 3, math.ceil(1000 * 22050 / 16000)) and got.dtype == ember.float32
    np.testing.assert_allclose(got.numpy(), AF.resample(x, 16000, 22050).numpy(), atol=1e-6)
    assert "kernel" not in t.state_dict() and tuple(t.kernel.shape) == (441, 1, t.width * 2 + 320)
    same = ember.randn(5)
    assert T.Resample(8000, 8000)(same) is same and AF.resample(same, 8000, 8000) is same


def test_kaiser_window():
    x = np.random.default_rng(1).standard_normal(200)
    got = AF.resample(ember.tensor(x, dtype=ember.float64), 4, 3, resampling_method="sinc_interp_kaiser").numpy()
    base, width, beta = 3 * 0.99, 6, 14.769656459379492
    n = np.arange(200)
    want = []
    for m in range(150):
        t = np.clip((n / 4 - m / 3) * base, -width, width)
        want.append((x * np.sinc(t) * np.i0(beta * np.sqrt(1 - (t / width) ** 2)) / np.i0(beta) * base / 4).sum())
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_resample_gradient():
    x = ember.randn(2, 40, dtype=ember.float64, requires_grad=True)
    assert gradcheck(lambda w: AF.resample(w, 5, 3), (x,))


def test_resample_errors():
    with pytest.raises(ValueError, match="should be positive"):
        AF.resample(ember.zeros(4), 0, 8000)
    with pytest.raises(ValueError, match="Invalid resampling method: linear"):
        AF.resample(ember.zeros(4), 16000, 8000, resampling_method="linear")
    with pytest.raises(TypeError, match="Expected floating point type"):
        AF.resample(ember.zeros(4, dtype=ember.int64), 16000, 8000)
    with pytest.raises(Exception, match="Frequencies must be of integer type"):
        AF.resample(ember.zeros(4), 16000.5, 8000)
