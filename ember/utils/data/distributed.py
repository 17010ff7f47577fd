"""DistributedSampler: each of ``num_replicas`` processes reads its own share of a dataset."""
from __future__ import annotations

import math
from typing import Iterator

from ...backend.random import Generator
from ...ops.creation import randperm
from .sampler import Sampler

__all__ = ["DistributedSampler"]


class DistributedSampler(Sampler[int]):
    """The indices of replica ``rank`` out of ``num_replicas``: every ``num_replicas``-th index
    starting at ``rank`` of one (shuffled) order that all replicas share.

    ``num_replicas`` and ``rank`` default to the default process group's world size and rank
    (``ember.distributed.init_process_group``).

    Args:
        shuffle: permute the indices, from ``seed + epoch`` (call ``set_epoch`` each epoch).
        drop_last: drop the tail so every replica gets the same number of samples; otherwise
            the order is padded with its own first indices.
    """

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None, shuffle: bool = True,
                 seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:
            from ... import distributed as dist
            if not dist.is_initialized():
                raise ValueError("DistributedSampler: Default process group has not been initialized, please make "
                                 "sure to call init_process_group, or pass num_replicas= and rank= explicitly")
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        if drop_last and len(dataset) % num_replicas != 0:
            self.num_samples = math.ceil((len(dataset) - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(len(dataset) / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self) -> Iterator[int]:
        if self.shuffle:
            g = Generator()
            g.manual_seed(self.seed + self.epoch)
            indices = randperm(len(self.dataset), generator=g).tolist()
        else:
            indices = list(range(len(self.dataset)))
        if not self.drop_last:
            padding = self.total_size - len(indices)
            indices += (indices * math.ceil(padding / len(indices)))[:padding] if padding else []
        else:
            indices = indices[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use ``epoch`` for the next shuffle, so that every epoch has its own order (shared by all replicas)."""
        self.epoch = epoch
