"""ember.vision.transforms.functional against independent references.

torchvision is not installable here, so references come from Pillow's own operations on
the same image, NumPy, Python's colorsys, and torch ops following torchvision's documented
recipes (interpolate for resizing, grid_sample for affine maps, conv2d for blurring).
"""
import colorsys

import numpy as np
import pytest
from PIL import Image, ImageEnhance

import ember
from ember.vision.transforms import InterpolationMode
from ember.vision.transforms import functional as F
from helpers import check_gradcheck

torch = pytest.importorskip("torch")


def _rgb(h=11, w=14, seed=0):
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8))


def _hwc(t):
    """A (C, H, W) tensor as an (H, W, C) array, to compare with np.array(pil_image)."""
    return np.moveaxis(t.numpy(), 0, -1)


def _pil_array(img):
    arr = np.asarray(img)
    return arr if arr.ndim == 3 else arr[:, :, None]


def _same(pil, tensor):
    return np.array_equal(_pil_array(pil), _hwc(tensor))


# ---- properties and conversions ------------------------------------------------------------
def test_dimensions_of_pil_and_tensor():
    img = _rgb(5, 7)
    assert F.get_dimensions(img) == [3, 5, 7]
    assert F.get_image_size(img) == [7, 5]
    assert F.get_image_num_channels(img.convert("L")) == 1
    assert F.get_dimensions(ember.zeros(2, 4, 5, 6)) == [4, 5, 6]
    assert F.get_dimensions(ember.zeros(5, 6)) == [1, 5, 6]
    assert F.get_image_size(ember.zeros(1, 5, 6)) == [6, 5]
    with pytest.raises(TypeError, match="PIL Image or Tensor"):
        F.get_dimensions(np.zeros((5, 6)))
    with pytest.raises(TypeError, match="not a torch image"):
        F.get_dimensions(ember.zeros(5))


def test_to_tensor_scales_bytes_to_unit_range():
    img = _rgb(5, 7)
    t = F.to_tensor(img)
    assert t.dtype == ember.float32 and tuple(t.shape) == (3, 5, 7)
    np.testing.assert_allclose(_hwc(t), np.asarray(img) / np.float32(255), rtol=1e-6)
    gray = F.to_tensor(img.convert("L"))
    assert tuple(gray.shape) == (1, 5, 7)
    ember.set_default_dtype(ember.float64)
    assert F.to_tensor(img).dtype == ember.float64


@pytest.mark.parametrize("default", [ember.float32, ember.float64, ember.bfloat16])
def test_to_tensor_bytes_equal_the_cast_and_division_ops(default):
    """Bytes become the default dtype divided by 255: the same bits as the tensor ops' cast and
    division, and as torch's."""
    img = _rgb(6, 5)
    ember.set_default_dtype(default)
    got = F.to_tensor(img)
    ops = F.pil_to_tensor(img).to(default) / 255
    assert got.dtype == default
    np.testing.assert_array_equal(got.float().numpy(), ops.float().numpy())
    want = torch.tensor(np.asarray(img)).permute(2, 0, 1).to(getattr(torch, str(default).split(".")[-1])) / 255
    np.testing.assert_array_equal(got.float().numpy(), want.float().numpy())


def test_to_tensor_modes_and_arrays():
    bits = Image.fromarray(np.array([[0, 255, 0]], np.uint8)).convert("1")
    np.testing.assert_array_equal(F.to_tensor(bits).numpy(), [[[0.0, 1.0, 0.0]]])
    ints = Image.fromarray(np.array([[-5, 70000]], np.int32))
    t = F.to_tensor(ints)
    assert t.dtype == ember.int32 and t.numpy().tolist() == [[[-5, 70000]]]
    floats = Image.fromarray(np.array([[0.25, 3.5]], np.float32))
    assert F.to_tensor(floats).numpy().tolist() == [[[0.25, 3.5]]]
    arr = np.random.default_rng(1).integers(0, 256, (4, 6, 2), dtype=np.uint8)
    np.testing.assert_allclose(_hwc(F.to_tensor(arr)), arr / np.float32(255), rtol=1e-6)
    assert tuple(F.to_tensor(arr[:, :, 0]).shape) == (1, 4, 6)
    farr = np.random.default_rng(2).random((4, 6, 3))  # non-byte data keeps its values and dtype
    t = F.to_tensor(farr)
    assert t.dtype == ember.float64 and np.array_equal(_hwc(t), farr)


def test_to_tensor_errors():
    with pytest.raises(TypeError, match="pic should be PIL Image or ndarray"):
        F.to_tensor(ember.zeros(3, 4, 4))
    with pytest.raises(ValueError, match="pic should be 2/3 dimensional. Got 4"):
        F.to_tensor(np.zeros((1, 2, 3, 4), np.uint8))


def test_pil_to_tensor_keeps_values():
    img = _rgb(5, 7)
    t = F.pil_to_tensor(img)
    assert t.dtype == ember.uint8 and _same(img, t)
    la = img.convert("LA")
    assert tuple(F.pil_to_tensor(la).shape) == (2, 5, 7) and _same(la, F.pil_to_tensor(la))
    wide = Image.fromarray(np.array([[1, 60000]], np.uint16))  # "I;16": int32, ember has no uint16
    t = F.pil_to_tensor(wide)
    assert t.dtype == ember.int32 and t.numpy().tolist() == [[[1, 60000]]]
    with pytest.raises(TypeError, match="pic should be PIL Image"):
        F.pil_to_tensor(np.zeros((2, 2), np.uint8))


def test_to_pil_image_round_trips_every_byte():
    levels = np.arange(256, dtype=np.uint8).reshape(16, 16)
    img = Image.fromarray(levels)
    back = F.to_pil_image(F.to_tensor(img))
    assert back.mode == "L" and np.array_equal(np.asarray(back), levels)
    rgb = _rgb(6, 5)
    assert np.array_equal(np.asarray(F.to_pil_image(F.pil_to_tensor(rgb))), np.asarray(rgb))
    assert np.array_equal(np.asarray(F.to_pil_image(np.asarray(rgb))), np.asarray(rgb))


@pytest.mark.parametrize("shape, dtype, mode", [
    ((1, 3, 4), np.uint8, "L"), ((1, 3, 4), np.int32, "I"), ((1, 3, 4), np.int16, "I;16"),
    ((2, 3, 4), np.uint8, "LA"), ((3, 3, 4), np.uint8, "RGB"), ((4, 3, 4), np.uint8, "RGBA"),
    ((3, 3, 4), np.float32, "RGB"), ((3, 4), np.uint8, "L"),
])
def test_to_pil_image_infers_mode(shape, dtype, mode):
    arr = (np.random.default_rng(0).random(shape) * (1 if dtype == np.float32 else 200)).astype(dtype)
    img = F.to_pil_image(ember.from_numpy(arr))
    assert img.mode == mode and img.size == (4, 3)
    expected = (arr * 255).astype(np.uint8) if dtype == np.float32 else arr
    got = np.asarray(img)
    assert np.array_equal(got if got.ndim == 2 else np.moveaxis(got, -1, 0), expected.squeeze())


def test_to_pil_image_explicit_modes_and_errors():
    f = np.random.default_rng(0).random((3, 4)).astype(np.float32)
    img = F.to_pil_image(ember.from_numpy(f[None]), mode="F")
    assert img.mode == "F" and np.array_equal(np.asarray(img), f)
    assert F.to_pil_image(ember.zeros(3, 2, 2, dtype=ember.uint8), mode="HSV").mode == "HSV"
    with pytest.raises(ValueError, match=r"Only modes \['RGB', 'YCbCr', 'HSV'\]"):
        F.to_pil_image(ember.zeros(3, 2, 2, dtype=ember.uint8), mode="RGBA")
    with pytest.raises(ValueError, match="Incorrect mode"):
        F.to_pil_image(ember.zeros(1, 2, 2, dtype=ember.uint8), mode="F")
    with pytest.raises(ValueError, match="should not have > 4 channels. Got 5"):
        F.to_pil_image(ember.zeros(5, 2, 2))
    with pytest.raises(ValueError, match="2/3 dimensional"):
        F.to_pil_image(ember.zeros(1, 1, 2, 2))
    with pytest.raises(TypeError, match="pic should be Tensor or ndarray"):
        F.to_pil_image([[0]])
    with pytest.raises(TypeError, match="Input type int64 is not supported"):
        F.to_pil_image(ember.zeros(3, 2, 2, dtype=ember.int64))


def test_convert_image_dtype():
    u = ember.tensor([[[0, 1, 128, 255]]], dtype=ember.uint8)
    f = F.convert_image_dtype(u, ember.float32)
    np.testing.assert_allclose(f.numpy(), u.numpy() / 255.0, rtol=1e-6)
    x = ember.tensor([[[0.0, 0.5, 0.999, 1.0]]])
    assert F.convert_image_dtype(x, ember.uint8).numpy().tolist() == [[[0, 127, 255, 255]]]
    assert F.convert_image_dtype(u, ember.int16).numpy().tolist() == [[[0, 128, 32768 // 2, 255 * 128]]]
    assert F.convert_image_dtype(ember.tensor([[[32767, 256]]], dtype=ember.int16), ember.uint8).numpy().tolist() \
        == [[[255, 2]]]
    assert F.convert_image_dtype(x, ember.float64).dtype == ember.float64
    with pytest.raises(RuntimeError, match="cannot be performed safely"):
        F.convert_image_dtype(x, ember.int32)


def test_normalize_formula():
    x = ember.rand(2, 3, 4, 5)
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 2.0)
    expected = (x.numpy() - np.array(mean, np.float32)[:, None, None]) / np.array(std, np.float32)[:, None, None]
    out = F.normalize(x, mean, std)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    assert out is not x and not np.array_equal(x.numpy(), out.numpy())
    same = F.normalize(x, mean, std, inplace=True)
    assert same is x and np.allclose(x.numpy(), expected)
    np.testing.assert_allclose(F.normalize(ember.ones(1, 2, 2), [0.5], [0.5]).numpy(), np.ones((1, 2, 2)))


@pytest.mark.parametrize("dtype", [ember.float32, ember.float64])
@pytest.mark.parametrize("mean,std", [((0.1307,), (0.3081,)), ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
                                      (0.5, 2), ([1, 0, 2], 0.5)])
def test_normalize_matches_torch_with_and_without_gradient(dtype, mean, std):
    """The same bits whether or not the image records a gradient, and as torch's ops; the
    gradient is 1 / std per channel."""
    channels = 1 if isinstance(mean, tuple) and len(mean) == 1 else 3
    x = ember.rand(2, channels, 5, 4, dtype=dtype)
    fast = F.normalize(x, mean, std)
    xg = x.clone().requires_grad_()
    slow = F.normalize(xg, mean, std)
    assert fast.grad_fn is None and slow.grad_fn is not None
    np.testing.assert_array_equal(fast.numpy(), slow.detach().numpy())
    per = (lambda v: torch.tensor(v, dtype=torch.float64 if dtype is ember.float64 else torch.float32)
           .reshape(-1, 1, 1))
    want = (torch.tensor(x.numpy()) - per(mean)) / per(std)
    np.testing.assert_array_equal(fast.numpy(), want.numpy())
    slow.sum().backward()
    np.testing.assert_allclose(xg.grad.numpy(), np.broadcast_to(1 / per(std).numpy(), x.shape), rtol=1e-6)


def test_normalize_reuses_its_constants_only_for_the_same_numbers_dtype_and_device(monkeypatch):
    """The mean and std tensors made for one call serve later calls with equal numbers; a list
    changed in place, another dtype, or a zero std (raised each time) are never served stale."""
    x = ember.rand(3, 4, 4)
    mean, std = [0.1, 0.2, 0.3], [0.5, 0.25, 2.0]
    first = F.normalize(x, mean, std)
    made = []
    monkeypatch.setattr(F, "as_tensor", lambda *a, **k: made.append(a) or ember.as_tensor(*a, **k))
    np.testing.assert_array_equal(F.normalize(x, mean, std).numpy(), first.numpy())
    np.testing.assert_array_equal(F.normalize(x, tuple(mean), std).numpy(), first.numpy())
    assert made == []  # the same numbers: the constants made by the first call
    mean[1] = 0.7
    want = (x.numpy() - np.array(mean, np.float32)[:, None, None]) / np.array(std, np.float32)[:, None, None]
    np.testing.assert_allclose(F.normalize(x, mean, std).numpy(), want, rtol=1e-6)
    as64 = F.normalize(x.double(), mean, std)
    assert as64.dtype == ember.float64
    np.testing.assert_allclose(as64.numpy(), (x.numpy().astype(np.float64) - np.array(mean)[:, None, None])
                               / np.array(std)[:, None, None], rtol=1e-12)
    for _ in range(2):
        with pytest.raises(ValueError, match="std evaluated to zero"):
            F.normalize(x, mean, [1.0, 0.0, 1.0])


def test_normalize_mismatched_channels_raise_the_tensor_error():
    with pytest.raises(RuntimeError, match="must match the size"):
        F.normalize(ember.zeros(3, 2, 2), [0.1, 0.2], [1.0, 1.0])
    with pytest.raises(RuntimeError, match="must match the size"):
        F.normalize(ember.zeros(3, 2, 2), ember.tensor([0.1, 0.2]), [1.0])


def test_normalize_errors():
    with pytest.raises(TypeError, match="Input tensor should be a float tensor. Got ember.uint8"):
        F.normalize(ember.zeros(3, 2, 2, dtype=ember.uint8), [0.0], [1.0])
    with pytest.raises(ValueError, match=r"size \(\.\.\., C, H, W\). Got tensor.size\(\) = \(2, 2\)"):
        F.normalize(ember.zeros(2, 2), [0.0], [1.0])
    with pytest.raises(ValueError, match="std evaluated to zero"):
        F.normalize(ember.zeros(3, 2, 2), [0.0] * 3, [1.0, 0.0, 1.0])
    with pytest.raises(TypeError, match="img should be Tensor Image"):
        F.normalize(np.zeros((3, 2, 2)), [0.0], [1.0])


# ---- resizing -------------------------------------------------------------------------------
@pytest.mark.parametrize("size, expected_hw", [
    (6, (6, 7)), ([6], (6, 7)), ((5, 9), (5, 9)), ((11, 14), (11, 14)),
])
def test_resize_pil_matches_pillow(size, expected_hw):
    img = _rgb(11, 14)
    for mode, pil_mode in [(InterpolationMode.BILINEAR, Image.Resampling.BILINEAR),
                           (InterpolationMode.BICUBIC, Image.Resampling.BICUBIC),
                           (InterpolationMode.NEAREST, Image.Resampling.NEAREST),
                           (InterpolationMode.LANCZOS, Image.Resampling.LANCZOS)]:
        out = F.resize(img, size, mode)
        assert out.size == expected_hw[::-1]
        ref = img.resize(expected_hw[::-1], pil_mode)
        assert np.array_equal(np.asarray(out), np.asarray(ref))
    assert F.resize(img, (11, 14)) is img


def test_resize_output_size_rules():
    portrait, landscape = _rgb(20, 10), _rgb(10, 20)
    assert F.resize(portrait, 5).size == (5, 10)
    assert F.resize(landscape, 5).size == (10, 5)
    assert F.resize(landscape, 5, max_size=8).size == (8, 4)
    assert F.resize(ember.zeros(3, 10, 20), 5, max_size=8).shape == (3, 4, 8)
    assert F.resize(ember.zeros(3, 10, 20), [4, 7]).shape == (3, 4, 7)
    assert F.resize(landscape, 5, interpolation=Image.Resampling.NEAREST).size == (10, 5)
    with pytest.raises(ValueError, match="max_size = 5 must be strictly greater"):
        F.resize(landscape, 5, max_size=5)
    with pytest.raises(ValueError, match="max_size should only be passed if size specifies the length of the "
                                         "smaller edge"):
        F.resize(landscape, [5, 6], max_size=9)
    with pytest.raises(ValueError, match="not a 3 element tuple"):
        F.resize(landscape, [1, 2, 3])
    with pytest.raises(TypeError, match="Size should be int or sequence"):
        F.resize(landscape, 2.5)
    with pytest.raises(TypeError, match="InterpolationMode"):
        F.resize(landscape, 5, interpolation="bilinear")
    with pytest.raises(ValueError, match="'lanczos' is unsupported with Tensor input"):
        F.resize(ember.zeros(3, 4, 4), 2, InterpolationMode.LANCZOS)
    with pytest.warns(UserWarning, match="always applied for PIL"):
        F.resize(landscape, 5, antialias=False)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic", "nearest", "nearest-exact"])
@pytest.mark.parametrize("antialias", [True, False])
@pytest.mark.parametrize("size", [[5, 6], [17, 23]])
def test_resize_tensor_matches_interpolate(mode, antialias, size):
    x = ember.rand(2, 3, 9, 11)
    out = F.resize(x, size, InterpolationMode(mode), antialias=antialias)
    smooth = mode in ("bilinear", "bicubic")
    ref = torch.nn.functional.interpolate(torch.tensor(x.numpy()), size=size, mode=mode,
                                          align_corners=False if smooth else None, antialias=antialias and smooth)
    assert out.dtype == ember.float32
    np.testing.assert_allclose(out.numpy(), ref.numpy(), atol=1e-5)
    # Unbatched, 2-D and uint8 images take the same path; integers are rounded (and clipped).
    np.testing.assert_allclose(F.resize(x[0], size, InterpolationMode(mode), antialias=antialias).numpy(),
                               ref[0].numpy(), atol=1e-5)
    assert tuple(F.resize(x[0, 0], size, InterpolationMode(mode)).shape) == tuple(size)
    u = (x * 255).to(ember.uint8)
    ref_u = torch.nn.functional.interpolate(torch.tensor(u.numpy()).float(), size=size, mode=mode,
                                            align_corners=False if smooth else None,
                                            antialias=antialias and smooth).clamp(0, 255).round()
    out_u = F.resize(u, size, InterpolationMode(mode), antialias=antialias)
    assert out_u.dtype == ember.uint8
    assert np.abs(out_u.numpy().astype(int) - ref_u.numpy().astype(int)).max() <= 1


@pytest.mark.parametrize("size", [[5, 6], [8, 13], [6, 30]])
def test_resize_tensor_close_to_pil(size):
    img = _rgb(11, 14)
    for mode in (InterpolationMode.BILINEAR, InterpolationMode.BICUBIC):
        t = F.resize(F.pil_to_tensor(img), size, mode)
        p = F.resize(img, size, mode)
        diff = np.abs(_hwc(t).astype(int) - np.asarray(p).astype(int))
        # Pillow rounds to bytes between its horizontal and vertical passes; a tensor does not.
        assert diff.max() <= (1 if size[1] < 14 else 10) and diff.mean() < 0.6


# ---- crops, pads, flips ---------------------------------------------------------------------
@pytest.mark.parametrize("box", [(0, 0, 5, 5), (2, 3, 9, 4), (-2, -3, 6, 20), (5, 10, 8, 8), (3, 4, 0, 2)])
def test_crop_tensor_equals_pil(box):
    img = _rgb(11, 14)
    out = F.crop(img, *box)
    top, left, h, w = box
    assert out.size == (w, h)
    assert np.array_equal(np.asarray(out), np.asarray(img.crop((left, top, left + w, top + h))))
    t = F.crop(F.pil_to_tensor(img), *box)
    assert tuple(t.shape) == (3, h, w) and _same(out, t)
    batch = F.crop(ember.stack([F.pil_to_tensor(img)] * 2), *box)
    assert np.array_equal(batch.numpy()[1], t.numpy())


@pytest.mark.parametrize("size, top_left", [((5, 7), (3, 4)), (4, (4, 5)), ([6], (2, 4)), ((11, 14), (0, 0))])
def test_center_crop_positions(size, top_left):
    img = _rgb(11, 14)
    h, w = (size, size) if isinstance(size, int) else (size[0], size[-1])
    top, left = top_left  # round((11 - h) / 2), round((14 - w) / 2), rounding halves to even
    expected = np.asarray(img)[top:top + h, left:left + w]
    assert np.array_equal(np.asarray(F.center_crop(img, size)), expected)
    assert np.array_equal(_hwc(F.center_crop(F.pil_to_tensor(img), size)), expected)


def test_center_crop_larger_than_image_pads_with_zeros():
    img = _rgb(5, 6)
    out = F.center_crop(img, (8, 9))
    expected = np.zeros((8, 9, 3), np.uint8)
    expected[1:6, 1:7] = np.asarray(img)  # (8 - 5) // 2 = 1 above, (9 - 6) // 2 = 1 left
    assert np.array_equal(np.asarray(out), expected)
    assert np.array_equal(_hwc(F.center_crop(F.pil_to_tensor(img), (8, 9))), expected)
    tall = F.center_crop(F.pil_to_tensor(img), (9, 4))  # padded in height, cropped in width
    assert np.array_equal(_hwc(tall)[2:7], np.asarray(img)[:, 1:5]) and not tall.numpy()[:, :2].any()


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
@pytest.mark.parametrize("padding", [2, [3], [1, 2], [1, 2, 3, 4], [-1, 2, 3, -2]])
def test_pad_tensor_equals_pil_and_numpy(mode, padding):
    img = _rgb(7, 9)
    p = [padding] * 4 if isinstance(padding, int) else (padding * 4)[:4] if len(padding) == 1 else \
        padding * 2 if len(padding) == 2 else padding
    left, top, right, bottom = p
    arr = np.asarray(img)[max(-top, 0):7 - max(-bottom, 0), max(-left, 0):9 - max(-right, 0)]
    widths = ((max(top, 0), max(bottom, 0)), (max(left, 0), max(right, 0)), (0, 0))
    expected = np.pad(arr, widths, mode) if mode != "constant" else np.pad(arr, widths, constant_values=0)
    assert np.array_equal(np.asarray(F.pad(img, padding, padding_mode=mode)), expected)
    assert np.array_equal(_hwc(F.pad(F.pil_to_tensor(img), padding, padding_mode=mode)), expected)


def test_pad_fill_values():
    img = _rgb(3, 4)
    out = np.asarray(F.pad(img, 1, fill=(10, 20, 30)))
    assert out[0, 0].tolist() == [10, 20, 30] and np.array_equal(out[1:4, 1:5], np.asarray(img))
    t = F.pad(F.to_tensor(img), [2, 1], fill=0.5)
    assert tuple(t.shape) == (3, 5, 8) and np.all(t.numpy()[:, 0] == 0.5) and np.all(t.numpy()[:, :, :2] == 0.5)
    with pytest.raises(ValueError, match=r"does not match the number of channels of the image \(2 != 3\)"):
        F.pad(img, 1, fill=(1, 2))
    with pytest.raises(TypeError, match="Got inappropriate padding arg"):
        F.pad(img, "1")
    with pytest.raises(TypeError, match="Got inappropriate fill arg"):
        F.pad(img, 1, fill="red")
    with pytest.raises(ValueError, match="Padding mode should be either constant, edge, reflect or symmetric"):
        F.pad(img, 1, padding_mode="wrap")
    with pytest.raises(ValueError, match="not a 3 element tuple"):
        F.pad(img, [1, 2, 3])


def test_pad_keeps_palette():
    img = _rgb(4, 5).convert("P")
    for mode in ("constant", "edge"):
        out = F.pad(img, 1, padding_mode=mode)
        assert out.mode == "P" and out.getpalette() == img.getpalette()


def test_flips():
    img = _rgb(5, 7)
    t = F.pil_to_tensor(img)
    assert np.array_equal(np.asarray(F.hflip(img)), np.asarray(img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    assert np.array_equal(np.asarray(F.vflip(img)), np.asarray(img.transpose(Image.Transpose.FLIP_TOP_BOTTOM)))
    assert _same(F.hflip(img), F.hflip(t)) and _same(F.vflip(img), F.vflip(t))
    assert np.array_equal(_hwc(F.hflip(t)), np.asarray(img)[:, ::-1])
    batch = ember.stack([t, t])
    assert np.array_equal(F.vflip(batch).numpy()[1], F.vflip(t).numpy())


# ---- rotations and affine maps --------------------------------------------------------------
def _grid_sample_reference(x, matrix, oh, ow, mode, fill):
    """torchvision's tensor affine recipe in torch: a grid of centred output coordinates mapped
    by the matrix, normalised, and sampled with grid_sample (plus a mask channel for fill)."""
    x = torch.tensor(x.numpy()).unsqueeze(0)
    _, _, h, w = x.shape
    theta = torch.tensor(matrix, dtype=x.dtype).reshape(1, 2, 3)
    base = torch.empty(1, oh, ow, 3, dtype=x.dtype)
    base[..., 0].copy_(torch.linspace(-ow * 0.5 + 0.5, ow * 0.5 - 0.5, ow))
    base[..., 1].copy_(torch.linspace(-oh * 0.5 + 0.5, oh * 0.5 - 0.5, oh).unsqueeze(-1))
    base[..., 2].fill_(1)
    grid = base.view(1, oh * ow, 3).bmm(theta.transpose(1, 2) / torch.tensor([0.5 * w, 0.5 * h])).view(1, oh, ow, 2)
    if fill is not None:
        x = torch.cat((x, torch.ones(1, 1, h, w, dtype=x.dtype)), 1)
    y = torch.nn.functional.grid_sample(x, grid, mode=mode, padding_mode="zeros", align_corners=False)
    if fill is not None:
        mask, y = y[:, -1:].expand_as(y[:, :-1]), y[:, :-1]
        f = torch.tensor(fill, dtype=y.dtype).view(1, -1, 1, 1).expand_as(y)
        y = torch.where(mask < 0.5, f, y) if mode == "nearest" else y * mask + (1 - mask) * f
    return y[0].numpy()


@pytest.mark.parametrize("angle", [90, 180, 270, -90])
def test_rotate_right_angles_are_exact(angle):
    img = _rgb(8, 8)
    expected = np.rot90(np.asarray(img), angle // 90)
    assert np.array_equal(np.asarray(F.rotate(img, angle)), expected)
    assert np.array_equal(_hwc(F.rotate(F.pil_to_tensor(img), angle)), expected)
    wide = _rgb(6, 10)
    out = F.rotate(F.pil_to_tensor(wide), angle, expand=True)
    assert np.array_equal(_hwc(out), np.rot90(np.asarray(wide), angle // 90))


@pytest.mark.parametrize("angle", [30, -17.5, 45])
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
@pytest.mark.parametrize("fill", [None, [0.2, 0.5, 0.9]])
@pytest.mark.parametrize("expand", [False, True])
def test_rotate_tensor_matches_grid_sample(angle, mode, fill, expand):
    x = F.to_tensor(_rgb(9, 12))
    out = F.rotate(x, angle, InterpolationMode(mode), expand=expand, fill=fill)
    pil = F.rotate(_rgb(9, 12), angle, expand=expand)
    assert out.shape[1:] == (pil.size[1], pil.size[0])  # expand grows to Pillow's size
    oh, ow = out.shape[1:]
    matrix = F._inverse_affine_matrix([0.0, 0.0], -angle, [0.0, 0.0], 1.0, [0.0, 0.0])
    np.testing.assert_allclose(out.numpy(), _grid_sample_reference(x, matrix, oh, ow, mode, fill), atol=1e-5)


@pytest.mark.parametrize("args", [
    dict(angle=30, translate=(1, 2), scale=1.2, shear=(10, 5)), dict(angle=0, translate=(3, -2), scale=1.0, shear=0),
    dict(angle=-20, translate=(0, 0), scale=0.8, shear=(0, 15)), dict(angle=10, translate=(1, 1), scale=1.0, shear=[5]),
])
def test_affine_tensor_close_to_pil(args):
    img = _rgb(10, 12)
    t = F.affine(F.pil_to_tensor(img), **args)
    p = F.affine(img, **args)
    assert t.dtype == ember.uint8
    # Nearest neighbours can round the other way at exact halves: nearly all pixels agree.
    assert (np.asarray(p) != _hwc(t)).any(-1).mean() < 0.03
    assert (np.asarray(F.rotate(img, args["angle"], center=(3, 4))) !=
            _hwc(F.rotate(F.pil_to_tensor(img), args["angle"], center=(3, 4)))).any(-1).mean() < 0.03


def test_affine_translation_and_bilinear_fill():
    img = _rgb(6, 7)
    arr = np.asarray(img)
    expected = np.zeros_like(arr)
    expected[1:, 2:] = arr[:-1, :-2]  # shifted 2 right and 1 down, zeros where nothing lands
    assert np.array_equal(np.asarray(F.affine(img, 0, (2, 1), 1.0, 0)), expected)
    assert np.array_equal(_hwc(F.affine(F.pil_to_tensor(img), 0, (2, 1), 1.0, 0)), expected)
    x = F.to_tensor(img)
    out = F.affine(x, 25, (1, -1), 0.9, (4, 2), InterpolationMode.BILINEAR, fill=[1.0, 0.0, 0.5], center=(2, 3))
    center_f = [2 - 7 * 0.5, 3 - 6 * 0.5]
    matrix = F._inverse_affine_matrix(center_f, 25, [1.0, -1.0], 0.9, [4.0, 2.0])
    np.testing.assert_allclose(out.numpy(), _grid_sample_reference(x, matrix, 6, 7, "bilinear", [1.0, 0.0, 0.5]),
                               atol=1e-5)


def test_rotate_affine_errors():
    x = ember.zeros(3, 4, 4)
    with pytest.raises(TypeError, match="Argument angle should be int or float"):
        F.rotate(x, "30")
    with pytest.raises(TypeError, match="Argument center should be a sequence"):
        F.rotate(x, 30, center=2)
    with pytest.raises(ValueError, match="'bicubic' is unsupported with Tensor input"):
        F.rotate(x, 30, InterpolationMode.BICUBIC)
    with pytest.raises(ValueError, match=r"cannot broadcast to match the number of channels of the image \(2 != 3\)"):
        F.rotate(x, 30, fill=[1.0, 2.0])
    with pytest.raises(TypeError, match="Argument translate should be a sequence"):
        F.affine(x, 0, 1, 1.0, 0)
    with pytest.raises(ValueError, match="translate should be a sequence of length 2"):
        F.affine(x, 0, [1], 1.0, 0)
    with pytest.raises(ValueError, match="Argument scale should be positive"):
        F.affine(x, 0, [0, 0], 0.0, 0)
    with pytest.raises(ValueError, match="Shear should be a sequence containing two values"):
        F.affine(x, 0, [0, 0], 1.0, [1, 2, 3])


# ---- colour ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name, enhancer", [("brightness", ImageEnhance.Brightness),
                                            ("contrast", ImageEnhance.Contrast), ("saturation", ImageEnhance.Color)])
@pytest.mark.parametrize("factor", [0.0, 0.5, 1.0, 1.7])
def test_adjustments_match_image_enhance(name, enhancer, factor):
    img = _rgb(8, 9)
    fn = getattr(F, f"adjust_{name}")
    ref = np.asarray(enhancer(img).enhance(factor)).astype(int)
    assert np.array_equal(np.asarray(fn(img, factor)), ref)
    u = fn(F.pil_to_tensor(img), factor)
    f = fn(F.to_tensor(img), factor)
    assert u.dtype == ember.uint8 and f.dtype == ember.float32
    # Pillow rounds its grey mean to an integer and truncates in float32: within one level.
    assert np.abs(_hwc(u).astype(int) - ref).max() <= 1
    assert np.abs(_hwc(f) * 255 - ref).max() <= 1.5
    if factor == 1.0:
        assert np.array_equal(f.numpy(), F.to_tensor(img).numpy())


def test_brightness_and_contrast_formulas():
    x = ember.rand(2, 3, 4, 5)
    np.testing.assert_allclose(F.adjust_brightness(x, 0.7).numpy(), x.numpy() * 0.7, rtol=1e-6)
    np.testing.assert_allclose(F.adjust_brightness(x, 3.0).numpy(), np.minimum(x.numpy() * 3.0, 1.0), rtol=1e-6)
    r, g, b = x.numpy()[:, 0], x.numpy()[:, 1], x.numpy()[:, 2]
    mean = (0.2989 * r + 0.587 * g + 0.114 * b).mean(axis=(1, 2))[:, None, None, None]
    np.testing.assert_allclose(F.adjust_contrast(x, 1.5).numpy(),
                               np.clip(1.5 * x.numpy() - 0.5 * mean, 0, 1), rtol=1e-5, atol=1e-6)
    gray = ember.rand(1, 4, 5)
    assert F.adjust_saturation(gray, 0.3) is gray and F.adjust_hue(gray, 0.3) is gray


def test_adjust_hue_matches_colorsys():
    img = _rgb(6, 7)
    x = F.to_tensor(img)
    for hue in (-0.5, -0.2, 0.0, 0.1, 0.5):
        out = F.adjust_hue(x, hue).numpy()
        ref = np.empty_like(out)
        for i in range(6):
            for j in range(7):
                h, s, v = colorsys.rgb_to_hsv(*x.numpy()[:, i, j])
                ref[:, i, j] = colorsys.hsv_to_rgb((h + hue) % 1.0, s, v)
        np.testing.assert_allclose(out, ref, atol=1e-5)
        u = F.adjust_hue(F.pil_to_tensor(img), hue)
        assert u.dtype == ember.uint8 and np.abs(u.numpy() / 255.0 - ref).max() <= 1 / 255 + 1e-6
        # Pillow works on 8-bit HSV, which quantizes the hue: close, not equal.
        assert np.abs(np.asarray(F.adjust_hue(img, hue)).astype(int) - _hwc(u).astype(int)).mean() < 3
    assert F.adjust_hue(img.convert("L"), 0.2).mode == "L"


def test_colour_errors():
    x = ember.rand(3, 2, 2)
    with pytest.raises(ValueError, match=r"brightness_factor \(-1\) is not non-negative"):
        F.adjust_brightness(x, -1)
    with pytest.raises(ValueError, match=r"contrast_factor \(-0.5\) is not non-negative"):
        F.adjust_contrast(x, -0.5)
    with pytest.raises(ValueError, match=r"hue_factor \(0.6\) is not in \[-0.5, 0.5\]"):
        F.adjust_hue(x, 0.6)
    with pytest.raises(TypeError, match=r"permitted channel values are \[1, 3\], but found 4"):
        F.adjust_brightness(ember.rand(4, 2, 2), 0.5)
    with pytest.raises(TypeError, match="should have at least 3 dimensions, but found 2"):
        F.rgb_to_grayscale(ember.rand(2, 2))
    with pytest.raises(ValueError, match="num_output_channels should be either 1 or 3"):
        F.rgb_to_grayscale(x, 2)
    with pytest.raises(TypeError, match="Input should be PIL Image"):
        F.to_grayscale(x)


def test_rgb_to_grayscale():
    img = _rgb(5, 6)
    ref = np.asarray(img.convert("L")).astype(int)
    assert np.array_equal(np.asarray(F.rgb_to_grayscale(img)), ref)
    three = F.rgb_to_grayscale(img, 3)
    assert three.mode == "RGB" and np.array_equal(np.asarray(three)[:, :, 2], ref)
    t = F.rgb_to_grayscale(F.pil_to_tensor(img))
    assert tuple(t.shape) == (1, 5, 6) and np.abs(t.numpy()[0].astype(int) - ref).max() <= 1
    x = F.to_tensor(img)
    r, g, b = x.numpy()
    np.testing.assert_allclose(F.rgb_to_grayscale(x, 3).numpy(), np.broadcast_to(0.2989 * r + 0.587 * g + 0.114 * b,
                                                                                 (3, 5, 6)), rtol=1e-6)


# ---- blur and erase -------------------------------------------------------------------------
@pytest.mark.parametrize("kernel_size, sigma", [(3, 1.0), ([5, 3], [1.5, 0.7]), (7, None), ((1, 5), 2.0)])
def test_gaussian_blur_matches_conv2d(kernel_size, sigma):
    x = ember.rand(2, 3, 9, 10)
    out = F.gaussian_blur(x, kernel_size, sigma)
    kx, ky = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    sx, sy = ((kx * 0.15 + 0.35, ky * 0.15 + 0.35) if sigma is None else
              (sigma, sigma) if isinstance(sigma, float) else sigma)

    def kernel1d(k, s):
        t = torch.linspace(-(k - 1) * 0.5, (k - 1) * 0.5, k, dtype=torch.float64)
        pdf = torch.exp(-0.5 * (t / s) ** 2)
        return pdf / pdf.sum()
    k2d = torch.outer(kernel1d(ky, sy), kernel1d(kx, sx)).float()
    padded = torch.nn.functional.pad(torch.tensor(x.numpy()), [kx // 2, kx // 2, ky // 2, ky // 2], mode="reflect")
    ref = torch.nn.functional.conv2d(padded, k2d.expand(3, 1, ky, kx), groups=3)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), atol=1e-5)


def test_gaussian_blur_pil_and_errors():
    img = _rgb(8, 9)
    out = F.gaussian_blur(img, 3, 1.2)
    assert isinstance(out, Image.Image) and out.mode == "RGB"
    assert np.array_equal(_pil_array(out), _hwc(F.gaussian_blur(F.pil_to_tensor(img), 3, 1.2)))
    with pytest.raises(ValueError, match="kernel_size should have odd and positive integers"):
        F.gaussian_blur(img, 4)
    with pytest.raises(ValueError, match="sigma should have positive values"):
        F.gaussian_blur(img, 3, 0.0)
    with pytest.raises(TypeError, match="kernel_size should be int or a sequence of integers"):
        F.gaussian_blur(img, 3.0)
    with pytest.raises(ValueError, match="If kernel_size is a sequence its length should be 2"):
        F.gaussian_blur(img, [3, 3, 3])


def test_erase():
    x = ember.rand(3, 6, 7)
    out = F.erase(x, 1, 2, 3, 4, ember.tensor([[[0.25]], [[0.5]], [[0.75]]]))
    expected = x.numpy().copy()
    expected[:, 1:4, 2:6] = np.array([0.25, 0.5, 0.75])[:, None, None]
    assert np.array_equal(out.numpy(), expected) and not np.array_equal(x.numpy(), expected)
    assert F.erase(x, 0, 0, 2, 2, 0, inplace=True) is x and not x.numpy()[:, :2, :2].any()
    with pytest.raises(TypeError, match="img should be Tensor Image"):
        F.erase(_rgb(3, 3), 0, 0, 1, 1, 0)


# ---- tensor transforms are differentiable ---------------------------------------------------
@pytest.mark.parametrize("fn", [
    lambda x: F.resize(x, [3, 5]),
    lambda x: F.resize(x, [7, 9], InterpolationMode.BICUBIC, antialias=False),
    lambda x: F.rotate(x, 30, InterpolationMode.BILINEAR, fill=[0.5, 0.2, 0.1]),
    lambda x: F.affine(x, 10, (1, 0), 1.1, 5, InterpolationMode.BILINEAR),
    lambda x: F.pad(x, [1, 2], padding_mode="symmetric"),
    lambda x: F.center_crop(x, [6, 3]),
    lambda x: F.gaussian_blur(x, 3, 0.8),
    lambda x: F.normalize(x, [0.1, 0.2, 0.3], [0.5, 1.0, 2.0]),
    lambda x: F.adjust_saturation(x, 0.6),
    lambda x: F.adjust_contrast(x, 0.8),
])
def test_tensor_transforms_gradcheck(fn):
    check_gradcheck([(3, 5, 6)], fn, low=0.05, high=0.95)
