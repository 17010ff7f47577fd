"""``torch.nn.parallel``: DataParallel, which runs the wrapped module on one device, and
DistributedDataParallel, which averages gradients across processes."""
from .data_parallel import DataParallel, data_parallel
from .distributed import DistributedDataParallel

__all__ = ["DataParallel", "DistributedDataParallel", "data_parallel"]
