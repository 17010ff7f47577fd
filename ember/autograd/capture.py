"""What ember.compile's capture hooks into beyond Function.apply: methods that change state
a replay must change again (an optimizer's step, zero_grad, a scheduler's step) are marked
``replayable``; while a capture runs they are recorded as one step each, and otherwise the
decorator costs one global check."""
from __future__ import annotations

import functools

# The running capture (ember.compiler.capture.Capture), or None.
TRACER = None


def replayable(fn):
    """Record calls of ``fn`` as replay steps while a capture runs."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if TRACER is None:
            return fn(*args, **kwargs)
        return TRACER.step(fn, args, kwargs, fn.__qualname__, always=True)
    return wrapper


def graph_break(reason: str) -> None:
    """Say that the running capture cannot be replayed, because of ``reason`` (a forward
    that communicates, or reads tensor values into Python behind the ops' backs)."""
    if TRACER is not None:
        TRACER.graph_break(reason)
