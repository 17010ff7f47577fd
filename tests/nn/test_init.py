"""nn.init: distributions checked on large tensors against PyTorch's formulas and draws."""
import math
import warnings

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.nn import init

torch = pytest.importorskip("torch")
tinit = torch.nn.init


@pytest.fixture(autouse=True)
def _seed_torch():
    torch.manual_seed(0)


def _both(shape, fn_e, fn_t):
    """Apply an init to an ember and a torch tensor of ``shape``; return both as arrays."""
    e = ember.empty(shape)
    t = torch.empty(shape)
    out = fn_e(e)
    assert out is e
    fn_t(t)
    return e.numpy(), t.numpy()


def _same_distribution(a, b, tol=0.03):
    """Means, spreads and quantiles agree (relative to the spread)."""
    s = b.std()
    assert abs(a.mean() - b.mean()) < tol * s, (a.mean(), b.mean())
    assert abs(a.std() - s) < tol * s, (a.std(), s)
    q = [5, 25, 50, 75, 95]
    np.testing.assert_allclose(np.percentile(a, q), np.percentile(b, q), atol=2 * tol * s)


@pytest.mark.parametrize("args", [("linear",), ("conv2d",), ("sigmoid",), ("tanh",), ("relu",), ("leaky_relu",),
                                  ("leaky_relu", 0.2), ("leaky_relu", 3), ("selu",), ("conv_transpose1d",)])
def test_calculate_gain(args):
    assert init.calculate_gain(*args) == pytest.approx(tinit.calculate_gain(*args))


@pytest.mark.parametrize("args,match", [(("foo",), "Unsupported nonlinearity foo"),
                                        (("leaky_relu", True), "negative_slope True not a valid number")])
def test_calculate_gain_errors(args, match):
    with pytest.raises(ValueError, match=match):
        tinit.calculate_gain(*args)
    with pytest.raises(ValueError, match=match):
        init.calculate_gain(*args)


@pytest.mark.parametrize("shape", [(3, 5), (4, 2, 3, 3), (6, 1, 7)])
def test_fan_in_fan_out(shape):
    assert init._calculate_fan_in_and_fan_out(ember.empty(shape)) == \
        tinit._calculate_fan_in_and_fan_out(torch.empty(shape))


def test_fan_errors():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(ember.empty(3))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(ember.empty(3, 3), mode="fan_avg")


@pytest.mark.parametrize("name,kwargs,shape", [
    ("uniform_", {"a": -0.3, "b": 0.7}, (300, 300)),
    ("normal_", {"mean": 1.0, "std": 0.2}, (300, 300)),
    ("xavier_uniform_", {"gain": 2.0}, (200, 100, 3)),
    ("xavier_normal_", {}, (300, 200)),
    ("kaiming_uniform_", {}, (300, 200)),
    ("kaiming_uniform_", {"a": math.sqrt(5)}, (64, 32, 3, 3)),
    ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"}, (300, 200)),
    ("kaiming_normal_", {"nonlinearity": "relu"}, (300, 200)),
    ("kaiming_normal_", {"mode": "fan_out", "a": 0.1}, (32, 64, 3, 3)),
    ("trunc_normal_", {}, (300, 300)),
    ("trunc_normal_", {"mean": 0.5, "std": 2.0, "a": -1.0, "b": 1.5}, (300, 300)),
])
def test_random_inits_match_torch_distribution(name, kwargs, shape):
    a, b = _both(shape, lambda t: getattr(init, name)(t, **kwargs), lambda t: getattr(tinit, name)(t, **kwargs))
    _same_distribution(a, b)


def test_kaiming_and_xavier_bounds_follow_the_formula():
    w = init.kaiming_uniform_(ember.empty(256, 128), a=0, nonlinearity="relu").numpy()
    bound = math.sqrt(2.0) * math.sqrt(3.0 / 128)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    w = init.xavier_uniform_(ember.empty(256, 128)).numpy()
    bound = math.sqrt(6.0 / (256 + 128))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    w = init.kaiming_normal_(ember.empty(400, 250), mode="fan_out").numpy()
    assert abs(w.std() - math.sqrt(2 / (1 + 0.01 ** 2)) / math.sqrt(400)) < 0.01 * w.std()


def test_trunc_normal_respects_bounds():
    w = init.trunc_normal_(ember.empty(200, 200), mean=0.0, std=1.0, a=-0.5, b=2.0).numpy()
    assert w.min() >= -0.5 and w.max() <= 2.0 and w.min() < -0.49 and w.max() > 1.9
    with pytest.warns(UserWarning, match="mean is more than 2 std"):
        init.trunc_normal_(ember.empty(3), mean=10.0, a=-1.0, b=1.0)


def test_constant_ones_zeros_eye_dirac_match_torch():
    for fe, ft, shape in [(lambda t: init.constant_(t, 0.3), lambda t: tinit.constant_(t, 0.3), (3, 4)),
                          (init.ones_, tinit.ones_, (2, 5)), (init.zeros_, tinit.zeros_, (4,)),
                          (init.eye_, tinit.eye_, (3, 5)), (init.eye_, tinit.eye_, (4, 2)),
                          (init.dirac_, tinit.dirac_, (4, 3, 3)), (init.dirac_, tinit.dirac_, (2, 3, 3, 5)),
                          (lambda t: init.dirac_(t, 2), lambda t: tinit.dirac_(t, 2), (4, 3, 3, 3, 3))]:
        a, b = _both(shape, fe, ft)
        np.testing.assert_array_equal(a, b)


def test_shape_errors_match_torch():
    for fe, ft, shape, match in [(init.eye_, tinit.eye_, (3,), "Only tensors with 2 dimensions are supported"),
                                 (init.dirac_, tinit.dirac_, (3, 3), "Only tensors with 3, 4, or 5 dimensions"),
                                 (lambda t: init.dirac_(t, 2), lambda t: tinit.dirac_(t, 2), (3, 3, 3),
                                  "dim 0 must be divisible by groups"),
                                 (init.orthogonal_, tinit.orthogonal_, (3,), "Only tensors with 2 or more"),
                                 (lambda t: init.sparse_(t, 0.5), lambda t: tinit.sparse_(t, 0.5), (3, 3, 3),
                                  "Only tensors with 2 dimensions are supported")]:
        with pytest.raises(ValueError, match=match):
            ft(torch.empty(shape))
        with pytest.raises(ValueError, match=match):
            fe(ember.empty(shape))


@pytest.mark.parametrize("shape,gain", [((5, 5), 1.0), ((3, 7), 2.0), ((8, 3), 1.0), ((4, 2, 3), 0.5)])
def test_orthogonal(shape, gain):
    w = init.orthogonal_(ember.empty(shape), gain=gain).numpy().reshape(shape[0], -1).astype(np.float64)
    rows, cols = w.shape
    gram = w @ w.T if rows <= cols else w.T @ w
    np.testing.assert_allclose(gram, gain ** 2 * np.eye(min(rows, cols)), atol=1e-5)


def test_orthogonal_is_uniformly_signed():
    # Without the sign fix from R's diagonal, QR's Q has a biased diagonal.
    diag = np.array([np.diag(init.orthogonal_(ember.empty(3, 3)).numpy()) for _ in range(300)])
    assert abs(diag.mean()) < 0.1


def test_sparse():
    w = init.sparse_(ember.empty(100, 50), sparsity=0.3, std=0.5).numpy()
    assert np.all((w == 0).sum(0) == 30)
    assert abs(w[w != 0].std() - 0.5) < 0.05


def test_generator_makes_draws_reproducible():
    g1, g2 = ember.Generator().manual_seed(7), ember.Generator().manual_seed(7)
    for fn in (init.uniform_, init.normal_, init.trunc_normal_, init.xavier_uniform_, init.kaiming_normal_,
               init.orthogonal_, lambda t, generator: init.sparse_(t, 0.2, generator=generator)):
        a = fn(ember.empty(6, 5), generator=g1).numpy()
        b = fn(ember.empty(6, 5), generator=g2).numpy()
        np.testing.assert_array_equal(a, b)
    ember.manual_seed(1)
    a = init.normal_(ember.empty(4)).numpy()
    ember.manual_seed(1)
    np.testing.assert_array_equal(a, init.normal_(ember.empty(4)).numpy())


def test_inits_work_on_parameters_without_recording():
    p = nn.Parameter(ember.empty(4, 3))
    for fn in (init.uniform_, init.normal_, init.xavier_uniform_, init.kaiming_uniform_, init.orthogonal_,
               init.trunc_normal_, init.zeros_, init.ones_, init.eye_, lambda t: init.constant_(t, 2.0),
               lambda t: init.sparse_(t, 0.5)):
        assert fn(p) is p
        assert p.grad_fn is None and p.requires_grad and isinstance(p, nn.Parameter)
    w = nn.Parameter(ember.empty(4, 3, dtype=ember.float64))
    init.xavier_normal_(w)
    assert w.dtype == ember.float64


def test_kaiming_on_empty_tensor_warns():
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        init.kaiming_uniform_(ember.empty(0, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert init.orthogonal_(ember.empty(0, 3)).shape == (0, 3)
