"""``torchvision.utils``: tile a batch of images into one grid image, and save it as PNG."""
from __future__ import annotations

import math
import os
import tempfile
from typing import BinaryIO

from PIL import Image

from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..backend import dtypes
from ..ops.join import cat, stack

__all__ = ["make_grid", "save_image"]


@no_grad()
def make_grid(tensor: Tensor | list[Tensor], nrow: int = 8, padding: int = 2, normalize: bool = False,
              value_range: tuple[float, float] | None = None, scale_each: bool = False,
              pad_value: float = 0.0) -> Tensor:
    """Tile images into a grid of ``nrow`` columns, ``padding`` pixels of ``pad_value`` apart.

    Args:
        tensor: a batch (B, C, H, W), one image (C, H, W) or (H, W), or a list of same-sized images.
            One-channel images are repeated over 3 channels.
        normalize: shift and scale to [0, 1], using ``value_range`` = (min, max) (values outside
            are clipped) or else the images' min and max.
        scale_each: normalize each image by its own min and max.

    Shape:
        (B, C, H, W) -> (C, rows * (H + padding) + padding, cols * (W + padding) + padding),
        with cols = min(nrow, B) and rows = ceil(B / cols); a single image is returned unpadded.
    """
    if not isinstance(tensor, Tensor):
        if not isinstance(tensor, list):
            raise TypeError(f"tensor or list of tensors expected, got {type(tensor)}")
        for t in tensor:
            if not isinstance(t, Tensor):
                raise TypeError(f"tensor or list of tensors expected, got a list containing {type(t)}")
        tensor = stack(tensor, 0)
    if tensor.ndim == 2:
        tensor = tensor.unsqueeze(0)
    if tensor.ndim == 3:
        if tensor.shape[0] == 1:
            tensor = cat((tensor, tensor, tensor), 0)
        tensor = tensor.unsqueeze(0)
    if tensor.ndim == 4 and tensor.shape[1] == 1:
        tensor = cat((tensor, tensor, tensor), 1)
    if tensor.ndim != 4:
        raise ValueError(f"make_grid expects images (B, C, H, W), (C, H, W) or (H, W); got shape "
                         f"{tuple(tensor.shape)}")
    if normalize:
        if value_range is not None and not isinstance(value_range, tuple):
            raise TypeError("value_range has to be a tuple (min, max) if specified. min and max are numbers")
        tensor = _normalize(tensor, value_range, scale_each)
    if tensor.shape[0] == 1:
        return tensor.squeeze(0)
    nmaps, channels, h, w = tensor.shape
    xmaps = min(nrow, nmaps)
    ymaps = int(math.ceil(float(nmaps) / xmaps))
    height, width = h + padding, w + padding
    grid = tensor.new_full((channels, height * ymaps + padding, width * xmaps + padding), pad_value)
    for k in range(nmaps):
        y, x = divmod(k, xmaps)
        grid[:, y * height + padding:(y + 1) * height, x * width + padding:(x + 1) * width] = tensor[k]
    return grid


def _normalize(tensor: Tensor, value_range: tuple[float, float] | None, scale_each: bool) -> Tensor:
    """Clip to (low, high) and map it to [0, 1]; low, high are the data's min and max by default,
    per image with ``scale_each``."""
    images = tensor.unbind(0) if scale_each else (tensor,)
    out = []
    for img in images:
        if value_range is not None:
            low, high = float(value_range[0]), float(value_range[1])
        else:
            low, high = float(img.min()), float(img.max())
        out.append((img.clamp(min=low, max=high) - low) / max(high - low, 1e-5))
    return stack(out, 0) if scale_each else out[0]


@no_grad()
def save_image(tensor: Tensor | list[Tensor], fp: str | os.PathLike | BinaryIO, format: str | None = None,
               **kwargs) -> None:
    """Save images (see make_grid, which takes ``kwargs``) as one image file, PNG by default
    for names without an extension Pillow knows. Values in [0, 1] map to 0..255 (rounded).

    A file name is written atomically: to a temporary file next to it, then renamed over it.
    """
    grid = make_grid(tensor, **kwargs)
    pixels = (grid * 255 + 0.5).clamp(0, 255).to(dtypes.uint8).permute(1, 2, 0)
    im = Image.fromarray(pixels.numpy(force=True))
    if not isinstance(fp, (str, os.PathLike)):
        im.save(fp, format=format or "PNG")
        return
    path = os.fspath(fp)
    if format is None:
        format = Image.registered_extensions().get(os.path.splitext(path)[1].lower(), "PNG")
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            im.save(f, format=format)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
