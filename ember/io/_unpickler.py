"""The one restricted unpickler behind every pickle ember reads (PyTorch checkpoints, CIFAR
batches, :func:`restricted_load`).

A pickle is a program: its opcodes import globals, call them, and mutate what is on the
stack. Loading one here can change nothing but its own result:

* GLOBAL / STACK_GLOBAL resolve only names in an :class:`AllowList`. Its ``builders``
  are functions that return new values (never a shared object), and only they may be
  called (REDUCE); its ``tokens`` (a storage type, the ndarray class) are only passed as
  arguments.
* Mutation opcodes apply only to what this load built, by exact type: SETITEM(S) to dicts,
  APPEND(S) to lists, ADDITEMS to sets, BUILD to the types the allow-list names (an
  OrderedDict's attributes, a fresh NumPy array or dtype's state). BUILD on a global, a
  storage or a function is refused, so no file can alter how a later file loads.
* Opcodes that call or import outside that scheme are refused: INST, OBJ, NEWOBJ(_EX),
  EXT1/2/4 (the global extension registry), out-of-band buffers, and persistent ids
  unless the reader supplies ``persistent_load``.
* The one widening is the user's: ``trusted`` globals (``ember.serialization.add_safe_globals``)
  may be called (REDUCE), instantiated (NEWOBJ) and given state (BUILD on their instances),
  as ``torch.load(weights_only=True)`` allows its safe globals. Nothing else changes, and
  no file can add to them.
* Reads are capped at the bytes present (:class:`BoundedFile`), so a length field cannot
  make the unpickler allocate memory the file does not back.

Every refusal is an :class:`UnsafePickleError` (both ``pickle.UnpicklingError`` and
``RuntimeError``) naming the file and the opcode or global.
"""
from __future__ import annotations

import collections
import io
import pickle
import struct
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Callable

import numpy as np

from ._files import BoundedFile

__all__ = ["UnsafePickleError", "AllowList", "RestrictedUnpickler", "NUMPY_DATA", "restricted_load"]


class UnsafePickleError(pickle.UnpicklingError, RuntimeError):
    """A pickle asks for something outside its reader's allow-list (a global, a call, a
    mutation or an opcode); raised before it happens. Both an ``UnpicklingError`` and a
    ``RuntimeError``, so loaders keep raising ``RuntimeError`` for bad files."""


@dataclass(frozen=True)
class AllowList:
    """What a kind of pickle may contain.

    Attributes:
        builders: ``(module, name)`` -> a function returning a new value; callable by REDUCE.
        tokens: ``(module, name)`` -> a value that may only appear as an argument.
        buildable: the exact types BUILD may set state on (objects this load created).
        description: what the files may hold, for error messages.
        trusted: ``(module, name)`` -> a class or function the user declared safe.
        advice: appended to a refused global's message: what the user can do (it gets
            the global's ``module.name``).
    """

    builders: dict[tuple[str, str], Callable]
    tokens: dict[tuple[str, str], Any] = field(default_factory=dict)
    buildable: tuple[type, ...] = ()
    description: str = "only plain data"
    trusted: dict[tuple[str, str], Any] = field(default_factory=dict)
    advice: Callable[[str], str] | None = None


def _refuse(what: str):
    def handler(self):
        raise self.unsafe(f"refusing the {what} opcode")
    return handler


_P = pickle
_REFUSED = {_P.INST: "INST (instantiate a class)", _P.OBJ: "OBJ (instantiate a class)",
            _P.NEWOBJ_EX: "NEWOBJ_EX (instantiate a class)",
            _P.EXT1: "EXT1 (extension registry)", _P.EXT2: "EXT2 (extension registry)",
            _P.EXT4: "EXT4 (extension registry)", _P.NEXT_BUFFER: "NEXT_BUFFER (out-of-band buffer)",
            _P.READONLY_BUFFER: "READONLY_BUFFER (out-of-band buffer)"}
# Opcodes that only build plain values or move them between stack and memo.
_PLAIN = {_P.PROTO, _P.FRAME, _P.STOP, _P.MARK, _P.POP, _P.POP_MARK, _P.DUP, _P.NONE, _P.NEWTRUE,
          _P.NEWFALSE, _P.INT, _P.BININT, _P.BININT1, _P.BININT2, _P.LONG, _P.LONG1, _P.LONG4, _P.FLOAT,
          _P.BINFLOAT, _P.STRING, _P.BINSTRING, _P.SHORT_BINSTRING, _P.UNICODE, _P.BINUNICODE,
          _P.SHORT_BINUNICODE, _P.BINUNICODE8, _P.BINBYTES, _P.SHORT_BINBYTES, _P.BINBYTES8, _P.EMPTY_LIST,
          _P.LIST, _P.EMPTY_TUPLE, _P.TUPLE, _P.TUPLE1, _P.TUPLE2, _P.TUPLE3, _P.EMPTY_DICT, _P.DICT,
          _P.EMPTY_SET, _P.FROZENSET, _P.GET, _P.BINGET, _P.LONG_BINGET, _P.PUT, _P.BINPUT, _P.LONG_BINPUT,
          _P.MEMOIZE, _P.GLOBAL, _P.STACK_GLOBAL, _P.PERSID, _P.BINPERSID}


class _Dispatch(dict):
    def __missing__(self, opcode: int):
        return _refuse(f"unknown 0x{opcode:02x}")


class RestrictedUnpickler(pickle._Unpickler):
    """Unpickles ``file`` allowing only what ``allow`` names (see the module docstring).

    The pure-Python unpickler is used because its opcode table can be replaced: the C one
    offers no hook for BUILD, SETITEM or EXT.

    Args:
        file: a seekable binary file positioned at the pickle.
        source: how messages name the file (e.g. ``"'model.pt'"``).
        allow: the allow-list.
        persistent_load: resolves persistent ids; without it they are refused.
        encoding: how Python 2 strings decode (``"latin1"`` for NumPy arrays in them).
        who: the public function messages start with.
    """

    dispatch = _Dispatch({op[0]: pickle._Unpickler.dispatch[op[0]] for op in _PLAIN})

    def __init__(self, file: BinaryIO, source: str, allow: AllowList,
                 persistent_load: Callable[[Any], Any] | None = None, encoding: str = "ASCII", who: str = "ember.load"):
        super().__init__(BoundedFile(file), encoding=encoding)
        self.source, self.allow, self.who = source, allow, who
        self._persistent = persistent_load
        self._callable_ids = {id(f) for f in (*allow.builders.values(), *allow.trusted.values())}
        self._trusted_types = tuple(t for t in allow.trusted.values() if isinstance(t, type))

    def unsafe(self, what: str) -> UnsafePickleError:
        return UnsafePickleError(f"{self.who}: {what} in {self.source}: {self.allow.description}")

    def find_class(self, module: str, name: str) -> Any:
        key = (module, name)
        for table in (self.allow.builders, self.allow.tokens, self.allow.trusted):
            if key in table:
                return table[key]
        advice = "" if self.allow.advice is None else " " + self.allow.advice(f"{module}.{name}")
        raise UnsafePickleError(f"{self.who}: refusing to load the global {module}.{name} from {self.source}: "
                                f"{self.allow.description}.{advice}")

    def persistent_load(self, pid) -> Any:
        if self._persistent is None:
            raise self.unsafe("refusing a persistent id")
        return self._persistent(pid)

    def _target(self, offset: int, kinds: tuple[type, ...], opcode: str):
        target = self.stack[offset] if len(self.stack) >= -offset else None
        # Containers by exact type; BUILD's kinds include subclasses (NumPy's per-dtype classes).
        if not (type(target) in kinds or opcode == "BUILD" and isinstance(target, kinds)):
            raise self.unsafe(f"refusing {opcode} on a {type(target).__name__}")
        return target

    def load_reduce(self):
        args = self.stack.pop()
        func = self.stack[-1]
        if id(func) not in self._callable_ids:
            raise self.unsafe(f"refusing to call a {type(func).__name__} (only allowed globals may be called)")
        if type(args) is not tuple:
            raise self.unsafe(f"refusing REDUCE with {type(args).__name__} arguments")
        try:
            self.stack[-1] = func(*args)
        except UnsafePickleError as e:  # a builder's refusal: say where
            raise self.unsafe(str(e)) from None

    def load_newobj(self):
        args = self.stack.pop()
        cls = self.stack[-1]
        if not (type(cls) is type and cls in self._trusted_types):
            raise self.unsafe(f"refusing the NEWOBJ opcode (instantiate a class) on {cls!r:.80}: only classes "
                              "given to add_safe_globals may be instantiated")
        if type(args) is not tuple:
            raise self.unsafe(f"refusing NEWOBJ with {type(args).__name__} arguments")
        self.stack[-1] = cls.__new__(cls, *args)

    def load_build(self):
        state = self.stack.pop()
        inst = self._target(-1, self.allow.buildable + self._trusted_types, "BUILD")
        setstate = getattr(inst, "__setstate__", None)
        if setstate is not None:
            setstate(state)
            return
        slots = None
        if isinstance(state, tuple) and len(state) == 2:
            state, slots = state
        for part in (state, slots):
            if part is not None and not (isinstance(part, dict) and all(type(k) is str and not k.startswith("__")
                                                                          for k in part)):
                raise self.unsafe("refusing BUILD with state other than plain attribute names")
        inst.__dict__.update(state or {})
        for k, v in (slots or {}).items():
            setattr(inst, k, v)

    def load_setitem(self):
        value = self.stack.pop()
        key = self.stack.pop()
        self._target(-1, (dict, collections.OrderedDict), "SETITEM")[key] = value

    def load_setitems(self):
        items = self.pop_mark()
        target = self._target(-1, (dict, collections.OrderedDict), "SETITEMS")
        for i in range(0, len(items) - 1, 2):
            target[items[i]] = items[i + 1]

    def load_append(self):
        value = self.stack.pop()
        self._target(-1, (list,), "APPEND").append(value)

    def load_appends(self):
        items = self.pop_mark()
        self._target(-1, (list,), "APPENDS").extend(items)

    def load_additems(self):
        items = self.pop_mark()
        self._target(-1, (set,), "ADDITEMS").update(items)

    def load_frame(self):
        n, = struct.unpack("<Q", self.read(8))
        self._unframer.load_frame(n)
        if len(self._unframer.current_frame.getbuffer()) != n:
            raise pickle.UnpicklingError(f"a frame of {n} bytes reaches past the end of the pickle")

    def load_bytearray8(self):
        # The stock handler allocates the declared length before reading it.
        n, = struct.unpack("<Q", self.read(8))
        data = self.read(n)
        if len(data) != n:
            raise self.unsafe(f"a BYTEARRAY8 of {n} bytes reaches past the end")
        self.append(bytearray(data))


for _op, _name in ((_P.REDUCE, "load_reduce"), (_P.BUILD, "load_build"), (_P.SETITEM, "load_setitem"),
                   (_P.SETITEMS, "load_setitems"), (_P.APPEND, "load_append"), (_P.APPENDS, "load_appends"),
                   (_P.ADDITEMS, "load_additems"), (_P.BYTEARRAY8, "load_bytearray8"),
                   (_P.FRAME, "load_frame"), (_P.NEWOBJ, "load_newobj")):
    RestrictedUnpickler.dispatch[_op[0]] = getattr(RestrictedUnpickler, _name)
for _op, _what in _REFUSED.items():
    RestrictedUnpickler.dispatch[_op[0]] = _refuse(_what)


# ---- NumPy data (CIFAR batches and other data set pickles) --------------------------


def _latin1_encode(text: str, encoding: str = "latin1", errors: str = "strict") -> bytes:
    # Pickle protocol 2 stores bytes as a call to _codecs.encode(text, "latin1").
    if encoding not in ("latin1", "latin-1") or errors != "strict" or type(text) is not str:
        raise UnsafePickleError(f"refusing _codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


def _bytes(*args) -> bytes:
    # Protocol 2 writes b"" as bytes(); bytes(n) would allocate n zero bytes the file never held.
    if args and not (len(args) == 1 and type(args[0]) in (bytes, bytearray)):
        raise UnsafePickleError("refusing bytes() of anything but bytes")
    return bytes(*args)


def _dtype(obj, align=False, copy=False) -> np.dtype:
    # Always a new dtype: np.dtype("f8") is NumPy's shared float64, which a BUILD could alter.
    return np.dtype(obj, bool(align), True)


_RECONSTRUCT = np.empty(0).__reduce__()[0]
_SCALAR = np.float64(0).__reduce__()[0]
_FROMBUFFER = np.empty(0).__reduce_ex__(5)[0]


def _reconstruct(cls, shape, dtype_code) -> np.ndarray:
    # NumPy pickles an array as an empty one whose BUILD (ndarray.__setstate__) supplies the
    # data; any other shape would allocate memory the file does not hold.
    if cls is not np.ndarray or shape != (0,):
        raise UnsafePickleError("refusing an ndarray reconstruction other than NumPy's own")
    return _RECONSTRUCT(np.ndarray, (0,), dtype_code)


def _scalar(dtype, data=None):
    if not isinstance(dtype, np.dtype):
        raise UnsafePickleError("refusing a NumPy scalar without a dtype")
    return _SCALAR(dtype) if data is None else _SCALAR(dtype, data)


def _frombuffer(buf, dtype, shape, order) -> np.ndarray:
    if type(buf) not in (bytes, bytearray) or not isinstance(dtype, np.dtype):
        raise UnsafePickleError("refusing a NumPy buffer that is not bytes from the file")
    return _FROMBUFFER(buf, dtype, shape, order)


def _numpy_data() -> AllowList:
    builders: dict[tuple[str, str], Callable] = {
        ("numpy", "dtype"): _dtype, ("_codecs", "encode"): _latin1_encode,
        ("__builtin__", "bytes"): _bytes, ("builtins", "bytes"): _bytes}
    for package in ("numpy.core", "numpy._core"):  # the module names NumPy 1 and 2 pickle under
        builders[(f"{package}.multiarray", "_reconstruct")] = _reconstruct
        builders[(f"{package}.multiarray", "scalar")] = _scalar
        builders[(f"{package}.numeric", "_frombuffer")] = _frombuffer
    return AllowList(builders, {("numpy", "ndarray"): np.ndarray}, (np.ndarray, np.dtype),
                     "data files may only hold dicts, lists, strings, bytes, numbers and NumPy arrays")


NUMPY_DATA = _numpy_data()


def restricted_load(file: BinaryIO, encoding: str = "latin1") -> Any:
    """Unpickle a data file (dicts, lists, strings, bytes, numbers and NumPy arrays) with
    :class:`RestrictedUnpickler`; Python 2 strings decode as latin-1, as CIFAR's batches need.

    Raises:
        UnsafePickleError: the file asks for anything else (a RuntimeError).
        RuntimeError: the file is truncated or corrupted.
    """
    source = repr(getattr(file, "name", "<file object>"))
    if not (hasattr(file, "seekable") and file.seekable()):
        file = io.BytesIO(file.read())
    try:
        return RestrictedUnpickler(file, source, NUMPY_DATA, encoding=encoding, who="restricted_load").load()
    except UnsafePickleError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError, struct.error,
            UnicodeDecodeError, OverflowError, RecursionError) as e:
        raise RuntimeError(f"restricted_load: {source} is a truncated or corrupted pickle "
                           f"({type(e).__name__}: {e})") from None
