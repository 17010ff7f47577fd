"""Collectives on Python objects: broadcast_object_list, all_gather_object, gather_object,
scatter_object_list.

Objects travel pickled, but a peer's pickle can run any code when loaded, so by default only
plain data is accepted: dict, list, tuple, str, bytes, int, float, complex, bool and None, nested.
Those pickle without naming any class but ``complex``, and the receiving side loads them with an
unpickler that refuses every other class (so a peer cannot slip one in either). ``allow_pickle=True`` lifts both
limits, for jobs whose processes trust each other (tensors, dataclasses, ...).
"""
from __future__ import annotations

import io
import pickle

import numpy as np

from . import _mpi
from .process_group import resolve
from .work import describe

__all__ = ["all_gather_object", "broadcast_object_list", "gather_object", "scatter_object_list"]

_PLAIN = (str, bytes, int, float, complex, bool, type(None))


def _check_plain(obj, where: str, depth: int = 0) -> None:
    if isinstance(obj, _PLAIN) and type(obj) in _PLAIN:
        return
    if type(obj) in (list, tuple):
        for i, x in enumerate(obj):
            _check_plain(x, f"{where}[{i}]", depth + 1)
        return
    if type(obj) is dict:
        for k, v in obj.items():
            _check_plain(k, f"{where} key {k!r}", depth + 1)
            _check_plain(v, f"{where}[{k!r}]", depth + 1)
        return
    raise TypeError(
        f"{where} is a {type(obj).__module__}.{type(obj).__qualname__}: only plain data (dict, list, tuple, str, "
        "bytes, int, float, complex, bool, None) is sent by default, because loading a pickled object runs code "
        "the sending process chose. Pass allow_pickle=True if the processes of this job trust each other.")


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) == ("builtins", "complex"):  # the one plain type pickled through a constructor
            return complex
        raise pickle.UnpicklingError(
            f"a peer sent an object of class {module}.{name}; only plain data is loaded unless every rank passes "
            "allow_pickle=True")


def _dumps(obj, allow_pickle: bool, where: str) -> np.ndarray:
    if not allow_pickle:
        _check_plain(obj, where)
    return np.frombuffer(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL), dtype=np.uint8)


def _loads(data: np.ndarray, allow_pickle: bool):
    raw = data.tobytes()
    return pickle.loads(raw) if allow_pickle else _PlainUnpickler(io.BytesIO(raw)).load()


def _sizes(g, name: str, mine: int) -> np.ndarray:
    MPI = _mpi.mpi()
    sizes = np.empty(g.size(), dtype=np.int64)
    req = g.comm.Iallgather([np.array([mine], dtype=np.int64), MPI.INT64_T], [sizes, MPI.INT64_T])
    _mpi.wait([req], g.timeout, describe(g, name))
    return sizes


def broadcast_object_list(object_list: list, src: int = 0, group=None, device=None, allow_pickle: bool = False) -> None:
    """Replace ``object_list``'s items on every rank by rank ``src``'s (the lists must have equal lengths)."""
    g = resolve(group, "broadcast_object_list")
    if g is None:
        return
    root = g.group_rank(src, "broadcast_object_list")
    name = "broadcast_object_list"
    data = _dumps(list(object_list), allow_pickle, "object_list") if g.rank() == root else np.empty(0, np.uint8)
    size = _sizes(g, name, data.size)[root]
    if g.rank() != root:
        data = np.empty(int(size), dtype=np.uint8)
    _mpi.wait([g.comm.Ibcast(data, root=root)], g.timeout, describe(g, name))
    if g.rank() != root:
        received = _loads(data, allow_pickle)
        if len(received) != len(object_list):
            raise RuntimeError(f"{describe(g, name)}: rank {src} sent {len(received)} objects, but this rank's "
                               f"object_list has {len(object_list)} slots")
        object_list[:] = received


def _gather_bytes(g, name: str, obj, allow_pickle: bool, root: int | None):
    data = _dumps(obj, allow_pickle, "obj")
    sizes = _sizes(g, name, data.size)
    displs = np.concatenate([[0], np.cumsum(sizes)[:-1]]).tolist()
    if root is not None and g.rank() != root:
        req = g.comm.Igatherv(data, None, root=root)
        _mpi.wait([req], g.timeout, describe(g, name))
        return None
    out = np.empty(int(sizes.sum()), dtype=np.uint8)
    spec = [out, (sizes.tolist(), displs)]
    req = g.comm.Iallgatherv(data, spec) if root is None else g.comm.Igatherv(data, spec, root=root)
    _mpi.wait([req], g.timeout, describe(g, name))
    return [_loads(out[d:d + s], allow_pickle) for d, s in zip(displs, sizes.tolist())]


def all_gather_object(object_list: list, obj, group=None, allow_pickle: bool = False) -> None:
    """``object_list[r]`` = rank ``r``'s ``obj``, on every rank."""
    g = resolve(group, "all_gather_object")
    if g is None:
        return
    if len(object_list) != g.size():
        raise ValueError(f"{describe(g, 'all_gather_object')}: object_list must have world size ({g.size()}) "
                         f"slots, got {len(object_list)}")
    object_list[:] = _gather_bytes(g, "all_gather_object", obj, allow_pickle, None)


def gather_object(obj, object_gather_list=None, dst: int = 0, group=None, allow_pickle: bool = False) -> None:
    """``object_gather_list[r]`` = rank ``r``'s ``obj``, on rank ``dst`` only."""
    g = resolve(group, "gather_object")
    if g is None:
        return
    root = g.group_rank(dst, "gather_object")
    got = _gather_bytes(g, "gather_object", obj, allow_pickle, root)
    if got is not None:
        if object_gather_list is None or len(object_gather_list) != g.size():
            raise ValueError(f"{describe(g, 'gather_object')}: object_gather_list must have world size "
                             f"({g.size()}) slots on the destination rank")
        object_gather_list[:] = got


def scatter_object_list(scatter_object_output_list: list, scatter_object_input_list=None, src: int = 0, group=None,
                        allow_pickle: bool = False) -> None:
    """``scatter_object_output_list[0]`` = rank ``src``'s ``scatter_object_input_list[r]`` on rank ``r``."""
    g = resolve(group, "scatter_object_list")
    if g is None:
        return
    name = "scatter_object_list"
    if not isinstance(scatter_object_output_list, list) or len(scatter_object_output_list) < 1:
        raise ValueError("Expected argument scatter_object_output_list to be a list of size at least 1.")
    root = g.group_rank(src, name)
    MPI = _mpi.mpi()
    sizes = np.zeros(g.size(), dtype=np.int64)
    send = None
    if g.rank() == root:
        if scatter_object_input_list is None or len(scatter_object_input_list) != g.size():
            raise ValueError(f"{describe(g, name)}: scatter_object_input_list must have world size ({g.size()}) "
                             "objects on the source rank")
        parts = [_dumps(o, allow_pickle, f"scatter_object_input_list[{i}]")
                 for i, o in enumerate(scatter_object_input_list)]
        sizes = np.array([p.size for p in parts], dtype=np.int64)
        send = [np.concatenate(parts), (sizes.tolist(), np.concatenate([[0], np.cumsum(sizes)[:-1]]).tolist())]
    _mpi.wait([g.comm.Ibcast([sizes, MPI.INT64_T], root=root)], g.timeout, describe(g, name))
    mine = np.empty(int(sizes[g.rank()]), dtype=np.uint8)
    _mpi.wait([g.comm.Iscatterv(send, mine, root=root)], g.timeout, describe(g, name))
    scatter_object_output_list[0] = _loads(mine, allow_pickle)
