"""``ember.audio.models``: torchaudio.models' place; ``decoder`` holds the CTC decoders."""
from . import decoder

__all__ = ["decoder"]
