"""PyTorch checkpoints (``torch.save`` files) read and written without PyTorch.

Reading never runs code from the file: the pickle inside is loaded by an unpickler that
resolves only the globals that rebuild tensors and ordered dicts, so a checkpoint can hold
tensors, numbers, strings and containers (dict, OrderedDict, list, tuple) of them; any other
global raises :class:`UnsafeCheckpointError` naming it, before anything runs.

Two layouts are read:

* the zip archive ``torch.save`` writes by default: ``<name>/data.pkl`` (the pickle, whose
  persistent ids ``('storage', StorageType, key, location, numel)`` name storages), each
  storage's raw bytes in ``<name>/data/<key>``, and ``<name>/byteorder``;
* the legacy stream (``_use_new_zipfile_serialization=False``): pickled magic number,
  protocol version and system info, the pickled object, the pickled list of storage keys,
  then for each key an int64 element count followed by the storage's bytes.

bfloat16 storages load as float32 (exactly: bfloat16 is the upper half of a float32).
Writing (:func:`save_torch`) produces the zip layout, which ``torch.load(weights_only=True)``
accepts.
"""
from __future__ import annotations

import collections
import io
import math
import os
import pickle
import struct
import zipfile
from typing import Any, BinaryIO, Callable

import numpy as np

from .._tensor import Tensor
from ..backend.device import CPU, device, move, to_device
from ._files import MAX_DIMS, BoundedFile, ZipArchive, atomic_write, read_array, zip_info
from ._unpickler import AllowList, RestrictedUnpickler, UnsafePickleError

__all__ = ["load_torch", "save_torch", "UnsafeCheckpointError"]

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_HEAD = b"\x80\x02\x8a"  # a legacy checkpoint: protocol 2, then the magic number as a LONG1
_BFLOAT16 = "BFloat16Storage"
# Storage class name -> element dtype as stored (little-endian).
_STORAGES = {
    "FloatStorage": np.dtype("<f4"), "DoubleStorage": np.dtype("<f8"), "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"), "IntStorage": np.dtype("<i4"), "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"), "ByteStorage": np.dtype("u1"), "BoolStorage": np.dtype("?"),
    _BFLOAT16: np.dtype("<u2"),
}
_STORAGE_OF = {np.dtype(v).newbyteorder("="): k for k, v in _STORAGES.items() if k != _BFLOAT16}
_INDEX_LIMIT = 2 ** 63  # sizes, strides and offsets are int64 in PyTorch

# PyTorch's name for the one restricted-unpickler error (a pickle.UnpicklingError and a RuntimeError).
UnsafeCheckpointError = UnsafePickleError


class _StorageType:
    """Stands for ``torch.<name>`` in a pickle: the element type of a storage (a token: it
    can be passed to a storage id, never called or altered)."""

    __slots__ = ("name", "dtype")

    def __init__(self, name: str):
        self.name = name
        self.dtype = _STORAGES[name]


_STORAGE_TOKENS = {("torch", name): _StorageType(name) for name in _STORAGES}


class _Loaded:
    """A storage of this load: its elements (None while only its size is known), the device
    it was saved from, and the version counter its tensors share."""

    __slots__ = ("array", "numel", "kind", "location", "vc")

    def __init__(self, array, numel: int, kind: _StorageType, location: str):
        self.array, self.numel, self.kind, self.location, self.vc = array, numel, kind, location, [0]


def _overlapping(size: tuple, stride: tuple) -> bool:
    """Whether two indices of a (non-empty) strided layout can reach the same element."""
    extent = 1  # one past the furthest element the dimensions seen so far reach
    for n, s in sorted(((n, s) for n, s in zip(size, stride) if n > 1), key=lambda p: p[1]):
        if s < extent:
            return True
        extent += s * (n - 1)
    return False


def _rebuild_parameter(data: Tensor, requires_grad: bool, *_ignored):
    from ..nn import Parameter
    if not isinstance(data, Tensor) or type(requires_grad) is not bool:
        raise pickle.UnpicklingError("_rebuild_parameter expects a tensor and a bool")
    return Parameter(data, requires_grad=requires_grad and data.is_floating_point())


class _Reader:
    """One checkpoint's unpickling: the allow-list, bound to this load's storages and placement.

    ``read_storage(kind, key, numel)`` returns a storage's elements, or None to only check
    the object's structure (the legacy layout's first pass)."""

    def __init__(self, name: str, read_storage: Callable[[_StorageType, str, int], np.ndarray | None],
                 map_location=None):
        self.name, self.read_storage, self.map_location = name, read_storage, map_location
        self.storages: dict[str, _Loaded] = {}
        self.allow = AllowList(
            {("collections", "OrderedDict"): collections.OrderedDict,
             ("torch._utils", "_rebuild_tensor_v2"): self.rebuild_tensor,
             ("torch._utils", "_rebuild_tensor"): self.rebuild_tensor,
             ("torch._utils", "_rebuild_parameter"): _rebuild_parameter},
            _STORAGE_TOKENS, (collections.OrderedDict,),
            "only tensors, numbers, strings and containers are allowed")

    def error(self, what: str) -> RuntimeError:
        return RuntimeError(f"ember.load: {self.name} {what}")

    def load(self, fh: BinaryIO) -> Any:
        return RestrictedUnpickler(fh, self.name, self.allow, self.persistent_load, "utf-8").load()

    def persistent_load(self, pid) -> _Loaded:
        if not (type(pid) is tuple and len(pid) >= 5 and pid[0] == "storage" and type(pid[1]) is _StorageType
                and type(pid[2]) is str and type(pid[3]) is str and type(pid[4]) is int):
            raise self.error(f"holds an unknown persistent id {pid!r:.200}")
        kind, key, location, numel = pid[1:5]
        if not 0 <= numel < _INDEX_LIMIT:
            raise self.error(f"declares storage {key!r} of {numel} elements")
        found = self.storages.get(key)
        if found is None:
            found = self.storages[key] = _Loaded(self.read_storage(kind, key, numel), numel, kind, location)
        elif found.kind is not kind or found.numel != numel:
            raise self.error(f"declares storage {key!r} twice, as {found.numel} {found.kind.name} and {numel} "
                             f"{kind.name}")
        return found

    def rebuild_tensor(self, storage, offset, size, stride, requires_grad=False, *_ignored) -> Tensor:
        """``torch._utils._rebuild_tensor_v2``: a view of ``size`` and ``stride`` (in elements)
        into ``storage`` from ``offset``, as ``torch.load`` makes: tensors share their storage,
        so loading copies nothing, and an expanded (stride-0) tensor stays a view."""
        ints = (lambda xs: type(xs) is tuple and all(type(x) is int for x in xs))
        if type(storage) is not _Loaded or type(offset) is not int or not ints(size) or not ints(stride) \
                or type(requires_grad) is not bool:
            raise self.error("rebuilds a tensor from arguments other than a storage, an offset, size and "
                             "stride tuples of ints and a bool")
        if len(size) != len(stride) or len(size) > MAX_DIMS:
            raise self.error(f"declares a tensor with size {size} and stride {stride}: "
                             f"{'too many dimensions' if len(size) > MAX_DIMS else 'lengths differ'}")
        if not all(0 <= x < _INDEX_LIMIT for x in (offset, *size, *stride)):
            raise self.error(f"declares a tensor with a negative or out-of-range size, stride or offset: "
                             f"{size}, {stride}, {offset}")
        numel, item = math.prod(size), storage.kind.dtype.itemsize
        if numel * item >= _INDEX_LIMIT:
            raise self.error(f"declares a tensor of size {size}: too many elements")
        if numel and offset + sum((n - 1) * s for n, s in zip(size, stride)) >= storage.numel:
            raise self.error(f"declares a tensor of size {size}, stride {stride} and offset {offset} that reaches "
                             f"past its storage of {storage.numel} elements")
        if storage.array is None:  # only checking: a zero-byte stand-in of the right shape
            return Tensor._make(np.broadcast_to(np.zeros((), np.float32), size))
        arr = storage.array
        if numel == 0:
            view = np.empty(size, arr.dtype)
        else:
            # An expanded or otherwise self-overlapping tensor is read-only, as ember's expand
            # makes it: writing to one element would change others.
            view = np.lib.stride_tricks.as_strided(arr[offset:], shape=size, strides=tuple(s * arr.itemsize
                                                   for s in stride), writeable=not _overlapping(size, stride))
        t = Tensor._make(view)
        t._vc = storage.vc
        if requires_grad and view.dtype.kind == "f":
            t._requires_grad = True
        return self.place(t, storage.location)

    def place(self, t: Tensor, location: str) -> Tensor:
        ml = self.map_location
        if callable(ml) and not isinstance(ml, (str, device)):
            result = ml(t, location)
            return t if result is None else result
        target = ml.get(location, "cpu") if isinstance(ml, dict) else (ml or "cpu")
        t._data = move(t._data, to_device(str(target)))
        return t


def _checked_storage(kind: _StorageType, numel: int, have: int, where: str, name: str) -> None:
    if numel * kind.dtype.itemsize != have:
        raise RuntimeError(f"ember.load: {name} is truncated or corrupted: {where} holds {have} bytes, expected "
                           f"{numel} elements of {kind.name}")


def load_zip(archive: ZipArchive, name: str, map_location) -> Any:
    """A checkpoint in ``torch.save``'s zip layout from an opened, checked archive."""
    pkl = [n for n in archive.names() if n.endswith("/data.pkl") and n.count("/") == 1]
    if len(pkl) != 1:
        raise RuntimeError(f"ember.load: {name} is not a PyTorch checkpoint (no single <name>/data.pkl entry)")
    prefix = pkl[0][: -len("data.pkl")]
    if prefix + "byteorder" in archive.names():
        order = archive.read(prefix + "byteorder")
        if order != b"little":
            raise RuntimeError(f"ember.load: {name} was written on a {order[:10]!r}-endian machine; only "
                               "little-endian checkpoints are supported")

    def read_storage(kind: _StorageType, key: str, numel: int) -> np.ndarray:
        entry = f"{prefix}data/{key}"
        _checked_storage(kind, numel, archive.size(entry), f"entry {entry}", name)
        return archive.read_array(entry, (numel,), kind.dtype, bf16=kind.name == _BFLOAT16)

    return _Reader(name, read_storage, map_location).load(io.BytesIO(archive.read(pkl[0])))


def load_legacy(fh: BinaryIO, name: str, map_location) -> Any:
    """A checkpoint in the legacy layout (``_use_new_zipfile_serialization=False``)."""
    bounded = BoundedFile(fh)

    def no_storage(kind, key, numel):
        raise RuntimeError(f"ember.load: {name} names a storage outside its object")

    def header():
        return _Reader(name, no_storage).load(fh)

    if header() != _LEGACY_MAGIC:
        raise RuntimeError(f"ember.load: {name} is neither an ember nor a PyTorch checkpoint")
    protocol = header()
    if protocol != 1001:
        raise RuntimeError(f"ember.load: {name} has legacy protocol version {protocol!r:.50}; 1001 is supported")
    header()  # sys_info: byte order and type sizes of the writing machine
    # The storages' bytes follow the object: a first pass checks the object and notes each
    # storage's size without allocating, then the bytes are read and the object rebuilt.
    found: dict[str, tuple[_StorageType, int]] = {}

    def note(kind, key, numel):
        if numel * kind.dtype.itemsize > bounded.left():
            raise RuntimeError(f"ember.load: {name} declares storage {key!r} of {numel} {kind.name} elements, "
                               f"more than the file holds")
        found[key] = (kind, numel)
        return None

    start = fh.tell()
    _Reader(name, note).load(fh)
    keys = header()
    if not (type(keys) is list and all(type(k) is str for k in keys)) or len(set(keys)) != len(keys):
        raise RuntimeError(f"ember.load: {name} has a malformed storage key list")
    storages = {}
    for key in keys:
        if key not in found:
            raise RuntimeError(f"ember.load: {name} holds storage {key!r} that no tensor uses")
        kind, numel = found[key]
        count = np.frombuffer(bounded.read(8), dtype="<i8")
        if count.size != 1 or int(count[0]) != numel:
            raise RuntimeError(f"ember.load: {name} is truncated or corrupted at storage {key!r}")
        _checked_storage(kind, numel, min(bounded.left(), numel * kind.dtype.itemsize), f"storage {key!r}", name)
        storages[key] = read_array(bounded.read, (numel,), kind.dtype, f"ember.load: {name} storage {key!r}",
                                   bf16=kind.name == _BFLOAT16)
    missing = set(found) - set(storages)
    if missing:
        raise RuntimeError(f"ember.load: {name} is truncated or corrupted: storages {sorted(missing)} are missing")
    fh.seek(start)
    return _Reader(name, lambda kind, key, numel: storages[key], map_location).load(fh)


def load_torch(f: str | os.PathLike | BinaryIO, map_location: str | device | dict | Callable | None = None) -> Any:
    """Load a checkpoint written by ``torch.save`` without PyTorch and without running its code.

    Tensors are views of their storages, as ``torch.load`` gives them: tensors saved from one
    storage share it again, an expanded tensor loads as a stride-0 view, and the file's
    bytes are held in memory once.

    Args:
        f: a path or a seekable binary file object.
        map_location: where tensors go: ``None`` (the CPU), a device or device string, a dict
            from saved locations (``"cpu"``, ``"cuda:0"``) to devices (unlisted ones go to the
            CPU), or a callable ``fn(tensor, location)`` given each tensor on the CPU that
            returns the tensor to use, or ``None`` to keep it.

    Raises:
        UnsafeCheckpointError: the file names a global other than those that rebuild tensors
            and ordered dicts, or tries to call or alter anything else (the message names it);
            a RuntimeError and an UnpicklingError.
        RuntimeError: the file is not a PyTorch checkpoint, or is truncated, corrupted or
            inconsistent (the message names the file and what is wrong).
    """
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:
            return read_checkpoint(fh, repr(os.fspath(f)), map_location)
    return read_checkpoint(f, repr(getattr(f, "name", "<file object>")), map_location)


def read_checkpoint(fh: BinaryIO, name: str, map_location, archive: ZipArchive | None = None) -> Any:
    """:func:`load_torch` on an open seekable file (or its already opened ``archive``);
    ``name`` is how messages refer to it. Every error is a RuntimeError naming the file."""
    try:
        if archive is not None:
            return load_zip(archive, name, map_location)
        start = fh.tell()
        head = fh.read(4)
        fh.seek(start)
        if head.startswith(b"PK"):
            with ZipArchive(fh, name, "ember.load") as opened:
                return load_zip(opened, name, map_location)
        if not head.startswith(LEGACY_HEAD):
            raise RuntimeError(f"ember.load: {name} is neither an ember nor a PyTorch checkpoint")
        return load_legacy(fh, name, map_location)
    except RuntimeError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError,
            struct.error, UnicodeDecodeError, OverflowError, RecursionError) as e:
        raise RuntimeError(f"ember.load: {name} is a truncated or corrupted PyTorch checkpoint "
                           f"({type(e).__name__}: {e})") from None


# ---- save --------------------------------------------------------------------------


class _Global:
    """A ``module.name`` global written into the pickle without importing its module."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __call__(self, *args):
        # Callable only so that the pickler accepts it as a reduce function.
        raise TypeError(f"{self.module}.{self.name} is only written into PyTorch checkpoints")


class _Call:
    """``func(*args)`` written into the pickle as a REDUCE."""

    def __init__(self, func: _Global, args: tuple):
        self.func, self.args = func, args


_REBUILD_TENSOR = _Global("torch._utils", "_rebuild_tensor_v2")
_REBUILD_PARAMETER = _Global("torch._utils", "_rebuild_parameter")


class _Storage:
    """One storage to write: a contiguous array and its key in the archive."""

    def __init__(self, key: str, array: np.ndarray):
        self.key, self.array = key, array


class _Pickler(pickle._Pickler):
    """Writes tensors as ``torch._utils._rebuild_tensor_v2`` calls on persistent storages.

    The pure-Python pickler is used because it lets :meth:`save` write a GLOBAL opcode
    for a name whose module (torch) is not importable here.
    """

    def __init__(self, file: BinaryIO):
        super().__init__(file, protocol=2)
        self.storages: list[_Storage] = []
        self._by_root: dict[int, _Storage] = {}
        self._keep: list = []  # holds copied arrays so the ids in _by_root stay theirs

    def save(self, obj, save_persistent_id=True):
        if isinstance(obj, _Global):
            self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode("ascii"))
            return
        if isinstance(obj, (Tensor, _Storage, _Call)) or type(obj) in _SAFE_TYPES or obj is collections.OrderedDict:
            return super().save(obj, save_persistent_id)
        raise TypeError(f"ember.io.save_torch: cannot save an object of type {type(obj).__name__}")

    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            return ("storage", _Global("torch", _STORAGE_OF[obj.array.dtype.newbyteorder("=")]), obj.key,
                    "cpu", obj.array.size)
        return None

    def reducer_override(self, obj):
        if isinstance(obj, _Call):
            return (obj.func, obj.args)
        if not isinstance(obj, Tensor):
            return NotImplemented
        from ..nn import Parameter
        storage, offset, stride = self._storage_of(move(obj._data, CPU))
        tensor_args = (storage, offset, tuple(obj.shape), stride, obj.requires_grad and not
                       isinstance(obj, Parameter), collections.OrderedDict())
        if isinstance(obj, Parameter):
            return (_REBUILD_PARAMETER, (_Call(_REBUILD_TENSOR, tensor_args), obj.requires_grad, collections.OrderedDict()))
        return (_REBUILD_TENSOR, tensor_args)

    def _storage_of(self, arr: np.ndarray) -> tuple[_Storage, int, tuple]:
        """The storage an array lies in, its offset and strides in elements: views of one
        C-contiguous array share that array's storage, as they do in PyTorch."""
        if arr.dtype.newbyteorder("=") not in _STORAGE_OF:
            raise TypeError(f"ember.io.save_torch: cannot save a tensor of dtype {arr.dtype}")
        root = arr
        while isinstance(root.base, np.ndarray):
            root = root.base
        item = arr.itemsize
        delta = arr.__array_interface__["data"][0] - root.__array_interface__["data"][0]
        shares = (root is not arr and root.flags.c_contiguous and root.dtype == arr.dtype
                  and delta % item == 0 and all(s >= 0 and s % item == 0 for s in arr.strides))
        if not shares:
            arr = root = np.asarray(arr, order="C")  # no copy when already contiguous
            delta = 0
        storage = self._by_root.get(id(root))
        if storage is None:
            storage = self._by_root[id(root)] = _Storage(str(len(self.storages)), root.reshape(-1))
            self.storages.append(storage)
            self._keep.append(root)
        return storage, delta // item, tuple(s // item for s in arr.strides)


_SAFE_TYPES = {type(None), bool, int, float, str, list, tuple, dict, collections.OrderedDict}


def _write_zip(fh: BinaryIO, obj: Any, name: str) -> None:
    buf = io.BytesIO()
    pickler = _Pickler(buf)
    pickler.dump(obj)
    with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        zf.writestr(zip_info(f"{name}/data.pkl"), buf.getvalue())
        zf.writestr(zip_info(f"{name}/byteorder"), b"little")
        for s in pickler.storages:
            data = s.array.astype(s.array.dtype.newbyteorder("<"), copy=False)
            zf.writestr(zip_info(f"{name}/data/{s.key}"), data.view(np.uint8).tobytes())
        zf.writestr(zip_info(f"{name}/version"), b"3\n")


def save_torch(obj: Any, f: str | os.PathLike | BinaryIO) -> None:
    """Write ``obj`` in ``torch.save``'s zip format, loadable by ``torch.load(f, weights_only=True)``.

    Args:
        obj: tensors, parameters, and dicts, OrderedDicts (a ``state_dict()``), lists and
            tuples of them, numbers, strings and None. Views of one array keep
            sharing storage.
        f: a path (written atomically) or a binary file object.

    Raises:
        TypeError: ``obj`` holds another type, or a tensor of a dtype PyTorch lacks.
    """
    if isinstance(f, (str, os.PathLike)):
        atomic_write(f, lambda fh: _write_zip(fh, obj, "archive"))
    else:
        _write_zip(f, obj, "archive")
