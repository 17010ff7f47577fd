"""affine_grid and grid_sample: sampling an input at arbitrary (normalised) points.

grid_sample is composed from ember ops: the integer tap positions are found in NumPy,
the input values are gathered at them, and the interpolation weights are ember ops of
the grid, so gradients reach the input (scatter-add through the gather) and the grid
(through the weights and the coordinate padding), double backward included.
"""
from __future__ import annotations

import itertools
import math
import warnings

import numpy as np

from .._tensor import Tensor
from ..backend.compat import contiguous
from ..backend.device import xp_of
from .elementwise import fmod
from .indexing import where

__all__ = ["affine_grid", "grid_sample"]

_ALIGN_WARNING = ("Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. "
                  "Please specify align_corners=True if the old behavior is desired. See the documentation of "
                  "grid_sample for details.")
_CUBIC_A = -0.75  # the cubic convolution constant of bicubic interpolation


def _linspace_from_neg_one(theta: Tensor, steps: int, align_corners: bool) -> np.ndarray:
    if steps <= 1:
        return xp_of(theta._data).zeros(1, dtype=theta._data.dtype)
    values = xp_of(theta._data).linspace(-1, 1, steps, dtype=theta._data.dtype)
    # Without align_corners the points are pixel centres: the extremes sit half a pixel inside.
    return values if align_corners else values * values.dtype.type((steps - 1) / steps)


def affine_grid(theta: Tensor, size, align_corners: bool | None = None) -> Tensor:
    """The sampling grid (N, H, W, 2) (or (N, D, H, W, 3)) of the affine maps ``theta``
    (N, 2, 3) (or (N, 3, 4)) for an output of ``size`` (N, C, H, W) (or (N, C, D, H, W))."""
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    if not theta.is_floating_point():
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = list(size)
    if len(size) in (4, 5):
        k = len(size) - 2
        if theta.dim() != 3 or theta.shape[-2] != k or theta.shape[-1] != k + 1:
            raise ValueError(f"Expected a batch of {k}D affine matrices of shape Nx{k}x{k + 1} for size "
                             f"{size}. Got {theta.shape}.")
    else:
        raise NotImplementedError("affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
                                  f"respectively. Got size {size}.")
    spatial = size[2:]
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
                      "align_corners=True. This is not an intended use case of affine_grid. See the "
                      "documentation of affine_grid for details.", stacklevel=2)
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    # base[..., i] is the i-th coordinate (x along the last dim, then y, z) and a final 1.
    axes = [_linspace_from_neg_one(theta, s, align_corners) for s in spatial]
    mesh = np.meshgrid(*axes, indexing="ij")
    base = np.stack([m for m in reversed(mesh)] + [np.ones_like(mesh[0])], axis=-1)
    base = theta.new_tensor(base.reshape(1, -1, k + 1))
    grid = base.matmul(theta.transpose(1, 2))
    return grid.reshape(size[0], *spatial, k)


def _unnormalize(coord: Tensor, size: int, align_corners: bool) -> Tensor:
    """[-1, 1] to pixel units: the corner pixels' centres (align_corners) or their outer edges."""
    if align_corners:
        return (coord + 1) / 2 * (size - 1)
    return ((coord + 1) * size - 1) / 2


def _reflect(coord: Tensor, twice_low: int, twice_high: int) -> Tensor:
    """Mirror ``coord`` into [twice_low / 2, twice_high / 2] (as often as needed)."""
    if twice_low == twice_high:
        return coord * 0
    low = twice_low / 2
    span = (twice_high - twice_low) / 2
    dist = (coord - low).abs()
    extra = fmod(dist, span)
    flips = (dist / span).floor()
    return where(fmod(flips, 2) == 0, extra + low, span - extra + low)


def _pad_coordinate(coord: Tensor, size: int, padding_mode: str, align_corners: bool) -> Tensor:
    """A pixel coordinate moved inside the input for border and reflection padding."""
    if padding_mode == "zeros":
        return coord
    if padding_mode == "reflection":
        coord = _reflect(coord, 0, 2 * (size - 1)) if align_corners else _reflect(coord, -1, 2 * size - 1)
    return coord.clamp(0, size - 1)


def _check(input: Tensor, grid: Tensor, mode: str) -> None:
    if input.dim() not in (4, 5) or grid.dim() != input.dim():
        raise RuntimeError(f"grid_sampler(): expected 4D or 5D input and grid with same number of dimensions, "
                           f"but got input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
    k = input.dim() - 2
    if grid.shape[-1] != k:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {k} in last dimension, but got grid with "
                           f"sizes {list(grid.shape)}")
    if input.shape[0] != grid.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid and input to have same batch size, but got input with "
                           f"sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
    if input.dtype != grid.dtype:
        raise RuntimeError(f"grid_sampler(): expected input and grid to have same dtype, but input has "
                           f"{input.dtype} and grid has {grid.dtype}")
    if any(s == 0 for s in input.shape[2:]):
        raise RuntimeError(f"grid_sampler(): expected input to have non-empty spatial dimensions, but input has "
                           f"sizes {list(input.shape)}")
    if mode == "bicubic" and k != 2:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear", padding_mode: str = "zeros",
                align_corners: bool | None = None) -> Tensor:
    """Sample ``input`` (N, C, H, W) at the points ``grid`` (N, Ho, Wo, 2) (x, y in [-1, 1])
    giving (N, C, Ho, Wo); likewise (N, C, D, H, W) with (N, Do, Ho, Wo, 3) grids.

    Args:
        mode: 'bilinear' (trilinear for 5-D), 'nearest' or 'bicubic' (4-D only).
        padding_mode: what points outside the input read: 'zeros', the 'border' value, or
            the input mirrored at its edges ('reflection').
        align_corners: -1 and 1 are the corner pixels' centres (True) or their outer edges (False).
    """
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', "
                         f"but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    _check(input, grid, mode)
    n, c, *sizes = input.shape
    k = len(sizes)
    out_spatial = tuple(grid.shape[1:-1])
    points = grid.reshape(n, -1, k)
    # Spatial dim d of the input (D, H, W order) is read from grid component k - 1 - d (x is W).
    coords = [_unnormalize(points[..., k - 1 - d], sizes[d], align_corners) for d in range(k)]
    flat = input.reshape(n, c, -1)
    strides = [math.prod(sizes[d + 1:]) for d in range(k)]

    def tap(positions: list[np.ndarray], weight: Tensor | None) -> Tensor:
        """The input at integer ``positions`` (one (N, L) array per dim), 0 outside, times ``weight``."""
        inside = xp_of(positions[0]).ones(positions[0].shape, dtype=bool)
        for pos, size in zip(positions, sizes):
            inside &= (pos >= 0) & (pos < size)
        linear = sum(np.where(inside, pos, 0) * stride for pos, stride in zip(positions, strides))
        index = Tensor._make(contiguous(linear[:, None, :].astype(np.int64)))
        index = index.to(input.device).expand(n, c, linear.shape[1])
        scale = points.new_tensor(inside.astype(points._data.dtype))
        if weight is not None:
            scale = scale * weight
        return flat.gather(2, index) * scale.unsqueeze(1)

    if mode == "bicubic":
        out = _bicubic(coords, sizes, padding_mode, align_corners, tap)
    else:
        coords = [_pad_coordinate(cd, s, padding_mode, align_corners) for cd, s in zip(coords, sizes)]
        values = [cd.detach().cpu().numpy() for cd in coords]
        if mode == "nearest":
            out = tap([np.rint(v).astype(np.int64) for v in values], None)  # rint: halves to even
        else:
            base = [np.floor(v) for v in values]
            out = None
            for corner in itertools.product((0, 1), repeat=k):
                weight = None
                for cd, b, bit in zip(coords, base, corner):
                    b = cd.new_tensor(b)
                    w = (cd - b) if bit else (b + 1 - cd)
                    weight = w if weight is None else weight * w
                term = tap([(b + bit).astype(np.int64) for b, bit in zip(base, corner)], weight)
                out = term if out is None else out + term
    return out.reshape(n, c, *out_spatial)


def _cubic_coefficients(t: Tensor) -> list[Tensor]:
    """Keys' cubic convolution weights of the taps at -1, 0, 1, 2 for a fraction ``t``."""
    a = _CUBIC_A

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _bicubic(coords, sizes, padding_mode, align_corners, tap) -> Tensor:
    """4 x 4 taps around each point; padding applies to each tap's position, not the point."""
    base = [np.floor(cd.detach().cpu().numpy()) for cd in coords]
    weights = [_cubic_coefficients(cd - cd.new_tensor(b)) for cd, b in zip(coords, base)]
    positions = []
    for b, size in zip(base, sizes):
        per_tap = []
        for offset in range(-1, 3):
            pos = Tensor._make(b + offset)
            per_tap.append(_pad_coordinate(pos, size, padding_mode, align_corners)._data.astype(np.int64))
        positions.append(per_tap)
    out = None
    for i in range(4):
        for j in range(4):
            term = tap([positions[0][i], positions[1][j]], weights[0][i] * weights[1][j])
            out = term if out is None else out + term
    return out
