"""In one process, without a launcher: the API's answers and errors before and after
init_process_group (a world of one), and the refusals that need no peer."""
import datetime
import sys

import pytest

import ember
import ember.distributed as dist

pytestmark = pytest.mark.skipif(not dist.is_available(), reason="mpi4py is not installed")


@pytest.fixture
def world_of_one(monkeypatch):
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(var, raising=False)
    dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=20))
    yield
    dist.destroy_process_group()


def test_before_init():
    assert dist.is_available() and not dist.is_initialized()
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        dist.get_rank()
    with pytest.raises(ValueError, match="has not been initialized"):
        dist.all_reduce(ember.ones(2))


def test_world_of_one(world_of_one):
    assert sys.excepthook is not sys.__excepthook__  # an uncaught exception ends the rank (no MPI_Finalize wait)
    assert dist.is_initialized() and dist.get_rank() == 0 and dist.get_world_size() == 1
    assert dist.get_backend() == "gloo"
    t = ember.tensor([1.0, 2.0])
    dist.all_reduce(t, op=dist.ReduceOp.AVG)
    assert t.tolist() == [1.0, 2.0]
    objs = [None]
    dist.all_gather_object(objs, {"a": [1, (2, None)]})
    assert objs == [{"a": [1, (2, None)]}]
    with pytest.raises(ValueError, match="twice"):
        dist.init_process_group("gloo")


def test_init_errors(monkeypatch):
    with pytest.raises(NotImplementedError, match="NCCL backend"):
        dist.init_process_group("nccl")
    with pytest.raises(ValueError, match="unknown backend"):
        dist.init_process_group("ucc")
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(RuntimeError, match="not started by an MPI launcher.*ember.distributed.run"):
        dist.init_process_group("gloo")
    assert not dist.is_initialized()


def test_destroy_restores_excepthook(world_of_one):
    dist.destroy_process_group()
    assert sys.excepthook is sys.__excepthook__
    dist.init_process_group("gloo")  # for the fixture's destroy


def test_ddp_needs_a_group():
    with pytest.raises(ValueError, match="has not been initialized"):
        ember.nn.parallel.DistributedDataParallel(ember.nn.Linear(2, 2))
