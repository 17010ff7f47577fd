"""The tensor side of ``ember.vision.transforms.functional``.

Images are tensors of shape (..., C, H, W) (a plain (H, W) is one channel). Everything is
written with ember ops, so the transforms are differentiable and run on any device.
Blurring is separable: two matrix products (rows, then columns) with small weight
matrices built here.
"""
from __future__ import annotations

import numpy as np

from ... import nn
from ..._tensor import Tensor
from ...backend import dtypes
from ...backend.device import xp_of
from ...ops.creation import zeros_like
from ...ops.join import stack
from ...ops.indexing import where
from ...ops.padding import constant_pad_nd
from ...backend.compat import add_at

_INT_MAX = {dtypes.uint8: 255, dtypes.int8: 127, dtypes.int16: 32767, dtypes.int32: 2 ** 31 - 1,
            dtypes.int64: 2 ** 63 - 1, dtypes.bool_: 1}


def _is_tensor_image(img) -> bool:
    return isinstance(img, Tensor) and img.ndim >= 2


def assert_image_tensor(img: Tensor) -> None:
    if not _is_tensor_image(img):
        raise TypeError("Tensor is not a torch image.")


def get_dimensions(img: Tensor) -> list[int]:
    assert_image_tensor(img)
    channels = 1 if img.ndim == 2 else img.shape[-3]
    height, width = img.shape[-2:]
    return [channels, height, width]


def _assert_channels(img: Tensor, permitted: list[int]) -> None:
    c = get_dimensions(img)[0]
    if c not in permitted:
        raise TypeError(f"Input image tensor permitted channel values are {permitted}, but found {c}")


def max_value(dtype: dtypes.dtype) -> float:
    """The value of full intensity: 1.0 for float images, the largest integer otherwise."""
    return 1.0 if dtype.is_floating_point else _INT_MAX[dtype]


def _cast_in(img: Tensor, allowed: tuple) -> tuple[Tensor, dtypes.dtype | None]:
    """The image in a float dtype the computation accepts, and the dtype to return to."""
    if img.dtype in allowed:
        return img, None
    return img.to(allowed[0]), img.dtype


def _cast_out(img: Tensor, out_dtype: dtypes.dtype | None) -> Tensor:
    if out_dtype is None:
        return img
    if not out_dtype.is_floating_point:
        img = img.round()
    return img.to(out_dtype)


def _own_float(img: Tensor) -> tuple:
    """The float dtypes that keep ``img``'s precision (float32 for integer images)."""
    return (img.dtype,) if img.is_floating_point() else (dtypes.float32,)


def _matrix(weights: np.ndarray, like: Tensor) -> Tensor:
    xp = xp_of(like._data)
    return Tensor._make(xp.asarray(weights.astype(like._data.dtype)))


def _separable(img: Tensor, rows: np.ndarray | None, cols: np.ndarray | None) -> Tensor:
    """``rows @ img @ cols.T`` over the last two dims; a None matrix leaves that axis alone."""
    if rows is not None:
        img = _matrix(rows, img) @ img
    if cols is not None:
        img = img @ _matrix(cols.T, img)
    return img


# ---- geometry ---------------------------------------------------------------------------
def hflip(img: Tensor) -> Tensor:
    assert_image_tensor(img)
    return img.flip(-1)


def vflip(img: Tensor) -> Tensor:
    assert_image_tensor(img)
    return img.flip(-2)


def crop(img: Tensor, top: int, left: int, height: int, width: int) -> Tensor:
    """The box (top, left, height, width); the part outside the image is zeros."""
    _, h, w = get_dimensions(img)
    right, bottom = left + width, top + height
    if left < 0 or top < 0 or right > w or bottom > h:
        padding = [max(-left + min(0, right), 0), max(-top + min(0, bottom), 0),
                   max(right - max(w, left), 0), max(bottom - max(h, top), 0)]
        inner = img[..., max(top, 0):max(bottom, 0), max(left, 0):max(right, 0)]
        return pad(inner, padding, 0, "constant")
    return img[..., top:bottom, left:right]


def _pad_index(size: int, before: int, after: int, mode: str) -> np.ndarray:
    """For each output position along one axis, the input position it copies; negative
    amounts crop first. NumPy's own padding of a range gives exactly these positions."""
    kept = np.arange(max(-before, 0), size - max(-after, 0))
    return np.pad(kept, (max(before, 0), max(after, 0)), mode)


def pad(img: Tensor, padding: list[int], fill: float, padding_mode: str) -> Tensor:
    """Pad by (left, top, right, bottom); negative amounts crop."""
    assert_image_tensor(img)
    left, top, right, bottom = padding
    if padding_mode == "constant":
        return constant_pad_nd(img, (left, right, top, bottom), fill)
    _, h, w = get_dimensions(img)
    xp = xp_of(img._data)
    rows = Tensor._make(xp.asarray(_pad_index(h, top, bottom, padding_mode)[:, None]))
    cols = Tensor._make(xp.asarray(_pad_index(w, left, right, padding_mode)))
    return img[..., rows, cols]


def resize(img: Tensor, size: list[int], interpolation: str, antialias: bool) -> Tensor:
    """Resize the last two dims to ``size`` = [height, width]."""
    assert_image_tensor(img)
    shape = tuple(img.shape)
    x, out_dtype = _cast_in(img, (dtypes.float32, dtypes.float64))
    smooth = interpolation in ("bilinear", "bicubic")
    batch = x.reshape((-1, 1 if x.ndim == 2 else shape[-3]) + shape[-2:])  # interpolate's (N, C, H, W)
    batch = nn.functional.interpolate(batch, size=list(size), mode=interpolation,
                                      align_corners=False if smooth else None, antialias=antialias and smooth)
    x = batch.reshape(shape[:-2] + tuple(size))
    if interpolation == "bicubic" and out_dtype == dtypes.uint8:
        x = x.clamp(0, 255)  # bicubic overshoots at edges
    return _cast_out(x, out_dtype)


def affine_output_size(matrix: list[float], w: int, h: int) -> tuple[int, int]:
    """(width, height) of the box holding the whole transformed image (for expand=True)."""
    f32 = np.float32  # in float32, as the reference computes it: 2.9999999 and 3.0000001 both become 3
    corners = np.array([[-0.5 * w, -0.5 * h, 1.0], [-0.5 * w, 0.5 * h, 1.0],
                        [0.5 * w, 0.5 * h, 1.0], [0.5 * w, -0.5 * h, 1.0]], f32)
    pts = corners @ np.array(matrix, f32).reshape(2, 3).T + np.array([0.5 * w, 0.5 * h], f32)
    # Truncate to 1e-4 first so that rounding noise is not taken for a partial pixel.
    tol = f32(1e-4)
    hi = np.ceil(np.trunc(pts.max(0) / tol) * tol)
    lo = np.floor(np.trunc(pts.min(0) / tol) * tol)
    size = hi - lo
    return int(size[0]), int(size[1])


def warp_affine(img: Tensor, matrix: list[float], interpolation: str, fill, out_size=None) -> Tensor:
    """Sample the image at ``matrix`` @ (x, y, 1) for each output pixel.

    ``matrix`` maps output to input coordinates, both centred on their image's centre.
    Pixels that fall outside the input are zeros, or ``fill`` (a number per channel).
    """
    assert_image_tensor(img)
    if interpolation not in ("nearest", "bilinear"):
        raise ValueError(f"Interpolation mode '{interpolation}' is unsupported with Tensor input")
    c, h, w = get_dimensions(img)
    if fill is not None and isinstance(fill, (tuple, list)) and len(fill) > 1 and len(fill) != c:
        raise ValueError("The number of elements in 'fill' cannot broadcast to match the number of channels "
                         f"of the image ({len(fill)} != {c})")
    ow, oh = out_size if out_size is not None else (w, h)
    x, out_dtype = _cast_in(img, _own_float(img))
    a, b, t0, d, e, t1 = matrix
    ys = (np.arange(oh) - oh * 0.5 + 0.5)[:, None]
    xs = (np.arange(ow) - ow * 0.5 + 0.5)[None, :]
    # Source positions in pixel-index units (pixel k covers [k, k + 1) and has its centre at k).
    sx = a * xs + b * ys + t0 + w * 0.5 - 0.5
    sy = d * xs + e * ys + t1 + h * 0.5 - 0.5
    if interpolation == "nearest":
        taps = [(np.rint(sx), np.rint(sy), np.ones((oh, ow)))]
    else:
        x0, y0 = np.floor(sx), np.floor(sy)
        fx, fy = sx - x0, sy - y0
        taps = [(x0, y0, (1 - fx) * (1 - fy)), (x0 + 1, y0, fx * (1 - fy)),
                (x0, y0 + 1, (1 - fx) * fy), (x0 + 1, y0 + 1, fx * fy)]
    xp = xp_of(x._data)
    flat = x.reshape(tuple(x.shape[:-2]) + (h * w,))
    out, coverage = None, np.zeros((oh, ow))
    for cx, cy, weight in taps:
        inside = (cx >= 0) & (cx < w) & (cy >= 0) & (cy < h)
        weight = np.where(inside, weight, 0.0)
        index = Tensor._make(xp.asarray(np.where(inside, cy * w + cx, 0).astype(np.int64).ravel()))
        term = flat[..., index] * _matrix(weight.ravel(), x)
        out = term if out is None else out + term
        coverage += weight
    out = out.reshape(tuple(x.shape[:-2]) + (oh, ow))
    if fill is not None:
        values = [float(v) for v in fill] if isinstance(fill, (tuple, list)) else [float(fill)]
        shape = (len(values), 1, 1) if x.ndim >= 3 else (1, 1)
        fill_img = _matrix(np.array(values).reshape(shape), x)
        # coverage is how much of each output pixel the input covers (1 inside, 0 outside).
        if interpolation == "nearest":
            outside = Tensor._make(xp.asarray(coverage < 0.5))
            out = where(outside, fill_img, out)
        else:
            mask = _matrix(coverage, x)
            out = out * mask + (1.0 - mask) * fill_img
    return _cast_out(out, out_dtype)


def _gaussian_kernel1d(size: int, sigma: float) -> np.ndarray:
    half = (size - 1) * 0.5
    pdf = np.exp(-0.5 * (np.linspace(-half, half, size) / sigma) ** 2)
    return pdf / pdf.sum()


def _blur_weights(n: int, kernel: np.ndarray) -> np.ndarray:
    """(n, n) weights of a correlation with ``kernel`` over the reflect-padded axis."""
    r = len(kernel) // 2
    source = np.pad(np.arange(n), r, mode="reflect")
    weights = np.zeros((n, n))
    rows = np.arange(n)
    for t, k in enumerate(kernel):
        add_at(weights, (rows, source[rows + t]), k)
    return weights


def gaussian_blur(img: Tensor, kernel_size: list[int], sigma: list[float]) -> Tensor:
    """Blur with a Gaussian of ``kernel_size`` = [kx, ky] and ``sigma`` = [sx, sy], reflecting at the edges."""
    assert_image_tensor(img)
    _, h, w = get_dimensions(img)
    x, out_dtype = _cast_in(img, _own_float(img))
    x = _separable(x, _blur_weights(h, _gaussian_kernel1d(kernel_size[1], sigma[1])),
                   _blur_weights(w, _gaussian_kernel1d(kernel_size[0], sigma[0])))
    return _cast_out(x, out_dtype)


# ---- colour -----------------------------------------------------------------------------
def _blend(img1: Tensor, img2: Tensor, ratio: float) -> Tensor:
    ratio = float(ratio)
    bound = max_value(img1.dtype)
    return (ratio * img1 + (1.0 - ratio) * img2).clamp(0, bound).to(img1.dtype)


def rgb_to_grayscale(img: Tensor, num_output_channels: int = 1) -> Tensor:
    if img.ndim < 3:
        raise TypeError(f"Input image tensor should have at least 3 dimensions, but found {img.ndim}")
    _assert_channels(img, [1, 3])
    if num_output_channels not in (1, 3):
        raise ValueError("num_output_channels should be either 1 or 3")
    if img.shape[-3] == 3:
        r, g, b = img.unbind(-3)
        gray = (0.2989 * r + 0.587 * g + 0.114 * b).to(img.dtype).unsqueeze(-3)
    else:
        gray = img.clone()
    return gray.expand(img.shape) if num_output_channels == 3 else gray


def adjust_brightness(img: Tensor, factor: float) -> Tensor:
    if factor < 0:
        raise ValueError(f"brightness_factor ({factor}) is not non-negative.")
    assert_image_tensor(img)
    _assert_channels(img, [1, 3])
    return _blend(img, zeros_like(img), factor)


def adjust_contrast(img: Tensor, factor: float) -> Tensor:
    if factor < 0:
        raise ValueError(f"contrast_factor ({factor}) is not non-negative.")
    assert_image_tensor(img)
    _assert_channels(img, [3, 1])
    dtype = img.dtype if img.is_floating_point() else dtypes.float32
    gray = rgb_to_grayscale(img) if img.shape[-3] == 3 else img
    mean = gray.to(dtype).mean(dim=(-3, -2, -1), keepdim=True)
    return _blend(img, mean, factor)


def adjust_saturation(img: Tensor, factor: float) -> Tensor:
    if factor < 0:
        raise ValueError(f"saturation_factor ({factor}) is not non-negative.")
    assert_image_tensor(img)
    _assert_channels(img, [1, 3])
    if get_dimensions(img)[0] == 1:  # a grey image has no saturation to change (as in Pillow)
        return img
    return _blend(img, rgb_to_grayscale(img), factor)


def _rgb_to_hsv(img: Tensor) -> Tensor:
    r, g, b = img.unbind(-3)
    maxc = img.amax(-3)
    minc = img.amin(-3)
    grey = maxc == minc  # hue and saturation are 0; avoid dividing by 0
    span = maxc - minc
    ones = zeros_like(maxc) + 1
    s = span / where(grey, ones, maxc)
    span = where(grey, ones, span)
    rc, gc, bc = (maxc - r) / span, (maxc - g) / span, (maxc - b) / span
    is_r = maxc == r
    is_g = (maxc == g) & ~is_r
    is_b = ~is_r & ~(maxc == g)
    h = is_r * (bc - gc) + is_g * (2.0 + rc - bc) + is_b * (4.0 + gc - rc)
    h = (h / 6.0 + 1.0).fmod(1.0)
    return stack((h, s, maxc), -3)


def _hsv_to_rgb(img: Tensor) -> Tensor:
    h, s, v = img.unbind(-3)
    sector = (h * 6.0).floor()
    f = h * 6.0 - sector
    p = (v * (1.0 - s)).clamp(0.0, 1.0)
    q = (v * (1.0 - s * f)).clamp(0.0, 1.0)
    t = (v * (1.0 - s * (1.0 - f))).clamp(0.0, 1.0)
    index = (sector.long() % 6).unsqueeze(-3)
    channels = [stack(options, -3).gather(-3, index)
                for options in ((v, q, p, p, t, v), (t, v, v, q, p, p), (p, p, t, v, v, q))]
    return stack([ch.squeeze(-3) for ch in channels], -3)


def adjust_hue(img: Tensor, hue_factor: float) -> Tensor:
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"hue_factor ({hue_factor}) is not in [-0.5, 0.5].")
    assert_image_tensor(img)
    _assert_channels(img, [1, 3])
    if get_dimensions(img)[0] == 1:
        return img
    dtype = img.dtype
    h, s, v = _rgb_to_hsv(convert_image_dtype(img, dtypes.float32)).unbind(-3)
    h = (h + hue_factor) % 1.0
    return convert_image_dtype(_hsv_to_rgb(stack((h, s, v), -3)), dtype)


def convert_image_dtype(image: Tensor, dtype: dtypes.dtype = dtypes.float32) -> Tensor:
    """Convert to ``dtype``, rescaling intensities (float images span [0, 1], integer ones [0, max])."""
    if not isinstance(image, Tensor):
        raise TypeError("Input img should be Tensor Image")
    if image.dtype == dtype:
        return image
    if image.is_floating_point():
        if dtype.is_floating_point:
            return image.to(dtype)
        if (image.dtype == dtypes.float32 and dtype in (dtypes.int32, dtypes.int64)) or (
                image.dtype == dtypes.float64 and dtype == dtypes.int64):
            raise RuntimeError(f"The cast from {image.dtype} to {dtype} cannot be performed safely.")
        # Scale by max + 1 - eps and truncate: each integer level gets an equal share of [0, 1].
        eps = 1e-3
        return (image * (max_value(dtype) + 1.0 - eps)).to(dtype)
    input_max = max_value(image.dtype)
    if dtype.is_floating_point:
        return image.to(dtype) / input_max
    output_max = max_value(dtype)
    if input_max > output_max:
        factor = int((input_max + 1) // (output_max + 1))
        return (image // factor).to(dtype)
    factor = int((output_max + 1) // (input_max + 1))
    return image.to(dtype) * factor


# ---- auto-augment operations ------------------------------------------------------------
def posterize(img: Tensor, bits: int) -> Tensor:
    """Keep the ``bits`` highest bits of each uint8 value; float images are quantised to
    2 ** bits levels of [0, 1] (the reference's v2 extension)."""
    assert_image_tensor(img)
    if img.is_floating_point():
        levels = 2 ** int(bits)
        return (img * levels).floor().clamp(0, levels - 1) * (1.0 / levels)
    if img.dtype != dtypes.uint8:
        raise TypeError(f"posterize: only uint8 and float tensor images are supported, got {img.dtype}")
    step = 2 ** (8 - int(bits))
    return (img // step) * step


def solarize(img: Tensor, threshold: float) -> Tensor:
    """Invert the values at or above ``threshold``."""
    assert_image_tensor(img)
    _assert_channels(img, [1, 3])
    bound = max_value(img.dtype)
    if threshold > bound:
        raise TypeError(f"solarize: threshold {threshold} should be at most the image's maximum value {bound}")
    return where(img >= threshold, bound - img, img)


def autocontrast(img: Tensor) -> Tensor:
    """Stretch each channel to span the full range (a flat channel is left as it is)."""
    assert_image_tensor(img)
    if img.ndim < 3:
        raise TypeError(f"autocontrast: expected (..., C, H, W), got {img.ndim} dimensions")
    _assert_channels(img, [1, 3])
    bound = max_value(img.dtype)
    dtype = img.dtype if img.is_floating_point() else dtypes.float32
    lo = img.amin(dim=(-2, -1), keepdim=True).to(dtype)
    hi = img.amax(dim=(-2, -1), keepdim=True).to(dtype)
    flat = hi == lo
    scale = where(flat, 1.0, bound / where(flat, 1.0, hi - lo))
    lo = where(flat, 0.0, lo)
    return ((img.to(dtype) - lo) * scale).clamp(0, bound).to(img.dtype)


def _equalize_channel(channel: np.ndarray) -> np.ndarray:
    """Pillow's equalisation of one uint8 channel: a look-up table from the histogram's
    cumulative sum, in steps of (pixels outside the last occupied bin) / 255."""
    hist = np.bincount(channel.ravel(), minlength=256)
    step = hist[hist != 0][:-1].sum() // 255
    if step == 0:
        return channel
    lut = (np.cumsum(hist) + step // 2) // step
    lut = np.clip(np.concatenate([[0], lut[:-1]]), 0, 255).astype(np.uint8)
    return lut[channel]


def equalize(img: Tensor) -> Tensor:
    """Equalise the histogram of each channel of a uint8 image (no gradient: values are looked
    up); float images are equalised as uint8 and converted back."""
    assert_image_tensor(img)
    if img.is_floating_point():
        return convert_image_dtype(equalize(convert_image_dtype(img, dtypes.uint8)), img.dtype)
    if img.dtype != dtypes.uint8:
        raise TypeError(f"equalize: only uint8 and float tensor images are supported, got {img.dtype}")
    _assert_channels(img, [1, 3])
    arr = img.numpy(force=True)
    flat = arr.reshape((-1,) + arr.shape[-2:])
    out = np.stack([_equalize_channel(c) for c in flat]).reshape(arr.shape)
    return Tensor._make(xp_of(img._data).asarray(out))


def adjust_sharpness(img: Tensor, factor: float) -> Tensor:
    """Blend with a smoothed image (3x3 kernel [[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13 inside,
    the original on the border): 0 gives the smoothed image, 1 the original."""
    if factor < 0:
        raise ValueError(f"sharpness_factor ({factor}) is not non-negative.")
    assert_image_tensor(img)
    _assert_channels(img, [1, 3])
    _, h, w = get_dimensions(img)
    if h <= 2 or w <= 2:
        return img
    x, out_dtype = _cast_in(img, _own_float(img))
    # The kernel is a 3x3 box plus 4 times the centre: the box is separable (two tridiagonal products).
    box = _separable(x, np.eye(h) + np.eye(h, k=1) + np.eye(h, k=-1), np.eye(w) + np.eye(w, k=1) + np.eye(w, k=-1))
    smooth = _cast_out((box + 4.0 * x) / 13.0, out_dtype)
    inner = constant_pad_nd(smooth[..., 1:-1, 1:-1], (1, 1, 1, 1), 0)
    border = _matrix(np.pad(np.zeros((h - 2, w - 2)), 1, constant_values=1.0), x) > 0
    return _blend(img, where(border, img, inner), factor)
