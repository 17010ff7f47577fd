"""ResNet (He et al., 2016, "Deep residual learning for image recognition").

Two forms share the residual blocks:
- ``ResNet``: the ImageNet form (ResNet-18/34/50/101/152, plus ResNeXt and wide ResNet), with
  torchvision's module names and parameter shapes, so torchvision state dicts load unchanged.
  Bottleneck blocks stride in their 3x3 convolution (the "ResNet v1.5" variant torchvision uses).
- ``CifarResNet``: the paper's CIFAR-10 networks for 32x32 inputs (section 4.2): a 3x3 stem,
  three stages of n basic blocks with 16, 32 and 64 channels, depth 6n + 2 (ResNet-8/20/32/44/56/
  110). Shortcuts that change shape use option A by default (the paper's choice for CIFAR:
  subsample and pad the new channels with zeros, no parameters); option B uses a 1x1 convolution
  and batch normalisation instead.
"""
from __future__ import annotations

from typing import Any, Callable

from ..._tensor import Tensor
from ... import nn
from ...nn import functional as F
from ._utils import _check_weights
from ._weights import ResNet18_Weights, ResNet34_Weights, ResNet50_Weights, _load_weights, _resolve_weights

__all__ = [
    "ResNet", "BasicBlock", "Bottleneck", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
    "resnext50_32x4d", "resnext101_32x8d", "wide_resnet50_2", "wide_resnet101_2",
    "CifarResNet", "cifar_resnet", "resnet8", "resnet20", "resnet32", "resnet44", "resnet56", "resnet110",
]


def conv3x3(in_planes: int, out_planes: int, stride: int = 1, groups: int = 1, dilation: int = 1) -> nn.Conv2d:
    """3x3 convolution that keeps the size at stride 1 (no bias: a norm layer follows)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation, groups=groups,
                     bias=False, dilation=dilation)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution (no bias: a norm layer follows)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions and a shortcut: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)),
    where the shortcut is ``downsample`` (when the shape changes) or the identity."""

    expansion: int = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 groups: int = 1, base_width: int = 64, dilation: int = 1,
                 norm_layer: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock only supports groups=1 and base_width=64")
        if dilation > 1:
            raise NotImplementedError("Dilation > 1 not supported in BasicBlock")
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))     # (N, planes, H / stride, W / stride)
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (strided, grouped), 1x1 expand to ``planes * 4`` channels, plus a shortcut."""

    expansion: int = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 groups: int = 1, base_width: int = 64, dilation: int = 1,
                 norm_layer: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.conv2 = conv3x3(width, width, stride, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))     # (N, width, H, W)
        out = self.relu(self.bn2(self.conv2(out)))   # (N, width, H / stride, W / stride)
        out = self.bn3(self.conv3(out))              # (N, planes * 4, H / stride, W / stride)
        return self.relu(out + identity)


def _init_weights(model: nn.Module, zero_init_residual: bool) -> None:
    """He-normal (fan_out) convolutions, unit-scale zero-shift norm layers; with
    ``zero_init_residual`` each block's last norm layer starts at zero, so every block starts
    as the identity (Goyal et al., 2017)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)
    if zero_init_residual:
        for m in model.modules():
            if isinstance(m, Bottleneck) and m.bn3.weight is not None:
                nn.init.constant_(m.bn3.weight, 0)
            elif isinstance(m, BasicBlock) and m.bn2.weight is not None:
                nn.init.constant_(m.bn2.weight, 0)


class ResNet(nn.Module):
    """The ImageNet ResNet: 7x7 stride-2 stem and 3x3 max pool, four stages (64, 128, 256, 512
    planes; the last three halve the size), global average pool, linear classifier.

    Args:
        block: ``BasicBlock`` or ``Bottleneck``.
        layers: the number of blocks in each of the four stages.
        num_classes: size of the output.
        zero_init_residual: start each block's last norm layer's weight at zero.
        groups, width_per_group: grouped 3x3 convolutions of Bottleneck blocks (ResNeXt, wide ResNet).
        replace_stride_with_dilation: three flags, for stages 2-4: dilate instead of striding.
        norm_layer: the normalisation layer (``nn.BatchNorm2d`` when None).
    Shape:
        input (N, 3, H, W) -> output (N, num_classes).
    """

    def __init__(self, block: type[BasicBlock] | type[Bottleneck], layers: list[int], num_classes: int = 1000,
                 zero_init_residual: bool = False, groups: int = 1, width_per_group: int = 64,
                 replace_stride_with_dilation: list[bool] | None = None,
                 norm_layer: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        self._norm_layer = norm_layer
        self.inplanes = 64
        self.dilation = 1
        if replace_stride_with_dilation is None:
            replace_stride_with_dilation = [False, False, False]
        if len(replace_stride_with_dilation) != 3:
            raise ValueError("replace_stride_with_dilation should be None or a 3-element tuple, "
                             f"got {replace_stride_with_dilation}")
        self.groups = groups
        self.base_width = width_per_group
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = norm_layer(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2, dilate=replace_stride_with_dilation[0])
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2, dilate=replace_stride_with_dilation[1])
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2, dilate=replace_stride_with_dilation[2])
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        _init_weights(self, zero_init_residual)

    def _make_layer(self, block: type[BasicBlock] | type[Bottleneck], planes: int, blocks: int, stride: int = 1,
                    dilate: bool = False) -> nn.Sequential:
        norm_layer = self._norm_layer
        downsample = None
        previous_dilation = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       norm_layer(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width,
                        previous_dilation, norm_layer)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes, groups=self.groups, base_width=self.base_width,
                                dilation=self.dilation, norm_layer=norm_layer))
        return nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(self.bn1(self.conv1(x)))       # (N, 64, H / 2, W / 2)
        x = self.maxpool(x)                          # (N, 64, H / 4, W / 4)
        x = self.layer1(x)                           # (N, 64 * e, H / 4, W / 4), e = block.expansion
        x = self.layer2(x)                           # (N, 128 * e, H / 8, W / 8)
        x = self.layer3(x)                           # (N, 256 * e, H / 16, W / 16)
        x = self.layer4(x)                           # (N, 512 * e, H / 32, W / 32)
        x = self.avgpool(x)                          # (N, 512 * e, 1, 1)
        x = x.flatten(1)                             # (N, 512 * e)
        return self.fc(x)                            # (N, num_classes)


def _resnet(arch: str, block: type[BasicBlock] | type[Bottleneck], layers: list[int], weights: Any,
            kwargs: dict, progress: bool = True) -> ResNet:
    weights = _resolve_weights(arch, weights, kwargs)
    return _load_weights(ResNet(block, layers, **kwargs), weights, progress)


# Each factory: ``kwargs`` go to ``ResNet`` (num_classes, zero_init_residual, ...). ``weights``: a member
# of the factory's ``*_Weights`` enum (or its name) loads that checkpoint, showing a progress bar
# if ``progress``; factories without published weights take only None.

def resnet18(*, weights: ResNet18_Weights | str | None = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNet-18: BasicBlocks, [2, 2, 2, 2]."""
    return _resnet("resnet18", BasicBlock, [2, 2, 2, 2], weights, kwargs, progress)


def resnet34(*, weights: ResNet34_Weights | str | None = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNet-34: BasicBlocks, [3, 4, 6, 3]."""
    return _resnet("resnet34", BasicBlock, [3, 4, 6, 3], weights, kwargs, progress)


def resnet50(*, weights: ResNet50_Weights | str | None = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNet-50: Bottlenecks, [3, 4, 6, 3]."""
    return _resnet("resnet50", Bottleneck, [3, 4, 6, 3], weights, kwargs, progress)


def resnet101(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNet-101: Bottlenecks, [3, 4, 23, 3]."""
    return _resnet("resnet101", Bottleneck, [3, 4, 23, 3], weights, kwargs)


def resnet152(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNet-152: Bottlenecks, [3, 8, 36, 3]."""
    return _resnet("resnet152", Bottleneck, [3, 8, 36, 3], weights, kwargs)


def resnext50_32x4d(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNeXt-50 (Xie et al., 2017): ResNet-50 with 32 groups of width 4 in each 3x3 convolution."""
    return _resnet("resnext50_32x4d", Bottleneck, [3, 4, 6, 3], weights, {"groups": 32, "width_per_group": 4,
                                                                          **kwargs})


def resnext101_32x8d(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNeXt-101 with 32 groups of width 8 in each 3x3 convolution."""
    return _resnet("resnext101_32x8d", Bottleneck, [3, 4, 23, 3], weights, {"groups": 32, "width_per_group": 8,
                                                                            **kwargs})


def wide_resnet50_2(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """Wide ResNet-50-2 (Zagoruyko & Komodakis, 2016): bottlenecks twice as wide as ResNet-50's."""
    return _resnet("wide_resnet50_2", Bottleneck, [3, 4, 6, 3], weights, {"width_per_group": 128, **kwargs})


def wide_resnet101_2(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """Wide ResNet-101-2: bottlenecks twice as wide as ResNet-101's."""
    return _resnet("wide_resnet101_2", Bottleneck, [3, 4, 23, 3], weights, {"width_per_group": 128, **kwargs})


class ZeroPadShortcut(nn.Module):
    """The parameter-free shortcut of option A: keep every ``stride``-th pixel and append
    zero channels up to ``planes``.

    Shape:
        input (N, C, H, W) -> output (N, planes, ceil(H / stride), ceil(W / stride)).
    """

    def __init__(self, planes: int, stride: int) -> None:
        super().__init__()
        self.planes = planes
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        x = x[:, :, ::self.stride, ::self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.planes - x.shape[1]))

    def extra_repr(self) -> str:
        return f"planes={self.planes}, stride={self.stride}"


class CifarResNet(nn.Module):
    """The CIFAR-10 ResNet of He et al. (section 4.2) for 32x32 inputs.

    Args:
        depth: 6n + 2 layers with weights (n basic blocks per stage): 8, 20, 32, 44, 56, 110, ...
        num_classes: size of the output.
        shortcut: ``"A"`` (zero-padding identity, no parameters; the paper's CIFAR choice) or
            ``"B"`` (1x1 convolution and batch normalisation) where the shape changes.
        zero_init_residual: start each block's last norm layer's weight at zero.
    Shape:
        input (N, 3, H, W) -> output (N, num_classes).
    """

    def __init__(self, depth: int, num_classes: int = 10, shortcut: str = "A",
                 zero_init_residual: bool = False) -> None:
        super().__init__()
        if depth < 8 or (depth - 2) % 6:
            raise ValueError(f"CifarResNet: depth must be 6n + 2 with n >= 1 (8, 20, 32, 44, 56, 110, ...), "
                             f"got {depth}")
        if shortcut not in ("A", "B"):
            raise ValueError(f"CifarResNet: shortcut must be 'A' (zero padding) or 'B' (projection), "
                             f"got {shortcut!r}")
        n = (depth - 2) // 6
        self.shortcut = shortcut
        self.inplanes = 16
        self.conv1 = conv3x3(3, 16)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_layer(16, n, stride=1)
        self.layer2 = self._make_layer(32, n, stride=2)
        self.layer3 = self._make_layer(64, n, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(64, num_classes)
        _init_weights(self, zero_init_residual)

    def _make_layer(self, planes: int, blocks: int, stride: int) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes:
            if self.shortcut == "A":
                downsample = ZeroPadShortcut(planes, stride)
            else:
                downsample = nn.Sequential(conv1x1(self.inplanes, planes, stride), nn.BatchNorm2d(planes))
        layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        layers += [BasicBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(self.bn1(self.conv1(x)))       # (N, 16, 32, 32)
        x = self.layer1(x)                           # (N, 16, 32, 32)
        x = self.layer2(x)                           # (N, 32, 16, 16)
        x = self.layer3(x)                           # (N, 64, 8, 8)
        x = self.avgpool(x)                          # (N, 64, 1, 1)
        x = x.flatten(1)                             # (N, 64)
        return self.fc(x)                            # (N, num_classes)


def cifar_resnet(depth: int, *, weights: Any = None, progress: bool = True, **kwargs: Any) -> CifarResNet:
    """The CIFAR ResNet of the given depth (6n + 2); ``kwargs`` go to ``CifarResNet``
    (num_classes, shortcut, zero_init_residual); ``weights`` must be None."""
    _check_weights(f"resnet{depth}", weights, kwargs)
    return CifarResNet(depth, **kwargs)


def resnet8(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> CifarResNet:
    """CIFAR ResNet-8 (one block per stage): a small network for quick runs and benchmarks."""
    return cifar_resnet(8, weights=weights, **kwargs)


def resnet20(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> CifarResNet:
    """CIFAR ResNet-20 (three blocks per stage)."""
    return cifar_resnet(20, weights=weights, **kwargs)


def resnet32(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> CifarResNet:
    """CIFAR ResNet-32 (five blocks per stage)."""
    return cifar_resnet(32, weights=weights, **kwargs)


def resnet44(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> CifarResNet:
    """CIFAR ResNet-44 (seven blocks per stage)."""
    return cifar_resnet(44, weights=weights, **kwargs)


def resnet56(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> CifarResNet:
    """CIFAR ResNet-56 (nine blocks per stage)."""
    return cifar_resnet(56, weights=weights, **kwargs)


def resnet110(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> CifarResNet:
    """CIFAR ResNet-110 (eighteen blocks per stage)."""
    return cifar_resnet(110, weights=weights, **kwargs)
