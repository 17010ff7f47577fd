"""The NCCL engine: collectives on CUDA tensors through CuPy's NCCL bindings (``cupy.cuda.nccl``).

A process group keeps its MPI communicator for CPU tensors; the first collective on a device
type the group runs with NCCL builds an ``NcclEngine``. Its rendezvous is MPI: the group's first
rank makes NCCL's unique id and broadcasts it over the group's MPI communicator, then every rank
creates its ``NcclCommunicator`` on the tensor's device (no sockets of ember's own).

The engine sees only arrays, pointers and a stream: the ``nccl`` module and an ``arrays`` adapter
(pointer of an array, current stream, an event recorded on it, the device context) are
parameters, so the same code runs on CuPy for real and on NumPy with a stand-in module in the
tests. Calls are queued on the current stream; the returned Work waits on an event recorded after
them (polled, so a peer that never arrives is a timeout, not a hang).
"""
from __future__ import annotations

import numpy as np

from . import _mpi
from .work import Work, describe

_INSTALL = ("pip install 'ember[cuda]' (CuPy, whose cupy.cuda.nccl binds NCCL; CuPy's installation notes say how "
            "to add the NCCL library) on a machine with NVIDIA GPUs")


def nccl_module():
    """``cupy.cuda.nccl``, or a RuntimeError saying what to install."""
    from ..backend import cuda
    cuda.cupy()  # CudaUnavailableError (a RuntimeError) naming the install when CuPy or a GPU is missing
    try:
        from cupy.cuda import nccl
    except ImportError as e:
        raise RuntimeError(f"the NCCL backend needs CuPy's NCCL bindings (cupy.cuda.nccl), which do not import "
                           f"here ({e}): {_INSTALL}") from None
    if not getattr(nccl, "available", True):
        raise RuntimeError(f"this CuPy was built without NCCL: {_INSTALL}")
    return nccl


def is_available() -> bool:
    """Whether CuPy with NCCL imports and sees a GPU."""
    try:
        nccl_module()
    except RuntimeError:
        return False
    return True


class CupyArrays:
    """The adapter for CUDA tensors: CuPy arrays on their device's current stream."""

    def __init__(self):
        from ..backend import cuda
        self.xp = cuda.cupy()

    def ptr(self, arr) -> int:
        return arr.data.ptr

    def stream(self) -> int:
        return self.xp.cuda.get_current_stream().ptr

    def event(self):
        """An event recorded on the current stream (``done``, ``synchronize()``)."""
        ev = self.xp.cuda.Event(disable_timing=True)
        ev.record()
        return ev

    def on(self, device):
        return self.xp.cuda.Device(device.index)


def _reduce_types(nccl) -> dict:
    """NumPy dtype -> NCCL data type, for reductions (data-moving calls send bytes)."""
    from ..backend.dtypes import bfloat16
    table = {np.dtype(np.int8): nccl.NCCL_INT8, np.dtype(np.uint8): nccl.NCCL_UINT8,
             np.dtype(np.int32): nccl.NCCL_INT32, np.dtype(np.uint32): nccl.NCCL_UINT32,
             np.dtype(np.int64): nccl.NCCL_INT64, np.dtype(np.uint64): nccl.NCCL_UINT64,
             np.dtype(np.float16): nccl.NCCL_FLOAT16, np.dtype(np.float32): nccl.NCCL_FLOAT32,
             np.dtype(np.float64): nccl.NCCL_FLOAT64}
    if hasattr(nccl, "NCCL_BFLOAT16"):  # NCCL 2.10+ and a CuPy that exposes it
        table[np.dtype(bfloat16.np)] = nccl.NCCL_BFLOAT16
    return table


class NcclEngine:
    """One group's NCCL communicator and the collectives on it (arrays in, Work out)."""

    def __init__(self, group, nccl, arrays, device):
        self.group, self.nccl, self.arrays, self.device = group, nccl, arrays, device
        self.types = _reduce_types(nccl)
        from .process_group import ReduceOp
        self.ops = {ReduceOp.SUM: nccl.NCCL_SUM, ReduceOp.AVG: nccl.NCCL_SUM, ReduceOp.PRODUCT: nccl.NCCL_PROD,
                    ReduceOp.MIN: nccl.NCCL_MIN, ReduceOp.MAX: nccl.NCCL_MAX,
                    # booleans travel as uint8 0/1: `or` is MAX, `and` is MIN
                    ReduceOp.BOR: nccl.NCCL_MAX, ReduceOp.BAND: nccl.NCCL_MIN}
        uid = np.zeros(128, dtype=np.int8)
        if group.rank() == 0:
            made = np.asarray(nccl.get_unique_id(), dtype=np.int8)
            uid[:made.size] = made
        _mpi.wait([group.comm.Ibcast(uid, root=0)], group.timeout, describe(group, "NCCL communicator setup"))
        with arrays.on(device):
            self.comm = nccl.NcclCommunicator(group.size(), tuple(int(b) for b in uid), group.rank())

    # ---- checks ---------------------------------------------------------------------
    def check_device(self, tensor, op: str) -> None:
        if tensor.device.type == "cuda":
            from .. import cuda
            if cuda.current_device() != tensor.device.index:  # buffers are made on the current device
                raise RuntimeError(
                    f"{describe(self.group, op)}: the tensor is on {tensor.device} but the current CUDA device is "
                    f"cuda:{cuda.current_device()}; call ember.cuda.set_device(int(os.environ['LOCAL_RANK'])) "
                    "before the first collective, as with PyTorch's NCCL backend")
        if tensor.device != self.device:
            raise RuntimeError(
                f"{describe(self.group, op)}: the tensor is on {tensor.device}, but this rank's NCCL communicator "
                f"was made on {self.device} (by its first collective). Use one device per rank: "
                "ember.cuda.set_device(int(os.environ['LOCAL_RANK'])) and tensors on 'cuda'")

    def reduce_dtype(self, dtype: np.dtype) -> np.dtype:
        """The dtype NCCL reduces ``dtype`` in (booleans as uint8; others as they are)."""
        return np.dtype(np.uint8) if dtype.kind == "b" else dtype

    def _reduction(self, arr, op, name: str):
        """(NCCL data type, NCCL op, count) for reducing ``arr`` (already in ``reduce_dtype``)."""
        from .process_group import ReduceOp
        if op not in self.ops:
            raise RuntimeError(f"{describe(self.group, name)}: ReduceOp.{op.name} is not supported by the NCCL "
                               "backend (SUM, AVG, PRODUCT, MIN, MAX)")
        dtype, count = arr.dtype, arr.size
        if dtype.kind == "c":  # a complex sum is the sum of its real and imaginary parts
            if op not in (ReduceOp.SUM, ReduceOp.AVG):
                raise RuntimeError(f"{describe(self.group, name)}: ReduceOp.{op.name} on {dtype.name} is not "
                                   "supported by the NCCL backend (complex tensors: SUM and AVG)")
            dtype, count = np.dtype(f"f{dtype.itemsize // 2}"), count * 2
        if dtype not in self.types:
            raise RuntimeError(
                f"{describe(self.group, name)}: the NCCL backend cannot reduce {arr.dtype.name} tensors; it reduces "
                f"{', '.join(sorted(d.name for d in self.types))}, bool and complex. Convert with .to() first")
        return self.types[dtype], self.ops[op], count

    # ---- collectives (arrays contiguous; reductions already in reduce_dtype) ---------
    def _queued(self, name: str, calls, finish=None, grouped: bool = False) -> Work:
        with self.arrays.on(self.device):
            stream = self.arrays.stream()
            if grouped:
                self.nccl.groupStart()
            try:
                calls(stream)
            finally:
                if grouped:
                    self.nccl.groupEnd()
            return EventWork(self.arrays.event(), self.group, name, finish)

    def all_reduce(self, arr, op, name: str, finish=None) -> Work:
        dtype, nop, count = self._reduction(arr, op, name)
        p = self.arrays.ptr(arr)
        return self._queued(name, lambda s: self.comm.allReduce(p, p, count, dtype, nop, s), finish)

    def reduce(self, arr, op, root: int, name: str, finish) -> Work:
        dtype, nop, count = self._reduction(arr, op, name)
        p = self.arrays.ptr(arr)
        return self._queued(name, lambda s: self.comm.reduce(p, p, count, dtype, nop, root, s), finish)

    def reduce_scatter(self, send, recv, op, name: str, finish) -> Work:
        dtype, nop, count = self._reduction(recv, op, name)
        ps, pr = self.arrays.ptr(send), self.arrays.ptr(recv)
        return self._queued(name, lambda s: self.comm.reduceScatter(ps, pr, count, dtype, nop, s), finish)

    def broadcast(self, arr, root: int, name: str, finish) -> Work:
        p = self.arrays.ptr(arr)
        return self._queued(name, lambda s: self.comm.broadcast(p, p, arr.nbytes, self.nccl.NCCL_UINT8, root, s),
                            finish)

    def all_gather(self, send, recv, name: str, finish) -> Work:
        ps, pr = self.arrays.ptr(send), self.arrays.ptr(recv)
        return self._queued(name, lambda s: self.comm.allGather(ps, pr, send.nbytes, self.nccl.NCCL_UINT8, s),
                            finish)

    def exchange(self, sends: list, recvs: list, name: str, finish=None) -> Work:
        """Grouped point-to-point calls: ``sends`` and ``recvs`` are (array, peer group rank) pairs."""
        def calls(s):
            for arr, peer in sends:
                self.comm.send(self.arrays.ptr(arr), arr.nbytes, self.nccl.NCCL_UINT8, peer, s)
            for arr, peer in recvs:
                self.comm.recv(self.arrays.ptr(arr), arr.nbytes, self.nccl.NCCL_UINT8, peer, s)
        return self._queued(name, calls, finish, grouped=True)


class EventWork(Work):
    """A collective queued on a device stream: complete once the event recorded after it has passed."""

    def __init__(self, event, group, name: str, finish=None):
        super().__init__([], group, name, finish)
        self._event = event

    def wait(self, timeout=None) -> bool:
        if not self._done:
            _mpi.poll(lambda: self._event.done, self._seconds(timeout), describe(self._group, self._name))
            self._event.synchronize()
            self._complete()
        return True

    def is_completed(self) -> bool:
        if not self._done and self._event.done:
            self._complete()
        return self._done


def barrier_work(group) -> Work:
    """A barrier on a group that runs only NCCL: an all_reduce of one element on the device of its
    communicator (the current CUDA device when none was made yet), as PyTorch's NCCL barrier."""
    import ember
    from .process_group import ReduceOp
    device_type = next(d for d, b in group.devices.items() if b == "nccl")
    engine = group.engines.get(device_type)
    device = engine.device if engine is not None else ember.device(
        device_type, ember.cuda.current_device() if device_type == "cuda" else None)
    token = ember.zeros(1, dtype=ember.uint8, device=device)
    engine = group.engine([token], "barrier")
    return engine.all_reduce(token._data, ReduceOp.SUM, "barrier")


def attach(group, device_type: str, nccl, arrays, device) -> NcclEngine:
    """Make ``group`` run tensors of ``device_type`` through an NcclEngine on ``nccl`` and ``arrays``
    (collective: every rank of the group calls it at the same point)."""
    engine = NcclEngine(group, nccl, arrays, device)
    group.engines[device_type] = engine
    return engine
