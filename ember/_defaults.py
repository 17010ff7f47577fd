"""Process-wide algorithm settings: deterministic algorithms and float32 matmul precision.

ember's kernels are NumPy's (CuPy's on GPUs), which give the same result for the same
input on every run and compute float32 products in full float32, so these settings are
recorded and reported as PyTorch reports them; none of them changes a result.
"""
from __future__ import annotations

import warnings

_deterministic = {"mode": False, "warn_only": False}
_precision = ["highest"]
_PRECISIONS = ("highest", "high", "medium")


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Ask for deterministic algorithms (ember's always are)."""
    for name, value, pos in (("mode", mode, "(position 1) "), ("warn_only", warn_only, "")):
        if not isinstance(value, bool):
            raise TypeError(f"use_deterministic_algorithms(): argument '{name}' {pos}must be bool, "
                            f"not {type(value).__name__}")
    _deterministic.update(mode=mode, warn_only=warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    return _deterministic["mode"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _deterministic["warn_only"]


def set_deterministic_debug_mode(debug_mode) -> None:
    """0 / "default": off; 1 / "warn": deterministic, warn only; 2 / "error": deterministic."""
    names = {"default": 0, "warn": 1, "error": 2}
    level = names.get(debug_mode, debug_mode) if isinstance(debug_mode, str) else debug_mode
    if level not in (0, 1, 2) or isinstance(level, bool):
        raise RuntimeError(f"invalid value of debug_mode, expected one of 0, 1, 2 or 'default', "
                           f"'warn', 'error', but got {debug_mode!r}")
    _deterministic.update(mode=level > 0, warn_only=level == 1)


def get_deterministic_debug_mode() -> int:
    if not _deterministic["mode"]:
        return 0
    return 1 if _deterministic["warn_only"] else 2


def set_float32_matmul_precision(precision: str) -> None:
    """"highest", "high" or "medium" (PyTorch's TF32/bfloat16 GEMM choice; ember's float32
    GEMMs are always full precision)."""
    if precision not in _PRECISIONS:
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
                      "set_float32_matmul_precision call has no effect.", UserWarning, stacklevel=2)
        return
    _precision[0] = precision


def get_float32_matmul_precision() -> str:
    return _precision[0]
