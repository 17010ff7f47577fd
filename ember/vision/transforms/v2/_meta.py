"""v2 transforms for boxes (format, clamping, dropping degenerate ones) and for types
(PIL <-> tensor, Image, dtype, normalisation)."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
from PIL import Image as PILImage

from ...._tensor import Tensor
from ....backend import dtypes
from ... import tv_tensors
from ._transform import Transform, tree_flatten
from . import functional as F
from .functional._meta import _to_xyxy, _unwrap

__all__ = ["ConvertBoundingBoxFormat", "ClampBoundingBoxes", "SanitizeBoundingBoxes", "ToImage", "PILToTensor",
           "ToPILImage", "ToPureTensor", "ToDtype", "Normalize"]


class ConvertBoundingBoxFormat(Transform):
    """Boxes in ``format`` ("XYXY", "XYWH" or "CXCYWH")."""

    _transformed_types = (tv_tensors.BoundingBoxes,)

    def __init__(self, format) -> None:
        super().__init__()
        self.format = tv_tensors._box_format(format)

    def transform(self, inpt, params):
        return F.convert_bounding_box_format(inpt, new_format=self.format)


class ClampBoundingBoxes(Transform):
    """Boxes clipped to their canvas."""

    _transformed_types = (tv_tensors.BoundingBoxes,)

    def transform(self, inpt, params):
        return F.clamp_bounding_boxes(inpt)


def _find_labels(sample) -> Any:
    """The "labels" entry (else the first key holding "label") of the sample's dict: the
    sample itself, or its second item."""
    if isinstance(sample, (tuple, list)) and len(sample) > 1:
        sample = sample[1]
    if not isinstance(sample, dict):
        raise ValueError("SanitizeBoundingBoxes: expected the sample, or its second item, to be a dict with a "
                         f"'labels' key, got {type(sample).__name__}; pass labels_getter=None if there are no labels")
    keys = [k for k in sample if isinstance(k, str)]
    key = next((k for k in keys if k.lower() == "labels"), None) or next((k for k in keys if "label" in k.lower()),
                                                                          None)
    if key is None:
        raise ValueError("SanitizeBoundingBoxes: could not infer where the labels are in the sample; pass a callable "
                         "as labels_getter, or labels_getter=None if there are no labels")
    return sample[key]


class SanitizeBoundingBoxes(Transform):
    """Drop boxes smaller than ``min_size`` on a side or ``min_area`` in area, or outside
    their canvas, together with their labels and the masks of the sample (indexed along
    their first dim: one mask per box)."""

    def __init__(self, min_size: float = 1.0, min_area: float = 1.0,
                 labels_getter: str | Callable | None = "default") -> None:
        super().__init__()
        if min_size < 1:
            raise ValueError(f"min_size must be >= 1, got {min_size}.")
        if min_area < 1:
            raise ValueError(f"min_area must be >= 1, got {min_area}.")
        if not (labels_getter is None or labels_getter == "default" or callable(labels_getter)):
            raise ValueError(f"labels_getter should either be 'default', a callable, or None, but got {labels_getter}.")
        self.min_size, self.min_area = min_size, min_area
        self.labels_getter = _find_labels if labels_getter == "default" else labels_getter

    def forward(self, *inputs):
        sample = inputs if len(inputs) > 1 else inputs[0]
        labels = None if self.labels_getter is None else self.labels_getter(sample)
        labels_flat = tree_flatten(labels)[0] if labels is not None else []
        if any(not isinstance(x, Tensor) for x in labels_flat):
            raise ValueError(f"SanitizeBoundingBoxes: the labels should be tensors, got {type(labels).__name__}")
        flat = tree_flatten(sample)[0]
        boxes = [x for x in flat if isinstance(x, tv_tensors.BoundingBoxes)]
        if len(boxes) != 1:
            raise ValueError(f"SanitizeBoundingBoxes: expected one BoundingBoxes in the sample, found {len(boxes)}")
        b = boxes[0]
        for lab in labels_flat:
            if lab.shape[0] != b.shape[0]:
                raise ValueError(f"SanitizeBoundingBoxes: {b.shape[0]} boxes but labels of shape {tuple(lab.shape)}")
        self._valid, self._labels = self._valid_boxes(b), labels_flat
        try:
            return super().forward(*inputs)
        finally:
            del self._valid, self._labels

    def _valid_boxes(self, b: tv_tensors.BoundingBoxes) -> Tensor:
        x = _to_xyxy(_unwrap(b).double(), b.format)
        x1, y1, x2, y2 = x.unbind(-1)
        ws, hs = x2 - x1, y2 - y1
        h, w = b.canvas_size
        valid = (ws >= self.min_size) & (hs >= self.min_size) & (ws * hs >= self.min_area) & (x >= 0).all(-1)
        return valid & (x1 <= w) & (x2 <= w) & (y1 <= h) & (y2 <= h)

    def _needs_transform_list(self, flat_inputs):
        return [isinstance(x, (tv_tensors.BoundingBoxes, tv_tensors.Mask)) or any(x is lab for lab in self._labels)
                for x in flat_inputs]

    def transform(self, inpt, params):
        out = _unwrap(inpt)[self._valid]
        return tv_tensors.wrap(out, like=inpt) if isinstance(inpt, tv_tensors.TVTensor) else out


class ToImage(Transform):
    """PIL images, ndarrays (H, W, C) and plain tensors become Image, values unchanged."""

    _transformed_types = (Tensor, PILImage.Image, np.ndarray)

    def _needs_transform_list(self, flat_inputs):
        needs = super()._needs_transform_list(flat_inputs)
        return [n and not isinstance(x, tv_tensors.TVTensor) for x, n in zip(flat_inputs, needs)]

    def transform(self, inpt, params):
        return F.to_image(inpt)


class PILToTensor(Transform):
    """PIL images become plain tensors (C, H, W), values unchanged."""

    _transformed_types = (PILImage.Image,)

    def transform(self, inpt, params):
        return F.pil_to_tensor(inpt)


class ToPILImage(Transform):
    """Image and plain tensors (C, H, W) become PIL images (``mode`` inferred when None)."""

    _transformed_types = (Tensor, np.ndarray)

    def __init__(self, mode: str | None = None) -> None:
        super().__init__()
        self.mode = mode

    def _needs_transform_list(self, flat_inputs):
        needs = super()._needs_transform_list(flat_inputs)
        return [n and (isinstance(x, (tv_tensors.Image, np.ndarray)) or F.is_pure_tensor(x))
                for x, n in zip(flat_inputs, needs)]

    def transform(self, inpt, params):
        return F.to_pil_image(_unwrap(inpt) if isinstance(inpt, Tensor) else inpt, self.mode)


class ToPureTensor(Transform):
    """Every tv_tensor becomes the plain tensor underneath."""

    _transformed_types = (tv_tensors.TVTensor,)

    def transform(self, inpt, params):
        return F.to_pure_tensor(inpt)


class ToDtype(Transform):
    """Convert to ``dtype``, rescaling image intensities if ``scale``.

    ``dtype`` is one dtype (images only: the Image, or the plain tensor taken for the
    image) or a dict from tv_tensor type (or "others") to a dtype or None (unchanged).
    """

    def __init__(self, dtype, scale: bool = False) -> None:
        super().__init__()
        if not isinstance(dtype, (dict, dtypes.dtype)):
            raise ValueError(f"dtype must be a dtype or a dict from types to dtypes, got {type(dtype).__name__}")
        self.dtype, self.scale = dtype, scale

    def transform(self, inpt, params):
        if isinstance(self.dtype, dict):
            kind = Tensor if F.is_pure_tensor(inpt) else type(inpt)
            dtype = self.dtype.get(kind, self.dtype.get("others"))
        else:
            dtype = self.dtype if isinstance(inpt, tv_tensors.Image) or F.is_pure_tensor(inpt) else None
        if dtype is None or isinstance(inpt, PILImage.Image):
            return inpt
        return F.to_dtype(inpt, dtype, self.scale)


class Normalize(Transform):
    """(image - mean) / std per channel of float tensor images."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False) -> None:
        super().__init__()
        self.mean, self.std, self.inplace = list(mean), list(std), inplace

    def transform(self, inpt, params):
        return F.normalize(inpt, self.mean, self.std, self.inplace)
