"""CIFAR-10 and CIFAR-100: 32x32 colour images, read from the publisher's Python pickle batches
(md5-verified, then unpickled by ember's restricted unpickler)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PIL import Image

# The one restricted unpickler ember reads every pickle with: data only, no code, no mutation.
from ...io._unpickler import restricted_load
from ...utils.data.fetch import check_integrity, download_from_mirrors, extract_archive, require_md5
from .vision import VisionDataset

__all__ = ["CIFAR10", "CIFAR100"]


class CIFAR10(VisionDataset):
    """`CIFAR-10 <https://www.cs.toronto.edu/~kriz/cifar.html>`_: 60,000 32x32 colour images
    in 10 classes.

    The batches live in ``root/cifar-10-batches-py/`` (the published archive unpacked); each
    file's md5 is verified before it is read.

    Args:
        root: the folder that holds ``cifar-10-batches-py/``.
        train: the training split (50,000 images) if True, else the test split (10,000).
        transform: a callable applied to each PIL image (mode "RGB").
        target_transform: a callable applied to each int label.
        download: fetch and unpack the archive unless every batch is there and intact,
            trying ``mirrors`` in order.

    Attributes:
        data: uint8 NumPy array (N, 32, 32, 3). targets: list of N ints.
        classes, class_to_idx: the class names (from the batches' meta file) and indices.
    """

    base_folder = "cifar-10-batches-py"
    mirrors = ["https://www.cs.toronto.edu/~kriz/"]
    filename = "cifar-10-python.tar.gz"
    tgz_md5 = "c58f30108f718f92721af3b95e74349a"
    train_list = [
        ["data_batch_1", "c99cafc152244af753f735de768cd75f"],
        ["data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"],
        ["data_batch_3", "54ebc095f3ab1f0389bbae665268c751"],
        ["data_batch_4", "634d18415352ddfa80567beed471001a"],
        ["data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"],
    ]
    test_list = [["test_batch", "40351d587109b95175f43aff81a1287e"]]
    meta = {"filename": "batches.meta", "key": "label_names", "md5": "5ff9c542aee3614f3951f8cda6e48888"}

    def __init__(self, root: str | Path, train: bool = True, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        if download:
            self.download()
        batches = self.train_list if train else self.test_list
        self._verify(batches + [[self.meta["filename"], self.meta["md5"]]])
        images, self.targets = [], []
        for name, _ in batches:
            data, labels = self._read_batch(self._path(name))
            images.append(data)
            self.targets.extend(labels)
        # The batches store each image as 3 planes (R, G, B) of 32x32; PIL wants (H, W, C).
        self.data = np.ascontiguousarray(np.concatenate(images).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        self._load_meta()

    def _path(self, name: str) -> str:
        return os.path.join(self.root, self.base_folder, name)

    def _verify(self, entries: list) -> None:
        """Raise RuntimeError naming the missing files, or the first file whose md5 is wrong."""
        missing = [name for name, _ in entries if not os.path.isfile(self._path(name))]
        if missing:
            raise RuntimeError(f"Dataset not found at {os.path.join(self.root, self.base_folder)} "
                               f"(missing {', '.join(missing)}). Use download=True, or put the files there.")
        for name, md5 in entries:
            require_md5(self._path(name), md5)

    @staticmethod
    def _read_batch(path: str) -> tuple[np.ndarray, list[int]]:
        with open(path, "rb") as f:
            entry = restricted_load(f)
        data = entry.get("data") if isinstance(entry, dict) else None
        labels = entry.get("labels", entry.get("fine_labels")) if isinstance(entry, dict) else None
        if (not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072
                or labels is None or len(labels) != len(data)):
            raise RuntimeError(f"{path} is not a CIFAR batch: expected a dict with 'data' (uint8 array of "
                               f"N x 3072) and 'labels' or 'fine_labels' (N ints).")
        return data, [int(label) for label in labels]

    def _load_meta(self) -> None:
        path = self._path(self.meta["filename"])
        with open(path, "rb") as f:
            entry = restricted_load(f)
        if not isinstance(entry, dict) or self.meta["key"] not in entry:
            raise RuntimeError(f"{path} is not a CIFAR meta file: expected a dict with {self.meta['key']!r}.")
        self.classes = list(entry[self.meta["key"]])
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}

    def _check_integrity(self) -> bool:
        entries = self.train_list + self.test_list + [[self.meta["filename"], self.meta["md5"]]]
        return all(check_integrity(self._path(name), md5) for name, md5 in entries)

    def download(self) -> None:
        """Fetch and verify the archive into ``root`` and unpack it there, unless every batch
        is already there and intact."""
        if self._check_integrity():
            print("Files already downloaded and verified")
            return
        extract_archive(download_from_mirrors(self.mirrors, self.filename, self.root, self.tgz_md5), self.root)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        """The sample at ``index``: (PIL image of mode "RGB", int class index), transformed."""
        return self._transformed(Image.fromarray(self.data[index]), self.targets[index])

    def __len__(self) -> int:
        return len(self.data)

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train is True else 'Test'}"


class CIFAR100(CIFAR10):
    """`CIFAR-100 <https://www.cs.toronto.edu/~kriz/cifar.html>`_: 60,000 32x32 colour images
    in 100 classes (the targets are the fine labels), in ``root/cifar-100-python/``.
    Arguments and attributes as :class:`CIFAR10`."""

    base_folder = "cifar-100-python"
    filename = "cifar-100-python.tar.gz"
    tgz_md5 = "eb9058c3a382ffc7106e4002c42a8d85"
    train_list = [["train", "16019d7e3df5f24257cddd939b257f8d"]]
    test_list = [["test", "f0ef6b0ae62326f3e7ffdfab6717acfc"]]
    meta = {"filename": "meta", "key": "fine_label_names", "md5": "7973b15100ade9c7d40fb424638fde48"}
