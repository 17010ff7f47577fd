"""``torchvision.tv_tensors``: tensors that say what they hold, so v2 transforms know how
to move them.

``Image`` (..., C, H, W), ``Mask`` (..., H, W) and ``BoundingBoxes`` (N, 4) with their
``format`` and ``canvas_size`` are Tensor subclasses. As in torchvision, ember ops on them
return plain tensors; the v2 transforms and ``v2.functional`` wrap their results back,
and ``wrap`` does the same for user code.
"""
from __future__ import annotations

from enum import Enum

from PIL import Image as PILImage

from .._tensor import Tensor
from ..ops.creation import as_tensor

__all__ = ["TVTensor", "Image", "Mask", "BoundingBoxes", "BoundingBoxFormat", "wrap"]

_EMPTY = object()


def _alias(cls, tensor: Tensor):
    """An instance of ``cls`` sharing ``tensor``'s data, version counter and graph node.

    A leaf that requires grad is first seen through a view, so that gradients reaching the
    alias flow back to the leaf itself rather than stopping at a second leaf.
    """
    if tensor._requires_grad and tensor._grad_fn is None:
        tensor = tensor.view_as(tensor)
    out = object.__new__(cls)
    Tensor._init(out, tensor._data, tensor._requires_grad, tensor._grad_fn, tensor._output_nr)
    out._vc = tensor._vc
    return out


def _as_tensor(data, dtype, device, requires_grad) -> Tensor:
    t = data if isinstance(data, Tensor) and dtype is None and device is None else \
        as_tensor(data, dtype=dtype, device=device)
    if requires_grad is not None:
        t = t.detach().requires_grad_(requires_grad)
    return t


def _rebuild(cls, rebuild_tensor, args, metadata):
    return cls._wrap(rebuild_tensor(*args), **metadata)


class TVTensor(Tensor):
    """Base of the typed tensors; a plain Tensor in every other respect.

    Like the reference, ``clone``, ``to``, ``detach``, pickling and deepcopy keep the type
    and metadata; every other op returns a plain tensor.
    """

    @classmethod
    def _wrap(cls, tensor: Tensor, **metadata):
        out = _alias(cls, tensor)
        out.__dict__.update(metadata)
        return out

    def clone(self, *args, **kwargs):
        return wrap(Tensor.clone(self, *args, **kwargs), like=self)

    def to(self, *args, **kwargs):
        return wrap(Tensor.to(self, *args, **kwargs), like=self)

    def detach(self):
        return wrap(Tensor.detach(self), like=self)

    def __reduce_ex__(self, protocol):
        rebuild_tensor, args = Tensor.__reduce_ex__(self, protocol)
        return (_rebuild, (type(self), rebuild_tensor, args, dict(self.__dict__)))

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v}" for k, v in self.__dict__.items())
        return f"{type(self).__name__}({Tensor.__repr__(self)}{extra})"


class Image(TVTensor):
    """An image (..., C, H, W); a PIL image becomes (C, H, W) with its values, an (H, W)
    tensor gains a channel dimension."""

    def __new__(cls, data=_EMPTY, *, dtype=None, device=None, requires_grad=None):
        if data is _EMPTY:  # deepcopy's blank instance, filled in by Tensor.__deepcopy__
            return object.__new__(cls)
        if isinstance(data, PILImage.Image):
            from .transforms.functional import pil_to_tensor
            data = pil_to_tensor(data)
        t = _as_tensor(data, dtype, device, requires_grad)
        if t.ndim < 2:
            raise ValueError(f"Image: expected a tensor with at least 2 dimensions (H, W), got shape {tuple(t.shape)}")
        if t.ndim == 2:
            t = t.unsqueeze(0)
        return cls._wrap(t)

    def __init__(self, *args, **kwargs):  # __new__ built it; Tensor.__init__ would rebuild it
        pass


class Mask(TVTensor):
    """A segmentation mask (..., H, W): one label map, or a stack of per-object masks."""

    def __new__(cls, data=_EMPTY, *, dtype=None, device=None, requires_grad=None):
        if data is _EMPTY:  # deepcopy's blank instance, filled in by Tensor.__deepcopy__
            return object.__new__(cls)
        if isinstance(data, PILImage.Image):
            from .transforms.functional import pil_to_tensor
            data = pil_to_tensor(data)[0]
        return cls._wrap(_as_tensor(data, dtype, device, requires_grad))

    def __init__(self, *args, **kwargs):
        pass


class BoundingBoxFormat(Enum):
    """How the four numbers of a box are read."""

    XYXY = "XYXY"  # corners (x1, y1), (x2, y2)
    XYWH = "XYWH"  # corner (x1, y1), width, height
    CXCYWH = "CXCYWH"  # centre, width, height


def _box_format(format) -> BoundingBoxFormat:
    if isinstance(format, str):
        try:
            return BoundingBoxFormat[format.upper()]
        except KeyError:
            raise ValueError(f"BoundingBoxes: unknown format {format!r}; expected one of "
                             f"{[f.name for f in BoundingBoxFormat]}") from None
    if not isinstance(format, BoundingBoxFormat):
        raise TypeError(f"BoundingBoxes: format should be a BoundingBoxFormat or str, got {type(format).__name__}")
    return format


class BoundingBoxes(TVTensor):
    """Boxes (N, 4) on an image of ``canvas_size`` = (height, width), in ``format``.

    A single box (4,) becomes (1, 4).
    """

    format: BoundingBoxFormat
    canvas_size: tuple

    def __new__(cls, data=_EMPTY, *, format=None, canvas_size=None, dtype=None, device=None, requires_grad=None):
        if data is _EMPTY:  # deepcopy's blank instance, filled in by Tensor.__deepcopy__
            return object.__new__(cls)
        if format is None or canvas_size is None:
            raise TypeError("BoundingBoxes() needs the keyword arguments format and canvas_size=(height, width)")
        t = _as_tensor(data, dtype, device, requires_grad)
        if t.ndim == 1:
            t = t.unsqueeze(0)
        if t.ndim != 2 or t.shape[-1] != 4:
            raise ValueError(f"BoundingBoxes: expected shape (N, 4), got {tuple(t.shape)}")
        return cls._wrap(t, format=_box_format(format), canvas_size=tuple(int(s) for s in canvas_size))

    def __init__(self, *args, **kwargs):
        pass


def wrap(wrappee: Tensor, *, like: TVTensor, **kwargs) -> TVTensor:
    """``wrappee`` as the type of ``like``, with ``like``'s metadata unless given in ``kwargs``."""
    metadata = {**like.__dict__, **kwargs}
    return type(like)._wrap(wrappee, **metadata)
