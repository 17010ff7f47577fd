"""Random number generators: one default generator per process, seeded by manual_seed."""
from __future__ import annotations

import numpy as np


class Generator:
    """A source of random numbers, like ``torch.Generator``: seedable, its state savable."""

    def __init__(self, device="cpu"):
        self.device = device
        self._seed = 67280421310721
        self._rng = np.random.Generator(np.random.PCG64(self._seed))

    def manual_seed(self, seed: int) -> "Generator":
        self._seed = int(seed)
        self._rng = np.random.Generator(np.random.PCG64(self._seed))
        return self

    def seed(self) -> int:
        """Seed from the OS's entropy and return the seed used."""
        return self.manual_seed(int(np.random.SeedSequence().entropy) % (2 ** 63)).initial_seed()

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> dict:
        return {"seed": self._seed, "bit_generator": self._rng.bit_generator.state}

    def set_state(self, state: dict) -> None:
        self._seed = state["seed"]
        self._rng.bit_generator.state = state["bit_generator"]

    @property
    def numpy(self) -> np.random.Generator:
        """The NumPy generator that draws the numbers."""
        return self._rng


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (and so every random op that takes no generator)."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> dict:
    return default_generator.get_state()


def set_rng_state(state: dict) -> None:
    default_generator.set_state(state)


def rng(generator: Generator | None) -> np.random.Generator:
    """The NumPy generator to draw from: the given one's, else the default's."""
    return (generator or default_generator).numpy
