"""AlexNet (Krizhevsky et al., 2012) in torchvision's single-tower form ("One weird trick",
Krizhevsky 2014): 64/192/384/256/256 filters, no local response normalisation, and an adaptive
average pool to 6x6 so that inputs of 63x63 and up work. State dicts match torchvision's.
"""
from __future__ import annotations

from typing import Any

from ..._tensor import Tensor
from ... import nn
from ._weights import AlexNet_Weights, _load_weights, _resolve_weights

__all__ = ["AlexNet", "alexnet"]


class AlexNet(nn.Module):
    """AlexNet.

    Args:
        num_classes: size of the output.
        dropout: drop probability of the two dropout layers of the classifier.
    Shape:
        input (N, 3, H, W) with H, W >= 63 -> output (N, num_classes).
    """

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),     # (N, 64, 55, 55) for 224x224
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),                     # (N, 64, 27, 27)
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),                     # (N, 192, 13, 13)
            nn.Conv2d(192, 384, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),                     # (N, 256, 6, 6)
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)
        x = self.avgpool(x)                          # (N, 256, 6, 6)
        x = x.flatten(1)                             # (N, 9216)
        return self.classifier(x)                    # (N, num_classes)


def alexnet(*, weights: AlexNet_Weights | str | None = None, progress: bool = True, **kwargs: Any) -> AlexNet:
    """AlexNet; ``kwargs`` go to ``AlexNet`` (``num_classes``, ``dropout``). ``weights``: a member of
    ``AlexNet_Weights`` (or its name) loads that checkpoint, showing a progress bar if ``progress``."""
    weights = _resolve_weights("alexnet", weights, kwargs)
    return _load_weights(AlexNet(**kwargs), weights, progress)
