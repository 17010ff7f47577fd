"""ember.set_num_threads and friends: PyTorch's defaults and errors, and the thread count reaching
oneDNN's products and the row passes."""
import os

import numpy as np
import pytest

import ember
from ember.backend import gemm, onednn, parallel, threads
from helpers import torch


@pytest.fixture
def restore():
    saved = dict(threads._state)
    yield
    threads._state.clear()
    threads._state.update(saved)
    onednn.set_threads(ember.get_num_threads())


def test_defaults_are_the_cores_or_omp_num_threads(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert ember.get_num_threads() == threads.cores() == len(os.sched_getaffinity(0))
    assert ember.get_num_interop_threads() == threads.cores()
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert ember.get_num_threads() == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "junk")
    assert ember.get_num_threads() == threads.cores()


@pytest.mark.parametrize("value", [0, -1, 2.0, True, "2"])
def test_bad_counts_raise_like_torch(value, restore):
    with pytest.raises(RuntimeError) as theirs:
        torch.set_num_threads(value)
    with pytest.raises(RuntimeError, match="set_num_threads expects") as ours:
        ember.set_num_threads(value)
    assert str(ours.value).split(" (")[0] == str(theirs.value)


def test_the_count_reaches_the_row_passes_and_onednn(restore):
    ember.set_num_threads(1)
    assert ember.get_num_threads() == 1
    blocks = []
    parallel.over_rows(lambda lo, hi: blocks.append((lo, hi)), 100, 10 ** 9)
    assert blocks == [(0, 100)]
    assert onednn.get_threads() == (None if onednn.library() is None else 1)
    ember.set_num_threads(3)
    blocks.clear()
    parallel.over_rows(lambda lo, hi: blocks.append((lo, hi)), 100, 10 ** 9)
    assert sorted(blocks) == [(0, 33), (33, 66), (66, 100)]
    if onednn.library() is not None:
        assert onednn.get_threads() == 3
        a = np.ones((256, 512), np.float32)
        assert (gemm.matmul(a, a.T) == 512).all()


def test_interop_threads_are_set_once(restore):
    threads._state.pop("interop", None)
    ember.set_num_interop_threads(2)
    assert ember.get_num_interop_threads() == 2
    with pytest.raises(RuntimeError, match="cannot set number of interop threads"):
        ember.set_num_interop_threads(3)
