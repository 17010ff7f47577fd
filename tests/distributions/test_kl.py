"""kl_divergence for every registered pair against PyTorch: values and gradients."""
import numpy as np
import pytest

import ember
from ._parity import ED, TD, compare, pair

rng = np.random.default_rng(1)
POS = lambda *s: rng.uniform(0.5, 3.0, s)  # noqa: E731
REAL = lambda *s: rng.standard_normal(s)  # noqa: E731
UNIT = lambda *s: rng.uniform(0.1, 0.9, s)  # noqa: E731
SPD = lambda: (lambda a: a @ a.T + 3 * np.eye(3))(rng.standard_normal((3, 3)))  # noqa: E731

CASES = [
    ("Normal", {"a": REAL(3), "b": POS(3), "c": REAL(3), "d": POS(3)},
     lambda D, p: (D.Normal(p["a"], p["b"]), D.Normal(p["c"], p["d"]))),
    ("Bernoulli", {"a": UNIT(4), "b": REAL(4)}, lambda D, p: (D.Bernoulli(p["a"]), D.Bernoulli(logits=p["b"]))),
    ("Categorical", {"a": POS(2, 5), "b": REAL(2, 5)},
     lambda D, p: (D.Categorical(probs=p["a"]), D.Categorical(logits=p["b"]))),
    ("OneHotCategorical", {"a": POS(5), "b": REAL(5)},
     lambda D, p: (D.OneHotCategorical(probs=p["a"]), D.OneHotCategorical(logits=p["b"]))),
    ("Uniform", {"a": np.array([0.0, -1.0, 0.5]), "b": np.array([1.0, 1.0, 2.0]),
                 "c": np.array([-1.0, -2.0, 0.7]), "d": np.array([2.0, 1.5, 3.0])},
     lambda D, p: (D.Uniform(p["a"], p["b"]), D.Uniform(p["c"], p["d"]))),
    ("Exponential", {"a": POS(3), "b": POS(3)}, lambda D, p: (D.Exponential(p["a"]), D.Exponential(p["b"]))),
    ("Laplace", {"a": REAL(3), "b": POS(3), "c": REAL(3), "d": POS(3)},
     lambda D, p: (D.Laplace(p["a"], p["b"]), D.Laplace(p["c"], p["d"]))),
    ("Beta", {"a": POS(3), "b": POS(3), "c": POS(3), "d": POS(3)},
     lambda D, p: (D.Beta(p["a"], p["b"]), D.Beta(p["c"], p["d"]))),
    ("Gamma", {"a": POS(3), "b": POS(3), "c": POS(3), "d": POS(3)},
     lambda D, p: (D.Gamma(p["a"], p["b"]), D.Gamma(p["c"], p["d"]))),
    ("Dirichlet", {"a": POS(2, 4), "b": POS(4)}, lambda D, p: (D.Dirichlet(p["a"]), D.Dirichlet(p["b"]))),
    ("Poisson", {"a": POS(3), "b": POS(3)}, lambda D, p: (D.Poisson(p["a"]), D.Poisson(p["b"]))),
    ("MultivariateNormal", {"a": REAL(2, 3), "b": SPD(), "c": REAL(3), "d": SPD()},
     lambda D, p: (D.MultivariateNormal(p["a"], covariance_matrix=p["b"]),
                   D.MultivariateNormal(p["c"], precision_matrix=p["d"]))),
    ("Independent", {"a": REAL(2, 3), "b": POS(2, 3), "c": REAL(2, 3), "d": POS(2, 3)},
     lambda D, p: (D.Independent(D.Normal(p["a"], p["b"]), 1), D.Independent(D.Normal(p["c"], p["d"]), 1))),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_kl_divergence(case):
    name, params, build = case
    ep, tp = pair(params)
    e_p, e_q = build(ED, ep)
    t_p, t_q = build(TD, tp)
    compare(ED.kl_divergence(e_p, e_q), TD.kl_divergence(t_p, t_q), ep, tp, atol=1e-7, what=f"KL {name}")


def test_uniform_kl_is_infinite_outside_support():
    p, q = ED.Uniform(ember.tensor([0.0]), ember.tensor([2.0])), ED.Uniform(ember.tensor([0.5]), ember.tensor([3.0]))
    t_p, t_q = TD.Uniform(0.0, 2.0), TD.Uniform(0.5, 3.0)
    assert float(ED.kl_divergence(p, q)) == float(TD.kl_divergence(t_p, t_q)) == float("inf")


def test_unregistered_pair_and_register_kl():
    class MyNormal(ED.Normal):
        pass

    p, q = ED.Normal(0.0, 1.0), ED.Exponential(1.0)
    with pytest.raises(NotImplementedError):
        ED.kl_divergence(p, q)
    # a subclass inherits its parent's pair until a more specific one is registered
    assert float(ED.kl_divergence(MyNormal(0.0, 1.0), ED.Normal(1.0, 1.0))) == pytest.approx(0.5)

    @ED.register_kl(MyNormal, ED.Normal)
    def _kl(p, q):
        return ember.tensor(7.0)
    assert float(ED.kl_divergence(MyNormal(0.0, 1.0), ED.Normal(1.0, 1.0))) == 7.0
    with pytest.raises(TypeError):
        ED.register_kl(int, ED.Normal)
