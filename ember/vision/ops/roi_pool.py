"""RoI pooling (Fast R-CNN): the maximum of each output bin of each box, on the integer pixel
grid torchvision uses (box corners rounded, bins floor/ceil-bounded, so bins may overlap).

The winning pixel of every bin and channel is found on arrays; the output is then the
input gathered at those positions, so the gradient goes to the winners (scatter-add), as
torchvision's does, and stays differentiable. Boxes get no gradient."""
from __future__ import annotations

import numpy as np

from ..._tensor import Tensor
from ... import nn
from ...ops.creation import from_numpy
from .roi_align import _pair, _rois_array

__all__ = ["roi_pool", "RoIPool"]


def _bin_bounds(start: np.ndarray, extent: np.ndarray, pooled: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(K, pooled) first and one-past-last pixel of each bin along one axis."""
    bin_size = extent[:, None] / pooled
    p = np.arange(pooled)[None, :]
    lo = np.clip(np.floor(p * bin_size).astype(np.int64) + start[:, None], 0, size)
    hi = np.clip(np.ceil((p + 1) * bin_size).astype(np.int64) + start[:, None], 0, size)
    return lo, hi


def _round_half_away(v: np.ndarray) -> np.ndarray:
    return (np.sign(v) * np.floor(np.abs(v) + 0.5)).astype(np.int64)


def roi_pool(input: Tensor, boxes: Tensor | list[Tensor], output_size: int | tuple[int, int],
             spatial_scale: float = 1.0) -> Tensor:
    """RoI max pooling of ``input`` (N, C, H, W) over ``boxes`` ((K, 5) rows (batch index, x1, y1,
    x2, y2) or a list of (L, 4) per image) into (K, C, output_size[0], output_size[1]). Empty bins
    give 0."""
    if not isinstance(input, Tensor) or input.dim() != 4:
        raise ValueError(f"roi_pool: input should be features (N, C, H, W), got shape "
                         f"{tuple(getattr(input, 'shape', ()))}")
    if isinstance(boxes, Tensor) and boxes.dtype != input.dtype:
        raise RuntimeError(f"roi_pool: expected boxes of the input's dtype {input.dtype}, got {boxes.dtype}; "
                           "convert them with boxes.to(input.dtype)")
    pooled_h, pooled_w = _pair(output_size)
    n, c, height, width = input.shape
    rois = _rois_array(boxes, "roi_pool")
    k_count = len(rois)
    batch = rois[:, 0].astype(np.int64)
    if k_count and (batch.min() < 0 or batch.max() >= n):
        raise IndexError(f"roi_pool: box batch indices should be in [0, {n}), got {batch.min()}..{batch.max()}")
    x1, y1, x2, y2 = (_round_half_away(rois[:, j] * spatial_scale) for j in range(1, 5))
    h_lo, h_hi = _bin_bounds(y1, np.maximum(y2 - y1 + 1, 1), pooled_h, height)      # (K, PH)
    w_lo, w_hi = _bin_bounds(x1, np.maximum(x2 - x1 + 1, 1), pooled_w, width)       # (K, PW)
    values = np.asarray(input.detach().cpu().numpy())
    flat_idx = np.zeros((k_count, c, pooled_h, pooled_w), dtype=np.int64)
    nonempty = np.zeros((k_count, 1, pooled_h, pooled_w), dtype=bool)
    chan_base = (batch[:, None] * c + np.arange(c)[None, :]) * (height * width)       # (K, C)
    for ph in range(pooled_h):
        win_h = int((h_hi[:, ph] - h_lo[:, ph]).max(initial=0))
        for pw in range(pooled_w):
            win_w = int((w_hi[:, pw] - w_lo[:, pw]).max(initial=0))
            if win_h <= 0 or win_w <= 0:
                continue
            # Every roi's window padded to the largest, row-major, so argmax keeps the first
            # maximum in (h, w) order as torchvision's strict '>' scan does.
            hh = h_lo[:, ph, None] + np.arange(win_h)[None, :]                        # (K, wh)
            ww = w_lo[:, pw, None] + np.arange(win_w)[None, :]                        # (K, ww)
            inside = (hh < h_hi[:, ph, None])[:, :, None] & (ww < w_hi[:, pw, None])[:, None, :]
            pix = np.minimum(hh, height - 1)[:, :, None] * width + np.minimum(ww, width - 1)[:, None, :]
            pix = pix.reshape(k_count, 1, -1)                                         # (K, 1, wh*ww)
            window = values.reshape(-1)[chan_base[:, :, None] + pix]                  # (K, C, wh*ww)
            window = np.where(inside.reshape(k_count, 1, -1), window, -np.inf)
            winner = np.argmax(window, axis=2)[:, :, None]                            # (K, C, 1)
            best = np.take_along_axis(np.broadcast_to(pix, window.shape), winner, axis=2)[:, :, 0]
            flat_idx[:, :, ph, pw] = chan_base + best
            nonempty[:, 0, ph, pw] = inside.reshape(k_count, -1).any(axis=1)
    idx = from_numpy(np.where(nonempty, flat_idx, 0)).to(input.device)
    mask = from_numpy(nonempty.astype(input.dtype.np)).to(input.device)
    return input.reshape(-1)[idx] * mask


class RoIPool(nn.Module):
    """The module form of ``roi_pool``."""

    def __init__(self, output_size: int | tuple[int, int], spatial_scale: float) -> None:
        super().__init__()
        self.output_size = output_size
        self.spatial_scale = spatial_scale

    def forward(self, input: Tensor, rois: Tensor | list[Tensor]) -> Tensor:
        return roi_pool(input, rois, self.output_size, self.spatial_scale)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(output_size={self.output_size}, spatial_scale={self.spatial_scale})"
