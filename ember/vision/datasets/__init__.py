"""``ember.vision.datasets``: the standard image data sets with torchvision's arguments,
folder layouts, downloads (checksummed, from the publishers' mirrors) and samples."""
from ..._optional import require

require("PIL", "ember.vision.datasets")

from .caltech import Caltech101
from .celeba import CelebA
from .cifar import CIFAR10, CIFAR100
from .coco import CocoCaptions, CocoDetection
from .fakedata import FakeData
from .flowers102 import Flowers102
from .folder import IMG_EXTENSIONS, DatasetFolder, ImageFolder, default_loader
from .imagenet import ImageNet
from .mnist import EMNIST, KMNIST, MNIST, FashionMNIST
from .stl10 import STL10
from .svhn import SVHN
from .vision import StandardTransform, VisionDataset
from .voc import VOCDetection, VOCSegmentation

__all__ = ["CIFAR10", "CIFAR100", "Caltech101", "CelebA", "CocoCaptions", "CocoDetection", "DatasetFolder", "EMNIST",
           "FakeData", "FashionMNIST", "Flowers102", "IMG_EXTENSIONS", "ImageFolder", "ImageNet", "KMNIST", "MNIST",
           "STL10", "SVHN", "StandardTransform", "VOCDetection", "VOCSegmentation", "VisionDataset",
           "default_loader"]
