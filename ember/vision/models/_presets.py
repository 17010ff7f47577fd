"""The evaluation preprocessing that pretrained classifiers expect (``weights.transforms()``)."""
from __future__ import annotations

from typing import Sequence

from ..._tensor import Tensor
from ...backend import dtypes
from ... import nn
from ..transforms import functional as F
from ..transforms.functional import InterpolationMode

__all__ = ["ImageClassification"]


class ImageClassification(nn.Module):
    """Resize the shorter edge to ``resize_size``, crop the centre ``crop_size`` square, convert
    to a float tensor in [0, 1] and normalise with ``mean`` / ``std`` (ImageNet's by default).

    Accepts a PIL image or a tensor image (C, H, W) or batch (B, C, H, W); returns float32.
    """

    def __init__(self, *, crop_size: int, resize_size: int = 256,
                 mean: Sequence[float] = (0.485, 0.456, 0.406), std: Sequence[float] = (0.229, 0.224, 0.225),
                 interpolation: InterpolationMode = InterpolationMode.BILINEAR, antialias: bool | None = True) -> None:
        super().__init__()
        self.crop_size = [crop_size]
        self.resize_size = [resize_size]
        self.mean = list(mean)
        self.std = list(std)
        self.interpolation = interpolation
        self.antialias = antialias

    def forward(self, img) -> Tensor:
        img = F.resize(img, self.resize_size, interpolation=self.interpolation, antialias=self.antialias)
        img = F.center_crop(img, self.crop_size)
        if not isinstance(img, Tensor):
            img = F.pil_to_tensor(img)
        img = F.convert_image_dtype(img, dtypes.float32)
        return F.normalize(img, mean=self.mean, std=self.std)

    def __repr__(self) -> str:
        fields = (f"crop_size={self.crop_size}", f"resize_size={self.resize_size}", f"mean={self.mean}",
                  f"std={self.std}", f"interpolation={self.interpolation}")
        return type(self).__name__ + "(" + "".join(f"\n    {field}" for field in fields) + "\n)"
