"""WAV round trips through ember.audio.save / load / info, checked against the bytes the
standard library's wave module reads back and against integer scalings written here."""
import os
import wave

import numpy as np
import pytest

import ember
from ember import audio


def _read_raw(path):
    with wave.open(str(path), "rb") as w:
        return w.getnchannels(), w.getsampwidth(), w.getframerate(), w.readframes(w.getnframes())


@pytest.mark.parametrize("bits", [8, 16, 24, 32])
@pytest.mark.parametrize("channels", [1, 2, 3])
def test_float_round_trip_within_one_step(tmp_path, bits, channels):
    rng = np.random.default_rng(bits + channels)
    step = 2.0 ** (1 - bits)
    x = rng.uniform(-1, 1 - step, size=(channels, 257)).astype(np.float32)  # the top step is clipped
    path = tmp_path / "a.wav"
    audio.save(path, ember.tensor(x), 22050, bits_per_sample=bits)
    nch, width, rate, raw = _read_raw(path)
    assert (nch, width, rate, len(raw)) == (channels, bits // 8, 22050, 257 * channels * bits // 8)
    y, sr = audio.load(path)
    assert sr == 22050 and y.dtype == ember.float32 and tuple(y.shape) == (channels, 257)
    assert np.abs(y.numpy() - x).max() <= step / 2 + 1e-7


def test_16_bit_samples_are_the_rounded_scaled_values(tmp_path):
    x = np.array([[0.0, 0.5, -0.5, 1.0, -1.0, 1.5, -2.0, 0.25 / 32768]], dtype=np.float32)
    path = tmp_path / "s.wav"
    audio.save(path, ember.tensor(x), 8000)
    raw = np.frombuffer(_read_raw(path)[3], dtype="<i2")
    np.testing.assert_array_equal(raw, [0, 16384, -16384, 32767, -32768, 32767, -32768, 0])
    y, _ = audio.load(path, normalize=False)
    assert y.dtype == ember.int16
    np.testing.assert_array_equal(y.numpy()[0], raw)
    z, _ = audio.load(path)
    np.testing.assert_array_equal(z.numpy()[0], raw / 32768.0)


def test_8_bit_is_unsigned_around_128(tmp_path):
    path = tmp_path / "u8.wav"
    audio.save(path, ember.tensor([[0.0, -1.0, 0.5, 0.999]]), 8000, bits_per_sample=8)
    raw = np.frombuffer(_read_raw(path)[3], dtype=np.uint8)
    np.testing.assert_array_equal(raw, [128, 0, 192, 255])
    y, _ = audio.load(path, normalize=False)
    assert y.dtype == ember.uint8
    z, _ = audio.load(path)
    np.testing.assert_allclose(z.numpy()[0], (raw.astype(np.float64) - 128) / 128)


def test_24_bit_packs_three_little_endian_bytes(tmp_path):
    path = tmp_path / "s24.wav"
    values = np.array([1, -1, 2 ** 23 - 1, -2 ** 23, 123456])
    audio.save(path, ember.tensor(values[None] / 2.0 ** 23, dtype=ember.float64), 16000, bits_per_sample=24)
    raw = np.frombuffer(_read_raw(path)[3], dtype=np.uint8).reshape(-1, 3).astype(np.int64)
    stored = raw[:, 0] | raw[:, 1] << 8 | raw[:, 2] << 16
    stored = np.where(stored >= 2 ** 23, stored - 2 ** 24, stored)
    np.testing.assert_array_equal(stored, values)
    y, _ = audio.load(path, normalize=False)  # left-aligned in int32
    assert y.dtype == ember.int32
    np.testing.assert_array_equal(y.numpy()[0], values * 256)
    z, _ = audio.load(path)
    np.testing.assert_allclose(z.numpy()[0], values / 2.0 ** 23, rtol=1e-7)


def test_integer_tensors_keep_their_width(tmp_path):
    path = tmp_path / "i.wav"
    x = np.array([[1, -2, 32767], [-32768, 5, 0]], dtype=np.int16)
    audio.save(path, ember.tensor(x), 16000)
    assert audio.info(path).bits_per_sample == 16
    y, _ = audio.load(path, normalize=False)
    np.testing.assert_array_equal(y.numpy(), x)


def test_channels_last_offset_and_frame_count(tmp_path):
    x = np.linspace(-0.9, 0.9, 40, dtype=np.float32).reshape(20, 2)  # (frames, channels)
    path = tmp_path / "c.wav"
    audio.save(path, ember.tensor(x), 1000, channels_first=False, bits_per_sample=32)
    y, _ = audio.load(path, channels_first=False)
    assert tuple(y.shape) == (20, 2)
    np.testing.assert_allclose(y.numpy(), x, atol=2.0 ** -31)
    part, _ = audio.load(path, frame_offset=5, num_frames=4)
    np.testing.assert_allclose(part.numpy(), x[5:9].T, atol=2.0 ** -31)
    tail, _ = audio.load(path, frame_offset=18, num_frames=10)
    assert tuple(tail.shape) == (2, 2)


def test_info_reads_the_header(tmp_path):
    path = tmp_path / "h.wav"
    audio.save(path, ember.zeros(3, 100), 44100, bits_per_sample=24)
    meta = audio.info(path)
    assert (meta.sample_rate, meta.num_frames, meta.num_channels, meta.bits_per_sample, meta.encoding) == \
        (44100, 100, 3, 24, "PCM_S")
    audio.save(path, ember.zeros(1, 7), 8000, bits_per_sample=8)
    assert audio.info(path).encoding == "PCM_U"


def test_a_header_claiming_more_frames_than_present_reads_what_is_there(tmp_path):
    path = tmp_path / "t.wav"
    audio.save(path, ember.tensor([[0.5] * 10]), 8000)
    data = bytearray(path.read_bytes())
    data[40:44] = (2 ** 31).to_bytes(4, "little")  # the data chunk's size
    path.write_bytes(bytes(data))
    y, _ = audio.load(path)
    np.testing.assert_array_equal(y.numpy(), np.full((1, 10), 0.5, dtype=np.float32))


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "keep.wav"
    audio.save(path, ember.tensor([[0.25, -0.25]]), 8000)
    before = path.read_bytes()

    def fail(*args):
        raise OSError("disk full")
    monkeypatch.setattr(audio._wav, "encode", fail)
    with pytest.raises(OSError, match="disk full"):
        audio.save(path, ember.tensor([[0.5, 0.5, 0.5]]), 8000)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["keep.wav"]


def test_save_refuses_what_pcm_cannot_hold(tmp_path):
    with pytest.raises(ValueError, match="NaN or infinite"):
        audio.save(tmp_path / "n.wav", ember.tensor([[0.0, float("nan")]]), 8000)
    with pytest.raises(ValueError, match="bits_per_sample must be 8, 16, 24 or 32"):
        audio.save(tmp_path / "b.wav", ember.zeros(1, 4), 8000, bits_per_sample=12)
    with pytest.raises(ValueError, match="2-D tensor"):
        audio.save(tmp_path / "m.wav", ember.zeros(4), 8000)
    assert os.listdir(tmp_path) == []


def test_other_formats_name_the_extra(tmp_path, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "soundfile", None)
    with pytest.raises(ModuleNotFoundError, match=r"needs soundfile, .* pip install 'ember\[audio\]'"):
        audio.load(tmp_path / "x.flac")
    with pytest.raises(ModuleNotFoundError, match=r"ember\[audio\]"):
        audio.save(tmp_path / "x.flac", ember.zeros(1, 4), 8000)
    assert os.listdir(tmp_path) == []
