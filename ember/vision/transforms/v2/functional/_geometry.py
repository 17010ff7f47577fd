"""Geometric v2 kernels: images and masks go through v1's ``functional``; boxes move with
them (in XYXY, then back to their format) and are clipped to the new canvas where the
image kernel cuts pixels off (crop, affine, rotate)."""
from __future__ import annotations

import numbers

import numpy as np

from ....._tensor import Tensor
from .....ops.creation import as_tensor
from .....ops.join import stack
from ... import functional as F1
from ...functional import InterpolationMode, _interpolation_mode
from ._meta import box_kernel, clamp_xyxy, dispatch

__all__ = ["horizontal_flip", "hflip", "vertical_flip", "vflip", "resize", "crop", "center_crop",
           "resized_crop", "pad", "rotate", "affine"]

_NEAREST = InterpolationMode.NEAREST


def _offset(boxes: Tensor, dx: float, dy: float) -> Tensor:
    return boxes + as_tensor([dx, dy, dx, dy], dtype=boxes.dtype, device=boxes.device)


def horizontal_flip(inpt):
    """Mirror left to right."""
    def boxes(x, canvas):
        x1, y1, x2, y2 = x.unbind(-1)
        return stack((canvas[1] - x2, y1, canvas[1] - x1, y2), -1), canvas
    return dispatch("horizontal_flip", inpt, F1.hflip, mask=F1.hflip, boxes=box_kernel(boxes))


def vertical_flip(inpt):
    """Mirror top to bottom."""
    def boxes(x, canvas):
        x1, y1, x2, y2 = x.unbind(-1)
        return stack((x1, canvas[0] - y2, x2, canvas[0] - y1), -1), canvas
    return dispatch("vertical_flip", inpt, F1.vflip, mask=F1.vflip, boxes=box_kernel(boxes))


hflip, vflip = horizontal_flip, vertical_flip


def _output_size(canvas, size, max_size) -> list[int]:
    if isinstance(size, numbers.Integral):
        size = [size]
    return F1._resized_size(canvas[0], canvas[1], [int(s) for s in size], max_size)


def _resize_boxes(x: Tensor, canvas, new_size):
    scale_x, scale_y = new_size[1] / canvas[1], new_size[0] / canvas[0]
    return x * as_tensor([scale_x, scale_y, scale_x, scale_y], dtype=x.dtype, device=x.device), tuple(new_size)


def resize(inpt, size, interpolation=InterpolationMode.BILINEAR, max_size: int | None = None,
           antialias: bool | None = True):
    """Resize to ``size`` = (h, w), or an int for the shorter edge; masks use nearest."""
    interpolation = _interpolation_mode(interpolation)
    return dispatch(
        "resize", inpt, lambda x: F1.resize(x, size, interpolation, max_size, antialias),
        mask=lambda m: F1.resize(m, size, _NEAREST, max_size),
        boxes=box_kernel(lambda x, canvas: _resize_boxes(x, canvas, _output_size(canvas, size, max_size))))


def _crop_boxes(x: Tensor, top: int, left: int, height: int, width: int):
    return clamp_xyxy(_offset(x, -left, -top), (height, width)), (height, width)


def crop(inpt, top: int, left: int, height: int, width: int):
    """The box (top, left, height, width); outside the image is zeros."""
    kernel = lambda x: F1.crop(x, top, left, height, width)  # noqa: E731
    return dispatch("crop", inpt, kernel, mask=kernel,
                    boxes=box_kernel(lambda x, canvas: _crop_boxes(x, top, left, height, width)))


def _center_crop_anchor(size: int, crop_size: int) -> int:
    """Where v1's center_crop starts along one axis: it pads an axis shorter than the crop
    by (crop - size) // 2 before, then crops from the start of that axis."""
    if crop_size > size:
        return -((crop_size - size) // 2)
    return int(round((size - crop_size) / 2.0))


def center_crop(inpt, output_size):
    """The centre (h, w) box (an int is a square), zero-padded where larger than the image."""
    if isinstance(output_size, numbers.Number):
        output_size = (int(output_size), int(output_size))
    elif len(output_size) == 1:
        output_size = (output_size[0], output_size[0])
    ch, cw = output_size

    def boxes(x, canvas):
        return _crop_boxes(x, _center_crop_anchor(canvas[0], ch), _center_crop_anchor(canvas[1], cw), ch, cw)
    kernel = lambda x: F1.center_crop(x, output_size)  # noqa: E731
    return dispatch("center_crop", inpt, kernel, mask=kernel, boxes=box_kernel(boxes))


def resized_crop(inpt, top: int, left: int, height: int, width: int, size,
                 interpolation=InterpolationMode.BILINEAR, antialias: bool | None = True):
    """Crop the box, then resize it to ``size``."""
    interpolation = _interpolation_mode(interpolation)

    def boxes(x, canvas):
        x, canvas = _crop_boxes(x, top, left, height, width)
        return _resize_boxes(x, canvas, _output_size(canvas, size, None))
    return dispatch("resized_crop", inpt,
                    lambda x: F1.resized_crop(x, top, left, height, width, size, interpolation, antialias),
                    mask=lambda m: F1.resized_crop(m, top, left, height, width, size, _NEAREST),
                    boxes=box_kernel(boxes))


def pad(inpt, padding, fill=0, padding_mode: str = "constant"):
    """Pad the borders (see v1's ``pad``); boxes shift by the left and top padding."""
    left, top, right, bottom = F1._padding_ltrb(padding)

    def boxes(x, canvas):
        return _offset(x, left, top), (canvas[0] + top + bottom, canvas[1] + left + right)
    return dispatch("pad", inpt, lambda x: F1.pad(x, padding, fill, padding_mode),
                    mask=lambda m: F1.pad(m, padding, 0 if fill is None else fill, padding_mode),
                    boxes=box_kernel(boxes))


def _warp_boxes(x: Tensor, canvas, inverse: list[float]):
    """Boxes through the affine map whose output-to-input matrix (pixel coordinates) is
    ``inverse``: the 4 corners of each box are mapped and enclosed, then clipped."""
    inv = np.vstack([np.array(inverse, np.float64).reshape(2, 3), [0.0, 0.0, 1.0]])
    fwd = np.linalg.inv(inv)[:2]
    x1, y1, x2, y2 = x.unbind(-1)
    corners = stack((stack((x1, y1), -1), stack((x2, y1), -1), stack((x1, y2), -1), stack((x2, y2), -1)), -2)
    lin = as_tensor(fwd[:, :2].T, dtype=x.dtype, device=x.device)
    shift = as_tensor(fwd[:, 2], dtype=x.dtype, device=x.device)
    pts = corners @ lin + shift  # (N, 4, 2)
    lo, hi = pts.amin(-2), pts.amax(-2)
    out = stack((lo[..., 0], lo[..., 1], hi[..., 0], hi[..., 1]), -1)
    return clamp_xyxy(out, canvas), canvas


def _no_expand_boxes(name: str):
    raise NotImplementedError(f"{name}: boxes are moved only with expand=False; rotate the image with "
                              "expand=True alone, or keep the canvas (expand=False)")


def rotate(inpt, angle: float, interpolation=_NEAREST, expand: bool = False, center=None, fill=None):
    """Rotate counter-clockwise by ``angle`` degrees about ``center`` (the image centre)."""
    def boxes(x, canvas):
        if expand:
            _no_expand_boxes("rotate")
        c = [canvas[1] * 0.5, canvas[0] * 0.5] if center is None else [float(v) for v in center]
        return _warp_boxes(x, canvas, F1._inverse_affine_matrix(c, -angle, [0.0, 0.0], 1.0, [0.0, 0.0]))
    return dispatch("rotate", inpt, lambda x: F1.rotate(x, angle, interpolation, expand, center, fill),
                    mask=lambda m: F1.rotate(m, angle, _NEAREST, expand, center, fill),
                    boxes=box_kernel(boxes))


def affine(inpt, angle: float, translate, scale: float, shear, interpolation=_NEAREST, fill=None, center=None):
    """Rotate (clockwise), scale, shear about ``center``, then translate; the size is kept."""
    def boxes(x, canvas):
        c = [canvas[1] * 0.5, canvas[0] * 0.5] if center is None else [float(v) for v in center]
        inverse = F1._inverse_affine_matrix(c, angle, [float(t) for t in translate], scale, F1._shear_pair(shear))
        return _warp_boxes(x, canvas, inverse)
    return dispatch("affine", inpt,
                    lambda x: F1.affine(x, angle, translate, scale, shear, interpolation, fill, center),
                    mask=lambda m: F1.affine(m, angle, translate, scale, shear, _NEAREST, fill, center),
                    boxes=box_kernel(boxes))


