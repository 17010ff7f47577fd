"""An uncaught exception in one rank ends that process at once, without MPI_Finalize.

MPI_Finalize waits for the other ranks, which may be waiting in a collective for this one: the
job would hang until the timeout. Exiting without it makes mpiexec stop the whole job (what
``python -m mpi4py`` does too). Under ``ember.distributed.run`` the rank also leaves a note (its
traceback's last lines) for the launcher's report, written here because MPI may kill the rank's
wrapper process before that could.
"""
from __future__ import annotations

import json
import os
import socket
import sys
import time
import traceback

TAIL_LINES = 20


def write_note(rank: int, exitcode: int, tail: list[str]) -> None:
    """Record why ``rank`` failed, for the launcher (only the first note of a rank is kept)."""
    note_dir = os.environ.get("EMBER_RUN_NOTES")
    if not note_dir or not os.path.isdir(note_dir):
        return
    path = os.path.join(note_dir, f"rank{rank}.json")
    if os.path.exists(path):
        return
    note = {"rank": rank, "local_rank": int(os.environ.get("LOCAL_RANK", rank)), "exitcode": exitcode,
            "time": time.time(), "host": socket.gethostname(), "stderr_tail": tail[-TAIL_LINES:]}
    with open(path + ".tmp", "w") as f:
        json.dump(note, f)
    os.replace(path + ".tmp", path)


_previous = None


def install(rank: int) -> None:
    """Make an uncaught exception print its traceback, leave a note, and end this rank."""
    global _previous
    uninstall()
    _previous = previous = sys.excepthook

    def hook(kind, value, tb):
        previous(kind, value, tb)
        lines = "".join(traceback.format_exception(kind, value, tb)).splitlines()
        try:
            write_note(rank, 1, lines)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(1)
    sys.excepthook = hook


def uninstall() -> None:
    """Python's own handling again (the process group is gone)."""
    global _previous
    if _previous is not None:
        sys.excepthook, _previous = _previous, None
