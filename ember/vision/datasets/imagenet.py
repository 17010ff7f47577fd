"""ImageNet 2012 (ILSVRC2012) classification, read from a folder per class (WordNet id), with
the class names from the publisher's development kit when it is there."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from .folder import ImageFolder
from ...utils.data.fetch import extract_archive, require_md5, verify_str_arg

__all__ = ["ImageNet", "load_meta_file", "parse_devkit_archive"]

ARCHIVE_META = {
    "train": ("ILSVRC2012_img_train.tar", "1d675b47d978889d74fa0da5fadfb00e"),
    "val": ("ILSVRC2012_img_val.tar", "29b22e2961454d5413ddabcf34fc5622"),
    "devkit": ("ILSVRC2012_devkit_t12.tar.gz", "fa75699e90414af021442c21a62c3abf"),
}
META_FILE = "meta.bin"


def load_meta_file(root: str | Path, file: str | None = None) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    """``(wnid -> class names, the wnid of each validation image)`` from ``root/meta.bin``."""
    from ...serialization import load  # imported here: only a parsed development kit needs it

    path = os.path.join(root, file or META_FILE)
    if not os.path.isfile(path):
        raise RuntimeError(f"The meta file {path} is not present in the root directory. It is written by "
                           f"ImageNet (or parse_devkit_archive) from {ARCHIVE_META['devkit'][0]}.")
    return load(path, weights_only=True)


def parse_devkit_archive(root: str | Path, file: str | None = None) -> None:
    """Read the class names and the validation labels from the development kit archive
    (md5-verified) and save them as ``root/meta.bin``."""
    from scipy.io import loadmat  # imported here: it takes longer than the rest of ember.vision

    from ...serialization import save

    name, md5 = ARCHIVE_META["devkit"]
    archive = os.path.join(root, file or name)
    require_md5(archive, md5 if file is None else None)
    with tempfile.TemporaryDirectory() as tmp:
        extract_archive(archive, tmp)
        devkit = os.path.join(tmp, "ILSVRC2012_devkit_t12", "data")
        synsets = loadmat(os.path.join(devkit, "meta.mat"), squeeze_me=True)["synsets"]
        # Each synset: (ILSVRC2012_ID, WNID, words, gloss, num_children, ...); the 1000 leaves
        # are the classes, and their words are the class names separated by ", ".
        leaves = [s for s in synsets if int(s[4]) == 0]
        wnid_to_classes = {str(s[1]): tuple(str(s[2]).split(", ")) for s in leaves}
        idx_to_wnid = {int(s[0]): str(s[1]) for s in leaves}
        with open(os.path.join(devkit, "ILSVRC2012_validation_ground_truth.txt")) as f:
            val_wnids = [idx_to_wnid[int(line)] for line in f if line.strip()]
    save((wnid_to_classes, val_wnids), os.path.join(root, META_FILE))


class ImageNet(ImageFolder):
    """`ImageNet <https://image-net.org/>`_ 2012 classification: 1,281,167 training and 50,000
    validation images in 1,000 classes.

    Images live in ``root/train/<wnid>/*.JPEG`` and ``root/val/<wnid>/*.JPEG`` (one folder per
    WordNet id, e.g. ``n01440764``). The class names come from ``root/meta.bin``, written on
    first use from the development kit ``root/ILSVRC2012_devkit_t12.tar.gz`` when that is
    there; without either, each class is named by its folder.

    Args:
        root: the folder holding ``train/`` and ``val/`` (and the development kit).
        split: "train" or "val".
        kwargs: ``transform``, ``target_transform``, ``loader``, ... as :class:`ImageFolder`.

    Attributes:
        classes: a tuple of names per class ("tench", "Tinca tinca"). class_to_idx: each name
            -> its class index. wnids: the WordNet id per class. wnid_to_idx: id -> index.
        imgs, samples: (path, class index) per image. targets: the class index per image.
    """

    def __init__(self, root: str | Path, split: str = "train", **kwargs: Any) -> None:
        root = self.root = os.path.expanduser(root)
        self.split = verify_str_arg(split, "split", ("train", "val"))
        if not os.path.isfile(os.path.join(root, META_FILE)) and os.path.isfile(
                os.path.join(root, ARCHIVE_META["devkit"][0])):
            parse_devkit_archive(root)
        wnid_to_classes = load_meta_file(root)[0] if os.path.isfile(os.path.join(root, META_FILE)) else None
        if not os.path.isdir(self.split_folder):
            raise RuntimeError(f"Dataset not found at {self.split_folder}: expected one folder of .JPEG images per "
                               f"WordNet id there ({self.split}/n01440764/*.JPEG, ...). Unpack "
                               f"{ARCHIVE_META[self.split][0]} into that layout.")
        super().__init__(self.split_folder, **kwargs)
        self.root = root
        self.wnids = self.classes
        self.wnid_to_idx = self.class_to_idx
        if wnid_to_classes is None:
            self.classes = [(wnid,) for wnid in self.wnids]
        else:
            unknown = [wnid for wnid in self.wnids if wnid not in wnid_to_classes]
            if unknown:
                raise RuntimeError(f"{self.split_folder} has class folders the development kit does not list: "
                                   f"{', '.join(unknown[:5])}. Expected WordNet ids such as n01440764.")
            self.classes = [wnid_to_classes[wnid] for wnid in self.wnids]
        self.class_to_idx = {name: idx for idx, names in enumerate(self.classes) for name in names}

    @property
    def split_folder(self) -> str:
        return os.path.join(self.root, self.split)

    def extra_repr(self) -> str:
        return f"Split: {self.split}"
