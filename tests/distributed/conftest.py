"""Running a script as a multi-process job through ember.distributed.run (or any command, such as a
bare mpiexec), bounded in time.

Each job runs in its own session; on timeout (or any failure of the test) the whole session is
killed, and afterwards no process may still be running the job's script.
"""
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

SCRIPTS = os.path.join(os.path.dirname(__file__), "scripts")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MPI_MISSING = None if importlib.util.find_spec("mpi4py") else "mpi4py is not installed (pip install 'ember[distributed]')"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _processes_running(marker: str) -> list[str]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if marker.encode() not in f.read():
                    continue
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                found.append(f"{pid}: " + f.read().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue
    return found


def run_job(script: str, *args: str, nproc: int = 2, timeout: float = 180, launcher_args=(),
            launcher: str = "ember.distributed.run"):
    """Run ``script`` (a path, or a name in tests/distributed/scripts) on ``nproc`` processes through
    ``launcher`` (a module taking torchrun's flags, with any arguments before them, as "ember.cli run";
    None: one plain ``python script``); returns (exit code, stdout, stderr)."""
    path = script if os.path.isabs(script) else os.path.join(SCRIPTS, script)
    cmd = [sys.executable, path, *args] if launcher is None else [
        sys.executable, "-m", *launcher.split(), "--nproc-per-node", str(nproc), "--master-port", str(free_port()),
        *launcher_args, path, *args]
    return run_command(cmd, script, timeout)


def run_command(cmd: list[str], what: str, timeout: float = 180, unset=()):
    """Run ``cmd`` from the repository root (ember importable, the variables in ``unset`` left out
    of its environment), in a session of its own, bounded in time; returns (exit code, stdout,
    stderr) once no process of it is left."""
    marker = f"EMBER_TEST_JOB_{os.getpid()}_{time.monotonic_ns()}"
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update(PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), EMBER_TEST_JOB=marker)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True, cwd=ROOT)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{what} did not finish within {timeout} s\nstdout:\n{out[-3000:]}\nstderr:\n{err[-3000:]}")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    _reap(marker, what)
    return proc.returncode, out, err


def _reap(marker: str, what: str) -> None:
    """Give the job's processes 10 s to end after their launcher did; kill and fail on any left."""
    deadline = time.monotonic() + 10
    while _processes_running(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = _processes_running(marker)
    if left:
        for line in left:
            os.kill(int(line.split(":")[0]), signal.SIGKILL)
        pytest.fail(f"{what}: processes left running after the job ended: {left}")


def run_nodes(script: str, specs, timeout: float = 150):
    """Run ``script`` through one launcher per (node_rank, nnodes, args) in ``specs`` (two ranks
    each, two "nodes" on this machine), started in that order; [(exit code, stdout, stderr)] per launcher."""
    port = free_port()
    return run_together([([sys.executable, "-m", "ember.distributed.run", "--nproc-per-node", "2", "--nnodes",
                           str(nnodes), "--node-rank", str(node), "--master-port", str(port),
                           os.path.join(SCRIPTS, script), *args], {}) for node, nnodes, args in specs], script, timeout)


def run_ranks(script: str, ranks, world_size: int, args=(), timeout: float = 150, variables: bool = True):
    """Run ``script`` once per rank in ``ranks`` (in that order) as plain processes, no launcher,
    "{rank}" in ``args`` replaced by the process's rank, with the variables torchrun sets for one
    node (unless ``variables`` is false); [(exit code, stdout, stderr)] per process."""
    port = free_port()

    def env(r):
        return {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "WORLD_SIZE": str(world_size), "RANK": str(r),
                "LOCAL_RANK": str(r), "LOCAL_WORLD_SIZE": str(world_size), "GROUP_RANK": "0"} if variables else {}
    return run_together([([sys.executable, os.path.join(SCRIPTS, script), *(a.format(rank=r) for a in args)], env(r))
                         for r in ranks], script, timeout)


def run_together(commands, what: str, timeout: float):
    """Start each (argv, extra environment) in ``commands``, in that order half a second apart and
    each in a session of its own, bounded in time together; [(exit code, stdout, stderr)] per command
    once no process of theirs is left."""
    marker = f"EMBER_TEST_JOB_{os.getpid()}_{time.monotonic_ns()}"
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), EMBER_TEST_JOB=marker)
    procs = []
    try:
        for argv, extra in commands:
            procs.append(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                          env=dict(env, **extra), start_new_session=True, cwd=ROOT))
            time.sleep(0.5)
        deadline = time.monotonic() + timeout
        results = [p.communicate(timeout=max(1, deadline - time.monotonic())) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
        _reap(marker, what)
    return [(p.returncode, out, err) for p, (out, err) in zip(procs, results)]


def _with_mpi(runner):
    """``runner``, for a test that is skipped where mpi4py is missing."""
    if MPI_MISSING:
        pytest.skip(MPI_MISSING)
    return runner


@pytest.fixture
def job():
    return _with_mpi(run_job)


@pytest.fixture
def command():
    return _with_mpi(run_command)


@pytest.fixture
def nodes():
    return _with_mpi(run_nodes)


@pytest.fixture
def port() -> int:
    """A TCP port free on this machine."""
    return free_port()


@pytest.fixture
def together():
    return _with_mpi(run_together)


@pytest.fixture
def ranks():
    return _with_mpi(run_ranks)


@pytest.fixture
def processes_of():
    """The processes whose environment holds a marker (``EMBER_TEST_JOB``)."""
    return _processes_running
