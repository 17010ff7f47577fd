"""The compiled piecewise-linear ops (ember/backend/kernels/select.py): clamp, hardtanh and relu6,
leaky ReLU, hardsigmoid and hardswish, forward and gradient, against PyTorch and against their
NumPy paths (float32 and float64, NaN, infinities, -0.0, crossed bounds), and what stays on
NumPy (strided, integer and half inputs, tensor bounds, rrelu's array of slopes, NaN bounds,
a recorded backward)."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.backend import kernels
from helpers import count_calls, torch, value_and_grad

pytestmark = pytest.mark.skipif(kernels.cpu() is None, reason="compiled kernels are off (numba missing or "
                                                                "EMBER_NUMBA=0): the NumPy paths run everywhere")
RNG = np.random.default_rng(0)
SPECIAL = [np.nan, np.inf, -np.inf, -0.0, 0.0, -3.0, 3.0, -1.0, 1.0, 6.0, 1e-30, -1e-30]

# name -> (ember op, torch op, forward kernel, gradient kernel)
OPS = {
    "clamp": (lambda m, x: x.clamp(-0.5, 0.7), "clamp", "inside"),
    "clamp_min": (lambda m, x: x.clamp(min=-0.25), "clamp", "inside"),
    "clamp_max": (lambda m, x: x.clamp(max=0.25), "clamp", "inside"),
    "clamp_crossed": (lambda m, x: x.clamp(0.5, -0.5), "clamp", "inside"),
    "hardtanh": (lambda m, x: m.nn.functional.hardtanh(x, -0.8, 1.2), "clamp", "strictly_inside"),
    "relu6": (lambda m, x: m.nn.functional.relu6(x), "clamp", "strictly_inside"),
    "leaky_relu": (lambda m, x: m.nn.functional.leaky_relu(x, 0.05), "leaky_relu", "leaky_relu_grad"),
    "hardsigmoid": (lambda m, x: m.nn.functional.hardsigmoid(x), "hardsigmoid", "hardsigmoid_grad"),
    "hardswish": (lambda m, x: m.nn.functional.hardswish(x), "hardswish", "hardswish_grad"),
}
KERNELS = sorted({k for _, f, g in OPS.values() for k in (f, g)})


@pytest.fixture
def calls(monkeypatch):
    """Kernel name -> calls, through the module attributes ``kernels.apply_select`` looks up."""
    return count_calls(monkeypatch, kernels.cpu().select, KERNELS)


def _input(dtype, shape=(7, 61)):
    x = (RNG.standard_normal(shape) * 4).astype(dtype)
    x.reshape(-1)[:len(SPECIAL)] = SPECIAL
    return x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(OPS))
def test_against_torch_and_the_numpy_path(calls, name, dtype):
    fn, forward, gradient = OPS[name]
    x, g = _input(dtype), RNG.standard_normal((7, 61)).astype(dtype)
    got = value_and_grad(ember, fn, x, g)
    assert calls == {forward: 1, gradient: 1}
    with kernels.off():
        slow = value_and_grad(ember, fn, x, g)
    want = value_and_grad(torch, fn, x, g)
    # (PyTorch's float64 hardsigmoid gradient multiplies by a float32 sixth: 3e-8 off)
    rtol = 1e-6 if dtype == np.float32 else 1e-7 if name == "hardsigmoid" else 1e-15
    for ours in (got, slow):
        np.testing.assert_allclose(ours[0], want[0], rtol=rtol, equal_nan=True)
    # the gradient where the input is NaN: PyTorch's vectorized and scalar loops disagree for
    # clamp, hardtanh and hardswish (it depends on the tensor's length), so those compare
    # with the NumPy path there, which the kernels follow
    nan = np.isnan(x)
    np.testing.assert_array_equal(got[1], slow[1])
    np.testing.assert_allclose(got[1][~nan], want[1][~nan], rtol=rtol)
    if name in ("leaky_relu", "hardsigmoid"):
        np.testing.assert_array_equal(got[1][nan], want[1][nan])


@pytest.mark.parametrize("name", ["clamp", "hardtanh", "relu6", "leaky_relu", "hardsigmoid", "hardswish"])
def test_forward_gives_torchs_bits_and_sign_of_zero(calls, name):
    # (-0.0 clamped from below at 0 stays -0.0 in PyTorch; NumPy's maximum gives +0.0)
    fn = OPS[name][0]
    x = _input(np.float32, (3, 1000))
    got = fn(ember, ember.tensor(x)).numpy()
    want = fn(torch, torch.tensor(x)).numpy()
    np.testing.assert_array_equal(got, want)
    number = ~np.isnan(want)  # (a NaN's sign bit is not a value)
    np.testing.assert_array_equal(np.signbit(got[number]), np.signbit(want[number]))


def test_what_stays_on_numpy(calls):
    x = _input(np.float32)
    t = ember.tensor(x)
    t[:, ::2].clamp(-1, 1)                               # strided
    ember.tensor(x.astype(np.int64)).clamp(-1, 1)        # integers
    ember.tensor(x.astype(np.float16)).clamp(-1, 1)      # half
    t.clamp(ember.zeros(61), ember.ones(61))             # tensor bounds
    t.clamp(float("nan"), 1.0)                           # a NaN bound gives NaN
    F.rrelu(t, training=True)                            # an array of slopes
    assert calls == {}


def test_nan_bound_and_tensor_bounds_match_torch():
    x = _input(np.float32)
    for lo, hi in ((float("nan"), 1.0), (-1.0, float("nan"))):
        np.testing.assert_array_equal(ember.tensor(x).clamp(lo, hi).numpy(),
                                      torch.tensor(x).clamp(lo, hi).numpy())
    lo, hi = RNG.standard_normal(61).astype(np.float32), np.float32(1.0)
    np.testing.assert_array_equal(ember.tensor(x).clamp(ember.tensor(lo), ember.tensor(hi)).numpy(),
                                  torch.tensor(x).clamp(torch.tensor(lo), torch.tensor(hi)).numpy())


@pytest.mark.parametrize("name", sorted(OPS))
def test_a_recorded_backward_composes_tensor_ops(calls, name):
    fn = OPS[name][0]
    x = _input(np.float64)[:, 20:]  # no NaN: the second derivatives compare everywhere
    x = np.ascontiguousarray(x)
    w = RNG.standard_normal(x.shape)
    a, t = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (g,) = ember.autograd.grad(fn(ember, a), a, ember.tensor(w), create_graph=True)
    (tg,) = torch.autograd.grad(fn(torch, t), t, torch.tensor(w), create_graph=True)
    assert OPS[name][2] not in calls  # the gradient of a recorded backward is tensor ops
    np.testing.assert_allclose(g.detach().numpy(), tg.detach().numpy(), rtol=1e-7 if name == "hardsigmoid" else 1e-12)
    # clamp's gradient does not depend on x; hardsigmoid's does not either (PyTorch's
    # has a node whose backward is not implemented)
    assert g.requires_grad == (tg.requires_grad and name != "hardsigmoid")
    if g.requires_grad:
        (g * g).sum().backward()
        (tg * tg).sum().backward()
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_half_leaky_relu_and_hardswish_compute_in_float32(calls):
    x = _input(np.float16)
    for name in ("leaky_relu", "hardswish"):
        got = OPS[name][0](ember, ember.tensor(x))
        want = OPS[name][0](torch, torch.tensor(x).float()).half()
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert calls == {"leaky_relu": 1, "hardswish": 1}


@pytest.fixture
def where_calls(monkeypatch):
    return count_calls(monkeypatch, kernels.cpu().select, ("where", "where_number"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("form", ["arrays", "number_after", "number_before"])
def test_where_against_torch_with_gradients(where_calls, dtype, form):
    x, y = _input(dtype), (RNG.standard_normal((7, 61)) * 2).astype(dtype)
    cond = RNG.random((7, 61)) > 0.5
    g = RNG.standard_normal((7, 61)).astype(dtype)

    def run(lib):
        a, b = lib.tensor(x, requires_grad=True), lib.tensor(y, requires_grad=True)
        c = lib.tensor(cond)
        out = {"arrays": lambda: lib.where(c, a, b), "number_after": lambda: lib.where(c, a, -0.0),
               "number_before": lambda: lib.where(c, 2.5, b)}[form]()
        out.backward(lib.tensor(g))
        grads = [t.grad.numpy() if t.grad is not None else None for t in (a, b)]
        return out.detach().numpy(), grads

    got = run(ember)
    # forward: one select; backward: the two gradients, each a select against zero
    assert where_calls == ({"where": 1, "where_number": 2} if form == "arrays" else {"where_number": 2})
    want = run(torch)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(np.signbit(got[0]), np.signbit(want[0]))
    for ours, theirs in zip(got[1], want[1]):
        assert (ours is None) == (theirs is None)
        if ours is not None:
            np.testing.assert_array_equal(ours, theirs)


def test_where_broadcast_strided_and_integer_stay_on_numpy(where_calls):
    x = _input(np.float32)
    cond = ember.tensor(RNG.random((7, 61)) > 0.5)
    got = [ember.where(cond, ember.tensor(x), ember.tensor(x[0])),          # a broadcast row
           ember.where(cond.t().t(), ember.tensor(x).t().t(), 1.0),
           ember.where(cond[:, ::2], ember.tensor(x)[:, ::2], 0.0),           # strided
           ember.where(cond, ember.tensor(x.astype(np.int64)), 0),            # integers
           ember.where(ember.tensor(True), ember.tensor(np.float32(2)), ember.tensor(x))]  # a 0-d condition
    assert where_calls == {"where_number": 1}  # only the second: .t().t() is contiguous again
    c = torch.tensor(cond.numpy())
    want = [torch.where(c, torch.tensor(x), torch.tensor(x[0])), torch.where(c, torch.tensor(x), 1.0),
            torch.where(c[:, ::2], torch.tensor(x)[:, ::2], 0.0), torch.where(c, torch.tensor(x.astype(np.int64)), 0),
            torch.where(torch.tensor(True), torch.tensor(np.float32(2)), torch.tensor(x))]
    for ours, theirs in zip(got, want):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
