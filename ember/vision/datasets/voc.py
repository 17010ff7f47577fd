"""PASCAL VOC 2007-2012: segmentation masks and object-detection annotations."""
from __future__ import annotations

import collections
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Callable

from PIL import Image

from ...utils.data.fetch import download_and_extract_archive, verify_str_arg
from .vision import VisionDataset

__all__ = ["VOCSegmentation", "VOCDetection"]

_HOST = "https://thor.robots.ox.ac.uk/pascal/VOC/"
# year -> (archive path under _HOST, md5, folder inside root the archive unpacks to)
DATASET_YEAR_DICT = {
    "2012": ("voc2012/VOCtrainval_11-May-2012.tar", "6cd6e144f989b92b3379bac3b3de84fd", "VOCdevkit/VOC2012"),
    "2011": ("voc2011/VOCtrainval_25-May-2011.tar", "6c3384ef61512963050cb5d687e5bf1e",
             "TrainVal/VOCdevkit/VOC2011"),
    "2010": ("voc2010/VOCtrainval_03-May-2010.tar", "da459979d0c395079b5c75ee67908abb", "VOCdevkit/VOC2010"),
    "2009": ("voc2009/VOCtrainval_11-May-2009.tar", "a3e00b113cfcfebf17e343f59da3caa1", "VOCdevkit/VOC2009"),
    "2008": ("voc2008/VOCtrainval_14-Jul-2008.tar", "2629fa636546599198acfcfbfcf1904a", "VOCdevkit/VOC2008"),
    "2007": ("voc2007/VOCtrainval_06-Nov-2007.tar", "c52e279531787c972589f7e41ab4ae64", "VOCdevkit/VOC2007"),
    "2007-test": ("voc2007/VOCtest_06-Nov-2007.tar", "b6e924de25625d8de591ea690078ad9f", "VOCdevkit/VOC2007"),
}


class _VOCBase(VisionDataset):
    """The layout both VOC data sets share: ``<voc>/ImageSets/<_SPLITS_DIR>/<image_set>.txt``
    lists image ids; ``<voc>/JPEGImages/<id>.jpg`` and ``<voc>/<_TARGET_DIR>/<id><ext>``."""

    _SPLITS_DIR: str
    _TARGET_DIR: str
    _TARGET_FILE_EXT: str

    def __init__(self, root: str | Path, year: str = "2012", image_set: str = "train", download: bool = False,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 transforms: Callable | None = None) -> None:
        super().__init__(root, transforms, transform, target_transform)
        self.year = verify_str_arg(year, "year", [str(y) for y in range(2007, 2013)])
        valid_image_sets = ["train", "trainval", "val"] + (["test"] if year == "2007" else [])
        self.image_set = verify_str_arg(image_set, "image_set", valid_image_sets)
        archive, self.md5, base_dir = DATASET_YEAR_DICT["2007-test" if (year, image_set) == ("2007", "test") else year]
        self.url, self.filename = _HOST + archive, os.path.basename(archive)
        voc_root = os.path.join(self.root, *base_dir.split("/"))
        if download:
            download_and_extract_archive(self.url, self.root, filename=self.filename, md5=self.md5)
        split_file = os.path.join(voc_root, "ImageSets", self._SPLITS_DIR, image_set + ".txt")
        if not os.path.isfile(split_file):
            raise RuntimeError(f"Dataset not found at {voc_root} (missing ImageSets/{self._SPLITS_DIR}/{image_set}.txt"
                               f"). Use download=True, or unpack {self.filename} into {self.root}.")
        with open(split_file) as f:
            ids = [line.strip() for line in f if line.strip()]
        self.images = [os.path.join(voc_root, "JPEGImages", i + ".jpg") for i in ids]
        self.targets = [os.path.join(voc_root, self._TARGET_DIR, i + self._TARGET_FILE_EXT) for i in ids]

    def __len__(self) -> int:
        return len(self.images)

    def _image(self, index: int) -> Image.Image:
        with Image.open(self.images[index]) as opened:
            return opened.convert("RGB")


class VOCSegmentation(_VOCBase):
    """`PASCAL VOC <http://host.robots.ox.ac.uk/pascal/VOC/>`_ segmentation: samples are
    (RGB PIL image, PIL mask of mode "P": class index per pixel, 255 on borders).

    Args:
        root: the folder that holds ``VOCdevkit/`` (the archive unpacked).
        year: "2007" .. "2012".
        image_set: "train", "trainval" or "val"; also "test" for 2007.
        download: fetch and unpack the year's archive (md5-verified).
        transform, target_transform: callables applied to the image and the mask.
        transforms: a callable taking and returning (image, mask); excludes the two above.
    """

    _SPLITS_DIR = "Segmentation"
    _TARGET_DIR = "SegmentationClass"
    _TARGET_FILE_EXT = ".png"

    @property
    def masks(self) -> list[str]:
        return self.targets

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        """The sample at ``index``: (RGB PIL image, PIL mask), transformed."""
        with Image.open(self.masks[index]) as opened:
            mask = opened.copy()  # read now, so the file is closed
        image = self._image(index)
        return self.transforms(image, mask) if self.transforms is not None else (image, mask)


class VOCDetection(_VOCBase):
    """`PASCAL VOC <http://host.robots.ox.ac.uk/pascal/VOC/>`_ detection: samples are (RGB PIL
    image, the annotation XML as nested dicts: ``{"annotation": {"filename": ..., "size":
    {...}, "object": [{"name": ..., "bndbox": {"xmin": "48", ...}, ...}, ...]}}``; leaf values are
    the XML's strings and ``object`` is always a list). Arguments as :class:`VOCSegmentation`.
    """

    _SPLITS_DIR = "Main"
    _TARGET_DIR = "Annotations"
    _TARGET_FILE_EXT = ".xml"

    @property
    def annotations(self) -> list[str]:
        return self.targets

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        """The sample at ``index``: (RGB PIL image, annotation dict), transformed."""
        target = self.parse_voc_xml(ET.parse(self.annotations[index]).getroot())
        image = self._image(index)
        return self.transforms(image, target) if self.transforms is not None else (image, target)

    @staticmethod
    def parse_voc_xml(node: ET.Element) -> dict[str, Any]:
        """An XML element as ``{tag: text}`` for a leaf, else ``{tag: {child tag: value}}``
        with a list where a tag repeats (``object`` under ``annotation`` always a list)."""
        children = list(node)
        if not children:
            return {node.tag: node.text.strip()} if node.text else {}
        grouped: dict[str, list] = collections.defaultdict(list)
        for child in children:
            for tag, value in VOCDetection.parse_voc_xml(child).items():
                grouped[tag].append(value)
        if node.tag == "annotation":
            grouped["object"] = [grouped["object"]]
        return {node.tag: {tag: values[0] if len(values) == 1 else values for tag, values in grouped.items()}}
