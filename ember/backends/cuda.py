"""``ember.backends.cuda``: PyTorch's CUDA matmul switches. ``matmul.allow_tf32`` is the
float32 matmul precision seen another way (True means "high"), as in PyTorch."""
from __future__ import annotations

import importlib.util

from .. import _defaults


class _Matmul:
    """``ember.backends.cuda.matmul``."""

    allow_fp16_reduced_precision_reduction = True
    allow_bf16_reduced_precision_reduction = True

    @property
    def allow_tf32(self) -> bool:
        return _defaults.get_float32_matmul_precision() != "highest"

    @allow_tf32.setter
    def allow_tf32(self, value: bool) -> None:
        _defaults.set_float32_matmul_precision("high" if value else "highest")


matmul = _Matmul()


def is_built() -> bool:
    """Whether CuPy, through which ember runs CUDA, is installed."""
    return importlib.util.find_spec("cupy") is not None
