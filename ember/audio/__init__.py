"""``ember.audio``: audio files, spectral features, resampling and SpecAugment masks
(torchaudio's place and names). PCM WAV needs only the standard library; FLAC, OGG and float
WAV need soundfile: ``pip install 'ember[audio]'``."""
from . import datasets, functional, models, transforms
from ._io import AudioMetaData, info, load, save
from ._window import hann_window

__all__ = ["AudioMetaData", "datasets", "functional", "hann_window", "info", "load", "models", "save", "transforms"]
