"""A process started without any launcher is a world of one; destroy_process_group undoes init."""
import datetime
import sys

import ember
import ember.distributed as dist

dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=20))
assert sys.excepthook is not sys.__excepthook__  # an uncaught exception ends the rank (no MPI_Finalize wait)
assert dist.is_initialized() and dist.get_rank() == 0 and dist.get_world_size() == 1
assert dist.get_backend() == "gloo"
t = ember.tensor([1.0, 2.0])
dist.all_reduce(t, op=dist.ReduceOp.AVG)
assert t.tolist() == [1.0, 2.0]
objs = [None]
dist.all_gather_object(objs, {"a": [1, (2, None)]})
assert objs == [{"a": [1, (2, None)]}]
try:
    dist.init_process_group("gloo")
    raise AssertionError("expected an error")
except ValueError as e:
    assert "twice" in str(e)
dist.destroy_process_group()
assert sys.excepthook is sys.__excepthook__ and not dist.is_initialized()
dist.init_process_group("mpi")  # again after destroy
assert dist.get_world_size() == 1
dist.destroy_process_group()
print("world of one ok", flush=True)
