"""The layers torchvision keeps in ``torchvision.ops``: conv-norm-activation units,
squeeze-and-excitation, stochastic depth (shared with the model files), a multi-layer
perceptron, a permutation layer and batch norm with frozen statistics. Submodule and buffer
names are torchvision's, so its state dicts load unchanged."""
from __future__ import annotations

from typing import Callable, Sequence

from ..._tensor import Tensor
from ... import nn
from ...ops.creation import ones, zeros
from ..models._utils import Conv2dNormActivation, SqueezeExcitation, StochasticDepth, stochastic_depth

__all__ = ["Conv2dNormActivation", "SqueezeExcitation", "StochasticDepth", "stochastic_depth", "MLP",
           "Permute", "FrozenBatchNorm2d"]


class MLP(nn.Sequential):
    """Linear layers with, after each hidden one, an optional norm layer, an activation and
    dropout; the last Linear is followed by dropout only.

    Args:
        in_channels: input features.
        hidden_channels: the output size of each Linear; the last is the output size.
        norm_layer: called with the hidden size; None for no normalisation.
        activation_layer: called with ``inplace=inplace`` (no argument when ``inplace`` is None).
        bias: whether the Linear layers have a bias.
        dropout: drop probability of every Dropout.
    """

    def __init__(self, in_channels: int, hidden_channels: Sequence[int],
                 norm_layer: Callable[..., nn.Module] | None = None,
                 activation_layer: Callable[..., nn.Module] | None = nn.ReLU,
                 inplace: bool | None = None, bias: bool = True, dropout: float = 0.0) -> None:
        params = {} if inplace is None else {"inplace": inplace}
        layers: list[nn.Module] = []
        in_dim = in_channels
        for hidden_dim in hidden_channels[:-1]:
            layers.append(nn.Linear(in_dim, hidden_dim, bias=bias))
            if norm_layer is not None:
                layers.append(norm_layer(hidden_dim))
            layers.append(activation_layer(**params))
            layers.append(nn.Dropout(dropout, **params))
            in_dim = hidden_dim
        layers.append(nn.Linear(in_dim, hidden_channels[-1], bias=bias))
        layers.append(nn.Dropout(dropout, **params))
        super().__init__(*layers)


class Permute(nn.Module):
    """``input.permute(dims)`` as a layer (e.g. channels-last blocks inside a Sequential)."""

    def __init__(self, dims: list[int]) -> None:
        super().__init__()
        self.dims = dims

    def forward(self, x: Tensor) -> Tensor:
        return x.permute(*self.dims)


class FrozenBatchNorm2d(nn.Module):
    """Batch norm whose statistics and affine parameters are fixed buffers (no gradient, no
    update): a pretrained backbone's normalisation kept as it was trained.

    Shape:
        input (N, C, H, W) -> output (N, C, H, W), with C = ``num_features``.
    """

    def __init__(self, num_features: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.register_buffer("weight", ones(num_features))
        self.register_buffer("bias", zeros(num_features))
        self.register_buffer("running_mean", zeros(num_features))
        self.register_buffer("running_var", ones(num_features))

    def _load_from_state_dict(self, state_dict: dict, prefix: str, local_metadata: dict, strict: bool,
                              missing_keys: list, unexpected_keys: list, error_msgs: list) -> None:
        # A BatchNorm2d's state dict also holds num_batches_tracked, which has no use here.
        state_dict.pop(prefix + "num_batches_tracked", None)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

    def forward(self, x: Tensor) -> Tensor:
        w = self.weight.reshape(1, -1, 1, 1)
        b = self.bias.reshape(1, -1, 1, 1)
        rv = self.running_var.reshape(1, -1, 1, 1)
        rm = self.running_mean.reshape(1, -1, 1, 1)
        scale = w * (rv + self.eps).rsqrt()
        return x * scale + (b - rm * scale)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.weight.shape[0]}, eps={self.eps})"
