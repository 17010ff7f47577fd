"""ember.audio.load / save / info (torchaudio's names): PCM WAV through the standard library,
other formats (FLAC, OGG/Vorbis, float WAV) through soundfile, installed with ``ember[audio]``."""
from __future__ import annotations

import os
import wave
from dataclasses import dataclass

import numpy as np

import ember
from ember import Tensor
from ember._optional import require
from ember.io._files import atomic_write

from . import _wav

# Full scale of each stored integer type: dividing by it maps samples into [-1, 1).
_FULL_SCALE = {np.dtype(np.int16): 2.0 ** 15, np.dtype(np.int32): 2.0 ** 31}
_SOUNDFILE_ENCODING = {"PCM_S8": ("PCM_S", 8), "PCM_U8": ("PCM_U", 8), "PCM_16": ("PCM_S", 16),
                       "PCM_24": ("PCM_S", 24), "PCM_32": ("PCM_S", 32), "FLOAT": ("PCM_F", 32),
                       "DOUBLE": ("PCM_F", 64), "VORBIS": ("VORBIS", 0)}
_SUBTYPE = {8: "PCM_S8", 16: "PCM_16", 24: "PCM_24", 32: "PCM_32"}


@dataclass
class AudioMetaData:
    """What ``info`` reads from a file's header."""
    sample_rate: int
    num_frames: int
    num_channels: int
    bits_per_sample: int
    encoding: str


def _format(path, format: str | None) -> str:
    if format is not None:
        return format.lower()
    return os.path.splitext(os.fspath(path))[1].lstrip(".").lower()


def _soundfile(what: str):
    return require("soundfile", f"ember.audio.{what} of formats other than PCM WAV")


def _to_float(samples: np.ndarray) -> np.ndarray:
    """Stored integers to float32 in [-1, 1] (8-bit WAV is unsigned, centred on 128)."""
    if samples.dtype == np.uint8:
        return ((samples.astype(np.float32) - 128.0) / 128.0).astype(np.float32)
    if samples.dtype in _FULL_SCALE:
        return (samples.astype(np.float64) / _FULL_SCALE[samples.dtype]).astype(np.float32)
    return samples.astype(np.float32)


def load(uri, frame_offset: int = 0, num_frames: int = -1, normalize: bool = True, channels_first: bool = True,
         format: str | None = None) -> tuple[Tensor, int]:
    """``(waveform, sample_rate)``: waveform ``(channels, frames)`` (``(frames, channels)`` when
    ``channels_first=False``), float32 in [-1, 1] when ``normalize``. With ``normalize=False``
    an integer PCM file keeps its stored type: uint8 (8-bit), int16, int32 (32-bit, and 24-bit
    samples in the top 24 bits)."""
    fmt = _format(uri, format)
    samples = None
    if fmt == "wav":
        try:
            samples, rate, _ = _wav.read(uri, frame_offset, num_frames)
        except wave.Error:  # not integer PCM (e.g. float samples): soundfile reads it, if installed
            samples = None
    if samples is None:
        sf = _soundfile("load")
        with sf.SoundFile(os.fspath(uri)) as f:
            rate = f.samplerate
            integer = {"PCM_16": "int16", "PCM_24": "int32", "PCM_32": "int32"}.get(f.subtype)
            f.seek(min(max(frame_offset, 0), f.frames))
            samples = f.read(num_frames, dtype=integer if integer and not normalize else "float32", always_2d=True)
    if normalize:
        samples = _to_float(samples)
    out = ember.tensor(np.ascontiguousarray(samples.T if channels_first else samples))
    return out, int(rate)


def _quantize(waveform: np.ndarray, bits: int) -> np.ndarray:
    """Samples (float in [-1, 1], or stored integers) to ``bits``-bit integers, rounded and
    clipped to the range (8-bit unsigned)."""
    if np.issubdtype(waveform.dtype, np.integer):
        waveform = _to_float(waveform) if waveform.dtype in (np.uint8, np.int16, np.int32) else waveform.astype(np.float64)
    else:
        if not np.isfinite(waveform).all():
            raise ValueError("ember.audio.save: the waveform holds NaN or infinite samples, "
                             "which no PCM encoding can store")
        waveform = waveform.astype(np.float64)
    scale = 2.0 ** (bits - 1)
    q = np.clip(np.round(waveform * scale), -scale, scale - 1)
    return (q + 128).astype(np.uint8) if bits == 8 else q.astype(np.int32)


def save(uri, src: Tensor, sample_rate: int, channels_first: bool = True, format: str | None = None,
         bits_per_sample: int | None = None) -> None:
    """Write ``src`` (``(channels, frames)``, or ``(frames, channels)`` when ``channels_first=False``)
    as integer PCM of ``bits_per_sample`` bits (8, 16, 24 or 32; default: the tensor's own width
    for uint8/int16/int32, 16 for float samples, which are clipped to [-1, 1]). The file appears
    whole or not at all: it is written beside the target and renamed over it."""
    if not isinstance(src, Tensor) or src.dim() != 2:
        raise ValueError(f"ember.audio.save: expected a 2-D tensor (channels, frames), got "
                         f"{tuple(src.shape) if isinstance(src, Tensor) else type(src).__name__}; "
                         f"a mono signal is waveform.unsqueeze(0)")
    data = src.detach().cpu().numpy()
    if bits_per_sample is None:
        bits_per_sample = {np.dtype(np.uint8): 8, np.dtype(np.int16): 16, np.dtype(np.int32): 32}.get(data.dtype, 16)
    if bits_per_sample not in (8, 16, 24, 32):
        raise ValueError(f"ember.audio.save: bits_per_sample must be 8, 16, 24 or 32, got {bits_per_sample}")
    if int(sample_rate) != sample_rate or sample_rate <= 0:
        raise ValueError(f"ember.audio.save: sample_rate must be a positive integer, got {sample_rate}")
    samples = _quantize(data.T if channels_first else data, bits_per_sample)
    fmt = _format(uri, format)
    if fmt == "wav":
        atomic_write(uri, lambda fh: _wav.write(fh, samples, int(sample_rate), bits_per_sample))
        return
    sf = _soundfile("save")
    # soundfile's int32 input is full scale (libsndfile keeps its top bits), so left-aligned
    # samples store exactly; 8-bit is unsigned here and signed there.
    signed = samples.astype(np.int64) - (128 if bits_per_sample == 8 else 0)
    aligned = (signed << (32 - bits_per_sample)).astype(np.int32)
    lossy = fmt in ("ogg", "vorbis")  # Vorbis has no sample width: it is given the float samples
    atomic_write(uri, lambda fh: sf.write(fh, aligned / 2.0 ** 31 if lossy else aligned, int(sample_rate),
                                          subtype="VORBIS" if lossy else _SUBTYPE[bits_per_sample],
                                          format="OGG" if lossy else fmt.upper()))


def info(uri, format: str | None = None) -> AudioMetaData:
    """Sample rate, frames, channels, bits per sample and encoding from the file's header."""
    fmt = _format(uri, format)
    if fmt == "wav":
        try:
            rate, frames, channels, bits = _wav.header(uri)
            return AudioMetaData(rate, frames, channels, bits, "PCM_U" if bits == 8 else "PCM_S")
        except wave.Error:
            pass
    sf = _soundfile("info")
    i = sf.info(os.fspath(uri))
    encoding, bits = _SOUNDFILE_ENCODING.get(i.subtype, (i.subtype, 0))
    if i.format == "FLAC":
        encoding = "FLAC"
    return AudioMetaData(i.samplerate, i.frames, i.channels, bits, encoding)
