"""``spawn`` / ``start_processes``: run ``fn(i, *args)`` in ``nprocs`` processes and report
the first failure in the parent, with the child's traceback (PyTorch's behaviour and
exception types)."""
from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import sys
import tempfile
import time
import traceback
import warnings

__all__ = ["ProcessContext", "ProcessException", "ProcessExitedException", "ProcessRaisedException", "spawn",
           "start_processes"]

_TERMINATE_WAIT_S = 30.0  # how long failed-run siblings get to exit after SIGTERM before SIGKILL


class ProcessException(Exception):
    """A spawned process failed; ``error_index`` is its index, ``error_pid`` its pid."""

    def __init__(self, msg: str, error_index: int, error_pid: int):
        super().__init__(msg)
        self.msg, self.error_index, self.error_pid = msg, error_index, error_pid

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.error_pid)


class ProcessRaisedException(ProcessException):
    """The process's function raised; the message holds its traceback."""


class ProcessExitedException(ProcessException):
    """The process exited with a non-zero code or was killed by a signal."""

    def __init__(self, msg: str, error_index: int, error_pid: int, exit_code: int, signal_name: str | None = None):
        super().__init__(msg, error_index, error_pid)
        self.exit_code, self.signal_name = exit_code, signal_name

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.error_pid, self.exit_code, self.signal_name)


def _wrap(fn, i, args, error_file):
    try:
        fn(i, *args)
    except KeyboardInterrupt:
        pass  # the parent interrupted the run: not this process's error
    except Exception:
        with open(error_file, "wb") as fh:
            pickle.dump(traceback.format_exc(), fh)
        sys.exit(1)


class ProcessContext:
    """The processes of one ``start_processes`` call; ``join()`` waits for them."""

    def __init__(self, processes, error_files):
        self.processes, self.error_files = processes, error_files
        self.sentinels = {p.sentinel: i for i, p in enumerate(processes)}

    def pids(self) -> list[int]:
        return [int(p.pid) for p in self.processes]

    def _join_all(self, timeout: float) -> None:
        end = time.monotonic() + timeout
        for p in self.processes:
            p.join(max(0.0, end - time.monotonic()))

    def join(self, timeout: float | None = None, grace_period: float | None = None) -> bool:
        """Wait (up to ``timeout`` seconds) for processes to exit. True when all have exited
        successfully, False while some still run. When one fails, the others get
        ``grace_period`` seconds, then SIGTERM, then SIGKILL, and the failure is raised as
        ProcessRaisedException (the child raised; its traceback is in the message) or
        ProcessExitedException (exit code or signal)."""
        if not self.sentinels:
            return True
        error_index = None
        for sentinel in multiprocessing.connection.wait(list(self.sentinels), timeout=timeout):
            index = self.sentinels.pop(sentinel)
            self.processes[index].join()
            if self.processes[index].exitcode != 0:
                error_index = index
                break
        if error_index is None:
            return not self.sentinels
        if grace_period is not None:
            self._join_all(grace_period)
        for p in self.processes:
            if p.is_alive():
                p.terminate()
        self._join_all(_TERMINATE_WAIT_S if grace_period is None else grace_period)
        for p in self.processes:
            if p.is_alive():
                p.kill()
            p.join()
        self._raise(error_index)

    def _raise(self, index: int):
        failed = self.processes[index]
        try:
            with open(self.error_files[index], "rb") as fh:
                trace = pickle.load(fh)
        except OSError:
            code = failed.exitcode
            if code < 0:
                try:
                    name = signal.Signals(-code).name
                except ValueError:
                    name = f"<Unknown signal {-code}>"
                raise ProcessExitedException(f"process {index:d} terminated with signal {name}", index,
                                             failed.pid, code, name) from None
            raise ProcessExitedException(f"process {index:d} terminated with exit code {code:d}", index,
                                         failed.pid, code) from None
        finally:
            for path in self.error_files:
                with contextlib.suppress(OSError):
                    os.unlink(path)
        raise ProcessRaisedException(f"\n\n-- Process {index:d} terminated with the following error:\n{trace}",
                                     index, failed.pid)


def _error_file() -> str:
    # A free name: the child creates the file only if it fails.
    fd, path = tempfile.mkstemp(prefix="ember-errorfile-", suffix=".pickle")
    os.close(fd)
    os.unlink(path)
    return path


def start_processes(fn, args=(), nprocs: int = 1, join: bool = True, daemon: bool = False,
                    start_method: str = "spawn"):
    """Start ``nprocs`` processes running ``fn(i, *args)`` with ``start_method``. Returns
    None after they all succeed when ``join``, else their :class:`ProcessContext`."""
    ctx = multiprocessing.get_context(start_method)
    processes, error_files = [], []
    for i in range(nprocs):
        error_files.append(_error_file())
        p = ctx.Process(target=_wrap, args=(fn, i, args, error_files[-1]), daemon=daemon)
        p.start()
        processes.append(p)
    context = ProcessContext(processes, error_files)
    if not join:
        return context
    while not context.join():
        pass


def spawn(fn, args=(), nprocs: int = 1, join: bool = True, daemon: bool = False, start_method: str = "spawn"):
    """Run ``fn(i, *args)`` for ``i`` in ``range(nprocs)``, each in a new spawned process.
    ``fn`` must be defined at the top level of a module (it is pickled). A failure in any
    process stops the others and raises ProcessRaisedException / ProcessExitedException.
    Other start methods: use :func:`start_processes` (``start_method`` here warns, as in PyTorch)."""
    if start_method != "spawn":
        warnings.warn(f"This method only supports start_method=spawn (got: {start_method}).\nTo use a different "
                      "start_method use:\n\t\t ember.multiprocessing.start_processes(...)", FutureWarning, stacklevel=2)
    return start_processes(fn, args, nprocs, join, daemon, start_method="spawn")
