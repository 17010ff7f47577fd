"""Data sets read from a folder per class: ``root/<class>/<sample files>``."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

from PIL import Image

from .vision import VisionDataset

__all__ = ["DatasetFolder", "ImageFolder", "IMG_EXTENSIONS", "default_loader", "pil_loader", "find_classes",
           "make_dataset", "has_file_allowed_extension", "is_image_file"]

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def has_file_allowed_extension(filename: str, extensions: str | tuple[str, ...]) -> bool:
    """Whether ``filename`` ends with one of ``extensions`` (compared in lower case)."""
    return filename.lower().endswith(extensions if isinstance(extensions, str) else tuple(extensions))


def is_image_file(filename: str) -> bool:
    """Whether ``filename`` ends with one of :data:`IMG_EXTENSIONS`."""
    return has_file_allowed_extension(filename, IMG_EXTENSIONS)


def find_classes(directory: str | Path) -> tuple[list[str], dict[str, int]]:
    """The sorted names of the sub-folders of ``directory`` and their indices."""
    classes = sorted(entry.name for entry in os.scandir(directory) if entry.is_dir())
    if not classes:
        raise FileNotFoundError(f"Couldn't find any class folder in {directory}.")
    return classes, {name: i for i, name in enumerate(classes)}


def make_dataset(directory: str | Path, class_to_idx: dict[str, int] | None = None,
                 extensions: str | tuple[str, ...] | None = None,
                 is_valid_file: Callable[[str], bool] | None = None,
                 allow_empty: bool = False) -> list[tuple[str, int]]:
    """The ``(path, class index)`` of every file under ``directory/<class>/`` (sub-folders
    included, links followed), classes and files in sorted order.

    Args:
        directory: the root folder.
        class_to_idx: class folder name -> index; found with :func:`find_classes` if None.
        extensions: the file endings to keep. Give this or ``is_valid_file``, not both.
        is_valid_file: a callable telling from a path whether to keep the file.
        allow_empty: accept classes without any file; otherwise raise FileNotFoundError.
    """
    directory = os.path.expanduser(directory)
    if class_to_idx is None:
        _, class_to_idx = find_classes(directory)
    elif not class_to_idx:
        raise ValueError("'class_to_index' must have at least one entry to collect any samples.")
    if (extensions is None) == (is_valid_file is None):
        raise ValueError("Both extensions and is_valid_file cannot be None or not None at the same time")
    if extensions is not None:
        def is_valid_file(path: str) -> bool:
            return has_file_allowed_extension(path, extensions)

    instances, found = [], set()
    for name in sorted(class_to_idx):
        class_dir = os.path.join(directory, name)
        if not os.path.isdir(class_dir):
            continue
        for folder, _, fnames in sorted(os.walk(class_dir, followlinks=True)):
            for fname in sorted(fnames):
                path = os.path.join(folder, fname)
                if is_valid_file(path):
                    instances.append((path, class_to_idx[name]))
                    found.add(name)
    empty = set(class_to_idx) - found
    if empty and not allow_empty:
        message = f"Found no valid file for the classes {', '.join(sorted(empty))}. "
        if extensions is not None:
            listed = extensions if isinstance(extensions, str) else ", ".join(extensions)
            message += f"Supported extensions are: {listed}"
        raise FileNotFoundError(message)
    return instances


class DatasetFolder(VisionDataset):
    """A data set of files arranged one folder per class: ``root/dog/1.ext``, ``root/cat/2.ext``.

    Args:
        root: the root folder.
        loader: a callable loading a sample from its path.
        extensions: the file endings to keep. Give this or ``is_valid_file``, not both.
        transform: a callable applied to each loaded sample.
        target_transform: a callable applied to each class index.
        is_valid_file: a callable telling from a path whether to keep the file.
        allow_empty: accept class folders without any valid file.

    Attributes:
        classes: the class folder names, sorted. class_to_idx: name -> index.
        samples: list of (path, class index). targets: the class index of each sample.
    """

    def __init__(self, root: str | Path, loader: Callable[[str], Any],
                 extensions: str | tuple[str, ...] | None = None, transform: Callable | None = None,
                 target_transform: Callable | None = None, is_valid_file: Callable[[str], bool] | None = None,
                 allow_empty: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        classes, class_to_idx = self.find_classes(self.root)
        samples = self.make_dataset(self.root, class_to_idx, extensions, is_valid_file, allow_empty)
        self.loader = loader
        self.extensions = extensions
        self.classes = classes
        self.class_to_idx = class_to_idx
        self.samples = samples
        self.targets = [target for _, target in samples]

    @staticmethod
    def make_dataset(directory: str | Path, class_to_idx: dict[str, int],
                     extensions: str | tuple[str, ...] | None = None,
                     is_valid_file: Callable[[str], bool] | None = None,
                     allow_empty: bool = False) -> list[tuple[str, int]]:
        """The samples as ``(path, class index)``; override to read another layout."""
        if class_to_idx is None:
            raise ValueError("The class_to_idx parameter cannot be None.")
        return make_dataset(directory, class_to_idx, extensions, is_valid_file, allow_empty)

    def find_classes(self, directory: str | Path) -> tuple[list[str], dict[str, int]]:
        """The class names and indices; override to read another layout."""
        return find_classes(directory)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        """The sample at ``index``, loaded and transformed, and its class index."""
        path, target = self.samples[index]
        return self._transformed(self.loader(path), target)

    def __len__(self) -> int:
        return len(self.samples)


def pil_loader(path: str | Path) -> Image.Image:
    """Open an image file with Pillow, converted to RGB."""
    with open(path, "rb") as f:
        return Image.open(f).convert("RGB")


def default_loader(path: str | Path) -> Image.Image:
    """The loader :class:`ImageFolder` uses: :func:`pil_loader`."""
    return pil_loader(path)


class ImageFolder(DatasetFolder):
    """Images arranged one folder per class (``root/dog/1.png``), loaded as RGB PIL images.

    Keeps the files ending in one of :data:`IMG_EXTENSIONS` unless ``is_valid_file`` is given.
    Arguments and attributes as :class:`DatasetFolder`; ``imgs`` is ``samples``.
    """

    def __init__(self, root: str | Path, transform: Callable | None = None, target_transform: Callable | None = None,
                 loader: Callable[[str], Any] = default_loader, is_valid_file: Callable[[str], bool] | None = None,
                 allow_empty: bool = False) -> None:
        super().__init__(root, loader, IMG_EXTENSIONS if is_valid_file is None else None, transform=transform,
                         target_transform=target_transform, is_valid_file=is_valid_file, allow_empty=allow_empty)
        self.imgs = self.samples
