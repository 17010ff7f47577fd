"""The deprecated ``nn.utils.stateless.functional_call`` (``ember.func.functional_call`` with a warning)."""
from __future__ import annotations

import warnings
from typing import Any

from ...func import functional_call as _functional_call

__all__ = ["functional_call"]


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights: bool = True,
                    strict: bool = False) -> Any:
    """Call ``module`` with some parameters and buffers replaced; see ``ember.func.functional_call``."""
    warnings.warn("`torch.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 and will be removed "
                  "in a future version of PyTorch. Please use `torch.func.functional_call` instead which is a "
                  "drop-in replacement.", FutureWarning, stacklevel=2)
    return _functional_call(module, parameter_and_buffer_dicts, args, kwargs, tie_weights=tie_weights,
                            strict=strict)
