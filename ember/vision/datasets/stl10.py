"""STL-10: 96x96 colour images in 10 classes plus 100,000 unlabelled ones, in the publisher's
raw binary files (column-major uint8 planes)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PIL import Image

from ...utils.data.fetch import check_integrity, download_and_extract_archive, require_md5, verify_str_arg
from .vision import VisionDataset

__all__ = ["STL10"]

_IMAGE_BYTES = 3 * 96 * 96


class STL10(VisionDataset):
    """`STL-10 <https://cs.stanford.edu/~acoates/stl10/>`_.

    The files live in ``root/stl10_binary/`` (the published archive unpacked); each file the
    split reads has its md5 verified first.

    Args:
        root: the folder that holds ``stl10_binary/``.
        split: "train" (5,000 labelled), "test" (8,000), "unlabeled" (100,000, target -1) or
            "train+unlabeled".
        folds: 0..9 to keep one of the ten predefined 1,000-image training folds
            (``fold_indices.txt``); None keeps all.
        transform: a callable applied to each PIL image (mode "RGB").
        target_transform: a callable applied to each int label (-1 when unlabelled).
        download: fetch and unpack the archive unless the files are there and intact.

    Attributes:
        data: uint8 NumPy array (N, 3, 96, 96). labels: NumPy array (N,).
        classes: the class names from ``class_names.txt`` when present.
    """

    base_folder = "stl10_binary"
    url = "http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz"
    filename = "stl10_binary.tar.gz"
    tgz_md5 = "91f7769df0f17e558f3565bffb0c7dfb"
    class_names_file = "class_names.txt"
    folds_list_file = "fold_indices.txt"
    train_list = [
        ["train_X.bin", "918c2871b30a85fa023e0c44e0bee87f"],
        ["train_y.bin", "5a34089d4802c674881badbb80307741"],
        ["unlabeled_X.bin", "5242ba1fed5e4be9e1e742405eb56ca4"],
    ]
    test_list = [["test_X.bin", "7f263ba9f9e0b06b93213547f721ac82"], ["test_y.bin", "36f9794fa4beb8a2c72628de14fa638e"]]
    splits = ("train", "train+unlabeled", "unlabeled", "test")

    def __init__(self, root: str | Path, split: str = "train", folds: int | None = None,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.split = verify_str_arg(split, "split", self.splits)
        self.folds = self._verify_folds(folds)
        if download:
            self.download()
        train_x, train_y, unlabeled_x = (name for name, _ in self.train_list)
        test_x, test_y = (name for name, _ in self.test_list)
        needed = {"train": [train_x, train_y], "train+unlabeled": [train_x, train_y, unlabeled_x],
                  "unlabeled": [unlabeled_x], "test": [test_x, test_y]}[self.split]
        self._verify(needed)
        if self.split == "test":
            self.data, self.labels = self._read(test_x, test_y)
        elif self.split == "unlabeled":
            self.data = self._read(unlabeled_x)[0]
            self.labels = np.full(len(self.data), -1, dtype=np.int64)
        else:
            self.data, self.labels = self._read(train_x, train_y)
            self._select_fold(folds)
            if self.split == "train+unlabeled":
                unlabeled = self._read(unlabeled_x)[0]
                self.data = np.concatenate((self.data, unlabeled))
                self.labels = np.concatenate((self.labels, np.full(len(unlabeled), -1, dtype=np.int64)))
        class_file = self._path(self.class_names_file)
        if os.path.isfile(class_file):
            with open(class_file) as f:
                self.classes = f.read().splitlines()

    def _path(self, name: str) -> str:
        return os.path.join(self.root, self.base_folder, name)

    @staticmethod
    def _verify_folds(folds: int | None) -> int | None:
        if folds is None:
            return None
        if not isinstance(folds, int):
            raise ValueError(f"Expected type None or int for argument folds, but got type {type(folds)}.")
        if folds not in range(10):
            raise ValueError(f"Value for argument folds should be in the range [0, 10), but got {folds}.")
        return folds

    def _verify(self, names: list[str]) -> None:
        """Raise RuntimeError naming the missing files, or the first file whose md5 is wrong."""
        missing = [name for name in names if not os.path.isfile(self._path(name))]
        if missing:
            raise RuntimeError(f"Dataset not found at {os.path.join(self.root, self.base_folder)} "
                               f"(missing {', '.join(missing)}). Use download=True, or put the files there.")
        md5s = dict(self.train_list + self.test_list)
        for name in names:
            require_md5(self._path(name), md5s[name])

    def _read(self, data_file: str, labels_file: str | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        labels = None
        if labels_file is not None:
            labels = np.fromfile(self._path(labels_file), dtype=np.uint8).astype(np.int64) - 1  # stored 1..10
        path = self._path(data_file)
        raw = np.fromfile(path, dtype=np.uint8)
        if raw.size % _IMAGE_BYTES or (labels is not None and raw.size // _IMAGE_BYTES != len(labels)):
            raise RuntimeError(f"{path} is not an STL-10 image file: expected a multiple of {_IMAGE_BYTES} bytes "
                               f"(3x96x96 per image) and one label per image, got {raw.size} bytes"
                               + ("" if labels is None else f" and {len(labels)} labels") + ".")
        # Each plane is stored column by column: swap to rows first.
        return raw.reshape(-1, 3, 96, 96).transpose(0, 1, 3, 2), labels

    def _select_fold(self, folds: int | None) -> None:
        if folds is None:
            return
        path = self._path(self.folds_list_file)
        if not os.path.isfile(path):
            raise RuntimeError(f"Fold list not found at {path}: folds={folds} needs it. Use download=True, or put "
                               f"the file there.")
        with open(path) as f:
            index = np.array(f.read().splitlines()[folds].split(), dtype=np.int64)
        self.data, self.labels = self.data[index], self.labels[index]

    def _check_integrity(self) -> bool:
        return all(check_integrity(self._path(name), md5) for name, md5 in self.train_list + self.test_list)

    def download(self) -> None:
        """Fetch and verify the archive into ``root`` and unpack it there, unless every file is
        already there and intact."""
        if self._check_integrity():
            print("Files already downloaded and verified")
            return
        download_and_extract_archive(self.url, self.root, filename=self.filename, md5=self.tgz_md5)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        """The sample at ``index``: (PIL image of mode "RGB", int label, -1 if unlabelled), transformed."""
        image = Image.fromarray(np.ascontiguousarray(np.transpose(self.data[index], (1, 2, 0))))
        return self._transformed(image, int(self.labels[index]))

    def __len__(self) -> int:
        return self.data.shape[0]

    def extra_repr(self) -> str:
        return f"Split: {self.split}"
