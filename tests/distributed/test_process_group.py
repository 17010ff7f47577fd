"""Without ember's launcher: the API's answers and errors before init_process_group, the refusals
that need no peer, a world of one (in its own process, so this one never starts MPI), and a job
started by a bare mpiexec."""
import os
import re
import sys

import pytest

import ember
import ember.distributed as dist
from ember.distributed.run import find_mpiexec

TORCHRUN_VARS = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK", "MASTER_ADDR", "MASTER_PORT")


def test_before_init():
    assert dist.is_available() and not dist.is_initialized()
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        dist.get_rank()
    with pytest.raises(ValueError, match="has not been initialized"):
        dist.all_reduce(ember.ones(2))


def test_world_of_one_without_launcher(job):
    code, out, err = job("world_of_one.py", launcher=None, timeout=120)
    assert code == 0 and "world of one ok" in out, err[-3000:]


def test_bare_mpiexec_job(command):
    script = os.path.join(os.path.dirname(__file__), "scripts", "bare_mpiexec.py")
    code, out, err = command([find_mpiexec(), "-n", "2", sys.executable, script], "bare mpiexec", timeout=120,
                             unset=TORCHRUN_VARS)
    assert code == 0, err[-3000:]
    # mpiexec forwards each rank's output in chunks, not lines: two ranks' lines may run together
    assert sorted(re.findall(r"bare rank=\d+ world=\d+ sum=\[[^\]]*\]", out)) == [
        f"bare rank={r} world=2 sum=[3.0, 30.0]" for r in range(2)], out


def test_init_errors(monkeypatch):
    with pytest.raises(ValueError, match="unknown backend"):
        dist.init_process_group("ucc")
    assert not dist.is_initialized()


def test_ddp_needs_a_group():
    with pytest.raises(ValueError, match="has not been initialized"):
        ember.nn.parallel.DistributedDataParallel(ember.nn.Linear(2, 2))
