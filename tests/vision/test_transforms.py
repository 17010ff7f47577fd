"""ember.vision.transforms classes: torchvision's arguments, reprs, randomness and outputs.

The functions they call are checked against references in test_transforms_functional.py;
here each class is checked for what it adds: parameter draws (ranges, reproducibility
under ember.manual_seed), validation, and its composition with the functions.
"""
import numpy as np
import pytest
from PIL import Image

import ember
import ember.nn as nn
from ember.vision import transforms as T
from ember.vision.transforms import InterpolationMode
from ember.vision.transforms import functional as F


def _rgb(h=11, w=14, seed=0):
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8))


def _hwc(t):
    return np.moveaxis(t.numpy(), 0, -1)


def _find(window, image):
    """The (top, left) positions where ``window`` (H, W, C) occurs in ``image``."""
    h, w = window.shape[:2]
    return [(i, j) for i in range(image.shape[0] - h + 1) for j in range(image.shape[1] - w + 1)
            if np.array_equal(image[i:i + h, j:j + w], window)]


# ---- reprs ----------------------------------------------------------------------------------
def test_compose_repr():
    t = T.Compose([T.ToTensor(), T.Normalize(mean=(0.5,), std=(0.5,))])
    assert repr(t) == "Compose(\n    ToTensor()\n    Normalize(mean=(0.5,), std=(0.5,))\n)"


@pytest.mark.parametrize("transform, text", [
    (T.PILToTensor(), "PILToTensor()"),
    (T.ToPILImage(), "ToPILImage()"),
    (T.ToPILImage("RGB"), "ToPILImage(mode=RGB)"),
    (T.ConvertImageDtype(ember.float32), "ConvertImageDtype(dtype=ember.float32)"),
    (T.Resize(32), "Resize(size=32, interpolation=bilinear, max_size=None, antialias=True)"),
    (T.Resize((4, 5), InterpolationMode.NEAREST), "Resize(size=(4, 5), interpolation=nearest, max_size=None, "
                                                  "antialias=True)"),
    (T.CenterCrop(10), "CenterCrop(size=(10, 10))"),
    (T.Pad(4, padding_mode="reflect"), "Pad(padding=4, fill=0, padding_mode=reflect)"),
    (T.Lambda(lambda x: x), "Lambda()"),
    (T.RandomCrop(32, padding=4), "RandomCrop(size=(32, 32), padding=4)"),
    (T.RandomHorizontalFlip(), "RandomHorizontalFlip(p=0.5)"),
    (T.RandomVerticalFlip(0.2), "RandomVerticalFlip(p=0.2)"),
    (T.RandomResizedCrop(224), "RandomResizedCrop(size=(224, 224), scale=(0.08, 1.0), ratio=(0.75, 1.3333), "
                               "interpolation=bilinear, antialias=True)"),
    (T.ColorJitter(0.4, 0.4, 0.4, 0.1), "ColorJitter(brightness=(0.6, 1.4), contrast=(0.6, 1.4), "
                                        "saturation=(0.6, 1.4), hue=(-0.1, 0.1))"),
    (T.ColorJitter(), "ColorJitter(brightness=None, contrast=None, saturation=None, hue=None)"),
    (T.RandomRotation(10), "RandomRotation(degrees=[-10.0, 10.0], interpolation=nearest, expand=False, fill=0)"),
    (T.RandomAffine(0, translate=(0.1, 0.1)), "RandomAffine(degrees=[0.0, 0.0], translate=(0.1, 0.1))"),
    (T.RandomAffine(5, scale=(0.9, 1.1), shear=3, interpolation=InterpolationMode.BILINEAR, fill=1),
     "RandomAffine(degrees=[-5.0, 5.0], scale=(0.9, 1.1), shear=[-3.0, 3.0], interpolation=bilinear, fill=1)"),
    (T.Grayscale(3), "Grayscale(num_output_channels=3)"),
    (T.RandomGrayscale(), "RandomGrayscale(p=0.1)"),
    (T.RandomErasing(), "RandomErasing(p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0, inplace=False)"),
    (T.GaussianBlur(3), "GaussianBlur(kernel_size=(3, 3), sigma=(0.1, 2.0))"),
    (T.RandomApply([T.RandomHorizontalFlip()], p=0.3), "RandomApply(\n    p=0.3\n    RandomHorizontalFlip(p=0.5)\n)"),
    (T.RandomOrder([T.ToTensor()]), "RandomOrder(\n    ToTensor()\n)"),
    (T.RandomChoice([T.ToTensor()]), "RandomChoice(\n    ToTensor()\n)(p=None)"),
])
def test_reprs(transform, text):
    assert repr(transform) == text


def test_tensor_transforms_are_modules():
    for t in (T.Normalize([0.5], [0.5]), T.Resize(4), T.RandomCrop(4), T.ColorJitter(), T.RandomErasing()):
        assert isinstance(t, nn.Module)
    assert not isinstance(T.Compose([]), nn.Module) and not isinstance(T.ToTensor(), nn.Module)
    assert not isinstance(T.RandomVerticalFlip(), T.RandomHorizontalFlip)


# ---- deterministic transforms ---------------------------------------------------------------
def test_classic_pipeline():
    img = _rgb(12, 16)
    pipeline = T.Compose([T.Resize(8), T.CenterCrop(6), T.ToTensor(), T.Normalize([0.5] * 3, [0.25] * 3)])
    out = pipeline(img)
    ref = np.asarray(img.resize((10, 8), Image.Resampling.BILINEAR))[1:7, 2:8] / np.float32(255)  # 16 * 8 / 12 -> 10
    assert tuple(out.shape) == (3, 6, 6)
    np.testing.assert_allclose(_hwc(out), (ref - 0.5) / 0.25, rtol=1e-5, atol=1e-6)
    back = T.ToPILImage()(T.PILToTensor()(img))
    assert np.array_equal(np.asarray(back), np.asarray(img))


def test_convert_image_dtype_and_normalize_modules():
    u = ember.randint(0, 256, (3, 4, 4), dtype=ember.uint8)
    f = T.ConvertImageDtype(ember.float32)(u)
    np.testing.assert_allclose(f.numpy(), u.numpy() / 255.0, rtol=1e-6)
    x = ember.rand(3, 4, 4)
    assert T.Normalize([0.1, 0.2, 0.3], [1, 2, 3], inplace=True)(x) is x


def test_resize_and_pad_validation():
    with pytest.raises(TypeError, match="Size should be int or sequence"):
        T.Resize(2.5)
    with pytest.raises(ValueError, match="If size is a sequence, it should have 1 or 2 values"):
        T.Resize((1, 2, 3))
    assert T.Resize(4, interpolation=Image.Resampling.BICUBIC).interpolation is InterpolationMode.BICUBIC
    with pytest.raises(TypeError, match="Got inappropriate padding arg"):
        T.Pad("4")
    with pytest.raises(ValueError, match="Padding mode should be either constant, edge, reflect or symmetric"):
        T.Pad(1, padding_mode="wrap")
    with pytest.raises(ValueError, match="not a 3 element tuple"):
        T.Pad([1, 2, 3])
    with pytest.raises(ValueError, match="Please provide only two dimensions"):
        T.CenterCrop((1, 2, 3))
    with pytest.raises(TypeError, match="Argument lambd should be callable, got 'int'"):
        T.Lambda(3)


def test_resize_pad_center_crop_on_tensors_and_pil():
    img = _rgb(10, 20)
    t = F.pil_to_tensor(img)
    assert T.Resize(5)(img).size == (10, 5) and tuple(T.Resize(5)(t).shape) == (3, 5, 10)
    padded = T.Pad((1, 2), fill=7)(t)
    assert tuple(padded.shape) == (3, 14, 22) and int(padded[0, 0, 0]) == 7
    assert np.array_equal(np.asarray(T.Pad(2, padding_mode="edge")(img)), _hwc(T.Pad(2, padding_mode="edge")(t)))
    assert np.array_equal(np.asarray(T.CenterCrop((4, 6))(img)), _hwc(T.CenterCrop((4, 6))(t)))
    batch = ember.rand(2, 3, 10, 20)
    assert tuple(T.Resize((4, 8))(batch).shape) == (2, 3, 4, 8)


def test_grayscale_classes():
    img = _rgb(5, 6)
    assert T.Grayscale()(img).mode == "L" and T.Grayscale(3)(img).mode == "RGB"
    t = F.to_tensor(img)
    assert tuple(T.Grayscale(3)(t).shape) == (3, 5, 6)
    assert T.RandomGrayscale(p=0.0)(t) is t
    out = T.RandomGrayscale(p=1.0)(t)  # keeps the channel count
    assert tuple(out.shape) == (3, 5, 6) and np.allclose(out.numpy()[0], out.numpy()[2])
    assert T.RandomGrayscale(p=1.0)(img).mode == "RGB"


# ---- random crops ---------------------------------------------------------------------------
def test_random_crop_windows_and_reproducibility():
    img = _rgb(10, 12)
    arr = np.asarray(img)
    crop = T.RandomCrop((4, 5))
    seen = set()
    for _ in range(30):
        out = np.asarray(crop(img))
        assert out.shape == (4, 5, 3)
        seen.update(_find(out, arr))
    assert len(seen) > 10  # positions vary
    ember.manual_seed(3)
    a = [_hwc(crop(F.pil_to_tensor(img))) for _ in range(5)]
    ember.manual_seed(3)
    b = [np.asarray(crop(img)) for _ in range(5)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))  # same draws for PIL and tensor inputs
    assert T.RandomCrop((10, 12)).get_params(img, (10, 12)) == (0, 0, 10, 12)
    with pytest.raises(ValueError, match=r"Required crop size \(11, 12\) is larger than input image size \(10, 12\)"):
        T.RandomCrop((11, 12))(img)


def test_random_crop_padding():
    img = _rgb(6, 6)
    arr = np.asarray(img)
    padded = np.pad(arr, ((4, 4), (4, 4), (0, 0)))
    for _ in range(10):
        out = np.asarray(T.RandomCrop(6, padding=4)(img))
        assert _find(out, padded)
    t = F.to_tensor(img)
    out = T.RandomCrop(6, padding=2, padding_mode="reflect")(t)
    assert _find(_hwc(out), _hwc(F.pad(t, 2, padding_mode="reflect")))
    grown = T.RandomCrop((8, 9), pad_if_needed=True, fill=3)(F.pil_to_tensor(img))
    assert tuple(grown.shape) == (3, 8, 9)
    # pad_if_needed pads both sides by the shortfall, so the image lies inside a (10, 12) canvas.
    canvas = np.pad(arr, ((2, 2), (3, 3), (0, 0)), constant_values=3)
    assert _find(_hwc(grown), canvas)


def test_random_resized_crop_params():
    img = _rgb(20, 30)
    scale, ratio = (0.2, 0.6), (0.5, 2.0)
    for _ in range(50):
        i, j, h, w = T.RandomResizedCrop.get_params(img, scale, ratio)
        assert 0 <= i <= 20 - h and 0 <= j <= 30 - w and h > 0 and w > 0
        # area and ratio in range, up to the rounding of h and w to whole pixels
        assert scale[0] * 600 * 0.8 <= h * w <= scale[1] * 600 * 1.2
        assert ratio[0] * 0.8 <= w / h <= ratio[1] * 1.25


def test_random_resized_crop_fallback_is_central():
    img = _rgb(12, 12)
    # The full area with a ratio of at least 2 never fits in a square: after 10 draws, the
    # central crop of the whole width and height width / 2.
    assert T.RandomResizedCrop.get_params(img, (1.0, 1.0), (2.0, 3.0)) == (3, 0, 6, 12)
    assert T.RandomResizedCrop.get_params(img, (1.0, 1.0), (0.25, 0.5)) == (0, 3, 12, 6)
    assert T.RandomResizedCrop.get_params(_rgb(6, 9), (2.0, 2.0), (0.5, 2.0)) == (0, 0, 6, 9)


def test_random_resized_crop_output():
    img = _rgb(20, 30)
    t = F.pil_to_tensor(img)
    rrc = T.RandomResizedCrop((7, 9), scale=(0.3, 1.0))
    assert rrc(img).size == (9, 7) and tuple(rrc(t).shape) == (3, 7, 9)
    assert tuple(rrc(ember.rand(2, 3, 20, 30)).shape) == (2, 3, 7, 9)
    ember.manual_seed(5)
    params = T.RandomResizedCrop.get_params(img, rrc.scale, rrc.ratio)
    ember.manual_seed(5)
    out = rrc(img)
    assert np.array_equal(np.asarray(out), np.asarray(F.resized_crop(img, *params, [7, 9])))
    with pytest.warns(UserWarning, match="Scale and ratio should be of kind"):
        T.RandomResizedCrop(5, scale=(1.0, 0.5))
    with pytest.raises(TypeError, match="Scale should be a sequence"):
        T.RandomResizedCrop(5, scale=0.5)


# ---- flips, rotations, affine ---------------------------------------------------------------
@pytest.mark.parametrize("cls, flip", [(T.RandomHorizontalFlip, np.fliplr), (T.RandomVerticalFlip, np.flipud)])
def test_random_flips(cls, flip):
    img = _rgb(4, 5)
    arr = np.asarray(img)
    assert np.array_equal(np.asarray(cls(p=1.0)(img)), flip(arr))
    assert cls(p=0.0)(img) is img
    t = F.pil_to_tensor(img)
    flips = [not np.array_equal(_hwc(cls()(t)), arr) for _ in range(200)]
    assert 70 < sum(flips) < 130
    ember.manual_seed(1)
    first = [np.asarray(cls()(img)) for _ in range(8)]
    ember.manual_seed(1)
    assert all(np.array_equal(a, np.asarray(cls()(img))) for a in first)


def test_random_rotation():
    img = _rgb(8, 8)
    assert np.array_equal(np.asarray(T.RandomRotation((90, 90))(img)), np.rot90(np.asarray(img)))
    t = F.to_tensor(img)
    assert np.array_equal(T.RandomRotation((90, 90))(t).numpy(), np.rot90(t.numpy(), axes=(1, 2)))
    out = T.RandomRotation((45, 45), fill=1.0)(t)
    assert np.all(out.numpy()[:, 0, 0] == 1.0)  # the corners are outside the rotated image
    assert np.array_equal(np.asarray(T.RandomRotation((45, 45), fill=(1, 2, 3))(img))[0, 0], [1, 2, 3])
    expanded = T.RandomRotation((30, 30), expand=True)
    assert tuple(expanded(t).shape) == (3, 12, 12) and expanded(img).size == (12, 12)
    for _ in range(20):
        assert -10 <= T.RandomRotation.get_params([-10.0, 10.0]) <= 10
    with pytest.raises(ValueError, match="If degrees is a single number, it must be positive"):
        T.RandomRotation(-3)
    with pytest.raises(ValueError, match="degrees should be a sequence of length 2"):
        T.RandomRotation([1, 2, 3])
    with pytest.raises(ValueError, match="center should be a sequence of length 2"):
        T.RandomRotation(3, center=[1])
    with pytest.raises(TypeError, match="Fill should be either a sequence or a number"):
        T.RandomRotation(3, fill={"r": 1})


def test_random_affine():
    img = _rgb(10, 10)
    for _ in range(20):
        angle, (tx, ty), scale, (sx, sy) = T.RandomAffine.get_params([-5, 5], (0.2, 0.1), (0.8, 1.2), [-3, 3, 1, 2],
                                                                     [10, 20])
        assert -5 <= angle <= 5 and abs(tx) <= 2 and abs(ty) <= 2 and 0.8 <= scale <= 1.2
        assert -3 <= sx <= 3 and 1 <= sy <= 2 and isinstance(tx, int)
    assert T.RandomAffine.get_params([0, 0], None, None, None, [10, 10]) == (0.0, (0, 0), 1.0, (0.0, 0.0))
    arr = np.asarray(img)
    shifted = np.asarray(T.RandomAffine(0, translate=(0.3, 0.3))(img))
    # An integer translation moves the picture: every non-zero region is a block of the input.
    rows, cols = np.nonzero(shifted.any(-1))
    block = shifted[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    assert _find(block, arr)
    t = F.pil_to_tensor(img)
    ember.manual_seed(2)
    a = T.RandomAffine(20, (0.1, 0.1), (0.9, 1.1), 5)(t)
    ember.manual_seed(2)
    b = T.RandomAffine(20, (0.1, 0.1), (0.9, 1.1), 5)(t)
    assert np.array_equal(a.numpy(), b.numpy())
    with pytest.raises(ValueError, match="translation values should be between 0 and 1"):
        T.RandomAffine(0, translate=(1.5, 0))
    with pytest.raises(ValueError, match="scale values should be positive"):
        T.RandomAffine(0, scale=(0, 1))
    with pytest.raises(ValueError, match="shear should be a sequence of length 2 or 4"):
        T.RandomAffine(0, shear=[1, 2, 3])


# ---- colour ---------------------------------------------------------------------------------
def test_color_jitter_neutral_is_identity():
    img = _rgb(6, 7)
    t = F.to_tensor(img)
    jitter = T.ColorJitter(brightness=(1, 1), contrast=(1, 1), saturation=(1, 1), hue=(0, 0))
    assert jitter.brightness is None and jitter.hue is None
    assert jitter(t) is t and jitter(img) is img


def test_color_jitter_draws_and_order():
    for _ in range(20):
        order, b, c, s, h = T.ColorJitter.get_params((0.5, 1.5), (0.8, 0.9), None, (-0.1, 0.1))
        assert sorted(order.tolist()) == [0, 1, 2, 3]
        assert 0.5 <= b <= 1.5 and 0.8 <= c <= 0.9 and s is None and -0.1 <= h <= 0.1
    img = F.to_tensor(_rgb(6, 7))
    jitter = T.ColorJitter(0.5, 0.5, 0.5, 0.2)
    ember.manual_seed(9)
    order, *factors = T.ColorJitter.get_params(jitter.brightness, jitter.contrast, jitter.saturation, jitter.hue)
    expected = img
    adjust = [F.adjust_brightness, F.adjust_contrast, F.adjust_saturation, F.adjust_hue]
    for k in order.tolist():
        expected = adjust[k](expected, factors[k])
    ember.manual_seed(9)
    np.testing.assert_allclose(jitter(img).numpy(), expected.numpy(), atol=1e-6)
    out = jitter(_rgb(6, 7))
    assert isinstance(out, Image.Image) and out.size == (7, 6)


def test_color_jitter_validation():
    assert T.ColorJitter(brightness=1.5).brightness == (0.0, 2.5)
    assert T.ColorJitter(hue=[-0.2, 0.3]).hue == (-0.2, 0.3)
    with pytest.raises(ValueError, match="If brightness is a single number, it must be non negative"):
        T.ColorJitter(brightness=-0.1)
    with pytest.raises(ValueError, match=r"hue values should be between \(-0.5, 0.5\)"):
        T.ColorJitter(hue=0.6)
    with pytest.raises(TypeError, match="contrast should be a single number or a list/tuple with length 2"):
        T.ColorJitter(contrast=[1, 2, 3])


def test_gaussian_blur_class():
    t = ember.rand(3, 8, 9)
    out = T.GaussianBlur((3, 5), sigma=0.7)(t)
    np.testing.assert_allclose(out.numpy(), F.gaussian_blur(t, [3, 5], [0.7, 0.7]).numpy(), rtol=1e-6)
    for _ in range(10):
        assert 0.1 <= T.GaussianBlur.get_params(0.1, 2.0) <= 2.0
    with pytest.raises(ValueError, match="Kernel size value should be an odd and positive number"):
        T.GaussianBlur(4)
    with pytest.raises(ValueError, match="sigma values should be positive and of the form"):
        T.GaussianBlur(3, (2.0, 1.0))
    with pytest.raises(ValueError, match="If sigma is a single number, it must be positive"):
        T.GaussianBlur(3, 0)


# ---- random erasing -------------------------------------------------------------------------
def _erased_box(before, after):
    rows, cols = np.nonzero((before != after).any(0))
    return rows.min(), cols.min(), rows.max() - rows.min() + 1, cols.max() - cols.min() + 1


def test_random_erasing_fills_a_box_in_range():
    scale, ratio = (0.05, 0.3), (0.5, 2.0)
    erase = T.RandomErasing(p=1.0, scale=scale, ratio=ratio, value=(2.0, 3.0, 4.0))
    for _ in range(25):
        x = ember.rand(3, 20, 24)
        before = x.numpy().copy()
        out = erase(x)
        i, j, h, w = _erased_box(before, out.numpy())
        box = out.numpy()[:, i:i + h, j:j + w]
        assert np.array_equal(box, np.broadcast_to(np.array([2.0, 3.0, 4.0])[:, None, None], box.shape))
        rest = out.numpy().copy()
        rest[:, i:i + h, j:j + w] = before[:, i:i + h, j:j + w]
        assert np.array_equal(rest, before)  # nothing else changed
        assert scale[0] * 480 * 0.75 <= h * w <= scale[1] * 480 * 1.25
        assert ratio[0] * 0.7 <= h / w <= ratio[1] * 1.4
        assert np.array_equal(x.numpy(), before)  # not in place


def test_random_erasing_values_and_inplace():
    x = ember.rand(3, 16, 16)
    i, j, h, w, v = T.RandomErasing.get_params(x, (0.1, 0.2), (0.5, 2.0), None)
    assert tuple(v.shape) == (3, h, w) and v.dtype == ember.float32  # "random": normal noise
    assert T.RandomErasing.get_params(x, (0.1, 0.2), (0.5, 2.0), [0.5])[4].numpy().tolist() == [[[0.5]]]
    # A box never fits when the area exceeds the image: the image itself comes back.
    i, j, h, w, v = T.RandomErasing.get_params(x, (1.0, 1.0), (1.0, 1.0), [0.0])
    assert (i, j, h, w) == (0, 0, 16, 16) and v is x
    assert T.RandomErasing(p=0.0)(x) is x
    y = T.RandomErasing(p=1.0, value=0, inplace=True)(x)
    assert y is x and (x.numpy() == 0).any()
    u = ember.randint(1, 255, (3, 16, 16), dtype=ember.uint8)
    out = T.RandomErasing(p=1.0, value="random")(u)
    assert out.dtype == ember.uint8 and tuple(out.shape) == (3, 16, 16)


def test_random_erasing_validation():
    with pytest.raises(ValueError, match="If value is str, it should be 'random'"):
        T.RandomErasing(value="noise")
    with pytest.raises(TypeError, match="Argument value should be either a number or str or a sequence"):
        T.RandomErasing(value=None)
    with pytest.raises(ValueError, match="Scale should be between 0 and 1"):
        T.RandomErasing(scale=(0.5, 1.5))
    with pytest.raises(ValueError, match="Random erasing probability should be between 0 and 1"):
        T.RandomErasing(p=1.5)
    with pytest.raises(ValueError, match=r"either a single value or 3 \(number of input channels\)"):
        T.RandomErasing(p=1.0, value=[1, 2])(ember.rand(3, 8, 8))
    with pytest.raises(TypeError, match="img should be Tensor Image"):
        T.RandomErasing(p=1.0)(_rgb(8, 8))


# ---- containers -----------------------------------------------------------------------------
def _tag(k):
    return T.Lambda(lambda seq: seq + [k])


def test_random_apply_choice_order():
    assert T.RandomApply([_tag(1), _tag(2)], p=1.0)([]) == [1, 2]
    assert T.RandomApply([_tag(1)], p=0.0)([]) == []
    applied = sum(T.RandomApply([_tag(1)], p=0.3)([]) == [1] for _ in range(300))
    assert 60 < applied < 120
    picks = [T.RandomChoice([_tag(0), _tag(1), _tag(2)])([])[0] for _ in range(300)]
    assert {0, 1, 2} == set(picks) and all(60 < picks.count(k) < 140 for k in range(3))
    weighted = [T.RandomChoice([_tag(0), _tag(1)], p=[0.0, 1.0])([])[0] for _ in range(20)]
    assert weighted == [1] * 20
    orders = {tuple(T.RandomOrder([_tag(0), _tag(1), _tag(2)])([])) for _ in range(100)}
    assert len(orders) == 6 and all(sorted(o) == [0, 1, 2] for o in orders)
    with pytest.raises(TypeError, match="Argument transforms should be a sequence"):
        T.RandomOrder(_tag(0))


def test_pipeline_reproducible_with_manual_seed():
    img = _rgb(24, 24)
    pipeline = T.Compose([
        T.RandomResizedCrop(16, scale=(0.3, 1.0)), T.RandomHorizontalFlip(), T.ColorJitter(0.3, 0.3, 0.3, 0.05),
        T.RandomRotation(15), T.ToTensor(), T.RandomErasing(p=0.7), T.Normalize([0.5] * 3, [0.2] * 3),
    ])
    ember.manual_seed(42)
    a = [pipeline(img).numpy() for _ in range(4)]
    ember.manual_seed(42)
    b = [pipeline(img).numpy() for _ in range(4)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], a[1])
    assert all(x.shape == (3, 16, 16) for x in a)


def test_cifar_style_augmentation_on_tensor_batch():
    batch = ember.rand(4, 3, 8, 8)
    out = T.Compose([T.RandomCrop(8, padding=2), T.RandomHorizontalFlip()])(batch)
    assert tuple(out.shape) == (4, 3, 8, 8)
    # one draw for the whole batch: every image shifted the same way
    padded = F.pad(batch, 2).numpy()
    hits = [_find(np.moveaxis(o, 0, -1), np.moveaxis(p, 0, -1)) or
            _find(np.moveaxis(o[:, :, ::-1], 0, -1), np.moveaxis(p, 0, -1)) for o, p in zip(out.numpy(), padded)]
    assert all(hits) and len({tuple(h[0]) for h in hits}) == 1
