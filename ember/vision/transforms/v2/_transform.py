"""The v2 Transform: takes any nested input (an image with a dict of targets), draws its
random parameters once, and applies them to every image-like leaf; and the containers."""
from __future__ import annotations

from typing import Any, Callable, Sequence

from PIL import Image as PILImage

from .... import nn
from ...._tensor import Tensor
from ....ops.creation import multinomial, rand, randperm, tensor
from ... import tv_tensors
from .functional import _meta

__all__ = ["Transform", "Compose", "RandomApply", "RandomChoice", "RandomOrder", "Lambda"]


def tree_flatten(tree) -> tuple[list, Any]:
    """The leaves of nested lists, tuples and dicts, and a spec to rebuild the structure."""
    if isinstance(tree, (list, tuple)) and not isinstance(tree, Tensor):
        parts = [tree_flatten(x) for x in tree]
        return [leaf for leaves, _ in parts for leaf in leaves], (type(tree), [s for _, s in parts], None)
    if isinstance(tree, dict):
        parts = [tree_flatten(v) for v in tree.values()]
        return [leaf for leaves, _ in parts for leaf in leaves], (type(tree), [s for _, s in parts], list(tree))
    return [tree], None


def tree_unflatten(leaves: list, spec):
    it = iter(leaves)

    def build(s):
        if s is None:
            return next(it)
        kind, children, keys = s
        values = [build(c) for c in children]
        if keys is not None:
            return kind(zip(keys, values))
        if hasattr(kind, "_fields"):  # namedtuple
            return kind(*values)
        return kind(values)
    return build(spec)


def query_size(flat_inputs: list) -> tuple[int, int]:
    """The (height, width) shared by the image-like leaves; mismatched sizes are an error."""
    sizes = {tuple(_meta.get_size(x)) for x in flat_inputs
             if isinstance(x, (tv_tensors.Image, tv_tensors.Mask, tv_tensors.BoundingBoxes, PILImage.Image))
             or _meta.is_pure_tensor(x)}
    if not sizes:
        raise TypeError("No image, mask or bounding box was found in the sample")
    if len(sizes) > 1:
        raise ValueError(f"Found multiple HxW dimensions in the sample: {sorted(sizes)}")
    return sizes.pop()


def query_chw(flat_inputs: list) -> tuple[int, int, int]:
    chws = {tuple(_meta.get_dimensions(x)) for x in flat_inputs
            if isinstance(x, (tv_tensors.Image, PILImage.Image)) or _meta.is_pure_tensor(x)}
    if not chws:
        raise TypeError("No image was found in the sample")
    if len(chws) > 1:
        raise ValueError(f"Found multiple CxHxW dimensions in the sample: {sorted(chws)}")
    return chws.pop()


class Transform(nn.Module):
    """Base of the v2 transforms.

    Subclasses set ``_transformed_types``, draw parameters in ``make_params(flat_inputs)``
    and change one leaf in ``transform(inpt, params)``. Leaves of other types pass
    through; of the plain tensors, only the first is taken for an image, and only when the
    sample holds no Image or PIL image (the others are labels and the like).
    """

    _transformed_types: tuple = (Tensor, PILImage.Image)

    def make_params(self, flat_inputs: list) -> dict:
        return {}

    def transform(self, inpt, params: dict):
        raise NotImplementedError

    def _needs_transform_list(self, flat_inputs: list) -> list[bool]:
        take_pure = not any(isinstance(x, (tv_tensors.Image, PILImage.Image)) for x in flat_inputs)
        needs = []
        for x in flat_inputs:
            need = isinstance(x, self._transformed_types)
            if need and _meta.is_pure_tensor(x):
                need, take_pure = take_pure, False
            needs.append(need)
        return needs

    def forward(self, *inputs):
        flat, spec = tree_flatten(inputs if len(inputs) > 1 else inputs[0])
        needs = self._needs_transform_list(flat)
        params = self.make_params([x for x, n in zip(flat, needs) if n])
        out = [self.transform(x, params) if n else x for x, n in zip(flat, needs)]
        return tree_unflatten(out, spec)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in vars(self).items()
                         if not k.startswith("_") and k != "training" and not callable(v))


class Compose(Transform):
    """Apply ``transforms`` one after the other (to the whole sample)."""

    def __init__(self, transforms: Sequence[Callable]) -> None:
        super().__init__()
        if not isinstance(transforms, Sequence):
            raise TypeError("Argument transforms should be a sequence of callables")
        self.transforms = transforms

    def forward(self, *inputs):
        sample = inputs if len(inputs) > 1 else inputs[0]
        for t in self.transforms:
            sample = t(*sample) if len(inputs) > 1 else t(sample)
        return sample

    def extra_repr(self) -> str:
        return "\n".join(f"  {t}" for t in self.transforms)


class RandomApply(Transform):
    """Apply all of ``transforms`` with probability ``p``, else none."""

    def __init__(self, transforms: Sequence[Callable], p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError("`p` should be a floating point value in the interval [0.0, 1.0].")
        self.transforms, self.p = transforms, p

    def forward(self, *inputs):
        sample = inputs if len(inputs) > 1 else inputs[0]
        if rand(1).item() >= self.p:
            return sample
        for t in self.transforms:
            sample = t(*sample) if len(inputs) > 1 else t(sample)
        return sample


class RandomChoice(Transform):
    """Apply one of ``transforms``, picked with probabilities ``p`` (uniform when None)."""

    def __init__(self, transforms: Sequence[Callable], p: Sequence[float] | None = None) -> None:
        super().__init__()
        if p is not None and len(p) != len(transforms):
            raise ValueError(f"Length of p doesn't match the number of transforms: {len(p)} != {len(transforms)}")
        self.transforms, self.p = transforms, p

    def forward(self, *inputs):
        weights = tensor([1.0] * len(self.transforms) if self.p is None else [float(w) for w in self.p])
        return self.transforms[multinomial(weights, 1).item()](*inputs)


class RandomOrder(Transform):
    """Apply ``transforms`` in a random order."""

    def __init__(self, transforms: Sequence[Callable]) -> None:
        super().__init__()
        self.transforms = transforms

    def forward(self, *inputs):
        sample = inputs if len(inputs) > 1 else inputs[0]
        for i in randperm(len(self.transforms)).tolist():
            sample = self.transforms[i](*sample) if len(inputs) > 1 else self.transforms[i](sample)
        return sample


class Lambda(Transform):
    """Apply ``lambd`` to the leaves of ``types`` (all leaves when none are given)."""

    def __init__(self, lambd: Callable, *types: type) -> None:
        super().__init__()
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd, self.types = lambd, types or (object,)

    def transform(self, inpt, params: dict):
        return self.lambd(inpt) if isinstance(inpt, self.types) else inpt

    def _needs_transform_list(self, flat_inputs: list) -> list[bool]:
        return [True] * len(flat_inputs)
