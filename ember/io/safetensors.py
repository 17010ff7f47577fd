"""State dicts in the safetensors format (the ``safetensors`` package).

safetensors stores each tensor's bytes once and refuses two names for one storage. Tensors
that are the same array seen under several names (tied weights such as an embedding shared
with an output layer) are therefore written once, under the first name, and the other names
are recorded in the file's metadata under ``"__ember_aliases__"`` (a JSON object
``{alias: name}``). :func:`load_safetensors` returns the same tensor object for a name and
its aliases, so loading restores the tie. Tensors that only partly overlap (two different
views of one array) are written as independent copies.

Reading is ember's own: the header is checked whole before anything is allocated (its
length within the file, no duplicate names, known dtypes, shapes within limits, data
ranges that tile the data section exactly, as the format requires), then each tensor's
bytes are read straight into its array. An alias may only name a stored tensor and may
never replace one.
"""
from __future__ import annotations

import json
import math
import os
from typing import Mapping

import numpy as np

from .._tensor import Tensor
from ..backend import dtypes
from ..backend.device import CPU, move, to_device
from ._files import MAX_DIMS, BoundedFile, atomic_write, read_array
from .._optional import require

__all__ = ["save_safetensors", "load_safetensors", "save_file", "load_file"]

ALIASES_KEY = "__ember_aliases__"
_HEADER_LIMIT = 100_000_000  # the safetensors package's own cap on the JSON header
_DTYPES = {"F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"), "BF16": dtypes.bfloat16.np,
           "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"), "I8": np.dtype("i1"),
           "U8": np.dtype("u1"), "BOOL": np.dtype("?")}


def _safetensors_numpy():
    return require("safetensors.numpy", "Reading and writing safetensors files")


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


class _Header:
    """The parsed, checked header of one file; ``error`` builds messages naming it."""

    def __init__(self, fh: BoundedFile, where: str):
        self.where = where
        if fh.size < 8:
            raise self.error(f"is {fh.size} bytes long, too short for a safetensors header")
        n = int.from_bytes(fh.read(8), "little")
        if n > min(fh.size - 8, _HEADER_LIMIT):
            raise self.error(f"declares a header of {n} bytes, beyond the file's {fh.size - 8} remaining bytes"
                             if n > fh.size - 8 else f"declares a header of {n} bytes, over the limit of "
                             f"{_HEADER_LIMIT}")
        self.data_start, data_size = 8 + n, fh.size - 8 - n
        header = self.json(fh.read(n), "header")
        if not isinstance(header, dict):
            raise self.error("has a header that is not a JSON object")
        meta = header.pop("__metadata__", None) or {}
        if not (isinstance(meta, dict) and all(isinstance(v, str) for v in meta.values())):
            raise self.error("has '__metadata__' that is not an object of strings")
        self.metadata: dict[str, str] = meta
        self.tensors: dict[str, tuple[str, tuple, int]] = {}  # name -> (dtype, shape, begin)
        ranges = []
        for name, info in header.items():
            ranges.append((*self.entry(name, info), name))
        ranges.sort()
        end = 0
        for begin, stop, name in ranges:
            if begin != end:
                raise self.error(f"has tensor {name!r} at bytes {begin}..{stop} of the data, but the previous "
                                 f"one ends at {end}: the data ranges must tile the data exactly")
            end = stop
        if end != data_size:
            raise self.error(f"has {data_size} bytes of data but its tensors cover {end}")

    def error(self, what: str) -> RuntimeError:
        return RuntimeError(f"ember.io.load_safetensors: {self.where} {what}")

    def json(self, raw: bytes, what: str):
        def unique(pairs):
            keys = [k for k, _ in pairs]
            if len(set(keys)) != len(keys):
                dup = next(k for k in keys if keys.count(k) > 1)
                raise self.error(f"has {what} naming {dup!r:.100} twice")
            return dict(pairs)

        try:
            return json.loads(raw.decode("utf-8"), object_pairs_hook=unique)
        except (UnicodeDecodeError, ValueError, RecursionError) as e:
            raise self.error(f"has a malformed {what} ({type(e).__name__}: {e})") from None

    def entry(self, name: str, info) -> tuple[int, int]:
        if not (isinstance(info, dict) and set(info) == {"dtype", "shape", "data_offsets"}):
            raise self.error(f"has a malformed record for {name!r:.100}: expected dtype, shape and data_offsets")
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if type(dtype) is not str or dtype not in _DTYPES:
            raise self.error(f"has tensor {name!r:.100} of dtype {dtype!r:.50}; ember reads {', '.join(_DTYPES)}")
        if not (type(shape) is list and all(type(s) is int and 0 <= s < 2 ** 63 for s in shape)):
            raise self.error(f"has tensor {name!r:.100} with shape {shape!r:.100}: not a list of sizes")
        if len(shape) > MAX_DIMS:
            raise self.error(f"has tensor {name!r:.100} with {len(shape)} dimensions, more than {MAX_DIMS}")
        if not (type(offsets) is list and len(offsets) == 2 and all(type(o) is int and o >= 0 for o in offsets)):
            raise self.error(f"has tensor {name!r:.100} with data_offsets {offsets!r:.100}: expected [begin, end]")
        begin, stop = offsets
        nbytes = math.prod(shape) * _DTYPES[dtype].itemsize
        if stop - begin != nbytes:
            raise self.error(f"has tensor {name!r:.100} of shape {shape} {dtype} ({nbytes} bytes) stored in "
                             f"{stop - begin} bytes")
        self.tensors[name] = (dtype, tuple(shape), begin)
        return begin, stop


def load_safetensors(path: str | os.PathLike, device: str = "cpu") -> dict[str, Tensor]:
    """Read a safetensors file into ``{name: tensor}`` on ``device``.

    Names recorded as aliases by :func:`save_safetensors` map to the same tensor object as
    the name they alias. BF16 tensors load as ember.bfloat16, bit for bit.

    Raises:
        RuntimeError: the file is truncated or malformed; the message names it and the problem.
    """
    where = repr(os.fspath(path))
    dev = to_device(device)
    with open(path, "rb") as raw:
        fh = BoundedFile(raw)
        header = _Header(fh, where)
        out = {}
        for name, (dtype, shape, begin) in header.tensors.items():
            fh.seek(header.data_start + begin)
            arr = read_array(fh.read, shape, _DTYPES[dtype], f"ember.io.load_safetensors: {where} tensor {name!r}")
            out[name] = Tensor._make(move(arr, dev))
    if ALIASES_KEY in header.metadata:
        aliases = header.json(header.metadata[ALIASES_KEY].encode("utf-8"), f"{ALIASES_KEY!r} metadata")
        if not (isinstance(aliases, dict) and all(isinstance(v, str) for v in aliases.values())):
            raise header.error(f"has {ALIASES_KEY!r} metadata that is not an object of names")
        for alias, name in aliases.items():
            if alias in header.tensors:
                raise header.error(f"names {alias!r}, a stored tensor, an alias of {name!r}; an alias may "
                                   "never replace a stored tensor")
            if name not in header.tensors:
                raise header.error(f"names {alias!r} an alias of {name!r}, which the file does not hold")
            out[alias] = out[name]
    return out


save_file = save_safetensors
load_file = load_safetensors
