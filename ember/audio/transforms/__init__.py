"""``ember.audio.transforms``: torchaudio.transforms' modules."""
from ._masking import FrequencyMasking, TimeMasking
from ._resample import Resample
from ._spectral import MFCC, AmplitudeToDB, MelScale, MelSpectrogram, Spectrogram

__all__ = ["AmplitudeToDB", "FrequencyMasking", "MFCC", "MelScale", "MelSpectrogram", "Resample",
           "Spectrogram", "TimeMasking"]
