"""DataLoader in the main process (num_workers=0): batches, lengths and argument checks vs torch."""
import numpy as np
import pytest

import ember
from ember.utils import data as edata
from helpers import assert_same_tree

torch = pytest.importorskip("torch")
tdata = torch.utils.data


def _pair(n=10, seed=0):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((n, 3)).astype(np.float32), rng.integers(0, 5, n)
    return (edata.TensorDataset(ember.tensor(x), ember.tensor(y)),
            tdata.TensorDataset(torch.tensor(x), torch.tensor(y)))


class DictSet:
    """A map-style dataset that is not a Dataset subclass, returning dicts of numpy/python values."""

    def __init__(self, n):
        self.n = n

    def __getitem__(self, i):
        return {"x": np.full(2, i, np.float32), "label": i % 3, "name": f"s{i}"}

    def __len__(self):
        return self.n


def _assert_batches(e_loader, t_loader):
    e, t = list(e_loader), list(t_loader)
    assert len(e) == len(t) == len(e_loader) == len(t_loader)
    for i, (a, b) in enumerate(zip(e, t)):
        assert_same_tree(a, b, f"batch {i}")


@pytest.mark.parametrize("batch_size,drop_last", [(1, False), (3, False), (3, True), (10, False), (20, True)])
def test_batches_match_torch(batch_size, drop_last):
    de, dt = _pair()
    _assert_batches(edata.DataLoader(de, batch_size=batch_size, drop_last=drop_last),
                    tdata.DataLoader(dt, batch_size=batch_size, drop_last=drop_last))
    _assert_batches(edata.DataLoader(DictSet(7), batch_size=batch_size, drop_last=drop_last),
                    tdata.DataLoader(DictSet(7), batch_size=batch_size, drop_last=drop_last))


def test_no_auto_batching_matches_torch():
    de, dt = _pair(4)
    _assert_batches(edata.DataLoader(de, batch_size=None), tdata.DataLoader(dt, batch_size=None))
    _assert_batches(edata.DataLoader(DictSet(3), batch_size=None), tdata.DataLoader(DictSet(3), batch_size=None))


def test_sampler_and_batch_sampler_options():
    de, dt = _pair()
    order = [9, 0, 4, 4, 2]
    _assert_batches(edata.DataLoader(de, batch_size=2, sampler=order),
                    tdata.DataLoader(dt, batch_size=2, sampler=order))
    batches = [[1, 2, 3], [0], [9, 8]]
    _assert_batches(edata.DataLoader(de, batch_sampler=batches), tdata.DataLoader(dt, batch_sampler=batches))


def test_attributes():
    de, _ = _pair()
    dl = edata.DataLoader(de, batch_size=4)
    assert dl.dataset is de and dl.batch_size == 4 and dl.drop_last is False and dl.num_workers == 0
    assert isinstance(dl.sampler, edata.SequentialSampler)
    assert isinstance(dl.batch_sampler, edata.BatchSampler) and dl.batch_sampler.sampler is dl.sampler
    assert dl.collate_fn is edata.default_collate
    shuffled = edata.DataLoader(de, shuffle=True)
    assert isinstance(shuffled.sampler, edata.RandomSampler)
    unbatched = edata.DataLoader(de, batch_size=None)
    assert unbatched.batch_sampler is None and unbatched.collate_fn is edata.default_convert
    with pytest.raises(ValueError, match="batch_size attribute should not be set after DataLoader is initialized"):
        dl.batch_size = 3
    with pytest.raises(ValueError, match="sampler attribute should not be set"):
        dl.sampler = None
    dl.timeout = 5  # other attributes stay settable
    it = iter(dl)
    assert len(it) == 3 and iter(it) is it


def test_shuffle_is_a_permutation_and_reproducible():
    ds = edata.TensorDataset(ember.arange(20))
    run = lambda seed: [b[0].tolist() for b in edata.DataLoader(ds, batch_size=6, shuffle=True,
                                                                  generator=ember.Generator().manual_seed(seed))]
    a = run(0)
    assert sorted(sum(a, [])) == list(range(20)) and [len(b) for b in a] == [6, 6, 6, 2]
    assert a == run(0) and a != run(1)
    ember.manual_seed(7)
    b = [x[0].tolist() for x in edata.DataLoader(ds, batch_size=6, shuffle=True)]
    ember.manual_seed(7)
    assert b == [x[0].tolist() for x in edata.DataLoader(ds, batch_size=6, shuffle=True)]


def test_custom_collate_fn():
    dl = edata.DataLoader(range(5), batch_size=2, collate_fn=lambda b: sum(b))
    assert list(dl) == [1, 5, 4]


class Stream(edata.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


class TorchStream(tdata.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


@pytest.mark.parametrize("kwargs", [{}, {"batch_size": 3}, {"batch_size": 3, "drop_last": True},
                                    {"batch_size": None}, {"batch_size": 8}])
def test_iterable_dataset_matches_torch(kwargs):
    _assert_batches(edata.DataLoader(Stream(7), **kwargs), tdata.DataLoader(TorchStream(7), **kwargs))


def test_iterable_dataset_without_len():
    class NoLen(edata.IterableDataset):
        def __iter__(self):
            return iter([1, 2, 3])

    dl = edata.DataLoader(NoLen(), batch_size=2)
    assert [b.tolist() for b in dl] == [[1, 2], [3]]
    with pytest.raises(TypeError):
        len(dl)


BAD_ARGS = [
    {"num_workers": -1}, {"timeout": -1}, {"prefetch_factor": 2}, {"num_workers": 1, "prefetch_factor": -1},
    {"persistent_workers": True}, {"shuffle": True, "sampler": [0, 1]},
    {"batch_sampler": [[0]], "batch_size": 2}, {"batch_sampler": [[0]], "shuffle": True},
    {"batch_sampler": [[0]], "sampler": [0]}, {"batch_sampler": [[0]], "drop_last": True},
    {"batch_size": None, "drop_last": True}, {"multiprocessing_context": "fork"},
    {"num_workers": 1, "multiprocessing_context": "bogus"}, {"num_workers": 1, "multiprocessing_context": 3},
    {"batch_size": 0}, {"drop_last": 1},
]


@pytest.mark.parametrize("kwargs", BAD_ARGS, ids=repr)
def test_argument_errors_match_torch(kwargs):
    de, dt = _pair()
    with pytest.raises(Exception) as et:
        tdata.DataLoader(dt, **kwargs)
    with pytest.raises(et.type) as ee:
        edata.DataLoader(de, **kwargs)
    assert str(ee.value) == str(et.value)


@pytest.mark.parametrize("kwargs", [{"shuffle": True}, {"sampler": [1]}, {"batch_sampler": [[1]]}], ids=repr)
def test_iterable_dataset_argument_errors_match_torch(kwargs):
    with pytest.raises(ValueError) as et:
        tdata.DataLoader(TorchStream(3), **kwargs)
    with pytest.raises(ValueError) as ee:
        edata.DataLoader(Stream(3), **kwargs)
    assert str(ee.value) == str(et.value)


def test_get_worker_info_in_main_process():
    assert edata.get_worker_info() is None
    seen = []

    class Probe(edata.Dataset):
        def __getitem__(self, i):
            seen.append(edata.get_worker_info())
            return i

        def __len__(self):
            return 2

    list(edata.DataLoader(Probe()))
    assert seen == [None, None]

