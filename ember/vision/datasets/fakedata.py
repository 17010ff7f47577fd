"""FakeData: random images with random labels, the same for the same index on every run."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
from PIL import Image

from ...backend.random import Generator
from .vision import VisionDataset

__all__ = ["FakeData"]


class FakeData(VisionDataset):
    """Random noise images with random class indices, for trying a pipeline without data.

    Sample ``i`` is drawn from a generator seeded with ``i + random_offset``, so it is the
    same on every access and run, and the global random state is left alone.

    Args:
        size: the number of samples.
        image_size: (C, H, W) with C in 1..4 (mode "L", "LA", "RGB", "RGBA"), or (H, W).
        num_classes: labels are drawn from 0..num_classes-1.
        transform: a callable applied to each PIL image.
        target_transform: a callable applied to each int label.
        random_offset: added to the index to form each sample's seed.
    """

    def __init__(self, size: int = 1000, image_size: tuple[int, ...] = (3, 224, 224), num_classes: int = 10,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 random_offset: int = 0) -> None:
        super().__init__(None, transform=transform, target_transform=target_transform)
        image_size = tuple(image_size)
        if not (len(image_size) == 2 or (len(image_size) == 3 and 1 <= image_size[0] <= 4)):
            raise ValueError(f"FakeData: image_size must be (C, H, W) with 1 to 4 channels, or (H, W); "
                             f"got {image_size}.")
        self.size = size
        self.num_classes = num_classes
        self.image_size = image_size
        self.random_offset = random_offset

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        """The sample at ``index``: (PIL image, int class index), transformed."""
        if not -self.size <= index < self.size:
            raise IndexError(f"{type(self).__name__} index out of range")
        index %= self.size
        rng = Generator().manual_seed((index + self.random_offset) % 2 ** 64).numpy
        pixels = rng.integers(0, 256, size=self.image_size, dtype=np.uint8)
        if pixels.ndim == 3:
            # (C, H, W) -> (H, W, C), and (1, H, W) -> (H, W) for a grey image.
            pixels = pixels.transpose(1, 2, 0) if pixels.shape[0] > 1 else pixels[0]
        target = int(rng.integers(0, self.num_classes))
        return self._transformed(Image.fromarray(pixels), target)

    def __len__(self) -> int:
        return self.size
