"""DistributedDataParallel and the collectives on CUDA tensors, over NCCL, one GPU per rank.

The test starts this file as a 2-rank job (``python -m ember.distributed.run``); each rank trains
its half of a batch with DDP on its GPU, and the final weights must equal a single process's
training on the whole batch. Before that, the collectives on CUDA tensors are checked against
NumPy on every rank's input. Needs CuPy with NCCL, mpi4py and 2 GPUs.
"""
import importlib.util
import os

import numpy as np
import pytest

import ember
import ember.distributed as dist

STEPS, BATCH = 3, 8


def _job_runner():
    """tests/distributed's bounded job launcher (its conftest is not on this directory's path)."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "distributed", "conftest.py")
    spec = importlib.util.spec_from_file_location("distributed_jobs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.run_job


def test_ddp_over_nccl_matches_one_process_on_the_whole_batch():
    if not ember.cuda.is_available() or ember.cuda.device_count() < 2:
        pytest.skip("needs 2 CUDA GPUs (and CuPy with NCCL)")
    if importlib.util.find_spec("mpi4py") is None:
        pytest.skip("mpi4py is not installed (pip install 'ember[distributed]')")
    code, out, err = _job_runner()(os.path.abspath(__file__), nproc=2, timeout=300)
    assert code == 0, err[-4000:]
    assert sorted(line for line in out.splitlines() if "cuda ddp ok" in line) == \
        ["cuda ddp ok 0/2", "cuda ddp ok 1/2"], out


def _model():
    ember.manual_seed(0)
    # no batch statistics: they would be each rank's half, not the whole batch's
    return ember.nn.Sequential(ember.nn.Linear(5, 16), ember.nn.ReLU(), ember.nn.Linear(16, 3))


def _train(model, xs, ys):
    opt = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for x, y in zip(xs, ys):
        opt.zero_grad()
        ember.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()


def _collectives(rank: int, world: int, dev) -> None:
    def data(r):
        return np.random.default_rng(r).standard_normal((3, 4)).astype(np.float32)
    everyone = np.stack([data(r) for r in range(world)])
    t = ember.tensor(data(rank), device=dev)
    dist.all_reduce(t, op=dist.ReduceOp.AVG)
    np.testing.assert_allclose(t.cpu().numpy(), everyone.mean(0), rtol=1e-5, atol=1e-6)
    t = ember.tensor(data(rank), device=dev)
    work = dist.all_reduce(t, op=dist.ReduceOp.MAX, async_op=True)
    work.wait()
    np.testing.assert_allclose(t.cpu().numpy(), everyone.max(0))
    t = ember.tensor(data(rank), device=dev).to(ember.float16)
    dist.broadcast(t, src=world - 1)
    np.testing.assert_array_equal(t.cpu().numpy(), data(world - 1).astype(np.float16))
    out = ember.zeros(world * 3, 4, device=dev)
    dist.all_gather_into_tensor(out, ember.tensor(data(rank), device=dev))
    np.testing.assert_array_equal(out.cpu().numpy(), everyone.reshape(-1, 4))
    ins = [ember.full((r + 1,), float(10 * rank + r), device=dev) for r in range(world)]
    outs = [ember.zeros(rank + 1, device=dev) for _ in range(world)]
    dist.all_to_all(outs, ins)
    for r, o in enumerate(outs):
        np.testing.assert_array_equal(o.cpu().numpy(), np.full(rank + 1, 10.0 * r + rank, np.float32))
    t = ember.zeros(4, dtype=ember.int64, device=dev)
    ring = [dist.P2POp(dist.isend, ember.arange(4, device=dev) + rank, (rank + 1) % world),
            dist.P2POp(dist.irecv, t, (rank - 1) % world)]  # one grouped NCCL call: a ring cannot deadlock
    for w in dist.batch_isend_irecv(ring):
        w.wait()
    np.testing.assert_array_equal(t.cpu().numpy(), np.arange(4) + (rank - 1) % world)
    dist.barrier()


def main() -> None:
    dist.init_process_group("nccl")
    assert dist.get_backend() == "nccl"
    rank, world = dist.get_rank(), dist.get_world_size()
    local = int(os.environ.get("LOCAL_RANK", rank))
    ember.cuda.set_device(local)  # as PyTorch scripts do: one GPU per rank, current before the first collective
    dev = ember.device("cuda", local)
    _collectives(rank, world, dev)
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal((BATCH * world, 5)).astype(np.float32) for _ in range(STEPS)]
    ys = [rng.integers(0, 3, BATCH * world) for _ in range(STEPS)]
    mine = slice(rank * BATCH, (rank + 1) * BATCH)
    ddp = ember.nn.parallel.DistributedDataParallel(_model().to(dev), device_ids=[local])
    _train(ddp, [ember.tensor(x[mine], device=dev) for x in xs], [ember.tensor(y[mine], device=dev) for y in ys])
    whole = _model()  # one process, the whole batch, on the CPU
    _train(whole, [ember.tensor(x) for x in xs], [ember.tensor(y) for y in ys])
    for (name, got), (_, want) in zip(ddp.module.named_parameters(), whole.named_parameters()):
        assert got.device == dev, name
        np.testing.assert_allclose(got.detach().cpu().numpy(), want.detach().numpy(), rtol=1e-4, atol=1e-5,
                                   err_msg=f"rank {rank}: {name}")
    dist.destroy_process_group()
    print(f"cuda ddp ok {rank}/{world}", flush=True)


if __name__ == "__main__":
    main()
