"""DataParallel as a transparent wrapper: ember runs a module on one device, so the wrapper
calls it directly; its state_dict keys carry the "module." prefix, as PyTorch's do."""
from __future__ import annotations

import warnings

from ..modules.module import Module


class DataParallel(Module):
    """Wrap ``module`` so scripts written for ``nn.DataParallel`` run unchanged.

    PyTorch splits each batch along ``dim`` across ``device_ids`` and gathers the outputs on
    ``output_device``; ember runs the whole batch on the module's own device, which gives the
    same result (batch-norm statistics over the whole batch rather than per replica). More
    than one device id is accepted with a warning.
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DataParallel: expected an nn.Module to wrap, got {type(module).__name__}")
        self.module = module
        self.device_ids = [] if device_ids is None else list(device_ids)
        self.output_device = output_device if output_device is not None else (
            self.device_ids[0] if self.device_ids else None)
        self.dim = dim
        if len(self.device_ids) > 1:
            warnings.warn(f"DataParallel: ember runs the module on one device; device_ids "
                          f"{self.device_ids} run as {self.device_ids[0]!r} (same result, no split)",
                          stacklevel=2)

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)


def data_parallel(module: Module, inputs, device_ids=None, output_device=None, dim: int = 0,
                  module_kwargs=None):
    """The functional form: ``module(*inputs)`` (one device, see DataParallel)."""
    if not isinstance(inputs, tuple):
        inputs = (inputs,) if inputs is not None else ()
    return module(*inputs, **(module_kwargs or {}))
