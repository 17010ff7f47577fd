"""MS COCO detection and captions, read from the published annotation JSON files with the
standard library (the same targets pycocotools gives)."""
from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

from PIL import Image

from .vision import VisionDataset

__all__ = ["CocoDetection", "CocoCaptions"]


class CocoDetection(VisionDataset):
    """`MS COCO detection <https://cocodataset.org/#detection-2016>`_.

    Args:
        root: the folder holding the images (e.g. ``train2017/``).
        annFile: the annotation JSON (e.g. ``annotations/instances_train2017.json``).
        transform: a callable applied to each RGB PIL image.
        target_transform: a callable applied to each target.
        transforms: a callable taking and returning (image, target); excludes the two above.

    Samples are (RGB PIL image, the list of the image's annotation dicts in file order: "id",
    "image_id", "category_id", "bbox" [x, y, width, height], "area", "iscrowd",
    "segmentation", ...). Images are ordered by id; ``ids`` lists them.
    """

    def __init__(self, root: str | Path, annFile: str, transform: Callable | None = None,
                 target_transform: Callable | None = None, transforms: Callable | None = None) -> None:
        super().__init__(root, transforms, transform, target_transform)
        if not os.path.isfile(annFile):
            raise RuntimeError(f"Annotation file not found at {annFile}: pass the path of the COCO annotation "
                               f"JSON (e.g. annotations/instances_train2017.json).")
        with open(annFile, encoding="utf-8") as f:
            try:
                dataset = json.load(f)
            except json.JSONDecodeError as error:
                raise RuntimeError(f"{annFile} is not valid JSON ({error}).") from None
        if not isinstance(dataset, dict) or not isinstance(dataset.get("images"), list):
            raise RuntimeError(f"{annFile} is not a COCO annotation file: expected an object with an 'images' list "
                               f"(and 'annotations').")
        self.imgs = {image["id"]: image for image in dataset["images"]}
        self.img_to_anns: dict[Any, list[dict]] = defaultdict(list)
        for ann in dataset.get("annotations", []):
            self.img_to_anns[ann["image_id"]].append(ann)
        self.cats = {cat["id"]: cat for cat in dataset.get("categories", [])}
        self.ids = sorted(self.imgs)

    def _load_image(self, id: int) -> Image.Image:
        with Image.open(os.path.join(self.root, self.imgs[id]["file_name"])) as opened:
            return opened.convert("RGB")

    def _load_target(self, id: int) -> list[Any]:
        return list(self.img_to_anns.get(id, []))

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        """The sample at ``index``: (RGB PIL image, target), transformed."""
        if not isinstance(index, int):
            raise ValueError(f"Index must be of type integer, got {type(index)} instead.")
        id = self.ids[index]
        image, target = self._load_image(id), self._load_target(id)
        return self.transforms(image, target) if self.transforms is not None else (image, target)

    def __len__(self) -> int:
        return len(self.ids)


class CocoCaptions(CocoDetection):
    """`MS COCO captions <https://cocodataset.org/#captions-2015>`_: samples are (RGB PIL image,
    list of its caption strings), from e.g. ``annotations/captions_train2017.json``. Arguments
    as :class:`CocoDetection`."""

    def _load_target(self, id: int) -> list[str]:
        return [ann["caption"] for ann in super()._load_target(id)]
