"""``ember.audio.functional``: torchaudio.functional's spectral, resampling and masking functions,
and edit_distance."""
from .edit_distance import edit_distance
from .masking import mask_along_axis, mask_along_axis_iid
from .resample import resample
from .spectral import DB_to_amplitude, amplitude_to_DB, create_dct, melscale_fbanks, spectrogram

__all__ = ["DB_to_amplitude", "amplitude_to_DB", "create_dct", "edit_distance", "mask_along_axis",
           "mask_along_axis_iid", "melscale_fbanks", "resample", "spectrogram"]
