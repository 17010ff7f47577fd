"""State dicts in the safetensors format (the ``safetensors`` package).

safetensors stores each tensor's bytes once and refuses two names for one storage. Tensors
that are the same array seen under several names (tied weights such as an embedding shared
with an output layer) are therefore written once, under the first name, and the other names
are recorded in the file's metadata under ``"__ember_aliases__"`` (a JSON object
``{alias: name}``). :func:`load_safetensors` returns the same tensor object for a name and
its aliases, so loading restores the tie. Tensors that only partly overlap (two different
views of one array) are written as independent copies.
"""
from __future__ import annotations

import json
import os
from typing import Mapping

import numpy as np

from .._tensor import Tensor
from ..backend.device import CPU, move, to_device
from ._files import atomic_write

__all__ = ["save_safetensors", "load_safetensors", "save_file", "load_file"]

ALIASES_KEY = "__ember_aliases__"


def _safetensors_numpy():
    try:
        import safetensors.numpy
    except ImportError:
        raise ImportError("ember.io: safetensors support needs the 'safetensors' package "
                          "(pip install safetensors, or pip install ember[io])") from None
    return safetensors.numpy


def _root(arr: np.ndarray) -> np.ndarray:
    while isinstance(arr.base, np.ndarray):
        arr = arr.base
    return arr


def _view_key(arr: np.ndarray) -> tuple:
    """Identifies the exact elements an array shows: its memory, start, dtype, shape and strides."""
    return (id(_root(arr)), arr.__array_interface__["data"][0], arr.dtype.str, arr.shape, arr.strides)


def save_safetensors(state_dict: Mapping[str, Tensor], path: str | os.PathLike,
                     metadata: Mapping[str, str] | None = None) -> None:
    """Write a flat ``{name: tensor}`` dict to ``path`` in the safetensors format, atomically.

    Args:
        state_dict: names to tensors (a module's ``state_dict()``).
        path: the file to write; a crash leaves either the old file or the new one.
        metadata: extra ``{str: str}`` entries stored in the file header.

    Raises:
        TypeError: a name is not a str, a value is not a Tensor, or metadata is not str to str.
        ValueError: ``metadata`` uses the reserved key ``"__ember_aliases__"``.
    """
    st = _safetensors_numpy()
    meta = dict(metadata or {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
        raise TypeError("ember.io.save_safetensors: metadata must map str to str")
    if ALIASES_KEY in meta:
        raise ValueError(f"ember.io.save_safetensors: the metadata key {ALIASES_KEY!r} is reserved for "
                         "the names of tensors that share storage")
    arrays: dict[str, np.ndarray] = {}
    aliases: dict[str, str] = {}
    first: dict[tuple, str] = {}
    for name, t in state_dict.items():
        if not isinstance(name, str):
            raise TypeError(f"ember.io.save_safetensors: names must be str, got {type(name).__name__} ({name!r})")
        if not isinstance(t, Tensor):
            raise TypeError(f"ember.io.save_safetensors: {name!r} is a {type(t).__name__}, not a Tensor")
        key = _view_key(t._data)
        if key in first:
            aliases[name] = first[key]
            continue
        first[key] = name
        arrays[name] = np.asarray(move(t._data, CPU), order="C")
    if aliases:
        meta[ALIASES_KEY] = json.dumps(aliases, separators=(",", ":"))
    blob = st.save(arrays, metadata=meta or None)
    atomic_write(path, lambda fh: fh.write(blob))


def load_safetensors(path: str | os.PathLike, device: str = "cpu") -> dict[str, Tensor]:
    """Read a safetensors file into ``{name: tensor}`` on ``device``.

    Names recorded as aliases by :func:`save_safetensors` map to the same tensor object as
    the name they alias.
    """
    st = _safetensors_numpy()
    from safetensors import safe_open
    dev = to_device(device)
    with safe_open(os.fspath(path), framework="numpy") as f:
        meta = f.metadata() or {}
    arrays = st.load_file(os.fspath(path))
    out = {name: Tensor._make(move(np.array(arr, copy=True), dev)) for name, arr in arrays.items()}
    try:
        aliases = json.loads(meta.get(ALIASES_KEY, "{}"))
    except json.JSONDecodeError as e:
        raise RuntimeError(f"ember.io.load_safetensors: {os.fspath(path)!r} has malformed "
                           f"{ALIASES_KEY!r} metadata ({e})") from None
    for alias, name in aliases.items():
        if name not in out:
            raise RuntimeError(f"ember.io.load_safetensors: {os.fspath(path)!r} names {alias!r} an alias of "
                               f"{name!r}, which the file does not hold")
        out[alias] = out[name]
    return out


save_file = save_safetensors
load_file = load_safetensors
