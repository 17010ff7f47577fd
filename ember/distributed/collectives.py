"""Collectives on ember tensors, in place as PyTorch's, each posted as one non-blocking MPI call,
or queued on the NCCL engine (_nccl.py) for the device types the group runs with NCCL (point-to-point
sends are in point_to_point.py). Both share the argument checks and the buffers here.

Results land directly in the tensor's memory when it is contiguous and of a dtype MPI reduces;
otherwise they go through a contiguous buffer written back when the operation completes
(``Work.wait``). Data-moving collectives send bytes, so every dtype (bfloat16 included) moves exactly.
"""
from __future__ import annotations

import numpy as np

from . import _mpi
from ..backend.compat import writeable
from ..backend.device import xp_of
from ._checks import array_of, check_local, check_same
from .process_group import ReduceOp, resolve
from .work import Work, describe, finish

__all__ = ["all_gather", "all_gather_into_tensor", "all_reduce", "all_to_all", "all_to_all_single", "broadcast",
           "gather", "reduce", "reduce_scatter", "reduce_scatter_tensor", "scatter"]


class _Buffer:
    """A contiguous array standing for ``tensor`` (in ``dtype``, on its device); ``write_back`` puts
    it in the tensor."""

    def __init__(self, tensor, arr, dtype: np.dtype | None = None, copy_in: bool = True):
        self.tensor = tensor
        dtype = arr.dtype if dtype is None else dtype
        xp = xp_of(arr)
        self.direct = arr.flags.c_contiguous and writeable(arr) and arr.dtype == dtype
        if self.direct:
            self.arr = arr
        elif copy_in:
            self.arr = xp.ascontiguousarray(arr, dtype=dtype)
        else:
            self.arr = xp.empty(arr.shape, dtype=dtype)

    def write_back(self) -> None:
        if self.direct:
            self.tensor._vc[0] += 1  # written by MPI or NCCL: views and autograd must see a new version
        else:
            self.tensor._store(self.arr.astype(self.tensor._data.dtype, copy=False))


def _check_op(op, arr, name: str, group):
    """``op`` checked against ``arr``'s dtype; on booleans SUM is `or` and PRODUCT `and` (as PyTorch)."""
    if not isinstance(op, ReduceOp):
        raise TypeError(f"{describe(group, name)}: op must be a dist.ReduceOp, got {op!r}")
    kind = arr.dtype.kind
    if op is ReduceOp.AVG and kind not in "fc":
        raise RuntimeError(f"{describe(group, name)}: ReduceOp.AVG needs a floating point or complex tensor, got "
                           f"{arr.dtype.name}; use ReduceOp.SUM and divide")
    if op in (ReduceOp.MIN, ReduceOp.MAX) and kind == "c":
        raise RuntimeError(f"{describe(group, name)}: ReduceOp.{op.name} is not defined for complex tensors")
    if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR) and kind not in "iub":
        raise RuntimeError(f"{describe(group, name)}: ReduceOp.{op.name} needs an integer or bool tensor, got "
                           f"{arr.dtype.name}")
    if kind == "b" and op in (ReduceOp.SUM, ReduceOp.PRODUCT):
        op = ReduceOp.BOR if op is ReduceOp.SUM else ReduceOp.BAND  # PyTorch: sum of bools is `or`
    return op


def _mpi_op(op):
    MPI = _mpi.mpi()
    return {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD, ReduceOp.MIN: MPI.MIN,
            ReduceOp.MAX: MPI.MAX, ReduceOp.BAND: MPI.BAND, ReduceOp.BOR: MPI.BOR, ReduceOp.BXOR: MPI.BXOR}[op]


def _reduced(buf: _Buffer, op, size: int):
    """The completion step of a reduction: AVG's division, then the write-back."""
    def done():
        if op is ReduceOp.AVG:
            buf.arr /= size
        buf.write_back()
    return done


def _reduce_dtype(engine, dtype: np.dtype) -> np.dtype:
    return _mpi.reduce_dtype(dtype) if engine is None else engine.reduce_dtype(dtype)


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Reduce ``tensor`` across the ranks of ``group``; every rank gets the result in place."""
    g = resolve(group, "all_reduce")
    if g is None:
        return None
    arr = array_of(tensor, "all_reduce")
    red = _check_op(op, arr, "all_reduce", g)
    check_same(g, "all_reduce", arr, same_shape=True)
    engine = g.engine([tensor], "all_reduce")
    buf = _Buffer(tensor, arr, _reduce_dtype(engine, arr.dtype))
    done = _reduced(buf, op, g.size())
    if engine is not None:
        return finish(engine.all_reduce(buf.arr, red, "all_reduce", done), async_op)
    req = g.comm.Iallreduce(_mpi.mpi().IN_PLACE, buf.arr, _mpi_op(red))
    return finish(Work([req], g, "all_reduce", done), async_op)


def reduce(tensor, dst: int = 0, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Reduce ``tensor`` across the ranks; only rank ``dst`` (a global rank) receives the result."""
    g = resolve(group, "reduce")
    if g is None:
        return None
    arr = array_of(tensor, "reduce")
    red = _check_op(op, arr, "reduce", g)
    root = g.group_rank(dst, "reduce")
    check_same(g, "reduce", arr, same_shape=True)
    engine = g.engine([tensor], "reduce")
    buf = _Buffer(tensor, arr, _reduce_dtype(engine, arr.dtype))
    done = _reduced(buf, op, g.size()) if g.rank() == root else None
    if engine is not None:
        return finish(engine.reduce(buf.arr, red, root, "reduce", done), async_op)
    if g.rank() == root:
        req = g.comm.Ireduce(_mpi.mpi().IN_PLACE, buf.arr, _mpi_op(red), root=root)
    else:
        req = g.comm.Ireduce(buf.arr, None, _mpi_op(red), root=root)
    return finish(Work([req], g, "reduce", done), async_op)


def broadcast(tensor, src: int = 0, group=None, async_op: bool = False):
    """Copy rank ``src``'s ``tensor`` (``src`` a global rank) into every other rank's, in place."""
    g = resolve(group, "broadcast")
    if g is None:
        return None
    arr = array_of(tensor, "broadcast")
    root = g.group_rank(src, "broadcast")
    check_same(g, "broadcast", arr, same_shape=True)
    engine = g.engine([tensor], "broadcast")
    buf = _Buffer(tensor, arr, copy_in=g.rank() == root)
    done = None if g.rank() == root else buf.write_back
    if engine is not None:
        return finish(engine.broadcast(buf.arr, root, "broadcast", done), async_op)
    req = g.comm.Ibcast(_mpi.as_bytes(buf.arr), root=root)
    return finish(Work([req], g, "broadcast", done), async_op)


def _stacked(tensors, group, op: str, like: np.ndarray, what: str) -> list:
    check_local(isinstance(tensors, (list, tuple)) and len(tensors) == group.size(), group, op,
                f"{what} must be a list of {group.size()} tensors (one per rank), got "
                f"{len(tensors) if isinstance(tensors, (list, tuple)) else type(tensors).__name__}")
    arrays = [array_of(t, op, f"{what}[{i}]") for i, t in enumerate(tensors)]
    for i, a in enumerate(arrays):
        check_local(a.shape == like.shape and a.dtype == like.dtype, group, op,
                    f"{what}[{i}] has {a.dtype.name} of shape {list(a.shape)}, expected {like.dtype.name} of shape "
                    f"{list(like.shape)} (the input's)")
    return arrays


def _scatter_rows(rows: np.ndarray, tensors) -> None:
    for row, t in zip(rows, tensors):
        t._store(row)


def all_gather(tensor_list, tensor, group=None, async_op: bool = False):
    """Every rank's ``tensor`` into ``tensor_list[rank]``, on every rank."""
    g = resolve(group, "all_gather")
    if g is None:
        return None
    arr = array_of(tensor, "all_gather")
    _stacked(tensor_list, g, "all_gather", arr, "tensor_list")
    check_same(g, "all_gather", arr, same_shape=True)
    engine = g.engine([tensor, *tensor_list], "all_gather")
    xp = xp_of(arr)
    rows = xp.empty((g.size(),) + arr.shape, dtype=arr.dtype)
    done = lambda: _scatter_rows(rows, tensor_list)  # noqa: E731
    if engine is not None:
        return finish(engine.all_gather(xp.ascontiguousarray(arr), rows, "all_gather", done), async_op)
    req = g.comm.Iallgather(_mpi.as_bytes(np.ascontiguousarray(arr)), _mpi.as_bytes(rows))
    return finish(Work([req], g, "all_gather", done), async_op)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op: bool = False):
    """Every rank's ``input_tensor`` concatenated (or stacked) along dim 0 into ``output_tensor``."""
    g = resolve(group, "all_gather_into_tensor")
    if g is None:
        return None
    out, arr = array_of(output_tensor, "all_gather_into_tensor", "output_tensor"), \
        array_of(input_tensor, "all_gather_into_tensor", "input_tensor")
    check_local(out.size == arr.size * g.size() and out.dtype == arr.dtype, g, "all_gather_into_tensor",
                f"output_tensor ({out.dtype.name}, shape {list(out.shape)}) must hold world size ({g.size()}) x "
                f"input_tensor ({arr.dtype.name}, shape {list(arr.shape)})")
    check_same(g, "all_gather_into_tensor", arr, same_shape=True)
    engine = g.engine([output_tensor, input_tensor], "all_gather_into_tensor")
    buf = _Buffer(output_tensor, out, copy_in=False)
    if engine is not None:
        return finish(engine.all_gather(xp_of(arr).ascontiguousarray(arr), buf.arr, "all_gather_into_tensor",
                                        buf.write_back), async_op)
    req = g.comm.Iallgather(_mpi.as_bytes(np.ascontiguousarray(arr)), _mpi.as_bytes(buf.arr))
    return finish(Work([req], g, "all_gather_into_tensor", buf.write_back), async_op)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Reduce ``input`` across the ranks and give rank ``r`` the ``r``-th of its ``world_size`` equal parts."""
    g = resolve(group, "reduce_scatter_tensor")
    if g is None:
        return None
    out, arr = array_of(output, "reduce_scatter_tensor", "output"), array_of(input, "reduce_scatter_tensor", "input")
    check_local(arr.size == out.size * g.size() and out.dtype == arr.dtype, g, "reduce_scatter_tensor",
                f"input ({arr.dtype.name}, shape {list(arr.shape)}) must hold world size ({g.size()}) x output "
                f"({out.dtype.name}, shape {list(out.shape)})")
    return _reduce_scatter(g, "reduce_scatter_tensor", output, out, arr, op, async_op, [output, input])


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Reduce ``input_list[r]`` across the ranks into rank ``r``'s ``output``."""
    g = resolve(group, "reduce_scatter")
    if g is None:
        return None
    out = array_of(output, "reduce_scatter", "output")
    arrays = _stacked(input_list, g, "reduce_scatter", out, "input_list")
    return _reduce_scatter(g, "reduce_scatter", output, out, xp_of(out).stack(arrays), op, async_op,
                           [output, *input_list])


def _reduce_scatter(g, name, output, out, arr, op, async_op, tensors):
    red = _check_op(op, arr, name, g)
    check_same(g, name, arr, same_shape=True)
    engine = g.engine(tensors, name)
    dtype = _reduce_dtype(engine, arr.dtype)
    send = xp_of(arr).ascontiguousarray(arr, dtype=dtype)
    buf = _Buffer(output, out, dtype, copy_in=False)
    done = _reduced(buf, op, g.size())
    if engine is not None:
        return finish(engine.reduce_scatter(send, buf.arr, red, name, done), async_op)
    req = g.comm.Ireduce_scatter_block(send, buf.arr, _mpi_op(red))
    return finish(Work([req], g, name, done), async_op)


def gather(tensor, gather_list=None, dst: int = 0, group=None, async_op: bool = False):
    """Every rank's ``tensor`` into ``gather_list`` on rank ``dst`` (other ranks pass None)."""
    g = resolve(group, "gather")
    if g is None:
        return None
    arr = array_of(tensor, "gather")
    root = g.group_rank(dst, "gather")
    if g.rank() == root:
        _stacked(gather_list, g, "gather", arr, "gather_list")
    else:
        check_local(not gather_list, g, "gather", f"gather_list must be None or empty on non-destination ranks "
                    f"(dst is {dst})")
    check_same(g, "gather", arr, same_shape=True)
    engine = g.engine([tensor, *(gather_list or [])], "gather")
    if engine is not None:
        return finish(_nccl_gather(engine, g, tensor, arr, gather_list, root), async_op)
    rows = np.empty((g.size(),) + arr.shape, dtype=arr.dtype) if g.rank() == root else None
    req = g.comm.Igather(_mpi.as_bytes(np.ascontiguousarray(arr)),
                         None if rows is None else _mpi.as_bytes(rows), root=root)
    done = (lambda: _scatter_rows(rows, gather_list)) if rows is not None else None
    return finish(Work([req], g, "gather", done), async_op)


def scatter(tensor, scatter_list=None, src: int = 0, group=None, async_op: bool = False):
    """Rank ``src``'s ``scatter_list[r]`` into rank ``r``'s ``tensor``."""
    g = resolve(group, "scatter")
    if g is None:
        return None
    arr = array_of(tensor, "scatter")
    root = g.group_rank(src, "scatter")
    parts = None
    if g.rank() == root:
        parts = _stacked(scatter_list, g, "scatter", arr, "scatter_list")
    else:
        check_local(not scatter_list, g, "scatter", f"scatter_list must be None or empty on non-source ranks "
                    f"(src is {src})")
    check_same(g, "scatter", arr, same_shape=True)
    engine = g.engine([tensor, *(scatter_list or [])], "scatter")
    buf = _Buffer(tensor, arr, copy_in=False)
    if engine is not None:  # grouped point-to-point calls (NCCL has no scatter); the source copies its own part
        if parts is None:
            return finish(engine.exchange([], [(buf.arr, root)], "scatter", buf.write_back), async_op)
        buf.arr[...] = parts[root]
        sends = [(xp_of(a).ascontiguousarray(a), r) for r, a in enumerate(parts) if r != root]
        return finish(engine.exchange(sends, [], "scatter", buf.write_back), async_op)
    send = None if parts is None else np.stack(parts)
    req = g.comm.Iscatter(None if send is None else _mpi.as_bytes(send), _mpi.as_bytes(buf.arr), root=root)
    return finish(Work([req], g, "scatter", buf.write_back), async_op)


def all_to_all(output_tensor_list, input_tensor_list, group=None, async_op: bool = False):
    """``input_tensor_list[j]`` of rank ``i`` into ``output_tensor_list[i]`` of rank ``j`` (sizes may differ)."""
    g = resolve(group, "all_to_all")
    if g is None:
        return None
    n = g.size()
    ins = [array_of(t, "all_to_all", f"input_tensor_list[{i}]") for i, t in enumerate(input_tensor_list)]
    outs = [array_of(t, "all_to_all", f"output_tensor_list[{i}]") for i, t in enumerate(output_tensor_list)]
    check_local(len(ins) == n and len(outs) == n, g, "all_to_all",
                f"input_tensor_list and output_tensor_list must hold {n} tensors (one per rank), got {len(ins)} "
                f"and {len(outs)}")
    check_local(len({a.dtype for a in ins + outs}) == 1, g, "all_to_all", "all tensors must have one dtype")
    check_same(g, "all_to_all", ins[0], same_shape=False)
    engine = g.engine([*input_tensor_list, *output_tensor_list], "all_to_all")
    if engine is not None:
        return finish(_nccl_all_to_all(engine, g, output_tensor_list, ins, outs), async_op)
    send = np.concatenate([_mpi.as_bytes(np.ascontiguousarray(a)) for a in ins])
    recv = np.empty(sum(a.nbytes for a in outs), dtype=np.uint8)
    scounts, rcounts = [a.nbytes for a in ins], [a.nbytes for a in outs]
    req = g.comm.Ialltoallv([send, (scounts, np.cumsum([0] + scounts[:-1]).tolist())],
                            [recv, (rcounts, np.cumsum([0] + rcounts[:-1]).tolist())])

    def done():
        offset = 0
        for t, a in zip(output_tensor_list, outs):
            t._store(recv[offset:offset + a.nbytes].view(a.dtype).reshape(a.shape))
            offset += a.nbytes
    return finish(Work([req], g, "all_to_all", done), async_op)


def all_to_all_single(output, input, output_split_sizes=None, input_split_sizes=None, group=None,
                      async_op: bool = False):
    """all_to_all on one tensor: ``input`` split along dim 0 (equally, or by ``input_split_sizes``)."""
    g = resolve(group, "all_to_all_single")
    if g is None:
        return None
    n = g.size()
    ins = list(input.split(input_split_sizes if input_split_sizes else input.shape[0] // n))
    outs = list(output.split(output_split_sizes if output_split_sizes else output.shape[0] // n))
    return all_to_all(outs, ins, group, async_op)


def _nccl_gather(engine, g, tensor, arr, gather_list, root: int):
    """gather as grouped point-to-point calls (NCCL has no gather)."""
    mine = xp_of(arr).ascontiguousarray(arr)
    if g.rank() != root:
        return engine.exchange([(mine, root)], [], "gather")
    rows = xp_of(arr).empty((g.size(),) + arr.shape, dtype=arr.dtype)
    rows[root] = mine
    recvs = [(rows[r], r) for r in range(g.size()) if r != root]
    return engine.exchange([], recvs, "gather", lambda: _scatter_rows(rows, gather_list))


def _nccl_all_to_all(engine, g, output_tensor_list, ins: list, outs: list):
    """all_to_all as grouped point-to-point calls; this rank's own part is a copy."""
    xp, me = xp_of(ins[0]), g.rank()
    sends = [(xp.ascontiguousarray(a), r) for r, a in enumerate(ins) if r != me]
    recvs = [(xp.empty(a.shape, dtype=a.dtype), r) for r, a in enumerate(outs) if r != me]
    received = {r: a for a, r in recvs}
    received[me] = ins[me]

    def done():
        for r, t in enumerate(output_tensor_list):
            t._store(received[r])
    return engine.exchange(sends, recvs, "all_to_all", done)
