"""CelebA: 202,599 aligned face images with 40 binary attributes, identities, boxes and landmarks."""
from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any, Callable, NamedTuple

import numpy as np
from PIL import Image

from ..._tensor import Tensor
from ...ops.creation import from_numpy
from ...utils.data.fetch import check_integrity, download_url, extract_archive, require_md5, verify_str_arg
from .vision import VisionDataset

__all__ = ["CelebA"]

_TARGET_TYPES = ("attr", "identity", "bbox", "landmarks")


class CSV(NamedTuple):
    header: list[str]
    index: list[str]
    data: Tensor


class CelebA(VisionDataset):
    """`CelebA <https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html>`_ (aligned and cropped).

    The files live in ``root/celeba/``: ``img_align_celeba/*.jpg`` (the unpacked zip) and the
    annotation lists ``list_attr_celeba.txt``, ``identity_CelebA.txt``, ``list_bbox_celeba.txt``,
    ``list_landmarks_align_celeba.txt`` and ``list_eval_partition.txt`` (md5-verified).

    Args:
        root: the folder that holds ``celeba/``.
        split: "train", "valid", "test" or "all".
        target_type: "attr" (int64 tensor (40,) of 0/1), "identity" (0-d int64 tensor),
            "bbox" (int64 tensor (4,): x, y, width, height), "landmarks" (int64 tensor (10,)),
            or a list of them for a tuple; an empty list gives the target None.
        transform: a callable applied to each PIL image (mode "RGB").
        target_transform: a callable applied to each target.
        download: fetch the files unless they are there and intact.

    Attributes:
        filename: the image file names. attr, identity, bbox, landmarks_align: int64 tensors
            with one row per image. attr_names: the 40 attribute names.
    """

    base_folder = "celeba"
    # (Google Drive file id, md5, name)
    file_list = [
        ("0B7EVK8r0v71pZjFTYXZWM3FlRnM", "00d2c5bc6d35e252742224ab0c1e8fcb", "img_align_celeba.zip"),
        ("0B7EVK8r0v71pblRyaVFSWGxPY0U", "75e246fa4810816ffd6ee81facbd244c", "list_attr_celeba.txt"),
        ("1_ee_0u7vcNLOfNLegJRHmolfH5ICW-XS", "32bd1bd63d3c78cd57e08160ec5ed1e2", "identity_CelebA.txt"),
        ("0B7EVK8r0v71pbThiMVRxWXZ4dU0", "00566efa6fedff7a56946cd1c10f1c16", "list_bbox_celeba.txt"),
        ("0B7EVK8r0v71pd0FJY3Blby1HUTQ", "cc24ecafdb5b50baae59b03474781f8c", "list_landmarks_align_celeba.txt"),
        ("0B7EVK8r0v71pY0NSMzRuSXJEVkk", "d32c9cbf5e040fd4025c592c306e6668", "list_eval_partition.txt"),
    ]

    def __init__(self, root: str | Path, split: str = "train", target_type: list[str] | str = "attr",
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.split = split
        self.target_type = list(target_type) if isinstance(target_type, list) else [target_type]
        for kind in self.target_type:
            verify_str_arg(kind, "target_type", _TARGET_TYPES)
        if not self.target_type and self.target_transform is not None:
            raise RuntimeError("target_transform is specified but target_type is empty")
        split_ = {"train": 0, "valid": 1, "test": 2, "all": None}[
            verify_str_arg(split.lower() if isinstance(split, str) else split, "split", ("train", "valid", "test", "all"))]
        if download:
            self.download()
        self._verify()
        splits = self._load_csv("list_eval_partition.txt")
        identity = self._load_csv("identity_CelebA.txt")
        bbox = self._load_csv("list_bbox_celeba.txt", header=1)
        landmarks_align = self._load_csv("list_landmarks_align_celeba.txt", header=1)
        attr = self._load_csv("list_attr_celeba.txt", header=1)
        partition = splits.data.numpy()[:, 0]
        rows = np.arange(len(partition)) if split_ is None else np.flatnonzero(partition == split_)
        self.filename = [splits.index[i] for i in rows]
        self.identity = self._rows(identity, rows, "identity_CelebA.txt", len(partition))
        self.bbox = self._rows(bbox, rows, "list_bbox_celeba.txt", len(partition))
        self.landmarks_align = self._rows(landmarks_align, rows, "list_landmarks_align_celeba.txt", len(partition))
        self.attr = (self._rows(attr, rows, "list_attr_celeba.txt", len(partition)) + 1) // 2  # -1/1 -> 0/1
        self.attr_names = attr.header

    def _path(self, *names: str) -> str:
        return os.path.join(self.root, self.base_folder, *names)

    def _verify(self) -> None:
        """Raise RuntimeError naming what is missing, or the first list whose md5 is wrong."""
        lists = [(name, md5) for _, md5, name in self.file_list if not name.endswith(".zip")]
        missing = [name for name, _ in lists if not os.path.isfile(self._path(name))]
        if not os.path.isdir(self._path("img_align_celeba")):
            missing.insert(0, "img_align_celeba/")
        if missing:
            raise RuntimeError(f"Dataset not found at {self._path()} (missing {', '.join(missing)}). "
                               f"Use download=True, or put the files there.")
        for name, md5 in lists:
            require_md5(self._path(name), md5)

    def _load_csv(self, filename: str, header: int | None = None) -> CSV:
        """A space-separated list: optional header lines, then "<image> <int> <int> ..." rows."""
        path = self._path(filename)
        with open(path) as f:
            data = list(csv.reader(f, delimiter=" ", skipinitialspace=True))
        headers = []
        if header is not None:
            headers, data = data[header], data[header + 1:]
        data = [row for row in data if row]
        try:
            values = np.array([[int(v) for v in row[1:] if v] for row in data], dtype=np.int64)
        except ValueError as error:
            raise RuntimeError(f"{path} is not a CelebA list: expected rows of an image name and integers "
                               f"({error}).") from None
        if values.ndim != 2:
            raise RuntimeError(f"{path} is not a CelebA list: its rows hold different numbers of values.")
        return CSV([h for h in headers if h], [row[0] for row in data], from_numpy(values))

    def _rows(self, table: CSV, rows: np.ndarray, filename: str, expected: int) -> Tensor:
        if len(table.index) != expected:
            raise RuntimeError(f"{self._path(filename)} lists {len(table.index)} images, "
                               f"list_eval_partition.txt {expected}: the files do not belong together.")
        return from_numpy(np.ascontiguousarray(table.data.numpy()[rows]))

    def _check_integrity(self) -> bool:
        return os.path.isdir(self._path("img_align_celeba")) and all(
            check_integrity(self._path(name), md5) for _, md5, name in self.file_list if not name.endswith(".zip"))

    def download(self) -> None:
        """Fetch and verify the files from the publisher's Google Drive folder into
        ``root/celeba`` and unpack the images, unless everything is there and intact."""
        if self._check_integrity():
            print("Files already downloaded and verified")
            return
        for file_id, md5, filename in self.file_list:
            # This address serves large files without Drive's "cannot scan for viruses" page.
            download_url(f"https://drive.usercontent.google.com/download?id={file_id}&export=download&confirm=t",
                         self._path(), filename, md5)
        extract_archive(self._path("img_align_celeba.zip"))

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        """The sample at ``index``: (PIL image, target as ``target_type`` asks), transformed."""
        with Image.open(self._path("img_align_celeba", self.filename[index])) as opened:
            image = opened.copy()  # read now, so the file is closed
        parts = {"attr": self.attr, "identity": self.identity, "bbox": self.bbox, "landmarks": self.landmarks_align}
        target: Any = [parts[kind][index, 0] if kind == "identity" else parts[kind][index, :]
                       for kind in self.target_type]
        if self.transform is not None:
            image = self.transform(image)
        if not target:
            return image, None
        target = tuple(target) if len(target) > 1 else target[0]
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def __len__(self) -> int:
        return len(self.attr)

    def extra_repr(self) -> str:
        return f"Target type: {self.target_type}\nSplit: {self.split}"
