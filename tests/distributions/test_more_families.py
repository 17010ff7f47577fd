"""StudentT, Cauchy, HalfNormal, HalfCauchy, Chi2, Geometric and Gumbel against PyTorch: densities,
moments, cdf/icdf with gradients, shapes and expand, seeded sample statistics, rsample gradients,
validation and their KL pairs."""
import math

import numpy as np
import pytest

import ember
from ._parity import ED, TD, check_properties, check_shapes_and_expand, compare, pair, torch

rng = np.random.default_rng(1)
POS = lambda *s: rng.uniform(0.5, 3.0, s)  # noqa: E731
REAL = lambda *s: rng.standard_normal(s)  # noqa: E731
UNIT = lambda *s: rng.uniform(0.1, 0.9, s)  # noqa: E731

# name, params, builder(module, params), a value in the support, what to compare
CASES = [
    ("StudentT", {"df": np.array([0.7, 1.5, 3.0, 8.0]), "loc": REAL(4), "scale": POS(4)},
     lambda D, p: D.StudentT(p["df"], p["loc"], p["scale"]), REAL(2, 4), ["mean", "mode", "variance", "entropy"]),
    ("Cauchy", {"loc": REAL(2, 3), "scale": POS(3)}, lambda D, p: D.Cauchy(p["loc"], p["scale"]),
     REAL(4, 2, 3), ["mean", "mode", "variance", "entropy", "cdf", "icdf"]),
    ("HalfNormal", {"scale": POS(3)}, lambda D, p: D.HalfNormal(p["scale"]),
     POS(2, 3), ["mean", "mode", "variance", "entropy", "cdf", "icdf"]),
    ("HalfCauchy", {"scale": POS(3)}, lambda D, p: D.HalfCauchy(p["scale"]),
     POS(2, 3), ["mean", "mode", "variance", "entropy", "cdf", "icdf"]),
    ("Chi2", {"df": POS(3) * 2}, lambda D, p: D.Chi2(p["df"]), POS(2, 3), ["mean", "mode", "variance", "entropy"]),
    ("Geometric", {"probs": np.array([0.2, 0.5, 1.0])}, lambda D, p: D.Geometric(p["probs"]),
     np.array([[0.0, 3, 0], [5, 1, 0]]), ["mean", "mode", "variance"]),
    ("GeometricLogits", {"logits": REAL(3)}, lambda D, p: D.Geometric(logits=p["logits"]),
     np.array([0.0, 3, 7]), ["mean", "variance", "entropy"]),
    ("Gumbel", {"loc": REAL(3), "scale": POS(3)}, lambda D, p: D.Gumbel(p["loc"], p["scale"]),
     REAL(2, 3), ["mean", "mode", "variance", "stddev", "entropy", "cdf", "icdf"]),
    ("Weibull", {"scale": POS(3), "concentration": np.array([0.7, 1.5, 3.0])},
     lambda D, p: D.Weibull(p["scale"], p["concentration"]), POS(2, 3), ["mean", "variance", "entropy", "cdf", "icdf"]),
    ("WeibullMode", {"scale": POS(3), "concentration": POS(3) + 1},
     lambda D, p: D.Weibull(p["scale"], p["concentration"]), POS(3), ["mode"]),
    ("Pareto", {"scale": POS(3), "alpha": np.array([0.7, 1.5, 3.0])},
     lambda D, p: D.Pareto(p["scale"], p["alpha"]), POS(2, 3) + 3, ["mean", "mode", "variance", "entropy", "cdf", "icdf"]),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_log_prob(case):
    name, params, build, value, _ = case
    ep, tp = pair(params)
    compare(build(ED, ep).log_prob(ember.tensor(value)), build(TD, tp).log_prob(torch.from_numpy(value)),
            ep, tp, what=f"{name}.log_prob")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_properties(case):
    check_properties(case, UNIT)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_shapes_and_expand(case):
    check_shapes_and_expand(case)


def test_scalar_parameters_give_scalar_batch():
    for e_d, t_d in [(ED.Cauchy(0.0, 1.0), TD.Cauchy(0.0, 1.0)), (ED.StudentT(3.0), TD.StudentT(3.0)),
                     (ED.HalfNormal(2.0), TD.HalfNormal(2.0)), (ED.Chi2(3.0), TD.Chi2(3.0)),
                     (ED.Geometric(0.3), TD.Geometric(0.3)), (ED.Gumbel(0.0, 2.0), TD.Gumbel(0.0, 2.0))]:
        assert tuple(e_d.batch_shape) == tuple(t_d.batch_shape) == ()
        assert e_d.sample().dtype.name == str(t_d.sample().dtype).replace("torch.", "")


N = 40000
SAMPLED = [
    ("StudentT", lambda D, T: D.StudentT(T([5.0, 9.0]), T([0.5, -1.0]), T([1.0, 2.0]))),
    ("HalfNormal", lambda D, T: D.HalfNormal(T([0.5, 2.0]))),
    ("Chi2", lambda D, T: D.Chi2(T([1.0, 6.0]))),
    ("Geometric", lambda D, T: D.Geometric(T([0.3, 0.8]))),
    ("Gumbel", lambda D, T: D.Gumbel(T([1.0, -1.0]), T([0.5, 2.0]))),
    ("Weibull", lambda D, T: D.Weibull(T([1.0, 2.0]), T([0.8, 3.0]))),
    ("Pareto", lambda D, T: D.Pareto(T([1.0, 2.0]), T([5.0, 9.0]))),
]


@pytest.mark.parametrize("case", SAMPLED, ids=[c[0] for c in SAMPLED])
def test_sample_statistics(case):
    name, build = case
    ember.manual_seed(0)
    e_d, t_d = build(ED, ember.tensor), build(TD, torch.tensor)
    x = e_d.sample((N,)).numpy().astype(np.float64)
    mean, var = t_d.mean.numpy(), t_d.variance.numpy()
    np.testing.assert_allclose(x.mean(0), mean, atol=6 * np.sqrt(var.max() / N), err_msg=f"{name} mean")
    # StudentT's sample variance has heavy tails (df 5): a looser band.
    np.testing.assert_allclose(x.var(0), var, rtol=0.2 if name == "StudentT" else 0.08, err_msg=f"{name} variance")
    assert bool(e_d.support.check(ember.tensor(x)).all()), name


@pytest.mark.parametrize("cls", ["Cauchy", "HalfCauchy"])
def test_heavy_tailed_sample_quantiles(cls):
    """No moments: compare the empirical quartiles with PyTorch's icdf."""
    ember.manual_seed(0)
    args = ([0.5, -1.0], [1.0, 2.0]) if cls == "Cauchy" else ([1.0, 2.0],)
    e_d = getattr(ED, cls)(*(ember.tensor(a) for a in args))
    t_d = getattr(TD, cls)(*(torch.tensor(a) for a in args))
    x = e_d.sample((N,)).numpy()
    for q in (0.25, 0.5, 0.75):
        expected = t_d.icdf(torch.full((2,), q)).numpy()
        np.testing.assert_allclose(np.quantile(x, q, axis=0), expected, rtol=0.05, atol=0.03, err_msg=f"{cls} q{q}")


def test_rsample_gradients():
    """Location-scale families: d x / d loc = 1 and d x / d scale = (x - loc) / scale; Chi2 and
    StudentT through the implicit gamma gradient: E[d x / d df] matches d mean / d df."""
    ember.manual_seed(0)
    w = ember.tensor(np.random.default_rng(0).standard_normal((7, 2)))
    for build in (lambda l, s: ED.Cauchy(l, s), lambda l, s: ED.Gumbel(l, s), lambda l, s: ED.StudentT(4.0, l, s)):
        loc, scale = ember.tensor([0.3, -1.0], requires_grad=True), ember.tensor([0.5, 2.0], requires_grad=True)
        x = build(loc, scale).rsample((7,))
        gl, gs = ember.autograd.grad((x * w).sum(), [loc, scale])
        np.testing.assert_allclose(gl.numpy(), w.sum(0).numpy(), rtol=1e-5)
        eps = (x.detach() - loc.detach()) / scale.detach()
        np.testing.assert_allclose(gs.numpy(), (w * eps).sum(0).numpy(), rtol=1e-4, atol=1e-6)
    scale = ember.tensor([0.5, 2.0], requires_grad=True)
    x = ED.HalfNormal(scale).rsample((7,))
    (gs,) = ember.autograd.grad(x.sum(), [scale])
    np.testing.assert_allclose(gs.numpy(), (x.detach() / scale.detach()).sum(0).numpy(), rtol=1e-5)
    df = ember.tensor([3.0, 7.0], dtype=ember.float64, requires_grad=True)
    (g,) = ember.autograd.grad(ED.Chi2(df).rsample((N,)).mean(0).sum(), [df])
    np.testing.assert_allclose(g.numpy(), [1.0, 1.0], atol=0.05)


BAD_PARAMS = [
    lambda D, T: D.StudentT(T([-1.0])),
    lambda D, T: D.StudentT(T([2.0]), T([0.0]), T([0.0])),
    lambda D, T: D.Cauchy(T([0.0]), T([-1.0])),
    lambda D, T: D.HalfNormal(T([0.0])),
    lambda D, T: D.HalfCauchy(T([-2.0])),
    lambda D, T: D.Chi2(T([0.0])),
    lambda D, T: D.Geometric(T([0.0])),
    lambda D, T: D.Geometric(T([1.5])),
    lambda D, T: D.Geometric(T([0.5]), T([0.0])),
    lambda D, T: D.Geometric(),
    lambda D, T: D.Gumbel(T([0.0]), T([0.0])),
    lambda D, T: D.Weibull(T([1.0]), T([-1.0])),
    lambda D, T: D.Pareto(T([0.0]), T([1.0])),
]
BAD_VALUES = [
    (lambda D, T: D.HalfNormal(T([1.0])), [-0.5]),
    (lambda D, T: D.HalfCauchy(T([1.0])), [-0.5]),
    (lambda D, T: D.Chi2(T([2.0])), [-0.5]),
    (lambda D, T: D.Geometric(T([0.5])), [1.5]),
    (lambda D, T: D.Geometric(T([0.5])), [-1.0]),
    (lambda D, T: D.Cauchy(T([0.0, 0.0]), T([1.0, 1.0])), [[0.0, 0.0, 0.0]]),
    (lambda D, T: D.Weibull(T([1.0]), T([2.0])), [-0.5]),
    (lambda D, T: D.Pareto(T([2.0]), T([2.0])), [1.5]),
]


@pytest.mark.parametrize("i", range(len(BAD_PARAMS)))
def test_invalid_parameters(i):
    with pytest.raises(ValueError) as t_err:
        BAD_PARAMS[i](TD, torch.tensor)
    with pytest.raises(type(t_err.value)):
        BAD_PARAMS[i](ED, ember.tensor)


@pytest.mark.parametrize("i", range(len(BAD_VALUES)))
def test_invalid_values(i):
    build, value = BAD_VALUES[i]
    with pytest.raises(ValueError):
        build(TD, torch.tensor).log_prob(torch.tensor(value))
    with pytest.raises(ValueError):
        build(ED, ember.tensor).log_prob(ember.tensor(value))


def test_halfnormal_halfcauchy_log_prob_without_validation():
    """Below 0 the folded densities are 0 (log -inf) when validation is off."""
    e_v, t_v = ember.tensor([-1.0, 0.5]), torch.tensor([-1.0, 0.5])
    for cls in ("HalfNormal", "HalfCauchy"):
        e = getattr(ED, cls)(ember.tensor([1.0, 1.0]), validate_args=False).log_prob(e_v).numpy()
        t = getattr(TD, cls)(torch.tensor([1.0, 1.0]), validate_args=False).log_prob(t_v).numpy()
        np.testing.assert_allclose(e, t, rtol=1e-6)
        assert e[0] == -math.inf


KL_CASES = [
    ("Cauchy", {"a": REAL(3), "b": POS(3), "c": REAL(3), "d": POS(3)},
     lambda D, p: (D.Cauchy(p["a"], p["b"]), D.Cauchy(p["c"], p["d"]))),
    ("Geometric", {"a": UNIT(3), "b": UNIT(3)}, lambda D, p: (D.Geometric(p["a"]), D.Geometric(p["b"]))),
    ("GeometricLogits", {"a": REAL(3), "b": REAL(3)},
     lambda D, p: (D.Geometric(logits=p["a"]), D.Geometric(logits=p["b"]))),
    ("Gumbel", {"a": REAL(3), "b": POS(3), "c": REAL(3), "d": POS(3)},
     lambda D, p: (D.Gumbel(p["a"], p["b"]), D.Gumbel(p["c"], p["d"]))),
    ("HalfNormal", {"a": POS(3), "b": POS(3)}, lambda D, p: (D.HalfNormal(p["a"]), D.HalfNormal(p["b"]))),
    # the middle pair has p's minimum below q's: infinite
    ("Pareto", {"a": np.array([1.0, 0.5, 2.0]), "b": POS(3), "c": np.array([0.5, 1.0, 2.0]), "d": POS(3)},
     lambda D, p: (D.Pareto(p["a"], p["b"]), D.Pareto(p["c"], p["d"]))),
]


@pytest.mark.parametrize("case", KL_CASES, ids=[c[0] for c in KL_CASES])
def test_kl_divergence(case):
    name, params, build = case
    ep, tp = pair(params)
    e_p, e_q = build(ED, ep)
    t_p, t_q = build(TD, tp)
    compare(ED.kl_divergence(e_p, e_q), TD.kl_divergence(t_p, t_q), ep, tp, atol=1e-7, what=f"KL {name}")
