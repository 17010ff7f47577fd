"""Without a launcher: the API's answers and errors before init_process_group, the refusals that
need no peer, and a world of one (in its own process, so this one never starts MPI)."""
import pytest

import ember
import ember.distributed as dist

def test_before_init():
    assert dist.is_available() and not dist.is_initialized()
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        dist.get_rank()
    with pytest.raises(ValueError, match="has not been initialized"):
        dist.all_reduce(ember.ones(2))


def test_world_of_one_without_launcher(job):
    code, out, err = job("world_of_one.py", launcher=None, timeout=120)
    assert code == 0 and "world of one ok" in out, err[-3000:]


def test_init_errors(monkeypatch):
    with pytest.raises(ValueError, match="unknown backend"):
        dist.init_process_group("ucc")
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(RuntimeError, match="not started by an MPI launcher.*ember.distributed.run"):
        dist.init_process_group("gloo")
    assert not dist.is_initialized()


def test_ddp_needs_a_group():
    with pytest.raises(ValueError, match="has not been initialized"):
        ember.nn.parallel.DistributedDataParallel(ember.nn.Linear(2, 2))
