"""``ember.audio.datasets``: speech data sets (torchaudio's place). ``SPEECHCOMMANDS`` and
``FSDD`` read the published recordings (downloads are checked by SHA-256); ``SpokenDigits``
synthesizes spoken digit sequences with espeak-ng, so speech models train offline."""
from .fsdd import FSDD
from .speechcommands import SPEECHCOMMANDS
from .spoken_digits import SpokenDigits

__all__ = ["FSDD", "SPEECHCOMMANDS", "SpokenDigits"]
