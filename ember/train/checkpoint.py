"""Resumable checkpoints: the whole training state in one file written atomically with
``ember.save``.

A checkpoint is a dict with ``model``, ``optimizer`` and ``scheduler`` state dicts, the
position (``epoch``, ``batch`` consumed in it, ``global_step``), the epoch's batches of
indices (the sampler's permutation, so a resumed epoch visits the remaining samples in the
same order) and the seed the DataLoader's workers derive each batch's random state from,
the gradients accumulated so far, the running sums of the epoch's logs, the history, every
callback's state (``Callback.state_dict``), the stop flags, the validation split's indices
and the states of every random generator (ember's default generator, the DataLoader's own
generator, NumPy's global one and Python's ``random``).
"""
from __future__ import annotations

import os
import random

import numpy as np

from .. import serialization
from ..backend import random as ember_random

__all__ = ["capture_rng_state", "restore_rng_state", "save_checkpoint", "load_checkpoint",
           "callback_states", "load_callback_states"]


def capture_rng_state(generator: ember_random.Generator | None = None) -> dict:
    """The states of ember's default generator, ``generator`` (if given), NumPy's global
    generator and Python's ``random``, in a form ``ember.save`` can store."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss = random.getstate()
    return {"ember": ember_random.get_rng_state(),
            "generator": None if generator is None else generator.get_state(),
            "numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)],
            "python": [version, list(internal), gauss]}


def restore_rng_state(state: dict, generator: ember_random.Generator | None = None) -> None:
    """Put every generator back in the state :func:`capture_rng_state` recorded."""
    ember_random.set_rng_state(state["ember"])
    if generator is not None and state["generator"] is not None:
        generator.set_state(state["generator"])
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


def _keys(names: list[str]) -> list[tuple[str, int]]:
    """Each callback's (class name, how many of that class come before it): what matches a
    saved state to a callback when a fit resumes with callbacks added or removed."""
    seen: dict[str, int] = {}
    keys = []
    for name in names:
        keys.append((name, seen.get(name, 0)))
        seen[name] = seen.get(name, 0) + 1
    return keys


def callback_states(callbacks) -> list[dict]:
    """Every callback's ``state_dict()`` with its class name, in order."""
    return [{"type": type(cb).__name__, "state": cb.state_dict() if hasattr(cb, "state_dict") else {}}
            for cb in callbacks]


def load_callback_states(callbacks, states: list[dict]) -> None:
    """Give each callback the state saved for the callback of its class at the same place
    among those of its class; a callback with none saved keeps its fresh state."""
    saved = dict(zip(_keys([s["type"] for s in states]), states))
    for cb, key in zip(callbacks, _keys([type(cb).__name__ for cb in callbacks])):
        if key in saved and hasattr(cb, "load_state_dict"):
            cb.load_state_dict(saved[key]["state"])


def save_checkpoint(state: dict, path: str | os.PathLike) -> str:
    """Write a training state atomically (a crash leaves the old file or the new one)."""
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    serialization.save(state, path)
    return path


def load_checkpoint(path: str | os.PathLike, map_location=None) -> dict:
    """Read a training state written by :func:`save_checkpoint`."""
    state = serialization.load(path, map_location=map_location)
    missing = {"model", "optimizer", "epoch", "batch", "rng"} - set(state) if isinstance(state, dict) else {"model"}
    if missing:
        raise ValueError(f"load_checkpoint: {path} is not a training checkpoint (missing {sorted(missing)}); "
                         "a model's state dict loads with model.load_state_dict(ember.load(path))")
    missing = sorted(_STATE_KEYS - set(state))
    if missing:
        raise ValueError(f"load_checkpoint: {path} lacks {missing}, so a fit cannot resume from it exactly "
                         "(an older ember wrote it); start a new fit from its weights with "
                         "model.load_state_dict(ember.load(path)['model'])")
    return state


# What Trainer.state_dict() holds: a checkpoint needs all of it to resume exactly.
_STATE_KEYS = {"model", "optimizer", "scheduler", "epoch", "batch", "global_step", "position", "metrics",
               "grads", "history", "callbacks", "stop_training", "stop_now", "last_loss", "split", "rng"}
