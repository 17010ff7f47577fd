"""``ember.vision.datasets``: the standard image data sets with torchvision's arguments,
folder layouts, downloads (checksummed, from the publishers' mirrors) and samples."""
try:
    import PIL  # noqa: F401
except ImportError as error:
    raise ImportError("ember.vision.datasets needs Pillow: pip install 'ember[vision]' "
                      "(or pip install pillow)") from error

from .cifar import CIFAR10, CIFAR100
from .fakedata import FakeData
from .folder import IMG_EXTENSIONS, DatasetFolder, ImageFolder, default_loader
from .mnist import EMNIST, KMNIST, MNIST, FashionMNIST
from .svhn import SVHN
from .vision import StandardTransform, VisionDataset

__all__ = ["CIFAR10", "CIFAR100", "DatasetFolder", "EMNIST", "FakeData", "FashionMNIST", "IMG_EXTENSIONS",
           "ImageFolder", "KMNIST", "MNIST", "SVHN", "StandardTransform", "VisionDataset", "default_loader"]
