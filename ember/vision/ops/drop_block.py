"""DropBlock (Ghiasi et al., 2018): dropout of whole block_size x block_size squares of a
feature map, so that neighbouring, correlated activations are dropped together."""
from __future__ import annotations

from ..._tensor import Tensor
from ... import nn
from ...nn import functional as F
from ...ops.creation import empty

__all__ = ["drop_block2d", "DropBlock2d"]


def drop_block2d(input: Tensor, p: float, block_size: int, inplace: bool = False, eps: float = 1e-6,
                 training: bool = True) -> Tensor:
    """In training, zero squares of ``block_size`` (odd) pixels in each (N, C) map so that about a
    fraction ``p`` of the pixels is dropped, and rescale the rest by numel / kept; the identity
    otherwise.

    Shape:
        input (N, C, H, W) -> output (N, C, H, W).
    """
    if p < 0.0 or p > 1.0:
        raise ValueError(f"drop_block2d: drop probability has to be between 0 and 1, but got {p}.")
    if input.ndim != 4:
        raise ValueError(f"drop_block2d: input should be 4 dimensional (N, C, H, W). Got {input.ndim} dimensions.")
    if not training or p == 0.0:
        return input
    n, c, h, w = input.shape
    block_size = min(block_size, w, h)
    # Block centres are drawn where a whole block fits; gamma makes the dropped share about p.
    gamma = (p * h * w) / ((block_size ** 2) * ((h - block_size + 1) * (w - block_size + 1)))
    noise = empty((n, c, h - block_size + 1, w - block_size + 1), dtype=input.dtype, device=input.device)
    noise.bernoulli_(gamma)
    noise = F.pad(noise, [block_size // 2] * 4, value=0)
    noise = F.max_pool2d(noise, stride=(1, 1), kernel_size=(block_size, block_size), padding=block_size // 2)
    noise = 1 - noise
    normalize_scale = noise.numel() / (eps + noise.sum())
    if inplace:
        return input.mul_(noise).mul_(normalize_scale)
    return input * noise * normalize_scale


class DropBlock2d(nn.Module):
    """The module form of ``drop_block2d``: active in training mode only."""

    def __init__(self, p: float, block_size: int, inplace: bool = False, eps: float = 1e-6) -> None:
        super().__init__()
        self.p = p
        self.block_size = block_size
        self.inplace = inplace
        self.eps = eps

    def forward(self, input: Tensor) -> Tensor:
        return drop_block2d(input, self.p, self.block_size, self.inplace, self.eps, self.training)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(p={self.p}, block_size={self.block_size}, inplace={self.inplace})"
