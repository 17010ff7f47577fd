"""FLAC, OGG and float WAV through soundfile (``ember[audio]``), checked against the samples
soundfile itself reads back. Skipped where soundfile is not installed."""
import os

import numpy as np
import pytest

import ember
from ember import audio

sf = pytest.importorskip("soundfile")


@pytest.mark.parametrize("bits", [8, 16, 24])
def test_flac_round_trip_stores_the_rounded_samples(tmp_path, bits):
    x = np.random.default_rng(bits).uniform(-1, 1 - 2.0 ** (1 - bits), (2, 300)).astype(np.float32)
    path = tmp_path / "a.flac"
    audio.save(path, ember.tensor(x), 16000, bits_per_sample=bits)
    raw, rate = sf.read(path, dtype="int32", always_2d=True)
    np.testing.assert_array_equal(raw.T >> (32 - bits), np.round(x.astype(np.float64) * 2.0 ** (bits - 1)))
    y, sr = audio.load(path)
    assert sr == rate == 16000 and y.dtype == ember.float32
    assert np.abs(y.numpy() - x).max() <= 2.0 ** -bits + 1e-7
    meta = audio.info(path)
    assert (meta.num_frames, meta.num_channels, meta.bits_per_sample, meta.encoding) == (300, 2, bits, "FLAC")
    part, _ = audio.load(path, frame_offset=10, num_frames=5, channels_first=False)
    np.testing.assert_array_equal(part.numpy(), y.numpy()[:, 10:15].T)


def test_float_wav_and_ogg(tmp_path):
    x = np.random.default_rng(0).uniform(-0.5, 0.5, (300, 1)).astype(np.float32)
    path = tmp_path / "f.wav"
    sf.write(path, x, 8000, subtype="FLOAT")
    y, sr = audio.load(path)
    np.testing.assert_array_equal(y.numpy(), x.T)
    assert (audio.info(path).encoding, audio.info(path).bits_per_sample) == ("PCM_F", 32)
    audio.save(tmp_path / "v.ogg", ember.tensor(x.T), 8000)
    assert audio.info(tmp_path / "v.ogg").encoding == "VORBIS"
    assert tuple(audio.load(tmp_path / "v.ogg")[0].shape) == (1, 300)
    assert sorted(os.listdir(tmp_path)) == ["f.wav", "v.ogg"]
