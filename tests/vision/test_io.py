"""ember.vision.io: images made by Pillow read back exactly (PNG) or closely (JPEG), the read
modes against Pillow's conversions, and torchvision's errors for wrong inputs."""
import io
import sys

import numpy as np
import pytest

import ember
from ember.vision import io as vio
from ember.vision.io import ImageReadMode

Image = pytest.importorskip("PIL.Image")


def pil_image(mode, seed=0, size=(7, 5)):
    rng = np.random.default_rng(seed)
    w, h = size
    if mode == "P":
        img = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).convert("P")
    else:
        channels = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}[mode]
        arr = rng.integers(0, 256, (h, w, channels), dtype=np.uint8)
        img = Image.fromarray(arr[:, :, 0] if channels == 1 else arr, mode)
    return img


def encoded(img, fmt, **kwargs):
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def chw(img):
    arr = np.asarray(img)
    return (arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1))


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
def test_read_image_png_unchanged_is_exact(tmp_path, mode):
    img = pil_image(mode)
    path = tmp_path / "x.png"
    img.save(path)
    out = vio.read_image(str(path))
    assert out.dtype == ember.uint8 and tuple(out.shape) == chw(img).shape
    np.testing.assert_array_equal(out.numpy(), chw(img))


@pytest.mark.parametrize("mode,target", [(ImageReadMode.GRAY, "L"), (ImageReadMode.GRAY_ALPHA, "LA"),
                                         (ImageReadMode.RGB, "RGB"), (ImageReadMode.RGB_ALPHA, "RGBA"),
                                         ("rgb", "RGB")])
def test_read_modes_convert_as_pillow(tmp_path, mode, target):
    img = pil_image("RGBA", seed=1)
    path = tmp_path / "x.png"
    img.save(path)
    np.testing.assert_array_equal(vio.read_image(path, mode).numpy(), chw(img.convert(target)))


def test_palette_png_becomes_rgb_or_rgba():
    img = pil_image("P", seed=2)
    out = vio.decode_png(ember.tensor(np.frombuffer(encoded(img, "PNG"), np.uint8)))
    np.testing.assert_array_equal(out.numpy(), chw(img.convert("RGB")))
    img.info["transparency"] = 0
    data = encoded(img, "PNG", transparency=0)
    out = vio.decode_image(ember.tensor(np.frombuffer(data, np.uint8)))
    np.testing.assert_array_equal(out.numpy(), chw(Image.open(io.BytesIO(data)).convert("RGBA")))


def test_encode_decode_png_round_trip_and_write_png(tmp_path):
    for c in (1, 3):
        x = ember.randint(0, 256, (c, 6, 9), dtype=ember.uint8)
        data = vio.encode_png(x, compression_level=9)
        assert data.dtype == ember.uint8 and data.dim() == 1
        np.testing.assert_array_equal(vio.decode_png(data).numpy(), x.numpy())
        vio.write_png(x, tmp_path / "y.png")
        np.testing.assert_array_equal(chw(Image.open(tmp_path / "y.png")), x.numpy())


def smooth_image(c, h=32, w=40):
    yy, xx = np.mgrid[0:h, 0:w]
    chans = [(100 + 80 * np.sin(xx / 7 + k) * np.cos(yy / 9)) for k in range(c)]
    return np.stack(chans).round().astype(np.uint8)


@pytest.mark.parametrize("c", [1, 3])
def test_jpeg_round_trip_within_tolerance(tmp_path, c):
    x = smooth_image(c)
    vio.write_jpeg(ember.tensor(x), tmp_path / "z.jpg", quality=95)
    back = chw(Image.open(tmp_path / "z.jpg"))
    assert back.shape == x.shape
    assert np.abs(back.astype(int) - x).mean() < 2.0
    decoded = vio.decode_jpeg(vio.read_file(tmp_path / "z.jpg"))
    np.testing.assert_array_equal(decoded.numpy(), back)
    low = vio.decode_jpeg(vio.encode_jpeg(ember.tensor(x), quality=5)).numpy()
    assert np.abs(low.astype(int) - x).mean() > np.abs(back.astype(int) - x).mean()


def test_decode_jpeg_list_and_pillow_made_jpeg():
    img = Image.fromarray(smooth_image(3).transpose(1, 2, 0))
    data = ember.tensor(np.frombuffer(encoded(img, "JPEG", quality=90), np.uint8))
    outs = vio.decode_jpeg([data, data], mode=ImageReadMode.GRAY)
    assert len(outs) == 2 and tuple(outs[0].shape) == (1, 32, 40)
    np.testing.assert_array_equal(outs[0].numpy(), chw(Image.open(io.BytesIO(encoded(img, "JPEG", quality=90)))
                                                       .convert("L")))


def test_exif_orientation(tmp_path):
    img = pil_image("RGB", seed=3, size=(6, 4))
    exif = Image.Exif()
    exif[0x0112] = 6                                   # rotate 90 degrees clockwise to display
    path = tmp_path / "o.png"
    img.save(path, exif=exif)
    assert tuple(vio.read_image(path).shape) == (3, 4, 6)
    rotated = vio.read_image(path, apply_exif_orientation=True)
    np.testing.assert_array_equal(rotated.numpy(), chw(img.transpose(Image.Transpose.ROTATE_270)))


def test_read_and_write_file(tmp_path):
    data = ember.tensor(np.frombuffer(b"\x00\x01ember\xff", np.uint8))
    vio.write_file(tmp_path / "f.bin", data)
    assert (tmp_path / "f.bin").read_bytes() == b"\x00\x01ember\xff"
    back = vio.read_file(str(tmp_path / "f.bin"))
    assert back.dtype == ember.uint8 and back.tolist() == data.tolist()
    with pytest.raises(RuntimeError, match="No such file"):
        vio.read_file(tmp_path / "missing.png")
    (tmp_path / "empty").write_bytes(b"")
    with pytest.raises(RuntimeError, match="non empty file"):
        vio.read_file(tmp_path / "empty")


def test_encode_errors():
    with pytest.raises(RuntimeError, match="dtype should be uint8"):
        vio.encode_png(ember.zeros(3, 4, 4))
    with pytest.raises(RuntimeError, match="3-dimensional"):
        vio.encode_jpeg(ember.zeros(4, 4, dtype=ember.uint8))
    with pytest.raises(RuntimeError, match="number of channels should be 1 or 3, got: 4"):
        vio.encode_png(ember.zeros(4, 4, 4, dtype=ember.uint8))
    with pytest.raises(ValueError, match="between 1 and 100"):
        vio.encode_jpeg(ember.zeros(3, 4, 4, dtype=ember.uint8), quality=0)
    with pytest.raises(ValueError, match="compression level"):
        vio.encode_png(ember.zeros(3, 4, 4, dtype=ember.uint8), compression_level=10)


def test_decode_errors():
    with pytest.raises(RuntimeError, match="uint8"):
        vio.decode_image(ember.zeros(10))
    with pytest.raises(RuntimeError, match="non empty 1-dimensional"):
        vio.decode_image(ember.zeros(0, dtype=ember.uint8))
    with pytest.raises(RuntimeError, match="could not decode"):
        vio.decode_image(ember.tensor(np.frombuffer(b"not an image at all", np.uint8)))
    png = ember.tensor(np.frombuffer(encoded(pil_image("RGB"), "PNG"), np.uint8))
    with pytest.raises(RuntimeError, match="as JPEG"):
        vio.decode_jpeg(png)
    with pytest.raises(ValueError, match="mode should be"):
        vio.decode_png(png, mode="CMYK")


def test_missing_pillow_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=r"pip install 'ember\[vision\]'"):
        vio.encode_png(ember.zeros(1, 2, 2, dtype=ember.uint8))
