"""Datasets and random_split, against torch.utils.data where the result is deterministic."""
import warnings

import numpy as np
import pytest

import ember
from ember.utils import data as edata
from helpers import assert_close

torch = pytest.importorskip("torch")
tdata = torch.utils.data


def _raises_like(fn_e, fn_t):
    """Both calls raise the same exception type with the same message."""
    with pytest.raises(Exception) as et:
        fn_t()
    with pytest.raises(et.type) as ee:
        fn_e()
    assert str(ee.value) == str(et.value)


class Squares(edata.Dataset):
    def __init__(self, n):
        self.n = n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return i * i

    def __len__(self):
        return self.n


class Count(edata.IterableDataset):
    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def __iter__(self):
        return iter(range(self.lo, self.hi))

    def __len__(self):
        return self.hi - self.lo


def test_tensor_dataset_matches_torch():
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    y = np.array([1, 0, 1, 1])
    de = edata.TensorDataset(ember.tensor(x), ember.tensor(y))
    dt = tdata.TensorDataset(torch.tensor(x), torch.tensor(y))
    assert len(de) == len(dt) == 4
    for i in [0, 3, -1, slice(1, 3)]:
        assert_close(list(de[i]), list(dt[i]))
    assert de.tensors[0].shape == (4, 3)


def test_tensor_dataset_size_mismatch():
    _raises_like(lambda: edata.TensorDataset(ember.zeros(3), ember.zeros(4)),
                 lambda: tdata.TensorDataset(torch.zeros(3), torch.zeros(4)))


def test_base_classes():
    with pytest.raises(NotImplementedError, match="should implement __getitem__"):
        edata.Dataset()[0]
    with pytest.raises(NotImplementedError):
        iter(edata.IterableDataset())
    both = Squares(2) + Squares(3)
    assert isinstance(both, edata.ConcatDataset) and [both[i] for i in range(5)] == [0, 1, 0, 1, 4]
    chained = Count(0, 2) + Count(5, 7)
    assert isinstance(chained, edata.ChainDataset) and list(chained) == [0, 1, 5, 6]
    assert len(chained) == 4


@pytest.mark.parametrize("sizes", [[3], [2, 0, 4], [1, 1, 1]])
def test_concat_matches_torch(sizes):
    parts = [list(range(10 * k, 10 * k + n)) for k, n in enumerate(sizes)]
    de, dt = edata.ConcatDataset(parts), tdata.ConcatDataset(parts)
    assert len(de) == len(dt) and de.cumulative_sizes == dt.cumulative_sizes
    n = len(dt)
    assert [de[i] for i in range(-n, n)] == [dt[i] for i in range(-n, n)]
    _raises_like(lambda: de[-n - 1], lambda: dt[-n - 1])
    _raises_like(lambda: de[n], lambda: dt[n])


def test_concat_errors():
    _raises_like(lambda: edata.ConcatDataset([]), lambda: tdata.ConcatDataset([]))
    with pytest.raises(AssertionError, match="does not support IterableDataset"):
        edata.ConcatDataset([Count(0, 2)])


def test_chain_requires_iterable():
    with pytest.raises(AssertionError, match="only supports IterableDataset"):
        list(edata.ChainDataset([Squares(2)]))
    with pytest.raises(AssertionError, match="only supports IterableDataset"):
        len(edata.ChainDataset([Squares(2)]))


def test_subset():
    s = edata.Subset(Squares(10), [7, 2, 5])
    assert len(s) == 3 and [s[i] for i in range(3)] == [49, 4, 25] and s[-1] == 25
    assert s.__getitems__([2, 0]) == [25, 49]
    ds = edata.TensorDataset(ember.arange(10))
    sub = edata.Subset(ds, [4, 1])
    assert sub[[1, 0]][0].tolist() == [1, 4]  # a list index goes to the dataset in one call

    class Batched(Squares):
        def __getitems__(self, idx):
            return [("batched", i) for i in idx]

    assert edata.Subset(Batched(10), [3, 8]).__getitems__([1, 0]) == [("batched", 8), ("batched", 3)]


def test_stack_dataset():
    a, b = Squares(3), [10, 11, 12]
    assert edata.StackDataset(a, b)[2] == (4, 12)
    assert edata.StackDataset(x=a, y=b)[1] == {"x": 1, "y": 11}
    assert len(edata.StackDataset(a, b)) == 3
    for args, kwargs in [((), {}), ((a,), {"y": b}), ((a, [1]), {}), ((), {"x": a, "y": [1]})]:
        _raises_like(lambda: edata.StackDataset(*args, **kwargs),
                     lambda: tdata.StackDataset(*args, **kwargs))


@pytest.mark.parametrize("n,lengths", [(10, [3, 7]), (10, [0.33, 0.33, 0.34]), (11, [0.1, 0.1, 0.8]),
                                       (7, [0.5, 0.5]), (5, [5]), (9, [1 / 3] * 3)])
def test_random_split_lengths_match_torch(n, lengths):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parts_e = edata.random_split(range(n), lengths, generator=ember.Generator().manual_seed(0))
        parts_t = tdata.random_split(range(n), lengths, generator=torch.Generator().manual_seed(0))
    assert [len(p) for p in parts_e] == [len(p) for p in parts_t]
    items = sorted(x for p in parts_e for x in p)
    assert items == list(range(n))  # a partition: every sample exactly once
    assert all(isinstance(p, edata.Subset) for p in parts_e)


def test_random_split_reproducible():
    split = lambda g: [list(p) for p in edata.random_split(range(20), [5, 15], generator=g)]
    assert split(ember.Generator().manual_seed(3)) == split(ember.Generator().manual_seed(3))
    assert split(ember.Generator().manual_seed(3)) != split(ember.Generator().manual_seed(4))
    ember.manual_seed(1)
    first = [list(p) for p in edata.random_split(range(20), [5, 15])]
    ember.manual_seed(1)
    assert first == [list(p) for p in edata.random_split(range(20), [5, 15])]


def test_random_split_errors_and_warning():
    for lengths in ([3, 3], [0.5, 0.6], [1.5, -0.5]):
        _raises_like(lambda: edata.random_split(range(10), lengths),
                     lambda: tdata.random_split(range(10), lengths))
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        edata.random_split(range(1), [0.5, 0.5])
