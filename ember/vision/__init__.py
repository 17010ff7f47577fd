"""``ember.vision``: data sets, transforms, models and image utilities for computer vision
(torchvision's place). Needs Pillow: ``pip install 'ember[vision]'``."""
from . import datasets
from . import models
from . import io, ops, transforms, utils
