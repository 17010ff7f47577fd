"""log_prob, entropy, moments, cdf/icdf of every distribution against PyTorch, with gradients."""
import numpy as np
import pytest

import ember
from ._parity import ED, TD, check_properties, check_shapes_and_expand, compare, pair, torch

rng = np.random.default_rng(0)
POS = lambda *s: rng.uniform(0.5, 3.0, s)  # noqa: E731
REAL = lambda *s: rng.standard_normal(s)  # noqa: E731
UNIT = lambda *s: rng.uniform(0.1, 0.9, s)  # noqa: E731
SPD = (lambda a: a @ a.T + 3 * np.eye(3))(rng.standard_normal((3, 3)))

# name, params, builder(module, params), a value in the support, what to compare
CASES = [
    ("Normal", {"loc": REAL(2, 3), "scale": POS(3)}, lambda D, p: D.Normal(p["loc"], p["scale"]),
     REAL(4, 2, 3), ["mean", "mode", "variance", "stddev", "entropy", "cdf", "icdf"]),
    ("Uniform", {"low": -POS(3), "high": POS(3)}, lambda D, p: D.Uniform(p["low"], p["high"]),
     rng.uniform(-0.4, 0.4, (2, 3)), ["mean", "variance", "stddev", "entropy", "cdf", "icdf"]),
    ("Exponential", {"rate": POS(4)}, lambda D, p: D.Exponential(p["rate"]),
     POS(2, 4), ["mean", "mode", "variance", "stddev", "entropy", "cdf", "icdf"]),
    ("Laplace", {"loc": REAL(3), "scale": POS(3)}, lambda D, p: D.Laplace(p["loc"], p["scale"]),
     REAL(5, 3), ["mean", "mode", "variance", "stddev", "entropy", "cdf", "icdf"]),
    ("Gamma", {"concentration": POS(3), "rate": POS(3)}, lambda D, p: D.Gamma(p["concentration"], p["rate"]),
     POS(2, 3), ["mean", "mode", "variance", "entropy"]),
    ("Beta", {"a": POS(3), "b": POS(3)}, lambda D, p: D.Beta(p["a"], p["b"]),
     UNIT(2, 3), ["mean", "mode", "variance", "entropy"]),
    ("Dirichlet", {"c": POS(2, 4)}, lambda D, p: D.Dirichlet(p["c"]),
     (lambda x: x / x.sum(-1, keepdims=True))(POS(2, 4)), ["mean", "mode", "variance", "entropy"]),
    ("Poisson", {"rate": POS(3)}, lambda D, p: D.Poisson(p["rate"]),
     np.array([[0.0, 1, 4], [2, 0, 7]]), ["mean", "mode", "variance"]),
    ("Binomial", {"probs": UNIT(3)}, lambda D, p: D.Binomial(5, p["probs"]),
     np.array([[0.0, 1, 5], [2, 3, 4]]), ["mean", "mode", "variance", "entropy"]),
    ("BinomialLogits", {"logits": REAL(3)}, lambda D, p: D.Binomial(5, logits=p["logits"]),
     np.array([0.0, 3, 5]), ["mean", "variance"]),
    ("Bernoulli", {"probs": UNIT(4)}, lambda D, p: D.Bernoulli(p["probs"]),
     np.array([1.0, 0, 0, 1]), ["mean", "variance", "entropy"]),
    ("BernoulliLogits", {"logits": REAL(4)}, lambda D, p: D.Bernoulli(logits=p["logits"]),
     np.array([1.0, 0, 1, 1]), ["mean", "mode", "variance", "entropy"]),
    ("Categorical", {"probs": POS(2, 5)}, lambda D, p: D.Categorical(probs=p["probs"]),
     np.array([[0, 4], [3, 1], [2, 2]]), ["entropy", "mode"]),
    ("CategoricalLogits", {"logits": REAL(2, 5)}, lambda D, p: D.Categorical(logits=p["logits"]),
     np.array([1, 4]), ["entropy"]),
    ("OneHotCategorical", {"logits": REAL(2, 4)}, lambda D, p: D.OneHotCategorical(logits=p["logits"]),
     np.eye(4)[[1, 3]], ["mean", "mode", "variance", "entropy"]),
    ("MVNCov", {"loc": REAL(2, 3), "cov": SPD}, lambda D, p: D.MultivariateNormal(p["loc"], covariance_matrix=p["cov"]),
     REAL(4, 2, 3), ["mean", "variance", "entropy", "covariance_matrix", "precision_matrix", "scale_tril"]),
    ("MVNPrecision", {"loc": REAL(3), "prec": SPD}, lambda D, p: D.MultivariateNormal(p["loc"], precision_matrix=p["prec"]),
     REAL(2, 3), ["variance", "entropy", "covariance_matrix", "scale_tril"]),
    ("MVNTril", {"loc": REAL(3), "L": np.linalg.cholesky(SPD)},
     lambda D, p: D.MultivariateNormal(p["loc"], scale_tril=p["L"]),
     REAL(2, 3), ["variance", "entropy", "precision_matrix"]),
    ("Independent", {"loc": REAL(2, 3), "scale": POS(2, 3)},
     lambda D, p: D.Independent(D.Normal(p["loc"], p["scale"]), 1), REAL(2, 3), ["mean", "variance", "entropy"]),
    ("LogNormal", {"loc": REAL(3), "scale": POS(3)}, lambda D, p: D.LogNormal(p["loc"], p["scale"]),
     POS(2, 3), ["mean", "mode", "variance", "entropy", "cdf", "icdf"]),
    ("AffineTanh", {"loc": REAL(3), "scale": POS(3)},
     lambda D, p: D.TransformedDistribution(D.Normal(p["loc"], p["scale"]),
                                            [D.AffineTransform(0.5, -2.0), D.transforms.TanhTransform()]),
     rng.uniform(-0.9, 0.9, (2, 3)), ["cdf", "icdf"]),
    ("SigmoidPower", {"loc": REAL(3), "scale": POS(3)},
     lambda D, p: D.TransformedDistribution(D.Normal(p["loc"], p["scale"]),
                                            [D.transforms.SigmoidTransform(), D.transforms.PowerTransform(2.0)]),
     UNIT(3), []),
    ("ExpCompose", {"loc": REAL(2, 3), "scale": POS(2, 3)},
     lambda D, p: D.TransformedDistribution(D.Normal(p["loc"], p["scale"]),
                                            D.transforms.ComposeTransform([D.transforms.ExpTransform(),
                                                                           D.transforms.AffineTransform(1.0, 3.0)])),
     POS(2, 3) + 1, ["cdf"]),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_log_prob(case):
    name, params, build, value, _ = case
    ep, tp = pair(params)
    integer_value = name.startswith("Categorical")
    ev = ember.tensor(value.astype(np.int64) if integer_value else value)
    tv = torch.from_numpy(value.astype(np.int64) if integer_value else value)
    compare(build(ED, ep).log_prob(ev), build(TD, tp).log_prob(tv), ep, tp, what=f"{name}.log_prob")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_properties(case):
    check_properties(case, UNIT)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_shapes_and_expand(case):
    check_shapes_and_expand(case)


def test_float32_parameters_keep_float32():
    e = ED.Normal(ember.zeros(3), ember.ones(3))
    assert e.sample((2,)).dtype == ember.float32 and e.log_prob(ember.zeros(3)).dtype == ember.float32
    b = ED.Bernoulli(0.3)
    t = TD.Bernoulli(0.3)
    assert b.sample().dtype.name == str(t.sample().dtype).replace("torch.", "") and tuple(b.batch_shape) == ()


def test_gamma_cdf_differentiates_in_rate_only():
    params = {"c": POS(3), "rate": POS(3)}
    value = POS(2, 3)
    ep, tp = pair(params)
    ep["c"].requires_grad_(False)
    tp["c"].requires_grad_(False)
    compare(ED.Gamma(ep["c"], ep["rate"]).cdf(ember.tensor(value)),
            TD.Gamma(tp["c"], tp["rate"]).cdf(torch.from_numpy(value)), ep, tp, what="Gamma.cdf")
    ep, tp = pair(params)
    with pytest.raises(NotImplementedError):
        TD.Gamma(tp["c"], tp["rate"]).cdf(torch.from_numpy(value)).sum().backward()
    with pytest.raises(NotImplementedError):
        ED.Gamma(ep["c"], ep["rate"]).cdf(ember.tensor(value)).sum().backward()
