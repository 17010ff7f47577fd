"""``ember.vision.datasets.utils`` (torchvision's name): the data set file helpers, which live in
``ember.utils.data.fetch`` so that text and audio data sets use them without Pillow."""
from ...utils.data.fetch import *  # noqa: F401,F403
from ...utils.data.fetch import __all__  # noqa: F401
