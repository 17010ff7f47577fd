"""A stand-in for the part of ``cupy.cuda.nccl`` that ember uses, on NumPy arrays and mpi4py.

Its calls take raw pointers, counts and NCCL data types as the real bindings do, read and write
the memory at those addresses, and talk to the other ranks over MPI: so ember's NCCL engine runs
unchanged on CPU tensors (``HostArrays`` is its adapter: pointers of NumPy arrays, no stream).
Point-to-point calls are posted non-blocking and complete when the event is waited on, as a stream
would run them. Reductions combine the ranks' values in rank order with NumPy.
"""
import contextlib
import ctypes

import ml_dtypes
import numpy as np
from mpi4py import MPI

NCCL_INT8, NCCL_UINT8, NCCL_INT32, NCCL_UINT32, NCCL_INT64, NCCL_UINT64 = 0, 1, 2, 3, 4, 5
NCCL_FLOAT16, NCCL_FLOAT32, NCCL_FLOAT64, NCCL_BFLOAT16 = 6, 7, 8, 9
NCCL_SUM, NCCL_PROD, NCCL_MAX, NCCL_MIN = 0, 1, 2, 3
available = True

_TYPES = {NCCL_INT8: np.int8, NCCL_UINT8: np.uint8, NCCL_INT32: np.int32, NCCL_UINT32: np.uint32,
          NCCL_INT64: np.int64, NCCL_UINT64: np.uint64, NCCL_FLOAT16: np.float16, NCCL_FLOAT32: np.float32,
          NCCL_FLOAT64: np.float64, NCCL_BFLOAT16: ml_dtypes.bfloat16}
_OPS = {NCCL_SUM: np.sum, NCCL_PROD: np.prod, NCCL_MAX: np.max, NCCL_MIN: np.min}
_pending = []  # point-to-point requests not yet completed
calls = []  # (name, count, datatype) of every call, for the tests to inspect
groups = [0, 0]  # groupStart / groupEnd calls


def _memory(ptr: int, count: int, datatype: int) -> np.ndarray:
    dtype = np.dtype(_TYPES[datatype])
    raw = np.ctypeslib.as_array((ctypes.c_uint8 * (count * dtype.itemsize)).from_address(ptr))
    return raw.view(dtype)


def get_unique_id():
    return tuple(int(b) for b in np.random.default_rng().integers(-128, 128, 128, dtype=np.int8))


def groupStart():
    groups[0] += 1


def groupEnd():
    groups[1] += 1


class NcclCommunicator:
    def __init__(self, ndev: int, commId: tuple, rank: int):
        self.comm = MPI.COMM_WORLD.Dup()
        assert len(commId) == 128 and self.comm.Get_size() == ndev and self.comm.Get_rank() == rank
        ids = self.comm.allgather(commId)
        assert all(i == ids[0] for i in ids), "the ranks were given different unique ids"

    def _reduced(self, send, count, datatype, op):
        rows = np.stack(self.comm.allgather(_memory(send, count, datatype).copy()))
        return _OPS[op](rows, axis=0).astype(_TYPES[datatype])

    def allReduce(self, sendbuf, recvbuf, count, datatype, op, stream):
        calls.append(("allReduce", count, datatype))
        _memory(recvbuf, count, datatype)[...] = self._reduced(sendbuf, count, datatype, op)

    def reduce(self, sendbuf, recvbuf, count, datatype, op, root, stream):
        calls.append(("reduce", count, datatype))
        result = self._reduced(sendbuf, count, datatype, op)
        if self.comm.Get_rank() == root:
            _memory(recvbuf, count, datatype)[...] = result

    def broadcast(self, sendbuff, recvbuff, count, datatype, root, stream):
        calls.append(("broadcast", count, datatype))
        data = self.comm.bcast(_memory(sendbuff, count, datatype).copy() if self.comm.Get_rank() == root else None,
                               root=root)
        _memory(recvbuff, count, datatype)[...] = data

    def reduceScatter(self, sendbuf, recvbuf, recvcount, datatype, op, stream):
        calls.append(("reduceScatter", recvcount, datatype))
        result = self._reduced(sendbuf, recvcount * self.comm.Get_size(), datatype, op)
        r = self.comm.Get_rank()
        _memory(recvbuf, recvcount, datatype)[...] = result[r * recvcount:(r + 1) * recvcount]

    def allGather(self, sendbuf, recvbuf, count, datatype, stream):
        calls.append(("allGather", count, datatype))
        rows = self.comm.allgather(_memory(sendbuf, count, datatype).copy())
        _memory(recvbuf, count * self.comm.Get_size(), datatype)[...] = np.concatenate(rows)

    def send(self, sendbuf, count, datatype, peer, stream):
        calls.append(("send", count, datatype))
        _pending.append(self.comm.Isend(_memory(sendbuf, count, datatype).copy(), dest=peer, tag=7))

    def recv(self, recvbuf, count, datatype, peer, stream):
        calls.append(("recv", count, datatype))
        _pending.append(self.comm.Irecv(_memory(recvbuf, count, datatype), source=peer, tag=7))


class _Event:
    @property
    def done(self) -> bool:
        return MPI.Request.Testall(_pending)

    def synchronize(self) -> None:
        MPI.Request.Waitall(_pending)
        _pending.clear()


class HostArrays:
    """ember's NCCL engine adapter for NumPy arrays: their addresses, and no stream."""
    xp = np

    def ptr(self, arr) -> int:
        return arr.ctypes.data

    def stream(self) -> int:
        return 0

    def event(self):
        return _Event()

    def on(self, device):
        return contextlib.nullcontext()
