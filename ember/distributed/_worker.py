"""One rank of a job started by ``ember.distributed.run``: mpiexec starts this module, which sets
torchrun's variables from MPI's, runs the script as a child process (MPI's variables pass down, so
the script itself joins the job) and, if the script fails, leaves a note for the launcher: exit
status and the last lines of its stderr (which is still shown live). A Python exception in the
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
    child = subprocess.Popen(cmd, stderr=subprocess.PIPE, preexec_fn=die_with_parent)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda s, _f: child.send_signal(s))
    tail = collections.deque(maxlen=TAIL_LINES)

    def pump():
        for line in iter(child.stderr.readline, b""):
            sys.stderr.buffer.write(line)
            sys.stderr.buffer.flush()
            tail.append(line.decode(errors="replace").rstrip("\n"))
    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    code = child.wait()
    reader.join(timeout=5)
    if code != 0:
        write_note(rank, code, list(tail))
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
