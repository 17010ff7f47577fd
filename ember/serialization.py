"""``ember.save`` / ``ember.load``: checkpoints as a zip archive of a JSON manifest and raw
arrays. Nothing in a file is ever executed: loading parses JSON and copies bytes into
arrays, so a file from an untrusted source can at worst fail to load.

File format, version 1
----------------------
A zip archive whose entries are stored uncompressed:

``ember/manifest.json``
    UTF-8 JSON: ``{"format": "ember", "version": 1, "root": VALUE, "tensors": [TENSOR, ...],
    "blobs": [BLOB, ...]}``.
``ember/data/<i>``
    The bytes of blob ``i``: its elements in C order, little-endian.

A BLOB is ``{"dtype": "float32", "shape": [2, 3]}``; its entry holds exactly
``numel * itemsize`` bytes. A TENSOR is ``{"blob": i, "device": "cpu", "requires_grad": false,
"parameter": false}``; tensors that shared one array when saved name the same blob and
share an array again when loaded, and a tensor object saved twice loads as one object.

A VALUE is one of:

* ``null``, ``true``/``false``, a number or a string: itself (``NaN``/``Infinity`` as
  Python's ``json`` writes them);
* ``{"tensor": i}``;
* ``{"list": [VALUE, ...]}`` or ``{"tuple": [VALUE, ...]}``;
* ``{"dict": [[KEY, VALUE], ...]}`` or ``{"odict": [[KEY, VALUE], ...], "attrs": {name: VALUE}}``
  (an ``OrderedDict``, with instance attributes such as a state dict's ``_metadata``), where a
  KEY is a VALUE of a hashable kind (None, bool, int, float, str, tuple);
* ``{"namedtuple": "Name", "fields": ["a", ...], "values": [VALUE, ...]}``;
* ``{"scalar": "float64", "value": number}``: a NumPy scalar;
* ``{"dtype": "float32"}`` or ``{"device": "cuda:0"}``.
"""
from __future__ import annotations

import collections
import io
import json
import os
import zipfile
from typing import Any, Callable

import numpy as np

from ._tensor import Tensor
from .backend import dtypes
from .backend.device import CPU, device, move, to_device
from .io import torch_format
from .io._files import MAX_DIMS, ZipArchive, atomic_file, zip_info

__all__ = ["save", "load"]

FORMAT_VERSION = 1
_MANIFEST = "ember/manifest.json"
_DATA = "ember/data/"
_SIZE_LIMIT = 2 ** 63  # no dimension or byte count beyond int64


def _parameter_class():
    """``ember.nn.Parameter`` when the nn package is available, else None."""
    try:
        from .nn import Parameter
    except ImportError:
        return None
    return Parameter


# ---- save --------------------------------------------------------------------------


class _Encoder:
    """Turns an object into a manifest VALUE, collecting its tensors and their arrays."""

    def __init__(self):
        self.tensors: list[dict] = []
        self.arrays: list[np.ndarray] = []
        self._tensor_ids: dict[int, int] = {}
        self._blob_ids: dict[int, int] = {}
        self._keep: list = []  # holds saved objects so the ids above stay theirs
        self._open: set[int] = set()
        self._parameter = _parameter_class()

    def value(self, obj, path: str):
        t = type(obj)
        if obj is None or t in (bool, int, float, str):
            return obj
        if isinstance(obj, Tensor):
            return {"tensor": self.tensor(obj)}
        if isinstance(obj, dtypes.dtype):
            return {"dtype": obj.name}
        if t is device:
            return {"device": str(obj)}
        if isinstance(obj, (np.bool_, np.integer, np.floating)) and obj.dtype in dtypes._BY_NP:
            return {"scalar": obj.dtype.name, "value": obj.item()}
        if t in (list, tuple, dict, collections.OrderedDict) or (isinstance(obj, tuple) and hasattr(t, "_fields")):
            if id(obj) in self._open:
                raise ValueError(f"ember.save: circular reference at {path}")
            self._open.add(id(obj))
            try:
                return self.container(obj, path)
            finally:
                self._open.discard(id(obj))
        raise TypeError(f"ember.save: cannot save object of type {t.__name__} at {path}")

    def container(self, obj, path: str):
        t = type(obj)
        if t is list:
            return {"list": [self.value(v, f"{path}[{i}]") for i, v in enumerate(obj)]}
        if t is tuple:
            return {"tuple": [self.value(v, f"{path}[{i}]") for i, v in enumerate(obj)]}
        if isinstance(obj, tuple):
            return {"namedtuple": t.__name__, "fields": list(t._fields),
                    "values": [self.value(v, f"{path}.{f}") for f, v in zip(t._fields, obj)]}
        items = [[self.key(k, path), self.value(v, f"{path}[{k!r}]")] for k, v in obj.items()]
        if t is dict:
            return {"dict": items}
        attrs = {name: self.value(v, f"{path}.{name}") for name, v in vars(obj).items()}
        return {"odict": items, "attrs": attrs}

    def key(self, k, path: str):
        if k is None or type(k) in (bool, int, float, str, tuple):
            return self.value(k, f"{path} (a key)")
        raise TypeError(f"ember.save: cannot save a dict key of type {type(k).__name__} ({k!r}) at {path}")

    def tensor(self, t: Tensor) -> int:
        index = self._tensor_ids.get(id(t))
        if index is not None:
            return index
        arr = t._data
        blob = self._blob_ids.get(id(arr))
        if blob is None:
            blob = self._blob_ids[id(arr)] = len(self.arrays)
            host = move(arr, CPU)
            self.arrays.append(host.astype(host.dtype.newbyteorder("<"), order="C", copy=False))
        self._keep.append(t)
        index = self._tensor_ids[id(t)] = len(self.tensors)
        self.tensors.append({"blob": blob, "device": str(t.device), "requires_grad": t.requires_grad,
                             "parameter": self._parameter is not None and isinstance(t, self._parameter)})
        return index


def _write_archive(fh, manifest: dict, arrays: list[np.ndarray]) -> None:
    with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        zf.writestr(zip_info(_MANIFEST), json.dumps(manifest, separators=(",", ":")).encode("utf-8"))
        for i, arr in enumerate(arrays):
            with zf.open(zip_info(f"{_DATA}{i}"), "w", force_zip64=arr.nbytes >= 2 ** 31) as out:
                out.write(arr.reshape(-1).view(np.uint8))


def save(obj: Any, f) -> None:
    """Save tensors, parameters and containers of them (state dicts, checkpoints) to ``f``.

    Args:
        obj: tensors, ``nn.Parameter``, dicts (also ``OrderedDict``), lists, tuples,
            namedtuples, str, int, float, bool, None, NumPy scalars, dtypes, devices,
            nested in any way. Tensors are saved by value (a view saves its elements).
        f: a path (``str`` or ``os.PathLike``) or a binary file object. A path is written
            atomically: a temporary file in the same directory
            (``.<name>.ember-partial-<pid>-<random>``) is written and synced, then renamed over
            ``f``, so a crash leaves either the old file or the new one. Through a symlink the
            link's target is replaced; an existing file keeps its permission bits.

    Raises:
        TypeError: ``obj`` holds an object of another type (the message says where).
    """
    enc = _Encoder()
    root = enc.value(obj, "obj")
    manifest = {"format": "ember", "version": FORMAT_VERSION, "root": root, "tensors": enc.tensors,
                "blobs": [{"dtype": dtypes.from_numpy_dtype(a.dtype).name, "shape": list(a.shape)}
                          for a in enc.arrays]}
    if isinstance(f, (str, os.PathLike)):
        with atomic_file(f) as fh:
            _write_archive(fh, manifest, enc.arrays)
    elif hasattr(f, "write"):
        _write_archive(f, manifest, enc.arrays)
    else:
        raise TypeError(f"ember.save: f must be a path or a binary file object, got {type(f).__name__}")


# ---- load --------------------------------------------------------------------------


class _Malformed(Exception):
    """A manifest that does not follow the format; load turns it into a RuntimeError."""


def _expect(cond: bool, what: str) -> None:
    if not cond:
        raise _Malformed(what)


def _is_int(x) -> bool:
    return type(x) is int


class _Decoder:
    """Rebuilds the saved object from a manifest, reading each blob once."""

    def __init__(self, archive: ZipArchive, manifest: dict, map_location, name: str):
        self.archive, self.map_location, self.name = archive, map_location, name
        self.tensor_meta = manifest.get("tensors")
        self.blob_meta = manifest.get("blobs")
        _expect(isinstance(self.tensor_meta, list) and isinstance(self.blob_meta, list),
                "'tensors' and 'blobs' must be lists")
        self._tensors: dict[int, Tensor] = {}
        self._blobs: dict[tuple[int, str], tuple[Any, list]] = {}
        self._namedtuples: dict[tuple, type] = {}
        self._parameter = _parameter_class()

    def value(self, v):
        if v is None or type(v) in (bool, int, float, str):
            return v
        _expect(isinstance(v, dict) and v, f"unexpected value {v!r}")
        if "tensor" in v:
            return self.tensor(v["tensor"])
        if "list" in v:
            return [self.value(x) for x in self.seq(v, "list")]
        if "tuple" in v:
            return tuple(self.value(x) for x in self.seq(v, "tuple"))
        if "dict" in v:
            return {self.key(k): self.value(x) for k, x in self.pairs(v["dict"])}
        if "odict" in v:
            out = collections.OrderedDict((self.key(k), self.value(x)) for k, x in self.pairs(v["odict"]))
            attrs = v.get("attrs", {})
            _expect(isinstance(attrs, dict), "odict 'attrs' must be an object")
            for attr, x in attrs.items():
                _expect(attr.isidentifier() and not attr.startswith("__"), f"bad attribute name {attr!r:.100}")
                setattr(out, attr, self.value(x))
            return out
        if "namedtuple" in v:
            return self.namedtuple(v)
        if "scalar" in v:
            kind = v["scalar"]
            _expect(kind in dtypes._BY_NAME and type(v.get("value")) in (bool, int, float),
                    f"bad scalar {v!r}")
            return dtypes._BY_NAME[kind].np.type(v["value"])
        if "dtype" in v:
            _expect(v["dtype"] in dtypes._BY_NAME, f"unknown dtype {v['dtype']!r}")
            return dtypes._BY_NAME[v["dtype"]]
        if "device" in v:
            try:
                return device(v["device"])
            except (RuntimeError, TypeError) as e:
                raise _Malformed(f"bad device {v['device']!r}") from e
        raise _Malformed(f"unknown value kind {sorted(v)}")

    @staticmethod
    def seq(v: dict, kind: str) -> list:
        _expect(isinstance(v[kind], list), f"'{kind}' must hold a list")
        return v[kind]

    @staticmethod
    def pairs(items) -> list:
        _expect(isinstance(items, list) and all(isinstance(p, list) and len(p) == 2 for p in items),
                "dict items must be [key, value] pairs")
        return items

    def key(self, k):
        key = self.value(k)
        try:
            hash(key)
        except TypeError:
            raise _Malformed(f"unhashable dict key {k!r}") from None
        return key

    def namedtuple(self, v: dict):
        fields, values = v.get("fields"), v.get("values")
        _expect(isinstance(fields, list) and isinstance(values, list) and len(fields) == len(values),
                "namedtuple needs 'fields' and 'values' of equal length")
        sig = (v["namedtuple"], tuple(fields))
        cls = self._namedtuples.get(sig)
        if cls is None:
            try:
                cls = self._namedtuples[sig] = collections.namedtuple(*sig)
            except (TypeError, ValueError) as e:
                raise _Malformed(f"bad namedtuple {sig}: {e}") from None
        return cls(*(self.value(x) for x in values))

    def tensor(self, index) -> Tensor:
        _expect(_is_int(index) and 0 <= index < len(self.tensor_meta), f"tensor index {index!r} out of range")
        if index in self._tensors:
            return self._tensors[index]
        meta = self.tensor_meta[index]
        _expect(isinstance(meta, dict) and type(meta.get("requires_grad")) is bool
                and isinstance(meta.get("device"), str), f"bad tensor record {meta!r}")
        array, vc = self.blob(meta.get("blob"), meta["device"])
        t = Tensor._make(array)
        t._vc = vc  # tensors that shared storage keep one version counter
        if meta["requires_grad"]:
            _expect(array.dtype.kind == "f", f"tensor {index} of dtype {array.dtype} cannot require grad")
            t._requires_grad = True
        if meta.get("parameter") and self._parameter is not None:
            t = self._parameter(t, requires_grad=meta["requires_grad"])
        self._tensors[index] = t
        return t

    def blob(self, index, location: str):
        _expect(_is_int(index) and 0 <= index < len(self.blob_meta), f"blob index {index!r} out of range")
        cached = self._blobs.get((index, location))
        if cached is None:
            cached = self._blobs[(index, location)] = (self.restore(self.read(index), location), [0])
        return cached

    def read(self, index: int) -> np.ndarray:
        meta = self.blob_meta[index]
        _expect(isinstance(meta, dict) and type(meta.get("dtype")) is str and meta["dtype"] in dtypes._BY_NAME,
                f"bad blob record {meta!r:.200}")
        shape = meta.get("shape")
        _expect(isinstance(shape, list) and all(_is_int(s) and 0 <= s < _SIZE_LIMIT for s in shape),
                f"bad shape {shape!r:.200}")
        _expect(len(shape) <= MAX_DIMS, f"blob {index} has {len(shape)} dimensions, more than {MAX_DIMS}")
        entry = f"{_DATA}{index}"
        stored = dtypes._BY_NAME[meta["dtype"]].np.newbyteorder("<")
        nbytes = stored.itemsize
        for n in shape:
            nbytes *= n
        size = self.archive.size(entry)
        if size != nbytes:  # checked before allocating, so a forged shape cannot exhaust memory
            raise RuntimeError(f"ember.load: {self.name} is truncated or corrupted: {entry} holds {size} "
                               f"bytes, expected {nbytes} for a {meta['dtype']} tensor of shape {shape}")
        return self.archive.read_array(entry, tuple(shape), stored)

    def restore(self, array: np.ndarray, location: str):
        """Move a loaded array where ``map_location`` says (by default: where it was saved)."""
        ml = self.map_location
        target = location
        if isinstance(ml, (str, device)):
            target = str(ml)
        elif isinstance(ml, dict):
            target = str(ml.get(location, location))
        elif callable(ml):
            result = ml(Tensor._make(array), location)
            if result is not None:
                return result._data if isinstance(result, Tensor) else result
        try:
            dev = to_device(target)
        except RuntimeError as e:
            raise _Malformed(f"bad device {target!r}") from e
        if dev.type == "cuda":
            from . import cuda
            if not cuda.is_available():
                raise RuntimeError(
                    f"ember.load: {self.name} holds tensors saved on {location}, but CUDA is not "
                    "available. Pass map_location='cpu' to load them on the CPU.")
        return move(array, dev)


def _not_a_zip(fh, name: str) -> RuntimeError:
    head = fh.read(4)
    if not head:
        return RuntimeError(f"ember.load: {name} is empty")
    if head.startswith(b"PK"):
        return RuntimeError(f"ember.load: {name} is truncated or corrupted (its zip directory is unreadable)")
    if head[:1] == b"\x80":
        return RuntimeError(f"ember.load: {name} is not an ember checkpoint: it looks like a pickle file. "
                            "ember never unpickles, because unpickling can run arbitrary code.")
    return RuntimeError(f"ember.load: {name} is not an ember checkpoint (not a zip archive)")


def _read_manifest(archive: ZipArchive, name: str) -> dict:
    if _MANIFEST not in archive.names():
        raise RuntimeError(f"ember.load: {name} is not an ember checkpoint (no manifest)")
    raw = archive.read(_MANIFEST)
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:  # ValueError: also numbers too long to parse
        raise RuntimeError(f"ember.load: {name} has a malformed manifest ({type(e).__name__}: {e})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != "ember":
        raise RuntimeError(f"ember.load: {name} is not an ember checkpoint (the manifest is not ember's)")
    if manifest.get("version") != FORMAT_VERSION:
        raise RuntimeError(f"ember.load: {name} has format version {manifest.get('version')!r:.50}; this ember "
                           f"reads version {FORMAT_VERSION}")
    return manifest


def _load_from(fh, name: str, map_location) -> Any:
    start = fh.tell()
    if not zipfile.is_zipfile(fh):
        fh.seek(start)
        if fh.read(3) == torch_format.LEGACY_HEAD:
            fh.seek(start)
            return torch_format.read_checkpoint(fh, name, map_location)
        fh.seek(start)
        raise _not_a_zip(fh, name)
    fh.seek(start)
    with ZipArchive(fh, name, "ember.load") as archive:
        if _MANIFEST not in archive.names() and any(n.endswith("/data.pkl") for n in archive.names()):
            return torch_format.read_checkpoint(fh, name, map_location, archive)
        manifest = _read_manifest(archive, name)
        try:
            return _Decoder(archive, manifest, map_location, name).value(manifest.get("root"))
        except _Malformed as e:
            raise RuntimeError(f"ember.load: {name} has a malformed manifest: {e}") from None
        except RecursionError:
            raise RuntimeError(f"ember.load: {name} has a malformed manifest: nested too deeply") from None
        except (TypeError, ValueError, OverflowError, KeyError, IndexError, AttributeError) as e:
            raise RuntimeError(f"ember.load: {name} has a malformed manifest ({type(e).__name__}: {e})") from e


def load(f, map_location: str | device | dict | Callable | None = None, *, weights_only: bool = True) -> Any:
    """Load an object written by :func:`save`.

    Args:
        f: a path (``str`` or ``os.PathLike``) or a binary file object.
        map_location: where tensors go: ``None`` (the device they were saved from), a device
            or device string, a dict from saved location strings to target devices, or a
            callable ``fn(tensor, location)`` given each tensor on the CPU and its saved
            location (``"cpu"``, ``"cuda:0"``) that returns the tensor to use, or ``None``
            for the default placement.
        weights_only: accepted for PyTorch compatibility. The format holds only data, never
            code, so every load is as safe as PyTorch's ``weights_only=True``.

    Checkpoints written by ``torch.save`` (zip or legacy format) are read too, through
    :func:`ember.io.load_torch`, which accepts only tensors, numbers, strings and containers
    and never runs code from the file.

    Sizes are checked against the bytes present before anything is allocated, and each
    tensor's bytes are read straight into its array, so loading a file of N bytes takes
    about N bytes of memory.

    Raises:
        RuntimeError: ``f`` is not an ember checkpoint, or is truncated, corrupted or
            malformed (the message names the file and what is wrong).
    """
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:
            return _load_from(fh, repr(os.fspath(f)), map_location)
    if not hasattr(f, "read"):
        raise TypeError(f"ember.load: f must be a path or a binary file object, got {type(f).__name__}")
    name = repr(getattr(f, "name", "<file object>"))
    if not (hasattr(f, "seekable") and f.seekable()):
        f = io.BytesIO(f.read())  # zip archives are read from their end
    return _load_from(f, name, map_location)
