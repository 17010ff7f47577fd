"""The PIL-image side of ``ember.vision.transforms.functional``: each function wraps
Pillow's own operation, so PIL inputs give exactly what Pillow gives."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageEnhance, ImageOps


def _is_pil_image(img) -> bool:
    return isinstance(img, Image.Image)


def _check(img) -> None:
    if not _is_pil_image(img):
        raise TypeError(f"img should be PIL Image. Got {type(img)}")


def get_image_num_channels(img: Image.Image) -> int:
    _check(img)
    return len(img.getbands())


def get_dimensions(img: Image.Image) -> list[int]:
    _check(img)
    width, height = img.size
    return [get_image_num_channels(img), height, width]


def get_image_size(img: Image.Image) -> list[int]:
    _check(img)
    return list(img.size)


def parse_fill(fill, img: Image.Image, name: str = "fillcolor") -> dict:
    """Pillow's keyword for a fill colour: one value per band, ints unless the mode is "F"."""
    num_channels = get_image_num_channels(img)
    if fill is None:
        fill = 0
    if isinstance(fill, (int, float)) and num_channels > 1:
        fill = tuple([fill] * num_channels)
    if isinstance(fill, (list, tuple)):
        if len(fill) == 1:
            fill = tuple(fill) * num_channels
        elif len(fill) != num_channels:
            raise ValueError("The number of elements in 'fill' does not match the number of channels of "
                             f"the image ({len(fill)} != {num_channels})")
        fill = tuple(fill)
    if img.mode != "F":
        fill = tuple(int(x) for x in fill) if isinstance(fill, tuple) else int(fill)
    return {name: fill}


def hflip(img: Image.Image) -> Image.Image:
    _check(img)
    return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)


def vflip(img: Image.Image) -> Image.Image:
    _check(img)
    return img.transpose(Image.Transpose.FLIP_TOP_BOTTOM)


def crop(img: Image.Image, top: int, left: int, height: int, width: int) -> Image.Image:
    """Pillow fills the part of the box outside the image with zeros."""
    _check(img)
    return img.crop((left, top, left + width, top + height))


def resize(img: Image.Image, size: list[int], interpolation: int) -> Image.Image:
    _check(img)
    return img.resize((size[1], size[0]), interpolation)


def pad(img: Image.Image, padding: list[int], fill, padding_mode: str) -> Image.Image:
    """Pad by (left, top, right, bottom); negative amounts crop."""
    _check(img)
    if padding_mode == "constant":
        opts = parse_fill(fill, img, name="fill")
        if img.mode == "P":
            palette = img.getpalette()
            out = ImageOps.expand(img, border=tuple(padding), **opts)
            out.putpalette(palette)
            return out
        return ImageOps.expand(img, border=tuple(padding), **opts)
    left, top, right, bottom = padding
    crop_l, crop_t, crop_r, crop_b = (max(-p, 0) for p in padding)
    if crop_l or crop_t or crop_r or crop_b:
        img = img.crop((crop_l, crop_t, img.width - crop_r, img.height - crop_b))
    left, top, right, bottom = (max(p, 0) for p in padding)
    palette = img.getpalette() if img.mode == "P" else None
    arr = np.asarray(img)
    widths = ((top, bottom), (left, right)) + ((0, 0),) * (arr.ndim - 2)
    # PIL's "edge" is NumPy's; "reflect" and "symmetric" are the same names in both.
    out = Image.fromarray(np.pad(arr, widths, padding_mode))
    if palette is not None:
        out.putpalette(palette)
    return out


def rotate(img: Image.Image, angle: float, interpolation: int, expand: bool, center, fill) -> Image.Image:
    _check(img)
    return img.rotate(angle, interpolation, expand, center, **parse_fill(fill, img))


def affine(img: Image.Image, matrix: list[float], interpolation: int, fill) -> Image.Image:
    """``matrix`` maps output coordinates to input coordinates (Pillow's AFFINE data)."""
    _check(img)
    return img.transform(img.size, Image.Transform.AFFINE, matrix, interpolation, **parse_fill(fill, img))


def adjust_brightness(img: Image.Image, factor: float) -> Image.Image:
    _check(img)
    return ImageEnhance.Brightness(img).enhance(factor)


def adjust_contrast(img: Image.Image, factor: float) -> Image.Image:
    _check(img)
    return ImageEnhance.Contrast(img).enhance(factor)


def adjust_saturation(img: Image.Image, factor: float) -> Image.Image:
    _check(img)
    return ImageEnhance.Color(img).enhance(factor)


def adjust_hue(img: Image.Image, hue_factor: float) -> Image.Image:
    """Shift the hue channel of the HSV image, wrapping around (hue is an angle)."""
    _check(img)
    mode = img.mode
    if mode in {"L", "1", "I", "F"}:
        return img
    h, s, v = img.convert("HSV").split()
    # Hue is stored in 0..255: adding a uint8 offset wraps around the colour circle.
    shift = np.uint8(int(hue_factor * 255) % 256)
    np_h = np.asarray(h, dtype=np.uint8) + shift
    h = Image.fromarray(np_h, "L")
    return Image.merge("HSV", (h, s, v)).convert(mode)


def to_grayscale(img: Image.Image, num_output_channels: int) -> Image.Image:
    _check(img)
    if num_output_channels == 1:
        return img.convert("L")
    if num_output_channels == 3:
        gray = np.asarray(img.convert("L"))
        return Image.fromarray(np.dstack([gray, gray, gray]), "RGB")
    raise ValueError("num_output_channels should be either 1 or 3")


def posterize(img: Image.Image, bits: int) -> Image.Image:
    _check(img)
    return ImageOps.posterize(img, bits)


def solarize(img: Image.Image, threshold: int) -> Image.Image:
    _check(img)
    return ImageOps.solarize(img, threshold)


def autocontrast(img: Image.Image) -> Image.Image:
    _check(img)
    return ImageOps.autocontrast(img)


def equalize(img: Image.Image) -> Image.Image:
    _check(img)
    return ImageOps.equalize(img)


def adjust_sharpness(img: Image.Image, factor: float) -> Image.Image:
    _check(img)
    return ImageEnhance.Sharpness(img).enhance(factor)
