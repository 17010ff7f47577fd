"""DistributedDataParallel on 2+ ranks: training equals one process on the concatenated batches
(MLP and CNN, with no_sync accumulation, in one bucket or several, and with ember.compile inside
or around DDP), buckets all-reduced while backward runs, unused parameters, buffers, and the
errors."""
import warnings

import numpy as np

import ember
import ember.distributed as dist
import ember.nn.functional as F
from ember import nn
from ember.nn.parallel import DistributedDataParallel as DDP

dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
B = 4  # per-rank batch


def mlp():
    return nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3))


def cnn():
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(36, 3))


def batch(step, shape):
    rng = np.random.default_rng(step)
    x = rng.standard_normal((world * B,) + shape).astype(np.float32)
    y = rng.integers(0, 3, world * B)
    return ember.tensor(x), ember.tensor(y)


def gather_all(t):
    out = [ember.zeros_like(t) for _ in range(world)]
    dist.all_gather(out, t.detach().contiguous())
    return out


def close(a, b, what):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=2e-5, atol=2e-6,
                               err_msg=f"rank {rank}: {what}")


def bn_cnn():
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(144, 8),
                         nn.BatchNorm1d(8), nn.Linear(8, 3))


def train_matches_single_process(make, shape, accumulate, sync_bn=False, bucket_cap_mb=None, buckets=1):
    ember.manual_seed(100 + rank)  # replicas start different: construction must broadcast rank 0's
    model = make()
    ddp = DDP(nn.SyncBatchNorm.convert_sync_batchnorm(model) if sync_bn else model, bucket_cap_mb=bucket_cap_mb)
    assert len(ddp._buckets) == buckets, (make.__name__, bucket_cap_mb, len(ddp._buckets))
    ember.manual_seed(100)
    ref = make()
    opt = ember.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    ref_opt = ember.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    for step in range(3):
        opt.zero_grad()
        ref_opt.zero_grad()
        for micro in range(accumulate):
            x, y = batch(10 * step + micro, shape)
            mine = slice(rank * B, (rank + 1) * B)
            if micro < accumulate - 1:
                with ddp.no_sync():
                    F.cross_entropy(ddp(x[mine]), y[mine]).backward()
            else:
                F.cross_entropy(ddp(x[mine]), y[mine]).backward()
            F.cross_entropy(ref(x), y).backward()
        opt.step()
        ref_opt.step()
    for (name, p), q in zip(ddp.module.named_parameters(), ref.parameters()):
        close(p, q, f"{make.__name__} (accumulate={accumulate}) {name}")
    for (name, b), c in zip(ddp.module.named_buffers(), ref.buffers()):
        close(b, c, f"{make.__name__} buffer {name}")
    for name, p in ddp.module.named_parameters():
        for other in gather_all(p):
            close(other, p, f"replicas equal: {name}")
    assert list(ddp.state_dict()) == ["module." + k for k in ref.state_dict()], list(ddp.state_dict())


train_matches_single_process(mlp, (8,), accumulate=1)
train_matches_single_process(cnn, (1, 8, 8), accumulate=1)
train_matches_single_process(mlp, (8,), accumulate=2)
train_matches_single_process(bn_cnn, (1, 8, 8), accumulate=1, sync_bn=True)  # SyncBatchNorm = BatchNorm on all
# a bucket per parameter; two buckets of two parameters each (with no_sync accumulation)
train_matches_single_process(mlp, (8,), accumulate=1, bucket_cap_mb=1e-6, buckets=6)
train_matches_single_process(cnn, (1, 8, 8), accumulate=2, bucket_cap_mb=1e-4, buckets=2)


class PostRecorder:
    """A process group's communicator that notes each all-reduce posted on it before posting it."""

    def __init__(self, comm, events):
        self.comm, self.events = comm, events

    def Iallreduce(self, *args, **kwargs):
        self.events.append("all_reduce posted")
        return self.comm.Iallreduce(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.comm, name)


def buckets_reduce_during_backward():
    """With a bucket per parameter, the last two layers' four buckets are posted before backward
    has produced the first layer's gradients (the hooks noting those are registered before DDP's,
    so they run before DDP's hooks on the same parameters)."""
    group = dist.new_group()
    ember.manual_seed(100)
    model = mlp()
    events = []
    for name, p in model[0].named_parameters():
        p.register_hook(lambda grad, name=name: events.append(f"gradient of 0.{name}"))
    ddp = DDP(model, process_group=group, bucket_cap_mb=1e-6)
    group.comm = PostRecorder(group.comm, events)
    x, y = batch(0, (8,))
    F.cross_entropy(ddp(x[rank * B:(rank + 1) * B]), y[rank * B:(rank + 1) * B]).backward()
    group.comm = group.comm.comm
    first_gradient = min(i for i, e in enumerate(events) if e.startswith("gradient"))
    assert events[:first_gradient] == ["all_reduce posted"] * 4, events
    assert events.count("all_reduce posted") == 6, events
    ember.manual_seed(100)
    ref = mlp()
    F.cross_entropy(ref(x), y).backward()
    for (name, p), q in zip(model.named_parameters(), ref.parameters()):
        close(p.grad, q.grad, f"recorded backward: {name}")


buckets_reduce_during_backward()


def compiled_matches_single_process(where):
    """ember.compile inside DDP (on the module it wraps: replays from the third step) or
    around it (DDP's forward communicates, so that call runs eagerly)."""
    ember.manual_seed(100 + rank)
    model = cnn()
    ddp = DDP(ember.compile(model)) if where == "inside" else DDP(model)
    net = ember.compile(ddp) if where == "around" else ddp
    ember.manual_seed(100)
    ref = cnn()
    opt = ember.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    ref_opt = ember.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    mine = slice(rank * B, (rank + 1) * B)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the graph break's notice, when compiled around DDP
        for step in range(4):
            x, y = batch(step, (1, 8, 8))
            for o, m, inputs, labels in ((opt, net, x[mine], y[mine]), (ref_opt, ref, x, y)):
                o.zero_grad()
                F.cross_entropy(m(inputs), labels).backward()
                o.step()
    for (name, p), q in zip(model.named_parameters(), ref.parameters()):
        close(p, q, f"compiled {where} DDP: {name}")


compiled_matches_single_process("inside")
compiled_matches_single_process("around")


class Heads(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(4, 4)
        self.a = nn.Linear(4, 2)
        self.b = nn.Linear(4, 2)  # used on rank 0 only
        self.c = nn.Linear(4, 2)  # used nowhere

    def forward(self, x):
        h = self.body(x)
        return self.a(h) + (self.b(h) if rank == 0 else 0)


ember.manual_seed(7)
model = Heads()
ddp = DDP(model, find_unused_parameters=True)
local = Heads()
local.load_state_dict(model.state_dict())
x = ember.randn(3, 4) + rank
ddp(x).square().sum().backward()
local(x).square().sum().backward()
for name, p in model.named_parameters():
    q = dict(local.named_parameters())[name]
    if name.startswith("c."):
        assert p.grad is None, name
        continue
    # the average over ranks of each rank's local gradient (zero where the rank did not use it)
    grads = gather_all(q.grad if q.grad is not None else ember.zeros_like(q))
    close(p.grad, sum(grads[1:], grads[0]) / world, f"find_unused_parameters {name}")

# without find_unused_parameters, an unused parameter is PyTorch's error at the next forward
ddp = DDP(Heads())
ddp(x).sum().backward()
try:
    ddp(x)
    raise AssertionError("expected the unfinished-reduction error")
except RuntimeError as e:
    assert "Expected to have finished reduction in the prior iteration" in str(e) and f"[rank {rank}]" in str(e), e
    assert "c.weight" in str(e), e

# buffers: rank 0's are copied at a forward after a synchronising one (forward_sync_buffers), kept apart otherwise
for broadcast in (True, False):
    ember.manual_seed(3)
    ddp = DDP(nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4)), forward_sync_buffers=broadcast)
    ddp(ember.randn(6, 4) * (rank + 1) + rank)
    ddp.eval()
    with ember.no_grad():
        ddp(ember.randn(2, 4))
    means = gather_all(ddp.module[1].running_mean)
    assert np.array_equal(means[0].numpy(), means[1].numpy()) == broadcast, (broadcast, means)

# the deprecated broadcast_buffers=False warns and leaves buffers out of the initial copy too
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    bn = nn.BatchNorm1d(2)
    bn.running_mean.fill_(float(rank))
    ddp = DDP(bn, broadcast_buffers=False)
assert any(issubclass(w.category, FutureWarning) and "forward_sync_buffers" in str(w.message) for w in caught)
assert bn.running_mean.tolist() == [float(rank)] * 2
bn = nn.BatchNorm1d(2)
bn.running_mean.fill_(float(rank))
DDP(bn, forward_sync_buffers=False)
assert bn.running_mean.tolist() == [0.0, 0.0]  # copied from rank 0 at init all the same

# a model that differs between ranks is refused at construction, naming the ranks
try:
    DDP(nn.Linear(4, 4 + rank))
    raise AssertionError("expected a mismatch error")
except RuntimeError as e:
    assert "do not match" in str(e) and "shape [4, 4]" in str(e) and "shape [5, 4]" in str(e), e

dist.destroy_process_group()
print(f"ddp ok {rank}/{world}", flush=True)
