"""EfficientNet-B0..B7 (Tan & Le, 2019, "EfficientNet: Rethinking model scaling for convolutional
neural networks").

B0 is a stack of MBConv blocks (MobileNetV2's inverted residuals with squeeze-and-excitation and
SiLU); B1..B7 scale its channels by ``width_mult`` and its blocks per stage by ``depth_mult``.
Residual branches use stochastic depth, with a drop probability growing linearly from 0 to
``stochastic_depth_prob`` over the blocks. Module names match torchvision's
(``features.S.B.block...``, ``classifier``), so its state dicts load unchanged.
"""
from __future__ import annotations

import math
from dataclasses import InitVar, dataclass
from functools import partial
from typing import Any, Callable

from ..._tensor import Tensor
from ... import nn
from ._utils import Conv2dNormActivation, SqueezeExcitation, StochasticDepth, _make_divisible
from ._weights import EfficientNet_B0_Weights, _load_weights, _resolve_weights

__all__ = ["EfficientNet", "MBConv", "MBConvConfig"] + [f"efficientnet_b{i}" for i in range(8)]


@dataclass
class MBConvConfig:
    """One stage of MBConv blocks (a row of Table 1 of the paper), with its channels scaled by
    ``width_mult`` (rounded to multiples of 8) and its number of blocks by ``depth_mult`` (rounded up)."""

    expand_ratio: float
    kernel: int
    stride: int
    input_channels: int
    out_channels: int
    num_layers: int
    width_mult: InitVar[float] = 1.0
    depth_mult: InitVar[float] = 1.0

    def __post_init__(self, width_mult: float, depth_mult: float) -> None:
        self.input_channels = self.adjust_channels(self.input_channels, width_mult)
        self.out_channels = self.adjust_channels(self.out_channels, width_mult)
        self.num_layers = int(math.ceil(self.num_layers * depth_mult))

    @staticmethod
    def adjust_channels(channels: float, width_mult: float, min_value: int | None = None) -> int:
        return _make_divisible(channels * width_mult, 8, min_value)


class MBConv(nn.Module):
    """Expand (1x1, SiLU; skipped when ``expand_ratio`` is 1), depthwise ``kernel`` x ``kernel``
    (SiLU), squeeze-and-excitation, project (1x1, no activation); plus the input, through
    stochastic depth, when the block keeps the shape.

    Shape:
        input (N, input_channels, H, W) -> output (N, out_channels, H / stride, W / stride).
    """

    def __init__(self, input_channels: int, out_channels: int, kernel: int, stride: int, expand_ratio: float,
                 stochastic_depth_prob: float, norm_layer: Callable[..., nn.Module]) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"MBConv: stride should be 1 or 2, got {stride}")
        self.use_res_connect = stride == 1 and input_channels == out_channels
        expanded_channels = MBConvConfig.adjust_channels(input_channels, expand_ratio)
        layers: list[nn.Module] = []
        if expanded_channels != input_channels:
            layers.append(Conv2dNormActivation(input_channels, expanded_channels, kernel_size=1,
                                               norm_layer=norm_layer, activation_layer=nn.SiLU))
        layers += [
            Conv2dNormActivation(expanded_channels, expanded_channels, kernel_size=kernel, stride=stride,
                                 groups=expanded_channels, norm_layer=norm_layer, activation_layer=nn.SiLU),
            SqueezeExcitation(expanded_channels, max(1, input_channels // 4),
                              activation=partial(nn.SiLU, inplace=True)),
            Conv2dNormActivation(expanded_channels, out_channels, kernel_size=1, norm_layer=norm_layer,
                                 activation_layer=None),
        ]
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = out_channels

    def forward(self, input: Tensor) -> Tensor:
        result = self.block(input)
        if self.use_res_connect:
            result = self.stochastic_depth(result) + input
        return result


class EfficientNet(nn.Module):
    """EfficientNet.

    Args:
        inverted_residual_setting: the stages, as ``MBConvConfig`` objects.
        dropout: drop probability before the classifier.
        stochastic_depth_prob: the drop probability of the last block's residual branch.
        num_classes: size of the output.
        norm_layer: the normalisation layer (``nn.BatchNorm2d`` when None).
        last_channel: channels of the final 1x1 convolution (4x the last stage's when None).
    Shape:
        input (N, 3, H, W) -> output (N, num_classes).
    """

    def __init__(self, inverted_residual_setting: list[MBConvConfig], dropout: float,
                 stochastic_depth_prob: float = 0.2, num_classes: int = 1000,
                 norm_layer: Callable[..., nn.Module] | None = None, last_channel: int | None = None) -> None:
        super().__init__()
        if not inverted_residual_setting:
            raise ValueError("The inverted_residual_setting should not be empty")
        if not all(isinstance(s, MBConvConfig) for s in inverted_residual_setting):
            raise TypeError("The inverted_residual_setting should be List[MBConvConfig]")
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d

        layers: list[nn.Module] = [Conv2dNormActivation(3, inverted_residual_setting[0].input_channels, kernel_size=3,
                                                        stride=2, norm_layer=norm_layer,
                                                        activation_layer=nn.SiLU)]  # (N, 32 w, H / 2, W / 2)
        total_blocks = sum(cnf.num_layers for cnf in inverted_residual_setting)
        block_id = 0
        for cnf in inverted_residual_setting:
            stage: list[nn.Module] = []
            for i in range(cnf.num_layers):
                # The stage's first block changes channels and strides; the others keep the shape.
                stage.append(MBConv(cnf.input_channels if i == 0 else cnf.out_channels, cnf.out_channels,
                                    cnf.kernel, cnf.stride if i == 0 else 1, cnf.expand_ratio,
                                    stochastic_depth_prob * block_id / total_blocks, norm_layer))
                block_id += 1
            layers.append(nn.Sequential(*stage))
        # (N, 320 w, H / 32, W / 32) with B0's stages, w = width_mult
        lastconv_input_channels = inverted_residual_setting[-1].out_channels
        lastconv_output_channels = last_channel if last_channel is not None else 4 * lastconv_input_channels
        layers.append(Conv2dNormActivation(lastconv_input_channels, lastconv_output_channels, kernel_size=1,
                                           norm_layer=norm_layer, activation_layer=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True),
                                        nn.Linear(lastconv_output_channels, num_classes))

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                init_range = 1.0 / math.sqrt(m.out_features)
                nn.init.uniform_(m.weight, -init_range, init_range)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)                         # (N, 1280 w, H / 32, W / 32)
        x = self.avgpool(x)                          # (N, 1280 w, 1, 1)
        x = x.flatten(1)                             # (N, 1280 w)
        return self.classifier(x)                    # (N, num_classes)


def _b0_stages(width_mult: float, depth_mult: float) -> list[MBConvConfig]:
    """EfficientNet-B0's stages (expand ratio, kernel, stride, in, out, blocks), scaled."""
    stage = partial(MBConvConfig, width_mult=width_mult, depth_mult=depth_mult)
    return [
        stage(1, 3, 1, 32, 16, 1),
        stage(6, 3, 2, 16, 24, 2),
        stage(6, 5, 2, 24, 40, 2),
        stage(6, 3, 2, 40, 80, 3),
        stage(6, 5, 1, 80, 112, 3),
        stage(6, 5, 2, 112, 192, 4),
        stage(6, 3, 1, 192, 320, 1),
    ]


# (width_mult, depth_mult, dropout) of each variant, as the paper's compound scaling gives them.
_SCALING = {0: (1.0, 1.0, 0.2), 1: (1.0, 1.1, 0.2), 2: (1.1, 1.2, 0.3), 3: (1.2, 1.4, 0.3),
            4: (1.4, 1.8, 0.4), 5: (1.6, 2.2, 0.4), 6: (1.8, 2.6, 0.5), 7: (2.0, 3.1, 0.5)}


def _efficientnet(variant: int, weights: Any, kwargs: dict, progress: bool = True) -> EfficientNet:
    weights = _resolve_weights(f"efficientnet_b{variant}", weights, kwargs)
    width_mult, depth_mult, dropout = _SCALING[variant]
    if variant >= 5:
        # B5..B7's batch norm keeps the reference implementation's (TensorFlow's) settings.
        kwargs.setdefault("norm_layer", partial(nn.BatchNorm2d, eps=0.001, momentum=0.01))
    model = EfficientNet(_b0_stages(width_mult, depth_mult), kwargs.pop("dropout", dropout), **kwargs)
    return _load_weights(model, weights, progress)


# Each factory: ``kwargs`` go to ``EfficientNet`` (num_classes, dropout, stochastic_depth_prob,
# norm_layer). ``weights``: a member of ``EfficientNet_B0_Weights`` (or its name) for B0 loads that
# checkpoint, showing a progress bar if ``progress``; B1..B7 have no weights here and take only None.

def efficientnet_b0(*, weights: EfficientNet_B0_Weights | str | None = None, progress: bool = True,
                    **kwargs: Any) -> EfficientNet:
    """EfficientNet-B0 (224x224 in the paper)."""
    return _efficientnet(0, weights, kwargs, progress)


def efficientnet_b1(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> EfficientNet:
    """EfficientNet-B1: depth x1.1 (240x240 in the paper)."""
    return _efficientnet(1, weights, kwargs)


def efficientnet_b2(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> EfficientNet:
    """EfficientNet-B2: width x1.1, depth x1.2 (260x260 in the paper)."""
    return _efficientnet(2, weights, kwargs)


def efficientnet_b3(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> EfficientNet:
    """EfficientNet-B3: width x1.2, depth x1.4 (300x300 in the paper)."""
    return _efficientnet(3, weights, kwargs)


def efficientnet_b4(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> EfficientNet:
    """EfficientNet-B4: width x1.4, depth x1.8 (380x380 in the paper)."""
    return _efficientnet(4, weights, kwargs)


def efficientnet_b5(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> EfficientNet:
    """EfficientNet-B5: width x1.6, depth x2.2 (456x456 in the paper)."""
    return _efficientnet(5, weights, kwargs)


def efficientnet_b6(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> EfficientNet:
    """EfficientNet-B6: width x1.8, depth x2.6 (528x528 in the paper)."""
    return _efficientnet(6, weights, kwargs)


def efficientnet_b7(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> EfficientNet:
    """EfficientNet-B7: width x2.0, depth x3.1 (600x600 in the paper)."""
    return _efficientnet(7, weights, kwargs)
