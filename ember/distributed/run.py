"""``python -m ember.distributed.run``: torchrun's command line, starting the ranks through mpiexec.

    python -m ember.distributed.run --nproc-per-node 2 train.py --epochs 3

Each rank gets torchrun's variables (RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, GROUP_RANK,
MASTER_ADDR, MASTER_PORT), so a torchrun script runs unchanged. If a rank fails, the launcher
says which one first and why (exit status, the last lines of its stderr) and exits non-zero; MPI
stops the other ranks. Several nodes, either way:

- torchrun's: the launcher on each node, ``--nnodes M --node-rank K --master-addr A
  --master-port P``. Each starts its node's ranks as one mpiexec job; the jobs meet at A:P,
  where node 0's first rank listens, and join into one world through MPI (``_join``). This
  needs MPICH's mpiexec (the ``mpich`` wheel that ``ember[distributed]`` installs).
- MPI's: one launcher with ``--hostfile``, which starts the ranks of every node itself.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile

from ._worker import die_with_parent


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ember.distributed.run",
                                description="Start a distributed ember job (torchrun's flags) through mpiexec.")
    p.add_argument("--nproc-per-node", "--nproc_per_node", default="1",
                   help="processes per node: a number, or 'cpu'/'auto' for one per CPU core")
    p.add_argument("--nnodes", default="1", help="number of nodes (a fixed number; elastic ranges are not supported)")
    p.add_argument("--node-rank", "--node_rank", type=int, default=0)
    p.add_argument("--master-addr", "--master_addr", default="127.0.0.1")
    p.add_argument("--master-port", "--master_port", type=int, default=29500)
    p.add_argument("--standalone", action="store_true", help="single node (the default here)")
    p.add_argument("--hostfile", help="MPI host file listing the nodes: one launcher starts them all (instead "
                                      "of a launcher per node)")
    p.add_argument("-m", "--module", action="store_true", help="run the script as a module (python -m)")
    p.add_argument("--no-python", "--no_python", action="store_true", help="run the script as a program")
    p.add_argument("--max-restarts", "--max_restarts", type=int, default=0)
    p.add_argument("script")
    p.add_argument("script_args", nargs=argparse.REMAINDER)
    return p


def _nproc(value: str) -> int:
    if value in ("cpu", "auto"):
        return os.cpu_count() or 1
    try:
        n = int(value)
    except ValueError:
        raise SystemExit(f"ember.distributed.run: --nproc-per-node must be a number, 'cpu' or 'auto', got {value!r}")
    if n < 1:
        raise SystemExit(f"ember.distributed.run: --nproc-per-node must be at least 1, got {n}")
    return n


def find_mpiexec() -> str:
    """The mpiexec of this Python's environment (the MPI mpi4py was built for), else the one on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    found = here if os.access(here, os.X_OK) else shutil.which("mpiexec")
    if found is None:
        raise SystemExit("ember.distributed.run: no mpiexec found; install MPI with pip install 'ember[distributed]' "
                         "(mpi4py and the MPICH wheel)")
    return found


def _version(exe: str) -> str:
    """What ``exe --version`` prints: which MPI it is (Open MPI, MPICH's Hydra, ...)."""
    return subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60).stdout


def mpiexec_command(nprocs: int, hostfile: str | None = None, nproc_per_node: int | None = None) -> list[str]:
    """mpiexec and the flags its flavour needs to start ``nprocs`` processes here."""
    exe = find_mpiexec()
    version = _version(exe)
    cmd = [exe]
    if "Open MPI" in version or "prte" in version.lower():
        # More ranks than cores is allowed (and ranks are not pinned to cores) as with torchrun;
        # root is refused by Open MPI unless told, and containers often run as root.
        cmd += ["--oversubscribe", "--bind-to", "none"]
        if os.geteuid() == 0:
            cmd += ["--allow-run-as-root"]
        if hostfile:
            cmd += ["--hostfile", hostfile, "--map-by", f"ppr:{nproc_per_node}:node"]
    elif hostfile:
        cmd += ["-f", hostfile, "-ppn", str(nproc_per_node)]
    return cmd + ["-n", str(nprocs)]


def _per_node_command(nproc: int) -> list[str]:
    """MPICH's mpiexec starting this node's ``nproc`` ranks as one job, which joins the other
    nodes' jobs at the master's address (``_join``; Open MPI's jobs cannot connect so)."""
    exe = find_mpiexec()
    if "HYDRA" not in _version(exe):
        raise SystemExit("ember.distributed.run: a launcher per node (--nnodes > 1 without --hostfile) needs "
                         f"MPICH's mpiexec, and {exe} is another MPI's. pip install mpich (the MPI of "
                         "ember[distributed]), or run one launcher with --hostfile listing the nodes")
    return [exe, "-n", str(nproc)]


def _report(note_dir: str, code: int) -> int:
    notes = []
    for name in os.listdir(note_dir):
        with open(os.path.join(note_dir, name)) as f:
            notes.append(json.load(f))
    if not notes:
        print(f"ember.distributed.run: mpiexec exited with status {code} and no rank reported a failure (the "
              "failure is MPI's own: see its messages above)", file=sys.stderr)
        return code or 1
    notes.sort(key=lambda n: n["time"])
    lines = ["", "ember.distributed.run: the job failed."]
    for i, n in enumerate(notes):
        status = (f"exit code {n['exitcode']}" if n["exitcode"] > 0
                  else f"killed by signal {signal.Signals(-n['exitcode']).name}")
        lines.append(f"  rank {n['rank']} (local_rank {n['local_rank']}, host {n['host']}): {status}"
                     + (" <- first failure" if i == 0 else " (after the first failure)"))
        if i == 0 and n["stderr_tail"]:
            lines.append(f"  last lines of rank {n['rank']}'s stderr:")
            lines += [f"    {line}" for line in n["stderr_tail"]]
    print("\n".join(lines), file=sys.stderr)
    first = notes[0]["exitcode"]
    return first if first > 0 else 1


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    nproc = _nproc(args.nproc_per_node)
    try:
        nnodes = int(args.nnodes)
    except ValueError:
        raise SystemExit(f"ember.distributed.run: --nnodes {args.nnodes!r}: elastic node ranges are not supported; "
                         "give a number")
    if not 0 <= args.node_rank < nnodes:
        raise SystemExit(f"ember.distributed.run: --node-rank {args.node_rank} is not one of the {nnodes} nodes "
                         f"(0 to {nnodes - 1})")
    if args.hostfile and args.node_rank != 0:
        raise SystemExit("ember.distributed.run: with --hostfile one launcher starts every node's ranks: run it "
                         "once, on the first host, with --node-rank 0")
    per_node = nnodes > 1 and not args.hostfile
    if args.max_restarts:
        raise SystemExit("ember.distributed.run: --max-restarts is not supported (MPI jobs do not restart ranks)")
    if args.no_python:
        target = [args.script]
    else:
        target = [sys.executable, "-u", "-m", "ember.distributed._script"] + (["-m"] if args.module else []) + [args.script]
    env = dict(os.environ, MASTER_ADDR=args.master_addr, MASTER_PORT=str(args.master_port),
               OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))  # torchrun's default too
    if per_node:
        launch = _per_node_command(nproc)
        env.update(EMBER_NNODES=str(nnodes), EMBER_NODE_RANK=str(args.node_rank))
    else:
        launch = mpiexec_command(nproc * nnodes, args.hostfile, nproc)
    note_dir = tempfile.mkdtemp(prefix="ember-run-")
    cmd = launch + [sys.executable, "-m", "ember.distributed._worker", note_dir, str(nproc)] + target + args.script_args
    # mpiexec is told to stop (SIGTERM: it then stops the ranks) if this launcher dies, even by SIGKILL
    proc = subprocess.Popen(cmd, env=env, preexec_fn=lambda: die_with_parent(signal.SIGTERM))
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda s, _f: proc.send_signal(s))
    try:
        code = proc.wait()
        return 0 if code == 0 else _report(note_dir, code)
    finally:
        shutil.rmtree(note_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
