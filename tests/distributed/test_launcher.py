"""python -m ember.distributed.run: torchrun's variables, the report naming the failed rank, and
the torch-style DDP example run unchanged through it."""
import os
import re
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import ember
from ember import nn
from ember.nn.modules.utils import consume_prefix_in_state_dict_if_present

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize("launcher", ["ember.distributed.run", "ember.cli run"])
def test_sets_torchrun_variables(job, launcher):
    code, out, err = job("fails.py", "none", launcher=launcher,
                         launcher_args=["--nproc_per_node", "2", "--master_addr", "10.1.2.3"])
    assert code == 0, err[-3000:]
    lines = sorted(line for line in out.splitlines() if line.startswith("env "))
    assert len(lines) == 2, out
    for r, line in enumerate(lines):
        assert f"RANK={r} LOCAL_RANK={r} WORLD_SIZE=2 LOCAL_WORLD_SIZE=2 MASTER_ADDR=10.1.2.3" in line, line
        assert f"rank={r} world=2" in line, line
    assert len({re.search(r"MASTER_PORT=(\d+)", line).group(1) for line in lines}) == 1


@pytest.mark.parametrize("how,status,tail", [
    ("raise", "exit code 1", "ValueError: rank 1 failed on purpose"),
    ("exit", "exit code 3", "rank 1 about to fail"),
    ("kill", "killed by signal SIGKILL", "rank 1 about to fail"),
])
def test_failed_rank_is_named(job, how, status, tail):
    code, out, err = job("fails.py", how, timeout=120)
    assert code == (3 if how == "exit" else 1), err[-3000:]
    report = err[err.index("ember.distributed.run: the job failed."):]
    assert "rank 1 (local_rank 1, host " in report and f"): {status} <- first failure" in report, report
    assert "last lines of rank 1's stderr:" in report and tail in report, report
    assert "runpy" not in report  # the runner's frames are left out of tracebacks


def test_ddp_example_runs_unchanged(job, tmp_path):
    path = tmp_path / "ddp.ember"
    code, out, err = job(os.path.join(ROOT, "examples", "ddp_mnist_style.py"), "--steps", "12", "--samples", "1024",
                         "--save", str(path), timeout=240)
    assert code == 0, err[-3000:]
    final = [line for line in out.splitlines() if line.startswith("world 2")]
    assert len(final) == 1 and "replicas equal" in final[0], out
    first, last = map(float, re.search(r"loss ([\d.]+) -> ([\d.]+)", final[0]).groups())
    assert last < first, final
    state = ember.load(str(path))
    assert list(state) == ["module.1.weight", "module.1.bias", "module.3.weight", "module.3.bias"]


def test_checkpoint_from_rank_0_loads_into_a_plain_model(job, tmp_path):
    """Rank 0's saved DDP state_dict, loaded here (no process group) into the bare model, holds the
    trained weights: those rank 1's replica ended with, not rank 0's initial ones."""
    saved, replica = tmp_path / "ddp.ember", tmp_path / "rank1.npz"
    code, out, err = job("checkpoint.py", str(saved), str(replica))
    assert code == 0, err[-3000:]
    state = ember.load(str(saved))
    assert list(state) == ["module.0.weight", "module.0.bias", "module.2.weight", "module.2.bias"]
    ember.manual_seed(1)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))  # rank 0's initial weights
    initial = {name: p.detach().numpy().copy() for name, p in model.named_parameters()}
    consume_prefix_in_state_dict_if_present(state, "module.")  # as a PyTorch user loads a DDP checkpoint
    model.load_state_dict(state)
    trained = np.load(replica)
    assert sorted(trained.files) == sorted(initial)
    for name, p in model.named_parameters():
        np.testing.assert_array_equal(p.detach().numpy(), trained[name], err_msg=name)
        assert not np.allclose(trained[name], initial[name]), name


def test_ddp_example_is_pytorch_code(job):
    """The example's body is PyTorch's API: the same file runs under torchrun with PyTorch."""
    def run():
        return job(os.path.join(ROOT, "examples", "ddp_mnist_style.py"), "--steps", "6", "--samples", "512",
                   "--framework", "torch", launcher="torch.distributed.run", timeout=240)
    code, out, err = run()
    if code and "terminate called without an active exception" in err:
        # PyTorch's own gloo teardown now and then aborts a rank (a C++ thread left joinable;
        # about one run in five here, ember not loaded): that run says nothing of the example
        code, out, err = run()
    assert code == 0, err[-3000:]
    assert any(line.startswith("world 2") and "replicas equal" in line for line in out.splitlines()), out


def test_killing_the_launcher_stops_every_rank(job, processes_of):
    """mpiexec gives each rank a process group of its own, so killing the launcher's group would not
    reach them: each process is tied to its parent's life instead."""
    marker = f"EMBER_TEST_KILL_{os.getpid()}"
    env = dict(os.environ, PYTHONPATH=ROOT, EMBER_TEST_JOB=marker)
    proc = subprocess.Popen([sys.executable, "-m", "ember.distributed.run", "--nproc-per-node", "2",
                             os.path.join(ROOT, "tests", "distributed", "scripts", "sleeps.py")],
                            stdout=subprocess.PIPE, text=True, env=env, start_new_session=True)
    guard = threading.Timer(90, lambda: os.killpg(proc.pid, signal.SIGKILL))  # readline never waits forever
    guard.start()
    try:
        ready = [proc.stdout.readline() for _ in range(2)]
        assert sorted(ready) == ["ready 0\n", "ready 1\n"], ready
        proc.kill()  # the launcher alone, by SIGKILL: nothing of it can clean up
        proc.wait(timeout=30)
        deadline = time.monotonic() + 20
        while processes_of(marker) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert processes_of(marker) == []
    finally:
        guard.cancel()
        for line in processes_of(marker):
            os.kill(int(line.split(":")[0]), signal.SIGKILL)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def test_bad_flags_are_refused():
    from ember.distributed import run
    with pytest.raises(SystemExit, match="--nproc-per-node must be"):
        run.main(["--nproc-per-node", "zero", "x.py"])
    with pytest.raises(SystemExit, match="elastic"):
        run.main(["--nnodes", "1:2", "x.py"])
    with pytest.raises(SystemExit, match="--node-rank 2 is not one of the 2 nodes"):
        run.main(["--nnodes", "2", "--node-rank", "2", "x.py"])
    with pytest.raises(SystemExit, match="with --hostfile one launcher starts every node's ranks"):
        run.main(["--nnodes", "2", "--node-rank", "1", "--hostfile", "hosts", "x.py"])


# ---- a launcher per node, torchrun's way (two "nodes" on this machine) ----------------------
def test_a_launcher_per_node_joins_one_world(nodes):
    """Node 1's launcher starts first and waits for node 0; the two jobs of two ranks become one world
    of four, ranked by node, with torchrun's variables."""
    results = nodes("joins.py", [(1, 2, ["60"]), (0, 2, ["60"])])
    for code, out, err in results:
        assert code == 0, err[-3000:]
    lines = sorted(line for _, out, _ in results for line in out.splitlines() if line.startswith("joined"))
    assert lines == [f"joined rank={r} world=4 RANK={r} LOCAL_RANK={r % 2} GROUP_RANK={r // 2} sum=6"
                     for r in range(4)], results
    assert all(line.startswith("joined rank=2") or line.startswith("joined rank=3")
               for line in results[0][1].splitlines() if line.startswith("joined"))  # node 1's own ranks


def test_a_missing_node_is_named_after_the_timeout(nodes):
    [(code, out, err)] = nodes("joins.py", [(0, 2, ["3"])])
    assert code != 0
    assert "node 0 waiting for node 1 to connect timed out after 3 s" in err, err[-3000:]
    assert "rank 0 (local_rank 0, host " in err and "<- first failure" in err, err[-3000:]
