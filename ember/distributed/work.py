"""Work: the handle an ``async_op=True`` collective returns (``wait()``, ``is_completed()``)."""
from __future__ import annotations

import datetime

from . import _mpi


class Work:
    """A posted collective. ``finish`` (run once, after completion) writes results that could not
    be received in place (AVG's division, 16-bit floats reduced in float32, non-contiguous tensors)."""

    def __init__(self, requests: list, group, name: str, finish=None):
        self._requests = requests
        self._group = group
        self._name = name
        self._finish = finish
        self._done = False

    def _complete(self) -> None:
        if not self._done:
            self._done = True
            if self._finish is not None:
                self._finish()

    def wait(self, timeout=None) -> bool:
        """Block until the collective has completed on this rank (at most the group's timeout)."""
        if not self._done:
            _mpi.wait(self._requests, self._seconds(timeout), describe(self._group, self._name))
            self._complete()
        return True

    def _seconds(self, timeout) -> float:
        """``wait``'s timeout in seconds (the group's by default)."""
        if isinstance(timeout, datetime.timedelta):
            return timeout.total_seconds()
        return self._group.timeout if timeout is None else float(timeout)

    def is_completed(self) -> bool:
        """Whether the collective has completed (never blocks)."""
        if not self._done and _mpi.done(self._requests):
            self._complete()
        return self._done

    def is_success(self) -> bool:
        return self.is_completed()

    def __repr__(self) -> str:
        return f"Work({self._name}, completed={self._done})"


def describe(group, name: str) -> str:
    """"[rank 1] all_reduce" (and the group when it is not the whole world), for error messages."""
    from .process_group import GroupMember
    world = GroupMember.WORLD
    me = world.rank() if world is not None else group.rank()
    where = "" if group is world else f" in group {group.ranks}"
    return f"[rank {me}] {name}{where}"


def finish(work: Work, async_op: bool):
    """What a collective returns: the handle with ``async_op``, else None once it has completed."""
    if async_op:
        return work
    work.wait()
    return None
