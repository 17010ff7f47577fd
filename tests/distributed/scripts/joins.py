"""Joins the world with a timeout of argv[1] seconds; prints this rank's place and the world's sum
of the ranks."""
import datetime
import os
import sys

import ember
import ember.distributed as dist

dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=float(sys.argv[1])))
total = ember.tensor([float(dist.get_rank())])
dist.all_reduce(total)
print(f"joined rank={dist.get_rank()} world={dist.get_world_size()} RANK={os.environ['RANK']} "
      f"LOCAL_RANK={os.environ['LOCAL_RANK']} GROUP_RANK={os.environ['GROUP_RANK']} sum={total.item():g}", flush=True)
dist.destroy_process_group()
