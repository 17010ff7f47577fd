"""Boxes (N, 4) as torchvision reads them: conversions between formats, areas, pairwise
IoU and its generalized / distance / complete forms, clipping and filtering, and greedy
non-maximum suppression. Everything but NMS is composed from ember ops, so it is
differentiable wherever torchvision's is."""
from __future__ import annotations

import math

import numpy as np

from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from ...backend import dtypes
from ...ops.creation import from_numpy
from ...ops.indexing import where
from ...ops.join import stack
from ...ops.binary import maximum, minimum
from ...ops.math import atan

__all__ = ["box_convert", "box_area", "box_iou", "generalized_box_iou", "distance_box_iou",
           "complete_box_iou", "clip_boxes_to_image", "remove_small_boxes", "masks_to_boxes", "nms",
           "batched_nms"]

_FORMATS = ("xyxy", "xywh", "cxcywh")


def _upcast(t: Tensor) -> Tensor:
    """Float16 to float32 and small integers to int32, so products of coordinates do not
    overflow (torchvision's rule)."""
    if t.dtype.is_floating_point:
        return t if t.dtype in (dtypes.float32, dtypes.float64) else t.float()
    return t if t.dtype in (dtypes.int32, dtypes.int64) else t.int()


def _check_boxes(name: str, boxes: Tensor) -> None:
    if not isinstance(boxes, Tensor):
        raise TypeError(f"{name}: boxes should be a Tensor, got {type(boxes).__name__}")
    if boxes.dim() != 2 or boxes.shape[-1] != 4:
        raise ValueError(f"{name}: boxes should have shape (N, 4) in (x1, y1, x2, y2) format, "
                         f"got {tuple(boxes.shape)}")


def box_convert(boxes: Tensor, in_fmt: str, out_fmt: str) -> Tensor:
    """Convert boxes (..., 4) between ``'xyxy'`` (corners), ``'xywh'`` (top-left corner,
    width, height) and ``'cxcywh'`` (centre, width, height)."""
    if in_fmt not in _FORMATS or out_fmt not in _FORMATS:
        raise ValueError("Unsupported Bounding Box Conversions for given in_fmt and out_fmt "
                         f"(got {in_fmt!r} -> {out_fmt!r}; supported: {', '.join(_FORMATS)})")
    if in_fmt == out_fmt:
        return boxes.clone()
    a, b, c, d = boxes.unbind(-1)
    if in_fmt == "xywh":
        x1, y1, x2, y2 = a, b, a + c, b + d
    elif in_fmt == "cxcywh":
        x1, y1, x2, y2 = a - 0.5 * c, b - 0.5 * d, a + 0.5 * c, b + 0.5 * d
    else:
        x1, y1, x2, y2 = a, b, c, d
    if out_fmt == "xywh":
        out = (x1, y1, x2 - x1, y2 - y1)
    elif out_fmt == "cxcywh":
        out = ((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1)
    else:
        out = (x1, y1, x2, y2)
    return stack(out, -1)


def box_area(boxes: Tensor) -> Tensor:
    """Areas (N,) of boxes (N, 4) in (x1, y1, x2, y2) format."""
    boxes = _upcast(boxes)
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def _box_inter_union(boxes1: Tensor, boxes2: Tensor) -> tuple[Tensor, Tensor]:
    area1, area2 = box_area(boxes1), box_area(boxes2)
    lt = maximum(boxes1[:, None, :2], boxes2[:, :2])         # (N, M, 2)
    rb = minimum(boxes1[:, None, 2:], boxes2[:, 2:])         # (N, M, 2)
    wh = _upcast(rb - lt).clamp(min=0)
    inter = wh[:, :, 0] * wh[:, :, 1]                        # (N, M)
    return inter, area1[:, None] + area2 - inter


def _enclosing_wh(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """Width and height (N, M, 2) of the smallest box enclosing each pair."""
    lti = minimum(boxes1[:, None, :2], boxes2[:, :2])
    rbi = maximum(boxes1[:, None, 2:], boxes2[:, 2:])
    return _upcast(rbi - lti).clamp(min=0)


def box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """Intersection over union (N, M) of every pair of boxes (N, 4) and (M, 4), (x1, y1, x2, y2)."""
    _check_boxes("box_iou", boxes1)
    _check_boxes("box_iou", boxes2)
    inter, union = _box_inter_union(boxes1, boxes2)
    return inter / union


def generalized_box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """Generalized IoU (N, M): IoU minus the share of the enclosing box covered by neither box."""
    _check_boxes("generalized_box_iou", boxes1)
    _check_boxes("generalized_box_iou", boxes2)
    inter, union = _box_inter_union(boxes1, boxes2)
    whi = _enclosing_wh(boxes1, boxes2)
    areai = whi[:, :, 0] * whi[:, :, 1]
    return inter / union - (areai - union) / areai


def _box_diou_iou(boxes1: Tensor, boxes2: Tensor, eps: float) -> tuple[Tensor, Tensor]:
    iou = box_iou(boxes1, boxes2)
    whi = _enclosing_wh(boxes1, boxes2)
    diagonal_sq = whi[:, :, 0] ** 2 + whi[:, :, 1] ** 2 + eps
    x_p = (boxes1[:, 0] + boxes1[:, 2]) / 2
    y_p = (boxes1[:, 1] + boxes1[:, 3]) / 2
    x_g = (boxes2[:, 0] + boxes2[:, 2]) / 2
    y_g = (boxes2[:, 1] + boxes2[:, 3]) / 2
    centers_sq = _upcast(x_p[:, None] - x_g[None, :]) ** 2 + _upcast(y_p[:, None] - y_g[None, :]) ** 2
    return iou - centers_sq / diagonal_sq, iou


def distance_box_iou(boxes1: Tensor, boxes2: Tensor, eps: float = 1e-7) -> Tensor:
    """Distance IoU (N, M): IoU minus the squared centre distance over the squared diagonal
    of the enclosing box."""
    _check_boxes("distance_box_iou", boxes1)
    _check_boxes("distance_box_iou", boxes2)
    return _box_diou_iou(_upcast(boxes1), _upcast(boxes2), eps)[0]


def _aspect_term(w_pred: Tensor, h_pred: Tensor, w_gt: Tensor, h_gt: Tensor, iou: Tensor,
                 eps: float) -> Tensor:
    """Complete IoU's aspect-ratio penalty alpha * v; alpha is a constant weight (no gradient),
    as in the paper and torchvision."""
    v = (4 / math.pi ** 2) * (atan(w_gt / h_gt) - atan(w_pred / h_pred)) ** 2
    with no_grad():
        alpha = v / (1 - iou + v + eps)
    return alpha * v


def complete_box_iou(boxes1: Tensor, boxes2: Tensor, eps: float = 1e-7) -> Tensor:
    """Complete IoU (N, M): distance IoU minus a penalty for differing aspect ratios."""
    _check_boxes("complete_box_iou", boxes1)
    _check_boxes("complete_box_iou", boxes2)
    boxes1, boxes2 = _upcast(boxes1), _upcast(boxes2)
    diou, iou = _box_diou_iou(boxes1, boxes2, eps)
    w_pred = boxes1[:, None, 2] - boxes1[:, None, 0]
    h_pred = boxes1[:, None, 3] - boxes1[:, None, 1]
    w_gt = boxes2[:, 2] - boxes2[:, 0]
    h_gt = boxes2[:, 3] - boxes2[:, 1]
    return diou - _aspect_term(w_pred, h_pred, w_gt, h_gt, iou, eps)


def clip_boxes_to_image(boxes: Tensor, size: tuple[int, int]) -> Tensor:
    """Clip boxes (..., 4) in (x1, y1, x2, y2) format to an image of ``size`` = (height, width)."""
    height, width = size
    boxes_x = boxes[..., 0::2].clamp(min=0, max=width)
    boxes_y = boxes[..., 1::2].clamp(min=0, max=height)
    return stack((boxes_x, boxes_y), boxes.dim()).reshape(boxes.shape)


def remove_small_boxes(boxes: Tensor, min_size: float) -> Tensor:
    """Indices (int64) of the boxes whose width and height are both at least ``min_size``."""
    _check_boxes("remove_small_boxes", boxes)
    ws, hs = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    return where((ws >= min_size) & (hs >= min_size))[0]


def masks_to_boxes(masks: Tensor) -> Tensor:
    """Float32 boxes (N, 4) in (x1, y1, x2, y2) format enclosing the non-zero pixels of each
    mask of ``masks`` (N, H, W); x2 and y2 are the last non-zero column and row (inclusive)."""
    if masks.numel() == 0:
        return from_numpy(np.zeros((0, 4), np.float32)).to(masks.device)
    if masks.dim() != 3:
        raise ValueError(f"masks_to_boxes: masks should have shape (N, H, W), got {tuple(masks.shape)}")
    m = np.asarray(masks.detach().cpu().numpy()) != 0
    boxes = np.zeros((m.shape[0], 4), np.float32)
    for i, mask in enumerate(m):
        ys, xs = np.nonzero(mask)
        if len(xs) == 0:
            raise RuntimeError(f"masks_to_boxes: mask {i} has no non-zero pixel, so it has no box; "
                               "drop empty masks first (masks[masks.flatten(1).any(1)])")
        boxes[i] = xs.min(), ys.min(), xs.max(), ys.max()
    return from_numpy(boxes).to(masks.device)


def _check_nms(name: str, boxes: Tensor, scores: Tensor) -> None:
    _check_boxes(name, boxes)
    if not isinstance(scores, Tensor) or scores.dim() != 1:
        raise RuntimeError(f"{name}: scores should be a 1-D tensor, got shape "
                           f"{tuple(getattr(scores, 'shape', ()))}")
    if boxes.shape[0] != scores.shape[0]:
        raise RuntimeError(f"{name}: boxes and scores should have the same number of elements in "
                           f"dimension 0, got {boxes.shape[0]} and {scores.shape[0]}")


def _nms_indices(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy NMS on arrays: visit boxes by decreasing score (ties in index order) and drop
    every later box whose IoU with a kept one exceeds the threshold."""
    order = np.argsort(-scores, kind="stable")
    b = boxes[order].astype(np.float64 if boxes.dtype == np.float64 else np.float32)
    x1, y1, x2, y2 = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    areas = (x2 - x1) * (y2 - y1)
    suppressed = np.zeros(len(order), dtype=bool)
    keep = []
    for i in range(len(order)):
        if suppressed[i]:
            continue
        keep.append(order[i])
        rest = slice(i + 1, None)
        w = np.clip(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0, None)
        h = np.clip(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0, None)
        inter = w * h
        with np.errstate(divide="ignore", invalid="ignore"):
            iou = inter / (areas[i] + areas[rest] - inter)
        suppressed[rest] |= iou > iou_threshold
    return np.asarray(keep, dtype=np.int64)


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Non-maximum suppression: indices (int64) of the kept boxes, by decreasing score. A box
    is dropped when its IoU with a higher-scoring kept box is greater than ``iou_threshold``.

    Args:
        boxes: (N, 4) in (x1, y1, x2, y2) format with 0 <= x1 < x2 and 0 <= y1 < y2.
        scores: (N,).
    """
    _check_nms("nms", boxes, scores)
    keep = _nms_indices(np.asarray(boxes.detach().cpu().numpy()),
                        np.asarray(scores.detach().cpu().numpy()), iou_threshold)
    return from_numpy(keep).to(boxes.device)


def batched_nms(boxes: Tensor, scores: Tensor, idxs: Tensor, iou_threshold: float) -> Tensor:
    """NMS applied within each category of ``idxs`` (N,) separately; indices (int64) of the
    kept boxes by decreasing score."""
    _check_nms("batched_nms", boxes, scores)
    if idxs.shape != scores.shape:
        raise RuntimeError(f"batched_nms: idxs should have shape {tuple(scores.shape)} like scores, "
                           f"got {tuple(idxs.shape)}")
    b = np.asarray(boxes.detach().cpu().numpy())
    s = np.asarray(scores.detach().cpu().numpy())
    cats = np.asarray(idxs.detach().cpu().numpy())
    kept = [np.nonzero(cats == c)[0][_nms_indices(b[cats == c], s[cats == c], iou_threshold)]
            for c in np.unique(cats)]
    # Index order first, so that equal scores come out in index order as in ``nms``.
    keep = np.sort(np.concatenate(kept)) if kept else np.zeros(0, dtype=np.int64)
    keep = keep[np.argsort(-s[keep], kind="stable")]
    return from_numpy(keep.astype(np.int64)).to(boxes.device)
