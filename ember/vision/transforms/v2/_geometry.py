"""Geometric v2 transforms: one random draw per sample, applied to the image, its masks
and its boxes alike."""
from __future__ import annotations

import numbers
from typing import Sequence

from PIL import Image

from ... import tv_tensors
from .. import functional as F1
from .. import transforms as T1
from ..functional import InterpolationMode, _interpolation_mode
from ._transform import Transform, query_size
from . import functional as F

__all__ = ["Resize", "RandomResizedCrop", "CenterCrop", "RandomCrop", "RandomHorizontalFlip",
           "RandomVerticalFlip", "Pad", "RandomRotation", "RandomAffine"]


def _size_stub(height: int, width: int):
    """A 1-bit PIL image of the size: v1's get_params read only the size of their image."""
    return Image.new("1", (width, height))


def fill_for(fill, inpt, per_channel: bool = False):
    """The fill of one leaf: ``fill`` may be a number, a sequence, or a dict from tv_tensor
    type (or "others") to either. Masks take a single number (0 unless given one); with
    ``per_channel``, tensor images one number per channel (as v1's warping kernels do)."""
    if isinstance(fill, dict):
        fill = fill.get(type(inpt), fill.get("others", 0))
    if isinstance(inpt, tv_tensors.Mask):
        return fill if isinstance(fill, numbers.Number) else 0
    fill = T1._check_fill(fill)
    return T1._fill_for(inpt, fill) if per_channel else fill


class RandomHorizontalFlip(Transform):
    """Mirror left to right with probability ``p``."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = p

    def make_params(self, flat_inputs):
        return {"apply": T1._coin(self.p)}

    def transform(self, inpt, params):
        return F.horizontal_flip(inpt) if params["apply"] else inpt


class RandomVerticalFlip(RandomHorizontalFlip):
    """Mirror top to bottom with probability ``p``."""

    def transform(self, inpt, params):
        return F.vertical_flip(inpt) if params["apply"] else inpt


class Resize(Transform):
    """Resize to ``size`` = (h, w), or an int for the shorter edge; masks use nearest."""

    def __init__(self, size, interpolation=InterpolationMode.BILINEAR, max_size: int | None = None,
                 antialias: bool | None = True) -> None:
        super().__init__()
        T1.Resize(size, interpolation, max_size, antialias)  # validates the arguments as v1 does
        self.size, self.max_size, self.antialias = size, max_size, antialias
        self.interpolation = _interpolation_mode(interpolation)

    def transform(self, inpt, params):
        return F.resize(inpt, self.size, self.interpolation, self.max_size, self.antialias)


class CenterCrop(Transform):
    """Crop the centre (h, w) box (an int is a square)."""

    def __init__(self, size) -> None:
        super().__init__()
        self.size = T1._setup_size(size, "Please provide only two dimensions (h, w) for size.")

    def transform(self, inpt, params):
        return F.center_crop(inpt, self.size)


class RandomResizedCrop(Transform):
    """Crop a random box of random area and aspect ratio, then resize it to ``size``."""

    def __init__(self, size, scale: tuple = (0.08, 1.0), ratio: tuple = (3.0 / 4.0, 4.0 / 3.0),
                 interpolation=InterpolationMode.BILINEAR, antialias: bool | None = True) -> None:
        super().__init__()
        v1 = T1.RandomResizedCrop(size, scale, ratio, interpolation, antialias)
        self.size, self.scale, self.ratio = v1.size, scale, ratio
        self.interpolation, self.antialias = v1.interpolation, antialias

    def make_params(self, flat_inputs):
        h, w = query_size(flat_inputs)
        top, left, height, width = T1.RandomResizedCrop.get_params(_size_stub(h, w), self.scale, self.ratio)
        return {"top": top, "left": left, "height": height, "width": width}

    def transform(self, inpt, params):
        return F.resized_crop(inpt, **params, size=self.size, interpolation=self.interpolation,
                              antialias=self.antialias)


class RandomCrop(Transform):
    """Crop a random (h, w) box, after optional padding (see v1's RandomCrop)."""

    def __init__(self, size, padding=None, pad_if_needed: bool = False, fill=0,
                 padding_mode: str = "constant") -> None:
        super().__init__()
        self.size = tuple(T1._setup_size(size, "Please provide only two dimensions (h, w) for size."))
        self.padding = None if padding is None else F1._padding_ltrb(padding)
        self.pad_if_needed, self.fill, self.padding_mode = pad_if_needed, fill, padding_mode

    def make_params(self, flat_inputs):
        h, w = query_size(flat_inputs)
        left, top, right, bottom = self.padding or (0, 0, 0, 0)
        h, w = h + top + bottom, w + left + right
        if self.pad_if_needed:
            grow_w, grow_h = max(self.size[1] - w, 0), max(self.size[0] - h, 0)
            left, right, top, bottom = left + grow_w, right + grow_w, top + grow_h, bottom + grow_h
            h, w = h + 2 * grow_h, w + 2 * grow_w
        i, j, th, tw = T1.RandomCrop.get_params(_size_stub(h, w), self.size)
        return {"padding": [left, top, right, bottom], "crop": (i, j, th, tw)}

    def transform(self, inpt, params):
        if any(params["padding"]):
            inpt = F.pad(inpt, params["padding"], fill_for(self.fill, inpt), self.padding_mode)
        return F.crop(inpt, *params["crop"])


class Pad(Transform):
    """Pad the borders (see v1's Pad)."""

    def __init__(self, padding, fill=0, padding_mode: str = "constant") -> None:
        super().__init__()
        T1.Pad(padding, 0, padding_mode)  # validates padding and mode as v1 does
        self.padding, self.fill, self.padding_mode = padding, fill, padding_mode

    def transform(self, inpt, params):
        return F.pad(inpt, self.padding, fill_for(self.fill, inpt), self.padding_mode)


class RandomRotation(Transform):
    """Rotate by an angle drawn from ``degrees``; boxes need expand=False."""

    def __init__(self, degrees, interpolation=InterpolationMode.NEAREST, expand: bool = False,
                 center: Sequence[int] | None = None, fill=0) -> None:
        super().__init__()
        v1 = T1.RandomRotation(degrees, interpolation, expand, center)
        self.degrees, self.interpolation, self.expand, self.center = v1.degrees, v1.interpolation, expand, center
        self.fill = fill

    def make_params(self, flat_inputs):
        return {"angle": T1.RandomRotation.get_params(self.degrees)}

    def transform(self, inpt, params):
        return F.rotate(inpt, params["angle"], self.interpolation, self.expand, self.center,
                        fill_for(self.fill, inpt, per_channel=True))


class RandomAffine(Transform):
    """A random affine map keeping the image centre (see v1's RandomAffine)."""

    def __init__(self, degrees, translate=None, scale=None, shear=None, interpolation=InterpolationMode.NEAREST,
                 fill=0, center: Sequence[int] | None = None) -> None:
        super().__init__()
        v1 = T1.RandomAffine(degrees, translate, scale, shear, interpolation, 0, center)
        self.degrees, self.translate, self.scale, self.shear = v1.degrees, translate, scale, v1.shear
        self.interpolation, self.fill, self.center = v1.interpolation, fill, center

    def make_params(self, flat_inputs):
        h, w = query_size(flat_inputs)
        angle, translate, scale, shear = T1.RandomAffine.get_params(
            self.degrees, self.translate, self.scale, self.shear, [w, h])
        return {"angle": angle, "translate": translate, "scale": scale, "shear": shear}

    def transform(self, inpt, params):
        return F.affine(inpt, **params, interpolation=self.interpolation,
                        fill=fill_for(self.fill, inpt, per_channel=True), center=self.center)
