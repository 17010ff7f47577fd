"""``ember.multiprocessing``: the standard library's multiprocessing, plus tensors that
processes share (``Tensor.share_memory_()``, see :mod:`._sharing`) and ``spawn``.

As in PyTorch, a tensor is shared by calling ``share_memory_()`` (or
``Module.share_memory()``) before the processes start or before it is put on a Queue;
workers then update the same memory (Hogwild training). A tensor that is not shared is
sent by value.
"""
from __future__ import annotations

import multiprocessing as _mp
from multiprocessing import *  # noqa: F401,F403  (Process, Queue, SimpleQueue, Pool, get_context, ...)

from . import _sharing
from .spawn import (
    ProcessContext, ProcessException, ProcessExitedException, ProcessRaisedException, spawn, start_processes,
)
from .._tensor import Tensor

Tensor.share_memory_ = _sharing.share_memory_
Tensor.is_shared = _sharing.is_shared

__all__ = list(_mp.__all__) + ["ProcessContext", "ProcessException", "ProcessExitedException",
                               "ProcessRaisedException", "spawn", "start_processes", "get_sharing_strategy",
                               "set_sharing_strategy", "get_all_sharing_strategies"]

_STRATEGIES = {"file_descriptor"}


def get_all_sharing_strategies() -> set[str]:
    """The ways shared tensors cross processes: only ``"file_descriptor"`` (nameless files,
    freed by the kernel when the last process lets go)."""
    return set(_STRATEGIES)


def get_sharing_strategy() -> str:
    return "file_descriptor"


def set_sharing_strategy(new_strategy: str) -> None:
    if new_strategy not in _STRATEGIES:
        raise ValueError(f"set_sharing_strategy: unknown strategy {new_strategy!r}; ember supports "
                         f"{sorted(_STRATEGIES)}")
