"""One MPI world from one mpiexec job per node, as torchrun is run: once on each node.

``ember.distributed.run --nnodes M --node-rank K`` (without ``--hostfile``) starts the node's
ranks with MPICH's mpiexec, all jobs pointed at one MPI name server (``hydra_nameserver``, which
node 0's launcher runs at MASTER_ADDR:MASTER_PORT). Each job's COMM_WORLD holds its node's ranks;
here the jobs become one intracommunicator through MPI's dynamic-process calls: node 0 opens a
port, and the world built so far accepts the nodes in order, each merged after the ranks
already in it, so that global rank = node rank * processes per node + local rank. The name
server carries the port (``MPI_Publish_name``/``MPI_Lookup_name``) and a name per node that says
it has started, so that no side enters a blocking accept or connect before the other is there,
and a node that never comes is an error after the timeout, not a hang.
"""
from __future__ import annotations

import os
import time

from ._mpi import mpi

_world = None


def world(timeout: float):
    """COMM_WORLD, or the world joined from the per-node jobs when the launcher started them so
    (``EMBER_NNODES`` > 1 and ``EMBER_NODE_RANK`` in the environment); built once."""
    global _world
    if _world is None:
        nnodes = int(os.environ.get("EMBER_NNODES", "1"))
        if nnodes > 1:
            _world = _join(int(os.environ["EMBER_NODE_RANK"]), nnodes, timeout)
        else:
            _world = mpi().COMM_WORLD
    return _world


def _join(node: int, nnodes: int, timeout: float):
    MPI = mpi()
    comm = MPI.COMM_WORLD
    first = comm.Get_rank() == 0
    port = MPI.Open_port() if node == 0 and first else None
    if node > 0:
        if first:
            MPI.Publish_name(_name("started", node), "yes")
            port = _lookup(_name("port", node), timeout, f"node {node} waiting for node 0 to accept it")
        inter = comm.Connect(port, root=0)
        comm = _merged(inter, high=True)
        if first:
            MPI.Unpublish_name(_name("started", node), "yes")
    for k in range(node + 1, nnodes):  # the world so far takes in the later nodes, in order
        root = comm.Get_rank() == 0  # node 0's first rank, which holds the port
        if root:
            _lookup(_name("started", k), timeout, f"node 0 waiting for node {k} to start")
            MPI.Publish_name(_name("port", k), port)
        inter = comm.Accept(port, root=0)
        if root:
            MPI.Unpublish_name(_name("port", k), port)
        comm = _merged(inter, high=False)
    if node == 0 and first:
        MPI.Close_port(port)
    return comm


def _merged(inter, high: bool):
    merged = inter.Merge(high=high)
    inter.Free()
    return merged


def _name(what: str, node: int) -> str:
    return f"ember-{os.environ.get('MASTER_PORT', '')}-{what}-{node}"


def _lookup(name: str, timeout: float, what: str) -> str:
    """The value published under ``name``, polling until it appears; after ``timeout`` seconds
    a RuntimeError saying who was waiting for whom."""
    MPI = mpi()
    deadline = time.monotonic() + timeout
    while True:
        try:
            return MPI.Lookup_name(name)
        except MPI.Exception:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"init_process_group: {what} timed out after {timeout:g} s: every node's launcher must "
                    "run with the same --nnodes, --master-addr and --master-port, and each --node-rank "
                    "once") from None
            time.sleep(0.05)
