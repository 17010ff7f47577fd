"""Serialized ``Summary`` messages for each kind of data ``SummaryWriter`` logs, laid out as
PyTorch's ``torch.utils.tensorboard.summary`` builds them (same tags, plugins and fields)."""
from __future__ import annotations

import io
import struct

import numpy as np

from ._proto import bytes_field, double_field, float_field, int_field, packed_doubles

__all__ = ["scalar", "histogram", "image", "text", "hparams", "to_numpy", "convert_to_hwc", "default_bins"]

_DT_FLOAT, _DT_DOUBLE, _DT_STRING = 1, 2, 7  # TensorProto dtypes


def to_numpy(x) -> np.ndarray:
    """A tensor (any device, with or without history), NumPy array or number as an array."""
    if hasattr(x, "detach") and hasattr(x, "numpy"):
        x = x.detach()
        return np.asarray(x.cpu().numpy() if hasattr(x, "cpu") else x.numpy())
    return np.asarray(x)


def _value(tag: str, *fields: bytes) -> bytes:
    """One Summary holding one Value with ``tag`` and the given encoded fields."""
    return bytes_field(1, bytes_field(1, tag) + b"".join(fields))


def _metadata(plugin_name: str, content: bytes = b"") -> bytes:
    plugin = bytes_field(1, plugin_name) + (bytes_field(2, content) if content else b"")
    return bytes_field(9, bytes_field(1, plugin))


def scalar(tag: str, value, new_style: bool = False, double_precision: bool = False) -> bytes:
    """A scalar: ``simple_value``, or with ``new_style`` a 0-d tensor for the scalars plugin."""
    arr = to_numpy(value)
    if arr.size != 1:  # AssertionError: PyTorch's type for this
        raise AssertionError(f"add_scalar: {tag!r} expects a number or a one-element tensor, got shape "
                             f"{arr.shape}; log one value per call (e.g. loss.item())")
    v = float(arr.reshape(()))
    if not new_style:
        return _value(tag, float_field(2, v))
    # a 0-d TensorProto (no shape): dtype, the value in float_val (5) or double_val (6)
    if double_precision:
        tensor = int_field(1, _DT_DOUBLE) + bytes_field(6, struct.pack("<d", v))
    else:
        tensor = int_field(1, _DT_FLOAT) + bytes_field(5, struct.pack("<f", v))
    return _value(tag, _metadata("scalars"), bytes_field(8, tensor))


def default_bins() -> list[float]:
    """PyTorch's "tensorflow" bins: +-1e-12 growing by 10% up to 1e20, and 0."""
    v, buckets = 1e-12, []
    while v < 1e20:
        buckets.append(v)
        v *= 1.1
    return [-b for b in reversed(buckets)] + [0] + buckets


def histogram(tag: str, values, bins, max_bins: int | None = None) -> bytes:
    """A histogram of ``values`` (``bins`` as ``numpy.histogram`` takes them), trimmed to the
    bins that hold values, with one empty bin on the left as TensorBoard expects."""
    values = to_numpy(values).astype(float).reshape(-1)
    if values.size == 0:
        raise ValueError("The input has no element.")
    counts, limits = np.histogram(values, bins=bins)
    if max_bins is not None and len(counts) > max_bins:
        sub = len(counts) // max_bins
        if len(counts) % sub:
            counts = np.pad(counts, [[0, sub - len(counts) % sub]])
        counts = counts.reshape(-1, sub).sum(axis=-1)
        limits = np.concatenate([limits[:-1:sub], limits[-1:]])
    cum = np.cumsum(np.greater(counts, 0))
    start, end = np.searchsorted(cum, [0, cum[-1] - 1], side="right")
    start, end = int(start), int(end) + 1
    counts = counts[start - 1:end] if start > 0 else np.concatenate([[0], counts[:end]])
    limits = limits[start:end + 1]
    histo = (double_field(1, values.min()) + double_field(2, values.max()) + double_field(3, len(values))
             + double_field(4, values.sum()) + double_field(5, values.dot(values))
             + packed_doubles(6, limits.tolist()) + packed_doubles(7, counts.tolist()))
    return _value(tag, bytes_field(5, histo))


def _make_grid(images: np.ndarray, ncols: int = 8) -> np.ndarray:
    """(N, C, H, W) images side by side, ``ncols`` per row, as one (C, H', W') image."""
    if images.shape[1] == 1:
        images = np.concatenate([images] * 3, 1)
    if images.shape[1] != 3:
        raise AssertionError(f"add_images: a batch of images needs 1 or 3 channels, got shape {images.shape} "
                             "(N, C, H, W)")
    n, c, h, w = images.shape
    ncols = min(n, ncols)
    nrows = -(-n // ncols)
    canvas = np.zeros((c, h * nrows, w * ncols), dtype=images.dtype)
    for i in range(n):
        y, x = divmod(i, ncols)
        canvas[:, y * h:(y + 1) * h, x * w:(x + 1) * w] = images[i]
    return canvas


def convert_to_hwc(array: np.ndarray, dataformats: str) -> np.ndarray:
    """An image in ``dataformats`` (``CHW``, ``HWC``, ``HW``, ``NCHW``, ... in any order) as HWC
    with 3 or 4 channels; a batch becomes a grid."""
    fmt = dataformats.upper()
    # AssertionError: PyTorch's type for a bad layout
    if len(set(fmt)) != len(fmt) or not set(fmt) <= set("NCHW"):
        raise AssertionError(f"add_image: dataformats {dataformats!r} must use each of N, C, H, W at most once")
    if array.ndim != len(fmt):
        raise AssertionError(f"add_image: an image of shape {array.shape} does not match dataformats "
                         f"{dataformats!r}; pass dataformats= for its layout (e.g. 'HWC')")
    if len(fmt) == 4:
        grid = _make_grid(array.transpose([fmt.find(c) for c in "NCHW"]))
        return grid.transpose(1, 2, 0)
    if len(fmt) == 3:
        hwc = array.transpose([fmt.find(c) for c in "HWC"])
        return np.concatenate([hwc] * 3, 2) if hwc.shape[2] == 1 else hwc
    if len(fmt) == 2:
        return np.stack([array.transpose([fmt.find(c) for c in "HW"])] * 3, 2)
    raise AssertionError(f"add_image: dataformats {dataformats!r} must have 2 to 4 letters")


def image(tag: str, img, dataformats: str = "CHW", rescale: float = 1) -> bytes:
    """A PNG image; float images are read as values in [0, 1], uint8 ones in [0, 255]."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("SummaryWriter.add_image needs Pillow to encode PNG images: "
                          "pip install 'ember[vision]' (or pip install pillow)") from None
    hwc = convert_to_hwc(to_numpy(img), dataformats)
    scale = 1 if hwc.dtype == np.uint8 else 255
    hwc = (hwc.astype(np.float32) * scale).clip(0, 255).astype(np.uint8)
    height, width, channels = hwc.shape
    pil = Image.fromarray(hwc)
    if rescale != 1:
        pil = pil.resize((int(width * rescale), int(height * rescale)), Image.LANCZOS)
    out = io.BytesIO()
    pil.save(out, format="PNG")
    msg = int_field(1, height) + int_field(2, width) + int_field(3, channels) + bytes_field(4, out.getvalue())
    return _value(tag, bytes_field(4, msg))


def text(tag: str, text_string: str) -> bytes:
    """A string for the text plugin, under ``<tag>/text_summary`` as PyTorch writes it."""
    tensor = int_field(1, _DT_STRING) + bytes_field(2, bytes_field(2, int_field(1, 1))) \
        + bytes_field(8, text_string.encode("utf_8"))
    return _value(tag + "/text_summary", _metadata("text"), bytes_field(8, tensor))


# google.protobuf.Value's number_value / string_value, and the hparams plugin's enums
_NUMBER, _STRING = 2, 3
_TYPE_STRING, _TYPE_FLOAT64 = 1, 3
_STATUS_SUCCESS = 1


def _proto_value(kind: int, v) -> bytes:
    return double_field(_NUMBER, float(v)) if kind == _NUMBER else bytes_field(_STRING, v)


def hparams(hparam_dict: dict, metric_dict: dict, hparam_domain_discrete: dict | None = None):
    """The experiment, session-start and session-end summaries of the hparams plugin."""
    if not isinstance(hparam_dict, dict):
        raise TypeError("parameter: hparam_dict should be a dictionary, nothing logged.")
    if not isinstance(metric_dict, dict):
        raise TypeError("parameter: metric_dict should be a dictionary, nothing logged.")
    hparam_domain_discrete = hparam_domain_discrete or {}
    if not isinstance(hparam_domain_discrete, dict):
        raise TypeError(f"parameter: hparam_domain_discrete should be a dictionary, {hparam_domain_discrete} given.")
    for k, v in hparam_domain_discrete.items():
        if k not in hparam_dict or not isinstance(v, list) or \
                not all(isinstance(d, type(hparam_dict[k])) for d in v):
            raise TypeError(f"parameter: hparam_domain_discrete[{k}] should be a list of same type as "
                            f"hparam_dict[{k}].")
    infos, start_values = [], []
    for k, v in hparam_dict.items():
        if v is None:
            continue
        discrete = k in hparam_domain_discrete
        if isinstance(v, (int, float)):  # bool included, as in PyTorch: logged as a number
            kind, dtype = _NUMBER, _TYPE_FLOAT64
        elif isinstance(v, str):
            kind, dtype = _STRING, _TYPE_STRING
        elif hasattr(v, "detach") and hasattr(v, "numpy"):
            kind, dtype, v, discrete = _NUMBER, _TYPE_FLOAT64, to_numpy(v).reshape(-1)[0], False
        else:
            raise ValueError("value should be one of int, float, str, bool, or torch.Tensor")
        # SessionStartInfo.hparams is a map: one (key, Value) entry each
        start_values.append(bytes_field(1, bytes_field(1, k) + bytes_field(2, _proto_value(kind, v))))
        info = bytes_field(1, k) + int_field(4, dtype)
        if discrete:
            items = b"".join(bytes_field(1, _proto_value(kind, d)) for d in hparam_domain_discrete[k])
            info += bytes_field(5, items)
        infos.append(bytes_field(4, info))
    metrics = b"".join(bytes_field(5, bytes_field(1, bytes_field(2, k))) for k in metric_dict)

    def plugin_summary(tag: str, field: int, message: bytes) -> bytes:
        return _value(tag, _metadata("hparams", bytes_field(field, message)))
    experiment = plugin_summary("_hparams_/experiment", 2, b"".join(infos) + metrics)
    start = plugin_summary("_hparams_/session_start_info", 3, b"".join(start_values))
    end = plugin_summary("_hparams_/session_end_info", 4, int_field(1, _STATUS_SUCCESS))
    return experiment, start, end
