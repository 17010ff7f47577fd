"""The older per-device spellings, kept by PyTorch with a FutureWarning:
ember.cuda.amp.autocast / GradScaler and ember.cpu.amp.autocast."""
from __future__ import annotations

import types
import warnings

from ..backend import dtypes
from . import autocast_mode, grad_scaler


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"`{old}(args...)` is deprecated. Please use `{new}args...)` instead.",
                  FutureWarning, stacklevel=3)


class _CudaAutocast(autocast_mode.autocast):
    def __init__(self, enabled: bool = True, dtype=dtypes.float16, cache_enabled: bool = True):
        _deprecated("ember.cuda.amp.autocast", "ember.amp.autocast('cuda', ")
        super().__init__("cuda", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)


class _CpuAutocast(autocast_mode.autocast):
    def __init__(self, enabled: bool = True, dtype=dtypes.bfloat16, cache_enabled: bool = True):
        _deprecated("ember.cpu.amp.autocast", "ember.amp.autocast('cpu', ")
        super().__init__("cpu", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)


class _CudaGradScaler(grad_scaler.GradScaler):
    def __init__(self, init_scale: float = 2.0 ** 16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000, enabled: bool = True):
        _deprecated("ember.cuda.amp.GradScaler", "ember.amp.GradScaler('cuda', ")
        super().__init__("cuda", init_scale, growth_factor, backoff_factor, growth_interval, enabled)


for _cls, _name in ((_CudaAutocast, "autocast"), (_CpuAutocast, "autocast"), (_CudaGradScaler, "GradScaler")):
    _cls.__name__ = _cls.__qualname__ = _name


def _module(name: str, **members) -> types.ModuleType:
    module = types.ModuleType(name, __doc__)
    module.__dict__.update(members)
    return module


cuda_amp = _module("ember.cuda.amp", autocast=_CudaAutocast, GradScaler=_CudaGradScaler)
cpu_amp = _module("ember.cpu.amp", autocast=_CpuAutocast)
