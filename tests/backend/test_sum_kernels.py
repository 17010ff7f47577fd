"""The compiled column sums (ember/backend/kernels/reduce.py: ``x.sum(0)``, a bias's gradient)
give NumPy's bits and leave the other cases to NumPy; an embedding's gradient takes the
scatter kernel (kernels/scatter.py)."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.backend import kernels
from helpers import count_calls, torch

pytestmark = pytest.mark.skipif(kernels.cpu() is None, reason="compiled kernels are off (numba missing or "
                                                                "EMBER_NUMBA=0): the NumPy paths run everywhere")


@pytest.fixture
def calls(monkeypatch):
    counts = count_calls(monkeypatch, kernels.cpu().reduce, ("column_sums",))
    return count_calls(monkeypatch, kernels.cpu().scatter, ("add_rows",), counts)


def _array(shape, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(700, 10000), (64, 1025), (20000, 2), (3, 20000)])
def test_column_sums_give_numpys_bits(calls, dtype, shape):
    # sum over the rows of a large 2-d array: the kernel adds row after row, as NumPy does
    x = _array(shape, dtype, seed=3)
    for keepdim in (False, True):
        got = ember.tensor(x).sum(0, keepdim=keepdim).numpy()
        np.testing.assert_array_equal(got, np.add.reduce(x, 0, keepdims=keepdim))
    assert calls.get("column_sums") == 2
    # and so does the gradient of a bias broadcast over the rows
    w = ember.tensor(_array((3, shape[1]), dtype, seed=4))
    out = ember.tensor(x) @ w.T
    g = _array(out.shape, dtype, seed=5)
    b = ember.zeros(3, dtype=out.dtype, requires_grad=True)
    (out + b).backward(ember.tensor(g))
    np.testing.assert_array_equal(b.grad.numpy(), np.add.reduce(g, 0))


@pytest.mark.parametrize("case", ["one column", "small", "integers", "float16", "strided", "axis 1"])
def test_column_sums_left_to_numpy(calls, case):
    x = {"one column": _array((40000, 1), np.float32), "small": _array((8, 16), np.float32),
         "integers": np.arange(80000).reshape(400, 200), "float16": _array((400, 200), np.float16),
         "strided": _array((400, 400), np.float32), "axis 1": _array((400, 200), np.float32)}[case]
    dim = 1 if case == "axis 1" else 0
    t = ember.tensor(x)[:, ::2] if case == "strided" else ember.tensor(x)  # a view: rows not contiguous
    x = x[:, ::2] if case == "strided" else x
    got = t.sum(dim).numpy()
    assert "column_sums" not in calls
    want = torch.tensor(x).sum(dim).numpy()
    np.testing.assert_allclose(got, want, rtol=2e-3 if case == "float16" else 1e-5, atol=1e-3)


def test_embedding_gradient_takes_the_scatter_kernel(calls):
    # also for a broadcast gradient (that of a sum), made contiguous first
    idx = ember.tensor(np.random.default_rng(0).integers(0, 100, (5, 4)))
    w = ember.randn(100, 8, requires_grad=True)
    F.embedding(idx, w).sum().backward()
    assert calls.get("add_rows") == 1
    np.testing.assert_array_equal(w.grad.numpy(), np.bincount(idx.numpy().ravel(), minlength=100)[:, None]
                                  * np.ones((1, 8), np.float32))
