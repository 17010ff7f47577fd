"""Building blocks shared by the model files: channel rounding, conv-norm-activation units,
squeeze-and-excitation, stochastic depth, and the check that refuses weights a factory does not have."""
from __future__ import annotations

from typing import Any, Callable

from ..._tensor import Tensor
from ...ops.creation import empty
from ... import nn

__all__ = ["Conv2dNormActivation", "SqueezeExcitation", "StochasticDepth", "stochastic_depth"]


def _check_weights(arch: str, weights: Any, kwargs: dict) -> None:
    """Refuse pretrained weights (none are bundled and nothing is downloaded); also accepts
    the older ``pretrained=False`` keyword, removing it from ``kwargs``."""
    if kwargs.pop("pretrained", False):
        weights = "pretrained=True"
    if weights is not None:
        raise ValueError(
            f"{arch}(weights={weights!r}): pretrained weights are not bundled; build the model with "
            f"weights=None and load a state dict with model.load_state_dict(ember.load(path))")


def _make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
    """``v`` rounded to the nearest multiple of ``divisor`` (at least ``min_value``), never
    rounding down by more than 10%: how MobileNet and EfficientNet scale channel counts."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class Conv2dNormActivation(nn.Sequential):
    """Conv2d, then a normalisation layer, then an activation (submodules ``0``, ``1``, ``2``).

    Args:
        in_channels, out_channels, kernel_size, stride, groups, dilation: as in ``nn.Conv2d``.
        padding: ``(kernel_size - 1) // 2 * dilation`` when None, which keeps the size at stride 1.
        norm_layer: called with ``out_channels``; None for no normalisation.
        activation_layer: called with ``inplace=inplace`` (no argument when ``inplace`` is None);
            None for no activation.
        bias: the convolution's bias; when None, a bias only if there is no normalisation layer.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 padding: int | None = None, groups: int = 1,
                 norm_layer: Callable[..., nn.Module] | None = nn.BatchNorm2d,
                 activation_layer: Callable[..., nn.Module] | None = nn.ReLU, dilation: int = 1,
                 inplace: bool | None = True, bias: bool | None = None) -> None:
        if padding is None:
            padding = (kernel_size - 1) // 2 * dilation
        if bias is None:
            bias = norm_layer is None
        layers = [nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation=dilation,
                            groups=groups, bias=bias)]
        if norm_layer is not None:
            layers.append(norm_layer(out_channels))
        if activation_layer is not None:
            layers.append(activation_layer() if inplace is None else activation_layer(inplace=inplace))
        super().__init__(*layers)
        self.out_channels = out_channels


class SqueezeExcitation(nn.Module):
    """Squeeze-and-excitation (Hu et al., 2018): scale each channel by a gate in (0, 1) computed
    from the global average of every channel, through a bottleneck of ``squeeze_channels``.

    Shape:
        input (N, C, H, W) -> output (N, C, H, W), with C = ``input_channels``.
    """

    def __init__(self, input_channels: int, squeeze_channels: int,
                 activation: Callable[..., nn.Module] = nn.ReLU,
                 scale_activation: Callable[..., nn.Module] = nn.Sigmoid) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def forward(self, input: Tensor) -> Tensor:
        scale = self.avgpool(input)                                  # (N, C, 1, 1)
        scale = self.activation(self.fc1(scale))                     # (N, squeeze_channels, 1, 1)
        scale = self.scale_activation(self.fc2(scale))               # (N, C, 1, 1)
        return scale * input


def stochastic_depth(input: Tensor, p: float, mode: str, training: bool = True) -> Tensor:
    """Stochastic depth (Huang et al., 2016): in training, zero the whole input (``mode="batch"``)
    or each sample of it (``mode="row"``) with probability ``p`` and scale the survivors by
    1 / (1 - p); the identity in eval mode. Applied to a residual branch, it drops the block.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"stochastic_depth: drop probability has to be between 0 and 1, but got {p}")
    if mode not in ("batch", "row"):
        raise ValueError(f"stochastic_depth: mode has to be either 'batch' or 'row', but got {mode!r}")
    if not training or p == 0.0:
        return input
    survival_rate = 1.0 - p
    size = [input.shape[0]] + [1] * (input.dim() - 1) if mode == "row" else [1] * input.dim()
    noise = empty(size, dtype=input.dtype, device=input.device).bernoulli_(survival_rate)
    if survival_rate > 0.0:
        noise.div_(survival_rate)
    return input * noise


class StochasticDepth(nn.Module):
    """The module form of ``stochastic_depth``: active in training mode only."""

    def __init__(self, p: float, mode: str) -> None:
        super().__init__()
        self.p = p
        self.mode = mode

    def forward(self, input: Tensor) -> Tensor:
        return stochastic_depth(input, self.p, self.mode, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode}"
