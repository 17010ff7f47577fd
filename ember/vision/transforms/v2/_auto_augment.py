"""Automatic augmentation policies: TrivialAugmentWide and RandAugment, and the random
single-operation transforms they are made of (posterize, solarize, ...).

The policies change the image only; a sample holding boxes or masks is refused rather
than passed through unchanged (their shears and translations would leave them behind).
"""
from __future__ import annotations

import math


from ... import tv_tensors
from .._functional_tensor import max_value
from ..functional import InterpolationMode, _interpolation_mode
from ..transforms import _coin
from ...._tensor import Tensor
from ....ops.creation import arange, linspace, randint
from ._geometry import fill_for
from ._transform import Transform, query_chw
from . import functional as F

__all__ = ["RandomPosterize", "RandomSolarize", "RandomAutocontrast", "RandomEqualize", "RandomAdjustSharpness",
           "TrivialAugmentWide", "RandAugment"]


class _RandomOp(Transform):
    """Apply one kernel with probability ``p`` to the images of the sample."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = p

    def make_params(self, flat_inputs):
        return {"apply": _coin(self.p)}

    def transform(self, inpt, params):
        return self._op(inpt) if params["apply"] else inpt


class RandomPosterize(_RandomOp):
    """Keep the ``bits`` highest bits of uint8 images, with probability ``p``."""

    def __init__(self, bits: int, p: float = 0.5) -> None:
        super().__init__(p)
        self.bits = bits

    def _op(self, inpt):
        return F.posterize(inpt, self.bits)


class RandomSolarize(_RandomOp):
    """Invert the values at or above ``threshold``, with probability ``p``."""

    def __init__(self, threshold: float, p: float = 0.5) -> None:
        super().__init__(p)
        self.threshold = threshold

    def _op(self, inpt):
        return F.solarize(inpt, self.threshold)


class RandomAutocontrast(_RandomOp):
    """Stretch each channel to the full range, with probability ``p``."""

    def _op(self, inpt):
        return F.autocontrast(inpt)


class RandomEqualize(_RandomOp):
    """Equalise the histogram of uint8 images, with probability ``p``."""

    def _op(self, inpt):
        return F.equalize(inpt)


class RandomAdjustSharpness(_RandomOp):
    """Change the sharpness by ``sharpness_factor``, with probability ``p``."""

    def __init__(self, sharpness_factor: float, p: float = 0.5) -> None:
        super().__init__(p)
        if sharpness_factor < 0:
            raise ValueError("sharpness_factor must be non-negative")
        self.sharpness_factor = sharpness_factor

    def _op(self, inpt):
        return F.adjust_sharpness(inpt, self.sharpness_factor)


def _apply_op(img, name: str, magnitude: float, interpolation, fill):
    """One augmentation operation of strength ``magnitude`` (as in the reference policies)."""
    fill = fill_for(fill, img, per_channel=True)
    if name == "ShearX":
        return F.affine(img, 0.0, [0, 0], 1.0, [math.degrees(math.atan(magnitude)), 0.0], interpolation, fill,
                        center=[0, 0])
    if name == "ShearY":
        return F.affine(img, 0.0, [0, 0], 1.0, [0.0, math.degrees(math.atan(magnitude))], interpolation, fill,
                        center=[0, 0])
    if name == "TranslateX":
        return F.affine(img, 0.0, [int(magnitude), 0], 1.0, [0.0, 0.0], interpolation, fill)
    if name == "TranslateY":
        return F.affine(img, 0.0, [0, int(magnitude)], 1.0, [0.0, 0.0], interpolation, fill)
    if name == "Rotate":
        return F.rotate(img, magnitude, interpolation, fill=fill)
    if name == "Brightness":
        return F.adjust_brightness(img, 1.0 + magnitude)
    if name == "Color":
        return F.adjust_saturation(img, 1.0 + magnitude)
    if name == "Contrast":
        return F.adjust_contrast(img, 1.0 + magnitude)
    if name == "Sharpness":
        return F.adjust_sharpness(img, 1.0 + magnitude)
    if name == "Posterize":
        return F.posterize(img, int(magnitude))
    if name == "Solarize":
        bound = max_value(img.dtype) if isinstance(img, Tensor) else 255.0
        return F.solarize(img, bound * magnitude)
    if name == "AutoContrast":
        return F.autocontrast(img)
    if name == "Equalize":
        return F.equalize(img)
    return img  # Identity


class _AutoAugment(Transform):
    def __init__(self, interpolation=InterpolationMode.NEAREST, fill=None) -> None:
        super().__init__()
        self.interpolation, self.fill = _interpolation_mode(interpolation), fill

    def _needs_transform_list(self, flat_inputs):
        kinds = [type(x).__name__ for x in flat_inputs if isinstance(x, (tv_tensors.BoundingBoxes, tv_tensors.Mask))]
        if kinds:
            raise TypeError(f"{type(self).__name__}() changes images only and cannot move tv_tensors.{kinds[0]}; "
                            "apply it to the image alone")
        needs = super()._needs_transform_list(flat_inputs)
        if sum(needs) != 1:
            raise TypeError(f"{type(self).__name__}() expects one image in the sample, found {sum(needs)}")
        return needs

    def _space(self, height: int, width: int) -> dict:
        """Operation name -> (magnitudes or None, whether the sign is drawn too)."""
        raise NotImplementedError

    def _draw_op(self, space: dict) -> tuple[str, float]:
        names = list(space)
        name = names[randint(len(names), ()).item()]
        magnitudes, signed = space[name]
        if magnitudes is None:
            return name, 0.0
        magnitude = self._magnitude(magnitudes)
        if signed and randint(2, ()).item():
            magnitude = -magnitude
        return name, magnitude


class TrivialAugmentWide(_AutoAugment):
    """Apply one operation, drawn uniformly with a uniformly drawn strength (of ``num_magnitude_bins``)."""

    def __init__(self, num_magnitude_bins: int = 31, interpolation=InterpolationMode.NEAREST, fill=None) -> None:
        super().__init__(interpolation, fill)
        self.num_magnitude_bins = num_magnitude_bins

    def _space(self, height, width):
        n = self.num_magnitude_bins
        return {
            "Identity": (None, False), "ShearX": (linspace(0.0, 0.99, n), True),
            "ShearY": (linspace(0.0, 0.99, n), True), "TranslateX": (linspace(0.0, 32.0, n), True),
            "TranslateY": (linspace(0.0, 32.0, n), True), "Rotate": (linspace(0.0, 135.0, n), True),
            "Brightness": (linspace(0.0, 0.99, n), True), "Color": (linspace(0.0, 0.99, n), True),
            "Contrast": (linspace(0.0, 0.99, n), True), "Sharpness": (linspace(0.0, 0.99, n), True),
            "Posterize": (8 - (arange(n) / ((n - 1) / 6)).round().int(), False),
            "Solarize": (linspace(1.0, 0.0, n), False), "AutoContrast": (None, False), "Equalize": (None, False),
        }

    def _magnitude(self, magnitudes) -> float:
        return float(magnitudes[randint(len(magnitudes), ()).item()])

    def make_params(self, flat_inputs):
        _, h, w = query_chw(flat_inputs)
        return {"ops": [self._draw_op(self._space(h, w))]}

    def transform(self, inpt, params):
        for name, magnitude in params["ops"]:
            inpt = _apply_op(inpt, name, magnitude, self.interpolation, self.fill)
        return inpt


class RandAugment(TrivialAugmentWide):
    """Apply ``num_ops`` operations, each drawn uniformly, all of strength ``magnitude`` (of
    ``num_magnitude_bins``)."""

    def __init__(self, num_ops: int = 2, magnitude: int = 9, num_magnitude_bins: int = 31,
                 interpolation=InterpolationMode.NEAREST, fill=None) -> None:
        super().__init__(num_magnitude_bins, interpolation, fill)
        self.num_ops, self.magnitude = num_ops, magnitude

    def _space(self, height, width):
        n = self.num_magnitude_bins
        return {
            "Identity": (None, False), "ShearX": (linspace(0.0, 0.3, n), True),
            "ShearY": (linspace(0.0, 0.3, n), True),
            "TranslateX": (linspace(0.0, 150.0 / 331.0 * width, n), True),
            "TranslateY": (linspace(0.0, 150.0 / 331.0 * height, n), True),
            "Rotate": (linspace(0.0, 30.0, n), True), "Brightness": (linspace(0.0, 0.9, n), True),
            "Color": (linspace(0.0, 0.9, n), True), "Contrast": (linspace(0.0, 0.9, n), True),
            "Sharpness": (linspace(0.0, 0.9, n), True),
            "Posterize": (8 - (arange(n) / ((n - 1) / 4)).round().int(), False),
            "Solarize": (linspace(1.0, 0.0, n), False), "AutoContrast": (None, False), "Equalize": (None, False),
        }

    def _magnitude(self, magnitudes) -> float:
        return float(magnitudes[self.magnitude])

    def make_params(self, flat_inputs):
        _, h, w = query_chw(flat_inputs)
        return {"ops": [self._draw_op(self._space(h, w)) for _ in range(self.num_ops)]}


