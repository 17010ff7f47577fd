"""ember.vision.ops against torchvision's formulas evaluated by PyTorch ops (values and
gradients), NumPy references (IoU, greedy NMS, RoI Align's bilinear sampling) and float64
gradcheck."""
import math

import numpy as np
import pytest

import ember
from ember.vision import ops
from tests.helpers import assert_close, to_ember, to_torch

torch = pytest.importorskip("torch")


def random_boxes(n, seed, scale=10.0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, scale, (n, 2))
    wh = rng.uniform(0.5, scale / 2, (n, 2))
    return np.concatenate([xy, xy + wh], 1).astype(dtype)


def pair(arr, requires_grad=True):
    return (ember.tensor(arr, requires_grad=requires_grad), torch.tensor(arr, requires_grad=requires_grad))


# torchvision's formulas, written with PyTorch ops: the references.
def t_inter_union(b1, b2):
    area1 = (b1[:, 2] - b1[:, 0]) * (b1[:, 3] - b1[:, 1])
    area2 = (b2[:, 2] - b2[:, 0]) * (b2[:, 3] - b2[:, 1])
    lt = torch.max(b1[:, None, :2], b2[:, :2])
    rb = torch.min(b1[:, None, 2:], b2[:, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    return inter, area1[:, None] + area2 - inter


def t_enclosing_wh(b1, b2):
    return (torch.max(b1[:, None, 2:], b2[:, 2:]) - torch.min(b1[:, None, :2], b2[:, :2])).clamp(min=0)


def t_iou(b1, b2):
    inter, union = t_inter_union(b1, b2)
    return inter / union


def t_giou(b1, b2):
    inter, union = t_inter_union(b1, b2)
    whi = t_enclosing_wh(b1, b2)
    areai = whi[..., 0] * whi[..., 1]
    return inter / union - (areai - union) / areai


def t_diou_iou(b1, b2, eps=1e-7):
    iou = t_iou(b1, b2)
    whi = t_enclosing_wh(b1, b2)
    diag = whi[..., 0] ** 2 + whi[..., 1] ** 2 + eps
    cx1, cy1 = (b1[:, 0] + b1[:, 2]) / 2, (b1[:, 1] + b1[:, 3]) / 2
    cx2, cy2 = (b2[:, 0] + b2[:, 2]) / 2, (b2[:, 1] + b2[:, 3]) / 2
    dist = (cx1[:, None] - cx2) ** 2 + (cy1[:, None] - cy2) ** 2
    return iou - dist / diag, iou


def t_ciou(b1, b2, eps=1e-7):
    diou, iou = t_diou_iou(b1, b2, eps)
    w1, h1 = b1[:, None, 2] - b1[:, None, 0], b1[:, None, 3] - b1[:, None, 1]
    w2, h2 = b2[:, 2] - b2[:, 0], b2[:, 3] - b2[:, 1]
    v = 4 / math.pi ** 2 * (torch.atan(w2 / h2) - torch.atan(w1 / h1)) ** 2
    with torch.no_grad():
        alpha = v / (1 - iou + v + eps)
    return diou - alpha * v


def numpy_iou(b1, b2):
    out = np.zeros((len(b1), len(b2)))
    for i, p in enumerate(b1):
        for j, q in enumerate(b2):
            iw = max(0.0, min(p[2], q[2]) - max(p[0], q[0]))
            ih = max(0.0, min(p[3], q[3]) - max(p[1], q[1]))
            inter = iw * ih
            out[i, j] = inter / ((p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - inter)
    return out


def compare_with_grad(e_out, t_out, e_ins, t_ins, seed=0, atol=1e-9, rtol=1e-7):
    assert_close(e_out, t_out, atol=atol, rtol=rtol)
    cot = np.random.default_rng(seed).standard_normal(tuple(t_out.shape))
    e_out.backward(ember.tensor(cot, dtype=e_out.dtype))
    t_out.backward(torch.tensor(cot, dtype=t_out.dtype))
    for e, t in zip(e_ins, t_ins):
        assert_close(e.grad, t.grad, atol=atol, rtol=rtol, what="gradient")


@pytest.mark.parametrize("in_fmt,out_fmt", [(a, b) for a in ("xyxy", "xywh", "cxcywh")
                                            for b in ("xyxy", "xywh", "cxcywh")])
def test_box_convert_matches_formulas(in_fmt, out_fmt):
    to_xyxy = {"xyxy": lambda b: b,
               "xywh": lambda b: torch.stack([b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]], -1),
               "cxcywh": lambda b: torch.stack([b[:, 0] - b[:, 2] / 2, b[:, 1] - b[:, 3] / 2,
                                                b[:, 0] + b[:, 2] / 2, b[:, 1] + b[:, 3] / 2], -1)}
    from_xyxy = {"xyxy": lambda b: b,
                 "xywh": lambda b: torch.stack([b[:, 0], b[:, 1], b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]], -1),
                 "cxcywh": lambda b: torch.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2,
                                                  b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]], -1)}
    e, t = pair(random_boxes(6, 1))
    compare_with_grad(ops.box_convert(e, in_fmt, out_fmt), from_xyxy[out_fmt](to_xyxy[in_fmt](t)) * 1, [e], [t])


def test_box_convert_round_trip_and_bad_format():
    e = ember.tensor(random_boxes(5, 2))
    back = ops.box_convert(ops.box_convert(e, "xyxy", "cxcywh"), "cxcywh", "xyxy")
    np.testing.assert_allclose(back.numpy(), e.numpy(), atol=1e-12)
    with pytest.raises(ValueError, match="Unsupported Bounding Box Conversions"):
        ops.box_convert(e, "xyxy", "yxyx")


def test_box_area_and_iou_against_numpy():
    b1, b2 = random_boxes(7, 3), random_boxes(5, 4)
    area = ops.box_area(ember.tensor(b1)).numpy()
    np.testing.assert_allclose(area, (b1[:, 2] - b1[:, 0]) * (b1[:, 3] - b1[:, 1]))
    np.testing.assert_allclose(ops.box_iou(ember.tensor(b1), ember.tensor(b2)).numpy(), numpy_iou(b1, b2),
                               rtol=1e-12)


@pytest.mark.parametrize("name,ref", [("box_iou", t_iou), ("generalized_box_iou", t_giou),
                                      ("distance_box_iou", lambda a, b: t_diou_iou(a, b)[0]),
                                      ("complete_box_iou", t_ciou)])
def test_pairwise_ious_values_and_gradients(name, ref):
    b1, b2 = random_boxes(6, 5), random_boxes(4, 6)
    b2[0] = b1[0]                          # identical boxes
    b2[1] = b1[1] + 20                     # disjoint boxes
    (e1, t1), (e2, t2) = pair(b1), pair(b2)
    compare_with_grad(getattr(ops, name)(e1, e2), ref(t1, t2), [e1, e2], [t1, t2])


def test_pairwise_iou_float32_and_shape_errors():
    b1, b2 = random_boxes(3, 7, dtype=np.float32), random_boxes(2, 8, dtype=np.float32)
    assert_close(ops.generalized_box_iou(ember.tensor(b1), ember.tensor(b2)),
                 t_giou(torch.tensor(b1), torch.tensor(b2)))
    with pytest.raises(ValueError, match=r"box_iou: boxes should have shape \(N, 4\)"):
        ops.box_iou(ember.zeros(3, 5), ember.zeros(2, 4))


def t_loss_pairs(b1, b2, kind, eps=1e-7):
    x1, y1, x2, y2 = b1.unbind(-1)
    x1g, y1g, x2g, y2g = b2.unbind(-1)
    xk1, yk1, xk2, yk2 = torch.max(x1, x1g), torch.max(y1, y1g), torch.min(x2, x2g), torch.min(y2, y2g)
    inter = torch.where((yk2 > yk1) & (xk2 > xk1), (xk2 - xk1) * (yk2 - yk1), torch.zeros_like(x1))
    union = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - inter
    iou = inter / (union + eps)
    xc1, yc1, xc2, yc2 = torch.min(x1, x1g), torch.min(y1, y1g), torch.max(x2, x2g), torch.max(y2, y2g)
    if kind == "giou":
        area_c = (xc2 - xc1) * (yc2 - yc1)
        return 1 - (iou - (area_c - union) / (area_c + eps))
    diag = (xc2 - xc1) ** 2 + (yc2 - yc1) ** 2 + eps
    dist = ((x1 + x2) / 2 - (x1g + x2g) / 2) ** 2 + ((y1 + y2) / 2 - (y1g + y2g) / 2) ** 2
    loss = 1 - iou + dist / diag
    if kind == "diou":
        return loss
    v = 4 / math.pi ** 2 * (torch.atan((x2g - x1g) / (y2g - y1g)) - torch.atan((x2 - x1) / (y2 - y1))) ** 2
    with torch.no_grad():
        alpha = v / (1 - iou + v + eps)
    return loss + alpha * v


@pytest.mark.parametrize("kind", ["giou", "diou", "ciou"])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_box_iou_losses_values_and_gradients(kind, reduction):
    fn = {"giou": ops.generalized_box_iou_loss, "diou": ops.distance_box_iou_loss,
          "ciou": ops.complete_box_iou_loss}[kind]
    b1, b2 = random_boxes(8, 9), random_boxes(8, 10)
    b2[0] = b1[0] + 30                      # no overlap: the masked intersection
    (e1, t1), (e2, t2) = pair(b1), pair(b2)
    ref = t_loss_pairs(t1, t2, kind)
    ref = {"none": ref, "mean": ref.mean(), "sum": ref.sum()}[reduction]
    compare_with_grad(fn(e1, e2, reduction=reduction), ref, [e1, e2], [t1, t2])


def test_box_iou_losses_empty_and_bad_reduction():
    e = ember.zeros(0, 4, requires_grad=True)
    out = ops.generalized_box_iou_loss(e, e, reduction="mean")
    assert out.item() == 0.0 and out.requires_grad
    with pytest.raises(ValueError, match="Invalid Value for arg 'reduction'"):
        ops.complete_box_iou_loss(ember.tensor([[0, 0, 1, 2.]]), ember.tensor([[0, 0, 2, 1.]]), reduction="max")


@pytest.mark.parametrize("alpha,gamma", [(0.25, 2.0), (-1.0, 2.0), (0.5, 0.0), (0.25, 1.5)])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_sigmoid_focal_loss_matches_formula(alpha, gamma, reduction):
    rng = np.random.default_rng(11)
    logits = rng.standard_normal((4, 5)) * 3
    targets = (rng.random((4, 5)) > 0.6).astype(np.float64)
    (e_x, t_x), (e_y, t_y) = pair(logits), pair(targets)
    p = torch.sigmoid(t_x)
    ce = torch.nn.functional.binary_cross_entropy_with_logits(t_x, t_y, reduction="none")
    p_t = p * t_y + (1 - p) * (1 - t_y)
    ref = ce * (1 - p_t) ** gamma
    if alpha >= 0:
        ref = (alpha * t_y + (1 - alpha) * (1 - t_y)) * ref
    ref = {"none": ref, "mean": ref.mean(), "sum": ref.sum()}[reduction]
    out = ops.sigmoid_focal_loss(e_x, e_y, alpha=alpha, gamma=gamma, reduction=reduction)
    compare_with_grad(out, ref, [e_x, e_y], [t_x, t_y])


def numpy_nms(boxes, scores, thr):
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    keep = []
    for i in order:
        if all(numpy_iou(boxes[[i]], boxes[[k]])[0, 0] <= thr for k in keep):
            keep.append(i)
    return keep


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("thr", [0.0, 0.3, 0.7])
def test_nms_against_numpy_greedy(seed, thr):
    boxes = random_boxes(40, seed, scale=20.0, dtype=np.float32)
    scores = np.random.default_rng(seed).random(40).astype(np.float32)
    scores[5] = scores[3]                   # a tie: the lower index goes first
    keep = ops.nms(ember.tensor(boxes), ember.tensor(scores), thr)
    assert keep.dtype == ember.int64
    assert keep.tolist() == numpy_nms(boxes.astype(np.float64), scores, thr)


def test_nms_hand_example_empty_and_errors():
    boxes = ember.tensor([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30], [0, 0, 10, 9.]])
    scores = ember.tensor([0.9, 0.8, 0.7, 0.95])
    assert ops.nms(boxes, scores, 0.5).tolist() == [3, 2]
    assert ops.nms(boxes, scores, 0.95).tolist() == [3, 0, 1, 2]
    assert ops.nms(ember.zeros(0, 4), ember.zeros(0), 0.5).tolist() == []
    with pytest.raises(RuntimeError, match="same number of elements"):
        ops.nms(boxes, scores[:3], 0.5)


def test_batched_nms_is_per_category_nms():
    rng = np.random.default_rng(4)
    boxes = random_boxes(60, 4, scale=15.0, dtype=np.float32)
    scores = rng.random(60).astype(np.float32)
    cats = rng.integers(0, 4, 60)
    keep = ops.batched_nms(ember.tensor(boxes), ember.tensor(scores), ember.tensor(cats), 0.4).tolist()
    expected = []
    for c in np.unique(cats):
        idx = np.nonzero(cats == c)[0]
        expected += [int(idx[k]) for k in numpy_nms(boxes[idx].astype(np.float64), scores[idx], 0.4)]
    assert sorted(keep) == sorted(expected)
    assert all(scores[a] >= scores[b] for a, b in zip(keep, keep[1:]))
    assert ops.batched_nms(ember.zeros(0, 4), ember.zeros(0), ember.zeros(0, dtype=ember.int64), 0.5).tolist() == []


def test_remove_small_boxes_and_clip_boxes_to_image():
    b = random_boxes(12, 5, scale=8.0) - 2
    e, t = pair(b)
    ws, hs = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    assert ops.remove_small_boxes(e, 2.0).tolist() == np.nonzero((ws >= 2.0) & (hs >= 2.0))[0].tolist()
    ref = torch.stack([t[:, 0].clamp(0, 7), t[:, 1].clamp(0, 5), t[:, 2].clamp(0, 7), t[:, 3].clamp(0, 5)], -1)
    compare_with_grad(ops.clip_boxes_to_image(e, (5, 7)), ref, [e], [t])


# RoI Align: a direct NumPy transcription of torchvision's per-sample loop.
def numpy_roi_align(x, rois, out_size, scale, sampling_ratio, aligned):
    ph_n, pw_n = out_size
    _, c, height, width = x.shape
    out = np.zeros((len(rois), c, ph_n, pw_n))

    def bilinear(img, y, xx):
        if y < -1.0 or y > height or xx < -1.0 or xx > width:
            return 0.0
        y, xx = max(y, 0.0), max(xx, 0.0)
        y_low, x_low = int(y), int(xx)
        if y_low >= height - 1:
            y_high = y_low = height - 1
            y = float(y_low)
        else:
            y_high = y_low + 1
        if x_low >= width - 1:
            x_high = x_low = width - 1
            xx = float(x_low)
        else:
            x_high = x_low + 1
        ly, lx = y - y_low, xx - x_low
        hy, hx = 1 - ly, 1 - lx
        return (hy * hx * img[:, y_low, x_low] + hy * lx * img[:, y_low, x_high]
                + ly * hx * img[:, y_high, x_low] + ly * lx * img[:, y_high, x_high])

    off = 0.5 if aligned else 0.0
    for k, (b, x1, y1, x2, y2) in enumerate(rois):
        sw, sh, ew, eh = x1 * scale - off, y1 * scale - off, x2 * scale - off, y2 * scale - off
        rw, rh = ew - sw, eh - sh
        if not aligned:
            rw, rh = max(rw, 1.0), max(rh, 1.0)
        bh, bw = rh / ph_n, rw / pw_n
        gh = sampling_ratio if sampling_ratio > 0 else math.ceil(rh / ph_n)
        gw = sampling_ratio if sampling_ratio > 0 else math.ceil(rw / pw_n)
        count = max(gh * gw, 1)
        for ph in range(ph_n):
            for pw in range(pw_n):
                acc = np.zeros(c)
                for iy in range(gh):
                    y = sh + ph * bh + (iy + 0.5) * bh / gh
                    for ix in range(gw):
                        acc = acc + bilinear(x[int(b)], y, sw + pw * bw + (ix + 0.5) * bw / gw)
                out[k, :, ph, pw] = acc / count
    return out


ROIS = np.array([[0, 1.0, 1.0, 6.0, 5.0], [1, 0.5, 2.0, 9.0, 9.5], [0, -3.0, -2.0, 3.0, 4.0],
                 [1, 10.0, 7.0, 30.0, 25.0], [0, 2.0, 2.0, 2.3, 2.2], [1, 4.0, 4.0, 3.0, 3.0]])


@pytest.mark.parametrize("aligned", [False, True])
@pytest.mark.parametrize("sampling_ratio", [-1, 1, 2])
@pytest.mark.parametrize("scale,out_size", [(1.0, (3, 3)), (0.5, (2, 4))])
def test_roi_align_against_numpy_reference(aligned, sampling_ratio, scale, out_size):
    x = np.random.default_rng(0).standard_normal((2, 3, 10, 12))
    out = ops.roi_align(ember.tensor(x), ember.tensor(ROIS), out_size, scale, sampling_ratio, aligned)
    ref = numpy_roi_align(x, ROIS, out_size, scale, sampling_ratio, aligned)
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-12, rtol=1e-10)


def test_roi_align_box_list_float32_and_module():
    x = np.random.default_rng(1).standard_normal((2, 4, 8, 8)).astype(np.float32)
    per_image = [ember.tensor(ROIS[ROIS[:, 0] == i, 1:].astype(np.float32)) for i in range(2)]
    order = np.concatenate([np.nonzero(ROIS[:, 0] == i)[0] for i in range(2)])
    out = ops.roi_align(ember.tensor(x), per_image, 2, 0.5, 2, True)
    assert out.dtype == ember.float32 and tuple(out.shape) == (6, 4, 2, 2)
    ref = numpy_roi_align(x.astype(np.float64), ROIS[order], (2, 2), 0.5, 2, True)
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-5)
    layer = ops.RoIAlign((2, 2), 0.5, 2, aligned=True)
    np.testing.assert_array_equal(layer(ember.tensor(x), per_image).numpy(), out.numpy())
    assert repr(layer) == "RoIAlign(output_size=(2, 2), spatial_scale=0.5, sampling_ratio=2, aligned=True)"


def test_roi_align_gradcheck_wrt_features():
    x = ember.tensor(np.random.default_rng(2).standard_normal((2, 2, 6, 7)), requires_grad=True)
    rois = ember.tensor(ROIS[:3] * 0.6)
    fn = lambda t: ops.roi_align(t, rois, (2, 3), 1.0, -1, True)   # noqa: E731
    assert ember.autograd.gradcheck(fn, (x,))
    assert ember.autograd.gradgradcheck(fn, (x,))


def test_roi_align_errors():
    x = ember.zeros(1, 2, 4, 4)
    with pytest.raises(AssertionError, match=r"Tensor\[K, 5\]"):
        ops.roi_align(x, ember.zeros(3, 4), 2)
    with pytest.raises(AssertionError, match=r"List\[Tensor\[L, 4\]\]"):
        ops.roi_align(x, [ember.zeros(3, 5)], 2)
    with pytest.raises(RuntimeError, match="dtype"):
        ops.roi_align(x, ember.zeros(1, 5, dtype=ember.float64), 2)
    assert tuple(ops.roi_align(x, ember.zeros(0, 5), (3, 2)).shape) == (0, 2, 3, 2)


def test_mlp_loads_torch_state_dict():
    e = ops.MLP(6, [8, 5, 3], norm_layer=ember.nn.LayerNorm, dropout=0.0)
    t = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.LayerNorm(8), torch.nn.ReLU(), torch.nn.Dropout(0.0),
                            torch.nn.Linear(8, 5), torch.nn.LayerNorm(5), torch.nn.ReLU(), torch.nn.Dropout(0.0),
                            torch.nn.Linear(5, 3), torch.nn.Dropout(0.0))
    assert list(e.state_dict()) == list(t.state_dict())
    e.load_state_dict({k: to_ember(v) for k, v in t.state_dict().items()})
    x = np.random.default_rng(3).standard_normal((4, 6)).astype(np.float32)
    assert_close(e(ember.tensor(x)), t(torch.tensor(x)))


def test_frozen_batch_norm_loads_batch_norm_state_and_matches_eval():
    t = torch.nn.BatchNorm2d(3)
    with torch.no_grad():
        for name in ("weight", "bias", "running_mean"):
            getattr(t, name).copy_(torch.randn(3))
        t.running_var.copy_(torch.rand(3) + 0.5)
    t.eval()
    e = ops.FrozenBatchNorm2d(3)
    e.load_state_dict({k: to_ember(v) for k, v in t.state_dict().items()})   # num_batches_tracked dropped
    assert sorted(e.state_dict()) == ["bias", "running_mean", "running_var", "weight"]
    assert repr(e) == "FrozenBatchNorm2d(3, eps=1e-05)"
    x = ember.randn(2, 3, 4, 5, requires_grad=True)
    tx = to_torch(x)
    compare_with_grad(e(x), t(tx), [x], [tx], atol=1e-5, rtol=1e-4)
    assert not any(b.requires_grad for b in e.buffers())


def test_permute_and_shared_layers():
    x = ember.randn(2, 3, 4, 5)
    assert tuple(ops.Permute([0, 2, 3, 1])(x).shape) == (2, 4, 5, 3)
    assert ops.Conv2dNormActivation is ember.vision.models._utils.Conv2dNormActivation
    assert ops.stochastic_depth(x, 0.5, "row", training=False) is x


def numpy_roi_pool(x, rois, out_size, scale):
    """torchvision's RoI pooling loop, transcribed; also returns the winners' flat indices."""
    ph_n, pw_n = out_size
    _, c, height, width = x.shape
    out = np.zeros((len(rois), c, ph_n, pw_n))
    arg = -np.ones((len(rois), c, ph_n, pw_n), dtype=np.int64)
    rnd = lambda v: int(math.floor(abs(v) + 0.5)) * (1 if v >= 0 else -1)   # noqa: E731  (std::round)
    for k, (b, x1, y1, x2, y2) in enumerate(rois):
        sw, sh, ew, eh = rnd(x1 * scale), rnd(y1 * scale), rnd(x2 * scale), rnd(y2 * scale)
        bh, bw = max(eh - sh + 1, 1) / ph_n, max(ew - sw + 1, 1) / pw_n
        for ph in range(ph_n):
            for pw in range(pw_n):
                hs = min(max(math.floor(ph * bh) + sh, 0), height)
                he = min(max(math.ceil((ph + 1) * bh) + sh, 0), height)
                ws = min(max(math.floor(pw * bw) + sw, 0), width)
                we = min(max(math.ceil((pw + 1) * bw) + sw, 0), width)
                for ch in range(c):
                    if he <= hs or we <= ws:
                        continue
                    best, best_i = -np.inf, -1
                    for h in range(hs, he):
                        for w in range(ws, we):
                            if x[int(b), ch, h, w] > best:
                                best, best_i = x[int(b), ch, h, w], ((int(b) * c + ch) * height + h) * width + w
                    out[k, ch, ph, pw], arg[k, ch, ph, pw] = best, best_i
    return out, arg


@pytest.mark.parametrize("scale,out_size", [(1.0, (3, 3)), (0.5, (2, 4)), (0.7, (4, 3))])
def test_roi_pool_against_numpy_reference_values_and_gradient(scale, out_size):
    rng = np.random.default_rng(5)
    x = rng.integers(-3, 4, (2, 3, 10, 12)).astype(np.float64)     # many ties: the first maximum wins
    e = ember.tensor(x, requires_grad=True)
    out = ops.roi_pool(e, ember.tensor(ROIS), out_size, scale)
    ref, arg = numpy_roi_pool(x, ROIS, out_size, scale)
    np.testing.assert_array_equal(out.detach().numpy(), ref)
    cot = rng.standard_normal(ref.shape)
    out.backward(ember.tensor(cot))
    expected = np.zeros(x.size)
    np.add.at(expected, arg[arg >= 0], cot[arg >= 0])
    np.testing.assert_allclose(e.grad.numpy().reshape(-1), expected, atol=1e-12)


def test_roi_pool_module_and_box_list():
    x = ember.randn(2, 2, 6, 6)
    per_image = [ember.tensor([[0.0, 0.0, 3.0, 3.0]]), ember.tensor([[1.0, 1.0, 5.0, 4.0]])]
    rows = ember.tensor([[0, 0.0, 0.0, 3.0, 3.0], [1, 1.0, 1.0, 5.0, 4.0]])
    layer = ops.RoIPool(2, 1.0)
    np.testing.assert_array_equal(layer(x, per_image).numpy(), ops.roi_pool(x, rows, 2).numpy())
    assert repr(layer) == "RoIPool(output_size=2, spatial_scale=1.0)"


def test_drop_block2d_drops_whole_blocks_and_rescales():
    ember.manual_seed(3)
    bs = 3
    x = ember.ones(2, 3, 12, 14, requires_grad=True)
    out = ops.drop_block2d(x, 0.2, bs)
    dropped = out.detach().numpy() == 0
    assert 0 < dropped.mean() < 0.6
    # Every dropped pixel lies in a fully dropped bs x bs block (the union of blocks is the mask).
    covered = np.zeros_like(dropped)
    for i in range(12 - bs + 1):
        for j in range(14 - bs + 1):
            full = dropped[:, :, i:i + bs, j:j + bs].all(axis=(2, 3))
            covered[:, :, i:i + bs, j:j + bs] |= full[:, :, None, None]
    np.testing.assert_array_equal(covered, dropped)
    scale = dropped.size / (1e-6 + (~dropped).sum())
    np.testing.assert_allclose(out.detach().numpy()[~dropped], scale, rtol=1e-6)
    cot = np.random.default_rng(0).standard_normal(dropped.shape).astype(np.float32)
    out.backward(ember.tensor(cot))
    np.testing.assert_allclose(x.grad.numpy(), cot * (~dropped) * scale, rtol=1e-5)


def test_drop_block2d_identity_and_errors():
    x = ember.randn(1, 2, 5, 5)
    layer = ops.DropBlock2d(0.5, 3).eval()
    assert layer(x) is x and ops.drop_block2d(x, 0.0, 3) is x
    assert repr(layer) == "DropBlock2d(p=0.5, block_size=3, inplace=False)"
    with pytest.raises(ValueError, match="between 0 and 1"):
        ops.drop_block2d(x, 1.5, 3)
    with pytest.raises(ValueError, match="4 dimensional"):
        ops.drop_block2d(x[0], 0.1, 3)


def test_masks_to_boxes_against_numpy():
    rng = np.random.default_rng(6)
    masks = np.zeros((4, 9, 11), dtype=np.uint8)
    for m in masks:
        y0, x0 = rng.integers(0, 5, 2)
        m[y0:y0 + rng.integers(1, 4), x0:x0 + rng.integers(1, 6)] = rng.integers(1, 255)
    out = ops.masks_to_boxes(ember.tensor(masks))
    assert out.dtype == ember.float32
    for box, m in zip(out.tolist(), masks):
        ys, xs = np.nonzero(m)
        assert box == [xs.min(), ys.min(), xs.max(), ys.max()]
    assert tuple(ops.masks_to_boxes(ember.zeros(0, 5, 5)).shape) == (0, 4)
    with pytest.raises(RuntimeError, match="mask 1 has no non-zero pixel"):
        ops.masks_to_boxes(ember.tensor(np.stack([masks[0], np.zeros_like(masks[0])])))
