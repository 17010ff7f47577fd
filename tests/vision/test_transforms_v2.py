"""ember.vision.transforms.v2 and tv_tensors: whole samples moved together.

Pixels are compared with v1's functional (v2 must call the same kernels); boxes with
coordinates worked out by hand; random transforms are checked for moving the image, its
mask and its boxes with one draw; ToDtype's scaling with PyTorch's arithmetic.
"""
import contextlib

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

import ember
from ember.vision import transforms as T1
from ember.vision import tv_tensors as tv
from ember.vision.transforms import InterpolationMode
from ember.vision.transforms import functional as F1
from ember.vision.transforms import v2
from ember.vision.transforms.v2 import functional as F

H, W = 20, 30


def _image(seed=0, dtype=np.uint8):
    return tv.Image(ember.tensor(np.random.default_rng(seed).integers(0, 256, (3, H, W)).astype(dtype)))


def _boxes(data, fmt="XYXY", canvas=(H, W), dtype=ember.float32):
    return tv.BoundingBoxes(ember.tensor(data, dtype=dtype), format=fmt, canvas_size=canvas)


def _np(t):
    return t.numpy() if isinstance(t, ember.Tensor) else np.asarray(t)


# ---- tv_tensors ---------------------------------------------------------------------------
def test_tv_tensors_construction_and_metadata():
    img = tv.Image(ember.zeros(4, 5))
    assert type(img) is tv.Image and tuple(img.shape) == (1, 4, 5)
    pil = PILImage.fromarray(np.arange(12, dtype=np.uint8).reshape(3, 4))
    assert np.array_equal(_np(tv.Image(pil))[0], np.asarray(pil))
    assert np.array_equal(_np(tv.Mask(pil)), np.asarray(pil))
    b = tv.BoundingBoxes([1, 2, 3, 4], format="xywh", canvas_size=(10, 12))
    assert tuple(b.shape) == (1, 4) and b.format is tv.BoundingBoxFormat.XYWH and b.canvas_size == (10, 12)
    assert type(b + 1) is ember.Tensor  # ops give plain tensors, as in the reference
    w = tv.wrap(b * 2, like=b)
    assert type(w) is tv.BoundingBoxes and w.canvas_size == (10, 12) and _np(w).tolist() == [[2, 4, 6, 8]]
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        tv.BoundingBoxes([[1, 2, 3]], format="XYXY", canvas_size=(4, 4))
    with pytest.raises(ValueError, match="unknown format"):
        tv.BoundingBoxes([[1, 2, 3, 4]], format="XYZ", canvas_size=(4, 4))


@pytest.mark.parametrize("op", [
    lambda t: __import__("pickle").loads(__import__("pickle").dumps(t)), __import__("copy").deepcopy,
    lambda t: t.clone(), lambda t: t.to(ember.float64), lambda t: t.detach(),
])
def test_tv_tensors_keep_type_through_copies(op):
    b = tv.BoundingBoxes([[1, 2, 3, 4]], format="CXCYWH", canvas_size=(5, 6))
    out = op(b)
    assert type(out) is tv.BoundingBoxes and out.format is b.format and out.canvas_size == (5, 6)
    assert _np(out).tolist() == [[1, 2, 3, 4]] and out is not b
    m = op(tv.Mask(ember.ones(2, 3)))
    assert type(m) is tv.Mask and _np(m).tolist() == [[1, 1, 1]] * 2


def test_tv_tensor_keeps_autograd_link():
    x = ember.rand(3, 4, 5, requires_grad=True)
    img = tv.Image(x)
    F.horizontal_flip(img).sum().backward()
    assert np.array_equal(_np(x.grad), np.ones((3, 4, 5), np.float32))


# ---- same kernels as v1 -------------------------------------------------------------------
_GEOMETRY = [
    (lambda x: F.resize(x, [12, 17]), lambda x: F1.resize(x, [12, 17])),
    (lambda x: F.resize(x, 10, max_size=16), lambda x: F1.resize(x, 10, max_size=16)),
    (lambda x: F.crop(x, 3, -2, 10, 12), lambda x: F1.crop(x, 3, -2, 10, 12)),
    (lambda x: F.center_crop(x, [9, 33]), lambda x: F1.center_crop(x, [9, 33])),
    (lambda x: F.resized_crop(x, 2, 3, 10, 12, [7, 9]), lambda x: F1.resized_crop(x, 2, 3, 10, 12, [7, 9])),
    (lambda x: F.pad(x, [1, 2, 3, 4], padding_mode="reflect"), lambda x: F1.pad(x, [1, 2, 3, 4], 0, "reflect")),
    (F.horizontal_flip, F1.hflip), (F.vertical_flip, F1.vflip),
    (lambda x: F.rotate(x, 30.0, fill=7), lambda x: F1.rotate(x, 30.0, fill=7)),
    (lambda x: F.affine(x, 10.0, [2, -3], 1.2, [5.0, 2.0]), lambda x: F1.affine(x, 10.0, [2, -3], 1.2, [5.0, 2.0])),
    (lambda x: F.adjust_hue(x, 0.2), lambda x: F1.adjust_hue(x, 0.2)),
    (lambda x: F.gaussian_blur(x, [3, 5], [1.0, 2.0]), lambda x: F1.gaussian_blur(x, [3, 5], [1.0, 2.0])),
    (lambda x: F.rgb_to_grayscale(x, 3), lambda x: F1.rgb_to_grayscale(x, 3)),
]


@pytest.mark.parametrize("v2_fn, v1_fn", _GEOMETRY)
def test_functional_matches_v1_on_image_pil_and_plain_tensor(v2_fn, v1_fn):
    img = _image()
    out = v2_fn(img)
    assert type(out) is tv.Image
    plain = ember.tensor(_np(img))
    assert np.array_equal(_np(out), _np(v1_fn(plain)))
    assert type(v2_fn(plain)) is ember.Tensor
    pil = F1.to_pil_image(plain)
    assert np.array_equal(np.asarray(v2_fn(pil)), np.asarray(v1_fn(pil)))


def test_mask_goes_through_nearest_and_keeps_its_shape():
    m = tv.Mask(ember.tensor(np.random.default_rng(1).integers(0, 4, (H, W)).astype(np.uint8)))
    out = F.resize(m, [13, 41], interpolation=InterpolationMode.BILINEAR)
    assert type(out) is tv.Mask and out.dtype == ember.uint8 and tuple(out.shape) == (13, 41)
    expected = F1.resize(ember.tensor(_np(m))[None], [13, 41], InterpolationMode.NEAREST)[0]
    assert np.array_equal(_np(out), _np(expected))
    assert set(np.unique(_np(F.rotate(m, 33.0, InterpolationMode.BILINEAR)))) <= {0, 1, 2, 3}
    # photometric kernels leave masks and boxes alone
    b = _boxes([[1, 2, 3, 4]])
    assert F.adjust_brightness(m, 0.5) is m and F.gaussian_blur(b, 3) is b


# ---- boxes by hand ------------------------------------------------------------------------
@pytest.mark.parametrize("fn, expected, canvas", [
    (F.horizontal_flip, [[W - 12, 2, W - 4, 10]], (H, W)),
    (F.vertical_flip, [[4, H - 10, 12, H - 2]], (H, W)),
    (lambda b: F.resize(b, [10, 60]), [[8, 1, 24, 5]], (10, 60)),
    (lambda b: F.resize(b, 10), [[2, 1, 6, 5]], (10, 15)),
    (lambda b: F.crop(b, 5, 6, 10, 5), [[0, 0, 5, 5]], (10, 5)),
    (lambda b: F.crop(b, -1, -2, 30, 40), [[6, 3, 14, 11]], (30, 40)),
    (lambda b: F.pad(b, [1, 2, 3, 4]), [[5, 4, 13, 12]], (H + 6, W + 4)),
    (lambda b: F.center_crop(b, [10, 10]), [[0, 0, 2, 5]], (10, 10)),
    (lambda b: F.center_crop(b, [23, 33]), [[5, 3, 13, 11]], (23, 33)),
    (lambda b: F.resized_crop(b, 2, 4, 10, 10, [20, 20]), [[0, 0, 16, 16]], (20, 20)),
    (lambda b: F.affine(b, 0.0, [3, -1], 1.0, 0.0), [[7, 1, 15, 9]], (H, W)),
    (lambda b: F.affine(b, 0.0, [0, 0], 2.0, 0.0), [[0, 0, 9, 10]], (H, W)),
    # 90 degrees counter-clockwise about (15, 10): (x, y) -> (15 + (y - 10), 10 - (x - 15))
    (lambda b: F.rotate(b, 90.0), [[7, 13, 15, 20]], (H, W)),
])
def test_box_geometry_by_hand(fn, expected, canvas):
    out = fn(_boxes([[4, 2, 12, 10]]))
    assert type(out) is tv.BoundingBoxes and out.format is tv.BoundingBoxFormat.XYXY
    assert out.canvas_size == canvas
    np.testing.assert_allclose(_np(out), expected, atol=1e-4)


@pytest.mark.parametrize("fmt, data", [("XYWH", [[4, 2, 8, 8]]), ("CXCYWH", [[8, 6, 8, 8]])])
def test_box_formats_convert_and_move_in_their_own_format(fmt, data):
    b = _boxes(data, fmt)
    xyxy = F.convert_bounding_box_format(b, new_format="XYXY")
    assert xyxy.format is tv.BoundingBoxFormat.XYXY and _np(xyxy).tolist() == [[4, 2, 12, 10]]
    assert _np(F.convert_bounding_box_format(xyxy, new_format=fmt)).tolist() == data
    flipped = F.horizontal_flip(b)
    assert flipped.format is b.format
    assert _np(F.convert_bounding_box_format(flipped, new_format="XYXY")).tolist() == [[W - 12, 2, W - 4, 10]]
    plain = F.convert_bounding_box_format(ember.tensor(data, dtype=ember.float32), old_format=fmt, new_format="XYXY")
    assert type(plain) is ember.Tensor and _np(plain).tolist() == [[4, 2, 12, 10]]
    with pytest.raises(ValueError, match="old_format is required"):
        F.convert_bounding_box_format(ember.tensor(data), new_format="XYXY")


def test_integer_boxes_keep_their_dtype():
    b = _boxes([[4, 2, 12, 10]], dtype=ember.int64)
    out = F.resize(b, [30, 45])
    assert out.dtype == ember.int64 and _np(out).tolist() == [[6, 3, 18, 15]]


def test_clamp_and_convert_transforms():
    b = _boxes([[-3, 2, 40, 25]])
    out = v2.ClampBoundingBoxes()(b)
    assert type(out) is tv.BoundingBoxes and _np(out).tolist() == [[0, 2, W, H]]
    out = v2.ConvertBoundingBoxFormat("CXCYWH")(out)
    assert out.format is tv.BoundingBoxFormat.CXCYWH and _np(out).tolist() == [[W / 2, (2 + H) / 2, W, H - 2]]


# ---- whole samples ------------------------------------------------------------------------
def _sample(box=(8.0, 5.0, 20.0, 12.0)):
    """An image whose channel 0 is 255 inside ``box`` (as is its mask), with the box itself."""
    x1, y1, x2, y2 = (int(v) for v in box)
    m = np.zeros((H, W), np.uint8)
    m[y1:y2, x1:x2] = 1
    img = np.random.default_rng(3).integers(0, 200, (3, H, W)).astype(np.uint8)
    img[0] = m * 255
    target = {"boxes": _boxes([list(box)]), "masks": tv.Mask(ember.tensor(m)), "labels": ember.tensor([7]),
              "name": "sample"}
    return tv.Image(ember.tensor(img)), target


def _mask_extent(mask) -> list:
    ys, xs = np.nonzero(_np(mask))
    return [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("transform", [
    lambda: v2.Compose([v2.RandomResizedCrop((24, 24), scale=(0.6, 1.0), interpolation=InterpolationMode.NEAREST),
                        v2.RandomHorizontalFlip()]),
    lambda: v2.Compose([v2.RandomCrop((16, 24), padding=3), v2.RandomVerticalFlip()]),
    lambda: v2.RandomAffine(degrees=0, translate=(0.2, 0.2), scale=(0.8, 1.2)),
    lambda: v2.RandomRotation([90, 90]),
    lambda: v2.Compose([v2.Pad([2, 1, 0, 3]), v2.Resize((40, 50), interpolation=InterpolationMode.NEAREST),
                        v2.CenterCrop(36)]),
])
def test_random_geometry_moves_image_mask_and_boxes_together(transform, seed):
    ember.manual_seed(seed)
    img, target = _sample()
    out_img, out = transform()(img, target)
    assert type(out_img) is tv.Image and type(out["masks"]) is tv.Mask and type(out["boxes"]) is tv.BoundingBoxes
    assert out["name"] == "sample" and out["labels"] is target["labels"]
    assert out["boxes"].canvas_size == tuple(out_img.shape[-2:]) == tuple(out["masks"].shape)
    # nearest sampling with one draw: channel 0 is still 255 exactly where the mask is
    assert np.array_equal(_np(out_img)[0] == 255, _np(out["masks"]) == 1)
    # the box encloses the mask, to within a pixel of rounding
    np.testing.assert_allclose(_np(out["boxes"])[0], _mask_extent(out["masks"]), atol=1.01)


@pytest.mark.parametrize("v2_t, v1_t", [
    (v2.RandomResizedCrop(16), T1.RandomResizedCrop(16)),
    (v2.ColorJitter(0.4, 0.4, 0.4, 0.1), T1.ColorJitter(0.4, 0.4, 0.4, 0.1)),
    (v2.RandomRotation(40, fill=3), T1.RandomRotation(40, fill=3)),
    (v2.RandomAffine(20, (0.1, 0.2), (0.9, 1.1), 10), T1.RandomAffine(20, (0.1, 0.2), (0.9, 1.1), 10)),
    (v2.GaussianBlur(5), T1.GaussianBlur(5)),
    (v2.RandomErasing(1.0), T1.RandomErasing(1.0)),
    (v2.RandomGrayscale(1.0), T1.RandomGrayscale(1.0)),
])
def test_same_seed_same_draw_as_v1(v2_t, v1_t):
    img, target = _sample()
    erasing = isinstance(v2_t, v2.RandomErasing)
    ember.manual_seed(5)
    with pytest.warns(UserWarning, match="through unchanged") if erasing else contextlib.nullcontext():
        a, out = v2_t(img, target)
    ember.manual_seed(5)
    b = v1_t(ember.tensor(_np(img)))
    assert type(a) is tv.Image and np.array_equal(_np(a), _np(b))
    if not isinstance(v2_t, (v2.RandomRotation, v2.RandomAffine, v2.RandomResizedCrop)):
        # photometric: the targets come back untouched
        assert out["masks"] is target["masks"] and out["boxes"] is target["boxes"]


def test_pure_tensor_heuristic():
    x, y = ember.rand(3, H, W), ember.rand(3, H, W)
    a, b = v2.RandomHorizontalFlip(1.0)(x, y)
    assert np.array_equal(_np(a), _np(x)[..., ::-1]) and b is y  # only the first plain tensor is the image
    img, _ = _sample()
    out_img, out_x = v2.RandomHorizontalFlip(1.0)(img, x)
    assert out_x is x and np.array_equal(_np(out_img), _np(img)[..., ::-1])  # an Image is present: x is data
    pil = F1.to_pil_image(ember.tensor(_np(img)))
    out_pil, out_x = v2.RandomHorizontalFlip(1.0)([pil, x])
    assert out_x is x and isinstance(out_pil, PILImage.Image)


def test_mismatched_sizes_are_an_error():
    img, target = _sample()
    target["masks"] = tv.Mask(ember.zeros(H + 1, W))
    with pytest.raises(ValueError, match="multiple HxW"):
        v2.RandomResizedCrop(10)(img, target)


def test_sanitize_drops_boxes_with_their_labels_and_masks():
    boxes = _boxes([[1, 1, 5, 5], [3, 3, 3.5, 9], [2, 2, 40, 6], [-1, 0, 4, 4], [10, 10, 12, 12]])
    masks = tv.Mask(ember.tensor(np.arange(5)[:, None, None] * np.ones((1, H, W), np.int64)))
    labels = ember.tensor([10, 11, 12, 13, 14])
    img = _image()
    out_img, out = v2.SanitizeBoundingBoxes()(img, {"boxes": boxes, "masks": masks, "labels": labels})
    assert out_img is img
    assert _np(out["labels"]).tolist() == [10, 14] and type(out["boxes"]) is tv.BoundingBoxes
    assert _np(out["boxes"]).tolist() == [[1, 1, 5, 5], [10, 10, 12, 12]] and out["boxes"].canvas_size == (H, W)
    assert type(out["masks"]) is tv.Mask and _np(out["masks"])[:, 0, 0].tolist() == [0, 4]
    out = v2.SanitizeBoundingBoxes(min_size=3)({"boxes": boxes, "labels": labels})
    assert _np(out["labels"]).tolist() == [10]
    with pytest.raises(ValueError, match="to be a dict"):
        v2.SanitizeBoundingBoxes()(img, boxes)
    with pytest.raises(ValueError, match="could not infer where the labels are"):
        v2.SanitizeBoundingBoxes()(img, {"boxes": boxes, "classes": labels})
    out = v2.SanitizeBoundingBoxes(labels_getter=lambda sample: sample[1]["classes"])(
        img, {"boxes": boxes, "classes": labels})
    assert _np(out[1]["classes"]).tolist() == [10, 14]


# ---- types and dtypes ---------------------------------------------------------------------
def test_conversions_keep_or_drop_types():
    pil = F1.to_pil_image(ember.tensor(_np(_image())))
    img = v2.ToImage()(pil)
    assert type(img) is tv.Image and img.dtype == ember.uint8 and np.array_equal(_np(img), _np(F1.pil_to_tensor(pil)))
    arr = np.asarray(pil)
    assert np.array_equal(_np(v2.ToImage()(arr)), _np(img))
    pure = v2.ToPureTensor()({"img": img, "boxes": _boxes([[1, 2, 3, 4]])})
    assert type(pure["img"]) is ember.Tensor and type(pure["boxes"]) is ember.Tensor
    assert type(v2.PILToTensor()(pil)) is ember.Tensor
    back = v2.ToPILImage()(img)
    assert isinstance(back, PILImage.Image) and np.array_equal(np.asarray(back), arr)
    norm = v2.Normalize([0.5, 0.4, 0.3], [0.2, 0.3, 0.4])(v2.ToDtype(ember.float32, scale=True)(img))
    assert type(norm) is tv.Image
    expected = F1.normalize(F1.convert_image_dtype(ember.tensor(_np(img)), ember.float32), [0.5, 0.4, 0.3],
                            [0.2, 0.3, 0.4])
    np.testing.assert_allclose(_np(norm), _np(expected), rtol=1e-6, atol=1e-6)


def test_to_dtype_scaling_matches_pytorch_arithmetic():
    u8 = np.arange(256, dtype=np.uint8).reshape(1, 16, 16)
    out = v2.ToDtype(ember.float32, scale=True)(tv.Image(ember.tensor(u8)))
    ref = torch.from_numpy(u8).to(torch.float32).mul_(1.0 / 255)
    assert type(out) is tv.Image and np.array_equal(_np(out), ref.numpy())
    f = np.random.default_rng(0).random((3, 5, 7)).astype(np.float32)
    out = v2.ToDtype(ember.uint8, scale=True)(ember.tensor(f))
    assert np.array_equal(_np(out), torch.from_numpy(f).mul(255 + 1.0 - 1e-3).to(torch.uint8).numpy())
    out = v2.ToDtype(ember.int32, scale=True)(ember.tensor(u8))
    assert np.array_equal(_np(out), (torch.from_numpy(u8).to(torch.int32) << 23).numpy())
    out = v2.ToDtype(ember.float64)(ember.tensor(u8))
    assert out.dtype == ember.float64 and np.array_equal(_np(out), u8)  # no scale: values kept


def test_to_dtype_single_dtype_touches_only_images_and_dict_picks_per_type():
    img, target = _sample()
    out_img, out = v2.ToDtype(ember.float32, scale=True)(img, target)
    assert out_img.dtype == ember.float32 and out["masks"].dtype == ember.uint8 and out["boxes"].dtype == ember.float32
    t = v2.ToDtype({tv.Image: ember.float64, tv.Mask: ember.int64, "others": None}, scale=True)
    out_img, out = t(img, target)
    assert out_img.dtype == ember.float64 and out_img.max().item() == 1.0
    assert type(out["masks"]) is tv.Mask and out["masks"].dtype == ember.int64 and out["masks"].max().item() == 1
    assert out["labels"] is target["labels"]


def test_containers_and_lambda():
    img, target = _sample()
    ember.manual_seed(0)
    out_img, _ = v2.RandomApply([v2.RandomHorizontalFlip(1.0)], p=0.0)(img, target)
    assert out_img is img
    out_img, out = v2.RandomChoice([v2.RandomVerticalFlip(1.0)])(img, target)
    assert np.array_equal(_np(out["masks"]), _np(target["masks"])[::-1])
    out_img, out = v2.RandomOrder([v2.RandomVerticalFlip(1.0), v2.RandomHorizontalFlip(1.0)])(img, target)
    assert np.array_equal(_np(out_img), _np(img)[:, ::-1, ::-1])
    out = v2.Lambda(lambda x: x + 1, tv.Mask)(target)
    assert out["boxes"] is target["boxes"] and np.array_equal(_np(out["masks"]), _np(target["masks"]) + 1)


# ---- auto-augment kernels and policies ----------------------------------------------------
def _rgb_uint8():
    a = np.random.default_rng(4).integers(0, 256, (13, 17, 3), dtype=np.uint8)
    a[..., 1] = a[..., 1] // 3 + 40  # a channel that does not span the range, for autocontrast
    return a


@pytest.mark.parametrize("fn, atol", [
    (lambda x: F.posterize(x, 3), 0), (lambda x: F.solarize(x, 100), 0), (F.equalize, 0),
    # Pillow rounds where the tensor kernels truncate (as the reference's do): off by one at most
    (F.autocontrast, 1), (lambda x: F.adjust_sharpness(x, 0.3), 1), (lambda x: F.adjust_sharpness(x, 1.7), 1),
])
def test_auto_augment_kernels_tensor_match_pillow(fn, atol):
    a = _rgb_uint8()
    out = fn(tv.Image(ember.tensor(a.transpose(2, 0, 1).copy())))
    assert type(out) is tv.Image and out.dtype == ember.uint8
    ref = np.asarray(fn(PILImage.fromarray(a))).transpose(2, 0, 1).astype(int)
    assert np.abs(_np(out).astype(int) - ref).max() <= atol


def test_auto_augment_kernels_against_pytorch_arithmetic():
    a = torch.from_numpy(_rgb_uint8().transpose(2, 0, 1).copy())
    e = ember.tensor(a.numpy())
    assert np.array_equal(_np(F.posterize(e, 3)), (a & (256 - 2 ** 5)).numpy())
    assert np.array_equal(_np(F.solarize(e, 100)), torch.where(a >= 100, 255 - a, a).numpy())
    lo, hi = a.amin((-2, -1), keepdim=True).float(), a.amax((-2, -1), keepdim=True).float()
    ref = ((a.float() - lo) * (255 / (hi - lo))).clamp(0, 255).to(torch.uint8)
    assert np.array_equal(_np(F.autocontrast(e)), ref.numpy())
    f = torch.rand(3, 5, 6)
    ref = f.mul(8).floor_().clamp_(0, 7).mul_(1.0 / 8)
    assert np.array_equal(_np(F.posterize(ember.tensor(f.numpy()), 3)), ref.numpy())
    flat = ember.full((1, 4, 4), 0.25)
    assert np.array_equal(_np(F.autocontrast(flat)), _np(flat))  # nothing to stretch


@pytest.mark.parametrize("policy", [v2.TrivialAugmentWide, v2.RandAugment])
def test_policies_draw_every_operation_and_keep_types(policy):
    img = tv.Image(ember.tensor(_rgb_uint8().transpose(2, 0, 1).copy()))
    seen = set()
    for seed in range(120):
        ember.manual_seed(seed)
        t = policy()
        params = t.make_params([img])
        for name, magnitude in params["ops"]:
            seen.add(name)
            space = t._space(13, 17)[name]
            if space[0] is None:
                assert magnitude == 0.0
            else:
                values = _np(space[0]).astype(float)
                assert np.isclose(np.abs(values), abs(magnitude)).any() and (space[1] or magnitude >= 0)
        ember.manual_seed(seed)
        out = t(img)
        ember.manual_seed(seed)
        assert type(out) is tv.Image and out.dtype == ember.uint8 and np.array_equal(_np(out), _np(t(img)))
    assert seen == set(policy()._space(13, 17))
    pil = PILImage.fromarray(_rgb_uint8())
    assert isinstance(policy()(pil), PILImage.Image)
    with pytest.raises(TypeError, match="cannot move tv_tensors.BoundingBoxes"):
        policy()(img, {"boxes": _boxes([[1, 2, 3, 4]], canvas=(13, 17))})


def test_rand_augment_uses_its_fixed_magnitude():
    ember.manual_seed(0)
    t = v2.RandAugment(num_ops=3, magnitude=5, num_magnitude_bins=11)
    for name, magnitude in t.make_params([ember.rand(3, 8, 8)])["ops"]:
        values = t._space(8, 8)[name][0]
        assert magnitude == 0.0 if values is None else abs(magnitude) == abs(float(values[5]))


def test_rotate_with_expand_refuses_boxes_instead_of_misplacing_them():
    with pytest.raises(NotImplementedError, match="expand=False"):
        F.rotate(_boxes([[1, 2, 3, 4]]), 30.0, expand=True)
    assert tuple(F.rotate(_image(), 90.0, expand=True).shape) == (3, W, H)
