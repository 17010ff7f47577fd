"""Point-to-point: send / recv, isend / irecv, and batch_isend_irecv with P2POp (PyTorch's API).

Messages carry the tensor's bytes; on MPI ``recv`` probes first, so a message of the wrong size is
an error naming both ranks rather than a truncated or partly filled tensor. On NCCL (CUDA tensors)
a send and its receive are one grouped call each; NCCL, as in PyTorch, needs the source rank and
ignores tags.
"""
from __future__ import annotations

import numpy as np

from . import _mpi
from ..backend.device import xp_of
from ._checks import array_of
from .collectives import _Buffer
from .process_group import resolve
from .work import Work, describe

__all__ = ["P2POp", "batch_isend_irecv", "irecv", "isend", "recv", "send"]


def _peer(g, rank, op: str) -> int:
    return g.group_rank(rank, op)


def _nccl_source(g, src, op: str) -> int:
    if src is None:
        raise RuntimeError(f"{describe(g, op)}: receiving from any rank (src=None) is not supported by the NCCL "
                           "backend; pass the sender's rank")
    return _peer(g, src, op)


def isend(tensor, dst: int, group=None, tag: int = 0):
    """Send ``tensor`` to global rank ``dst``; returns a Work to wait on."""
    g = resolve(group, "isend")
    if g is None:
        return None
    arr = array_of(tensor, "isend")
    peer = _peer(g, dst, "isend")
    engine = g.engine([tensor], "isend")
    if engine is not None:
        return engine.exchange([(xp_of(arr).ascontiguousarray(arr), peer)], [], f"send to rank {dst}")
    arr = np.ascontiguousarray(arr)
    return Work([g.comm.Isend(_mpi.as_bytes(arr), dest=_peer(g, dst, "isend"), tag=tag)], g, f"send to rank {dst}")


def send(tensor, dst: int, group=None, tag: int = 0) -> None:
    """Send ``tensor`` to global rank ``dst`` (returns once it is sent)."""
    work = isend(tensor, dst, group, tag)
    if work is not None:
        work.wait()


def irecv(tensor, src: int | None = None, group=None, tag: int = 0):
    """Receive into ``tensor`` from global rank ``src`` (any rank if None); returns a Work."""
    g = resolve(group, "irecv")
    if g is None:
        return None
    buf = _Buffer(tensor, array_of(tensor, "irecv"), copy_in=False)
    engine = g.engine([tensor], "irecv")
    if engine is not None:
        return engine.exchange([], [(buf.arr, _nccl_source(g, src, "irecv"))], f"recv from rank {src}", buf.write_back)
    MPI = _mpi.mpi()
    source = MPI.ANY_SOURCE if src is None else _peer(g, src, "irecv")
    req = g.comm.Irecv(_mpi.as_bytes(buf.arr), source=source, tag=tag)
    return Work([req], g, f"recv from {'any rank' if src is None else f'rank {src}'}", buf.write_back)


def recv(tensor, src: int | None = None, group=None, tag: int = 0) -> int:
    """Receive into ``tensor`` from global rank ``src`` (any rank if None); returns the sender's rank.
    The message must have exactly the tensor's size in bytes."""
    g = resolve(group, "recv")
    if g is None:
        return -1
    arr = array_of(tensor, "recv")
    if g.engine([tensor], "recv") is not None:
        _nccl_source(g, src, "recv")
        irecv(tensor, src, group, tag).wait()
        return src
    MPI = _mpi.mpi()
    name = f"recv from {'any rank' if src is None else f'rank {src}'}"
    status = MPI.Status()
    source = MPI.ANY_SOURCE if src is None else _peer(g, src, "recv")
    # Probe first: a message of the wrong size becomes an error naming both ranks, not a truncation.
    _mpi.poll(lambda: g.comm.Iprobe(source, tag, status), g.timeout, describe(g, name))
    sender = status.Get_source()
    if status.Get_count(MPI.BYTE) != arr.nbytes:
        raise RuntimeError(f"{describe(g, name)}: rank {g.ranks[sender]} sent {status.Get_count(MPI.BYTE)} bytes, but "
                           f"the receiving tensor ({arr.dtype.name}, shape {list(arr.shape)}) holds {arr.nbytes}")
    buf = _Buffer(tensor, arr, copy_in=False)
    g.comm.Recv(_mpi.as_bytes(buf.arr), source=sender, tag=tag)
    buf.write_back()
    return g.ranks[sender]



class P2POp:
    """One send or receive for ``batch_isend_irecv``: ``op`` is ``isend`` or ``irecv``."""

    def __init__(self, op, tensor, peer: int | None = None, group=None, tag: int = 0, group_peer: int | None = None):
        if op not in (isend, irecv):
            raise ValueError("Invalid ``op``. Expected ``op`` to be of type ``torch.distributed.isend`` or "
                             "``torch.distributed.irecv``.")
        if (peer is None) == (group_peer is None):
            raise ValueError("P2POp: give exactly one of peer (a global rank) and group_peer")
        g = resolve(group, "P2POp")
        self.op, self.tensor, self.group, self.tag = op, tensor, group, tag
        self.peer = peer if peer is not None else g.ranks[group_peer]

    def __repr__(self) -> str:
        return f"P2POp({self.op.__name__} peer={self.peer} tag={self.tag})"


def batch_isend_irecv(p2p_op_list: list) -> list:
    """Post every send and receive of ``p2p_op_list`` at once; returns their Works (wait on each)."""
    if not p2p_op_list or not all(isinstance(p, P2POp) for p in p2p_op_list):
        raise ValueError("Invalid ``p2p_op_list``. Each op is expected to to be of type ``torch.distributed.P2POp``.")
    g = resolve(p2p_op_list[0].group, "batch_isend_irecv")
    if g is None or any(resolve(p.group, "batch_isend_irecv") is not g for p in p2p_op_list):
        return [p.op(p.tensor, p.peer, p.group, p.tag) for p in p2p_op_list]
    engine = g.engine([p.tensor for p in p2p_op_list], "batch_isend_irecv")
    if engine is None:
        return [p.op(p.tensor, p.peer, p.group, p.tag) for p in p2p_op_list]
    # NCCL: one grouped call, so a ring of sends and receives cannot wait on itself; one Work for all
    sends, recvs, writes = [], [], []
    for p in p2p_op_list:
        arr = array_of(p.tensor, "batch_isend_irecv")
        if p.op is isend:
            sends.append((xp_of(arr).ascontiguousarray(arr), _peer(g, p.peer, "batch_isend_irecv")))
        else:
            buf = _Buffer(p.tensor, arr, copy_in=False)
            recvs.append((buf.arr, _nccl_source(g, p.peer, "batch_isend_irecv")))
            writes.append(buf.write_back)
    work = engine.exchange(sends, recvs, "batch_isend_irecv", lambda: [w() for w in writes])
    return [work] * len(p2p_op_list)
