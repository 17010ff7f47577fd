"""``torchvision.transforms.functional``: the stateless image transforms.

Each function accepts a PIL image or a tensor image (..., C, H, W) and returns the
same kind: PIL images go through Pillow's own operations, tensors through ember ops.
"""
from __future__ import annotations

import math
import numbers
import warnings
from enum import Enum
from typing import Sequence

import numpy as np
from PIL import Image

from ..._tensor import Tensor
from ...backend import dtypes
from ...ops.creation import as_tensor, from_numpy
from . import _functional_pil as F_pil
from . import _functional_tensor as F_t
from ._functional_tensor import convert_image_dtype

__all__ = [
    "InterpolationMode", "get_dimensions", "get_image_size", "get_image_num_channels", "to_tensor",
    "pil_to_tensor", "convert_image_dtype", "to_pil_image", "normalize", "resize", "crop",
    "center_crop", "resized_crop", "pad", "hflip", "vflip", "rotate", "affine", "rgb_to_grayscale",
    "to_grayscale", "adjust_brightness", "adjust_contrast", "adjust_saturation", "adjust_hue",
    "gaussian_blur", "erase", "posterize", "solarize", "autocontrast", "equalize", "adjust_sharpness",
]


class InterpolationMode(Enum):
    """How pixels between samples are computed. Tensors support NEAREST, NEAREST_EXACT,
    BILINEAR and BICUBIC; PIL images all of them."""

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


pil_modes_mapping = {
    InterpolationMode.NEAREST: Image.Resampling.NEAREST,
    InterpolationMode.NEAREST_EXACT: Image.Resampling.NEAREST,
    InterpolationMode.BILINEAR: Image.Resampling.BILINEAR,
    InterpolationMode.BICUBIC: Image.Resampling.BICUBIC,
    InterpolationMode.BOX: Image.Resampling.BOX,
    InterpolationMode.HAMMING: Image.Resampling.HAMMING,
    InterpolationMode.LANCZOS: Image.Resampling.LANCZOS,
}

_INT_MODES = {0: InterpolationMode.NEAREST, 1: InterpolationMode.LANCZOS, 2: InterpolationMode.BILINEAR,
              3: InterpolationMode.BICUBIC, 4: InterpolationMode.BOX, 5: InterpolationMode.HAMMING}


def _interpolation_mode(interpolation) -> InterpolationMode:
    """An InterpolationMode from itself or from Pillow's integer constant."""
    if isinstance(interpolation, InterpolationMode):
        return interpolation
    if isinstance(interpolation, int) and int(interpolation) in _INT_MODES:
        return _INT_MODES[int(interpolation)]
    raise TypeError("Argument interpolation should be a InterpolationMode or a corresponding Pillow integer "
                    f"constant, got {interpolation!r}")


def _is_pil(img) -> bool:
    return isinstance(img, Image.Image)


def _check_image(img) -> None:
    if not (_is_pil(img) or isinstance(img, Tensor)):
        raise TypeError(f"img should be PIL Image or Tensor. Got {type(img)}")


# ---- image properties -------------------------------------------------------------------
def get_dimensions(img) -> list[int]:
    """[channels, height, width] of a PIL image or a tensor image."""
    _check_image(img)
    return F_pil.get_dimensions(img) if _is_pil(img) else F_t.get_dimensions(img)


def get_image_size(img) -> list[int]:
    """[width, height] of a PIL image or a tensor image."""
    _, h, w = get_dimensions(img)
    return [w, h]


def get_image_num_channels(img) -> int:
    return get_dimensions(img)[0]


# ---- conversions ------------------------------------------------------------------------
def to_tensor(pic) -> Tensor:
    """A PIL image or ndarray (H, W, C) as a tensor (C, H, W); uint8 data is scaled to
    [0, 1] in the default float dtype, other data keeps its values and dtype."""
    if not (_is_pil(pic) or isinstance(pic, np.ndarray)):
        raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
    if isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        if pic.ndim == 2:
            pic = pic[:, :, None]
        img = from_numpy(np.ascontiguousarray(pic.transpose(2, 0, 1)))
    else:
        # 16- and 32-bit integer and float modes keep their values; every other mode is bytes.
        np_type = {"I": np.int32, "I;16": np.int16, "I;16B": np.int16, "F": np.float32}.get(pic.mode, np.uint8)
        arr = np.array(pic, np_type, copy=True)
        if pic.mode == "1":
            arr = arr * np.uint8(255)
        arr = arr.reshape(pic.size[1], pic.size[0], F_pil.get_image_num_channels(pic))
        img = from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))
    if img.dtype == dtypes.uint8:
        default = dtypes.get_default_dtype()
        if default.np in (np.float32, np.float64):  # the cast and the division below, on the array
            return Tensor._make(np.divide(img._data.astype(default.np), 255))
        return img.to(default) / 255
    return img


def pil_to_tensor(pic) -> Tensor:
    """A PIL image as a tensor (C, H, W) with its values unchanged (uint8 for 8-bit modes).

    16-bit unsigned modes ("I;16") come back as int32, since ember has no uint16 dtype.
    """
    if not _is_pil(pic):
        raise TypeError(f"pic should be PIL Image. Got {type(pic)}")
    arr = np.array(pic, copy=True)
    if arr.dtype == np.uint16:
        arr = arr.astype(np.int32)
    arr = arr.reshape(pic.size[1], pic.size[0], F_pil.get_image_num_channels(pic))
    return from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))


_MODES_BY_CHANNELS = {2: ["LA"], 3: ["RGB", "YCbCr", "HSV"], 4: ["RGBA", "CMYK", "RGBX"]}
_SINGLE_CHANNEL_MODES = {np.dtype(np.uint8): "L", np.dtype(np.int16): "I;16", np.dtype(np.uint16): "I;16",
                         np.dtype(np.int32): "I", np.dtype(np.float32): "F"}


def to_pil_image(pic, mode: str | None = None) -> Image.Image:
    """A tensor (C, H, W) or ndarray (H, W, C) as a PIL image.

    Float data is taken to span [0, 1] and becomes bytes (unless ``mode="F"``). Without
    ``mode``, it is inferred: 1 channel -> L (I;16, I or F for 16-bit, int32, float32
    data), 2 -> LA, 3 -> RGB, 4 -> RGBA.
    """
    if isinstance(pic, Tensor):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        if pic.ndim == 3:
            pic = pic.permute(1, 2, 0)
        pic = pic.detach().numpy(force=True)
    elif not isinstance(pic, np.ndarray):
        raise TypeError(f"pic should be Tensor or ndarray. Got {type(pic)}.")
    if pic.ndim == 2:
        pic = pic[:, :, None]
    if pic.ndim != 3:
        raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
    channels = pic.shape[-1]
    if channels > 4:
        raise ValueError(f"pic should not have > 4 channels. Got {channels} channels.")
    npimg = pic
    if np.issubdtype(npimg.dtype, np.floating) and mode != "F":
        npimg = (npimg * 255).astype(np.uint8)
    if channels == 1:
        npimg = npimg[:, :, 0]
        expected = _SINGLE_CHANNEL_MODES.get(npimg.dtype)
        if mode is not None and mode != expected:
            raise ValueError(f"Incorrect mode ({mode}) supplied for input type {npimg.dtype}. Should be {expected}")
        mode = expected
        if mode == "I;16":  # Pillow's 16-bit mode holds unsigned values and infers itself from them
            return Image.fromarray(np.ascontiguousarray(npimg.astype(np.uint16)))
    else:
        permitted = _MODES_BY_CHANNELS[channels]
        if mode is not None and mode not in permitted:
            raise ValueError(f"Only modes {permitted} are supported for {channels}D inputs")
        if mode is None and npimg.dtype == np.uint8:
            mode = permitted[0]
    if mode is None:
        raise TypeError(f"Input type {npimg.dtype} is not supported")
    return Image.fromarray(np.ascontiguousarray(npimg), mode=mode)


def normalize(tensor: Tensor, mean: Sequence[float], std: Sequence[float], inplace: bool = False) -> Tensor:
    """(tensor - mean) / std per channel of a float tensor image (..., C, H, W)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(tensor)}")
    if not tensor.is_floating_point():
        raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
    if tensor.ndim < 3:
        raise ValueError("Expected tensor to be a tensor image of size (..., C, H, W). Got tensor.size() = "
                         f"{tuple(tensor.shape)}")
    key = _constants_key(mean, std, tensor)
    if key in _NORMALIZE_CONSTANTS:
        mean, std = _NORMALIZE_CONSTANTS[key]
    else:
        mean, std = _normalize_constants(mean, std, tensor)
        if key is not None:
            if len(_NORMALIZE_CONSTANTS) >= 64:
                _NORMALIZE_CONSTANTS.clear()
            _NORMALIZE_CONSTANTS[key] = mean, std
    if inplace:
        return tensor.sub_(mean).div_(std)
    return (tensor - mean) / std


# A Normalize transform passes the same numbers for every image: their tensors are made once
# per (numbers, dtype, device). Tensors given as mean or std are used as they are.
_NORMALIZE_CONSTANTS: dict = {}


def _numbers_of(v):
    """``v`` as a hashable key when it is a number or a list or tuple of numbers, else None."""
    if type(v) in (int, float):
        return v
    if type(v) in (list, tuple) and all(type(x) in (int, float) for x in v):
        return tuple(v)
    return None


def _constants_key(mean, std, tensor: Tensor):
    m, s = _numbers_of(mean), _numbers_of(std)
    if m is None or s is None:
        return None
    return m, s, tensor.dtype, tensor.device


def _normalize_constants(mean, std, tensor: Tensor) -> tuple[Tensor, Tensor]:
    """mean and std as tensors of the image's dtype and device, a 1-d one shaped (C, 1, 1)."""
    mean = as_tensor(mean, dtype=tensor.dtype, device=tensor.device)
    std = as_tensor(std, dtype=tensor.dtype, device=tensor.device)
    if bool((std._data == 0).any()):  # a check on the constant itself: no ops to dispatch
        raise ValueError(f"std evaluated to zero after conversion to {tensor.dtype}, leading to division by zero.")
    if mean.ndim == 1:
        mean = mean.reshape(-1, 1, 1)
    if std.ndim == 1:
        std = std.reshape(-1, 1, 1)
    return mean, std


# ---- geometry ---------------------------------------------------------------------------
def _resized_size(height: int, width: int, size: list[int], max_size: int | None) -> list[int]:
    """[new_height, new_width]: ``size`` of length 1 sets the shorter edge, keeping the
    aspect ratio (and the longer edge at most ``max_size``)."""
    if len(size) == 2:
        return [size[0], size[1]]
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = size[0], int(size[0] * long / short)
    if max_size is not None:
        if max_size <= size[0]:
            raise ValueError(f"max_size = {max_size} must be strictly greater than the requested size for the "
                             f"smaller edge size = {size}")
        if new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size
    return [new_long, new_short] if width <= height else [new_short, new_long]


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size: int | None = None,
           antialias: bool | None = True):
    """Resize to ``size`` = (h, w), or an int for the shorter edge (aspect ratio kept).

    Args:
        interpolation: an InterpolationMode (or Pillow's integer constant).
        max_size: with an int ``size``, the longest the longer edge may become.
        antialias: smooth before downscaling tensors with BILINEAR/BICUBIC (always on for PIL).
    """
    interpolation = _interpolation_mode(interpolation)
    if isinstance(size, (list, tuple)):
        if len(size) not in (1, 2):
            raise ValueError(f"Size must be an int or a 1 or 2 element tuple/list, not a {len(size)} element "
                             "tuple/list")
        if max_size is not None and len(size) != 1:
            raise ValueError("max_size should only be passed if size specifies the length of the smaller edge, "
                             "i.e. size should be an int or a sequence of length 1 in torchscript mode.")
        size = [int(s) for s in size]
    elif isinstance(size, numbers.Integral):
        size = [int(size)]
    else:
        raise TypeError(f"Size should be int or sequence. Got {type(size)}")
    _, height, width = get_dimensions(img)
    output_size = _resized_size(height, width, size, max_size)
    if [height, width] == output_size:
        return img
    if _is_pil(img):
        if antialias is False:
            warnings.warn("Anti-alias option is always applied for PIL Image input. Argument antialias is ignored.")
        return F_pil.resize(img, output_size, pil_modes_mapping[interpolation])
    if interpolation.value not in ("nearest", "nearest-exact", "bilinear", "bicubic"):
        raise ValueError(f"Interpolation mode '{interpolation.value}' is unsupported with Tensor input")
    return F_t.resize(img, output_size, interpolation.value, bool(antialias))


def crop(img, top: int, left: int, height: int, width: int):
    """The box with corner (top, left) and size (height, width); outside the image is zeros."""
    _check_image(img)
    if _is_pil(img):
        return F_pil.crop(img, top, left, height, width)
    return F_t.crop(img, top, left, height, width)


def center_crop(img, output_size):
    """The centre (h, w) box (an int is a square), zero-padded where larger than the image."""
    if isinstance(output_size, numbers.Number):
        output_size = (int(output_size), int(output_size))
    elif isinstance(output_size, (tuple, list)) and len(output_size) == 1:
        output_size = (output_size[0], output_size[0])
    _, height, width = get_dimensions(img)
    crop_height, crop_width = output_size
    if crop_width > width or crop_height > height:
        grow_w, grow_h = max(crop_width - width, 0), max(crop_height - height, 0)
        img = pad(img, [grow_w // 2, grow_h // 2, (grow_w + 1) // 2, (grow_h + 1) // 2], fill=0)
        _, height, width = get_dimensions(img)
        if crop_width == width and crop_height == height:
            return img
    top = int(round((height - crop_height) / 2.0))
    left = int(round((width - crop_width) / 2.0))
    return crop(img, top, left, crop_height, crop_width)


def resized_crop(img, top: int, left: int, height: int, width: int, size,
                 interpolation=InterpolationMode.BILINEAR, antialias: bool | None = True):
    """Crop the box, then resize it to ``size``."""
    return resize(crop(img, top, left, height, width), size, interpolation, antialias=antialias)


def hflip(img):
    """Mirror left to right."""
    _check_image(img)
    return F_pil.hflip(img) if _is_pil(img) else F_t.hflip(img)


def vflip(img):
    """Mirror top to bottom."""
    _check_image(img)
    return F_pil.vflip(img) if _is_pil(img) else F_t.vflip(img)


def _padding_ltrb(padding) -> list[int]:
    if not isinstance(padding, (numbers.Number, tuple, list)):
        raise TypeError("Got inappropriate padding arg")
    if isinstance(padding, numbers.Number):
        return [int(padding)] * 4
    if len(padding) == 1:
        return [int(padding[0])] * 4
    if len(padding) == 2:
        return [int(padding[0]), int(padding[1])] * 2
    if len(padding) == 4:
        return [int(p) for p in padding]
    raise ValueError(f"Padding must be an int or a 1, 2, or 4 element tuple, not a {len(padding)} element tuple")


def pad(img, padding, fill=0, padding_mode: str = "constant"):
    """Pad the borders.

    Args:
        padding: an int for all borders, (left/right, top/bottom), or (left, top, right, bottom).
            Negative amounts crop.
        fill: the value of constant padding (PIL images take one per band).
        padding_mode: "constant", "edge" (repeat the border pixel), "reflect" (mirror without
            repeating the border) or "symmetric" (mirror repeating it).
    """
    _check_image(img)
    ltrb = _padding_ltrb(padding)
    if not isinstance(fill, (numbers.Number, tuple, list)):
        raise TypeError("Got inappropriate fill arg")
    if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
    if _is_pil(img):
        return F_pil.pad(img, ltrb, fill, padding_mode)
    if not isinstance(fill, numbers.Number):
        raise TypeError("Got inappropriate fill arg: tensor images are padded with a single number")
    return F_t.pad(img, ltrb, fill, padding_mode)


def _inverse_affine_matrix(center, angle: float, translate, scale: float, shear) -> list[float]:
    """The 2x3 matrix (row-major) mapping output to input coordinates of the affine map
    M = T * C * R * S * Sh * C^-1 (translate, rotate by ``angle`` degrees clockwise, scale,
    shear by ``shear`` = (x, y) degrees, all about ``center``)."""
    rot = math.radians(angle)
    sx, sy = math.radians(shear[0]), math.radians(shear[1])
    cx, cy = center
    tx, ty = translate
    # Rotation times shear; its determinant is 1, so its inverse is the adjugate.
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    m = [d / scale, -b / scale, 0.0, -c / scale, a / scale, 0.0]
    m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty) + cx
    m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty) + cy
    return m


def _tensor_fill(fill):
    if fill is None or isinstance(fill, (int, float)):
        return fill
    return [float(v) for v in fill]


def rotate(img, angle: float, interpolation=InterpolationMode.NEAREST, expand: bool = False,
           center: Sequence[int] | None = None, fill=None):
    """Rotate counter-clockwise by ``angle`` degrees about ``center`` (the image centre).

    Args:
        expand: grow the output to hold the whole rotated image.
        fill: the value of pixels outside the rotated image (zeros when None).
    """
    interpolation = _interpolation_mode(interpolation)
    if not isinstance(angle, (int, float)):
        raise TypeError("Argument angle should be int or float")
    if center is not None and not isinstance(center, (list, tuple)):
        raise TypeError("Argument center should be a sequence")
    _check_image(img)
    if _is_pil(img):
        return F_pil.rotate(img, angle, pil_modes_mapping[interpolation], expand, center, fill)
    _, height, width = get_dimensions(img)
    # Tensor coordinates are centred on the image centre.
    center_f = [0.0, 0.0] if center is None else [c - s * 0.5 for c, s in zip(center, (width, height))]
    matrix = _inverse_affine_matrix(center_f, -angle, [0.0, 0.0], 1.0, [0.0, 0.0])
    out_size = F_t.affine_output_size(matrix, width, height) if expand else None
    return F_t.warp_affine(img, matrix, interpolation.value, _tensor_fill(fill), out_size)


def _shear_pair(shear) -> list[float]:
    """[shear_x, shear_y] in degrees from a number (along x), a 1-sequence (both) or a pair."""
    shear = [float(shear), 0.0] if isinstance(shear, numbers.Number) else [float(s) for s in shear]
    if len(shear) == 1:
        shear = [shear[0], shear[0]]
    if len(shear) != 2:
        raise ValueError(f"Shear should be a sequence containing two values. Got {shear}")
    return shear


def affine(img, angle: float, translate: Sequence[int], scale: float, shear, interpolation=InterpolationMode.NEAREST,
           fill=None, center: Sequence[int] | None = None):
    """Rotate by ``angle`` degrees (clockwise), scale, shear by ``shear`` degrees (a number is
    along x; or (x, y)) about ``center``, then translate by ``translate`` = (dx, dy) pixels;
    the image size is kept."""
    interpolation = _interpolation_mode(interpolation)
    if not isinstance(angle, (int, float)):
        raise TypeError("Argument angle should be int or float")
    if not isinstance(translate, (list, tuple)):
        raise TypeError("Argument translate should be a sequence")
    if len(translate) != 2:
        raise ValueError("Argument translate should be a sequence of length 2")
    if scale <= 0.0:
        raise ValueError("Argument scale should be positive")
    if not isinstance(shear, (numbers.Number, list, tuple)):
        raise TypeError("Shear should be either a single value or a sequence of two values")
    if center is not None and not isinstance(center, (list, tuple)):
        raise TypeError("Argument center should be a sequence")
    shear = _shear_pair(shear)
    _, height, width = get_dimensions(img)
    translate = [float(t) for t in translate]
    if _is_pil(img):
        center = [width * 0.5, height * 0.5] if center is None else center
        matrix = _inverse_affine_matrix(center, angle, translate, scale, shear)
        return F_pil.affine(img, matrix, pil_modes_mapping[interpolation], fill)
    center_f = [0.0, 0.0] if center is None else [c - s * 0.5 for c, s in zip(center, (width, height))]
    matrix = _inverse_affine_matrix(center_f, angle, translate, scale, shear)
    return F_t.warp_affine(img, matrix, interpolation.value, _tensor_fill(fill))


# ---- colour -----------------------------------------------------------------------------
def rgb_to_grayscale(img, num_output_channels: int = 1):
    """Luma 0.299 R + 0.587 G + 0.114 B, as 1 channel or repeated over 3."""
    _check_image(img)
    if _is_pil(img):
        return F_pil.to_grayscale(img, num_output_channels)
    return F_t.rgb_to_grayscale(img, num_output_channels)


def to_grayscale(img, num_output_channels: int = 1):
    """rgb_to_grayscale for PIL images."""
    if not _is_pil(img):
        raise TypeError("Input should be PIL Image")
    return F_pil.to_grayscale(img, num_output_channels)


def adjust_brightness(img, brightness_factor: float):
    """Scale intensities by ``brightness_factor`` (0 gives black, 1 the original)."""
    _check_image(img)
    if _is_pil(img):
        return F_pil.adjust_brightness(img, brightness_factor)
    return F_t.adjust_brightness(img, brightness_factor)


def adjust_contrast(img, contrast_factor: float):
    """Blend with the image's mean grey (0 gives solid grey, 1 the original)."""
    _check_image(img)
    if _is_pil(img):
        return F_pil.adjust_contrast(img, contrast_factor)
    return F_t.adjust_contrast(img, contrast_factor)


def adjust_saturation(img, saturation_factor: float):
    """Blend with the grey image (0 gives grey, 1 the original, 2 doubles the saturation)."""
    _check_image(img)
    if _is_pil(img):
        return F_pil.adjust_saturation(img, saturation_factor)
    return F_t.adjust_saturation(img, saturation_factor)


def adjust_hue(img, hue_factor: float):
    """Rotate the hue by ``hue_factor`` turns of the colour circle, in [-0.5, 0.5]."""
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"hue_factor ({hue_factor}) is not in [-0.5, 0.5].")
    _check_image(img)
    if _is_pil(img):
        return F_pil.adjust_hue(img, hue_factor)
    return F_t.adjust_hue(img, hue_factor)


def gaussian_blur(img, kernel_size, sigma=None):
    """Blur with a Gaussian kernel, reflecting at the borders.

    Args:
        kernel_size: odd positive (kx, ky), or an int for both.
        sigma: (sx, sy) or one number; when None, 0.3 * ((k - 1) * 0.5 - 1) + 0.8 per axis.
    """
    if not isinstance(kernel_size, (int, list, tuple)):
        raise TypeError(f"kernel_size should be int or a sequence of integers. Got {type(kernel_size)}")
    if isinstance(kernel_size, int):
        kernel_size = [kernel_size, kernel_size]
    if len(kernel_size) != 2:
        raise ValueError(f"If kernel_size is a sequence its length should be 2. Got {len(kernel_size)}")
    for k in kernel_size:
        if k % 2 == 0 or k < 0:
            raise ValueError(f"kernel_size should have odd and positive integers. Got {kernel_size}")
    if sigma is None:
        sigma = [k * 0.15 + 0.35 for k in kernel_size]
    if not isinstance(sigma, (int, float, list, tuple)):
        raise TypeError(f"sigma should be either float or sequence of floats. Got {type(sigma)}")
    if isinstance(sigma, (int, float)):
        sigma = [float(sigma), float(sigma)]
    if len(sigma) == 1:
        sigma = [sigma[0], sigma[0]]
    if len(sigma) != 2:
        raise ValueError(f"If sigma is a sequence, its length should be 2. Got {len(sigma)}")
    if any(s <= 0.0 for s in sigma):
        raise ValueError(f"sigma should have positive values. Got {sigma}")
    _check_image(img)
    if _is_pil(img):
        out = F_t.gaussian_blur(pil_to_tensor(img), list(kernel_size), [float(s) for s in sigma])
        return to_pil_image(out, mode=img.mode)
    return F_t.gaussian_blur(img, list(kernel_size), [float(s) for s in sigma])


def _kernel(name: str, img, *args):
    """``name`` from Pillow's side or the tensor side, whichever ``img`` is."""
    _check_image(img)
    return getattr(F_pil if _is_pil(img) else F_t, name)(img, *args)


def posterize(img, bits: int):
    """Keep the ``bits`` (0-8) highest bits of each uint8 value."""
    if not 0 <= bits <= 8:
        raise ValueError(f"The number if bits should be between 0 and 8. Got {bits}")
    return _kernel("posterize", img, bits)


def solarize(img, threshold: float):
    """Invert the values at or above ``threshold``."""
    return _kernel("solarize", img, threshold)


def autocontrast(img):
    """Stretch each channel to span the full intensity range."""
    return _kernel("autocontrast", img)


def equalize(img):
    """Equalise the histogram of each channel (uint8 images)."""
    return _kernel("equalize", img)


def adjust_sharpness(img, sharpness_factor: float):
    """Blend with a smoothed image: 0 smooths, 1 is the original, 2 sharpens."""
    return _kernel("adjust_sharpness", img, sharpness_factor)


def erase(img: Tensor, i: int, j: int, h: int, w: int, v, inplace: bool = False) -> Tensor:
    """Set the box with corner (i, j) and size (h, w) of a tensor image to ``v``."""
    if not isinstance(img, Tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(img)}")
    if not inplace:
        img = img.clone()
    img[..., i:i + h, j:j + w] = v
    return img
