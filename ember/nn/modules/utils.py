"""torch.nn.modules.utils: argument parsers for layers (``_pair`` and friends) and
``consume_prefix_in_state_dict_if_present``, which loads a DistributedDataParallel (or
``ember.compile``d) model's checkpoint into the bare model."""
from __future__ import annotations

from collections.abc import Iterable


def _ntuple(n: int, name: str = "parse"):
    """A parser: an iterable as a tuple, anything else repeated ``n`` times."""
    def parse(x) -> tuple:
        return tuple(x) if isinstance(x, Iterable) else (x,) * n
    parse.__name__ = name
    return parse


_single = _ntuple(1, "_single")
_pair = _ntuple(2, "_pair")
_triple = _ntuple(3, "_triple")
_quadruple = _ntuple(4, "_quadruple")


def _reverse_repeat_tuple(t, n: int) -> tuple:
    """Each element of ``t``, last first, repeated ``n`` times (per-dimension padding as F.pad
    wants it)."""
    return tuple(x for x in reversed(t) for _ in range(n))


def _list_with_default(out_size, defaults) -> list:
    """``out_size`` with each None taken from the matching trailing entry of ``defaults``."""
    if isinstance(out_size, int):
        return out_size
    if len(defaults) <= len(out_size):
        raise ValueError(f"Input dimension should be at least {len(out_size) + 1}")
    return [v if v is not None else d for v, d in zip(out_size, defaults[-len(out_size):])]


def consume_prefix_in_state_dict_if_present(state_dict, prefix: str) -> None:
    """Strip ``prefix`` (e.g. "module.") from the keys of ``state_dict`` that start with it, in
    place, and from its ``_metadata`` (the per-module versions) likewise."""
    for key in [k for k in state_dict if k.startswith(prefix)]:
        state_dict[key[len(prefix):]] = state_dict.pop(key)
    metadata = getattr(state_dict, "_metadata", None)
    if metadata is None:
        return
    for key in list(metadata):
        if key and (key == prefix.replace(".", "") or key.startswith(prefix)):
            metadata[key[len(prefix):]] = metadata.pop(key)
