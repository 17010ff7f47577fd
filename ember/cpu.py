"""``ember.cpu``: the CPU device module, as ``torch.cpu`` (its ``amp`` aliases autocast)."""
from __future__ import annotations

import sys

from .amp.device_aliases import cpu_amp as amp

# `from ember.cpu.amp import autocast` finds the alias module by its dotted name
sys.modules[amp.__name__] = amp

__all__ = ["is_available", "device_count", "current_device", "synchronize", "amp"]


def is_available() -> bool:
    return True


def device_count() -> int:
    return 1


def current_device() -> str:
    return "cpu"


def synchronize(device=None) -> None:
    """Nothing to wait for: CPU ops finish before they return."""
