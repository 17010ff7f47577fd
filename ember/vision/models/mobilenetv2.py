"""MobileNetV2 (Sandler et al., 2018, "MobileNetV2: Inverted residuals and linear bottlenecks").

Inverted residual blocks: a 1x1 convolution expands the channels ``t`` times, a 3x3 depthwise
convolution filters each channel, a 1x1 convolution projects back with no activation (the linear
bottleneck), and a shortcut joins blocks that keep the shape. Module names match torchvision's
(``features.N.conv...``, ``classifier``), so its state dicts load unchanged.
"""
from __future__ import annotations

from typing import Any, Callable

from ..._tensor import Tensor
from ... import nn
from ...nn import functional as F
from ._utils import Conv2dNormActivation, _make_divisible
from ._weights import MobileNet_V2_Weights, _load_weights, _resolve_weights

__all__ = ["MobileNetV2", "InvertedResidual", "mobilenet_v2"]

# One row per stage (Table 2 of the paper): expansion t, output channels c, blocks n, first stride s.
INVERTED_RESIDUAL_SETTING: list[list[int]] = [
    [1, 16, 1, 1],
    [6, 24, 2, 2],
    [6, 32, 3, 2],
    [6, 64, 4, 2],
    [6, 96, 3, 1],
    [6, 160, 3, 2],
    [6, 320, 1, 1],
]


class InvertedResidual(nn.Module):
    """Expand (1x1, ReLU6), depthwise 3x3 (ReLU6), project (1x1, no activation); plus the input
    when the block keeps the shape (stride 1, ``inp == oup``).

    Shape:
        input (N, inp, H, W) -> output (N, oup, H / stride, W / stride).
    """

    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: float,
                 norm_layer: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"InvertedResidual: stride should be 1 or 2 instead of {stride}")
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        self.stride = stride
        hidden_dim = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(Conv2dNormActivation(inp, hidden_dim, kernel_size=1, norm_layer=norm_layer,
                                               activation_layer=nn.ReLU6))
        layers += [
            Conv2dNormActivation(hidden_dim, hidden_dim, stride=stride, groups=hidden_dim, norm_layer=norm_layer,
                                 activation_layer=nn.ReLU6),
            nn.Conv2d(hidden_dim, oup, 1, 1, 0, bias=False),
            norm_layer(oup),
        ]
        self.conv = nn.Sequential(*layers)
        self.out_channels = oup

    def forward(self, x: Tensor) -> Tensor:
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2(nn.Module):
    """MobileNetV2.

    Args:
        num_classes: size of the output.
        width_mult: scales every layer's channels (rounded to multiples of ``round_nearest``).
        inverted_residual_setting: the stages as [t, c, n, s] rows (the paper's by default).
        round_nearest: channel counts are rounded to multiples of this.
        block: the block class (``InvertedResidual`` by default).
        norm_layer: the normalisation layer (``nn.BatchNorm2d`` by default).
        dropout: drop probability before the classifier.
    Shape:
        input (N, 3, H, W) -> output (N, num_classes).
    """

    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0,
                 inverted_residual_setting: list[list[int]] | None = None, round_nearest: int = 8,
                 block: Callable[..., nn.Module] | None = None,
                 norm_layer: Callable[..., nn.Module] | None = None, dropout: float = 0.2) -> None:
        super().__init__()
        if block is None:
            block = InvertedResidual
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        if inverted_residual_setting is None:
            inverted_residual_setting = INVERTED_RESIDUAL_SETTING
        if not inverted_residual_setting or any(len(row) != 4 for row in inverted_residual_setting):
            raise ValueError("inverted_residual_setting should be non-empty and a list of 4-element lists, "
                             f"got {inverted_residual_setting}")
        input_channel = _make_divisible(32 * width_mult, round_nearest)
        self.last_channel = _make_divisible(1280 * max(1.0, width_mult), round_nearest)
        features: list[nn.Module] = [Conv2dNormActivation(3, input_channel, stride=2, norm_layer=norm_layer,
                                                          activation_layer=nn.ReLU6)]  # (N, 32, H / 2, W / 2)
        for t, c, n, s in inverted_residual_setting:
            output_channel = _make_divisible(c * width_mult, round_nearest)
            for i in range(n):
                features.append(block(input_channel, output_channel, s if i == 0 else 1, expand_ratio=t,
                                      norm_layer=norm_layer))
                input_channel = output_channel
        # (N, 320, H / 32, W / 32) with the default setting
        features.append(Conv2dNormActivation(input_channel, self.last_channel, kernel_size=1,
                                             norm_layer=norm_layer, activation_layer=nn.ReLU6))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), nn.Linear(self.last_channel, num_classes))

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)                         # (N, 1280, H / 32, W / 32)
        x = F.adaptive_avg_pool2d(x, (1, 1))         # (N, 1280, 1, 1)
        x = x.flatten(1)                             # (N, 1280)
        return self.classifier(x)                    # (N, num_classes)


def mobilenet_v2(*, weights: MobileNet_V2_Weights | str | None = None, progress: bool = True,
                 **kwargs: Any) -> MobileNetV2:
    """MobileNetV2; ``kwargs`` go to ``MobileNetV2`` (num_classes, width_mult, dropout, ...).
    ``weights``: a member of ``MobileNet_V2_Weights`` (or its name) loads that checkpoint,
    showing a progress bar if ``progress``."""
    weights = _resolve_weights("mobilenet_v2", weights, kwargs)
    return _load_weights(MobileNetV2(**kwargs), weights, progress)
