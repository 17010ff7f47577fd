"""Every rank says it is ready, then sleeps (for the test that kills the launcher)."""
import time

import ember.distributed as dist

dist.init_process_group("gloo")
print(f"ready {dist.get_rank()}", flush=True)
time.sleep(120)
