"""Published checkpoints as torchvision describes them, shared by ``ember.vision.models`` and
``ember.text``: a :class:`Weights` (address, preprocessing, facts) per checkpoint, grouped in
a :class:`WeightsEnum` per model builder, and :func:`load_weights` that fills a model from one.
"""
from __future__ import annotations

import enum
import inspect
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable
from urllib.parse import urlparse
from urllib.request import url2pathname

__all__ = ["Weights", "WeightsEnum", "load_weights"]


@dataclass
class Weights:
    """One checkpoint: where it is (``url``), the callable that builds its evaluation
    preprocessing (``transforms``) and facts about it (``meta``: categories, num_params, ...)."""

    url: str
    transforms: Callable
    meta: dict[str, Any]

    def __eq__(self, other: Any) -> bool:
        # ``partial`` objects compare by identity, so a deep-copied or unpickled enum member
        # would not equal its definition; compare what the partials hold instead.
        if not isinstance(other, Weights):
            return NotImplemented
        if self.url != other.url or self.meta != other.meta:
            return False
        if isinstance(self.transforms, partial) and isinstance(other.transforms, partial):
            return (self.transforms.func == other.transforms.func and self.transforms.args == other.transforms.args
                    and self.transforms.keywords == other.transforms.keywords)
        return self.transforms == other.transforms


class WeightsEnum(enum.Enum):
    """Base of the ``*_Weights`` enums; each member's value is a :class:`Weights`."""

    @classmethod
    def verify(cls, obj: Any) -> Any:
        """``obj`` as a member of this enum: a member, its name ("IMAGENET1K_V1" or
        "ResNet18_Weights.IMAGENET1K_V1") or None."""
        if obj is not None:
            if type(obj) is str:
                obj = cls[obj.replace(cls.__name__ + ".", "")]
            elif not isinstance(obj, cls):
                raise TypeError(f"Invalid Weight class provided; expected {cls.__name__} but received "
                                f"{obj.__class__.__name__}.")
        return obj

    def get_state_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Download (or read from the cache) and return the checkpoint's state dict;
        arguments go to ``ember.hub.load_state_dict_from_url``. A file shipped inside the
        package (a ``file:`` URL) is read where it is, its hash checked, not copied."""
        from . import hub  # imported here: only loading weights needs it

        if not self.url.startswith("file:"):
            return hub.load_state_dict_from_url(self.url, *args, **kwargs)
        given = inspect.signature(hub.load_state_dict_from_url).bind(self.url, *args, **kwargs)
        given.apply_defaults()
        options = given.arguments
        return hub.read_checkpoint(url2pathname(urlparse(self.url).path), options["map_location"],
                                   options["weights_only"], options["check_hash"])

    def __reduce_ex__(self, protocol: int) -> tuple:
        # By name: a value holding NaN metrics would not equal its unpickled copy.
        return getattr, (type(self), self._name_)

    def __repr__(self) -> str:
        return f"{type(self).__name__}.{self._name_}"

    @property
    def url(self) -> str:
        return self.value.url

    @property
    def transforms(self) -> Callable:
        return self.value.transforms

    @property
    def meta(self) -> dict[str, Any]:
        return self.value.meta


def load_weights(model: Any, weights: WeightsEnum | None, progress: bool) -> Any:
    """Load the checkpoint into ``model`` (strictly: every key and shape must match; the hash
    in the file's name is checked when it is first copied into the hub cache, or on each read
    of a file shipped inside the package)."""
    if weights is not None:
        model.load_state_dict(weights.get_state_dict(progress=progress, check_hash=True))
    return model
