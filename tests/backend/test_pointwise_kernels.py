"""The compiled float32 exp, tanh, sigmoid, SiLU, erf and GELUs (ember/backend/kernels/pointwise.py):
each against float64 over float32's range, edge values against PyTorch, the ops that use them
against PyTorch (values and gradients) and against their NumPy paths, and which arrays take
the serial kernel, the parallel one, or NumPy."""
import math

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.backend import kernels
from helpers import count_calls, torch

RNG = np.random.default_rng(0)
NAMES = ("exp", "tanh", "sigmoid", "silu", "gelu", "gelu_tanh")

pytestmark = pytest.mark.skipif(kernels.cpu() is None, reason="compiled kernels are off (numba missing or "
                                                                "EMBER_NUMBA=0): the NumPy paths run everywhere")


def _exact(name: str, x: np.ndarray) -> np.ndarray:
    v = x.astype(np.float64)
    if name == "exp":
        return np.exp(v)
    if name == "tanh":
        return np.tanh(v)
    sig = 1 / (1 + np.exp(-v))
    if name == "sigmoid":
        return sig
    if name == "silu":
        return v * sig
    if name == "gelu":  # 1 + erf(z) as erfc(-z): no cancellation in the reference either
        from scipy.special import erfc
        return 0.5 * v * erfc(-v / math.sqrt(2))
    return 0.5 * v * (1 + np.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3)))


def _kernel(name: str, x: np.ndarray, parallel: bool = False) -> np.ndarray:
    out = np.empty_like(x)
    getattr(kernels.cpu().pointwise, name + ("_parallel" if parallel else ""))(x, out)
    return out


def _ulps(got: np.ndarray, exact: np.ndarray) -> np.ndarray:
    return np.abs(got.astype(np.float64) - exact) / np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)


@pytest.mark.parametrize("name, bound, lo, hi", [
    ("exp", 1.0, -87.3, 88.3), ("tanh", 2.0, -12.0, 12.0), ("sigmoid", 2.5, -80.0, 80.0),
    ("silu", 3.0, -80.0, 80.0)])
def test_within_a_few_ulp_of_float64(name, bound, lo, hi):
    x = np.concatenate([np.linspace(lo, hi, 400_001), RNG.uniform(-1, 1, 100_000),
                        np.float32([1e-30, -1e-30, 1e-7, -1e-7, 0.6249, 0.6251, -0.6251])]).astype(np.float32)
    exact = _exact(name, x)
    for parallel in (False, True):
        assert _ulps(_kernel(name, x, parallel), exact).max() <= bound


@pytest.mark.parametrize("name", ["gelu", "gelu_tanh"])
def test_gelu_against_float64(name):
    # 1 + tanh(z) (or erf) cancels for very negative x in float32 (in NumPy's passes as well), so
    # the error is bounded by x times float32's epsilon there, not by ulps of the result
    x = np.concatenate([np.linspace(-12, 12, 400_001), RNG.standard_normal(100_000)]).astype(np.float32)
    exact = _exact(name, x)
    for parallel in (False, True):
        err = np.abs(_kernel(name, x, parallel) - exact)
        assert (err <= 4 * np.spacing(np.float32(1)) * np.maximum(np.abs(x), 1) * 0.5 + np.abs(exact) * 3e-7).all()


def test_gelu_keeps_its_relative_accuracy_for_very_negative_inputs():
    # 1 + erf(z) is computed as erfc(|z|) there: no cancellation, unlike erf's own value plus 1
    x = np.linspace(-13, 13, 1_000_001).astype(np.float32)
    exact = _exact("gelu", x)
    for parallel in (False, True):
        got = _kernel("gelu", x, parallel)
        above = x > -1
        assert _ulps(got[above], exact[above]).max() <= 6
        below = ~above & (np.abs(exact) > 1e-30)
        assert (np.abs(got[below] - exact[below]) <= 2e-5 * np.abs(exact[below])).all()


@pytest.mark.parametrize("name", NAMES)
def test_edge_values_against_torch(name):
    x = np.float32([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-38, -1e-38, 1e-45, 3e38, -3e38, 88.8, -104.0, 20.0, -20.0])
    fn = {"exp": torch.exp, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "silu": torch.nn.functional.silu,
          "gelu": torch.nn.functional.gelu,
          "gelu_tanh": lambda t: torch.nn.functional.gelu(t, approximate="tanh")}[name]
    # one element at a time: PyTorch's scalar loop. Its vectorized loop differs by the CPU's
    # vector width at the extremes (AVX-512's GELU gives nan at +inf and inf at 3e38, AVX2's
    # inf and 3e38, as the scalar loop and float64 do)
    expected = np.concatenate([fn(torch.from_numpy(x[i:i + 1])).numpy() for i in range(len(x))])
    got = _kernel(name, x)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-37)
    zero = (expected == 0) & (got == 0)
    if name == "gelu":  # a negative x times (1 + erf) = +0 is -0, on ember's NumPy path too; PyTorch's is +0
        np.testing.assert_array_equal(np.signbit(got[zero]), np.signbit(x[zero]))
    else:
        np.testing.assert_array_equal(np.signbit(got[zero]), np.signbit(expected[zero]))


def test_tanh_keeps_negative_zero():
    assert np.signbit(_kernel("tanh", np.float32([-0.0])))[0]


def _ops():
    return {
        "exp": (ember.exp, torch.exp),
        "tanh": (ember.tanh, torch.tanh),
        "sigmoid": (ember.sigmoid, torch.sigmoid),
        "silu": (F.silu, torch.nn.functional.silu),
        "gelu": (F.gelu, torch.nn.functional.gelu),
        "gelu_tanh": (lambda t: F.gelu(t, approximate="tanh"),
                      lambda t: torch.nn.functional.gelu(t, approximate="tanh")),
    }


@pytest.fixture
def calls(monkeypatch):
    """Kernel name -> calls, through the module attributes ``kernels.apply_pointwise`` looks up."""
    grads = [n + "_grad" for n in NAMES if n != "exp"]  # exp's gradient is one product, g * y
    names = [n + suffix for n in (*NAMES, *grads, "erf") for suffix in ("", "_parallel")]
    return count_calls(monkeypatch, kernels.cpu().pointwise, names)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape, parallel", [((33, 65), False), ((3, 257, 101), True)])
def test_ops_against_torch_and_numpy_with_gradients(calls, name, shape, parallel):
    ours, theirs = _ops()[name]
    x = (RNG.standard_normal(shape) * 4).astype(np.float32)
    g = RNG.standard_normal(shape).astype(np.float32)
    a = ember.tensor(x, requires_grad=True)
    y = ours(a)
    suffix = "_parallel" if parallel else ""
    assert calls == {name + suffix: 1}
    y.backward(ember.tensor(g))
    if name != "exp":  # exp's gradient is one product, g * y
        assert calls[name + "_grad" + suffix] == 1
    t = torch.tensor(x, requires_grad=True)
    ty = theirs(t)
    ty.backward(torch.tensor(g))
    # GELU's 1 + tanh or erf (in its gradient too) cancels for very negative x: x times float32's
    # epsilon, in either framework
    atol = 3e-7 * np.abs(x).max() if name.startswith("gelu") else 2e-6
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=3e-6, atol=atol)
    np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=2e-5, atol=atol)
    with kernels.off():
        b = ember.tensor(x, requires_grad=True)
        slow = ours(b)
        slow.backward(ember.tensor(g))
    np.testing.assert_allclose(y.detach().numpy(), slow.detach().numpy(), rtol=3e-6, atol=atol)
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=2e-5, atol=atol)


@pytest.mark.parametrize("name", NAMES)
def test_what_stays_on_numpy(calls, name):
    ours = _ops()[name][0]
    big = RNG.standard_normal((64, 64)).astype(np.float32)
    ours(ember.tensor(big)[:, ::2])  # strided
    ours(ember.tensor(big.astype(np.float64)))
    ours(ember.tensor(big[:8, :8]))  # too small to repay the call
    # (GELU's NumPy path still takes the erf kernel, on a contiguous copy of the strided input)
    assert calls == ({"erf": 1} if name == "gelu" else {})


@pytest.mark.parametrize("name", NAMES)
def test_half_computes_in_float32_and_rounds_once(calls, name):
    ours, theirs = _ops()[name]
    x = (RNG.standard_normal((48, 48)) * 3).astype(np.float16)
    got = ours(ember.tensor(x))
    assert calls == {name: 1} and got.dtype == ember.float16
    expected = theirs(torch.tensor(x).float()).half().numpy()
    np.testing.assert_allclose(got.numpy().astype(np.float32), expected.astype(np.float32), rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_double_backward_composes_tensor_ops(calls, name):
    ours, theirs = _ops()[name]
    x = ember.tensor(RNG.standard_normal((40, 40)).astype(np.float32), requires_grad=True)
    t = torch.tensor(x.detach().numpy(), requires_grad=True)
    w = RNG.standard_normal((40, 40)).astype(np.float32)
    (g,) = ember.autograd.grad(ours(x), x, ember.tensor(w), create_graph=True)
    (tg,) = torch.autograd.grad(theirs(t), t, torch.tensor(w), create_graph=True)
    assert not any(k.endswith("_grad") for k in calls)  # a recorded backward is tensor ops
    (g * g).sum().backward()
    (tg * tg).sum().backward()
    np.testing.assert_allclose(g.detach().numpy(), tg.detach().numpy(), rtol=2e-5, atol=1e-5)
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_a_broadcast_gradient_takes_the_tensor_ops(calls, name):
    ours, theirs = _ops()[name]
    x = RNG.standard_normal((40, 40)).astype(np.float32)
    a, t = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours(a).sum().backward()  # the gradient of a sum: one value broadcast, not contiguous
    theirs(t).sum().backward()
    assert not any(k.endswith("_grad") for k in calls)
    np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("exponent", [3, 3.0, 0.5, -0.5, -1, -2, 2.5, ember.tensor(2.0), ember.tensor(3.0)])
def test_power_by_number_against_torch(dtype, exponent):
    special = [0.0, -0.0, 1.0, -1.0, 2.5, -2.5, np.inf, -np.inf, np.nan, 1e-30, 3e38, -3e38, 1e20]
    x = np.concatenate([special, RNG.uniform(0.1, 4, 200)]).astype(dtype)
    if isinstance(exponent, ember.Tensor):  # a 0-d tensor of the base's dtype (as a gradient's b - 1 is)
        exponent, theirs = exponent.to(ember.float64 if dtype == np.float64 else ember.float32), exponent.item()
    else:
        theirs = exponent
    got = (ember.tensor(x) ** exponent).numpy()
    expected = (torch.tensor(x) ** theirs).numpy()
    tol = dict(rtol=2e-7, atol=0) if dtype == np.float32 else dict(rtol=1e-15, atol=0)
    np.testing.assert_allclose(got, expected, equal_nan=True, **tol)
    same_zero = (got == 0) & (expected == 0)
    assert (np.signbit(got[same_zero]) == np.signbit(expected[same_zero])).all()
    a = ember.tensor(x[-200:], requires_grad=True)
    t = torch.tensor(x[-200:], requires_grad=True)
    (a ** exponent).sum().backward()
    (t ** theirs).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=2e-6 if dtype == np.float32 else 1e-13)


def test_erf_within_two_ulp_everywhere(calls):
    scipy_special = pytest.importorskip("scipy.special")
    x = np.concatenate([np.linspace(-9, 9, 400_001), np.logspace(-38, 1, 20_001), -np.logspace(-38, 1, 20_001),
                        [0.0, 1.0, -1.0, 0.9999999, 1.0000001, 3.4e38, -3.4e38, 1e-45]]).astype(np.float32)
    got = ember.erf(ember.tensor(x)).numpy().astype(np.float64)
    assert calls == {"erf_parallel": 1}
    exact = scipy_special.erf(x.astype(np.float64))
    ulp = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
    assert (np.abs(got - exact) / ulp).max() < 2.0
    special = ember.erf(ember.tensor(np.float32([np.nan, np.inf, -np.inf, -0.0] * 300))).numpy()
    assert np.isnan(special[0]) and special[1] == 1 and special[2] == -1
    assert special[3] == 0 and np.signbit(special[3])


def test_small_float64_and_strided_erf_inputs(calls):
    x = RNG.standard_normal((40, 60)).astype(np.float32)
    got = ember.erf(ember.tensor(x).t()).numpy()  # a transposed view: copied for the kernel
    assert calls == {"erf": 1}
    np.testing.assert_allclose(got, torch.erf(torch.tensor(x).t()).numpy(), rtol=3e-7, atol=1e-7)
    ember.erf(ember.tensor(x[:10, :10]))                 # 100 elements: SciPy's
    ember.erf(ember.tensor(x.astype(np.float64)))        # float64: SciPy's
    assert calls == {"erf": 1}


@pytest.mark.parametrize("shape, parallel", [((33, 65), False), ((3, 257, 101), True)])
def test_cube_has_the_bits_of_the_numpy_path_and_pytorchs_values(monkeypatch, shape, parallel):
    """x ** 3 and its gradient, one compiled pass each: the bits of x * x * x and of grad *
    (3 * x ** 2) as the NumPy path computes them, NaN, infinities and -0.0 included."""
    names = [n + s for n in ("cube", "cube_grad") for s in ("", "_parallel")]
    counted = count_calls(monkeypatch, kernels.cpu().pointwise, names)
    x = (RNG.standard_normal(shape) * 4).astype(np.float32)
    x.flat[:5] = [np.nan, np.inf, -np.inf, -0.0, 1e13]
    g = RNG.standard_normal(shape).astype(np.float32)
    results = []
    for compiled in (True, False):
        a = ember.tensor(x, requires_grad=True)
        if compiled:
            y = a ** 3
            y.backward(ember.tensor(g))
        else:
            with kernels.off():
                y = a ** 3
                y.backward(ember.tensor(g))
        results.append((y.detach().numpy(), a.grad.numpy()))
    suffix = "_parallel" if parallel else ""
    assert counted == {"cube" + suffix: 1, "cube_grad" + suffix: 1}
    for fast, slow in zip(*results):
        np.testing.assert_array_equal(fast.view(np.int32), slow.view(np.int32))
    t = torch.tensor(x, requires_grad=True)
    (t ** 3).backward(torch.tensor(g))
    finite = np.isfinite(x)
    np.testing.assert_allclose(results[0][0][finite], (t.detach() ** 3).numpy()[finite], rtol=1e-6)
    np.testing.assert_allclose(results[0][1][finite], t.grad.numpy()[finite], rtol=1e-6)


def test_cube_double_backward_composes_tensor_ops():
    x = RNG.standard_normal(2000).astype(np.float32)
    a = ember.tensor(x, requires_grad=True)
    (first,) = ember.autograd.grad((a ** 3).sum(), a, create_graph=True)
    (second,) = ember.autograd.grad(first.sum(), a)
    np.testing.assert_allclose(first.detach().numpy(), 3 * x * x, rtol=1e-6)
    np.testing.assert_allclose(second.numpy(), 6 * x, rtol=1e-5, atol=1e-6)
