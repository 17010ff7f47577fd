"""One rank of a job started by ``ember.distributed.run``: mpiexec starts this module, which sets
torchrun's variables from MPI's, runs the script as a child process (MPI's variables pass down, so
the script itself joins the job) and, if the script fails, leaves a note for the launcher: exit
status and the last lines of its stderr. The script's output is passed on live, a whole line
at a time. A Python exception in the
script leaves its own note first (``_failure``), as MPI may stop this wrapper before it can."""
from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading

from ._failure import TAIL_LINES, write_note


def _first(names, default=None):
    for n in names:
        if n in os.environ:
            return int(os.environ[n])
    return default


def _set_torchrun_env(nproc_per_node: int) -> tuple[int, int]:
    rank = _first(("OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"))
    size = _first(("OMPI_COMM_WORLD_SIZE", "PMI_SIZE"))
    if rank is None or size is None:
        sys.exit("ember.distributed._worker: not started by mpiexec (no MPI rank in the environment); "
                 "use python -m ember.distributed.run")
    local = _first(("OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "PALS_LOCAL_RANKID"), rank % nproc_per_node)
    node, nnodes = _first(("EMBER_NODE_RANK",), 0), _first(("EMBER_NNODES",), 1)
    if nnodes > 1 and size == nproc_per_node:  # one mpiexec job per node: MPI's ranks are the node's
        rank, size = node * nproc_per_node + rank, nnodes * nproc_per_node
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(size), LOCAL_RANK=str(local),
                      LOCAL_WORLD_SIZE=str(nproc_per_node), GROUP_RANK=str(rank // nproc_per_node),
                      ROLE_RANK=str(rank), ROLE_WORLD_SIZE=str(size), TORCHELASTIC_RUN_ID="none",
                      TORCHELASTIC_RESTART_COUNT="0", TORCHELASTIC_MAX_RESTARTS="0")
    return rank, local


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Linux: this process gets ``sig`` when its parent dies, so that killing the launcher (or
    mpiexec, which puts every rank in a process group of its own) leaves no rank running."""
    try:
        import ctypes
        ctypes.CDLL(None).prctl(1, int(sig))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def main() -> int:
    note_dir, nproc_per_node, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    die_with_parent()  # mpiexec gone: so is this wrapper, and with it the script (below)
    rank, _ = _set_torchrun_env(nproc_per_node)
    os.environ["EMBER_RUN_NOTES"] = note_dir
    # MPICH's process manager talks to the rank over an inherited socket (PMI_FD): keep it open
    pmi_fds = (int(os.environ["PMI_FD"]),) if "PMI_FD" in os.environ else ()
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=die_with_parent,
                             pass_fds=pmi_fds)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda s, _f: child.send_signal(s))
    tail = collections.deque(maxlen=TAIL_LINES)

    def pump(src, dst, keep=None):
        # Whole lines, one write each: the ranks' lines reach mpiexec (which may forward its
        # ranks' output in raw chunks, as MPICH's does) without being cut into each other.
        for line in iter(src.readline, b""):
            dst.write(line)
            dst.flush()
            if keep is not None:
                keep.append(line.decode(errors="replace").rstrip("\n"))
    readers = [threading.Thread(target=pump, args=(child.stdout, sys.stdout.buffer), daemon=True),
               threading.Thread(target=pump, args=(child.stderr, sys.stderr.buffer, tail), daemon=True)]
    for reader in readers:
        reader.start()
    code = child.wait()
    for reader in readers:
        reader.join(timeout=5)
    if code != 0:
        write_note(rank, code, list(tail))
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
