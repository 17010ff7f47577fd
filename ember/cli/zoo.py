"""The names the ``ember`` command knows: models (factories with their input shapes) and data sets.

A model entry builds a network for a given number of classes and input shape (C, H, W) and
says which input shapes it accepts; a data set entry loads the train or test split as
(C, H, W) float tensors with integer labels. ``adapt`` bridges the two, so any model trains
on any data set (grey images repeated over 3 channels, small images scaled up).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import ember
from .._optional import require
from ember import nn
from ember.nn import functional as F
from ember.utils.data import Dataset, TensorDataset, random_split

Shape = tuple[int, int, int]


@dataclass(frozen=True)
class ModelSpec:
    """A zoo model.

    Attributes:
        build: ``build(num_classes, input_size)`` -> the model, for inputs (N, *input_size).
        input_size: the (C, H, W) it is usually trained on; ``ember summary``'s default.
        channels: the channel count it requires, or None when it takes any.
        sizes: the image sides it accepts exactly, or None for any side >= ``min_side``.
        min_side: the smallest image side its downsampling leaves a valid feature map for.
        description: one line for ``--help``.
    """

    build: Callable[[int, Shape], nn.Module]
    input_size: Shape
    channels: int | None
    sizes: tuple[int, ...] | None
    min_side: int
    description: str

    def accepted_size(self, size: Shape) -> Shape:
        """The input shape this model takes for images of shape ``size``: the channels it
        needs and the nearest side it accepts (never smaller than ``size`` when possible)."""
        channels = self.channels or size[0]
        side = max(size[1], size[2])
        if self.sizes is not None:
            side = min((s for s in self.sizes if s >= side), default=max(self.sizes))
        else:
            side = max(side, self.min_side)
        return (channels, side, side)


def _vision(name: str) -> Callable[[int, Shape], nn.Module]:
    def build(num_classes: int, input_size: Shape) -> nn.Module:
        from ember.vision import models
        return getattr(models, name)(num_classes=num_classes)
    return build


def _lenet5(num_classes: int, input_size: Shape) -> nn.Module:
    from ember.vision import models
    return models.lenet5(num_classes=num_classes, in_channels=input_size[0], input_size=input_size[1])


def _mlp(num_classes: int, input_size: Shape) -> nn.Module:
    c, h, w = input_size
    return nn.Sequential(nn.Flatten(), nn.Linear(c * h * w, 256), nn.ReLU(),
                         nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, num_classes))


MODELS: dict[str, ModelSpec] = {
    "lenet5": ModelSpec(_lenet5, (1, 28, 28), None, (28, 32), 28, "LeNet-5 (28x28 or 32x32, any channels)"),
    "mlp": ModelSpec(_mlp, (1, 28, 28), None, None, 1, "two hidden layers of 256 and 128 ReLU units"),
    "resnet18": ModelSpec(_vision("resnet18"), (3, 224, 224), 3, None, 32, "ResNet-18 (ImageNet layout)"),
    "resnet34": ModelSpec(_vision("resnet34"), (3, 224, 224), 3, None, 32, "ResNet-34 (ImageNet layout)"),
    "resnet50": ModelSpec(_vision("resnet50"), (3, 224, 224), 3, None, 32, "ResNet-50 (ImageNet layout)"),
    "resnet20": ModelSpec(_vision("resnet20"), (3, 32, 32), 3, None, 8, "CIFAR ResNet-20"),
    "resnet32": ModelSpec(_vision("resnet32"), (3, 32, 32), 3, None, 8, "CIFAR ResNet-32"),
    "resnet56": ModelSpec(_vision("resnet56"), (3, 32, 32), 3, None, 8, "CIFAR ResNet-56"),
    "vgg11": ModelSpec(_vision("vgg11"), (3, 224, 224), 3, None, 32, "VGG-11"),
    "vgg16": ModelSpec(_vision("vgg16"), (3, 224, 224), 3, None, 32, "VGG-16"),
    "mobilenet_v2": ModelSpec(_vision("mobilenet_v2"), (3, 224, 224), 3, None, 32, "MobileNetV2"),
    "efficientnet_b0": ModelSpec(_vision("efficientnet_b0"), (3, 224, 224), 3, None, 32, "EfficientNet-B0"),
    "alexnet": ModelSpec(_vision("alexnet"), (3, 224, 224), 3, None, 63, "AlexNet"),
}


@dataclass(frozen=True)
class DatasetSpec:
    """A zoo data set: ``load(data_dir, train)`` gives the split; images are ``image_size``."""

    load: Callable[[str, bool], Dataset]
    image_size: Shape
    num_classes: int
    description: str


def _normalized(mean: tuple[float, ...], std: tuple[float, ...]):
    from ember.vision import transforms
    return transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean, std)])


def _mnist_like(cls_name: str, folder: str, mean: float, std: float) -> Callable[[str, bool], Dataset]:
    def load(data_dir: str, train: bool) -> Dataset:
        from ember.vision import datasets
        return getattr(datasets, cls_name)(data_dir, train=train, download=True,
                                           transform=_normalized((mean,), (std,)))
    return load


def _cifar10(data_dir: str, train: bool) -> Dataset:
    from ember.vision import datasets
    return datasets.CIFAR10(data_dir, train=train, download=True,
                            transform=_normalized((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)))


def _fake(data_dir: str, train: bool) -> Dataset:
    from ember.vision import datasets
    # Disjoint seeds for the two splits, so the test images are not the training ones.
    return datasets.FakeData(size=512 if train else 128, image_size=(1, 28, 28), num_classes=10,
                             transform=_normalized((0.5,), (0.5,)), random_offset=0 if train else 10 ** 6)


def _digits(data_dir: str, train: bool) -> Dataset:
    digits = require("sklearn.datasets", "The digits data set").load_digits()
    images = ember.tensor(digits.images / 16.0, dtype=ember.float32).unsqueeze(1)   # (1797, 1, 8, 8)
    labels = ember.tensor(digits.target, dtype=ember.int64)
    # A fixed 80/20 split, the same for training and evaluation whatever the --seed.
    train_set, test_set = random_split(TensorDataset(images, labels), [0.8, 0.2],
                                       generator=ember.Generator().manual_seed(0))
    return train_set if train else test_set


DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(_mnist_like("MNIST", "MNIST", 0.1307, 0.3081), (1, 28, 28), 10,
                         "handwritten digits, 60,000 + 10,000 28x28 grey images"),
    "fashion-mnist": DatasetSpec(_mnist_like("FashionMNIST", "FashionMNIST", 0.2860, 0.3530), (1, 28, 28), 10,
                                 "Zalando clothing, 60,000 + 10,000 28x28 grey images"),
    "cifar10": DatasetSpec(_cifar10, (3, 32, 32), 10, "50,000 + 10,000 32x32 colour images, 10 classes"),
    "digits": DatasetSpec(_digits, (1, 8, 8), 10, "scikit-learn's bundled 8x8 digits (no download)"),
    "fake": DatasetSpec(_fake, (1, 28, 28), 10, "random 28x28 grey images (for trying a pipeline)"),
}


class Adapted(Dataset):
    """``dataset`` with its images reshaped to ``size`` (C, H, W): a grey channel is repeated
    to fill 3 channels and images are resized bilinearly."""

    def __init__(self, dataset: Dataset, size: Shape) -> None:
        self.dataset = dataset
        self.size = size

    def __getitem__(self, index: int):
        image, target = self.dataset[index]
        if image.shape[0] != self.size[0]:
            image = image.expand(self.size[0], *image.shape[1:])
        if tuple(image.shape[1:]) != self.size[1:]:
            image = F.interpolate(image.unsqueeze(0), size=self.size[1:], mode="bilinear",
                                  align_corners=False).squeeze(0)
        return image, target

    def __len__(self) -> int:
        return len(self.dataset)


def adapt(dataset: Dataset, image_size: Shape, size: Shape) -> Dataset:
    """``dataset`` (images of ``image_size``) as images of ``size``; itself when they match."""
    if tuple(image_size) == tuple(size):
        return dataset
    if image_size[0] != size[0] and image_size[0] != 1:
        raise ValueError(f"cannot feed {image_size[0]}-channel images to a model that takes {size[0]} channels")
    return Adapted(dataset, tuple(size))
