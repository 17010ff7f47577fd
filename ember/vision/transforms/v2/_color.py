"""Photometric v2 transforms: they change image pixels and leave masks and boxes alone."""
from __future__ import annotations

import warnings

import numpy as np
from PIL import Image as PILImage

from ...._tensor import Tensor
from ... import tv_tensors
from .. import _photometric as P1
from ..transforms import _coin
from ._transform import Transform, query_chw
from . import functional as F

__all__ = ["ColorJitter", "Grayscale", "RandomGrayscale", "GaussianBlur", "RandomErasing"]


class ColorJitter(Transform):
    """Randomly change brightness, contrast, saturation and hue, in a random order."""

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0) -> None:
        super().__init__()
        v1 = P1.ColorJitter(brightness, contrast, saturation, hue)
        self.brightness, self.contrast, self.saturation, self.hue = v1.brightness, v1.contrast, v1.saturation, v1.hue

    def make_params(self, flat_inputs):
        order, *factors = P1.ColorJitter.get_params(self.brightness, self.contrast, self.saturation, self.hue)
        return {"order": order.tolist(), "factors": factors}

    def transform(self, inpt, params):
        adjust = (F.adjust_brightness, F.adjust_contrast, F.adjust_saturation, F.adjust_hue)
        for k in params["order"]:
            if params["factors"][k] is not None:
                inpt = adjust[k](inpt, params["factors"][k])
        return inpt


class Grayscale(Transform):
    """Convert to grey (1 channel, or the grey repeated over 3)."""

    def __init__(self, num_output_channels: int = 1) -> None:
        super().__init__()
        self.num_output_channels = num_output_channels

    def transform(self, inpt, params):
        return F.rgb_to_grayscale(inpt, self.num_output_channels)


class RandomGrayscale(Transform):
    """Convert to grey with probability ``p``, keeping the number of channels."""

    def __init__(self, p: float = 0.1) -> None:
        super().__init__()
        self.p = p

    def make_params(self, flat_inputs):
        return {"apply": _coin(self.p), "channels": query_chw(flat_inputs)[0]}

    def transform(self, inpt, params):
        return F.rgb_to_grayscale(inpt, params["channels"]) if params["apply"] else inpt


class GaussianBlur(Transform):
    """Blur with a Gaussian of ``kernel_size`` and a sigma drawn from ``sigma`` = (min, max)."""

    def __init__(self, kernel_size, sigma=(0.1, 2.0)) -> None:
        super().__init__()
        v1 = P1.GaussianBlur(kernel_size, sigma)
        self.kernel_size, self.sigma = v1.kernel_size, v1.sigma

    def make_params(self, flat_inputs):
        return {"sigma": P1.GaussianBlur.get_params(self.sigma[0], self.sigma[1])}

    def transform(self, inpt, params):
        return F.gaussian_blur(inpt, self.kernel_size, [params["sigma"], params["sigma"]])


class RandomErasing(Transform):
    """With probability ``p``, set a random box of the tensor images to ``value`` (see v1's
    RandomErasing); masks and boxes are left as they are."""

    def __init__(self, p: float = 0.5, scale: tuple = (0.02, 0.33), ratio: tuple = (0.3, 3.3), value=0,
                 inplace: bool = False) -> None:
        super().__init__()
        P1.RandomErasing(p, scale, ratio, value, inplace)  # validates the arguments as v1 does
        self.p, self.scale, self.ratio, self.value, self.inplace = p, scale, ratio, value, inplace

    def make_params(self, flat_inputs):
        if any(isinstance(x, PILImage.Image) for x in flat_inputs):
            raise TypeError("RandomErasing: PIL images are not supported; convert them first with ToImage")
        if not _coin(self.p):
            return {"box": None}
        c, h, w = query_chw(flat_inputs)
        value = P1.erase_value(self.value, c)
        i, j, bh, bw, v = P1.RandomErasing.get_params(Tensor._make(_shape_only(c, h, w)), self.scale, self.ratio,
                                                      value)
        if bh == h and bw == w:  # no box fitted: v1 erases the image with itself, a no-op
            return {"box": None}
        return {"box": (i, j, bh, bw, v)}

    def transform(self, inpt, params):
        if isinstance(inpt, (tv_tensors.Mask, tv_tensors.BoundingBoxes)):
            warnings.warn(f"RandomErasing() passes tv_tensors.{type(inpt).__name__} through unchanged; erased "
                          "pixels are not removed from it")
            return inpt
        if params["box"] is None:
            return inpt
        return F.erase(inpt, *params["box"], inplace=self.inplace)


def _shape_only(c: int, h: int, w: int):
    """A zero-strided array of shape (c, h, w): v1's get_params reads only the shape."""
    return np.broadcast_to(np.zeros((), np.float32), (c, h, w))
