"""Processes started without an MPI launcher (one by one, as a shell loop, a cluster scheduler or
torchrun starts them) form one world at MASTER_ADDR:MASTER_PORT; errors name who waited for whom."""
import os
import sys
from types import SimpleNamespace

import pytest

import ember.distributed as dist
from ember.distributed import _join

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_processes_started_one_by_one_form_one_world(ranks):
    """Started out of order, each gets the place its RANK names."""
    results = ranks("joins.py", [2, 0, 3, 1], world_size=4, args=["60"])
    for code, out, err in results:
        assert code == 0, err[-3000:]
    assert [out.strip() for _, out, _ in results] == [
        f"joined rank={r} world=4 RANK={r} LOCAL_RANK={r} GROUP_RANK=0 sum=6" for r in (2, 0, 3, 1)]


def test_tcp_init_method_with_rank_and_world_size(ranks, port):
    """init_method='tcp://host:port' and the rank=/world_size= arguments, no variables."""
    results = ranks("tcp_world.py", [1, 0], world_size=2, args=[f"tcp://127.0.0.1:{port}", "{rank}", "2", "60"],
                    variables=False)
    assert [(code, out.strip()) for code, out, _ in results] == [
        (0, "tcp rank=1 world=2 sum=1"), (0, "tcp rank=0 world=2 sum=1")], [err[-2000:] for *_, err in results]


def test_a_missing_rank_is_named_after_the_timeout(ranks):
    (code0, _, err0), (code1, _, err1) = ranks("joins.py", [0, 1], world_size=3, args=["3"])
    assert code0 != 0 and "rank 0 waiting for rank 2 to connect timed out after 3 s" in err0, err0[-3000:]
    assert code1 != 0 and "rank 1 waiting for rank 0 to accept it timed out after 3 s" in err1, err1[-3000:]


def test_two_processes_with_one_rank_are_refused(ranks):
    results = ranks("joins.py", [0, 1, 1], world_size=3, args=["3"])
    assert all(code != 0 for code, _, _ in results)
    assert "a process connected as rank 1, but rank 1 is taken" in results[0][2], results[0][2][-3000:]
    refused = [err for _, _, err in results[1:] if "rank 0 refused rank 1: rank 1 is taken" in err]
    assert len(refused) == 1, [err[-2000:] for _, _, err in results]  # told at once, not left waiting


STRAY = """
import os, socket, sys, time
while True:  # until rank 0 listens (the test's time limit bounds it)
    try:
        s = socket.create_connection(("127.0.0.1", int(os.environ["MASTER_PORT"])))
        break
    except OSError:
        time.sleep(0.05)
s.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")
s.close()
open(sys.argv[1], "w").close()
"""


def test_a_stray_connection_to_the_port_is_dropped(together, port, tmp_path):
    """Something else connecting to MASTER_PORT before rank 1 (a port scan, a health check)
    does not stop the world from forming."""
    env = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "WORLD_SIZE": "2", "LOCAL_RANK": "0",
           "GROUP_RANK": "0"}
    script, sent = os.path.join(ROOT, "tests", "distributed", "scripts", "joins.py"), tmp_path / "sent"
    after_stray = f'while [ ! -e "{sent}" ]; do sleep 0.05; done; exec "{sys.executable}" "{script}" 60'
    results = together([([sys.executable, script, "60"], dict(env, RANK="0")),
                        ([sys.executable, "-c", STRAY, str(sent)], env),
                        (["sh", "-c", after_stray], dict(env, RANK="1"))], "stray", 150)
    assert [code for code, _, _ in results] == [0, 0, 0], [err[-2000:] for *_, err in results]
    assert [r[1].split()[1] for r in (results[0], results[2])] == ["rank=0", "rank=1"]


def test_an_ember_ddp_script_runs_under_torchrun(job):
    """PyTorch's own launcher (whose agent keeps MASTER_PORT for its store) starts an ember DDP job."""
    code, out, err = job(os.path.join(ROOT, "examples", "ddp_mnist_style.py"), "--steps", "6", "--samples", "512",
                         launcher="torch.distributed.run", timeout=240)
    assert code == 0, err[-3000:]
    final = [line for line in out.splitlines() if line.startswith("world 2")]
    assert len(final) == 1 and "replicas equal" in final[0], out


@pytest.mark.parametrize("env, error, match", [
    ({"WORLD_SIZE": "2"}, ValueError, "environment variable RANK expected, but not set"),
    ({"WORLD_SIZE": "2", "RANK": "1"}, ValueError, "environment variable MASTER_ADDR expected, but not set"),
    ({"WORLD_SIZE": "2", "RANK": "2", "MASTER_ADDR": "h", "MASTER_PORT": "1"}, ValueError,
     r"rank 2 is not one of the world's ranks \(0 to 1\)"),
])
def test_missing_or_wrong_variables_are_refused_before_any_wait(monkeypatch, env, error, match):
    for var in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    with pytest.raises(error, match=match):
        dist.init_process_group("gloo")
    assert not dist.is_initialized()


def test_file_init_method_needs_a_launcher(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ValueError, match="use init_method='env://'.*or 'tcp://host:port' instead of file://"):
        dist.init_process_group("gloo", init_method="file:///tmp/x", rank=0)


@pytest.mark.parametrize("version, match", [
    ("MPICH Version:      5.0.2\nMPICH Release date: ...", r"MPICH 5.0 cannot connect.*pip install 'mpich>=4.3,<5'"),
    ("Open MPI v5.0.8, package: Open MPI ...", "Open MPI's processes cannot connect without its launcher"),
])
def test_mpi_libraries_whose_singletons_cannot_connect_are_named(monkeypatch, version, match):
    monkeypatch.setattr(_join, "mpi", lambda: SimpleNamespace(Get_library_version=lambda: version))
    for var, value in {"WORLD_SIZE": "2", "RANK": "0", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "1"}.items():
        monkeypatch.setenv(var, value)
    with pytest.raises(RuntimeError, match=match):
        dist.init_process_group("gloo")
    assert not dist.is_initialized()
