"""``ember.backends.cudnn``: PyTorch's cuDNN switches. ember runs no cuDNN kernels (its
GPU convolutions are CuPy GEMMs), so the switches are recorded for scripts that set them
and change nothing; ``is_available()`` is False."""
from __future__ import annotations

from contextlib import contextmanager

enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available() -> bool:
    return False


def version() -> None:
    return None


@contextmanager
def flags(enabled: bool = False, benchmark: bool = False, deterministic: bool = False,
          allow_tf32: bool = True):
    """Set the switches inside a ``with`` block, restoring them after."""
    module = globals()
    names = ("enabled", "benchmark", "deterministic", "allow_tf32")
    saved = {n: module[n] for n in names}
    module.update(enabled=enabled, benchmark=benchmark, deterministic=deterministic, allow_tf32=allow_tf32)
    try:
        yield
    finally:
        module.update(saved)
