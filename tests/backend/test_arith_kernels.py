"""a + b, a - b, a * b and a / b of large float arrays over the cores (kernels/arith.py): the
bits of NumPy's operators, special values included, through Tensor's operators and the
recorded primitives, and what stays on NumPy."""
import operator

import numpy as np
import pytest

import ember
from ember.backend import kernels
from helpers import count_calls

RNG = np.random.default_rng(0)
OPS = {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv}
SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-40, -3e38, 3e38, 1.0]

pytestmark = pytest.mark.skipif(kernels.cpu() is None, reason="compiled kernels are off (numba missing or "
                                                                "EMBER_NUMBA=0): the NumPy paths run everywhere")


@pytest.fixture
def calls(monkeypatch):
    return count_calls(monkeypatch, kernels.cpu().arith, list(OPS))


def _operands(size, dtype):
    """Two arrays whose first elements pair every special value with every other."""
    a = (RNG.standard_normal(size) * 100).astype(dtype)
    b = (RNG.standard_normal(size) * 100).astype(dtype)
    pairs = np.array([(p, q) for p in SPECIAL for q in SPECIAL], dtype=dtype)
    a.flat[:len(pairs)], b.flat[:len(pairs)] = pairs[:, 0], pairs[:, 1]
    return a, b


def _same_bits(got, expected):
    bits = np.int32 if got.dtype == np.float32 else np.int64
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got.view(bits), expected.view(bits))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [kernels.ARITH_FROM, kernels.ARITH_FROM * 3 + 17])
@pytest.mark.parametrize("name", list(OPS))
def test_tensor_operators_have_numpys_bits(calls, name, size, dtype):
    a, b = _operands(size, dtype)
    fn = OPS[name]
    with np.errstate(all="ignore"):
        _same_bits(fn(ember.tensor(a), ember.tensor(b)).numpy(), fn(a, b))
        _same_bits(fn(ember.tensor(a), 0.3).numpy(), fn(a, dtype(0.3)))
        _same_bits(fn(ember.tensor(a), -0.0).numpy(), fn(a, dtype(-0.0)))
        with kernels.off():  # 2.5 / a is 2.5 * (1 / a), as in PyTorch
            first = fn(2.5, ember.tensor(a)).numpy()
        _same_bits(fn(2.5, ember.tensor(a)).numpy(), first)
    # a with b, with each number on its right, and 2.5 + a, 2.5 * a (2.5 / a is 2.5 * (1 / a);
    # 2.5 - a stays on NumPy)
    assert calls == {"add": {"add": 4}, "mul": {"mul": 4}, "sub": {"sub": 3}, "div": {"div": 3, "mul": 1}}[name]


@pytest.mark.parametrize("name", list(OPS))
def test_recorded_ops_and_their_gradients_match_the_numpy_path(calls, name):
    a, b = _operands((3, kernels.ARITH_FROM // 2 + 5), np.float32)
    b[b == 0] = 1.0  # finite gradients of the division
    g = RNG.standard_normal(a.shape).astype(np.float32)
    results = []
    for compiled in (True, False):
        x, y = ember.tensor(a, requires_grad=True), ember.tensor(b, requires_grad=True)
        if compiled:
            out = OPS[name](x, y) * 1.5
            out.backward(ember.tensor(g))
        else:
            with kernels.off():
                out = OPS[name](x, y) * 1.5
                out.backward(ember.tensor(g))
        results.append([out.detach().numpy(), x.grad.numpy(), y.grad.numpy()])
    assert calls[name] >= 1 and calls["mul"] >= 1  # the op, and the product by 1.5
    for got, expected in zip(*results):
        _same_bits(got, expected)


def test_mixed_dtypes_compute_in_the_promoted_dtype(calls):
    a, b = _operands(kernels.ARITH_FROM, np.float32)
    with np.errstate(all="ignore"):
        _same_bits((ember.tensor(a) + ember.tensor(b.astype(np.float64))).numpy(), a + b.astype(np.float64))
    assert calls == {"add": 1}


def test_what_stays_on_numpy(calls):
    big = RNG.standard_normal((512, 256)).astype(np.float32)
    t = ember.tensor(big)
    t + ember.tensor(big[:1])                          # broadcast
    t[:, ::2] * ember.tensor(big[:, :128])             # strided
    ember.tensor(big[:100]) - ember.tensor(big[:100])  # small
    t.half() * t.half()                                # half
    assert calls == {}
