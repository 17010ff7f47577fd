"""DistributedSampler against PyTorch's, with explicit num_replicas and rank (no process group).

The shuffled order comes from each library's own generator, so for shuffled cases PyTorch's
sampler is given ember's permutation (torch.randperm patched): what is compared is everything
done with it (padding by repetition, dropping, striding), for every rank and epoch."""
import pytest
import torch
import torch.utils.data.distributed as torch_distributed

import ember
from ember.utils.data import DistributedSampler

CASES = [(10, 3), (2, 5), (12, 4), (7, 1), (1, 3), (17, 4), (5, 5)]


def ember_permutation(n, generator=None, **kwargs):
    g = ember.Generator()
    g.manual_seed(generator.initial_seed())
    return torch.tensor(ember.randperm(n, generator=g).tolist())


@pytest.mark.parametrize("size,replicas", CASES)
@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("shuffle", [False, True])
def test_matches_torch(monkeypatch, size, replicas, drop_last, shuffle):
    monkeypatch.setattr(torch_distributed.torch, "randperm", ember_permutation)
    for rank in range(replicas):
        e = DistributedSampler(range(size), replicas, rank, shuffle=shuffle, seed=11, drop_last=drop_last)
        t = torch_distributed.DistributedSampler(range(size), replicas, rank, shuffle=shuffle, seed=11,
                                                 drop_last=drop_last)
        for epoch in (0, 1, 5):
            e.set_epoch(epoch)
            t.set_epoch(epoch)
            assert list(e) == list(t), (rank, epoch)
            assert len(e) == len(t) == e.num_samples == t.num_samples and e.total_size == t.total_size


def test_epochs_reshuffle_and_ranks_partition():
    samplers = [DistributedSampler(range(10), 2, r, seed=3) for r in range(2)]
    orders = []
    for epoch in (0, 1):
        for s in samplers:
            s.set_epoch(epoch)
        shares = [list(s) for s in samplers]
        assert sorted(shares[0] + shares[1]) == list(range(10))
        orders.append(shares)
    assert orders[0] != orders[1]


def test_errors_as_torch():
    for sampler in (DistributedSampler, torch_distributed.DistributedSampler):
        with pytest.raises(ValueError, match="Invalid rank"):
            sampler(range(4), 3, 3)
        with pytest.raises(ValueError, match="Invalid rank"):
            sampler(range(4), 3, -1)
        with pytest.raises(ValueError, match="Default process group has not been initialized"):
            sampler(range(4))  # no process group to read the world size from
