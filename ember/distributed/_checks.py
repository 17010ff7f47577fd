"""What every rank checks before a collective: that it is given tensors, and (through one small
all-gather) that all ranks called the same collective with the same dtype and, where the
collective needs it, the same shape. A mismatch is then an error naming the ranks, on every
rank, instead of a hang or silently mixed bytes."""
from __future__ import annotations

import numpy as np

from . import _mpi
from .work import describe

_FIELDS = 16  # int64s per rank: op name (3), dtype name (2), ndim, 8 sizes, numel, device (0 cpu, 1 cuda)


def array_of(tensor, op: str, what: str = "tensor"):
    """The array behind ``tensor`` (the group's backend for its device is chosen by ProcessGroup.engine)."""
    from .._tensor import Tensor
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{op}: {what} must be a Tensor, got {type(tensor).__name__}")
    return tensor._data


def _text(s: str, n: int) -> np.ndarray:
    return np.frombuffer(s.encode()[:8 * n].ljust(8 * n), dtype=np.int64)


def _untext(a: np.ndarray) -> str:
    return a.astype(np.int64).tobytes().decode(errors="replace").rstrip()


def _record(op: str, arr: np.ndarray | None) -> np.ndarray:
    rec = np.full(_FIELDS, -1, dtype=np.int64)
    rec[0:3] = _text(op, 3)
    if arr is not None:
        rec[3:5] = _text(arr.dtype.name, 2)
        rec[5] = arr.ndim
        rec[6:6 + min(arr.ndim, 8)] = arr.shape[:8]
        rec[14] = arr.size
        # ranks on different devices would run different backends' collectives into each other
        rec[15] = 0 if isinstance(arr, np.ndarray) else 1
    return rec


def _describe_record(rec: np.ndarray, with_shape: bool) -> str:
    if rec[5] < 0:
        return f"{_untext(rec[0:3])}"
    shape = [int(n) for n in rec[6:6 + min(int(rec[5]), 8)]]
    return (f"{_untext(rec[0:3])} with {_untext(rec[3:5])}" + (f" of shape {shape}" if with_shape else "")
            + (" on cuda" if rec[15] == 1 else " on cpu"))


def check_same(group, op: str, arr: np.ndarray | None, same_shape: bool) -> None:
    """All-gather (op, dtype, shape) and raise on every rank if the ranks disagree."""
    MPI = _mpi.mpi()
    mine = _record(op, arr)
    table = np.empty((group.size(), _FIELDS), dtype=np.int64)
    req = group.comm.Iallgather([mine, MPI.INT64_T], [table, MPI.INT64_T])
    _mpi.wait([req], group.timeout, describe(group, op))
    cols = list(range(_FIELDS)) if same_shape else [0, 1, 2, 3, 4, 15]
    differ = [r for r in range(group.size()) if not np.array_equal(table[r, cols], table[0, cols])]
    if differ:
        r = differ[0]
        raise RuntimeError(
            f"{describe(group, op)}: the ranks' calls do not match: rank {group.ranks[0]} called "
            f"{_describe_record(table[0], same_shape)}, rank {group.ranks[r]} called "
            f"{_describe_record(table[r], same_shape)}. "
            "Every rank must call the same collectives, in the same order, with tensors of the same dtype"
            + (" and shape." if same_shape else "."))


def check_local(cond: bool, group, op: str, message: str) -> None:
    """A check on this rank's own arguments (raised before anything is sent)."""
    if not cond:
        raise ValueError(f"{describe(group, op)}: {message}")
