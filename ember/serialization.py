"""``ember.save`` / ``ember.load``: PyTorch's checkpoint format, read and written without PyTorch.

``save`` writes what ``torch.save`` writes (a zip of ``archive/data.pkl`` and one entry per
storage, see :mod:`ember.io.torch_format`), so files move both ways between ember and
PyTorch. ``load`` is ``weights_only=True`` by default, as ``torch.load`` since PyTorch
2.6: only tensors, containers, numbers, strings and globals allowed with
:func:`add_safe_globals` load, and nothing in the file runs. ``weights_only=False`` is the
user's declaration of trust: the file is unpickled fully.

ember's earlier format (version 1) is still read; it is described below.

Format version 1
----------------
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
import pickle
import zipfile
from typing import Any, Callable

import numpy as np

from ._tensor import Tensor
from .backend import dtypes
from .backend.device import device
from .io import torch_format
from .io._files import MAX_DIMS, ZipArchive
from .io._safe_globals import add_safe_globals, clear_safe_globals, get_safe_globals, safe_globals

__all__ = ["save", "load", "add_safe_globals", "get_safe_globals", "clear_safe_globals", "safe_globals"]

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


def save(obj: Any, f, pickle_module=pickle, pickle_protocol: int = 2, _use_new_zipfile_serialization: bool = True,
         _disable_byteorder_record: bool = False) -> None:
    """Save ``obj`` to ``f`` in PyTorch's checkpoint format (``torch.load`` reads it).

    Args:
        obj: anything picklable: tensors, ``nn.Parameter``, state dicts, whole modules,
            NumPy arrays, your own objects. Tensors are written as PyTorch writes them;
            views of one tensor share one storage in the file.
        f: a path (``str`` or ``os.PathLike``) or a binary file object. A path is written
            atomically: a temporary file in the same directory
            (``.<name>.ember-partial-<pid>-<random>``) is written and synced, then renamed over
            ``f``, so a crash leaves either the old file or the new one. Through a symlink the
            link's target is replaced; an existing file keeps its permission bits.
        pickle_module: must be :mod:`pickle`.
        pickle_protocol: the protocol of the pickled object (PyTorch's default, 2).
        _use_new_zipfile_serialization, _disable_byteorder_record: accepted for PyTorch
            compatibility; ember always writes the zip layout with its byte order, which
            every PyTorch since 1.6 reads.

    Files holding only tensors, containers, numbers and strings load with
    ``torch.load(f, weights_only=True)`` and ``ember.load(f)``; other objects need
    ``weights_only=False`` (or allow-listed globals) on either side.
    """
    if pickle_module is not pickle:
        raise TypeError(f"ember.save: pickle_module must be the pickle module, got {pickle_module!r:.100}")
    if not isinstance(f, (str, os.PathLike)) and not hasattr(f, "write"):
        raise TypeError(f"ember.save: f must be a path or a binary file object, got {type(f).__name__}")
    torch_format.save_torch(obj, f, pickle_protocol)


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
        return torch_format.move_to(array, target, location, self.name)


def _not_a_zip(fh, name: str) -> RuntimeError:
    head = fh.read(4)
    if not head:
        return RuntimeError(f"ember.load: {name} is empty")
    if head.startswith(b"PK"):
        return RuntimeError(f"ember.load: {name} is truncated or corrupted (its zip directory is unreadable)")
    if head[:1] == b"\x80":
        return RuntimeError(f"ember.load: {name} is not a checkpoint: it looks like a bare pickle file, not "
                            "what torch.save or ember.save write. A bare pickle can run code when loaded; use "
                            "pickle.load only on a file you trust.")
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


def _load_from(fh, name: str, map_location, weights_only: bool, mmap: bool) -> Any:
    start = fh.tell()
    if not zipfile.is_zipfile(fh):
        fh.seek(start)
        if fh.read(3) == torch_format.LEGACY_HEAD:
            fh.seek(start)
            return torch_format.read_checkpoint(fh, name, map_location, None, weights_only, mmap)
        fh.seek(start)
        raise _not_a_zip(fh, name)
    fh.seek(start)
    with ZipArchive(fh, name, "ember.load") as archive:
        if _MANIFEST not in archive.names() and any(n.endswith("/data.pkl") for n in archive.names()):
            return torch_format.read_checkpoint(fh, name, map_location, archive, weights_only, mmap)
        manifest = _read_manifest(archive, name)
        try:
            return _Decoder(archive, manifest, map_location, name).value(manifest.get("root"))
        except _Malformed as e:
            raise RuntimeError(f"ember.load: {name} has a malformed manifest: {e}") from None
        except RecursionError:
            raise RuntimeError(f"ember.load: {name} has a malformed manifest: nested too deeply") from None
        except (TypeError, ValueError, OverflowError, KeyError, IndexError, AttributeError) as e:
            raise RuntimeError(f"ember.load: {name} has a malformed manifest ({type(e).__name__}: {e})") from e


def load(f, map_location: str | device | dict | Callable | None = None, pickle_module=None, *,
         weights_only: bool | None = None, mmap: bool | None = None) -> Any:
    """Load an object written by :func:`save` or ``torch.save``.

    Args:
        f: a path (``str`` or ``os.PathLike``) or a binary file object.
        map_location: where tensors go: ``None`` (the device they were saved from), a device
            or device string, a dict from saved location strings to target devices, or a
            callable ``fn(tensor, location)`` given each tensor on the CPU and its saved
            location (``"cpu"``, ``"cuda:0"``) that returns the tensor to use, or ``None``
            for the default placement.
        pickle_module: must be None or :mod:`pickle`.
        weights_only: ``True`` (the default, as PyTorch's since 2.6): only tensors,
            containers, numbers, strings, dtypes, devices and the globals allowed with
            :func:`add_safe_globals` load, and nothing in the file runs. ``False``: unpickle
            fully, importing and running what the file names; only for files you trust.
        mmap: map the file into memory and make each tensor a view of its bytes (copy-on-write,
            as ``torch.load(mmap=True)``), so loading copies nothing. ``f`` must be a file on disk.

    ember's earlier checkpoint format (version 1, a JSON manifest) is read as well. Sizes are
    checked against the bytes present before anything is allocated, and each tensor's bytes
    are read straight into its array, so loading a file of N bytes takes about N bytes of memory.

    Raises:
        pickle.UnpicklingError: with ``weights_only=True``, the file holds a global that is not
            allowed (the message names it and says how to allow it); also a RuntimeError.
        RuntimeError: ``f`` is not a checkpoint, or is truncated, corrupted or malformed (the
            message names the file and what is wrong).
    """
    if pickle_module not in (None, pickle):
        raise TypeError(f"ember.load: pickle_module must be the pickle module, got {pickle_module!r:.100}")
    weights_only = True if weights_only is None else bool(weights_only)
    mmap = bool(mmap)
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:
            return _load_from(fh, repr(os.fspath(f)), map_location, weights_only, mmap)
    if not hasattr(f, "read"):
        raise TypeError(f"ember.load: f must be a path or a binary file object, got {type(f).__name__}")
    name = repr(getattr(f, "name", "<file object>"))
    if not (hasattr(f, "seekable") and f.seekable()):
        if mmap:
            raise RuntimeError(f"ember.load: mmap=True needs a file path or a file opened on disk, got {name}")
        f = io.BytesIO(f.read())  # zip archives are read from their end
    return _load_from(f, name, map_location, weights_only, mmap)
