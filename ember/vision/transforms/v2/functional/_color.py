"""Photometric and type-conversion v2 kernels: images go through v1's ``functional``;
masks and boxes pass through the photometric ones unchanged."""
from __future__ import annotations

import numpy as np
from PIL import Image as PILImage

from ....._tensor import Tensor
from .....backend import dtypes
from .... import tv_tensors
from ... import functional as F1
from ..._functional_tensor import max_value
from ._meta import _unwrap, dispatch

__all__ = ["to_image", "pil_to_tensor", "to_pil_image", "to_pure_tensor", "to_dtype", "normalize",
           "rgb_to_grayscale", "to_grayscale", "grayscale_to_rgb", "adjust_brightness", "adjust_contrast",
           "adjust_saturation", "adjust_hue", "gaussian_blur", "erase", "posterize", "solarize", "autocontrast",
           "equalize", "adjust_sharpness"]

pil_to_tensor = F1.pil_to_tensor
to_pil_image = F1.to_pil_image


def to_image(inpt) -> tv_tensors.Image:
    """A PIL image, ndarray (H, W, C) or tensor (..., C, H, W) as an Image, values unchanged."""

    if isinstance(inpt, np.ndarray):
        arr = inpt[:, :, None] if inpt.ndim == 2 else inpt
        return tv_tensors.Image(np.ascontiguousarray(arr.transpose(2, 0, 1)))
    if isinstance(inpt, (Tensor, PILImage.Image)):
        return tv_tensors.Image(_unwrap(inpt) if isinstance(inpt, Tensor) else inpt)
    raise TypeError(f"to_image: input should be a PIL image, ndarray or tensor, got {type(inpt).__name__}")


def to_pure_tensor(inpt: Tensor) -> Tensor:
    """The plain tensor underneath a tv_tensor (the same data)."""
    return _unwrap(inpt)


def _to_dtype_image(image: Tensor, dtype: dtypes.dtype, scale: bool) -> Tensor:
    if not scale or image.dtype == dtype:
        return image.to(dtype)
    if not image.is_floating_point() and dtype.is_floating_point:
        # v2 multiplies by the reciprocal of the range (v1 divides by it): the two differ in
        # the last bit for some values, and results must match the reference's bit for bit.
        return image.to(dtype) * (1.0 / max_value(image.dtype))
    return F1.convert_image_dtype(image, dtype)


def to_dtype(inpt, dtype: dtypes.dtype = dtypes.float32, scale: bool = False):
    """Convert to ``dtype``; with ``scale``, image intensities are rescaled to the new range
    (float [0, 1], integer [0, max]). Masks and boxes never scale."""
    if isinstance(inpt, (tv_tensors.Mask, tv_tensors.BoundingBoxes)):
        return tv_tensors.wrap(_unwrap(inpt).to(dtype), like=inpt)
    if isinstance(inpt, PILImage.Image):
        raise TypeError("to_dtype: PIL images have no dtype; convert them first with to_image")
    return dispatch("to_dtype", inpt, lambda x: _to_dtype_image(x, dtype, scale))


def normalize(inpt, mean, std, inplace: bool = False):
    """(image - mean) / std per channel of a float tensor image."""
    if isinstance(inpt, PILImage.Image):
        raise TypeError("normalize: expected a tensor image, got a PIL image; convert it first with to_image "
                        "and to_dtype(..., scale=True)")
    return dispatch("normalize", inpt, lambda x: F1.normalize(x, mean, std, inplace))


def rgb_to_grayscale(inpt, num_output_channels: int = 1):
    """Luma 0.299 R + 0.587 G + 0.114 B, as 1 channel or repeated over 3."""
    return dispatch("rgb_to_grayscale", inpt, lambda x: F1.rgb_to_grayscale(x, num_output_channels))


to_grayscale = rgb_to_grayscale


def grayscale_to_rgb(inpt):
    """A 1-channel image repeated over 3 channels (3-channel images are returned as they are)."""
    def kernel(x):
        if isinstance(x, PILImage.Image):
            return x.convert("RGB")
        return x if F1.get_dimensions(x)[0] == 3 else F1.rgb_to_grayscale(x, 3)
    return dispatch("grayscale_to_rgb", inpt, kernel)


def adjust_brightness(inpt, brightness_factor: float):
    return dispatch("adjust_brightness", inpt, lambda x: F1.adjust_brightness(x, brightness_factor))


def adjust_contrast(inpt, contrast_factor: float):
    return dispatch("adjust_contrast", inpt, lambda x: F1.adjust_contrast(x, contrast_factor))


def adjust_saturation(inpt, saturation_factor: float):
    return dispatch("adjust_saturation", inpt, lambda x: F1.adjust_saturation(x, saturation_factor))


def adjust_hue(inpt, hue_factor: float):
    return dispatch("adjust_hue", inpt, lambda x: F1.adjust_hue(x, hue_factor))


def gaussian_blur(inpt, kernel_size, sigma=None):
    return dispatch("gaussian_blur", inpt, lambda x: F1.gaussian_blur(x, kernel_size, sigma))


def erase(inpt, i: int, j: int, h: int, w: int, v, inplace: bool = False):
    """Set the box (i, j, h, w) of a tensor image to ``v``."""
    return dispatch("erase", inpt, lambda x: F1.erase(x, i, j, h, w, v, inplace))


def posterize(inpt, bits: int):
    return dispatch("posterize", inpt, lambda x: F1.posterize(x, bits))


def solarize(inpt, threshold: float):
    return dispatch("solarize", inpt, lambda x: F1.solarize(x, threshold))


def autocontrast(inpt):
    return dispatch("autocontrast", inpt, F1.autocontrast)


def equalize(inpt):
    return dispatch("equalize", inpt, F1.equalize)


def adjust_sharpness(inpt, sharpness_factor: float):
    return dispatch("adjust_sharpness", inpt, lambda x: F1.adjust_sharpness(x, sharpness_factor))
