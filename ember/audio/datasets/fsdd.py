"""The Free Spoken Digit Dataset (Jackson et al.): 8 kHz mono recordings of single spoken
digits, ``recordings/<digit>_<speaker>_<index>.wav``, 50 per digit and speaker.

The split is the dataset's own: indices 0-4 of each speaker and digit are the test set, the
rest the training set.
"""
from __future__ import annotations

import glob
import os
import re
from pathlib import Path

from ..._tensor import Tensor
from ...utils.data import Dataset
from .._io import load
from ._download import download_and_extract

__all__ = ["FSDD"]

# The release tensorflow_datasets verifies: its URL and the SHA-256 of the archive (11975353 bytes).
_URL = "https://github.com/Jakobovski/free-spoken-digit-dataset/archive/v1.0.9.tar.gz"
_SHA256 = "8bc44cde129d505cbbb6b365c09f80c663f2aa77578afc634e6141a2f87100c0"
_ARCHIVE = "free-spoken-digit-dataset-1.0.9.tar.gz"
_FILE = re.compile(r"^([0-9])_([^_]+)_([0-9]+)\.wav$")
_TEST_INDICES = range(5)


def _recordings(root: str) -> str | None:
    """The folder of recordings under ``root``: ``root/recordings``, the newest
    ``root/free-spoken-digit-dataset*/recordings``, or ``root`` itself when it holds them."""
    if os.path.isdir(os.path.join(root, "recordings")):
        return os.path.join(root, "recordings")
    found = sorted(glob.glob(os.path.join(glob.escape(root), "free-spoken-digit-dataset*", "recordings")))
    if found:
        return found[-1]
    if os.path.isdir(root) and any(_FILE.match(name) for name in os.listdir(root)):
        return root
    return None


class FSDD(Dataset):
    """The Free Spoken Digit Dataset.

    Args:
        root: the dataset's folder (a clone or an unpacked release: it holds ``recordings/``), a
            folder holding ``free-spoken-digit-dataset*/recordings``, or the recordings folder.
        split: ``"train"`` (indices 5 and up) or ``"test"`` (indices 0-4).
        download: fetch release 1.0.9 into ``root`` when no recordings are found (verified by SHA-256).

    Items: ``(waveform (1, frames), sample_rate, label, speaker, index)``.
    """

    def __init__(self, root: str | Path, split: str = "train", download: bool = False) -> None:
        if split not in ("train", "test"):
            raise ValueError(f"FSDD: split must be 'train' or 'test', got {split!r}")
        root = os.path.expanduser(os.fspath(root))
        folder = _recordings(root)
        if folder is None and download:
            download_and_extract(_URL, os.path.join(root, _ARCHIVE), root, _SHA256)
            folder = _recordings(root)
        if folder is None:
            raise RuntimeError(f"FSDD: no recordings found in {root} (looked for recordings/, "
                               f"free-spoken-digit-dataset*/recordings/ and <digit>_<speaker>_<index>.wav files). "
                               f"Pass download=True, or clone https://github.com/Jakobovski/free-spoken-digit-dataset "
                               f"and pass its folder as root.")
        self.split = split
        items = []
        for name in os.listdir(folder):
            match = _FILE.match(name)
            if match and (int(match[3]) in _TEST_INDICES) == (split == "test"):
                items.append((int(match[1]), match[2], int(match[3]), os.path.join(folder, name)))
        self._items = sorted(items)  # by digit, speaker, index: independent of the listing order

    def __getitem__(self, n: int) -> tuple[Tensor, int, int, str, int]:
        label, speaker, index, path = self._items[n]
        waveform, sample_rate = load(path)
        return waveform, sample_rate, label, speaker, index

    def __len__(self) -> int:
        return len(self._items)
