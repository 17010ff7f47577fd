"""``torchvision.transforms``: image transforms for PIL images and tensor images."""
from . import functional  # noqa: F401
from ._photometric import *  # noqa: F401,F403
from .functional import InterpolationMode  # noqa: F401
from .transforms import *  # noqa: F401,F403
