"""Margin losses with a user distance or several targets per sample:
triplet_margin_with_distance_loss and multilabel_margin_loss (composed from ember ops)."""
from __future__ import annotations

from typing import Callable

import numpy as np

from .._tensor import Tensor
from .distance import pairwise_distance
from .loss import get_reduction, reduce_loss

__all__ = ["triplet_margin_with_distance_loss", "multilabel_margin_loss"]


def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *,
                                      distance_function: Callable[[Tensor, Tensor], Tensor] | None = None,
                                      margin: float = 1.0, swap: bool = False,
                                      reduction: str = "mean") -> Tensor:
    """max(0, d(a, p) - d(a, n) + margin) with any distance ``d`` (pairwise_distance when None).

    Args:
        swap: use min(d(a, n), d(p, n)) as the negative distance.
    """
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise RuntimeError(
            "The anchor, positive, and negative tensors are expected to have the same number of "
            f"dimensions, but got: anchor {anchor.ndim}D, positive {positive.ndim}D, and negative "
            f"{negative.ndim}D inputs")
    d = pairwise_distance if distance_function is None else distance_function
    d_pos = d(anchor, positive)
    d_neg = d(anchor, negative)
    if swap:
        d_neg = d_neg.minimum(d(positive, negative))
    return reduce_loss((margin + d_pos - d_neg).clamp_min(0), reduction)


def multilabel_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                           reduction: str = "mean") -> Tensor:
    """Per sample, sum over its target classes j and non-target classes i of
    max(0, 1 - (x[j] - x[i])), divided by the number of classes.

    ``target`` holds class indices, the sample's targets ending at the first -1.
    """
    reduction = get_reduction(size_average, reduce, reduction)
    if input.ndim > 2 or target.shape != input.shape:
        raise RuntimeError(
            "multilabel_margin_loss: expected input of shape (C) or (N, C) and a target of the same shape, "
            f"but got input {list(input.shape)} and target {list(target.shape)}")
    if not target.dtype.is_signed or target.dtype.is_floating_point:
        raise RuntimeError(f"multilabel_margin_loss: expected target of dtype Long, but got {target.dtype}")
    x = input.reshape(1, -1) if input.ndim < 2 else input
    t = np.asarray(target.detach().cpu().numpy()).reshape(x.shape).astype(np.int64)
    rows, classes = x.shape
    if classes and ((t < -1) | (t >= classes)).any():
        raise RuntimeError(f"multilabel_margin_loss: target index out of range [-1, {classes - 1}]")
    # A target slot counts while no -1 came before it in its row.
    valid = np.cumprod(t != -1, axis=1).astype(bool)
    idx = np.where(valid, t, 0)
    is_target = np.zeros((rows, classes), dtype=bool)
    row_of = np.broadcast_to(np.arange(rows)[:, None], idx.shape)
    is_target[row_of[valid], idx[valid]] = True
    mask = valid[:, :, None] & ~is_target[:, None, :]
    x_target = x.gather(1, x.new_tensor(idx).long())
    hinge = (1 - x_target.unsqueeze(2) + x.unsqueeze(1)).clamp_min(0)
    loss = (hinge * x.new_tensor(mask.astype(np.float64))).sum((1, 2)) / max(classes, 1)
    loss = loss.reshape(input.shape[:-1]) if input.ndim == 2 else loss.reshape(())
    return reduce_loss(loss, reduction)
