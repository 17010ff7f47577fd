"""One rank fails while the others wait in a collective: `raise` (default) or `exit N` or `kill`."""
import os
import signal
import sys

import ember
import ember.distributed as dist

dist.init_process_group("gloo")
rank = dist.get_rank()
print(f"env RANK={os.environ['RANK']} LOCAL_RANK={os.environ['LOCAL_RANK']} WORLD_SIZE={os.environ['WORLD_SIZE']} "
      f"LOCAL_WORLD_SIZE={os.environ['LOCAL_WORLD_SIZE']} MASTER_ADDR={os.environ['MASTER_ADDR']} "
      f"MASTER_PORT={os.environ['MASTER_PORT']} rank={rank} world={dist.get_world_size()}", flush=True)
assert dist.is_torchelastic_launched() and dist.get_node_local_rank() == int(os.environ["LOCAL_RANK"])
how = sys.argv[1] if len(sys.argv) > 1 else "none"
if rank == 1:
    print("rank 1 about to fail", file=sys.stderr, flush=True)
    if how == "raise":
        raise ValueError("rank 1 failed on purpose")
    if how == "exit":
        sys.exit(3)
    if how == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
dist.all_reduce(ember.ones(3))
dist.destroy_process_group()
