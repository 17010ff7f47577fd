"""Type dispatch for ``v2.functional`` and the bounding-box kernels of their own (format
conversion, clamping, sizes).

Every v2 function sends each kind of input to one kernel: PIL images and image tensors go
to v1's ``functional`` (the same kernels as the v1 transforms), masks to the image kernel
with nearest sampling, boxes to a box kernel; typed tensors come back with their type.
"""
from __future__ import annotations

from typing import Callable

from PIL import Image as PILImage

from ....._tensor import Tensor
from .... import tv_tensors
from ....tv_tensors import BoundingBoxes, BoundingBoxFormat, Image, Mask, _box_format
from ... import functional as F1
from ....ops.boxes import box_convert, clip_boxes_to_image

__all__ = ["get_dimensions", "get_size", "get_num_channels", "convert_bounding_box_format",
           "clamp_bounding_boxes", "is_pure_tensor"]


def is_pure_tensor(inpt) -> bool:
    return isinstance(inpt, Tensor) and not isinstance(inpt, tv_tensors.TVTensor)


def _unwrap(t: Tensor) -> Tensor:
    return Tensor._make(t._data, t._requires_grad, t._grad_fn, t._output_nr) if type(t) is not Tensor else t


def _mask_as_image(kernel: Callable, mask: Tensor) -> Tensor:
    """Run an image kernel on a mask (..., H, W): give a lone (H, W) a channel dim."""
    if mask.ndim < 3:
        return kernel(mask.unsqueeze(0)).squeeze(0)
    return kernel(mask)


def dispatch(name: str, inpt, image: Callable, mask: Callable | None = None, boxes: Callable | None = None):
    """Apply the kernel for ``inpt``'s kind.

    ``image(x)`` takes a PIL image or a plain tensor; ``mask(x)`` a plain mask, given a
    channel dim if it is (H, W); ``boxes(x, format, canvas_size)`` plain boxes and returns
    (boxes, canvas_size). Typed tensors without a kernel pass through, as in the reference.
    """
    if isinstance(inpt, BoundingBoxes):
        if boxes is None:
            return inpt
        out, canvas_size = boxes(_unwrap(inpt), inpt.format, inpt.canvas_size)
        return tv_tensors.wrap(out, like=inpt, canvas_size=tuple(canvas_size))
    if isinstance(inpt, Mask):
        if mask is None:
            return inpt
        out = _mask_as_image(mask, _unwrap(inpt))
        return tv_tensors.wrap(out, like=inpt)
    if isinstance(inpt, Image):
        return tv_tensors.wrap(image(_unwrap(inpt)), like=inpt)
    if isinstance(inpt, tv_tensors.TVTensor):
        return inpt
    if isinstance(inpt, (Tensor, PILImage.Image)):
        return image(inpt)
    raise TypeError(f"{name}: input should be a PIL image, a tensor or a tv_tensor, got {type(inpt).__name__}")


def get_dimensions(inpt) -> list[int]:
    """[channels, height, width] of an image (PIL, tensor or Image)."""
    if isinstance(inpt, (BoundingBoxes, Mask)):
        raise TypeError(f"get_dimensions: {type(inpt).__name__} has no channels; use get_size")
    return F1.get_dimensions(inpt)


def get_num_channels(inpt) -> int:
    return get_dimensions(inpt)[0]


def get_size(inpt) -> list[int]:
    """[height, width] of an image, a mask or the canvas of boxes."""
    if isinstance(inpt, BoundingBoxes):
        return list(inpt.canvas_size)
    if isinstance(inpt, Mask):
        return list(inpt.shape[-2:])
    return get_dimensions(inpt)[1:]


def _to_xyxy(boxes: Tensor, fmt: BoundingBoxFormat) -> Tensor:
    return boxes if fmt == BoundingBoxFormat.XYXY else box_convert(boxes, fmt.value.lower(), "xyxy")


def _from_xyxy(boxes: Tensor, fmt: BoundingBoxFormat) -> Tensor:
    return boxes if fmt == BoundingBoxFormat.XYXY else box_convert(boxes, "xyxy", fmt.value.lower())


def _convert_format(boxes: Tensor, old: BoundingBoxFormat, new: BoundingBoxFormat) -> Tensor:
    """Integer boxes come back integer (halves truncated), as in the reference."""
    if old == new:
        return boxes
    dtype = boxes.dtype
    x = boxes if boxes.is_floating_point() else boxes.float()
    return _from_xyxy(_to_xyxy(x, old), new).to(dtype)


def convert_bounding_box_format(inpt, old_format=None, new_format=None):
    """Boxes in ``new_format``; ``old_format`` is read from BoundingBoxes and needed for a plain tensor."""
    if new_format is None:
        raise TypeError("convert_bounding_box_format: missing required argument 'new_format'")
    new_format = _box_format(new_format)
    if isinstance(inpt, BoundingBoxes):
        if old_format is not None:
            raise ValueError("convert_bounding_box_format: old_format must not be passed for BoundingBoxes, "
                             "which carry their own format")
        return tv_tensors.wrap(_convert_format(_unwrap(inpt), inpt.format, new_format), like=inpt, format=new_format)
    if old_format is None:
        raise ValueError("convert_bounding_box_format: old_format is required for a plain tensor")
    return _convert_format(inpt, _box_format(old_format), new_format)


def _clamp(boxes: Tensor, fmt: BoundingBoxFormat, canvas_size) -> Tensor:
    dtype = boxes.dtype
    x = _to_xyxy(boxes if boxes.is_floating_point() else boxes.float(), fmt)
    return _from_xyxy(clip_boxes_to_image(x, tuple(canvas_size)), fmt).to(dtype)


def clamp_bounding_boxes(inpt, format=None, canvas_size=None):
    """Boxes clipped to their canvas (format and canvas_size come with BoundingBoxes)."""
    if isinstance(inpt, BoundingBoxes):
        if format is not None or canvas_size is not None:
            raise ValueError("clamp_bounding_boxes: format and canvas_size must not be passed for BoundingBoxes")
        return tv_tensors.wrap(_clamp(_unwrap(inpt), inpt.format, inpt.canvas_size), like=inpt)
    if format is None or canvas_size is None:
        raise ValueError("clamp_bounding_boxes: format and canvas_size are required for a plain tensor")
    return _clamp(inpt, _box_format(format), canvas_size)


def box_kernel(fn: Callable) -> Callable:
    """A boxes kernel for ``dispatch`` from ``fn(xyxy_float, canvas_size) -> (xyxy, canvas_size)``:
    converts to XYXY floats and back to the boxes' format and dtype."""
    def kernel(boxes: Tensor, fmt: BoundingBoxFormat, canvas_size):
        dtype = boxes.dtype
        x = _to_xyxy(boxes if boxes.is_floating_point() else boxes.float(), fmt)
        out, canvas_size = fn(x, tuple(canvas_size))
        return _from_xyxy(out, fmt).to(dtype), canvas_size
    return kernel


def clamp_xyxy(boxes: Tensor, canvas_size) -> Tensor:
    return _clamp(boxes, BoundingBoxFormat.XYXY, canvas_size)
