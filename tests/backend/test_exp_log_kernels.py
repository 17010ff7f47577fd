"""The compiled ELU family, softplus and log-sigmoid (ember/backend/kernels/pointwise.py) and the
exp of non-positive values, expm1 and log1p they are built on (vmath.py): the two against float64 over float32's range,
the ops against PyTorch (values and gradients, both sides of each branch, NaN and infinities)
and against their NumPy paths, which kernels run, and what keeps the NumPy path (float64, a
negative alpha, a recorded backward)."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.backend import kernels
from helpers import count_calls, torch, value_and_grad

pytestmark = pytest.mark.skipif(kernels.cpu() is None, reason="compiled kernels are off (numba missing or "
                                                                "EMBER_NUMBA=0): the NumPy paths run everywhere")
RNG = np.random.default_rng(0)


def _vectorized(fn):
    from numba import njit

    @njit(fastmath={"contract"}, error_model="numpy")
    def run(x, out):
        for k in range(x.shape[0]):
            out[k] = fn(x[k])
    return run


def _ulps(got, exact):
    return np.abs(got.astype(np.float64) - exact) / np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)


def test_exp_of_nonpositive_values_has_exp32s_bits():
    # the cheaper exp of sigmoid, softplus, erf and the softmax gradients: exp32's results exactly
    from numba import njit
    from ember.backend.kernels import vmath

    @njit(fastmath={"contract"}, error_model="numpy")
    def both(x, a, b):
        for k in range(x.shape[0]):
            a[k] = vmath.exp32(x[k])
            b[k] = vmath.exp32_nonpositive(x[k])
    x = np.concatenate([np.linspace(-120, 88.37, 2_000_001),
                        [np.nan, -np.inf, 0.0, -0.0, -87.3365, -87.33654, -1e-45]]).astype(np.float32)
    a, b = np.empty_like(x), np.empty_like(x)
    both(x, a, b)
    np.testing.assert_array_equal(a.view(np.int32), b.view(np.int32))


def test_expm1_within_two_and_a_half_ulp():
    from ember.backend.kernels import vmath
    x = np.concatenate([np.linspace(-20, 20, 400_001), np.logspace(-40, 0, 20_001),
                        -np.logspace(-40, 0, 20_001), [0.693147, -0.693147, 0.6931472]]).astype(np.float32)
    got = np.empty_like(x)
    _vectorized(vmath.expm1_32)(x, got)
    assert _ulps(got, np.expm1(x.astype(np.float64))).max() <= 2.5
    edge = np.float32([0.0, -0.0, -np.inf, np.inf, np.nan, -100.0, 100.0])
    out = np.empty_like(edge)
    _vectorized(vmath.expm1_32)(edge, out)
    np.testing.assert_array_equal(out, [0.0, -0.0, -1.0, np.inf, np.nan, -1.0, np.inf])
    assert np.signbit(out[1]) and not np.signbit(out[0])


def test_log1p_of_unit_values_within_two_and_a_half_ulp():
    from ember.backend.kernels import vmath
    v = np.concatenate([np.linspace(0, 1, 1_000_001), np.logspace(-45, 0, 20_001),
                        [np.sqrt(2) - 1, 0.41421354, 0.41421357]]).astype(np.float32)
    got = np.empty_like(v)
    _vectorized(vmath.log1p_unit)(v, got)
    exact = np.log1p(v.astype(np.float64))
    nonzero = exact > 0
    assert _ulps(got[nonzero], exact[nonzero]).max() <= 2.5
    assert (got[~nonzero] == 0).all()


SELU = (1.6732632423543772, 1.0507009873554805)
OPS = {
    "elu": (lambda m, x: m.nn.functional.elu(x), "elu"),
    "elu_alpha": (lambda m, x: m.nn.functional.elu(x, alpha=0.4), "elu"),
    "selu": (lambda m, x: m.nn.functional.selu(x), "elu"),
    "celu": (lambda m, x: m.nn.functional.celu(x, alpha=2.0), "elu"),
    "softplus": (lambda m, x: m.nn.functional.softplus(x), "softplus"),
    "softplus_beta": (lambda m, x: m.nn.functional.softplus(x, beta=2.0, threshold=5.0), "softplus"),
    "logsigmoid": (lambda m, x: m.nn.functional.logsigmoid(x), "logsigmoid"),
}
KERNELS = ("elu", "softplus", "logsigmoid")


@pytest.fixture
def calls(monkeypatch):
    names = [k + suffix for k in KERNELS for suffix in ("", "_parallel", "_grad", "_grad_parallel")]
    return count_calls(monkeypatch, kernels.cpu().pointwise, names)


def _input(shape):
    x = (RNG.standard_normal(shape) * 6).astype(np.float32)
    x.reshape(-1)[:9] = [np.nan, np.inf, -np.inf, 0.0, -0.0, 30.0, -30.0, 1e-30, -1e-30]
    return x


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("shape, parallel", [((41, 57), False), ((5, 170, 81), True)])
def test_against_torch_and_the_numpy_path(calls, name, shape, parallel):
    fn, kernel = OPS[name]
    x, g = _input(shape), RNG.standard_normal(shape).astype(np.float32)
    got = value_and_grad(ember, fn, x, g)
    suffix = "_parallel" if parallel else ""
    assert calls == {kernel + suffix: 1, kernel + "_grad" + suffix: 1}
    with kernels.off():
        slow = value_and_grad(ember, fn, x, g)
    want = value_and_grad(torch, fn, x, g)
    # ELU's gradient at NaN: PyTorch's vectorized loop gives NaN, its scalar loop (and both of
    # ember's paths) the positive side's
    # its gradient, (y + alpha) g, cancels where y is near -alpha (PyTorch's uses x): agreement
    # to float32's epsilon times g there
    number = ~np.isnan(x) if kernel == "elu" else np.ones(x.shape, bool)
    atol = 1e-6 if kernel == "elu" else 1e-7
    for ours in (got, slow):
        np.testing.assert_allclose(ours[0], want[0], rtol=3e-6, atol=1e-7, equal_nan=True)
        np.testing.assert_allclose(ours[1][number], want[1][number], rtol=3e-6, atol=atol, equal_nan=True)
    np.testing.assert_allclose(got[0], slow[0], rtol=3e-6, atol=1e-7, equal_nan=True)
    np.testing.assert_allclose(got[1], slow[1], rtol=3e-6, atol=atol, equal_nan=True)


def test_elu_keeps_the_sign_of_zero():
    x = np.float32([-0.0, 0.0] * 600)
    for op in (F.elu, F.selu, F.celu):
        got = op(ember.tensor(x)).numpy()
        want = getattr(torch.nn.functional, op.__name__)(torch.tensor(x)).numpy()
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


def test_what_keeps_the_numpy_path(calls):
    x = _input((41, 57))
    F.elu(ember.tensor(x.astype(np.float64)))     # float64
    F.elu(ember.tensor(x), alpha=-0.5)             # a negative alpha: the sides are the input's
    F.softplus(ember.tensor(x[:10, :10]))          # too small to repay the call
    assert calls == {}
    np.testing.assert_allclose(F.elu(ember.tensor(x), alpha=-0.5).numpy(),
                               torch.nn.functional.elu(torch.tensor(x), alpha=-0.5).numpy(), rtol=3e-6, equal_nan=True)


@pytest.mark.parametrize("name", sorted(OPS))
def test_a_recorded_backward_composes_tensor_ops(calls, name):
    fn = OPS[name][0]
    x = np.ascontiguousarray(_input((41, 57))[:, 2:]).astype(np.float64)
    w = RNG.standard_normal(x.shape)
    a, t = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (g,) = ember.autograd.grad(fn(ember, a), a, ember.tensor(w), create_graph=True)
    (tg,) = torch.autograd.grad(fn(torch, t), t, torch.tensor(w), create_graph=True)
    (g * g).sum().backward()
    (tg * tg).sum().backward()
    assert not calls  # float64, and a recorded backward: tensor ops
    # (ELU's gradient comes from its result, y + alpha: absolute, not relative, agreement where
    # y is near -alpha and the gradient tiny)
    np.testing.assert_allclose(g.detach().numpy(), tg.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_in_place_elu_reads_its_gradient_from_the_result(calls):
    x = _input((41, 57))
    g = RNG.standard_normal(x.shape).astype(np.float32)
    a = ember.tensor(x, requires_grad=True)
    y = a * 1
    F.elu_(y)
    y.backward(ember.tensor(g))
    t = torch.tensor(x, requires_grad=True)
    ty = t * 1
    torch.nn.functional.elu_(ty)
    ty.backward(torch.tensor(g))
    assert calls == {"elu": 1, "elu_grad": 1}
    number = ~np.isnan(x)  # (see test_against_torch_and_the_numpy_path)
    np.testing.assert_allclose(a.grad.numpy()[number], t.grad.numpy()[number], rtol=3e-6, atol=1e-6)


def test_half_inputs_compute_in_float32(calls):
    x = _input((41, 57)).astype(np.float16)
    for name in ("elu", "softplus", "logsigmoid"):
        got = OPS[name][0](ember, ember.tensor(x)).numpy().astype(np.float32)
        want = OPS[name][0](torch, torch.tensor(x).float()).half().numpy().astype(np.float32)
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-6, equal_nan=True)
    assert calls == {"elu": 1, "softplus": 1, "logsigmoid": 1}
