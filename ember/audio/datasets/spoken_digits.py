"""SpokenDigits: sequences of 1 to ``max_digits`` spoken digits synthesized with espeak-ng, so
speech recognition can be trained and tested offline.

Each utterance draws its digits, voice, speed (120-220 words a minute), pitch (20-80), word gap
(0-100 ms) and, with ``noise``, a white, pink or brown background noise at 10-30 dB SNR, all
from ``seed``. The splits use disjoint voices: training speaks with five English accents times
ten voice variants (:attr:`SpokenDigits.TRAIN_VOICES`), testing with three other accents times
four other variants (:attr:`SpokenDigits.TEST_VOICES`), so test scores measure unseen speakers.

A set is generated once into ``root/SpokenDigits/<split>/`` (16-bit PCM WAV files and
``manifest.tsv``); the manifest records the arguments it was made with, and a later
construction with the same arguments reads it without running espeak-ng.
"""
from __future__ import annotations

import concurrent.futures
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm.auto import tqdm

from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from ...io._files import atomic_write
from ...ops.creation import from_numpy
from ...utils.data import Dataset
from .._io import load, save
from ..functional import resample

__all__ = ["SpokenDigits"]

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_TRAIN_ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan")
_TRAIN_VARIANTS = ("m1", "m2", "m4", "m5", "m6", "m7", "f1", "f3", "f4", "klatt")
_TEST_ACCENTS = ("en-029", "en-gb-x-gbcwmd", "en-us-nyc")
_TEST_VARIANTS = ("m3", "m8", "f2", "f5")
_DEFAULT_SIZE = {"train": 5000, "test": 500}
_SPLIT_STREAM = {"train": 0, "test": 1}  # separate random streams for the two splits of one seed
_ESPEAK_RATE = 22050  # espeak-ng's output rate
_NOISE_EXPONENT = {"white": 0.0, "pink": 0.5, "brown": 1.0}  # amplitude ~ f ** -exponent
_CHUNK = 32  # utterances resampled together
_MANIFEST = "manifest.tsv"
_COLUMNS = ("file", "transcript", "voice", "speed", "pitch", "gap", "noise", "snr")
_WAV_NAME = re.compile(r"^[0-9]+\.wav$")
_FORMAT = 1  # bumped when the generation changes, so old sets are regenerated
_INSTALL = "apt-get install espeak-ng (Debian/Ubuntu) or brew install espeak-ng (macOS)"


def _noise(color: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of unit-RMS noise whose amplitude spectrum falls as f ** -exponent."""
    x = rng.standard_normal(n)
    if _NOISE_EXPONENT[color]:
        spectrum = np.fft.rfft(x)
        f = np.arange(spectrum.size, dtype=np.float64)
        f[0] = 1.0  # the DC term is removed below; this only avoids dividing by zero
        x = np.fft.irfft(spectrum / f ** _NOISE_EXPONENT[color], n)
    x = x - x.mean()
    return x / max(float(np.sqrt(np.mean(x * x))), 1e-12)


def _espeak(row: dict, folder: str) -> np.ndarray:
    """espeak-ng's int16 samples (at 22050 Hz) for one planned utterance."""
    path = os.path.join(folder, row["file"])
    cmd = ["espeak-ng", "-v", row["voice"], "-s", str(row["speed"]), "-p", str(row["pitch"]),
           "-g", str(row["gap"]), "-w", path, row["transcript"]]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"SpokenDigits: espeak-ng failed ({' '.join(cmd)}): {done.stderr.strip()}")
    with wave.open(path, "rb") as w:
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        rate = w.getframerate()
    os.remove(path)
    if rate != _ESPEAK_RATE:
        raise RuntimeError(f"SpokenDigits: espeak-ng wrote {rate} Hz audio, expected {_ESPEAK_RATE} Hz")
    return samples


def _read_manifest(path: str) -> tuple[dict, list[dict]] | None:
    """The parameters and rows of a manifest, or None when it is missing or not one."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        params = json.loads(lines[0].removeprefix("# "))
        if tuple(lines[1].split("\t")) != _COLUMNS:
            return None
        rows = [dict(zip(_COLUMNS, line.split("\t"))) for line in lines[2:]]
    except (OSError, IndexError, ValueError):
        return None
    return params, rows


class SpokenDigits(Dataset):
    """Spoken digit sequences synthesized with espeak-ng (generated once, then read from disk).

    Args:
        root: the folder that holds (or will hold) ``SpokenDigits/<split>/``.
        split: ``"train"`` or ``"test"``; they use disjoint voices.
        size: the number of utterances (default 5000 for train, 500 for test).
        sample_rate: the rate the files are stored at (espeak-ng's 22050 Hz is resampled).
        voices: espeak-ng voices to draw from (default: the split's, see ``TRAIN_VOICES``/``TEST_VOICES``).
        seed: the same seed (and arguments) gives the same files and transcripts.
        max_digits: the most digits in one utterance (the fewest is one).
        noise: add background noise (white, pink or brown, 10-30 dB SNR).
        generate: synthesize the set when it is missing or was made with other arguments; with
            False such a set raises RuntimeError instead.

    Items: ``(waveform (1, frames), sample_rate, transcript, voice)``; the transcript is the
    digit words separated by spaces (``"three one four"``).
    """

    WORDS = WORDS
    TRAIN_VOICES = tuple(f"{a}+{v}" for a in _TRAIN_ACCENTS for v in _TRAIN_VARIANTS)
    TEST_VOICES = tuple(f"{a}+{v}" for a in _TEST_ACCENTS for v in _TEST_VARIANTS)

    def __init__(self, root: str | Path, split: str = "train", size: int | None = None, sample_rate: int = 8000,
                 voices: Sequence[str] | None = None, seed: int = 0, max_digits: int = 5, noise: bool = True,
                 generate: bool = True) -> None:
        if split not in _DEFAULT_SIZE:
            raise ValueError(f"SpokenDigits: split must be 'train' or 'test', got {split!r}")
        size = _DEFAULT_SIZE[split] if size is None else size
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"SpokenDigits: size must be a non-negative int, got {size!r}")
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate <= 0:
            raise ValueError(f"SpokenDigits: sample_rate must be a positive int, got {sample_rate!r}")
        if isinstance(max_digits, bool) or not isinstance(max_digits, int) or max_digits < 1:
            raise ValueError(f"SpokenDigits: max_digits must be an int >= 1, got {max_digits!r}")
        voices = list(self.TRAIN_VOICES if split == "train" else self.TEST_VOICES) if voices is None else list(voices)
        if not voices or not all(isinstance(v, str) and v and not any(c.isspace() for c in v) for v in voices):
            raise ValueError(f"SpokenDigits: voices must be a non-empty list of espeak-ng voice names, got {voices!r}")
        self.split, self.sample_rate = split, sample_rate
        self.folder = os.path.join(os.path.expanduser(os.fspath(root)), "SpokenDigits", split)
        self._params = {"format": _FORMAT, "split": split, "size": size, "sample_rate": sample_rate,
                        "voices": voices, "seed": int(seed), "max_digits": max_digits, "noise": bool(noise)}
        rows = self._existing()
        if rows is None:
            if not generate:
                raise RuntimeError(f"SpokenDigits: no {split} set made with these arguments in {self.folder}, "
                                   f"and generate=False. Pass generate=True to synthesize it.")
            rows = self._generate()
        self._rows = rows

    @staticmethod
    def to_digits(transcript: str) -> list[int]:
        """``"three one four"`` -> ``[3, 1, 4]``."""
        return [WORDS.index(word) for word in transcript.split()]

    @staticmethod
    def to_words(digits: Sequence[int]) -> str:
        """``[3, 1, 4]`` -> ``"three one four"``."""
        return " ".join(WORDS[int(d)] for d in digits)

    def _existing(self) -> list[dict] | None:
        """The manifest's rows when it was made with these arguments and its files are all there."""
        found = _read_manifest(os.path.join(self.folder, _MANIFEST))
        if found is None or found[0] != self._params:
            return None
        params, rows = found
        if len(rows) != params["size"] or not all(os.path.isfile(os.path.join(self.folder, r["file"])) for r in rows):
            return None
        return rows

    def _plan(self) -> list[dict]:
        """Every utterance's transcript and synthesis settings, drawn from the seed. All values
        are drawn whatever ``noise`` is, so the transcripts and voices do not depend on it."""
        p = self._params
        rng = np.random.default_rng([p["seed"], _SPLIT_STREAM[p["split"]]])
        colors = tuple(_NOISE_EXPONENT)
        rows = []
        for i in range(p["size"]):
            digits = rng.integers(0, 10, size=int(rng.integers(1, p["max_digits"] + 1)))
            row = {"file": f"{i:05d}.wav", "transcript": self.to_words(digits),
                   "voice": p["voices"][int(rng.integers(len(p["voices"])))], "speed": int(rng.integers(120, 221)),
                   "pitch": int(rng.integers(20, 81)), "gap": int(rng.integers(0, 11))}
            color, snr = colors[int(rng.integers(3))], round(float(rng.uniform(10, 30)), 2)
            noise_seed = int(rng.integers(2 ** 63))
            if p["noise"]:
                row.update(noise=color, snr=snr, noise_seed=noise_seed)
            else:
                row.update(noise="none", snr=math.inf, noise_seed=None)
            rows.append(row)
        return rows

    def _finish(self, rows: list[dict], samples: list[np.ndarray]) -> list[Tensor]:
        """espeak-ng's samples resampled to ``sample_rate`` (one call for the chunk: zeros after
        a shorter utterance change none of its own output samples), with each row's noise added."""
        batch = np.zeros((len(samples), max(s.size for s in samples)), dtype=np.float32)
        for k, s in enumerate(samples):
            batch[k, :s.size] = s / np.float32(32768.0)
        with no_grad():
            resampled = resample(from_numpy(batch), _ESPEAK_RATE, self.sample_rate).numpy().astype(np.float64)
        out = []
        for row, s, speech in zip(rows, samples, resampled):
            speech = speech[:math.ceil(s.size * self.sample_rate / _ESPEAK_RATE)]
            if row["noise_seed"] is not None:
                rms = float(np.sqrt(np.mean(speech * speech)))
                noise = _noise(row["noise"], speech.size, np.random.default_rng(row["noise_seed"]))
                speech = speech + noise * rms / 10.0 ** (row["snr"] / 20.0)
            peak = float(np.abs(speech).max(initial=0.0))
            if peak > 0.99:  # scaled, not clipped, so the 16-bit file holds the whole mix
                speech = speech * (0.99 / peak)
            out.append(from_numpy(speech.astype(np.float32)[None]))
        return out

    def _generate(self) -> list[dict]:
        if shutil.which("espeak-ng") is None:
            raise RuntimeError(f"SpokenDigits: the {self.split} set is not in {self.folder} and generating it needs "
                               f"espeak-ng, which is not installed. Install it with {_INSTALL}.")
        os.makedirs(self.folder, exist_ok=True)
        manifest = os.path.join(self.folder, _MANIFEST)
        old = _read_manifest(manifest)
        if old is not None:
            os.remove(manifest)  # an interrupted run must not leave a manifest describing other files
        rows = self._plan()
        # espeak-ng runs as one process per utterance (about 5 of its 7 ms are start-up, but one
        # process's output cannot be split back into utterances reliably), several at a time. Each
        # chunk is resampled in one call here; its files are written by the pool (writes wait on
        # fsync) while the next chunk is synthesized.
        workers, written = min(4, os.cpu_count() or 1), []
        with tempfile.TemporaryDirectory(dir=self.folder) as tmp, \
                concurrent.futures.ThreadPoolExecutor(workers) as pool, \
                tqdm(total=len(rows), desc=f"SpokenDigits {self.split}", unit="utt") as bar:
            for start in range(0, len(rows), _CHUNK):
                chunk = rows[start:start + _CHUNK]
                samples = list(pool.map(lambda r: _espeak(r, tmp), chunk))
                for done in written:
                    done.result()
                bar.update(len(written))
                written = [pool.submit(save, os.path.join(self.folder, row["file"]), wave_, self.sample_rate,
                                       bits_per_sample=16) for row, wave_ in zip(chunk, self._finish(chunk, samples))]
            for done in written:
                done.result()
            bar.update(len(written))
        # Files of a larger earlier set; only names this class writes are removed.
        stale = {r["file"] for r in old[1] if _WAV_NAME.match(r["file"])} - {r["file"] for r in rows} if old else ()
        for name in stale:
            if os.path.isfile(os.path.join(self.folder, name)):
                os.remove(os.path.join(self.folder, name))
        lines = ["# " + json.dumps(self._params), "\t".join(_COLUMNS)]
        lines += ["\t".join(str(r[c]) for c in _COLUMNS) for r in rows]
        atomic_write(manifest, lambda fh: fh.write(("\n".join(lines) + "\n").encode("utf-8")))
        return [{c: str(r[c]) for c in _COLUMNS} for r in rows]

    def __getitem__(self, n: int) -> tuple[Tensor, int, str, str]:
        row = self._rows[n]
        waveform, sample_rate = load(os.path.join(self.folder, row["file"]))
        return waveform, sample_rate, row["transcript"], row["voice"]

    def __len__(self) -> int:
        return len(self._rows)
