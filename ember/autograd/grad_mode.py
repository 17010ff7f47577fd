"""Switches for graph recording: no_grad, enable_grad, set_grad_enabled, inference_mode."""
from __future__ import annotations

import functools
import threading


class _State(threading.local):
    """Whether ops record the graph: one flag read by every op, per thread as PyTorch's grad
    mode is (a no_grad block in one thread never stops another thread's recording); a new
    thread starts with recording on."""
    enabled = True


state = _State()


def is_grad_enabled() -> bool:
    return state.enabled


class _GradMode:
    """Base of the grad-mode context managers; each also works as a decorator."""

    _target = True

    def __enter__(self):
        self._prev = state.enabled
        state.enabled = self._target
        return self

    def __exit__(self, *exc):
        state.enabled = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__(*self._init_args()):
                return fn(*args, **kwargs)
        return wrapper

    def _init_args(self):
        return ()


class no_grad(_GradMode):
    """Run without recording the graph (evaluation, weight updates)."""
    _target = False


class enable_grad(_GradMode):
    """Record the graph again inside a no_grad region."""
    _target = True


class set_grad_enabled(_GradMode):
    """Turn recording on or off; as a function call it takes effect immediately."""

    def __init__(self, mode: bool):
        self._target = bool(mode)
        self._prev = state.enabled
        state.enabled = self._target  # like torch: effective even without `with`

    def __enter__(self):
        return self

    def __call__(self, fn):
        state.enabled = self._prev  # used as a decorator: the mode applies inside calls only
        return super().__call__(fn)

    def _init_args(self):
        return (self._target,)


class inference_mode(_GradMode):
    """Like no_grad: tensors made inside never record a graph."""

    def __init__(self, mode: bool = True):
        self._target = not mode

    def _init_args(self):
        return (not self._target,)
