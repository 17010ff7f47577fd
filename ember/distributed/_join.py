"""One MPI world from jobs that MPI did not start together, through MPI's dynamic-process calls.

Two cases, each a set of "parts" numbered 0..n-1 that meet at MASTER_ADDR:MASTER_PORT:
- a launcher per node, torchrun's way (``ember.distributed.run --nnodes M --node-rank K``
  without ``--hostfile``): each node's ranks are one mpiexec job, a part;
- processes started one by one with torchrun's variables (RANK, WORLD_SIZE, MASTER_ADDR,
  MASTER_PORT) by a shell loop, a cluster scheduler or torchrun itself: each is an MPI singleton,
  a part of one rank.

The first rank of part 0 listens at MASTER_PORT. The first rank of every other part connects
there and says which part it is (a line: ``_HELLO`` and its number; a connection that says
anything else is dropped), and part 0 answers whether it takes it. Then the two sockets become
an MPI intercommunicator through ``MPI_Comm_join``, the call MPI defines for this, and from
then on everything goes through MPI, starting with the MPI port that part 0 opened. The world
built so far accepts the parts in order, each merged after the ranks already in it, so that a
rank's place is its part's number, then its rank in the part. Every wait is bounded: a part
that never comes is an error after the timeout that names it.
"""
from __future__ import annotations

import os
import re
import socket
import time

import numpy as np

from . import _mpi
from ._mpi import mpi

_world = None
_HELLO = b"ember.distributed join "  # a connecting part's first line: this, then its number
_LONGEST_LINE = 1024  # an answer or a first line longer than this is not ember's
_WELCOME = b"join\n"  # part 0's answer when it takes the part (else why it does not)
_SILENT_PEER_S = 10  # how long part 0 waits for them from a connected process


def meeting(rank: int, world_size: int, init_method: str | None):
    """How this process joins its world: (its part, the number of parts, part 0's address and
    port, what a part is), or None when one MPI job holds the whole world. Errors about the
    environment are raised here, before any waiting."""
    nnodes = int(os.environ.get("EMBER_NNODES", "1"))
    if nnodes > 1:  # a launcher per node started this part
        return int(os.environ["EMBER_NODE_RANK"]), nnodes, _master(None), "node"
    if _mpi.under_mpi_launcher() or world_size == 1:
        return None
    if not 0 <= rank < world_size:
        raise ValueError(f"init_process_group: rank {rank} is not one of the world's ranks (0 to {world_size - 1})")
    master = _master(init_method)
    _check_singletons_connect()
    return rank, world_size, master, "rank"


def world(timeout: float, meet):
    """This process's world, built once: COMM_WORLD, or the parts that ``meet`` describes joined."""
    global _world
    if _world is None:
        _world = mpi().COMM_WORLD if meet is None else _join(*meet, timeout)
    return _world


def _master(init_method: str | None) -> tuple[str, int]:
    """(address, port) where part 0 listens: a ``tcp://host:port`` init_method's, else MASTER_ADDR
    and MASTER_PORT (ValueError, as PyTorch's env:// rendezvous, when one is missing)."""
    if init_method and init_method.startswith("tcp://"):
        host, _, port = init_method[len("tcp://"):].partition("?")[0].rstrip("/").rpartition(":")
        return host.strip("[]"), int(port)
    for var in ("MASTER_ADDR", "MASTER_PORT"):
        if var not in os.environ:
            raise ValueError(f"Error initializing torch.distributed using env:// rendezvous: environment variable "
                             f"{var} expected, but not set")
    # torchrun's agent keeps its own store at MASTER_PORT for the job's lifetime; the world meets on the next port
    port = int(os.environ["MASTER_PORT"]) + (os.environ.get("TORCHELASTIC_USE_AGENT_STORE") == "True")
    return os.environ["MASTER_ADDR"], port


def _check_singletons_connect() -> None:
    """Refuse, before any waiting, MPI libraries whose singletons cannot connect to each other."""
    version = mpi().Get_library_version()
    found = re.search(r"MPICH Version:\s*(\d+)\.(\d+)", version)
    if found and (int(found[1]), int(found[2])) == (5, 0):
        raise RuntimeError("init_process_group: MPICH 5.0 cannot connect processes started without a launcher "
                           "(pmodels/mpich#7805). pip install 'mpich>=4.3,<5' (the MPI of ember[distributed]), or "
                           "start the job with `python -m ember.distributed.run --nproc-per-node N script.py`")
    if "Open MPI" in version:
        raise RuntimeError("init_process_group: Open MPI's processes cannot connect without its launcher. Start "
                           "the job with `mpirun` or `python -m ember.distributed.run`, or pip install "
                           "'ember[distributed]' for MPICH, whose processes can")


def _join(part: int, parts: int, master: tuple[str, int], unit: str, timeout: float):
    MPI = mpi()
    comm = MPI.COMM_WORLD
    first = comm.Get_rank() == 0
    if part == 0:
        links = _accept_links(parts, master[1], timeout, unit) if first else {}
        port = MPI.Open_port() if first else None
    else:
        port = _port_from_part_0(part, master, timeout, unit) if first else None
        comm = _merged(comm.Connect(port, root=0), high=True)
    for k in range(part + 1, parts):  # the world so far takes in the later parts, in order
        if comm.Get_rank() == 0:  # part 0's first rank, which holds the port
            _send_text(links.pop(k), port)
        comm = _merged(comm.Accept(port, root=0), high=False)
    if part == 0 and first:
        MPI.Close_port(port)
    return comm


def _accept_links(parts: int, port: int, timeout: float, unit: str) -> dict:
    """Part 0: an intercommunicator with the first rank of each other part, by part number."""
    MPI = mpi()
    deadline = time.monotonic() + timeout
    try:
        server = socket.create_server(("", port), family=socket.AF_INET6, dualstack_ipv6=True) \
            if socket.has_dualstack_ipv6() else socket.create_server(("", port))
    except OSError as e:
        raise RuntimeError(f"init_process_group: {unit} 0 cannot listen at port {port} ({os.strerror(e.errno)}): "
                           "choose another MASTER_PORT") from None
    links = {}
    with server:
        while len(links) < parts - 1:
            missing = ", ".join(str(k) for k in range(1, parts) if k not in links)
            server.settimeout(max(deadline - time.monotonic(), 0.01))
            try:
                sock, _ = server.accept()
            except socket.timeout:
                raise _timed_out(f"{unit} 0 waiting for {unit} {missing} to connect", timeout) from None
            with sock:
                k = _hello(sock)
                if k is None:
                    continue  # not an ember process (a port scan, a health check): dropped
                if not 0 < k < parts or k in links:
                    why = (f"{unit} {k} is " + ("taken" if k in links else f"not one of {unit}s 1 to {parts - 1}")
                           + f": every {unit} needs its own number (RANK) below WORLD_SIZE={parts}")
                    sock.sendall(why.encode() + b"\n")  # the process is told, rather than left waiting
                    raise RuntimeError(f"init_process_group: a process connected as {unit} {k}, but {why}")
                sock.sendall(_WELCOME)
                sock.setblocking(True)  # MPI reads and writes the descriptor itself
                links[k] = MPI.Comm.Join(sock.fileno())
    return links


def _hello(sock) -> int | None:
    """The part number a connected process says in its first line (``_HELLO`` and the number),
    or None when the line is something else or does not come within _SILENT_PEER_S."""
    found = re.fullmatch(rb"%s(\d+)\n" % re.escape(_HELLO), _line(sock, _SILENT_PEER_S))
    return None if found is None else int(found[1])


def _line(sock, timeout: float) -> bytes:
    """The next line from ``sock``, read a byte at a time: what follows it is MPI's (b"" when it
    closes, says nothing for ``timeout`` seconds, or runs past _LONGEST_LINE bytes)."""
    sock.settimeout(timeout)
    line = b""
    try:
        while not line.endswith(b"\n"):
            if len(line) > _LONGEST_LINE:
                return b""
            byte = sock.recv(1)
            if not byte:
                return b""
            line += byte
    except OSError:
        return b""
    return line


def _port_from_part_0(part: int, master: tuple[str, int], timeout: float, unit: str) -> str:
    """Another part's first rank: connect to part 0 (retrying until it listens), then receive its MPI port."""
    MPI = mpi()
    deadline = time.monotonic() + timeout
    while True:
        try:
            sock = socket.create_connection(master, timeout=max(deadline - time.monotonic(), 0.01))
            break
        except OSError:
            if time.monotonic() > deadline:
                raise _timed_out(f"{unit} {part} waiting for {unit} 0 at {master[0]}:{master[1]}", timeout) from None
            time.sleep(0.1)
    with sock:
        sock.sendall(b"%s%d\n" % (_HELLO, part))
        answer = _line(sock, timeout)
        if answer != _WELCOME:
            raise RuntimeError(f"init_process_group: {unit} 0 refused {unit} {part}: "
                               + (answer.decode(errors="replace").strip() or "it closed the connection"))
        sock.setblocking(True)  # MPI reads and writes the descriptor itself
        link = MPI.Comm.Join(sock.fileno())
    text = np.zeros(MPI.MAX_PORT_NAME, np.uint8)
    _mpi.wait([link.Irecv(text, source=0)], timeout, f"init_process_group: {unit} {part} waiting for "
              f"{unit} 0 to accept it")
    link.Free()
    return text.tobytes().rstrip(b"\0").decode()


def _send_text(link, text: str) -> None:
    data = np.zeros(mpi().MAX_PORT_NAME, np.uint8)
    data[:len(text)] = np.frombuffer(text.encode(), np.uint8)
    link.Send(data, dest=0)
    link.Free()


def _merged(inter, high: bool):
    merged = inter.Merge(high=high)
    inter.Free()
    return merged


def _timed_out(what: str, timeout: float) -> RuntimeError:
    return RuntimeError(f"init_process_group: {what} timed out after {timeout:g} s: every process must be given "
                        "the same MASTER_ADDR, MASTER_PORT and WORLD_SIZE (or --nnodes, --master-addr and "
                        "--master-port), and each its own RANK (or --node-rank)")
