"""Joins a world of argv[3] processes as rank argv[2] through init_method=argv[1] (no environment
variables), timeout argv[4] seconds; prints this rank's place and the world's sum of the ranks."""
import datetime
import sys

import ember
import ember.distributed as dist

dist.init_process_group("gloo", init_method=sys.argv[1], rank=int(sys.argv[2]), world_size=int(sys.argv[3]),
                        timeout=datetime.timedelta(seconds=float(sys.argv[4])))
total = ember.tensor([float(dist.get_rank())])
dist.all_reduce(total)
print(f"tcp rank={dist.get_rank()} world={dist.get_world_size()} sum={total.item():g}", flush=True)
dist.destroy_process_group()
