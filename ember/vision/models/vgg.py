"""VGG (Simonyan & Zisserman, 2015, "Very deep convolutional networks for large-scale image
recognition"): stacks of 3x3 convolutions and 2x2 max pools, then three fully connected layers.
Configurations A, B, D, E of the paper are VGG-11, 13, 16, 19; the ``_bn`` variants add batch
normalisation after every convolution. State dicts match torchvision's.
"""
from __future__ import annotations

from typing import Any

from ..._tensor import Tensor
from ... import nn
from ._weights import VGG16_Weights, _load_weights, _resolve_weights

__all__ = ["VGG", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"]

# Output channels of each 3x3 convolution; "M" is a 2x2 max pool that halves the size.
cfgs: dict[str, list[int | str]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
          512, 512, 512, 512, "M"],
}


class VGG(nn.Module):
    """A VGG network around a given feature extractor (see ``make_layers``).

    Args:
        features: the convolutional part, ending with 512 channels.
        num_classes: size of the output.
        init_weights: He-normal (fan_out) convolutions, N(0, 0.01) linear layers, zero biases.
        dropout: drop probability of the classifier's two dropout layers.
    Shape:
        input (N, 3, H, W) with H, W >= 32 -> output (N, num_classes).
    """

    def __init__(self, features: nn.Module, num_classes: int = 1000, init_weights: bool = True,
                 dropout: float = 0.5) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096),
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )
        if init_weights:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                    if m.bias is not None:
                        nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0, 0.01)
                    nn.init.constant_(m.bias, 0)

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)                         # (N, 512, H / 32, W / 32)
        x = self.avgpool(x)                          # (N, 512, 7, 7)
        x = x.flatten(1)                             # (N, 25088)
        return self.classifier(x)                    # (N, num_classes)


def make_layers(cfg: list[int | str], batch_norm: bool = False) -> nn.Sequential:
    """The convolutional part of a VGG network from a list of channel counts and "M" pools."""
    layers: list[nn.Module] = []
    in_channels = 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        layers.append(nn.Conv2d(in_channels, v, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(v))
        layers.append(nn.ReLU(inplace=True))
        in_channels = v
    return nn.Sequential(*layers)


def _vgg(arch: str, cfg: str, batch_norm: bool, weights: Any, kwargs: dict, progress: bool = True) -> VGG:
    weights = _resolve_weights(arch, weights, kwargs)
    if weights is not None:
        kwargs["init_weights"] = False  # the checkpoint overwrites every parameter
    return _load_weights(VGG(make_layers(cfgs[cfg], batch_norm=batch_norm), **kwargs), weights, progress)


# Each factory: ``kwargs`` go to ``VGG`` (num_classes, init_weights, dropout). ``weights``: a member of
# ``VGG16_Weights`` (or its name) for vgg16 loads that checkpoint, showing a progress bar if
# ``progress``; the other factories have no published weights and take only None.

def vgg11(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-11 (configuration A)."""
    return _vgg("vgg11", "A", False, weights, kwargs)


def vgg11_bn(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-11 (configuration A) with batch normalisation."""
    return _vgg("vgg11_bn", "A", True, weights, kwargs)


def vgg13(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-13 (configuration B)."""
    return _vgg("vgg13", "B", False, weights, kwargs)


def vgg13_bn(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-13 (configuration B) with batch normalisation."""
    return _vgg("vgg13_bn", "B", True, weights, kwargs)


def vgg16(*, weights: VGG16_Weights | str | None = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-16 (configuration D)."""
    return _vgg("vgg16", "D", False, weights, kwargs, progress)


def vgg16_bn(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-16 (configuration D) with batch normalisation."""
    return _vgg("vgg16_bn", "D", True, weights, kwargs)


def vgg19(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-19 (configuration E)."""
    return _vgg("vgg19", "E", False, weights, kwargs)


def vgg19_bn(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-19 (configuration E) with batch normalisation."""
    return _vgg("vgg19_bn", "E", True, weights, kwargs)
