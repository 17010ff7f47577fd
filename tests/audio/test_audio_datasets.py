"""ember.audio.datasets: SPEECHCOMMANDS and FSDD on fake folders with the published layouts,
downloads through a fake network (checksum accepted and refused), and SpokenDigits generation."""
import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import urllib.request

import numpy as np
import pytest

import ember
from ember.audio import datasets
from ember.audio.datasets import FSDD, SPEECHCOMMANDS, SpokenDigits
from ember.audio.datasets import fsdd as fsdd_module
from ember.audio.datasets import speechcommands as sc_module

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")


def _wav(path, sample_rate, frames, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    ember.audio.save(path, ember.full((1, frames), value), sample_rate)


# ---------------------------------------------------------------- SPEECHCOMMANDS

_SC_FILES = {  # relative path -> (label, speaker, utterance)
    "yes/aa11_nohash_0.wav": ("yes", "aa11", 0),
    "yes/bb22_nohash_1.wav": ("yes", "bb22", 1),
    "no/aa11_nohash_2.wav": ("no", "aa11", 2),
    "no/cc33_nohash_0.wav": ("no", "cc33", 0),
    "up/dd44_nohash_3.wav": ("up", "dd44", 3),
}
_SC_VALIDATION = ["yes/bb22_nohash_1.wav"]
_SC_TESTING = ["no/cc33_nohash_0.wav", "up/dd44_nohash_3.wav"]


def _speech_commands_tree(folder):
    for k, rel in enumerate(sorted(_SC_FILES)):
        _wav(os.path.join(folder, rel), 16000, 160 + k, 0.01 * (k + 1))
    _wav(os.path.join(folder, "_background_noise_", "white_noise.wav"), 16000, 400, 0.5)
    with open(os.path.join(folder, "validation_list.txt"), "w") as f:
        f.write("\n".join(_SC_VALIDATION) + "\n")
    with open(os.path.join(folder, "testing_list.txt"), "w") as f:
        f.write("\n".join(_SC_TESTING) + "\n")


@pytest.mark.parametrize("subset,expected", [
    (None, sorted(_SC_FILES)),
    ("training", sorted(set(_SC_FILES) - set(_SC_VALIDATION) - set(_SC_TESTING))),
    ("validation", _SC_VALIDATION),
    ("testing", _SC_TESTING),
])
def test_speechcommands_subsets(tmp_path, subset, expected):
    _speech_commands_tree(tmp_path / "SpeechCommands" / "speech_commands_v0.02")
    ds = SPEECHCOMMANDS(tmp_path, subset=subset)
    assert len(ds) == len(expected)
    order = sorted(_SC_FILES)
    for n, rel in enumerate(expected):
        label, speaker, utterance = _SC_FILES[rel]
        assert ds.get_metadata(n) == (os.path.join("speech_commands_v0.02", rel), 16000, label, speaker, utterance)
        waveform, sample_rate, *rest = ds[n]
        assert (sample_rate, *rest) == (16000, label, speaker, utterance)
        k = order.index(rel)  # the fake file's frames and value identify it
        assert waveform.shape == (1, 160 + k) and waveform.dtype == ember.float32
        np.testing.assert_allclose(waveform.numpy(), 0.01 * (k + 1), atol=1 / 32768)


def test_speechcommands_errors(tmp_path):
    with pytest.raises(RuntimeError, match="download=True"):
        SPEECHCOMMANDS(tmp_path)
    with pytest.raises(ValueError, match="subset"):
        SPEECHCOMMANDS(tmp_path, subset="train")
    _speech_commands_tree(tmp_path / "SpeechCommands" / "speech_commands_v0.01")
    _wav(str(tmp_path / "SpeechCommands" / "speech_commands_v0.01" / "yes" / "aa11_nohash_0.wav"), 8000, 80, 0.1)
    ds = SPEECHCOMMANDS(tmp_path, url="speech_commands_v0.01")
    with pytest.raises(ValueError, match="sample rate should be 16000, but got 8000"):
        ds[[m[0] for m in map(ds.get_metadata, range(len(ds)))].index(
            os.path.join("speech_commands_v0.01", "yes", "aa11_nohash_0.wav"))]


class _FakeNetwork:
    """Serves one payload for every URL and records what was asked for."""

    def __init__(self, payload):
        self.payload, self.urls = payload, []

    def __call__(self, request, *args, **kwargs):
        self.urls.append(request.full_url if hasattr(request, "full_url") else request)
        response = io.BytesIO(self.payload)
        response.headers = {"Content-Length": str(len(self.payload))}
        return response


def _tar_gz(folder, arcname=None):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        if arcname is None:  # the Speech Commands archive holds the folder's contents at its top
            for name in sorted(os.listdir(folder)):
                tar.add(os.path.join(folder, name), arcname=name)
        else:
            tar.add(folder, arcname=arcname)
    return buffer.getvalue()


def test_speechcommands_download(tmp_path, monkeypatch):
    _speech_commands_tree(tmp_path / "src")
    payload = _tar_gz(tmp_path / "src")
    url = "http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz"
    network = _FakeNetwork(payload)
    monkeypatch.setattr(urllib.request, "urlopen", network)
    # The published checksum does not match the fake archive: refused, nothing kept.
    with pytest.raises(RuntimeError, match="invalid hash value"):
        SPEECHCOMMANDS(tmp_path / "data", download=True)
    assert network.urls == [url]
    assert not os.path.exists(tmp_path / "data" / "speech_commands_v0.02.tar.gz")
    assert not os.path.exists(tmp_path / "data" / "SpeechCommands" / "speech_commands_v0.02")
    monkeypatch.setitem(sc_module._CHECKSUMS, url, hashlib.sha256(payload).hexdigest())
    ds = SPEECHCOMMANDS(tmp_path / "data", download=True, subset="testing")
    assert [ds.get_metadata(n)[0] for n in range(len(ds))] == [
        os.path.join("speech_commands_v0.02", rel) for rel in _SC_TESTING]
    assert os.path.isfile(tmp_path / "data" / "speech_commands_v0.02.tar.gz")
    # Unpacked already: no second download.
    assert len(SPEECHCOMMANDS(tmp_path / "data", download=True)) == len(_SC_FILES)
    assert len(network.urls) == 2


# ---------------------------------------------------------------- FSDD

def _fsdd_recordings(folder, speakers=("jackson", "theo"), indices=range(8)):
    for digit in (0, 7):
        for speaker in speakers:
            for index in indices:
                _wav(os.path.join(folder, f"{digit}_{speaker}_{index}.wav"), 8000, 40 + index, 0.01 * (digit + 1))
    with open(os.path.join(folder, "README.txt"), "w") as f:
        f.write("not a recording")


@pytest.mark.parametrize("layout", ["clone", "release", "recordings"])
def test_fsdd_layouts_and_split(tmp_path, layout):
    folder = {"clone": tmp_path / "recordings",
              "release": tmp_path / "free-spoken-digit-dataset-1.0.10" / "recordings",
              "recordings": tmp_path}[layout]
    _fsdd_recordings(folder)
    train, test = FSDD(tmp_path, "train"), FSDD(tmp_path, split="test")
    assert len(train) == 2 * 2 * 3 and len(test) == 2 * 2 * 5
    keys = {split: [(ds[n][2], ds[n][3], ds[n][4]) for n in range(len(ds))] for split, ds in (("train", train),
                                                                                              ("test", test))}
    assert keys["test"] == sorted((d, s, i) for d in (0, 7) for s in ("jackson", "theo") for i in range(5))
    assert keys["train"] == sorted((d, s, i) for d in (0, 7) for s in ("jackson", "theo") for i in range(5, 8))
    waveform, sample_rate, label, speaker, index = train[0]
    assert (sample_rate, label, speaker, index) == (8000, 0, "jackson", 5)
    assert waveform.shape == (1, 45) and waveform.dtype == ember.float32
    np.testing.assert_allclose(waveform.numpy(), 0.01, atol=1 / 32768)


def test_fsdd_errors(tmp_path):
    with pytest.raises(RuntimeError, match="no recordings found.*clone"):
        FSDD(tmp_path)
    with pytest.raises(ValueError, match="split"):
        FSDD(tmp_path, split="validation")


def test_fsdd_download(tmp_path, monkeypatch):
    _fsdd_recordings(tmp_path / "src" / "recordings", speakers=("nicolas",), indices=range(6))
    payload = _tar_gz(tmp_path / "src", arcname="free-spoken-digit-dataset-1.0.9")
    network = _FakeNetwork(payload)
    monkeypatch.setattr(urllib.request, "urlopen", network)
    with pytest.raises(RuntimeError, match="invalid hash value"):
        FSDD(tmp_path / "data", download=True)
    assert network.urls == [fsdd_module._URL]
    assert not os.path.exists(tmp_path / "data" / fsdd_module._ARCHIVE)
    monkeypatch.setattr(fsdd_module, "_SHA256", hashlib.sha256(payload).hexdigest())
    ds = FSDD(tmp_path / "data", split="train", download=True)
    assert [(ds[n][2], ds[n][3], ds[n][4]) for n in range(len(ds))] == [(0, "nicolas", 5), (7, "nicolas", 5)]
    assert len(FSDD(tmp_path / "data", split="test", download=True)) == 10
    assert len(network.urls) == 2  # found on disk the second time


# ---------------------------------------------------------------- SpokenDigits

@needs_espeak
def test_spoken_digits_generation(tmp_path):
    a = SpokenDigits(tmp_path / "a", size=12, seed=3)
    b = SpokenDigits(tmp_path / "b", size=12, seed=3)
    other_seed = SpokenDigits(tmp_path / "c", size=12, seed=4)
    assert len(a) == 12
    transcripts = []
    for n in range(len(a)):
        waveform, sample_rate, transcript, voice = a[n]
        assert sample_rate == 8000 and waveform.dtype == ember.float32
        assert waveform.dim() == 2 and waveform.shape[0] == 1 and waveform.shape[1] > 1000
        assert 0 < float(waveform.abs().max()) <= 1.0
        words = transcript.split(" ")
        assert 1 <= len(words) <= 5 and all(w in SpokenDigits.WORDS for w in words)
        assert voice in SpokenDigits.TRAIN_VOICES
        assert SpokenDigits.to_words(SpokenDigits.to_digits(transcript)) == transcript
        other = b[n]
        assert other[1:] == (sample_rate, transcript, voice)
        assert ember.equal(other[0], waveform)
        transcripts.append(transcript)
    assert transcripts != [other_seed[n][2] for n in range(12)]
    assert len({len(t.split()) for t in transcripts}) > 1


@needs_espeak
def test_spoken_digits_splits_and_options(tmp_path):
    assert set(SpokenDigits.TRAIN_VOICES).isdisjoint(SpokenDigits.TEST_VOICES)
    test = SpokenDigits(tmp_path, split="test", size=6, sample_rate=16000, max_digits=2, noise=False)
    assert os.path.isfile(tmp_path / "SpokenDigits" / "test" / "manifest.tsv")
    for n in range(len(test)):
        waveform, sample_rate, transcript, voice = test[n]
        assert sample_rate == 16000 and voice in SpokenDigits.TEST_VOICES
        assert 1 <= len(transcript.split()) <= 2
    mine = SpokenDigits(tmp_path, split="test", size=3, voices=["en-us+f2"], max_digits=1)
    assert [mine[n][3] for n in range(3)] == ["en-us+f2"] * 3
    assert len(os.listdir(tmp_path / "SpokenDigits" / "test")) == 3 + 1  # the larger set's files were removed


@needs_espeak
def test_spoken_digits_manifest_reuse(tmp_path, monkeypatch):
    first = SpokenDigits(tmp_path, size=4, seed=1)
    expected = [first[n] for n in range(4)]

    def no_espeak(*args, **kwargs):
        raise AssertionError("espeak-ng ran although the set was on disk")

    monkeypatch.setattr(subprocess, "run", no_espeak)
    again = SpokenDigits(tmp_path, size=4, seed=1)
    for n in range(4):
        assert again[n][1:] == expected[n][1:] and ember.equal(again[n][0], expected[n][0])
    with pytest.raises(AssertionError, match="espeak-ng ran"):  # other arguments: regenerated
        SpokenDigits(tmp_path, size=4, seed=2)
    with pytest.raises(RuntimeError, match="generate=False"):
        SpokenDigits(tmp_path, size=5, seed=1, generate=False)


def test_spoken_digits_without_espeak(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name, *args, **kwargs: None)
    with pytest.raises(RuntimeError, match="apt-get install espeak-ng.*brew install espeak-ng"):
        SpokenDigits(tmp_path, size=2)


def test_spoken_digits_arguments(tmp_path):
    for kwargs, match in [({"split": "valid"}, "split"), ({"size": -1}, "size"), ({"sample_rate": 0}, "sample_rate"),
                          ({"max_digits": 0}, "max_digits"), ({"voices": []}, "voices")]:
        with pytest.raises(ValueError, match=match):
            SpokenDigits(tmp_path, **kwargs)
    assert SpokenDigits.to_digits("three one four") == [3, 1, 4]
    assert SpokenDigits.to_words([0, 9]) == "zero nine"
    assert datasets.__all__ == ["FSDD", "SPEECHCOMMANDS", "SpokenDigits"]
