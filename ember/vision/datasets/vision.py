"""The base of ember's vision data sets: root folder, transforms and torchvision's repr."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

from ...utils.data import Dataset


class StandardTransform:
    """Applies ``transform`` to the input and ``target_transform`` to the target of a sample."""

    def __init__(self, transform: Callable | None = None, target_transform: Callable | None = None):
        self.transform = transform
        self.target_transform = target_transform

    def __call__(self, input: Any, target: Any) -> tuple[Any, Any]:
        if self.transform is not None:
            input = self.transform(input)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return input, target

    def __repr__(self) -> str:
        body = [type(self).__name__]
        if self.transform is not None:
            body += _indented_repr(self.transform, "Transform: ")
        if self.target_transform is not None:
            body += _indented_repr(self.target_transform, "Target transform: ")
        return "\n".join(body)


def _indented_repr(obj: Any, head: str) -> list[str]:
    # Continuation lines line up under the first character after the heading.
    lines = repr(obj).splitlines()
    return [head + lines[0]] + [" " * len(head) + line for line in lines[1:]]


class VisionDataset(Dataset):
    """Base class of the vision data sets.

    Args:
        root: the data set's folder (``~`` is expanded), or None for generated data.
        transforms: a callable taking and returning ``(input, target)``; excludes the
            two below.
        transform: a callable applied to each input (usually a PIL image).
        target_transform: a callable applied to each target.
    """

    _repr_indent = 4

    def __init__(self, root: str | Path | None = None, transforms: Callable | None = None,
                 transform: Callable | None = None, target_transform: Callable | None = None) -> None:
        if isinstance(root, str):
            root = os.path.expanduser(root)
        self.root = root
        has_separate = transform is not None or target_transform is not None
        if transforms is not None and has_separate:
            raise ValueError("Only transforms or transform/target_transform can be passed as argument")
        self.transform = transform
        self.target_transform = target_transform
        if has_separate:
            transforms = StandardTransform(transform, target_transform)
        self.transforms = transforms

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def _transformed(self, sample: Any, target: Any) -> tuple[Any, Any]:
        # Reads the attributes at each call, so setting ``dataset.transform`` later takes effect.
        if self.transform is not None:
            sample = self.transform(sample)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return sample, target

    def __repr__(self) -> str:
        body = [f"Number of datapoints: {len(self)}"]
        if self.root is not None:
            body.append(f"Root location: {self.root}")
        body += self.extra_repr().splitlines()
        if self.transforms is not None:
            body.append(repr(self.transforms))
        return "\n".join([f"Dataset {type(self).__name__}"] + [" " * self._repr_indent + line for line in body])

    def extra_repr(self) -> str:
        """Lines describing the data set's settings (split, ...) in its repr."""
        return ""
