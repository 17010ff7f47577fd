"""A small batch-norm CNN for 28x28 images (Fashion-MNIST, MNIST): two blocks of two 3x3
convolutions with batch norm and ReLU, each ending in 2x2 max pooling, then dropout and a
128-unit hidden layer. 0.22M parameters, most of them in the first linear layer.
"""
from __future__ import annotations

from typing import Any

from ..._tensor import Tensor
from ... import nn
from ._weights import SmallCNN_Weights, _load_weights, _resolve_weights

__all__ = ["SmallCNN", "small_cnn"]


def _block(cin: int, cout: int) -> nn.Sequential:
    # Biases off: the batch norm right after each convolution subtracts them away.
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                         nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                         nn.MaxPool2d(2))


class SmallCNN(nn.Module):
    """Two conv blocks (16 and 32 channels) and a two-layer classifier.

    Args:
        num_classes: size of the output.
        in_channels: 1 for grey images, 3 for colour ones.
        dropout: the dropout probability before each linear layer.
    Shape:
        input (N, in_channels, 28, 28) -> output (N, num_classes).
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, dropout: float = 0.3) -> None:
        super().__init__()
        self.features = nn.Sequential(_block(in_channels, 16), _block(16, 32))  # (N, 32, 7, 7)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(32 * 7 * 7, 128), nn.ReLU(),
                                        nn.Dropout(dropout), nn.Linear(128, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-2:] != (28, 28):
            raise ValueError(f"SmallCNN: expected 28x28 images (input of shape (N, C, 28, 28)), got input of "
                             f"shape {tuple(x.shape)}; resize them first (transforms.Resize(28))")
        return self.classifier(self.features(x))


def small_cnn(*, weights: SmallCNN_Weights | str | None = None, progress: bool = True, **kwargs: Any) -> SmallCNN:
    """The small CNN; ``kwargs`` go to ``SmallCNN`` (``num_classes``, ``in_channels``, ``dropout``).
    ``weights="FASHION_MNIST"`` (``SmallCNN_Weights.FASHION_MNIST``, the ``DEFAULT``) loads the
    weights ember trained on Fashion-MNIST, shipped with ember (preprocess with
    ``SmallCNN_Weights.FASHION_MNIST.transforms()``)."""
    weights = _resolve_weights("small_cnn", weights, kwargs)
    return _load_weights(SmallCNN(**kwargs), weights, progress)
