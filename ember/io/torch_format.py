"""PyTorch checkpoints (``torch.save`` files) read and written without PyTorch.

Reading runs no code from the file unless the caller passes ``weights_only=False``: the
pickle inside is loaded by the restricted unpickler, which resolves only the globals that
rebuild tensors, ordered dicts, sets, bytes, dtypes, devices and sizes, plus those the user
allowed (:mod:`ember.io._safe_globals`); any other global raises
:class:`UnsafeCheckpointError` naming it and saying how to allow it, before anything runs.
``weights_only=False`` (the user's trust) unpickles with Python's own unpickler, reading
PyTorch's tensor names as ember's.

Two layouts are read:

* the zip archive ``torch.save`` writes by default: ``<name>/data.pkl`` (the pickle, whose
  persistent ids ``('storage', StorageType, key, location, numel)`` name storages), each
  storage's raw bytes in ``<name>/data/<key>``, and ``<name>/byteorder``;
* the legacy stream (``_use_new_zipfile_serialization=False``): pickled magic number,
  protocol version and system info, the pickled object, the pickled list of storage keys,
  then for each key an int64 element count followed by the storage's bytes.

bfloat16 storages load as ember.bfloat16 tensors, bit for bit, and bfloat16 tensors save as them.
Writing (:func:`save_torch`, behind ``ember.save``) produces the zip layout, storages
64-byte aligned for ``mmap``; ``torch.load(weights_only=True)`` accepts it when it holds
tensors, containers, numbers and strings.
"""
from __future__ import annotations

import collections
import io
import math
import mmap
import os
import pickle
import struct
import types
import zipfile
from typing import Any, BinaryIO, Callable

import numpy as np

from .._tensor import Size, Tensor
from ..backend import dtypes
from ..backend.device import CPU, device, move, to_device
from ._files import MAX_DIMS, BoundedFile, ZipArchive, atomic_write, read_array, zip_info
from ._safe_globals import user_globals, weights_only_advice
from ._unpickler import NUMPY_DATA, AllowList, RestrictedUnpickler, UnsafePickleError

__all__ = ["load_torch", "save_torch", "UnsafeCheckpointError"]

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_HEAD = b"\x80\x02\x8a"  # a legacy checkpoint: protocol 2, then the magic number as a LONG1
# Storage class name -> element dtype as stored (little-endian; bfloat16 has no byte-order flag).
_STORAGES = {
    "FloatStorage": np.dtype("<f4"), "DoubleStorage": np.dtype("<f8"), "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"), "IntStorage": np.dtype("<i4"), "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"), "ByteStorage": np.dtype("u1"), "BoolStorage": np.dtype("?"),
    "BFloat16Storage": dtypes.bfloat16.np,
}
_STORAGE_OF = {np.dtype(v).newbyteorder("="): k for k, v in _STORAGES.items()}
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


def _device(spec, index=None):
    if type(spec) is not str or not (index is None or type(index) is int):
        raise UnsafePickleError("torch.device expects a string and an optional int index")
    return device(spec) if index is None else device(spec, index)


def _size(dims=()):
    if type(dims) is not tuple or not all(type(d) is int for d in dims):
        raise UnsafePickleError("torch.Size expects a tuple of ints")
    return Size(dims)


def _set_builder(kind: type) -> Callable:
    def build(items=()):
        if type(items) not in (list, tuple):
            raise UnsafePickleError(f"{kind.__name__}() expects a list")
        return kind(items)
    return build


_SETS = {(module, kind.__name__): _set_builder(kind) for module in ("builtins", "__builtin__")
         for kind in (set, frozenset)}
# Protocol 2 writes bytes as _codecs.encode(text, "latin1"); torch.load allows it, not bytes() (b"").
_BYTES = {("_codecs", "encode"): NUMPY_DATA.builders[("_codecs", "encode")]}
_DTYPE_TOKENS = {("torch", name): dt for name, dt in dtypes._BY_NAME.items()}


class _Reader:
    """One checkpoint's unpickling: the allow-list, bound to this load's storages and placement.

    ``read_storage(kind, key, numel)`` returns a storage's elements, or None to only check
    the object's structure (the legacy layout's first pass). ``weights_only=False`` is the
    user's explicit trust: the file is unpickled fully (its classes imported, its code run),
    with PyTorch's tensor, storage, dtype and device names read as ember's."""

    def __init__(self, name: str, read_storage: Callable[[_StorageType, str, int], np.ndarray | None],
                 map_location=None, weights_only: bool = True):
        self.name, self.read_storage, self.map_location = name, read_storage, map_location
        self.weights_only = weights_only
        self.storages: dict[str, _Loaded] = {}
        builders = {("collections", "OrderedDict"): collections.OrderedDict,
                    ("torch._utils", "_rebuild_tensor_v2"): self.rebuild_tensor,
                    ("torch._utils", "_rebuild_tensor"): self.rebuild_tensor,
                    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
                    ("torch", "device"): _device, ("torch", "Size"): _size, **_SETS, **_BYTES}
        tokens = {**_STORAGE_TOKENS, **_DTYPE_TOKENS}
        buildable: tuple[type, ...] = (collections.OrderedDict,)
        trusted = user_globals()
        numpy_keys = [k for k in trusted if k in NUMPY_DATA.builders or k in NUMPY_DATA.tokens]
        if numpy_keys:  # allowed NumPy globals resolve to the checked builders data files use
            for k in numpy_keys:
                (builders if k in NUMPY_DATA.builders else tokens)[k] = \
                    NUMPY_DATA.builders.get(k, NUMPY_DATA.tokens.get(k))
                del trusted[k]
            buildable += NUMPY_DATA.buildable
        self.allow = AllowList(builders, tokens, buildable, "only tensors, numbers, strings and containers are "
                               "allowed while weights_only=True", trusted, weights_only_advice)

    def error(self, what: str) -> RuntimeError:
        return RuntimeError(f"ember.load: {self.name} {what}")

    def load(self, fh: BinaryIO) -> Any:
        if self.weights_only:
            return RestrictedUnpickler(fh, self.name, self.allow, self.persistent_load, "utf-8").load()
        return _TrustingUnpickler(fh, self).load()

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
            # Built on the storage array itself, so the view's base is the storage (and saving
            # views again writes one storage, as torch.save does).
            view = np.ndarray(size, arr.dtype, buffer=arr, offset=offset * arr.itemsize,
                              strides=tuple(s * arr.itemsize for s in stride))
            view.flags.writeable = arr.flags.writeable and not _overlapping(size, stride)
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
        target = ml.get(location, location) if isinstance(ml, dict) else (ml or location)
        t._data = move_to(t._data, target, location, self.name)
        return t


def move_to(array, target, location: str, name: str):
    """``array`` moved to the ``target`` device of a load from ``name``, where it was saved on
    ``location``; without CUDA, a CUDA target says how to load on the CPU instead."""
    try:
        dev = to_device(str(target))
    except (RuntimeError, TypeError) as e:
        raise RuntimeError(f"ember.load: {name} asks for the unknown device {str(target)!r:.50}: {e}") from None
    if dev.type == "cuda":
        from .. import cuda
        if not cuda.is_available():
            raise RuntimeError(f"ember.load: {name} holds tensors saved on {location}, but CUDA is not available. "
                               "Pass map_location='cpu' to load them on the CPU.")
    return move(array, dev)


class _TrustingUnpickler(pickle.Unpickler):
    """Python's own unpickler (``weights_only=False``): any class the file names is imported;
    PyTorch's names resolve to ember's, and one ember lacks is refused by name."""

    def __init__(self, fh: BinaryIO, reader: _Reader):
        super().__init__(fh, encoding="utf-8")
        self.reader = reader

    def find_class(self, module: str, name: str) -> Any:
        allow = self.reader.allow
        for table in (allow.builders, allow.tokens):
            if (module, name) in table:
                return table[(module, name)]
        if module == "torch" or module.startswith("torch."):
            raise UnsafePickleError(
                f"ember.load: {self.reader.name} holds PyTorch's {module}.{name}, which ember does not have "
                "(a whole PyTorch module or object saved with torch.save). Save its state_dict() with PyTorch "
                "instead and load that into the matching ember module.")
        return super().find_class(module, name)

    def persistent_load(self, pid) -> Any:
        return self.reader.persistent_load(pid)


def _checked_storage(kind: _StorageType, numel: int, have: int, where: str, name: str) -> None:
    if numel * kind.dtype.itemsize != have:
        raise RuntimeError(f"ember.load: {name} is truncated or corrupted: {where} holds {have} bytes, expected "
                           f"{numel} elements of {kind.name}")


def load_zip(archive: ZipArchive, name: str, map_location, weights_only: bool = True, mapped=None) -> Any:
    """A checkpoint in ``torch.save``'s zip layout from an opened, checked archive; storages
    are views of ``mapped`` (the file mapped into memory) when given and stored uncompressed."""
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
        if mapped is not None:
            view = archive.map_array(mapped, entry, numel, kind.dtype)
            if view is not None:
                return view
        return archive.read_array(entry, (numel,), kind.dtype)

    return _Reader(name, read_storage, map_location, weights_only).load(io.BytesIO(archive.read(pkl[0])))


def load_legacy(fh: BinaryIO, name: str, map_location, weights_only: bool = True) -> Any:
    """A checkpoint in the legacy layout (``_use_new_zipfile_serialization=False``). Its object
    is unpickled twice (first only to size its storages), so with ``weights_only=False`` the
    code it runs runs twice."""
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
    _Reader(name, note, weights_only=weights_only).load(fh)
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
        storages[key] = read_array(bounded.read, (numel,), kind.dtype, f"ember.load: {name} storage {key!r}")
    missing = set(found) - set(storages)
    if missing:
        raise RuntimeError(f"ember.load: {name} is truncated or corrupted: storages {sorted(missing)} are missing")
    fh.seek(start)
    return _Reader(name, lambda kind, key, numel: storages[key], map_location, weights_only).load(fh)


def load_torch(f: str | os.PathLike | BinaryIO, map_location: str | device | dict | Callable | None = None) -> Any:
    """Load a checkpoint written by ``torch.save`` without PyTorch and without running its code.

    Tensors are views of their storages, as ``torch.load`` gives them: tensors saved from one
    storage share it again, an expanded tensor loads as a stride-0 view, and the file's
    bytes are held in memory once.

    Args:
        f: a path or a seekable binary file object.
        map_location: where tensors go: ``None`` (the device they were saved from), a device
            or device string, a dict from saved locations (``"cpu"``, ``"cuda:0"``) to devices
            (unlisted ones stay where they were saved), or a callable ``fn(tensor, location)`` given each tensor on the CPU that
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


def read_checkpoint(fh: BinaryIO, name: str, map_location, archive: ZipArchive | None = None,
                    weights_only: bool = True, mmap: bool = False) -> Any:
    """:func:`load_torch` on an open seekable file (or its already opened ``archive``);
    ``name`` is how messages refer to it. ``weights_only=False`` unpickles fully (only for
    files the user trusts); ``mmap`` maps the file and makes storages views of it. Every
    error about the file is a RuntimeError naming it."""
    corrupt = (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError,
               struct.error, UnicodeDecodeError, OverflowError, RecursionError)
    if not weights_only:  # the file's own code may raise anything; only the pickle's errors mean corruption
        corrupt = (pickle.UnpicklingError, EOFError, struct.error)
    try:
        start = fh.tell()
        head = fh.read(4)
        fh.seek(start)
        if archive is None and head.startswith(b"PK"):
            with ZipArchive(fh, name, "ember.load") as opened:
                return load_zip(opened, name, map_location, weights_only, _mapped(fh, name) if mmap else None)
        if archive is not None:
            return load_zip(archive, name, map_location, weights_only, _mapped(fh, name) if mmap else None)
        if not head.startswith(LEGACY_HEAD):
            raise RuntimeError(f"ember.load: {name} is neither an ember nor a PyTorch checkpoint")
        if mmap:
            raise RuntimeError(f"ember.load: {name} is a legacy (non-zip) PyTorch checkpoint, which cannot be "
                               "memory-mapped; load it with mmap=False")
        return load_legacy(fh, name, map_location, weights_only)
    except RuntimeError:
        raise
    except corrupt as e:
        raise RuntimeError(f"ember.load: {name} is a truncated or corrupted PyTorch checkpoint "
                           f"({type(e).__name__}: {e})") from None


def _mapped(fh: BinaryIO, name: str):
    """The whole file mapped copy-on-write, as ``torch.load(mmap=True)`` maps it: arrays
    over it are writable, and writes stay in this process."""
    try:
        fileno = fh.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        raise RuntimeError(f"ember.load: mmap=True needs a file path or a file opened on disk, got {name}") from None
    return mmap.mmap(fileno, 0, access=mmap.ACCESS_COPY)


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
    """One storage to write: a contiguous array, its key in the archive and its device."""

    def __init__(self, key: str, array: np.ndarray, location: str):
        self.key, self.array, self.location = key, array, location


class _Pickler(pickle._Pickler):
    """Pickles anything Python's pickle does, with ember's tensors, dtypes, devices and sizes
    written under PyTorch's names: a tensor is a ``torch._utils._rebuild_tensor_v2`` call on
    a persistent storage, as ``torch.save`` writes it.

    The pure-Python pickler is used because it lets :meth:`save` write a GLOBAL opcode
    for a name whose module (torch) is not importable here.
    """

    def __init__(self, file: BinaryIO, protocol: int):
        super().__init__(file, protocol=protocol)
        self.storages: list[_Storage] = []
        self._by_root: dict[tuple[int, str], _Storage] = {}
        self._keep: list = []  # holds copied arrays so the ids in _by_root stay theirs

    def save(self, obj, save_persistent_id=True):
        if isinstance(obj, dtypes.dtype):
            obj = _Global("torch", obj.name)
        if isinstance(obj, _Global):
            self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode("ascii"))
            return
        return super().save(obj, save_persistent_id)

    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            return ("storage", _Global("torch", _STORAGE_OF[obj.array.dtype.newbyteorder("=")]), obj.key,
                    obj.location, obj.array.size)
        return None

    def reducer_override(self, obj):
        if isinstance(obj, _Call):
            return (obj.func, obj.args)
        if isinstance(obj, (type, types.FunctionType)) and "<locals>" in obj.__qualname__:
            # The C pickler's error, which torch.save raises
            raise AttributeError(f"Can't pickle local object {obj.__qualname__!r}")
        if type(obj) is device:
            return (_Global("torch", "device"), (str(obj),))
        if type(obj) is Size:
            return (_Global("torch", "Size"), (tuple(obj),))
        if not isinstance(obj, Tensor):
            return NotImplemented
        from ..nn import Parameter
        storage, offset, stride = self._storage_of(obj._data, str(obj.device))
        tensor_args = (storage, offset, tuple(obj.shape), stride, obj.requires_grad and not
                       isinstance(obj, Parameter), collections.OrderedDict())
        if isinstance(obj, Parameter):
            return (_REBUILD_PARAMETER, (_Call(_REBUILD_TENSOR, tensor_args), obj.requires_grad, collections.OrderedDict()))
        return (_REBUILD_TENSOR, tensor_args)

    def _storage_of(self, data, location: str) -> tuple[_Storage, int, tuple]:
        """The storage an array lies in, its offset and strides in elements: views of one
        C-contiguous array share that array's storage, as they do in PyTorch."""
        root = data
        while getattr(root, "base", None) is not None and type(root.base) is type(data):
            root = root.base
        arr = move(data, CPU)
        if arr.dtype.newbyteorder("=") not in _STORAGE_OF:
            raise TypeError(f"ember.save: cannot save a tensor of dtype {arr.dtype}")
        host_root = root
        item = arr.itemsize
        # Views are matched to their base on the host only (a device array's view copies apart).
        shares = arr is data and root is not data
        delta = arr.__array_interface__["data"][0] - root.__array_interface__["data"][0] if shares else 0
        shares = (shares and host_root.flags.c_contiguous and host_root.dtype == arr.dtype
                  and delta % item == 0 and all(s >= 0 and s % item == 0 for s in arr.strides))
        if not shares:  # a storage of its own: its elements in C order (no copy when already so)
            root = data if data.flags.c_contiguous else None
            arr = host_root = np.asarray(arr, order="C")
            delta = 0
        storage = self._by_root.get((id(root), location)) if root is not None else None
        if storage is None:
            storage = _Storage(str(len(self.storages)), host_root.reshape(-1), location)
            if root is not None:
                self._by_root[(id(root), location)] = storage
                self._keep.append(root)
            self.storages.append(storage)
        return storage, delta // item, tuple(s // item for s in arr.strides)


_ALIGNMENT = 64  # storages start at multiples of 64 bytes in the file, as torch.save puts them, for mmap


def _aligned_info(zf: zipfile.ZipFile, name: str, zip64: bool) -> zipfile.ZipInfo:
    """A stored entry whose local header is padded (an extra field, id 'FB' as PyTorch's)
    so that its data start at a multiple of :data:`_ALIGNMENT` in the file."""
    info = zip_info(name)
    header = 30 + len(name.encode("utf-8")) + 4 + (20 if zip64 else 0)
    pad = -(zf.fp.tell() + header) % _ALIGNMENT
    info.extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad
    return info


def _write_zip(fh: BinaryIO, obj: Any, name: str, protocol: int) -> None:
    buf = io.BytesIO()
    pickler = _Pickler(buf, protocol)
    pickler.dump(obj)
    with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        zf.writestr(zip_info(f"{name}/data.pkl"), buf.getvalue())
        zf.writestr(zip_info(f"{name}/.format_version"), b"1")
        zf.writestr(zip_info(f"{name}/.storage_alignment"), str(_ALIGNMENT).encode())
        zf.writestr(zip_info(f"{name}/byteorder"), b"little")
        for s in pickler.storages:
            data = s.array.astype(s.array.dtype.newbyteorder("<"), copy=False)
            zip64 = data.nbytes >= 2 ** 31
            with zf.open(_aligned_info(zf, f"{name}/data/{s.key}", zip64), "w", force_zip64=zip64) as out:
                out.write(data.view(np.uint8))
        zf.writestr(zip_info(f"{name}/version"), b"3\n")


def save_torch(obj: Any, f: str | os.PathLike | BinaryIO, pickle_protocol: int = 2) -> None:
    """Write ``obj`` in ``torch.save``'s zip format (what :func:`ember.save` writes).

    Tensors, parameters and containers of them (a ``state_dict()``), numbers and strings
    load with ``torch.load(f, weights_only=True)``; other objects (modules, NumPy arrays,
    instances of your classes) are pickled as Python pickles them and need
    ``weights_only=False`` or allow-listed globals to load. Views of one array keep
    sharing storage.

    Args:
        obj: any picklable object.
        f: a path (written atomically) or a binary file object.
        pickle_protocol: the pickle protocol of the object (2, as PyTorch's default).

    Raises:
        TypeError: ``obj`` holds a tensor of a dtype PyTorch lacks.
        pickle.PicklingError, AttributeError, TypeError: ``obj`` holds something Python cannot pickle.
    """
    if isinstance(f, (str, os.PathLike)):
        atomic_write(f, lambda fh: _write_zip(fh, obj, "archive", pickle_protocol))
    else:
        _write_zip(f, obj, "archive", pickle_protocol)
