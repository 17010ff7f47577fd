"""``torch.functional``: meshgrid, cartesian_prod, cdist, block_diag, chain_matmul, and the
functions PyTorch also lists here (einsum, norm, split, broadcasting, unique, ...).

The new ones are composed from ember ops, so their gradients need no code of their own.
"""
from __future__ import annotations

import functools
import warnings

from .amp.autocast_mode import autocast_op
from ._tensor import Tensor
from .backend import dtypes
from .ops.join import atleast_1d, atleast_2d, atleast_3d, cat, split, stack  # noqa: F401
from .ops.linalg import einsum, matmul, tensordot  # noqa: F401
from .ops.moments import norm  # noqa: F401
from .ops.padding import pad
from .ops.shape import broadcast_shapes, broadcast_tensors  # noqa: F401
from .ops.sort import unique, unique_consecutive  # noqa: F401

__all__ = ["atleast_1d", "atleast_2d", "atleast_3d", "block_diag", "broadcast_shapes",
           "broadcast_tensors", "cartesian_prod", "cdist", "chain_matmul", "einsum", "meshgrid",
           "norm", "split", "tensordot", "unique", "unique_consecutive"]


def _tensors(args: tuple) -> tuple:
    """Tensors given one by one or as a single list/tuple, as these functions take them."""
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        return tuple(args[0])
    return args


def meshgrid(*tensors, indexing: str | None = None) -> tuple:
    """Coordinate grids from 1-D tensors: output i repeats tensor i along every other dim.
    ``indexing="ij"`` (matrix, the default) or ``"xy"`` (Cartesian: the first two dims swapped).
    The outputs are expanded views of the inputs."""
    tensors = _tensors(tensors)
    if indexing is None:
        warnings.warn("ember.meshgrid: in an upcoming release, it will be required to pass the "
                      "indexing argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise ValueError(f'ember.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}')
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    for i, t in enumerate(tensors):
        if t.dim() > 1:
            raise RuntimeError(f"ember.meshgrid: Expected 0D or 1D tensor in the tensor list but got: "
                               f"tensor {i} of shape {list(t.shape)}")
        if t.dtype is not tensors[0].dtype or t.device != tensors[0].device:
            raise RuntimeError("meshgrid expects all tensors to have the same dtype and device "
                               f"(tensor 0: {tensors[0].dtype} on {tensors[0].device}, tensor {i}: "
                               f"{t.dtype} on {t.device})")
    swap = indexing == "xy" and len(tensors) >= 2
    order = [1, 0, *range(2, len(tensors))] if swap else list(range(len(tensors)))
    sizes = [tensors[k].numel() for k in order]
    out = []
    for i, t in enumerate(tensors):
        view = [1] * len(tensors)
        view[order.index(i)] = -1  # tensor i varies along the dim it is placed at
        out.append(t.reshape(view).expand(sizes))
    return tuple(out)


def cartesian_prod(*tensors: Tensor) -> Tensor:
    """Every combination of the elements of 1-D tensors, one per row (like itertools.product)."""
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return stack([g.reshape(-1) for g in grids], dim=1)


@autocast_op("cdist")
def cdist(x1: Tensor, x2: Tensor, p: float = 2.0,
          compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """p-norm distances between each row vector of ``x1`` (..., P, M) and of ``x2`` (..., R, M):
    shape (..., P, R). Computed from the differences (exact; memory P * R * M per batch)."""
    for name, t in (("X1", x1), ("X2", x2)):
        if t.dim() < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: {t.dim()}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} "
                           f"X2: {x2.shape[-1]}")
    if not (x1.is_floating_point() and x2.is_floating_point()):
        raise RuntimeError(f"cdist only supports floating-point dtypes, X1 got: {x1.dtype}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    return norm(x1.unsqueeze(-2) - x2.unsqueeze(-3), p=p, dim=-1)


def block_diag(*tensors: Tensor) -> Tensor:
    """A block-diagonal matrix of the given 0-, 1- or 2-D tensors (a 1-D one is a row)."""
    mats = []
    for i, t in enumerate(tensors):
        if t.dim() > 2:
            raise RuntimeError(f"ember.block_diag: Input tensors must have 2 or fewer dimensions. "
                               f"Input {i} has {t.dim()} dimensions")
        mats.append(t.reshape(1, -1) if t.dim() < 2 else t)
    if not mats:
        from .ops.creation import empty
        return empty(1, 0)
    dtype = functools.reduce(dtypes.promote_types, (m.dtype for m in mats))
    width = sum(m.shape[1] for m in mats)
    rows, left = [], 0
    for m in mats:
        cols = m.shape[1]
        rows.append(pad(m.to(dtype), (left, width - left - cols)))
        left += cols
    return cat(rows, 0)


@autocast_op("chain_matmul")
def chain_matmul(*matrices: Tensor) -> Tensor:
    """The product of 2-D matrices, left to right (PyTorch deprecates it for linalg.multi_dot)."""
    matrices = _tensors(matrices)
    if not matrices:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    for i, m in enumerate(matrices):
        if m.dim() != 2:
            raise RuntimeError(f"chain_matmul(): Tensor {i} must be 2D, got {m.dim()}D "
                               f"(shape {list(m.shape)})")
    if len(matrices) == 1:
        return matrices[0].clone()
    return functools.reduce(matmul, matrices)
