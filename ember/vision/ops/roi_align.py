"""RoI Align (Mask R-CNN): average of bilinear samples on a regular grid in each output bin.

torchvision's sampling is separable: a sample at (y, x) weighs its four neighbours by
products of a y-weight and an x-weight, and it is dropped when y or x falls outside
[-1, size]. So the average over a bin's grid is Wy[k, ph, :] (x) Wx[k, pw, :] applied to
the feature map, with Wy and Wx small (K, PH, H) and (K, PW, W) tables computed from the
boxes. The features then go through two matmuls per image: composed ember ops, so
the gradient w.r.t. the features (and double backward) comes for free. As in torchvision,
boxes get no gradient.
"""
from __future__ import annotations

import numpy as np

from ..._tensor import Tensor
from ... import nn
from ...ops.creation import from_numpy
from ...ops.join import cat
from ...backend.compat import max_initial, add_at

__all__ = ["roi_align", "RoIAlign"]


def _pair(v: int | tuple[int, int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


def _rois_array(boxes: Tensor | list[Tensor], name: str) -> np.ndarray:
    """(K, 5) float64 rows (batch index, x1, y1, x2, y2) from a (K, 5) tensor or a list of
    per-image (L, 4) tensors."""
    if isinstance(boxes, (list, tuple)):
        rows = []
        for i, b in enumerate(boxes):
            if b.dim() != 2 or b.shape[1] != 4:
                raise AssertionError(f"{name}: the shape of the tensor in the boxes list is not correct "
                                     f"as List[Tensor[L, 4]]; tensor {i} has shape {tuple(b.shape)}")
            arr = np.asarray(b.detach().cpu().numpy(), np.float64)
            rows.append(np.concatenate([np.full((len(arr), 1), float(i)), arr], 1))
        return np.concatenate(rows, 0) if rows else np.zeros((0, 5))
    if not isinstance(boxes, Tensor):
        raise TypeError(f"{name}: boxes should be a Tensor[K, 5] or a list of Tensor[L, 4], "
                        f"got {type(boxes).__name__}")
    if boxes.dim() != 2 or boxes.shape[1] != 5:
        raise AssertionError(f"{name}: the boxes tensor shape is not correct as Tensor[K, 5] (batch index, "
                             f"x1, y1, x2, y2); got {tuple(boxes.shape)}")
    return np.asarray(boxes.detach().cpu().numpy(), np.float64)


def _axis_weights(start: np.ndarray, length: np.ndarray, pooled: int, grid: np.ndarray,
                  size: int) -> np.ndarray:
    """(K, pooled, size) weights along one axis: for roi k and bin p, the sum over the bin's
    ``grid[k]`` samples of each sample's linear-interpolation weights, divided by the grid."""
    k_count = len(start)
    out = np.zeros((k_count, pooled, size))
    g_max = int(max_initial(grid, initial=0))
    if g_max <= 0 or size == 0:
        return out
    bin_size = (length / pooled)[:, None, None]
    g = np.maximum(grid, 1)[:, None, None]
    p = np.arange(pooled)[None, :, None]
    i = np.arange(g_max)[None, None, :]
    pos = start[:, None, None] + p * bin_size + (i + 0.5) * bin_size / g        # (K, pooled, G)
    valid = (i < grid[:, None, None]) & (pos >= -1.0) & (pos <= size)
    pos = np.maximum(pos, 0.0)
    low = np.floor(pos).astype(np.int64)
    at_edge = low >= size - 1
    low = np.where(at_edge, size - 1, low)
    high = np.where(at_edge, size - 1, low + 1)
    frac = np.where(at_edge, 0.0, pos - low)
    k_idx = np.broadcast_to(np.arange(k_count)[:, None, None], pos.shape)
    p_idx = np.broadcast_to(p, pos.shape)
    add_at(out, (k_idx, p_idx, low), (1.0 - frac) * valid / g)
    add_at(out, (k_idx, p_idx, high), frac * valid / g)
    return out


def roi_align(input: Tensor, boxes: Tensor | list[Tensor], output_size: int | tuple[int, int],
              spatial_scale: float = 1.0, sampling_ratio: int = -1, aligned: bool = False) -> Tensor:
    """RoI Align: pool each box of ``boxes`` into an ``output_size`` grid of bilinear averages.

    Args:
        input: features (N, C, H, W).
        boxes: (K, 5) rows (batch index, x1, y1, x2, y2), or a list of (L, 4) boxes per image,
            in input-image coordinates.
        spatial_scale: maps box coordinates to feature coordinates (1 / the feature stride).
        sampling_ratio: samples per bin along each axis; <= 0 takes ceil(box size / output size).
        aligned: shift box coordinates by -0.5 so sample points sit on pixel centres (use True
            for new models); False keeps the original version, whose boxes are at least 1x1.

    Shape:
        output (K, C, output_size[0], output_size[1]).
    """
    if not isinstance(input, Tensor) or input.dim() != 4:
        raise ValueError(f"roi_align: input should be features (N, C, H, W), got shape "
                         f"{tuple(getattr(input, 'shape', ()))}")
    if isinstance(boxes, Tensor) and boxes.dtype != input.dtype:
        raise RuntimeError(f"roi_align: expected boxes of the input's dtype {input.dtype}, got "
                           f"{boxes.dtype}; convert them with boxes.to(input.dtype)")
    pooled_h, pooled_w = _pair(output_size)
    n, c, height, width = input.shape
    rois = _rois_array(boxes, "roi_align")
    batch = rois[:, 0].astype(np.int64)
    if len(rois) and (batch.min() < 0 or batch.max() >= n):
        raise IndexError(f"roi_align: box batch indices should be in [0, {n}), got {batch.min()}..{batch.max()}")
    offset = 0.5 if aligned else 0.0
    x1, y1, x2, y2 = (rois[:, j] * spatial_scale - offset for j in range(1, 5))
    roi_w, roi_h = x2 - x1, y2 - y1
    if not aligned:
        roi_w, roi_h = np.maximum(roi_w, 1.0), np.maximum(roi_h, 1.0)
    if sampling_ratio > 0:
        grid_h = grid_w = np.full(len(rois), sampling_ratio)
    else:
        grid_h = np.ceil(roi_h / pooled_h).astype(np.int64)
        grid_w = np.ceil(roi_w / pooled_w).astype(np.int64)
    wy = _axis_weights(y1, roi_h, pooled_h, grid_h, height)          # (K, PH, H)
    wx = _axis_weights(x1, roi_w, pooled_w, grid_w, width)           # (K, PW, W)
    if len(rois) == 0:
        return input.new_zeros((0, c, pooled_h, pooled_w))
    outs, order = [], []
    for b in np.unique(batch):
        ks = np.nonzero(batch == b)[0]
        kb = len(ks)
        # Plain 2-D and batched matmuls, never a broadcast one: a broadcast matmul's gradient
        # would materialise one (C, H, W) map per box before summing them.
        wy_b = from_numpy(wy[ks].reshape(kb * pooled_h, height).astype(input.dtype.np)).to(input.device)
        wx_b = from_numpy(np.swapaxes(wx[ks], 1, 2).astype(input.dtype.np)).to(input.device)  # (Kb, W, PW)
        feat = input[int(b)].permute(1, 0, 2).reshape(height, c * width)                   # (H, C*W)
        rows = (wy_b @ feat).reshape(kb, pooled_h * c, width)                              # (Kb, PH*C, W)
        out_b = (rows @ wx_b).reshape(kb, pooled_h, c, pooled_w)                           # (Kb, PH, C, PW)
        outs.append(out_b.permute(0, 2, 1, 3))                                             # (Kb, C, PH, PW)
        order.append(ks)
    out = cat(outs, 0)
    inverse = np.empty(len(rois), dtype=np.int64)
    inverse[np.concatenate(order)] = np.arange(len(rois))
    return out[from_numpy(inverse).to(input.device)]


class RoIAlign(nn.Module):
    """The module form of ``roi_align``."""

    def __init__(self, output_size: int | tuple[int, int], spatial_scale: float, sampling_ratio: int,
                 aligned: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.spatial_scale = spatial_scale
        self.sampling_ratio = sampling_ratio
        self.aligned = aligned

    def forward(self, input: Tensor, rois: Tensor | list[Tensor]) -> Tensor:
        return roi_align(input, rois, self.output_size, self.spatial_scale, self.sampling_ratio, self.aligned)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(output_size={self.output_size}, spatial_scale={self.spatial_scale}, "
                f"sampling_ratio={self.sampling_ratio}, aligned={self.aligned})")
