"""Nested tuples, lists and dicts of tensors (pytrees): flattened to leaves and rebuilt."""
from __future__ import annotations

from typing import Any, Callable


def flatten(tree) -> tuple[list, Callable[[list], Any]]:
    """The leaves of ``tree`` in order, and a function rebuilding a tree of the same shape
    from a list of new leaves. Named tuples rebuild as their own type."""
    if isinstance(tree, (tuple, list)):
        parts = [flatten(x) for x in tree]
        sizes = [len(p[0]) for p in parts]

        def build_seq(leaves: list):
            items, at = [], 0
            for (_, rebuild), n in zip(parts, sizes):
                items.append(rebuild(leaves[at:at + n]))
                at += n
            if isinstance(tree, list):
                return items
            return type(tree)(*items) if hasattr(tree, "_fields") else type(tree)(items)

        return [x for p in parts for x in p[0]], build_seq
    if isinstance(tree, dict):
        keys = list(tree)
        rebuild_values = flatten([tree[k] for k in keys])

        def build_dict(leaves: list):
            return type(tree)(zip(keys, rebuild_values[1](leaves)))

        return rebuild_values[0], build_dict
    return [tree], lambda leaves: leaves[0]


def broadcast_prefix(prefix, tree, what: str) -> list:
    """Per leaf of ``tree``, the value of ``prefix`` that covers it: ``prefix`` is a
    tree matching the top of ``tree`` whose leaves (int or None) apply to whole subtrees."""
    if prefix is None or isinstance(prefix, int):
        return [prefix] * len(flatten(tree)[0])
    # a tuple covers a tuple and a list a list (PyTorch's pytrees tell them apart)
    if (isinstance(prefix, tuple) and isinstance(tree, tuple) or isinstance(prefix, list)
            and isinstance(tree, list)) and len(prefix) == len(tree):
        return [d for p, t in zip(prefix, tree) for d in broadcast_prefix(p, t, what)]
    if isinstance(prefix, dict) and isinstance(tree, dict) and set(prefix) == set(tree):
        return [d for k in tree for d in broadcast_prefix(prefix[k], tree[k], what)]
    raise ValueError(
        f"vmap: {what}={prefix!r} is not compatible with the structure of the corresponding "
        f"value ({_describe(tree)}); give an int or None, or a nested tuple/list/dict of them "
        "matching the value's structure")


def _describe(tree) -> str:
    if isinstance(tree, (tuple, list)):
        return f"{type(tree).__name__} of {len(tree)}"
    if isinstance(tree, dict):
        return f"dict with keys {list(tree)}"
    return type(tree).__name__
