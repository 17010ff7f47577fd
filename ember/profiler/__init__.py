"""``torch.profiler``: ``profile`` with activities, schedules and ``step()``, over the
autograd profiler's op timing (wall time on the CPU; device activities are accepted and
timed the same way, as ember's GPU ops are issued from Python)."""
from __future__ import annotations

import enum
import os
import socket
import time

from ..autograd.profiler import EventList, profile as _autograd_profile, record_function

__all__ = ["ProfilerAction", "ProfilerActivity", "profile", "record_function", "schedule",
           "tensorboard_trace_handler"]


class ProfilerActivity(enum.Enum):
    CPU = 0
    CUDA = 1


class ProfilerAction(enum.Enum):
    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def schedule(*, wait: int, warmup: int, active: int, repeat: int = 0, skip_first: int = 0):
    """PyTorch's step schedule: skip ``skip_first`` steps, then cycles of ``wait`` idle,
    ``warmup`` and ``active`` recorded steps (``repeat`` cycles; 0 = no limit). The
    returned function maps a step number to its action."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise ValueError(f"schedule: invalid arguments (wait={wait}, warmup={warmup}, active={active}, "
                         f"repeat={repeat}, skip_first={skip_first}); active must be positive")

    def action(step: int) -> ProfilerAction:
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        cycle = wait + warmup + active
        if repeat > 0 and step // cycle >= repeat:
            return ProfilerAction.NONE
        pos = step % cycle
        if pos < wait:
            return ProfilerAction.NONE
        if pos < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if pos < cycle - 1 else ProfilerAction.RECORD_AND_SAVE
    return action


def _always(step: int) -> ProfilerAction:
    return ProfilerAction.RECORD


def tensorboard_trace_handler(dir_name: str, worker_name: str | None = None, use_gzip: bool = False):
    """An ``on_trace_ready`` handler writing each trace as a Chrome trace JSON file."""
    def handler(prof: "profile") -> None:
        os.makedirs(dir_name, exist_ok=True)
        worker = worker_name or f"{socket.gethostname()}_{os.getpid()}"
        prof.export_chrome_trace(os.path.join(dir_name, f"{worker}.{time.time_ns()}.pt.trace.json"))
    return handler


class profile:
    """``with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:``;
    ``prof.step()`` after each step when a ``schedule`` is given; then
    ``prof.key_averages().table(sort_by="cpu_time_total", row_limit=10)``."""

    def __init__(self, *, activities=None, schedule=None, on_trace_ready=None,
                 record_shapes: bool = False, profile_memory: bool = False, with_stack: bool = False,
                 with_flops: bool = False, with_modules: bool = False, experimental_config=None,
                 execution_trace_observer=None, acc_events: bool = False, use_cuda=None):
        self.activities = set(activities) if activities else {ProfilerActivity.CPU}
        self.schedule = schedule or _always
        self.on_trace_ready = on_trace_ready
        self.record_shapes = record_shapes
        self.step_num = 0
        self._current = None  # the autograd profiler recording the steps now
        self._events = EventList()  # what the recorded steps of this cycle measured

    def __enter__(self) -> "profile":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        self._enter_action(self.schedule(self.step_num))

    def stop(self) -> None:
        if self._current is not None:
            self._finish_recording(save=True)

    def step(self) -> None:
        """Mark the end of a training step; the schedule decides what the next one does."""
        action = self.schedule(self.step_num)
        self.step_num += 1
        if action is ProfilerAction.RECORD_AND_SAVE:
            self._finish_recording(save=True)
        self._enter_action(self.schedule(self.step_num))

    def _enter_action(self, action: ProfilerAction) -> None:
        recording = action in (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE)
        if recording and self._current is None:
            self._current = _autograd_profile(record_shapes=self.record_shapes)
            self._current.start()
        elif not recording and self._current is not None:
            self._finish_recording(save=False)

    def _finish_recording(self, save: bool) -> None:
        self._current.stop()
        self._events = self._current.events()
        self._current = None
        if save and self.on_trace_ready is not None:
            self.on_trace_ready(self)

    def events(self) -> EventList:
        return self._events

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0) -> EventList:
        return self._events.key_averages(group_by_input_shape)

    def export_chrome_trace(self, path) -> None:
        _autograd_profile.export_chrome_trace(self, path)

    # export_chrome_trace reads the finished events through this, as the autograd profiler's does
    def _finished(self) -> EventList:
        return self._events
