"""``torch.nn.functional``: the stateless forms of the layers.

Most functions live in ``ember.ops`` by topic and are re-exported here; the ones
below (dropout family, bilinear, one_hot, normalize) are composed from those ops.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .._tensor import Tensor
from ..backend.device import xp_of
from ..ops.activation import *  # noqa: F401,F403
from ..ops.attention import *  # noqa: F401,F403
from ..ops.conv import *  # noqa: F401,F403
from ..ops.creation import rand, rand_like
from ..ops.linalg import linear  # noqa: F401
from ..ops.distance import *  # noqa: F401,F403
from ..ops.embedding import embedding, embedding_bag  # noqa: F401
from ..ops.loss import *  # noqa: F401,F403
from ..ops.padding import pad  # noqa: F401
from ..ops.norm import *  # noqa: F401,F403
from ..ops.resample import *  # noqa: F401,F403
from ..ops.unfold import *  # noqa: F401,F403
from ..ops.pool import *  # noqa: F401,F403
from ..ops.margin_loss import *  # noqa: F401,F403
from ..ops.pdist import pdist  # noqa: F401
from ..ops.gumbel import gumbel_softmax  # noqa: F401
from ..ops.grid import affine_grid, grid_sample  # noqa: F401
from ..ops.ctc import ctc_loss  # noqa: F401

# SELU's negative saturation value, -scale * alpha: alpha dropout drops units to it.
_SELU_SATURATION = 1.7580993408473766


# ---- dropout family -------------------------------------------------------------------
def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(input: Tensor, p: float, shape: tuple) -> np.ndarray:
    """1 (kept, probability 1 - p) or 0 per element of ``shape``, in the input's dtype and device
    (and memory layout, where ``shape`` is the input's)."""
    u = (rand_like(input) if shape == input._data.shape else rand(shape, dtype=input.dtype, device=input.device))._data
    return (u >= p).astype(u.dtype)


def _dropout(input: Tensor, p: float, training: bool, inplace: bool, alpha: bool = False,
             lead: int | None = None) -> Tensor:
    """Zero (or, for alpha dropout, saturate) elements with probability ``p``.

    With ``lead``, one draw covers all trailing dims: ``lead=2`` drops whole channels of
    (N, C, *), ``lead=1`` of an unbatched (C, *).
    """
    _check_p(p)
    shape = input._data.shape
    if lead is not None and len(shape) < lead:
        raise RuntimeError(f"Feature dropout requires at least {lead} dimensions in the input (got shape "
                           f"{list(shape)})")
    if not training or p == 0 or input._data.size == 0:
        return input
    if p == 1:
        zero = Tensor._make(np.zeros((), dtype=input._data.dtype, like=input._data))
        return input.mul_(zero) if inplace else input * zero
    keep = _keep_mask(input, p, shape if lead is None else shape[:lead] + (1,) * (len(shape) - lead))
    if not alpha:
        noise = Tensor._make(keep * keep.dtype.type(1.0 / (1.0 - p)))
        return input.mul_(noise) if inplace else input * noise
    # Alpha dropout keeps SELU's self-normalisation: dropped units take the saturation
    # value, then an affine map (a, b) restores zero mean and unit variance.
    a = 1.0 / math.sqrt((_SELU_SATURATION ** 2 * p + 1) * (1 - p))
    scale = Tensor._make(keep * keep.dtype.type(a))
    shift = Tensor._make((keep - 1) * keep.dtype.type(_SELU_SATURATION * a)
                         + keep.dtype.type(_SELU_SATURATION * a * p))
    return input.mul_(scale).add_(shift) if inplace else input * scale + shift


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1 / (1 - p), when training."""
    return _dropout(input, p, training, inplace)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Dropout for SELU networks: keeps the activations' mean and variance (when training)."""
    return _dropout(input, p, training, inplace, alpha=True)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                          inplace: bool = False) -> Tensor:
    """Alpha dropout of whole channels: input (N, C, *)."""
    return _dropout(input, p, training, inplace, alpha=True, lead=2)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of an input (N, C, L) or (C, L) with probability ``p``."""
    _check_p(p)
    if input.dim() not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {input.dim()}D input. Note that dropout1d "
            "exists to provide channel-wise dropout on inputs with 1 spatial dimension, a channel dimension, "
            "and an optional batch dimension (i.e. 2D or 3D inputs).")
    return _dropout(input, p, training, inplace, lead=2 if input.dim() == 3 else 1)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of an input (N, C, H, W) with probability ``p``.

    A 3-D input is read as (N, C, L) (1-D channel dropout), as PyTorch does.
    """
    _check_p(p)
    ndim = input.dim()
    if ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {ndim}-D input to dropout2d, which is deprecated. Use dropout "
                      "instead; dropout2d expects inputs (N, C, H, W) or (C, H, W).", stacklevel=2)
    elif ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                      "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel "
                      "dim. Use dropout1d for this behavior.", stacklevel=2)
    return _dropout(input, p, training, inplace, lead=2)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of an input (N, C, D, H, W) or (C, D, H, W) with probability ``p``."""
    _check_p(p)
    ndim = input.dim()
    if ndim not in (4, 5):
        warnings.warn(f"dropout3d: Received a {ndim}-D input to dropout3d, which is deprecated. Use dropout "
                      "instead; dropout3d expects inputs (N, C, D, H, W) or (C, D, H, W).", stacklevel=2)
    return _dropout(input, p, training, inplace, lead=2 if ndim == 5 else 1)


# ---- other layers' functional forms ---------------------------------------------------
def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y_k = x1^T weight_k x2 + bias_k.

    Shape:
        input1 (*, in1), input2 (*, in2), weight (out, in1, in2), bias (out) -> (*, out).
    """
    s1, s2 = tuple(input1.shape), tuple(input2.shape)
    if len(s1) != len(s2):
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {len(s1)} and {len(s2)}")
    for i, (a, b) in enumerate(zip(s1[:-1], s2[:-1])):
        if a != b:
            raise RuntimeError(f"bilinear(): input batch dimensions do not match at dim {i}: got {a} and {b}")
    out_f, in1, in2 = weight.shape
    if s1[-1] != in1:
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got {s1[-1]} but expected {in1}")
    if s2[-1] != in2:
        raise RuntimeError(f"bilinear(): input2 size does not match weight size: got {s2[-1]} but expected {in2}")
    if bias is not None and tuple(bias.shape) != (out_f,):
        raise RuntimeError(f"bilinear(): bias size does not match weight size: got {bias.shape[0]} but "
                           f"expected {out_f}")
    # One GEMM for all output features: x1 (N, in1) @ W as (in1, out * in2), then contract in2.
    x1, x2 = input1.reshape(-1, in1), input2.reshape(-1, in2)
    w = weight.permute(1, 0, 2).reshape(in1, out_f * in2)
    y = ((x1 @ w).reshape(-1, out_f, in2) * x2.unsqueeze(1)).sum(-1)  # (N, out)
    if bias is not None:
        y = y + bias
    return y.reshape(s1[:-1] + (out_f,))


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding of class indices: shape (*) -> (*, num_classes).

    Args:
        num_classes: the number of classes; -1 infers max(tensor) + 1.
    """
    if tensor.dtype.name != "int64":
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    x = tensor._data
    if num_classes == -1:
        if x.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(x.max()) + 1
    if x.size:
        if int(x.min()) < 0:
            raise RuntimeError("Class values must be non-negative.")
        if int(x.max()) >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    classes = xp_of(x).arange(num_classes)
    return Tensor._make((x[..., None] == classes).astype(np.int64))


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Tensor | None = None) -> Tensor:
    """``input`` divided by its p-norm along ``dim`` (at least ``eps``, so zero vectors stay finite)."""
    denom = input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)
    if out is None:
        return input / denom
    return out.copy_(input / denom)
