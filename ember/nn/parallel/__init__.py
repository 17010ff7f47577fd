"""``torch.nn.parallel``: DataParallel, which runs the wrapped module on one device."""
from .data_parallel import DataParallel, data_parallel

__all__ = ["DataParallel", "data_parallel"]
