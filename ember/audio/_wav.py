"""PCM WAV files through the standard library's ``wave``: samples as integer arrays,
``(frames, channels)``, in the file's own width (8-bit unsigned, 16/24/32-bit signed)."""
from __future__ import annotations

import wave
from typing import BinaryIO

import numpy as np

# Frames read per call: a header may declare more frames than the file holds, so the data is
# read in bounded pieces and memory follows the bytes really present.
_CHUNK_FRAMES = 1 << 18


def _decode(raw: bytes, width: int) -> np.ndarray:
    """Little-endian PCM bytes to uint8 / int16 / int32; 24-bit samples become int32 with the
    sample in the top 24 bits (left-aligned), so every signed width shares int32's full scale."""
    if width == 1:
        return np.frombuffer(raw, dtype=np.uint8)
    if width == 2:
        return np.frombuffer(raw, dtype="<i2").astype(np.int16)
    if width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.uint32)
        return ((b[:, 0] << 8) | (b[:, 1] << 16) | (b[:, 2] << 24)).view(np.int32)
    return np.frombuffer(raw, dtype="<i4").astype(np.int32)


def read(path, frame_offset: int = 0, num_frames: int = -1) -> tuple[np.ndarray, int, int]:
    """``(samples (frames, channels), sample_rate, bits_per_sample)`` of a PCM WAV file."""
    with wave.open(str(path), "rb") as w:
        channels, width, rate, total = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
        if channels < 1 or rate < 1 or width not in (1, 2, 3, 4):
            raise RuntimeError(f"ember.audio.load: {path}: unsupported WAV header "
                               f"({channels} channels, {rate} Hz, {8 * width}-bit samples)")
        start = min(max(frame_offset, 0), total)
        w.setpos(start)
        wanted = total - start if num_frames < 0 else min(num_frames, total - start)
        pieces = []
        while wanted > 0:
            raw = w.readframes(min(wanted, _CHUNK_FRAMES))
            if not raw:
                break
            pieces.append(raw)
            wanted -= len(raw) // (width * channels)
    raw = b"".join(pieces)
    raw = raw[:len(raw) - len(raw) % (width * channels)]  # a truncated last frame is dropped
    return _decode(raw, width).reshape(-1, channels), rate, 8 * width


def header(path) -> tuple[int, int, int, int]:
    """``(sample_rate, num_frames, num_channels, bits_per_sample)`` from the header alone."""
    with wave.open(str(path), "rb") as w:
        return w.getframerate(), w.getnframes(), w.getnchannels(), 8 * w.getsampwidth()


def encode(samples: np.ndarray, bits: int) -> bytes:
    """Integer samples already in range for ``bits`` (uint8 for 8-bit) to little-endian PCM."""
    if bits == 8:
        return samples.astype(np.uint8).tobytes()
    if bits == 16:
        return samples.astype("<i2").tobytes()
    if bits == 24:
        v = samples.astype(np.int64).reshape(-1) & 0xFFFFFF
        return np.stack([v & 0xFF, (v >> 8) & 0xFF, v >> 16], axis=-1).astype(np.uint8).tobytes()
    return samples.astype("<i4").tobytes()


def write(fh: BinaryIO, samples: np.ndarray, sample_rate: int, bits: int) -> None:
    """``samples`` ``(frames, channels)`` as a PCM WAV into the open binary file ``fh``."""
    with wave.open(fh, "wb") as w:
        w.setnchannels(samples.shape[1])
        w.setsampwidth(bits // 8)
        w.setframerate(sample_rate)
        w.writeframes(encode(np.ascontiguousarray(samples), bits))
