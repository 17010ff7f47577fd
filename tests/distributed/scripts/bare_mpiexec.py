"""Started by a bare ``mpiexec -n 2``, without ember's launcher or torchrun's variables: rank and
size come from MPI, and a collective spans both processes."""
import os

import ember
import ember.distributed as dist

TORCHRUN_VARS = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK", "MASTER_ADDR", "MASTER_PORT")
assert not [v for v in TORCHRUN_VARS if v in os.environ], [v for v in TORCHRUN_VARS if v in os.environ]
dist.init_process_group()
rank, world = dist.get_rank(), dist.get_world_size()
assert not dist.is_torchelastic_launched()
t = ember.tensor([1.0, 10.0]) * (rank + 1)
dist.all_reduce(t)
print(f"bare rank={rank} world={world} sum={t.tolist()}", flush=True)
dist.destroy_process_group()
