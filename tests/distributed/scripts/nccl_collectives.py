"""ember's NCCL engine on CPU tensors through the stand-in NCCL module (tests/distributed/fake_nccl.py):
every collective runs once on MPI and once through the engine, and the results must be equal.
Then the NCCL backend's own rules (ops, dtypes, src=None, device types). Prints "nccl ok" per rank."""
import os
import sys

import numpy as np

import ember
import ember.distributed as dist
from ember.distributed import _nccl

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import fake_nccl  # noqa: E402

dist.init_process_group(None)
assert dist.get_backend() == "undefined"  # PyTorch's answer for backend=None
g = dist.group.WORLD
rank, world = dist.get_rank(), dist.get_world_size()
nxt, prv = (rank + 1) % world, (rank - 1) % world


def data(r, shape, dtype="float32", seed=0):
    a = np.random.default_rng(1000 * seed + r).standard_normal(shape) * 3
    return a.astype(dtype) if np.dtype(dtype).kind == "f" else np.round(np.abs(a)).astype(dtype)


def mine(shape, dtype="float32", seed=0):
    return ember.tensor(data(rank, shape, dtype, seed))


def run_all() -> list:
    """(what, result) for every collective, in one order on every rank."""
    out = []
    for op in (dist.ReduceOp.SUM, dist.ReduceOp.AVG, dist.ReduceOp.PRODUCT, dist.ReduceOp.MIN, dist.ReduceOp.MAX):
        for dtype in ("float16", "float32", "float64") + (() if op is dist.ReduceOp.AVG else
                                                          ("int8", "uint8", "int32", "int64")):
            t = mine((3, 4), dtype, seed=1)
            dist.all_reduce(t, op=op)
            assert t.dtype == getattr(ember, dtype)
            out.append((f"all_reduce {op} {dtype}", t.numpy()))
    b = ember.tensor([rank == 0, False, True])
    dist.all_reduce(b)
    out.append(("bool sum", b.numpy()))
    b = ember.tensor([rank == 0, True, True])
    dist.all_reduce(b, op=dist.ReduceOp.PRODUCT)
    out.append(("bool product", b.numpy()))
    base = mine((4, 3), seed=3)
    dist.all_reduce(base.t(), op=dist.ReduceOp.MAX)  # a non-contiguous view writes its base
    out.append(("transposed view", base.numpy()))
    c = ember.tensor(data(rank, (3,), seed=2) + 1j * data(rank, (3,), seed=12))
    dist.all_reduce(c, op=dist.ReduceOp.AVG)
    out.append(("complex avg", c.numpy()))
    t = mine((2, 3), seed=4)
    work = dist.all_reduce(t, async_op=True)
    work.wait()
    assert work.is_completed()
    out.append(("async all_reduce", t.numpy()))
    t = mine((2, 3), seed=4)
    dist.reduce(t, dst=1, op=dist.ReduceOp.SUM)
    out.append(("reduce", t.numpy()))
    t = mine((3, 2), "int64", seed=5)
    dist.broadcast(t, src=1)
    out.append(("broadcast", t.numpy()))
    t = mine((5,), seed=6).to(ember.bfloat16)
    dist.broadcast(t, src=0)
    out.append(("broadcast bfloat16", t.float().numpy()))
    outs = [ember.zeros(2, 3) for _ in range(world)]
    dist.all_gather(outs, mine((2, 3), seed=7))
    out += [(f"all_gather[{r}]", o.numpy()) for r, o in enumerate(outs)]
    o = ember.zeros(world * 2, 3)
    dist.all_gather_into_tensor(o, mine((2, 3), seed=7))
    out.append(("all_gather_into_tensor", o.numpy()))
    o = ember.zeros(2)
    dist.reduce_scatter_tensor(o, mine((world * 2,), seed=8), op=dist.ReduceOp.AVG)
    out.append(("reduce_scatter_tensor avg", o.numpy()))
    o = ember.zeros(3)
    dist.reduce_scatter(o, [mine((3,), seed=9 + r) for r in range(world)], op=dist.ReduceOp.MAX)
    out.append(("reduce_scatter max", o.numpy()))
    gl = [ember.zeros(4) for _ in range(world)] if rank == 1 else None
    dist.gather(mine((4,), seed=10), gl, dst=1)
    out += [(f"gather[{r}]", x.numpy()) for r, x in enumerate(gl or [])]
    t = ember.zeros(4)
    dist.scatter(t, [mine((4,), seed=20 + r) for r in range(world)] if rank == 0 else None, src=0)
    out.append(("scatter", t.numpy()))
    ins = [ember.full((rank + 1, r + 1), 10.0 * rank + r) for r in range(world)]
    outs = [ember.zeros(r + 1, rank + 1) for r in range(world)]
    dist.all_to_all(outs, ins)
    out += [(f"all_to_all[{r}]", x.numpy()) for r, x in enumerate(outs)]
    o = ember.zeros(world * 2)
    dist.all_to_all_single(o, ember.arange(world * 2, dtype=ember.float32) + 100 * rank)
    out.append(("all_to_all_single", o.numpy()))
    # point to point: a ring each way; recv returns the sender
    t = ember.zeros(4)
    if rank % 2 == 0:
        dist.send(mine((4,), seed=30), nxt)
        assert dist.recv(t, prv) == prv
    else:
        assert dist.recv(t, prv) == prv
        dist.send(mine((4,), seed=30), nxt)
    out.append(("send/recv", t.numpy()))
    t = ember.zeros(4, dtype=ember.int32)
    works = [dist.isend(mine((4,), "int32", seed=31), nxt), dist.irecv(t, prv)]
    for w in works:
        w.wait()
    out.append(("isend/irecv", t.numpy()))
    left = ember.zeros(2)
    ops = [dist.P2POp(dist.isend, mine((2,), seed=32), nxt), dist.P2POp(dist.irecv, left, prv)]
    for w in dist.batch_isend_irecv(ops):
        w.wait()
    out.append(("batch_isend_irecv", left.numpy()))
    # DistributedDataParallel: buckets all-reduced by the group's backend, buffers broadcast
    ember.manual_seed(0)
    model = ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.BatchNorm1d(8), ember.nn.Linear(8, 2))
    ddp = ember.nn.parallel.DistributedDataParallel(model, bucket_cap_mb=1e-4)  # several buckets
    assert (ddp._engine is not None) == (g.devices["cpu"] == "nccl")
    opt = ember.optim.SGD(ddp.parameters(), lr=0.1)
    for step in range(2):
        opt.zero_grad()
        ddp(mine((6, 4), seed=40 + step)).pow(2).mean().backward()
        opt.step()
    out += [(f"ddp {n}", t.detach().numpy()) for n, t in model.state_dict().items()]
    dist.barrier()
    return out


on_mpi = run_all()
g.devices["cpu"] = "nccl"  # CPU tensors now go through the NCCL engine, on the stand-in module
engine = _nccl.attach(g, "cpu", fake_nccl, fake_nccl.HostArrays(), ember.device("cpu"))
on_nccl = run_all()
assert [w for w, _ in on_mpi] == [w for w, _ in on_nccl]
for (what, a), (_, b) in zip(on_mpi, on_nccl):
    assert a.dtype == b.dtype, (what, a.dtype, b.dtype)
    tol = 1e-2 if a.dtype == np.float16 else 1e-6  # float16: MPI sums in float32, NCCL in float16
    np.testing.assert_allclose(b, a, rtol=tol, atol=tol, err_msg=f"rank {rank}: {what}")
names = {c[0] for c in fake_nccl.calls}
assert {"allReduce", "reduce", "broadcast", "allGather", "reduceScatter", "send", "recv"} <= names, names
assert fake_nccl.groups[0] == fake_nccl.groups[1] > 0
# the dtypes NCCL reduces in: bool as uint8, complex as float pairs, the rest as they are
fake_nccl.calls.clear()
dist.all_reduce(ember.tensor([True, False]))
dist.all_reduce(ember.zeros(3, dtype=ember.complex64))
dist.all_reduce(ember.zeros(2, dtype=ember.bfloat16))
assert fake_nccl.calls == [("allReduce", 2, fake_nccl.NCCL_UINT8), ("allReduce", 6, fake_nccl.NCCL_FLOAT32),
                           ("allReduce", 2, fake_nccl.NCCL_BFLOAT16)], fake_nccl.calls


def raises(kind, match, fn):
    try:
        fn()
    except kind as e:
        assert match in str(e), (match, str(e))
        return
    raise AssertionError(f"rank {rank}: expected {kind.__name__} matching {match!r}")


raises(RuntimeError, "ReduceOp.BXOR is not supported by the NCCL backend",
       lambda: dist.all_reduce(ember.ones(2, dtype=ember.int32), op=dist.ReduceOp.BXOR))
raises(RuntimeError, "cannot reduce int16", lambda: dist.all_reduce(ember.ones(2, dtype=ember.int16)))
raises(RuntimeError, "ReduceOp.PRODUCT on complex64",
       lambda: dist.all_reduce(ember.ones(2, dtype=ember.complex64), op=dist.ReduceOp.PRODUCT))
raises(RuntimeError, "src=None", lambda: dist.recv(ember.zeros(2)))
# ranks that disagree are caught by the same check as on MPI, before NCCL is called
raises(RuntimeError, "do not match", lambda: dist.all_reduce(ember.ones(2, dtype=ember.float32 if rank else
                                                                         ember.float64)))
dist.barrier()
# a group whose only backend is NCCL: CPU tensors are refused; its barrier is a one-element all_reduce
g.devices = {"cuda": "nccl"}
raises(RuntimeError, "No backend type associated with device type cpu", lambda: dist.all_reduce(ember.ones(2)))
g.devices = {"cpu": "nccl"}
fake_nccl.calls.clear()
dist.barrier()
assert fake_nccl.calls == [("allReduce", 1, fake_nccl.NCCL_UINT8)], fake_nccl.calls
dist.destroy_process_group()
print(f"nccl ok {rank}/{world}", flush=True)
