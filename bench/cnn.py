"""CNN training and inference, ember vs PyTorch eager.

    python bench/cnn.py

- LeNet-5 training: 1x28x28 input, batch 128, Adam.
- ResNet-8 training (CIFAR form: 3 stages of one basic block, 16/32/64 channels):
  3x32x32 input, batch 64, SGD with momentum; also with the model and its input in
  ``channels_last`` memory format on both sides (NHWC convolutions and batch norm).
- LeNet-5 inference, batch 1000.

The models are written once below against the shared API and built with either
library, starting from the same weights.
"""
from __future__ import annotations

import importlib
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]

from common import classifier_step, compare, inference, print_header  # noqa: E402


def lenet(nn):
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),     # (N, 6, 14, 14)
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),               # (N, 16, 5, 5)
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def resnet8(nn):
    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.shortcut = nn.Sequential()
            if stride != 1 or cin != cout:
                self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            out = self.bn1(self.conv1(x)).relu()
            out = self.bn2(self.conv2(out))
            return (out + self.shortcut(x)).relu()

    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),  # (N, 16, 32, 32)
        Block(16, 16, 1), Block(16, 32, 2), Block(32, 64, 2),                       # (N, 64, 8, 8)
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


def _setup(lib_name: str, build, input_shape, batch: int, device: str = "cpu"):
    lib = importlib.import_module(lib_name)
    model = build(lib.nn)
    rng = np.random.default_rng(0)
    with lib.no_grad():
        for p in model.parameters():
            fan_in = int(np.prod(p.shape[1:])) if p.dim() > 1 else p.shape[0]
            p.copy_(lib.tensor(rng.uniform(-1, 1, tuple(p.shape)).astype(np.float32) / np.sqrt(fan_in)))
    x = lib.tensor(rng.standard_normal((batch,) + input_shape).astype(np.float32), device=device)
    y = lib.tensor(rng.integers(0, 10, batch), device=device)
    return lib, model.to(device), x, y


def lenet_train(lib_name: str, device: str = "cpu", compiled: bool = False):
    lib, model, x, y = _setup(lib_name, lenet, (1, 28, 28), 128, device)
    return classifier_step(lib, model, x, y, lib.optim.Adam(model.parameters(), lr=1e-3), compiled)


def resnet_train(lib_name: str, device: str = "cpu", compiled: bool = False, channels_last: bool = False):
    lib, model, x, y = _setup(lib_name, resnet8, (3, 32, 32), 64, device)
    if channels_last:
        model.to(memory_format=lib.channels_last)
        x = x.contiguous(memory_format=lib.channels_last)
    return classifier_step(lib, model, x, y, lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4),
                           compiled)


def lenet_inference(lib_name: str, device: str = "cpu"):
    lib, model, x, _ = _setup(lib_name, lenet, (1, 28, 28), 1000, device)
    return inference(lib, model, x)


def main() -> None:
    print_header()
    compare("LeNet-5 train (batch 128, Adam)", "cnn", "lenet_train", 128, jax="lenet_train")
    compare("ResNet-8 train (batch 64, SGD)", "cnn", "resnet_train", 64, memory=True, jax="resnet_train")
    compare("ResNet-8 train, channels_last", "cnn", "resnet_train", 64, "cpu", False, True, memory=True)
    compare("LeNet-5 inference (batch 1000)", "cnn", "lenet_inference", 1000, jax="lenet_inference")
    compare("LeNet-5 train, ember.compile vs PyTorch eager", "cnn", "lenet_train", 128, "cpu", True)
    compare("ResNet-8 train, ember.compile vs PyTorch eager", "cnn", "resnet_train", 64, "cpu", True)


if __name__ == "__main__":
    main()
