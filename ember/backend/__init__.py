"""Array backends: the only package that knows whether NumPy or CuPy runs."""
from .device import device, to_device, device_of, move, xp_of, CPU
from . import dtypes, random
from . import cpu  # noqa: F401  (allocator settings: large arrays reuse freed memory)
