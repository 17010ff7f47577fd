"""The compiled layer norm and group norm (ember/backend/kernels/grouped_norm.py), forward and
backward, against PyTorch, against their NumPy paths and against float64; what stays on NumPy
(float64, non-finite rows, a recorded backward)."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.backend import kernels
from helpers import count_calls, num_threads, torch

pytestmark = pytest.mark.skipif(kernels.cpu() is None, reason="compiled kernels are off (numba missing or "
                                                                "EMBER_NUMBA=0): the NumPy paths run everywhere")
RNG = np.random.default_rng(0)
KERNELS = ("forward", "backward_input", "backward_params")


@pytest.fixture
def calls(monkeypatch):
    return count_calls(monkeypatch, kernels.cpu().grouped_norm, KERNELS)


def _layer_norm(lib, x, w, b, shape):
    return lib.nn.functional.layer_norm(x, shape, w, b, eps=1e-5)


def _group_norm(lib, x, w, b, groups):
    return lib.nn.functional.group_norm(x, groups, w, b, eps=1e-5)


def _run(lib, fn, arrays, grad, *args):
    """fn's output and the gradients of each array (None stays None) under lib."""
    ts = [None if a is None else lib.tensor(a, requires_grad=True) for a in arrays]
    out = fn(lib, *ts, *args)
    out.backward(lib.tensor(grad))
    return [out.detach().numpy()] + [None if t is None else t.grad.numpy() for t in ts]


def _compare(got, want, rtol, atol):
    for g, w in zip(got, want):
        assert (g is None) == (w is None)
        if g is not None:
            np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


LAYER_CASES = [  # (input shape, normalized shape, with weight, with bias)
    ((2048, 128), (128,), True, True), ((7, 33), (33,), True, True), ((3, 5, 17), (17,), True, False),
    ((6, 40), (40,), False, True), ((9, 64), (64,), False, False), ((4, 3, 10), (3, 10), True, True)]


@pytest.mark.parametrize("shape, normalized, weight, bias", LAYER_CASES)
def test_layer_norm_matches_pytorch_and_the_numpy_path(calls, shape, normalized, weight, bias):
    x = (RNG.standard_normal(shape) * 3 + 1).astype(np.float32)
    w = RNG.standard_normal(normalized).astype(np.float32) if weight else None
    b = RNG.standard_normal(normalized).astype(np.float32) if bias else None
    g = RNG.standard_normal(shape).astype(np.float32)
    got = _run(ember, _layer_norm, [x, w, b], g, normalized)
    kernels_run = {"forward": 1, "backward_input": 1}
    if weight or bias:
        kernels_run["backward_params"] = 1
    assert calls == kernels_run
    # the parameters' gradients sum up to 2048 terms: float32 sums (PyTorch's, NumPy's) drift by 1e-5
    _compare(got, _run(torch, _layer_norm, [x, w, b], g, normalized), 1e-5, 1e-4)
    with kernels.off():
        _compare(got, _run(ember, _layer_norm, [x, w, b], g, normalized), 1e-5, 1e-4)
    exact = _run(ember, _layer_norm, [a if a is None else a.astype(np.float64) for a in (x, w, b)],
                 g.astype(np.float64), normalized)
    _compare(got, exact, 2e-6, 4e-6)


@pytest.mark.parametrize("shape, groups", [((8, 12, 5, 7), 3), ((4, 6, 16), 6), ((2, 8, 3, 3), 1)])
@pytest.mark.parametrize("affine", [True, False])
def test_group_norm_matches_pytorch_and_float64(calls, shape, groups, affine):
    x = (RNG.standard_normal(shape) * 2 - 1).astype(np.float32)
    w = RNG.standard_normal(shape[1]).astype(np.float32) if affine else None
    b = RNG.standard_normal(shape[1]).astype(np.float32) if affine else None
    g = RNG.standard_normal(shape).astype(np.float32)
    got = _run(ember, _group_norm, [x, w, b], g, groups)
    assert calls.get("forward") == 1 and calls.get("backward_input") == 1
    _compare(got, _run(torch, _group_norm, [x, w, b], g, groups), 1e-5, 2e-5)
    exact = _run(ember, _group_norm, [a if a is None else a.astype(np.float64) for a in (x, w, b)],
                 g.astype(np.float64), groups)
    _compare(got, exact, 2e-6, 4e-6)


def test_constant_rows_give_the_bias_and_finite_gradients(calls):
    x = np.repeat(RNG.standard_normal((16, 1)).astype(np.float32), 32, axis=1)
    w, b = RNG.standard_normal(32).astype(np.float32), RNG.standard_normal(32).astype(np.float32)
    g = RNG.standard_normal((16, 32)).astype(np.float32)
    got = _run(ember, _layer_norm, [x, w, b], g, (32,))
    assert calls["forward"] == 1
    np.testing.assert_array_equal(got[0], np.broadcast_to(b, (16, 32)))
    _compare(got, _run(torch, _layer_norm, [x, w, b], g, (32,)), 1e-5, 1e-4)


def test_non_finite_rows_float64_and_recorded_backward_stay_on_numpy(calls):
    x = RNG.standard_normal((6, 20)).astype(np.float32)
    x[2, 3], x[4, 0] = np.inf, np.nan
    g = RNG.standard_normal((6, 20)).astype(np.float32)
    got = _run(ember, _layer_norm, [x, None, None], g, (20,))
    want = _run(torch, _layer_norm, [x, None, None], g, (20,))
    np.testing.assert_allclose(got[0], want[0], rtol=1e-5, atol=1e-5)  # NaN rows where PyTorch's are
    assert calls == {"forward": 1}  # tried, refused on its statistics: the NumPy path ran both ways
    calls.clear()
    _run(ember, _layer_norm, [x.astype(np.float64), None, None], g.astype(np.float64), (20,))
    assert calls == {}
    t = ember.tensor(RNG.standard_normal((6, 20)).astype(np.float32), requires_grad=True)
    (grad,) = ember.autograd.grad(F.layer_norm(t, (20,)).pow(2).sum(), [t], create_graph=True)
    assert calls == {"forward": 1} and grad.requires_grad


def test_parameter_gradients_have_the_same_bits_on_one_core_and_two():
    x = RNG.standard_normal((300, 48)).astype(np.float32)
    w, b = RNG.standard_normal(48).astype(np.float32), RNG.standard_normal(48).astype(np.float32)
    g = RNG.standard_normal((300, 48)).astype(np.float32)
    results = []
    for n in (1, 2):
        with num_threads(n):
            results.append(_run(ember, _layer_norm, [x, w, b], g, (48,)))
    for a, c in zip(*results):
        np.testing.assert_array_equal(a, c)
