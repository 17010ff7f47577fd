"""A few DDP steps from different initial weights per rank; then rank 0 saves the DDP state_dict
(argv[1]) and rank 1 writes its own replica's weights as NumPy arrays (argv[2])."""
import sys

import numpy as np

import ember
import ember.distributed as dist
import ember.nn.functional as F
from ember import nn
from ember.nn.parallel import DistributedDataParallel as DDP

dist.init_process_group("gloo")
rank = dist.get_rank()
ember.manual_seed(1 + rank)  # different on purpose: DDP copies rank 0's weights
ddp = DDP(nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)))
opt = ember.optim.SGD(ddp.parameters(), lr=0.5)
rng = np.random.default_rng(rank)
for _ in range(3):
    x = ember.tensor(rng.standard_normal((4, 6)).astype(np.float32))
    y = ember.tensor(rng.integers(0, 3, 4))
    opt.zero_grad()
    F.cross_entropy(ddp(x), y).backward()
    opt.step()
if rank == 0:
    ember.save(ddp.state_dict(), sys.argv[1])
else:
    np.savez(sys.argv[2], **{name: p.detach().numpy() for name, p in ddp.module.named_parameters()})
dist.barrier()
dist.destroy_process_group()
print(f"checkpoint ok {rank}", flush=True)
