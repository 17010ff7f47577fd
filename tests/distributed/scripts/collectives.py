"""Every collective on 2+ ranks against NumPy on the inputs of all ranks (each rank can rebuild
every rank's input: they are drawn from seeds made of the rank). Prints "collectives ok" per rank."""
import fractions
import pickle
import time

import numpy as np

import ember
import ember.distributed as dist
from ember.utils.data import DistributedSampler

dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()


def data(r, shape, dtype="float32", seed=0):
    a = np.random.default_rng(1000 * seed + r).standard_normal(shape) * 3
    return a.astype(dtype) if np.dtype(dtype).kind == "f" else np.round(a).astype(dtype)


def mine(shape, dtype="float32", seed=0):
    return ember.tensor(data(rank, shape, dtype, seed))


def check(got, want, what):
    got = got.numpy() if isinstance(got, ember.Tensor) else got
    np.testing.assert_allclose(got.astype(np.float64), np.asarray(want, dtype=np.float64), rtol=1e-5, atol=1e-6,
                               err_msg=f"rank {rank}: {what}")


def raises(kind, match, fn):
    try:
        fn()
    except kind as e:
        assert match in str(e), (match, str(e))
        return str(e)
    raise AssertionError(f"rank {rank}: expected {kind.__name__} matching {match!r}")


everyone = lambda shape, dtype="float32", seed=0: [data(r, shape, dtype, seed) for r in range(world)]  # noqa: E731
reduce_np = {dist.ReduceOp.SUM: lambda xs: np.sum(xs, 0), dist.ReduceOp.PRODUCT: lambda xs: np.prod(xs, 0),
             dist.ReduceOp.MAX: lambda xs: np.max(xs, 0), dist.ReduceOp.MIN: lambda xs: np.min(xs, 0),
             dist.ReduceOp.AVG: lambda xs: np.mean(xs, 0)}

# all_reduce: each op, float and integer dtypes
for op, fn in reduce_np.items():
    for dtype in ("float32", "float64") + (("int64", "int32") if op is not dist.ReduceOp.AVG else ()):
        t = mine((3, 4), dtype, seed=1)
        assert dist.all_reduce(t, op=op) is None
        check(t, fn(everyone((3, 4), dtype, seed=1)).astype(dtype), f"all_reduce {op} {dtype}")
        assert t.dtype == getattr(ember, dtype)
# 16-bit floats (reduced in float32), bools (sum is `or`), a non-contiguous view, a 0-d tensor
t = mine((5,), "float32", 2).to(ember.bfloat16)
dist.all_reduce(t)
exact = np.sum([ember.tensor(x).to(ember.bfloat16).float().numpy() for x in everyone((5,), "float32", 2)], 0)
check(t.float(), ember.tensor(exact).to(ember.bfloat16).float(), "bfloat16 sum (in float32, rounded once)")
assert t.dtype == ember.bfloat16
b = ember.tensor([rank == 0, False, True])
dist.all_reduce(b)
check(b, np.array([True, False, True]), "bool sum")
base = mine((4, 3), seed=3)
view = base.t()
dist.all_reduce(view, op=dist.ReduceOp.MAX)
check(base, np.max(everyone((4, 3), seed=3), 0), "all_reduce through a transposed view writes the base")
s = ember.tensor(float(rank + 1))
dist.all_reduce(s, op=dist.ReduceOp.PRODUCT)
check(s, np.prod(np.arange(1, world + 1, dtype=np.float32)), "0-d")

# reduce to rank 1: only rank 1 gets the result
for op, fn in reduce_np.items():
    t = mine((2, 3), seed=4)
    dist.reduce(t, dst=1, op=op)
    check(t, fn(everyone((2, 3), seed=4)) if rank == 1 else data(rank, (2, 3), seed=4), f"reduce {op}")

# broadcast from rank 1
t = mine((3, 2), "int64", seed=5)
dist.broadcast(t, src=1)
check(t, data(1, (3, 2), "int64", seed=5), "broadcast")

# all_gather, all_gather_into_tensor (concatenated and stacked outputs)
outs = [ember.zeros(2, 3) for _ in range(world)]
dist.all_gather(outs, mine((2, 3), seed=6))
for r in range(world):
    check(outs[r], data(r, (2, 3), seed=6), f"all_gather[{r}]")
out = ember.zeros(world * 2, 3)
dist.all_gather_into_tensor(out, mine((2, 3), seed=6))
check(out, np.concatenate(everyone((2, 3), seed=6)), "all_gather_into_tensor")
out = ember.zeros(world, 2, 3)
dist.all_gather_into_tensor(out, mine((2, 3), seed=6))
check(out, np.stack(everyone((2, 3), seed=6)), "all_gather_into_tensor stacked")

# reduce_scatter (list and tensor forms), each op
for op, fn in reduce_np.items():
    out = ember.zeros(2, 2)
    dist.reduce_scatter(out, [mine((2, 2), seed=10 + j) for j in range(world)], op=op)
    check(out, fn([data(r, (2, 2), seed=10 + rank) for r in range(world)]), f"reduce_scatter {op}")
    out = ember.zeros(2, 2)
    dist.reduce_scatter_tensor(out, mine((world * 2, 2), seed=7), op=op)
    check(out, fn(everyone((world * 2, 2), seed=7))[2 * rank:2 * rank + 2], f"reduce_scatter_tensor {op}")

# gather to rank 0, scatter from rank 1
got = [ember.zeros(3) for _ in range(world)] if rank == 0 else None
dist.gather(mine((3,), seed=8), got, dst=0)
if rank == 0:
    for r in range(world):
        check(got[r], data(r, (3,), seed=8), f"gather[{r}]")
t = ember.zeros(3)
dist.scatter(t, [ember.tensor(data(1, (3,), seed=20 + j)) for j in range(world)] if rank == 1 else None, src=1)
check(t, data(1, (3,), seed=20 + rank), "scatter")

# all_to_all with sizes that differ per pair; all_to_all_single
ins = [ember.full((rank + 1, j + 1), float(10 * rank + j)) for j in range(world)]
outs = [ember.zeros(r + 1, rank + 1) for r in range(world)]
dist.all_to_all(outs, ins)
for r in range(world):
    check(outs[r], np.full((r + 1, rank + 1), 10 * r + rank, np.float32), f"all_to_all[{r}]")
out = ember.zeros(world * 2)
dist.all_to_all_single(out, ember.arange(world * 2, dtype=ember.float32) + 100 * rank)
check(out, np.concatenate([np.arange(2 * rank, 2 * rank + 2) + 100 * r for r in range(world)]), "all_to_all_single")

# point to point: ring send/recv, recv from any rank, isend/irecv
nxt, prv = (rank + 1) % world, (rank - 1) % world
t = ember.zeros(4)
if rank % 2 == 0:
    dist.send(mine((4,), seed=9), nxt)
    src = dist.recv(t, prv)
else:
    src = dist.recv(t, None)
    dist.send(mine((4,), seed=9), nxt)
assert src == prv, src
check(t, data(prv, (4,), seed=9), "send/recv")
t = ember.zeros(4)
works = [dist.isend(mine((4,), seed=9), nxt), dist.irecv(t, prv)]
for w in works:
    w.wait()
check(t, data(prv, (4,), seed=9), "isend/irecv")
if rank == 0:
    dist.send(ember.zeros(3), 1)
if rank == 1:
    raises(RuntimeError, "rank 0 sent 12 bytes", lambda: dist.recv(ember.zeros(4), 0))
    dist.recv(ember.zeros(3), 0)

# batch_isend_irecv: a ring in both directions at once
left, right = ember.zeros(2), ember.zeros(2)
ops = [dist.P2POp(dist.isend, mine((2,), seed=30), nxt), dist.P2POp(dist.irecv, left, prv),
       dist.P2POp(dist.isend, mine((2,), seed=31), prv), dist.P2POp(dist.irecv, right, nxt)]
for w in dist.batch_isend_irecv(ops):
    w.wait()
check(left, data(prv, (2,), seed=30), "batch_isend_irecv from the left")
check(right, data(nxt, (2,), seed=31), "batch_isend_irecv from the right")
raises(ValueError, "Invalid ``op``", lambda: dist.P2POp(dist.all_reduce, left, nxt))

# async: every collective returns a Work
t = mine((64,), seed=11)
work = dist.all_reduce(t, async_op=True)
assert isinstance(work, dist.Work)
assert work.wait() is True and work.is_completed()
check(t, np.sum(everyone((64,), seed=11), 0), "async all_reduce")
outs = [ember.zeros(2) for _ in range(world)]
work = dist.all_gather(outs, mine((2,), seed=12), async_op=True)
while not work.is_completed():
    time.sleep(0.001)
check(outs[world - 1], data(world - 1, (2,), seed=12), "async all_gather")
t = mine((3,), seed=13)
dist.broadcast(t, 0, async_op=True).wait()
check(t, data(0, (3,), seed=13), "async broadcast")
dist.barrier(async_op=True).wait()

# groups
g = dist.new_group([world - 1])
if rank == world - 1:
    assert dist.get_rank(g) == 0 and dist.get_world_size(g) == 1
    t = mine((2,), seed=14)
    dist.all_reduce(t, group=g)
    check(t, data(rank, (2,), seed=14), "group of one")
    assert dist.get_process_group_ranks(g) == [world - 1] and dist.get_global_rank(g, 0) == world - 1
    assert dist.get_group_rank(g, world - 1) == 0
else:
    assert g is dist.GroupMember.NON_GROUP_MEMBER and dist.get_rank(g) == -1
    assert dist.all_reduce(mine((2,)), group=g) is None
pair = dist.new_group(list(range(world)))
t = mine((2,), seed=15)
dist.all_reduce(t, group=pair)
check(t, np.sum(everyone((2,), seed=15), 0), "group of all")
assert dist.get_process_group_ranks(pair) == list(range(world)) == dist.get_process_group_ranks(dist.group.WORLD)

# objects: plain data by default, anything else only with allow_pickle
objs = [{"rank": rank, "list": [1, 2.5, None]}, "text"] if rank == 1 else [None, None]
dist.broadcast_object_list(objs, src=1)
assert objs == [{"rank": 1, "list": [1, 2.5, None]}, "text"], objs
gathered = [None] * world
dist.all_gather_object(gathered, (rank, b"x" * rank, 1j * rank, 2 ** 70, True, float("inf")))
assert gathered == [(r, b"x" * r, 1j * r, 2 ** 70, True, float("inf")) for r in range(world)], gathered
msg = raises(TypeError, "allow_pickle=True", lambda: dist.all_gather_object(gathered, {"f": fractions.Fraction(1, 3)}))
assert "fractions.Fraction" in msg and "runs code" in msg, msg
dist.all_gather_object(gathered, fractions.Fraction(rank, 3), allow_pickle=True)
objs = [fractions.Fraction(1, 3)] if rank == 0 else [None]
if rank == 0:  # a sender that allows pickling cannot make a receiver that does not load a class
    dist.broadcast_object_list(objs, src=0, allow_pickle=True)
else:
    raises(pickle.UnpicklingError, "fractions.Fraction", lambda: dist.broadcast_object_list(objs, src=0))
    assert objs == [None]
assert gathered == [fractions.Fraction(r, 3) for r in range(world)]

out = [None]
dist.scatter_object_list(out, [{"to": r, "x": [r] * r} for r in range(world)] if rank == 1 else None, src=1)
assert out == [{"to": rank, "x": [rank] * rank}], out

# errors: every rank raises, naming the ranks; the group stays usable afterwards
msg = raises(RuntimeError, "the ranks' calls do not match", lambda: dist.all_reduce(ember.zeros(rank + 2)))
assert f"[rank {rank}] all_reduce" in msg and "shape [2]" in msg and "shape [3]" in msg, msg
msg = raises(RuntimeError, "do not match",
             lambda: dist.all_reduce(ember.zeros(2)) if rank == 0 else dist.broadcast(ember.zeros(2), 0))
assert "all_reduce" in msg and "broadcast" in msg, msg
msg = raises(RuntimeError, "do not match", lambda: dist.all_reduce(ember.zeros(2, dtype=ember.float64 if rank else ember.float32)))
assert "float32" in msg and "float64" in msg, msg
raises(RuntimeError, "ReduceOp.AVG needs a floating point", lambda: dist.all_reduce(ember.zeros(2, dtype=ember.int64), op=dist.ReduceOp.AVG))
raises(ValueError, "tensor_list must be a list of", lambda: dist.all_gather([ember.zeros(2)], ember.zeros(2)))
raises(ValueError, "global rank 7 is not part of the group", lambda: dist.broadcast(ember.zeros(2), 7))

# a CUDA tensor on a gloo group: no backend for its device (checked without a GPU via the device)
class FakeCuda:
    type = "cuda"

    def __str__(self):
        return "cuda:0"


cuda_like = ember.zeros(2)
try:
    real = ember.Tensor.device
    ember.Tensor.device = property(lambda self: FakeCuda())
    raises(RuntimeError, "No backend type associated with device type cuda", lambda: dist.all_reduce(cuda_like))
finally:
    ember.Tensor.device = real

# a timeout instead of a hang: rank 0 waits in a group where the other rank arrives late
late = dist.new_group(list(range(world)), timeout=__import__("datetime").timedelta(seconds=1))
if rank == 0:
    msg = raises(RuntimeError, "timed out after 1 s", lambda: dist.barrier(group=late))
    assert "[rank 0] barrier" in msg, msg
else:
    time.sleep(2.5)
    dist.barrier(group=late)

# monitored_barrier: passes when all arrive; names the late rank on the first rank otherwise
dist.monitored_barrier()
if rank == 0:
    msg = raises(RuntimeError, "failed to pass monitoredBarrier",
                 lambda: dist.monitored_barrier(timeout=__import__("datetime").timedelta(seconds=1), wait_all_ranks=True))
    assert msg.startswith(f"[Rank 0]: Ranks {', '.join(map(str, range(1, world)))} failed"), msg
else:
    time.sleep(2)
dist.monitored_barrier()  # the late ranks' arrival counts here

# DistributedSampler reads the group's size and rank
sampler = DistributedSampler(range(11), shuffle=True, seed=3)
assert (sampler.num_replicas, sampler.rank) == (world, rank)
assert list(sampler) == list(DistributedSampler(range(11), world, rank, shuffle=True, seed=3))
shares = [None] * world
dist.all_gather_object(shares, list(sampler))
assert set(i for share in shares for i in share) == set(range(11)) and len({len(share) for share in shares}) == 1

dist.barrier()
assert dist.is_initialized()
dist.destroy_process_group()
assert not dist.is_initialized()
print(f"collectives ok {rank}/{world}", flush=True)
