"""LeNet-5 (LeCun et al., 1998, "Gradient-based learning applied to document recognition").

The form most courses teach: ReLU activations and 2x2 max pooling in place of the paper's
scaled tanh and trainable average subsampling, full connections between the two conv layers
(the paper wires C3 to subsets of S2's maps) and a plain linear output layer in place of the
RBF units. The layer sizes are the paper's: 6 and 16 feature maps of 5x5 kernels, then 120,
84 and ``num_classes`` units.
"""
from __future__ import annotations

from typing import Any

from ..._tensor import Tensor
from ... import nn
from ...nn import functional as F
from ._weights import LeNet5_Weights, _load_weights, _resolve_weights

__all__ = ["LeNet5", "lenet5"]


class LeNet5(nn.Module):
    """LeNet-5 with ReLU and max pooling.

    Args:
        num_classes: size of the output.
        in_channels: 1 for grey images (MNIST), 3 for colour ones (CIFAR-10).
        input_size: 28 (MNIST; ``conv1`` pads by 2, so the feature maps have the sizes of the
            paper's) or 32 (the paper's input; no padding).
    Shape:
        input (N, in_channels, input_size, input_size) -> output (N, num_classes).
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, input_size: int = 28) -> None:
        super().__init__()
        if input_size not in (28, 32):
            raise ValueError(f"LeNet5: input_size must be 28 or 32, got {input_size}")
        self.conv1 = nn.Conv2d(in_channels, 6, kernel_size=5, padding=(32 - input_size) // 2)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)   # (N, 6, 14, 14)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)   # (N, 16, 5, 5)
        x = x.flatten(1)                             # (N, 400)
        x = F.relu(self.fc1(x))                      # (N, 120)
        x = F.relu(self.fc2(x))                      # (N, 84)
        return self.fc3(x)                           # (N, num_classes)


def lenet5(*, weights: LeNet5_Weights | str | None = None, progress: bool = True, **kwargs: Any) -> LeNet5:
    """LeNet-5; ``kwargs`` go to ``LeNet5`` (``num_classes``, ``in_channels``, ``input_size``).
    ``weights="MNIST"`` (``LeNet5_Weights.MNIST``, the ``DEFAULT``) loads the weights ember
    trained on MNIST, shipped with ember (98.3% on its test set; preprocess with
    ``LeNet5_Weights.MNIST.transforms()``)."""
    weights = _resolve_weights("lenet5", weights, kwargs)
    return _load_weights(LeNet5(**kwargs), weights, progress)
