"""OptimizedModule: what ``ember.compile(module)`` returns, as torch.compile's does.

It holds the module as ``_orig_mod`` (so its state_dict keys start with "_orig_mod.", as
PyTorch's do), reads through to the module's attributes, and calls it through a compiled
graph.
"""
from __future__ import annotations

from ..nn.modules.module import Module
from .compiled import Compiled


class OptimizedModule(Module):
    def __init__(self, mod: Module, compiled: Compiled):
        super().__init__()
        self._orig_mod = mod
        self.__dict__["_compiled"] = compiled

    def forward(self, *args, **kwargs):
        return self.__dict__["_compiled"](*args, **kwargs)

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self._modules["_orig_mod"], name)
