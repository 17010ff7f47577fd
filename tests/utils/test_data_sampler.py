"""Samplers: deterministic ones against torch, random ones by their properties."""
import collections

import pytest

import ember
from ember.utils import data as edata

torch = pytest.importorskip("torch")
tdata = torch.utils.data


def _raises_like(fn_e, fn_t):
    with pytest.raises(Exception) as et:
        fn_t()
    with pytest.raises(et.type) as ee:
        fn_e()
    assert str(ee.value) == str(et.value)


@pytest.mark.parametrize("n", [0, 1, 7])
def test_sequential_matches_torch(n):
    assert list(edata.SequentialSampler(range(n))) == list(tdata.SequentialSampler(range(n)))
    assert len(edata.SequentialSampler(range(n))) == n


def test_random_sampler_permutation_and_generator():
    s = edata.RandomSampler(range(10), generator=ember.Generator().manual_seed(0))
    a, b = list(s), list(s)
    assert sorted(a) == list(range(10)) and sorted(b) == list(range(10))
    assert a != b  # the generator moves on between epochs
    again = edata.RandomSampler(range(10), generator=ember.Generator().manual_seed(0))
    assert list(again) == a and list(again) == b
    assert len(s) == 10


def test_random_sampler_seeded_by_default_generator():
    ember.manual_seed(5)
    a = list(edata.RandomSampler(range(50)))
    ember.manual_seed(5)
    assert list(edata.RandomSampler(range(50))) == a
    assert list(edata.RandomSampler(range(50))) != a


@pytest.mark.parametrize("num_samples", [3, 10, 25])
def test_random_sampler_num_samples(num_samples):
    s = edata.RandomSampler(range(10), num_samples=num_samples)
    out = list(s)
    assert len(out) == len(s) == num_samples
    for k in range(num_samples // 10):  # whole permutations first, then a partial one
        assert sorted(out[10 * k:10 * k + 10]) == list(range(10))
    assert len(set(out[10 * (num_samples // 10):])) == num_samples % 10


def test_random_sampler_replacement():
    out = list(edata.RandomSampler(range(3), replacement=True, num_samples=200))
    assert len(out) == 200 and set(out) == {0, 1, 2}


@pytest.mark.parametrize("kwargs", [{"replacement": 1}, {"num_samples": 0}, {"num_samples": 2.5}])
def test_random_sampler_errors(kwargs):
    _raises_like(lambda: edata.RandomSampler(range(4), **kwargs), lambda: tdata.RandomSampler(range(4), **kwargs))
    _raises_like(lambda: edata.RandomSampler(range(0)), lambda: tdata.RandomSampler(range(0)))


def test_subset_random_sampler():
    idx = [5, 9, 2, 7]
    s = edata.SubsetRandomSampler(idx, generator=ember.Generator().manual_seed(1))
    out = list(s)
    assert sorted(out) == sorted(idx) and len(s) == 4
    assert out == list(edata.SubsetRandomSampler(idx, generator=ember.Generator().manual_seed(1)))
    assert list(edata.SubsetRandomSampler([])) == []


def test_weighted_random_sampler():
    s = edata.WeightedRandomSampler([0.0, 1.0, 3.0], 4000, generator=ember.Generator().manual_seed(0))
    counts = collections.Counter(s)
    assert len(s) == 4000 and counts[0] == 0
    assert 2.6 < counts[2] / counts[1] < 3.4
    no_rep = list(edata.WeightedRandomSampler([1, 1, 1, 1, 0], 4, replacement=False))
    assert sorted(no_rep) == [0, 1, 2, 3]
    assert s.weights.dtype == ember.float64


@pytest.mark.parametrize("args", [([1, 2], 0), ([1, 2], 2, 1), ([[1, 2]], 2), ([1, 2], True)])
def test_weighted_random_sampler_errors(args):
    _raises_like(lambda: edata.WeightedRandomSampler(*args), lambda: tdata.WeightedRandomSampler(*args))


@pytest.mark.parametrize("n", [0, 1, 6, 7])
@pytest.mark.parametrize("batch_size", [1, 3, 10])
@pytest.mark.parametrize("drop_last", [False, True])
def test_batch_sampler_matches_torch(n, batch_size, drop_last):
    e = edata.BatchSampler(edata.SequentialSampler(range(n)), batch_size, drop_last)
    t = tdata.BatchSampler(tdata.SequentialSampler(range(n)), batch_size, drop_last)
    assert list(e) == list(t)
    assert len(e) == len(t)


@pytest.mark.parametrize("args", [(0, False), (True, False), (2.0, False), (2, 1)])
def test_batch_sampler_errors(args):
    _raises_like(lambda: edata.BatchSampler(range(4), *args), lambda: tdata.BatchSampler(range(4), *args))


def test_sampler_base():
    with pytest.raises(NotImplementedError):
        iter(edata.Sampler())
    with pytest.warns(UserWarning, match="data_source"):
        edata.Sampler(range(3))
