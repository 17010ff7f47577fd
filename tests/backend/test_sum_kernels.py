"""The compiled column sums (ember/backend/kernels/reduce.py: ``x.sum(0)``, a bias's gradient)
give NumPy's bits and leave the other cases to NumPy, as does their adjoint, a bias written
down a linear layer's output; an embedding's gradient takes the scatter kernel
(kernels/scatter.py)."""
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
    counts = count_calls(monkeypatch, kernels.cpu().reduce, ("column_sums", "fill_rows"))
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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(2048, 384), (700, 97), (65536, 1), (1, 70000)])
def test_rows_filled_with_a_bias_are_numpys_broadcast(calls, dtype, shape):
    row = _array(shape[1], dtype, seed=6)
    if shape[1] >= 3:
        row[:3] = [np.nan, -0.0, np.inf]
    out = np.empty(shape, dtype)
    kernels.fill_rows(out, row)
    np.testing.assert_array_equal(out, np.broadcast_to(row, shape))  # (NaN matches NaN)
    np.testing.assert_array_equal(np.signbit(out), np.broadcast_to(np.signbit(row), shape))
    assert calls.get("fill_rows") == 1


@pytest.mark.parametrize("case", ["small", "strided", "int", "2-d row", "one element", "0-d"])
def test_rows_left_to_numpy(calls, case):
    shape = (16, 16) if case == "small" else (512, 256)
    out = np.empty(shape, np.int64 if case == "int" else np.float32)
    row = np.arange(shape[1]).astype(out.dtype)
    if case == "strided":
        out = np.empty((512, 512), np.float32)[:, ::2]
    if case == "2-d row":
        row = row.reshape(1, -1)
    if case in ("one element", "0-d"):  # a bias that broadcasts (F.linear takes (1,) and ())
        row = np.full((1,) if case == "one element" else (), 7.0, np.float32)
    kernels.fill_rows(out, row)
    np.testing.assert_array_equal(out, np.broadcast_to(row, out.shape))
    assert calls.get("fill_rows") is None


@pytest.mark.parametrize("bias_shape", [(384,), (1,), ()])
def test_a_linear_layers_output_starts_from_its_bias_over_the_cores(calls, bias_shape):
    """A linear layer large enough for the GEMM writes a bias of its width by the kernel and one
    that broadcasts by NumPy; its result is PyTorch's."""
    x, w = _array((512, 128), np.float32, 7), _array((384, 128), np.float32, 8)
    b = _array(bias_shape, np.float32, 9)
    got = F.linear(ember.tensor(x), ember.tensor(w), ember.tensor(b)).numpy()
    want = torch.nn.functional.linear(torch.tensor(x), torch.tensor(w), torch.tensor(b)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)
    assert calls.get("fill_rows") == (1 if bias_shape == (384,) else None)
