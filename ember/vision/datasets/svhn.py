"""SVHN: 32x32 colour crops of house numbers from Google Street View, in MATLAB files."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PIL import Image

from ...utils.data.fetch import download_from_mirrors, require_md5, verify_str_arg
from .vision import VisionDataset

__all__ = ["SVHN"]


class SVHN(VisionDataset):
    """`SVHN <http://ufldl.stanford.edu/housenumbers/>`_ (format 2: cropped digits).

    The published files (``train_32x32.mat``, ``test_32x32.mat``, ``extra_32x32.mat``) live
    directly in ``root``; a file's md5 is verified before it is read. The publisher labels
    the digit 0 as 10; here it is 0, so labels run 0..9 as losses expect.

    Args:
        root: the folder holding the .mat files.
        split: "train" (73,257 images), "test" (26,032) or "extra" (531,131).
        transform: a callable applied to each PIL image (mode "RGB").
        target_transform: a callable applied to each int label.
        download: fetch the split's file unless it is there and intact.

    Attributes:
        data: uint8 NumPy array (N, 3, 32, 32). labels: int64 NumPy array (N,).
    """

    mirrors = ["http://ufldl.stanford.edu/housenumbers/"]
    split_list = {
        "train": ("train_32x32.mat", "e26dedcc434d2e4c54c9b2d4a06d8373"),
        "test": ("test_32x32.mat", "eb5a983be6a315427106f1b164d9cef3"),
        "extra": ("extra_32x32.mat", "a93ce644f1a588dc4d68dda5feec44a7"),
    }

    def __init__(self, root: str | Path, split: str = "train", transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.split = verify_str_arg(split, "split", tuple(self.split_list))
        self.filename, self.file_md5 = self.split_list[split]
        if download:
            self.download()
        path = os.path.join(self.root, self.filename)
        if not os.path.isfile(path):
            raise RuntimeError(f"Dataset not found at {self.root} (missing {self.filename}). "
                               f"Use download=True, or put the files there.")
        require_md5(path, self.file_md5)
        from scipy.io import loadmat  # imported here: it takes longer than the rest of ember.vision

        mat = loadmat(path)
        if "X" not in mat or "y" not in mat or mat["X"].ndim != 4 or mat["X"].shape[3] != mat["y"].size:
            raise RuntimeError(f"{path} is not an SVHN file: expected arrays X (32, 32, 3, N) and y (N, 1).")
        # X is (H, W, C, N) and is kept as (N, C, H, W), the layout of image tensors.
        self.data = np.ascontiguousarray(np.transpose(mat["X"], (3, 2, 0, 1)))
        self.labels = mat["y"].astype(np.int64).reshape(-1)
        self.labels[self.labels == 10] = 0

    def download(self) -> None:
        """Fetch the split's file into ``root`` unless it is there and intact."""
        download_from_mirrors(self.mirrors, self.filename, self.root, self.file_md5)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        """The sample at ``index``: (PIL image of mode "RGB", int digit), transformed."""
        return self._transformed(Image.fromarray(np.transpose(self.data[index], (1, 2, 0))), int(self.labels[index]))

    def __len__(self) -> int:
        return len(self.data)

    def extra_repr(self) -> str:
        return f"Split: {self.split}"
