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
import os
import pickle
import zipfile
from typing import Any, BinaryIO, Callable

import numpy as np

from .._tensor import Tensor
from ..backend.device import CPU, device, move, to_device
from ..serialization import _zip_info
from ._files import atomic_write

__all__ = ["load_torch", "save_torch", "is_torch_checkpoint", "UnsafeCheckpointError"]

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_BFLOAT16 = "BFloat16Storage"
# Storage class name -> element dtype as stored (little-endian).
_STORAGES = {
    "FloatStorage": np.dtype("<f4"), "DoubleStorage": np.dtype("<f8"), "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"), "IntStorage": np.dtype("<i4"), "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"), "ByteStorage": np.dtype("u1"), "BoolStorage": np.dtype("?"),
    _BFLOAT16: np.dtype("<u2"),
}
_STORAGE_OF = {np.dtype(v).newbyteorder("="): k for k, v in _STORAGES.items() if k != _BFLOAT16}


class UnsafeCheckpointError(pickle.UnpicklingError, RuntimeError):
    """A checkpoint names a global that could run code (or is not a tensor, number, string or
    container); raised before anything from the file runs. Both an ``UnpicklingError`` and
    a ``RuntimeError``, so ``ember.load`` keeps raising ``RuntimeError`` for bad files."""


class _StorageType:
    """Stands for ``torch.<name>`` in a pickle: the element type of a storage."""

    def __init__(self, name: str):
        self.name = name
        self.dtype = _STORAGES[name]


class _Stored(np.ndarray):
    """A storage read from a checkpoint: its elements, the device it was saved from
    (``location``) and whether they are bfloat16 bits kept as uint16 (``bf16``)."""

    location = "cpu"
    bf16 = False


def _rebuild_tensor(storage: _Stored, offset: int, size, stride, *_ignored) -> Tensor:
    """A CPU tensor with ``size`` and ``stride`` (in elements) starting ``offset`` elements
    into ``storage``; it is copied out, so it never aliases other tensors' memory."""
    size, stride = tuple(size), tuple(stride)
    if len(size) != len(stride):
        raise pickle.UnpicklingError(f"tensor with size {size} and stride {stride} of different lengths")
    if any(s < 0 for s in size) or any(s < 0 for s in stride) or offset < 0:
        raise pickle.UnpicklingError(f"tensor with negative size, stride or offset: {size}, {stride}, {offset}")
    if all(s > 0 for s in size):
        last = offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= storage.size:
            raise pickle.UnpicklingError(f"tensor of size {size}, stride {stride} and offset {offset} reaches "
                                         f"past its storage of {storage.size} elements")
        item = storage.itemsize
        view = np.lib.stride_tricks.as_strided(storage[offset:], shape=size,
                                               strides=tuple(s * item for s in stride), writeable=False)
        arr = np.array(view, copy=True)
    else:
        arr = np.empty(size, dtype=storage.dtype)
    if storage.bf16:
        arr = (arr.astype(np.uint32) << 16).view(np.float32)
    return Tensor._make(arr.astype(arr.dtype.newbyteorder("="), copy=False))


def _rebuild_parameter(data: Tensor, requires_grad: bool, *_ignored):
    from ..nn import Parameter
    return Parameter(data, requires_grad=requires_grad and data.is_floating_point())


_ALLOWED: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    **{("torch", name): _StorageType(name) for name in _STORAGES},
}


class _Unpickler(pickle.Unpickler):
    """Resolves only the globals in ``_ALLOWED``; storages come from ``read_storage``."""

    def __init__(self, file: BinaryIO, name: str, read_storage: Callable[[_StorageType, str, int], np.ndarray],
                 map_location=None):
        super().__init__(file, encoding="utf-8")
        self.name, self.read_storage, self.map_location = name, read_storage, map_location
        self.storages: dict[str, _Stored] = {}

    def find_class(self, module: str, name: str) -> Any:
        found = _ALLOWED.get((module, name))
        if found is None:
            raise UnsafeCheckpointError(
                f"ember.load: refusing to load '{module}.{name}' from {self.name}: only tensors, numbers, "
                "strings and containers are allowed")
        return self._rebuild_placed if found is _rebuild_tensor else found

    def _rebuild_placed(self, storage, *args) -> Tensor:
        if not isinstance(storage, _Stored):
            raise pickle.UnpicklingError(f"ember.load: {self.name} rebuilds a tensor from a non-storage")
        t = _rebuild_tensor(storage, *args)
        ml, location = self.map_location, storage.location
        if callable(ml) and not isinstance(ml, (str, device)):
            result = ml(t, location)
            return t if result is None else result
        target = ml.get(location, "cpu") if isinstance(ml, dict) else (ml or "cpu")
        t._data = move(t._data, to_device(str(target)))
        return t

    def persistent_load(self, pid) -> _Stored:
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType)):
            raise pickle.UnpicklingError(f"ember.load: {self.name} holds an unknown persistent id {pid!r}")
        kind, key, numel = pid[1], str(pid[2]), pid[4]
        if key not in self.storages:
            arr = self.read_storage(kind, key, numel).view(_Stored)
            arr.location, arr.bf16 = str(pid[3]), kind.name == _BFLOAT16
            self.storages[key] = arr
        return self.storages[key]


def _frombuffer(raw: bytes, kind: _StorageType, numel: int, where: str) -> np.ndarray:
    if not isinstance(numel, int) or len(raw) != numel * kind.dtype.itemsize:
        raise RuntimeError(f"ember.load: {where} holds {len(raw)} bytes, expected {numel} elements of "
                           f"{kind.name}")
    return np.frombuffer(raw, dtype=kind.dtype)


def _load_zip(zf: zipfile.ZipFile, name: str, map_location) -> Any:
    pkl = [n for n in zf.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
    if len(pkl) != 1:
        raise RuntimeError(f"ember.load: {name} is not a PyTorch checkpoint (no <name>/data.pkl entry)")
    prefix = pkl[0][: -len("data.pkl")]
    order = zf.read(prefix + "byteorder").decode() if prefix + "byteorder" in zf.namelist() else "little"
    if order != "little":
        raise RuntimeError(f"ember.load: {name} was written on a {order}-endian machine; only little-endian "
                           "checkpoints are supported")

    def read_storage(kind: _StorageType, key: str, numel: int) -> np.ndarray:
        entry = f"{prefix}data/{key}"
        try:
            raw = zf.read(entry)
        except KeyError:
            raise RuntimeError(f"ember.load: {name} is truncated or corrupted: {entry} is missing") from None
        return _frombuffer(raw, kind, numel, f"{name} entry {entry}")

    return _Unpickler(io.BytesIO(zf.read(pkl[0])), name, read_storage, map_location).load()


def _load_legacy(fh: BinaryIO, name: str, map_location) -> Any:
    def no_storage(kind, key, numel):
        raise pickle.UnpicklingError(f"ember.load: {name} names a storage outside its object")

    def header():
        return _Unpickler(fh, name, no_storage).load()

    try:
        magic = header()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError):
        magic = None
    if magic != _LEGACY_MAGIC:
        raise RuntimeError(f"ember.load: {name} is neither an ember nor a PyTorch checkpoint")
    protocol = header()
    if protocol != 1001:
        raise RuntimeError(f"ember.load: {name} has legacy protocol version {protocol!r}; 1001 is supported")
    header()  # sys_info: byte order and type sizes of the writing machine
    # The storages' bytes follow the object, and tensors are copied out of them while it
    # unpickles: note the storages in a first pass, read their bytes, then unpickle again.
    found: dict[str, tuple[_StorageType, int]] = {}

    def note(kind, key, numel):
        found[key] = (kind, numel)
        return np.zeros(numel, dtype=kind.dtype)

    start = fh.tell()
    _Unpickler(fh, name, note).load()
    keys = header()
    if not (isinstance(keys, list) and all(isinstance(k, str) for k in keys)):
        raise RuntimeError(f"ember.load: {name} has a malformed storage key list")
    storages = {}
    for key in keys:
        if key not in found:
            raise RuntimeError(f"ember.load: {name} holds storage {key!r} that no tensor uses")
        kind, numel = found[key]
        count = np.frombuffer(fh.read(8), dtype="<i8")
        if count.size != 1 or int(count[0]) != numel:
            raise RuntimeError(f"ember.load: {name} is truncated or corrupted at storage {key!r}")
        storages[key] = _frombuffer(fh.read(numel * kind.dtype.itemsize), kind, numel, f"{name} storage {key!r}")
    fh.seek(start)
    return _Unpickler(fh, name, lambda kind, key, numel: storages[key], map_location).load()


def is_torch_checkpoint(fh: BinaryIO) -> bool:
    """Whether the seekable binary file ``fh`` holds a ``torch.save`` checkpoint (zip or legacy)."""
    start = fh.tell()
    try:
        if zipfile.is_zipfile(fh):
            fh.seek(start)
            with zipfile.ZipFile(fh) as zf:
                return any(n.endswith("/data.pkl") and n.count("/") == 1 for n in zf.namelist())
        fh.seek(start)
        return fh.read(3) == b"\x80\x02\x8a"  # protocol 2, then the magic number as a LONG1
    finally:
        fh.seek(start)


def load_torch(f: str | os.PathLike | BinaryIO, map_location: str | device | dict | Callable | None = None) -> Any:
    """Load a checkpoint written by ``torch.save`` without PyTorch and without running its code.

    Args:
        f: a path or a seekable binary file object.
        map_location: where tensors go: ``None`` (the CPU), a device or device string, a dict
            from saved locations (``"cpu"``, ``"cuda:0"``) to devices (unlisted ones go to the
            CPU), or a callable ``fn(tensor, location)`` given each tensor on the CPU that
            returns the tensor to use, or ``None`` to keep it.

    Raises:
        UnsafeCheckpointError: the file names a global other than those that rebuild tensors
            and ordered dicts (the message names it); a RuntimeError and an UnpicklingError.
        RuntimeError: the file is not a PyTorch checkpoint, or is truncated or corrupted.
    """
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:
            return read_checkpoint(fh, repr(os.fspath(f)), map_location)
    return read_checkpoint(f, repr(getattr(f, "name", "<file object>")), map_location)


def read_checkpoint(fh: BinaryIO, name: str, map_location) -> Any:
    """:func:`load_torch` on an open seekable file; ``name`` is how messages refer to it."""
    start = fh.tell()
    try:
        if zipfile.is_zipfile(fh):
            fh.seek(start)
            with zipfile.ZipFile(fh) as zf:
                return _load_zip(zf, name, map_location)
        fh.seek(start)
        return _load_legacy(fh, name, map_location)
    except (UnsafeCheckpointError, RuntimeError):
        raise
    except (pickle.UnpicklingError, zipfile.BadZipFile, EOFError, ValueError, TypeError, KeyError,
            IndexError, AttributeError) as e:
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
        zf.writestr(_zip_info(f"{name}/data.pkl"), buf.getvalue())
        zf.writestr(_zip_info(f"{name}/byteorder"), b"little")
        for s in pickler.storages:
            data = s.array.astype(s.array.dtype.newbyteorder("<"), copy=False)
            zf.writestr(_zip_info(f"{name}/data/{s.key}"), data.view(np.uint8).tobytes())
        zf.writestr(_zip_info(f"{name}/version"), b"3\n")


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
