"""torchvision's detection losses: the IoU-based box regression losses (generalized,
distance, complete) on matched pairs of boxes, and the sigmoid focal loss. Composed from
ember ops, so values and gradients follow the formulas."""
from __future__ import annotations

from ..._tensor import Tensor
from ...backend import dtypes
from ...nn.functional import binary_cross_entropy_with_logits
from ...ops.binary import maximum, minimum
from ...ops.creation import zeros_like
from ...ops.indexing import where
from .boxes import _aspect_term

__all__ = ["generalized_box_iou_loss", "distance_box_iou_loss", "complete_box_iou_loss",
           "sigmoid_focal_loss"]


def _reduce(name: str, loss: Tensor, reduction: str, empty_mean_zero: bool = True) -> Tensor:
    if reduction == "none":
        return loss
    if reduction == "mean":
        # The box losses give 0 (still attached to the graph) for no boxes; the focal loss NaN.
        return 0.0 * loss.sum() if empty_mean_zero and loss.numel() == 0 else loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"{name}: Invalid Value for arg 'reduction': '{reduction}' \n "
                     "Supported reduction modes: 'none', 'mean', 'sum'")


def _upcast_non_float(t: Tensor) -> Tensor:
    return t if t.dtype in (dtypes.float32, dtypes.float64) else t.float()


def _check_pairs(name: str, boxes1: Tensor, boxes2: Tensor) -> None:
    if boxes1.shape[-1:] != (4,) or boxes2.shape[-1:] != (4,):
        raise ValueError(f"{name}: boxes should have shape (..., 4) in (x1, y1, x2, y2) format, got "
                         f"{tuple(boxes1.shape)} and {tuple(boxes2.shape)}")


def _loss_inter_union(boxes1: Tensor, boxes2: Tensor) -> tuple[Tensor, Tensor]:
    x1, y1, x2, y2 = boxes1.unbind(-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(-1)
    xkis1, ykis1 = maximum(x1, x1g), maximum(y1, y1g)
    xkis2, ykis2 = minimum(x2, x2g), minimum(y2, y2g)
    overlaps = (ykis2 > ykis1) & (xkis2 > xkis1)
    intsct = where(overlaps, (xkis2 - xkis1) * (ykis2 - ykis1), zeros_like(x1))
    union = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - intsct
    return intsct, union


def _enclosing(boxes1: Tensor, boxes2: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    x1, y1, x2, y2 = boxes1.unbind(-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(-1)
    return minimum(x1, x1g), minimum(y1, y1g), maximum(x2, x2g), maximum(y2, y2g)


def generalized_box_iou_loss(boxes1: Tensor, boxes2: Tensor, reduction: str = "none",
                             eps: float = 1e-7) -> Tensor:
    """1 - generalized IoU of matched boxes (..., 4) in (x1, y1, x2, y2) format; reduction
    ``'none'`` | ``'mean'`` | ``'sum'``. Boxes need x2 >= x1 and y2 >= y1."""
    _check_pairs("generalized_box_iou_loss", boxes1, boxes2)
    boxes1, boxes2 = _upcast_non_float(boxes1), _upcast_non_float(boxes2)
    intsct, union = _loss_inter_union(boxes1, boxes2)
    iou = intsct / (union + eps)
    xc1, yc1, xc2, yc2 = _enclosing(boxes1, boxes2)
    area_c = (xc2 - xc1) * (yc2 - yc1)
    loss = 1 - (iou - (area_c - union) / (area_c + eps))
    return _reduce("generalized_box_iou_loss", loss, reduction)


def _diou_iou_loss(boxes1: Tensor, boxes2: Tensor, eps: float) -> tuple[Tensor, Tensor]:
    intsct, union = _loss_inter_union(boxes1, boxes2)
    iou = intsct / (union + eps)
    xc1, yc1, xc2, yc2 = _enclosing(boxes1, boxes2)
    diagonal_sq = (xc2 - xc1) ** 2 + (yc2 - yc1) ** 2 + eps
    x1, y1, x2, y2 = boxes1.unbind(-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(-1)
    centers_sq = ((x2 + x1) / 2 - (x1g + x2g) / 2) ** 2 + ((y2 + y1) / 2 - (y1g + y2g) / 2) ** 2
    return 1 - iou + centers_sq / diagonal_sq, iou


def distance_box_iou_loss(boxes1: Tensor, boxes2: Tensor, reduction: str = "none",
                          eps: float = 1e-7) -> Tensor:
    """1 - distance IoU of matched boxes (..., 4) in (x1, y1, x2, y2) format."""
    _check_pairs("distance_box_iou_loss", boxes1, boxes2)
    boxes1, boxes2 = _upcast_non_float(boxes1), _upcast_non_float(boxes2)
    loss, _ = _diou_iou_loss(boxes1, boxes2, eps)
    return _reduce("distance_box_iou_loss", loss, reduction)


def complete_box_iou_loss(boxes1: Tensor, boxes2: Tensor, reduction: str = "none",
                          eps: float = 1e-7) -> Tensor:
    """1 - complete IoU of matched boxes (..., 4) in (x1, y1, x2, y2) format."""
    _check_pairs("complete_box_iou_loss", boxes1, boxes2)
    boxes1, boxes2 = _upcast_non_float(boxes1), _upcast_non_float(boxes2)
    diou_loss, iou = _diou_iou_loss(boxes1, boxes2, eps)
    x1, y1, x2, y2 = boxes1.unbind(-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(-1)
    loss = diou_loss + _aspect_term(x2 - x1, y2 - y1, x2g - x1g, y2g - y1g, iou, eps)
    return _reduce("complete_box_iou_loss", loss, reduction)


def sigmoid_focal_loss(inputs: Tensor, targets: Tensor, alpha: float = 0.25, gamma: float = 2,
                       reduction: str = "none") -> Tensor:
    """Focal loss (Lin et al., RetinaNet): binary cross-entropy on logits, scaled by
    (1 - p_t) ** gamma so easy examples count less, and by alpha_t (alpha for positives,
    1 - alpha for negatives) unless ``alpha`` < 0.

    Args:
        inputs: logits of any shape; targets: the same shape, 0 or 1 (or soft labels).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.
    """
    p = inputs.sigmoid()
    ce_loss = binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    return _reduce("sigmoid_focal_loss", loss, reduction, empty_mean_zero=False)
