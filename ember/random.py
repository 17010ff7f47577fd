"""``torch.random``: the default generator's seed and state as PyTorch exposes them.

The state is a uint8 tensor (as ``torch.random.get_rng_state()`` returns), holding the
seed and the PCG64 bit generator's words; ``set_rng_state`` takes it back.
"""
from __future__ import annotations

import contextlib

import numpy as np

from .backend import random as _random
from .backend.random import Generator, default_generator, initial_seed, manual_seed, seed

__all__ = ["Generator", "default_generator", "fork_rng", "get_rng_state", "initial_seed",
           "manual_seed", "seed", "set_rng_state"]

_WORDS = 6  # seed, state (2 words), inc (2 words), has_uint32 | uinteger << 1: 64-bit words
_MASK = (1 << 64) - 1


def get_rng_state():
    """The default generator's state as a uint8 tensor."""
    from .ops.creation import tensor
    return tensor(_pack(_random.get_rng_state()), device="cpu")  # on the CPU whatever the default device


def set_rng_state(new_state) -> None:
    """Restore the default generator from a state returned by ``get_rng_state``."""
    default_generator.set_state(_unpack(new_state))


@contextlib.contextmanager
def fork_rng(devices=None, enabled: bool = True, device_type: str = "cuda"):
    """Run the body with the random state saved and restore it on exit, so random draws
    inside do not change what comes after. ``devices`` and ``device_type`` are accepted for
    PyTorch's signature: ember draws every device's numbers from the one default generator."""
    if not enabled:
        yield
        return
    saved = _random.get_rng_state()
    try:
        yield
    finally:
        _random.set_rng_state(saved)


def _pack(state: dict) -> np.ndarray:
    bits = state["bit_generator"]
    if bits["bit_generator"] != "PCG64":
        raise RuntimeError(f"get_rng_state: cannot pack a {bits['bit_generator']} generator state")
    inner = bits["state"]
    words = [state["seed"] & _MASK,
             inner["state"] & _MASK, inner["state"] >> 64,
             inner["inc"] & _MASK, inner["inc"] >> 64,
             bits["has_uint32"] | (bits["uinteger"] << 1)]
    return np.array(words, dtype="<u8").view(np.uint8).copy()


def _unpack(state) -> dict:
    from ._tensor import Tensor
    if isinstance(state, dict):  # the backend's own form (ember.get_rng_state)
        return state
    if not isinstance(state, Tensor) or state.dtype.name != "uint8" or state.shape != (8 * _WORDS,):
        got = f"{state.dtype} tensor of shape {list(state.shape)}" if isinstance(state, Tensor) \
            else type(state).__name__
        raise RuntimeError(f"set_rng_state: expected a uint8 tensor of {8 * _WORDS} bytes made by "
                           f"ember.random.get_rng_state(), got a {got}")
    w = [int(v) for v in np.ascontiguousarray(state.cpu()._data).view("<u8")]
    return {"seed": w[0] - (1 << 64) if w[0] >> 63 else w[0],
            "bit_generator": {"bit_generator": "PCG64",
                              "state": {"state": w[1] | (w[2] << 64), "inc": w[3] | (w[4] << 64)},
                              "has_uint32": w[5] & 1, "uinteger": w[5] >> 1}}
