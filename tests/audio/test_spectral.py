"""Spectrogram, mel filters, decibels, DCT and MFCC against formulas written here in NumPy
(and torch.stft for the STFT itself), and their gradients by finite differences."""
import math
import warnings

import numpy as np
import pytest
import torch

import ember
from ember import audio
from ember.audio import functional as AF
from ember.audio import transforms as T
from ember.autograd import gradcheck


@pytest.fixture
def float64():
    """Windows, filters and DCT made in float64, so results compare with NumPy to ~1e-10
    (the conftest restores float32 afterwards)."""
    ember.set_default_dtype(ember.float64)


def _np_hann(n):
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)


def _np_power_spec(x, n_fft, hop, win_length=None, power=2.0, center=True):
    """|FFT|^power of hand-framed, Hann-windowed frames, (freq, frames) of a 1-D signal."""
    win_length = win_length or n_fft
    window = np.zeros(n_fft)
    left = (n_fft - win_length) // 2
    window[left:left + win_length] = _np_hann(win_length)
    if center:
        x = np.pad(x, n_fft // 2, mode="reflect")
    n_frames = 1 + (len(x) - n_fft) // hop
    frames = np.stack([x[i * hop:i * hop + n_fft] * window for i in range(n_frames)])
    return (np.abs(np.fft.rfft(frames, axis=-1)) ** power).T


def _htk_fbanks(n_freqs, f_min, f_max, n_mels, sr):
    """HTK mel filters: triangles between mel-spaced points, peak 1 at the centre."""
    mel = lambda f: 2595 * np.log10(1 + f / 700)  # noqa: E731
    hz = lambda m: 700 * (10 ** (m / 2595) - 1)  # noqa: E731
    pts = hz(np.linspace(mel(f_min), mel(f_max), n_mels + 2))
    freqs = np.linspace(0, sr // 2, n_freqs)
    fb = np.zeros((n_freqs, n_mels))
    for m in range(n_mels):
        lo, c, hi = pts[m], pts[m + 1], pts[m + 2]
        for i, f in enumerate(freqs):
            if lo <= f <= c:
                fb[i, m] = (f - lo) / (c - lo)
            elif c < f <= hi:
                fb[i, m] = (hi - f) / (hi - c)
    return fb


def _dct2_ortho(n_mfcc, n_mels):
    """Orthonormal DCT-II as the sum its definition writes, (n_mfcc, n_mels)."""
    k, n = np.arange(n_mfcc)[:, None], np.arange(n_mels)[None, :]
    scale = np.where(k == 0, np.sqrt(1 / n_mels), np.sqrt(2 / n_mels))
    return scale * np.cos(np.pi * k * (2 * n + 1) / (2 * n_mels))


@pytest.mark.parametrize("n_fft,hop,win_length,center", [(64, 16, None, True), (400, 200, None, True),
                                                          (32, 7, 20, True), (50, 10, None, False)])
def test_spectrogram_is_the_framed_fft(n_fft, hop, win_length, center, float64):
    x = np.random.default_rng(0).standard_normal((2, 3, 1000))
    t = T.Spectrogram(n_fft=n_fft, hop_length=hop, win_length=win_length, center=center)
    got = t(ember.tensor(x, dtype=ember.float64)).numpy()
    want = np.stack([[_np_power_spec(s, n_fft, hop, win_length, center=center) for s in row] for row in x])
    assert got.shape == want.shape == (2, 3, n_fft // 2 + 1, want.shape[-1])
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("pad_mode", ["reflect", "constant", "replicate", "circular"])
@pytest.mark.parametrize("normalized,onesided", [(False, True), (True, True), ("frame_length", False)])
def test_spectrogram_matches_torch_stft(pad_mode, normalized, onesided):
    x = np.random.default_rng(1).standard_normal((3, 500)).astype(np.float32)
    n_fft, hop, win = 128, 32, 100
    got = AF.spectrogram(ember.tensor(x), 0, audio.hann_window(win), n_fft, hop, win, None, normalized,
                         pad_mode=pad_mode, onesided=onesided)
    want = torch.stft(torch.tensor(x), n_fft, hop, win, torch.hann_window(win), center=True, pad_mode=pad_mode,
                      normalized=normalized == "frame_length", onesided=onesided, return_complex=True)
    if normalized is True:
        want = want / torch.hann_window(win).pow(2).sum().sqrt()
    assert got.dtype == ember.complex64 and tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4, atol=1e-4)


def test_spectrogram_defaults_and_magnitude():
    x = np.random.default_rng(2).standard_normal(1600).astype(np.float32)
    t = T.Spectrogram()
    assert (t.n_fft, t.win_length, t.hop_length, t.power, t.center, t.pad_mode) == (400, 400, 200, 2.0, True, "reflect")
    np.testing.assert_allclose(t.window.numpy(), torch.hann_window(400).numpy(), atol=1e-6)  # torch rounds in float32
    mag = T.Spectrogram(power=1.0, pad=5)(ember.tensor(x)).numpy()
    want = _np_power_spec(np.pad(x.astype(np.float64), 5), 400, 200, power=1.0)
    np.testing.assert_allclose(mag, want, rtol=1e-4, atol=1e-3)


def test_a_pure_tone_peaks_at_its_bin(float64):
    sr, n_fft, k = 8000, 256, 20
    f = k * sr / n_fft
    x = np.sin(2 * np.pi * f * np.arange(4000) / sr)
    spec = T.Spectrogram(n_fft=n_fft, hop_length=64)(ember.tensor(x, dtype=ember.float64)).numpy()
    assert (spec[:, 3:-3].argmax(axis=0) == k).all()


def test_melscale_fbanks_is_the_htk_triangles():
    fb = AF.melscale_fbanks(201, 0.0, 8000.0, 40, 16000)
    assert fb.dtype == ember.float32 and tuple(fb.shape) == (201, 40)
    np.testing.assert_allclose(fb.numpy(), _htk_fbanks(201, 0.0, 8000.0, 40, 16000), atol=1e-6)
    fb2 = AF.melscale_fbanks(129, 300.0, 3400.0, 20, 8000)
    np.testing.assert_allclose(fb2.numpy(), _htk_fbanks(129, 300.0, 3400.0, 20, 8000), atol=1e-6)


def test_slaney_filters_have_unit_area_scaling():
    """Slaney's scale is linear below 1 kHz (200/3 Hz per mel) and log above; norm="slaney"
    scales each triangle by 2 / (its width in Hz)."""
    mel = lambda f: np.where(f < 1000, f / (200 / 3), 15 + np.log(np.maximum(f, 1e-9) / 1000) / (np.log(6.4) / 27))  # noqa: E731
    fb = AF.melscale_fbanks(257, 0.0, 8000.0, 30, 16000, norm="slaney", mel_scale="slaney").numpy()
    m_pts = np.linspace(0, mel(np.array(8000.0)), 32)
    hz = np.where(m_pts < 15, m_pts * 200 / 3, 1000 * np.exp((m_pts - 15) * np.log(6.4) / 27))
    freqs = np.linspace(0, 8000, 257)
    for m in range(30):
        lo, c, hi = hz[m], hz[m + 1], hz[m + 2]
        tri = np.clip(np.minimum((freqs - lo) / (c - lo), (hi - freqs) / (hi - c)), 0, None)
        np.testing.assert_allclose(fb[:, m], tri * 2 / (hi - lo), rtol=1e-4, atol=1e-8)


def test_melscale_fbanks_refuses_unknown_scales():
    with pytest.raises(ValueError, match='"htk" or "slaney"'):
        AF.melscale_fbanks(10, 0.0, 100.0, 4, 200, mel_scale="bark")
    with pytest.raises(ValueError, match='None or "slaney"'):
        AF.melscale_fbanks(10, 0.0, 100.0, 4, 200, norm="area")


def test_mel_spectrogram_is_filters_times_power_spectrum(float64):
    x = np.random.default_rng(3).standard_normal((2, 2000))
    t = T.MelSpectrogram(sample_rate=8000, n_fft=256, hop_length=80, n_mels=32)
    got = t(ember.tensor(x, dtype=ember.float64)).numpy()
    fb = _htk_fbanks(129, 0.0, 4000.0, 32, 8000)
    want = np.stack([fb.T @ _np_power_spec(s, 256, 80) for s in x])
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert list(t.state_dict()) == ["spectrogram.window", "mel_scale.fb"]


def test_amplitude_to_db_and_top_db():
    x = np.abs(np.random.default_rng(4).standard_normal((2, 3, 5, 7))) ** 3
    x[0, 1, 2, 3] = 0.0
    got = T.AmplitudeToDB()(ember.tensor(x)).numpy()
    np.testing.assert_allclose(got, 10 * np.log10(np.maximum(x, 1e-10)), rtol=1e-6)
    got = T.AmplitudeToDB(stype="magnitude", top_db=30.0)(ember.tensor(x)).numpy()
    db = 20 * np.log10(np.maximum(x, 1e-10))
    floor = db.reshape(2, -1).max(axis=1)[:, None, None, None] - 30.0  # per item, over channel, freq, time
    np.testing.assert_allclose(got, np.maximum(db, floor), rtol=1e-6)
    with pytest.raises(ValueError, match="top_db must be positive"):
        T.AmplitudeToDB(top_db=-1.0)
    amp = AF.DB_to_amplitude(ember.tensor(got), 1.0, 0.5).numpy()
    np.testing.assert_allclose(amp, 10 ** (0.05 * got), rtol=1e-5)


def test_create_dct_is_the_orthonormal_dct_ii():
    d = AF.create_dct(13, 40, "ortho").numpy()
    np.testing.assert_allclose(d, _dct2_ortho(13, 40).T, atol=1e-7)
    np.testing.assert_allclose(d.T @ d, np.eye(13), atol=1e-6)
    k, n = np.arange(5)[:, None], np.arange(8)[None, :]
    np.testing.assert_allclose(AF.create_dct(5, 8, None).numpy(), (2 * np.cos(np.pi * k * (2 * n + 1) / 16)).T,
                               atol=1e-6)
    with pytest.raises(ValueError, match='"ortho" or None'):
        AF.create_dct(5, 8, "forward")


@pytest.mark.parametrize("log_mels", [False, True])
def test_mfcc_is_the_dct_of_the_log_mel(log_mels, float64):
    x = np.random.default_rng(5).standard_normal((1, 4000))
    melkwargs = {"n_fft": 256, "hop_length": 128, "n_mels": 23}
    t = T.MFCC(sample_rate=8000, n_mfcc=13, log_mels=log_mels, melkwargs=melkwargs)
    got = t(ember.tensor(x, dtype=ember.float64)).numpy()
    mel = _htk_fbanks(129, 0.0, 4000.0, 23, 8000).T @ _np_power_spec(x[0], 256, 128)
    if log_mels:
        logmel = np.log(mel + 1e-6)
    else:
        logmel = 10 * np.log10(np.maximum(mel, 1e-10))
        logmel = np.maximum(logmel, logmel.max() - 80.0)
    np.testing.assert_allclose(got[0], _dct2_ortho(13, 23) @ logmel, rtol=1e-6, atol=1e-6)
    assert list(t.state_dict()) == ["dct_mat", "MelSpectrogram.spectrogram.window", "MelSpectrogram.mel_scale.fb"]


def test_mfcc_defaults_and_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 128 mel filters over 201 bins leave some empty, as torchaudio warns
        t = T.MFCC()
    assert (t.n_mfcc, t.MelSpectrogram.n_mels, t.MelSpectrogram.n_fft, t.top_db) == (40, 128, 400, 80.0)
    assert tuple(t(ember.zeros(2, 1600) + 0.1).shape) == (2, 40, 9)
    with pytest.raises(ValueError, match="DCT type not supported: 3"):
        T.MFCC(dct_type=3)
    with pytest.raises(ValueError, match="more MFCC coefficients than # mel bins"):
        T.MFCC(n_mfcc=30, melkwargs={"n_mels": 20})


def _signal(n=96):
    ember.manual_seed(7)
    return ember.randn(2, n, dtype=ember.float64, requires_grad=True)


def test_spectrogram_gradients(float64):
    window = audio.hann_window(32, dtype=ember.float64)
    assert gradcheck(lambda x: AF.spectrogram(x, 0, window, 32, 8, 32, 2.0, False), (_signal(),))
    assert gradcheck(lambda x: AF.spectrogram(x, 3, window, 32, 8, 32, 1.0, True, pad_mode="constant"),
                     (_signal(),))


def test_mel_and_mfcc_gradients(float64):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mel = T.MelSpectrogram(sample_rate=4000, n_fft=32, hop_length=8, n_mels=6)
        mfcc = T.MFCC(sample_rate=4000, n_mfcc=4, log_mels=True,
                      melkwargs={"n_fft": 32, "hop_length": 8, "n_mels": 6})
        db = T.MFCC(sample_rate=4000, n_mfcc=4, melkwargs={"n_fft": 32, "hop_length": 8, "n_mels": 6})
    assert gradcheck(mel, (_signal(),))
    assert gradcheck(mfcc, (_signal(),))
    assert gradcheck(db, (_signal(),))
