"""MNIST and its relatives (Fashion-MNIST, Kuzushiji-MNIST, EMNIST): 28x28 grey images
stored in IDX files under ``root/<DatasetName>/raw/``."""
from __future__ import annotations

import gzip
import math
import os
import shutil
import string
import warnings
import zlib
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PIL import Image

from ..._tensor import Tensor
from ...io._files import CHUNK, MAX_DIMS
from ...ops.creation import from_numpy
from ...utils.data.fetch import (check_integrity, download_from_mirrors, extract_archive, new_folder, require_md5,
                    verify_str_arg)
from .vision import VisionDataset

__all__ = ["MNIST", "FashionMNIST", "KMNIST", "EMNIST", "read_sn3_pascalvincent_tensor", "read_image_file",
           "read_label_file"]

# IDX magic number: two zero bytes, the element type, the number of dimensions; then one
# big-endian uint32 per dimension, then the elements (big-endian too).
_IDX_TYPES = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_IMAGES_MAGIC = 0x00000803  # uint8, 3 dimensions (N, rows, columns)
_LABELS_MAGIC = 0x00000801  # uint8, 1 dimension (N,)
_DEFLATE_MAX_RATIO = 1032  # deflate's limit: no gzip file expands further


def _read_idx(path: str | Path, expected_magic: int | None = None, strict: bool = True) -> np.ndarray:
    """An IDX file's array, plain or gzip-compressed (whatever its name). Decompression
    stops at the size the header declares, and a declared size the file cannot hold is
    refused before anything is read, so a gzip bomb costs nothing."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        compressed = f.read(2) == b"\x1f\x8b"
        f.seek(0)
        if not compressed:
            return _parse_idx(f.read, size, path, expected_magic, strict)
        try:
            with gzip.GzipFile(fileobj=f) as g:
                return _parse_idx(g.read, None, path, expected_magic, strict, gzip_size=size)
        except (OSError, EOFError, zlib.error) as error:
            raise RuntimeError(f"{path} is a corrupt or truncated gzip file ({error}). Delete it and "
                               f"use download=True, or put an intact copy there.") from None


def _parse_idx(read, size: int | None, path: str | Path, expected_magic: int | None, strict: bool,
               gzip_size: int = 0) -> np.ndarray:
    buf = read(4)
    magic = int.from_bytes(buf[:4], "big")
    valid = len(buf) >= 4 and buf[:2] == b"\0\0" and buf[2] in _IDX_TYPES and buf[3] > 0
    if not valid or (expected_magic is not None and magic != expected_magic):
        expected = (f"0x{expected_magic:08X}" if expected_magic is not None
                    else "0x0000TTDD (type TT in 08, 09, 0B-0E; DD > 0 dimensions)")
        raise RuntimeError(f"{path} is not a valid IDX file: magic number 0x{magic:08X} "
                           f"(first bytes {buf[:4].hex()}), expected {expected}.")
    dtype, ndim = _IDX_TYPES[buf[2]], buf[3]
    if ndim > MAX_DIMS:
        raise RuntimeError(f"{path} is not a valid IDX file: it declares {ndim} dimensions, more than {MAX_DIMS}.")
    header = 4 + 4 * ndim
    buf += read(header - 4)
    if len(buf) < header:
        raise RuntimeError(f"{path} is truncated: its IDX header needs {header} bytes, the file has {len(buf)}.")
    shape = tuple(int.from_bytes(buf[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    need = math.prod(shape) * dtype.itemsize
    declared = f"its IDX header declares shape {shape} of {dtype.name} ({need} bytes)"
    if size is not None and need > size - header:
        raise RuntimeError(f"{path} is truncated: {declared}, but {size - header} bytes follow the header.")
    if size is None and need > _DEFLATE_MAX_RATIO * gzip_size:
        raise RuntimeError(f"{path} is corrupt: {declared}, more than a gzip file of {gzip_size} bytes can hold.")
    want = need + 1 if strict else need  # one byte more tells whether anything trails the data
    data = bytearray()
    while len(data) < want:
        chunk = read(min(CHUNK, want - len(data)))
        if not chunk:
            break
        data += chunk
    if len(data) != need:
        problem, more = ("is truncated", "") if len(data) < need else ("has trailing bytes", " or more")
        raise RuntimeError(f"{path} {problem}: {declared}, but {len(data)}{more} bytes follow the header.")
    # The bytearray makes the array writable; multi-byte types are copied into native order.
    return np.frombuffer(data, dtype).reshape(shape).astype(dtype.newbyteorder("="), copy=False)


def read_sn3_pascalvincent_tensor(path: str | Path, strict: bool = True) -> Tensor:
    """Read an IDX file (plain or gzip-compressed) into a tensor of its stored type and shape.

    ``strict=False`` tolerates bytes after the declared data.
    """
    return from_numpy(_read_idx(path, strict=strict))


def read_image_file(path: str | Path) -> Tensor:
    """Read an IDX image file (magic 0x00000803): a uint8 tensor (N, rows, columns)."""
    return from_numpy(_read_idx(path, _IMAGES_MAGIC))


def read_label_file(path: str | Path) -> Tensor:
    """Read an IDX label file (magic 0x00000801): an int64 tensor (N,)."""
    return from_numpy(_read_idx(path, _LABELS_MAGIC).astype(np.int64))


class MNIST(VisionDataset):
    """`MNIST <http://yann.lecun.com/exdb/mnist/>`_: 70,000 handwritten digits, 28x28 grey.

    The files are read from ``root/MNIST/raw/`` (torchvision's layout) or from ``root``
    itself (a folder holding the downloaded files), as published
    (``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``,
    ``t10k-images-idx3-ubyte.gz``, ``t10k-labels-idx1-ubyte.gz``) or decompressed (the
    same names without ``.gz``). A compressed file's md5 is verified before it is read.

    Args:
        root: the folder that holds ``MNIST/raw/``, or the files themselves.
        train: the training split (60,000 images) if True, else the test split (10,000).
        transform: a callable applied to each PIL image (mode "L").
        target_transform: a callable applied to each int label.
        download: fetch the files that are in neither place into ``root/MNIST/raw/``,
            trying ``mirrors`` in order (md5-checked). Without it nothing is written.

    Attributes:
        data: uint8 tensor (N, 28, 28). targets: int64 tensor (N,).
        classes, class_to_idx: the class names and their indices.
    """

    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ]
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven",
               "8 - eight", "9 - nine"]

    def __init__(self, root: str | Path, train: bool = True, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        if download:
            self.download()
        self.data, self.targets = self._load_data()

    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, type(self).__name__, "raw")

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.classes)}

    def _split_files(self) -> tuple[str, str]:
        """The published (compressed) names of this split's image and label files."""
        prefix = "train" if self.train else "t10k"
        return f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz"

    def _folders(self) -> tuple[str, str]:
        """Where the files are looked for, in order: torchvision's layout, then root itself."""
        return self.raw_folder, str(self.root)

    def _usable_file(self, filename: str) -> str | None:
        """The copy of ``filename`` to read: its decompressed form, else the compressed file,
        in the first folder that has either; None when none has."""
        for folder in self._folders():
            for path in (os.path.join(folder, filename.removesuffix(".gz")), os.path.join(folder, filename)):
                if os.path.isfile(path):
                    return path
        return None

    def _intact(self, filename: str, md5: str | None) -> bool:
        """Whether a folder holds ``filename`` decompressed, or compressed with its md5."""
        for folder in self._folders():
            packed = os.path.join(folder, filename)
            if os.path.isfile(packed.removesuffix(".gz")) or check_integrity(packed, md5):
                return True
        return False

    def _not_found(self, names) -> str:
        """Where the files were looked for, which, and how to point at them."""
        split = "training" if self.train else "test"
        return (f"{type(self).__name__}: the {split} split's files are not here. Looked in "
                f"{' and '.join(self._folders())} for {' and '.join(n + '[.gz]' for n in (x.removesuffix('.gz') for x in names))}. "
                f"Pass the folder that holds them as root (--data-dir in the ember command and "
                f"examples), or its parent with them in {type(self).__name__}/raw/; or download=True "
                f"to fetch them (needs the internet).")

    def _load_data(self) -> tuple[Tensor, Tensor]:
        names = self._split_files()
        paths = [self._usable_file(name) for name in names]
        if any(path is None for path in paths):
            raise RuntimeError(self._not_found(names))
        # A compressed file is checked against its published md5; no checksum is published for
        # a decompressed one, whose IDX header and size are checked as it is read.
        md5s = dict(self.resources)
        for name, path in zip(names, paths):
            if path.endswith(".gz"):
                require_md5(path, md5s.get(name))
        data, targets = read_image_file(paths[0]), read_label_file(paths[1])
        if len(data) != len(targets):
            raise RuntimeError(f"{paths[0]} holds {len(data)} images but {paths[1]} holds {len(targets)} labels.")
        return data, targets

    def download(self) -> None:
        """Fetch each file (of both splits) that neither folder holds into ``raw_folder``,
        verify its md5, and decompress it next to the compressed file. A failed download
        leaves no empty folders behind, and its error says where the files were looked for."""
        missing = [(f, md5) for f, md5 in self.resources if not self._intact(f, md5)]
        if not missing:
            return
        with new_folder(self.raw_folder, lambda: self._not_found(self._split_files())):
            for filename, md5 in missing:
                extract_archive(download_from_mirrors(self.mirrors, filename, self.raw_folder, md5))

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        """The sample at ``index``: (PIL image of mode "L", int class index), transformed."""
        return self._transformed(Image.fromarray(self.data.numpy()[index]), int(self.targets.numpy()[index]))

    def __len__(self) -> int:
        return len(self.data)

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train is True else 'Test'}"

    @property
    def train_labels(self) -> Tensor:
        warnings.warn("train_labels has been renamed targets")
        return self.targets

    @property
    def test_labels(self) -> Tensor:
        warnings.warn("test_labels has been renamed targets")
        return self.targets

    @property
    def train_data(self) -> Tensor:
        warnings.warn("train_data has been renamed data")
        return self.data

    @property
    def test_data(self) -> Tensor:
        warnings.warn("test_data has been renamed data")
        return self.data


class FashionMNIST(MNIST):
    """`Fashion-MNIST <https://github.com/zalandoresearch/fashion-mnist>`_: 70,000 28x28 grey
    images of clothing in 10 classes, in MNIST's file format under ``root/FashionMNIST/raw/``.
    Arguments and attributes as :class:`MNIST`."""

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ]
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]


class KMNIST(MNIST):
    """`Kuzushiji-MNIST <https://github.com/rois-codh/kmnist>`_: 70,000 28x28 grey images of
    cursive Japanese characters in 10 classes, under ``root/KMNIST/raw/``. Arguments and
    attributes as :class:`MNIST`."""

    mirrors = ["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "bdb82020997e1d708af4cf47b453dcf7"),
        ("train-labels-idx1-ubyte.gz", "e144d726b3acfaa3e44228e80efcd344"),
        ("t10k-images-idx3-ubyte.gz", "5c965bf0a639b31b8f53240b1b52f4d7"),
        ("t10k-labels-idx1-ubyte.gz", "7320c461ea6c1c855c0b718fb2a4b134"),
    ]
    classes = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]


class EMNIST(MNIST):
    """`EMNIST <https://www.nist.gov/itl/products-and-services/emnist-dataset>`_: handwritten
    digits and letters, 28x28 grey, in six splits, under ``root/EMNIST/raw/``.

    The images are stored transposed (as published). The publisher distributes one archive
    (``gzip.zip``, whose md5 is verified) holding the files of every split; ``download``
    fetches it and decompresses the files into ``raw/``.

    Args:
        root: the folder that holds ``EMNIST/raw/``.
        split: "byclass", "bymerge", "balanced", "letters", "digits" or "mnist".
        **kwargs: ``train``, ``transform``, ``target_transform``, ``download`` as in :class:`MNIST`.
    """

    mirrors = ["https://www.itl.nist.gov/iaui/vip/cs_links/EMNIST/", "https://biometrics.nist.gov/cs_links/EMNIST/"]
    archive = ("gzip.zip", "58c8d27c78d21e728a6bc7b3cc06412e")
    resources = []  # no checksums are published for the files inside the archive
    splits = ("byclass", "bymerge", "balanced", "letters", "digits", "mnist")
    # bymerge and balanced merge the upper and lower case of the letters written alike.
    _merged_classes = set("cijklmopsuvwxyz")
    _all_classes = set(string.digits + string.ascii_letters)
    classes_split_dict = {
        "byclass": sorted(_all_classes),
        "bymerge": sorted(_all_classes - _merged_classes),
        "balanced": sorted(_all_classes - _merged_classes),
        "letters": ["N/A"] + list(string.ascii_lowercase),
        "digits": list(string.digits),
        "mnist": list(string.digits),
    }

    def __init__(self, root: str | Path, split: str, **kwargs: Any) -> None:
        self.split = verify_str_arg(split, "split", self.splits)
        self.classes = self.classes_split_dict[self.split]
        super().__init__(root, **kwargs)

    def _split_files(self) -> tuple[str, str]:
        prefix = f"emnist-{self.split}-{'train' if self.train else 'test'}"
        return f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz"

    def download(self) -> None:
        """Fetch and verify the archive (unless this split's files are there), then decompress
        the files of every split into ``raw_folder``."""
        if all(self._usable_file(name) for name in self._split_files()):
            return
        filename, md5 = self.archive
        with new_folder(self.raw_folder, lambda: self._not_found(self._split_files())):
            extract_archive(download_from_mirrors(self.mirrors, filename, self.raw_folder, md5))
        gzip_folder = os.path.join(self.raw_folder, "gzip")
        for name in sorted(os.listdir(gzip_folder)):
            if name.endswith(".gz"):
                extract_archive(os.path.join(gzip_folder, name), self.raw_folder)
        shutil.rmtree(gzip_folder)
