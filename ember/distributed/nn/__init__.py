"""``torch.distributed.nn``: collectives that autograd differentiates through."""
from . import functional  # noqa: F401
