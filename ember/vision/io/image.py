"""Image files to and from uint8 (C, H, W) tensors, through Pillow: torchvision.io's
read_image / decode_* / encode_* / write_* and read_file / write_file."""
from __future__ import annotations

import enum
import io
import os

import numpy as np

from ..._tensor import Tensor
from ...backend import dtypes
from ...ops.creation import from_numpy
from ..._optional import require

__all__ = ["ImageReadMode", "read_file", "write_file", "decode_image", "decode_png", "decode_jpeg",
           "read_image", "encode_png", "encode_jpeg", "write_png", "write_jpeg"]


class ImageReadMode(enum.Enum):
    """The channels a decoded image gets: as stored, or converted to gray / RGB (with alpha)."""
    UNCHANGED = 0
    GRAY = 1
    GRAY_ALPHA = 2
    RGB = 3
    RGB_ALPHA = 4
    RGBA = 4


# Pillow mode each requested read mode converts to.
_PIL_MODES = {ImageReadMode.GRAY: "L", ImageReadMode.GRAY_ALPHA: "LA", ImageReadMode.RGB: "RGB",
              ImageReadMode.RGB_ALPHA: "RGBA"}


def _pil():
    require("PIL", "ember.vision.io (encoding and decoding images)")
    from PIL import Image, ImageOps
    return Image, ImageOps


def _mode(mode: ImageReadMode | str) -> ImageReadMode:
    if isinstance(mode, ImageReadMode):
        return mode
    if isinstance(mode, str) and mode.upper() in ImageReadMode.__members__:
        return ImageReadMode[mode.upper()]
    raise ValueError(f"mode should be an ImageReadMode or one of {', '.join(ImageReadMode.__members__)}; "
                     f"got {mode!r}")


def read_file(path: str | os.PathLike) -> Tensor:
    """The bytes of a file as a uint8 1-D tensor."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise RuntimeError(f"read_file: [Errno {e.errno}] {e.strerror}: {os.fspath(path)!r}") from e
    if not data:
        raise RuntimeError(f"read_file: expected a non empty file, {os.fspath(path)!r} is empty")
    return from_numpy(np.frombuffer(data, dtype=np.uint8).copy())


def write_file(filename: str | os.PathLike, data: Tensor) -> None:
    """Write a uint8 1-D tensor's bytes to ``filename``."""
    _check_encoded("write_file", data)
    with open(filename, "wb") as f:
        f.write(np.ascontiguousarray(data.detach().cpu().numpy()).tobytes())


def _check_encoded(name: str, data: Tensor) -> None:
    if not isinstance(data, Tensor):
        raise TypeError(f"{name}: expected a uint8 1-D tensor of encoded bytes, got {type(data).__name__}")
    if data.dtype != dtypes.uint8:
        raise RuntimeError(f"{name}: expected a torch.uint8 tensor, got {data.dtype}")
    if data.dim() != 1 or data.numel() == 0:
        raise RuntimeError(f"{name}: expected a non empty 1-dimensional tensor, got shape {tuple(data.shape)}")


def _decode(name: str, data: Tensor, mode: ImageReadMode | str, apply_exif_orientation: bool,
            formats: tuple[str, ...] | None) -> Tensor:
    Image, ImageOps = _pil()
    _check_encoded(name, data)
    mode = _mode(mode)
    raw = np.ascontiguousarray(data.detach().cpu().numpy()).tobytes()
    try:
        img = Image.open(io.BytesIO(raw), formats=formats)
        img.load()
    except Exception as e:  # Pillow raises several types for bad data; one error type here
        what = "/".join(formats) if formats else "image"
        raise RuntimeError(f"{name}: could not decode the data as {what} ({e})") from e
    if apply_exif_orientation:
        img = ImageOps.exif_transpose(img)
    if mode is not ImageReadMode.UNCHANGED:
        img = img.convert(_PIL_MODES[mode])
    elif img.mode == "P":
        # A palette becomes its colours, with alpha where the palette has transparency.
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif img.mode in ("1", "CMYK", "YCbCr", "PA", "La"):
        img = img.convert({"1": "L", "CMYK": "RGB", "YCbCr": "RGB", "PA": "RGBA", "La": "LA"}[img.mode])
    arr = np.asarray(img)
    if arr.dtype != np.uint8:
        # 16-bit images keep their values in int32 (ember has no uint16).
        arr = arr.astype(np.int32)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))


def decode_image(input: Tensor | str, mode: ImageReadMode | str = ImageReadMode.UNCHANGED,
                 apply_exif_orientation: bool = False) -> Tensor:
    """Decode encoded image bytes (uint8 1-D tensor; or a path, read first) into (C, H, W) uint8.

    Args:
        mode: ``ImageReadMode.UNCHANGED`` keeps the stored channels (palettes become RGB or
            RGBA); GRAY, GRAY_ALPHA, RGB and RGB_ALPHA convert (Pillow's conversions).
        apply_exif_orientation: rotate/flip as the EXIF orientation tag says.
    """
    if not isinstance(input, Tensor):
        input = read_file(input)
    return _decode("decode_image", input, mode, apply_exif_orientation, None)


def decode_png(input: Tensor, mode: ImageReadMode | str = ImageReadMode.UNCHANGED,
               apply_exif_orientation: bool = False) -> Tensor:
    """Decode PNG bytes (uint8 1-D tensor) into (C, H, W) uint8 (int32 for 16-bit PNGs)."""
    return _decode("decode_png", input, mode, apply_exif_orientation, ("PNG",))


def decode_jpeg(input: Tensor | list[Tensor], mode: ImageReadMode | str = ImageReadMode.UNCHANGED,
                device: str = "cpu", apply_exif_orientation: bool = False) -> Tensor | list[Tensor]:
    """Decode JPEG bytes (uint8 1-D tensor, or a list of them) into (C, H, W) uint8 tensors."""
    if isinstance(input, (list, tuple)):
        return [decode_jpeg(x, mode, device, apply_exif_orientation) for x in input]
    return _decode("decode_jpeg", input, mode, apply_exif_orientation, ("JPEG",)).to(device)


def read_image(path: str | os.PathLike, mode: ImageReadMode | str = ImageReadMode.UNCHANGED,
               apply_exif_orientation: bool = False) -> Tensor:
    """Read a JPEG, PNG, GIF, WebP, BMP, ... file into a (C, H, W) uint8 tensor."""
    return decode_image(read_file(path), mode, apply_exif_orientation)


def _image_array(name: str, input: Tensor) -> np.ndarray:
    """(H, W) or (H, W, 3) uint8 array of a (1 or 3, H, W) uint8 tensor, with torchvision's checks."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: expected a uint8 (C, H, W) tensor, got {type(input).__name__}")
    if input.dtype != dtypes.uint8:
        raise RuntimeError(f"{name}: input tensor dtype should be uint8, got {input.dtype}; convert with "
                           "(img * 255).round().clamp(0, 255).to(torch.uint8)")
    if input.dim() != 3:
        raise RuntimeError(f"{name}: input data should be a 3-dimensional tensor (C, H, W), got shape "
                           f"{tuple(input.shape)}")
    if input.shape[0] not in (1, 3):
        raise RuntimeError(f"{name}: the number of channels should be 1 or 3, got: {input.shape[0]}")
    arr = np.ascontiguousarray(input.detach().cpu().numpy().transpose(1, 2, 0))
    return arr[:, :, 0] if arr.shape[2] == 1 else arr


def _as_tensor(buf: io.BytesIO) -> Tensor:
    return from_numpy(np.frombuffer(buf.getvalue(), dtype=np.uint8).copy())


def encode_png(input: Tensor, compression_level: int = 6) -> Tensor:
    """PNG bytes (uint8 1-D tensor) of a (C, H, W) uint8 image with 1 or 3 channels."""
    if not 0 <= compression_level <= 9:
        raise ValueError(f"encode_png: compression level should be between 0 and 9, got {compression_level}")
    Image, _ = _pil()
    buf = io.BytesIO()
    Image.fromarray(_image_array("encode_png", input)).save(buf, format="PNG", compress_level=compression_level)
    return _as_tensor(buf)


def encode_jpeg(input: Tensor | list[Tensor], quality: int = 75) -> Tensor | list[Tensor]:
    """JPEG bytes (uint8 1-D tensor) of a (C, H, W) uint8 image with 1 or 3 channels (or a list)."""
    if not 1 <= quality <= 100:
        raise ValueError(f"encode_jpeg: image quality should be a positive number between 1 and 100, got {quality}")
    if isinstance(input, (list, tuple)):
        return [encode_jpeg(x, quality) for x in input]
    Image, _ = _pil()
    buf = io.BytesIO()
    Image.fromarray(_image_array("encode_jpeg", input)).save(buf, format="JPEG", quality=quality)
    return _as_tensor(buf)


def write_png(input: Tensor, filename: str | os.PathLike, compression_level: int = 6) -> None:
    """Write a (C, H, W) uint8 image to a PNG file."""
    write_file(filename, encode_png(input, compression_level))


def write_jpeg(input: Tensor, filename: str | os.PathLike, quality: int = 75) -> None:
    """Write a (C, H, W) uint8 image to a JPEG file."""
    write_file(filename, encode_jpeg(input, quality))
