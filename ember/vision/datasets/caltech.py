"""Caltech 101: pictures of objects in 101 categories, with object outlines."""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Callable

from PIL import Image

from ...utils.data.fetch import download_and_extract_archive, extract_archive, verify_str_arg
from .vision import VisionDataset

__all__ = ["Caltech101"]

# Annotation folders named differently from their image folders.
_ANNOTATION_NAMES = {"Faces": "Faces_2", "Faces_easy": "Faces_3", "Motorbikes": "Motorbikes_16",
                     "airplanes": "Airplanes_Side_2"}


class Caltech101(VisionDataset):
    """`Caltech 101 <https://data.caltech.edu/records/mzrjq-6wc02>`_.

    Images live in ``root/caltech101/101_ObjectCategories/<category>/image_0001.jpg`` ...,
    outlines in ``root/caltech101/Annotations/<category>/annotation_0001.mat``. The
    ``BACKGROUND_Google`` folder is not a category and is skipped.

    Args:
        root: the folder that holds ``caltech101/``.
        target_type: "category" (int index into ``categories``), "annotation" (the outline:
            float NumPy array (2, K) of x and y), or a list of both for a tuple.
        transform: a callable applied to each PIL image (as stored: most "RGB", a few "L").
        target_transform: a callable applied to each target.
        download: fetch and unpack the archive unless the images are there.

    Attributes:
        categories: the sorted category folder names. annotation_categories: their
            annotation folder names. y: the category of each sample. index: its file number.
    """

    url = "https://data.caltech.edu/records/mzrjq-6wc02/files/caltech-101.zip"
    zip_md5 = "3138e1922a9193bfa496528edbbc45d0"

    def __init__(self, root: str | Path, target_type: list[str] | str = "category",
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False) -> None:
        super().__init__(os.path.join(root, "caltech101"), transform=transform, target_transform=target_transform)
        if isinstance(target_type, str):
            target_type = [target_type]
        self.target_type = [verify_str_arg(t, "target_type", ("category", "annotation")) for t in target_type]
        if download:
            self.download()
        images = os.path.join(self.root, "101_ObjectCategories")
        if not os.path.isdir(images):
            raise RuntimeError(f"Dataset not found at {images} (expected one folder of image_NNNN.jpg per "
                               f"category). Use download=True, or put the unpacked 101_ObjectCategories there.")
        self.categories = sorted(name for name in os.listdir(images) if name != "BACKGROUND_Google")
        self.annotation_categories = [_ANNOTATION_NAMES.get(name, name) for name in self.categories]
        self.index: list[int] = []
        self.y: list[int] = []
        for i, category in enumerate(self.categories):
            n = len(os.listdir(os.path.join(images, category)))  # the files are numbered 1..n
            self.index.extend(range(1, n + 1))
            self.y.extend([i] * n)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        """The sample at ``index``: (PIL image, target as ``target_type`` asks), transformed."""
        category, number = self.y[index], self.index[index]
        path = os.path.join(self.root, "101_ObjectCategories", self.categories[category], f"image_{number:04d}.jpg")
        with Image.open(path) as opened:
            image = opened.copy()  # read now, so the file is closed
        target: list[Any] = []
        for kind in self.target_type:
            if kind == "category":
                target.append(category)
            else:
                from scipy.io import loadmat  # imported here: it takes longer than the rest of ember.vision

                path = os.path.join(self.root, "Annotations", self.annotation_categories[category],
                                    f"annotation_{number:04d}.mat")
                target.append(loadmat(path)["obj_contour"])
        return self._transformed(image, tuple(target) if len(target) > 1 else target[0])

    def __len__(self) -> int:
        return len(self.index)

    def download(self) -> None:
        """Fetch and verify the archive, unpack the image and annotation archives it holds into
        ``root/caltech101``, unless the images are already there."""
        if os.path.isdir(os.path.join(self.root, "101_ObjectCategories")):
            print("Files already downloaded and verified")
            return
        download_and_extract_archive(self.url, self.root, filename="caltech-101.zip", md5=self.zip_md5)
        inner = os.path.join(self.root, "caltech-101")
        for name in os.listdir(inner):
            if name.endswith((".tar.gz", ".tar")):
                extract_archive(os.path.join(inner, name), self.root)
        shutil.rmtree(inner)
        os.remove(os.path.join(self.root, "caltech-101.zip"))

    def extra_repr(self) -> str:
        return f"Target type: {self.target_type}"
