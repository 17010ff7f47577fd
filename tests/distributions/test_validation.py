"""Argument and value validation: ValueError where PyTorch raises one, nothing where it does not."""
import pytest

import ember
from ._parity import ED, TD, torch

BAD_PARAMS = [
    lambda D, T: D.Normal(T([0.0]), T([-1.0])),
    lambda D, T: D.Normal(T([float("nan")]), T([1.0])),
    lambda D, T: D.Exponential(T([0.0])),
    lambda D, T: D.Laplace(T([0.0]), T([0.0])),
    lambda D, T: D.Gamma(T([-1.0]), T([1.0])),
    lambda D, T: D.Beta(T([1.0]), T([-2.0])),
    lambda D, T: D.Dirichlet(T([1.0, -1.0])),
    lambda D, T: D.Poisson(T([-0.5])),
    lambda D, T: D.Bernoulli(T([1.5])),
    lambda D, T: D.Binomial(T([2.5]), T([0.5])),
    lambda D, T: D.Categorical(T([[0.5, -0.1]])),
    lambda D, T: D.Uniform(T([1.0]), T([0.0])),
    lambda D, T: D.MultivariateNormal(T([0.0, 0.0]), T([[1.0, 2.0], [2.0, 1.0]])),
    lambda D, T: D.MultivariateNormal(T([0.0, 0.0]), scale_tril=T([[1.0, 0.0], [0.5, -1.0]])),
    lambda D, T: D.MultivariateNormal(T([0.0, 0.0]), T([[1.0, 0.0], [0.5, 1.0]])),
    lambda D, T: D.Bernoulli(T([0.5]), T([0.0])),
    lambda D, T: D.Normal(T(1.0), "a"),
]

BAD_VALUES = [
    (lambda D, T: D.Exponential(T([1.0])), [-1.0]),
    (lambda D, T: D.Gamma(T([1.0]), T([1.0])), [-0.1]),
    (lambda D, T: D.Beta(T([1.0]), T([1.0])), [1.5]),
    (lambda D, T: D.Bernoulli(T([0.5])), [0.5]),
    (lambda D, T: D.Poisson(T([1.0])), [1.5]),
    (lambda D, T: D.Binomial(T([3.0]), T([0.5])), [4.0]),
    (lambda D, T: D.Categorical(T([0.5, 0.5])), [2]),
    (lambda D, T: D.Uniform(T([0.0]), T([1.0])), [2.0]),
    (lambda D, T: D.Dirichlet(T([1.0, 1.0])), [0.3, 0.3]),
    (lambda D, T: D.OneHotCategorical(T([0.5, 0.5])), [1.0, 1.0]),
    (lambda D, T: D.Normal(T([0.0, 0.0]), T([1.0, 1.0])), [[0.0, 0.0, 0.0]]),  # not broadcastable
    (lambda D, T: D.MultivariateNormal(T([0.0, 0.0]), T([[1.0, 0.0], [0.0, 1.0]])), [0.0, 0.0, 0.0]),
    (lambda D, T: D.LogNormal(T([0.0]), T([1.0])), [-1.0]),
]


@pytest.mark.parametrize("i", range(len(BAD_PARAMS)))
def test_bad_parameters_raise_value_error(i):
    with pytest.raises(ValueError):
        BAD_PARAMS[i](TD, torch.tensor)
    with pytest.raises(ValueError):
        BAD_PARAMS[i](ED, ember.tensor)


@pytest.mark.parametrize("i", range(len(BAD_VALUES)))
def test_values_outside_support_raise_value_error(i):
    build, value = BAD_VALUES[i]
    with pytest.raises(ValueError):
        build(TD, torch.tensor).log_prob(torch.tensor(value))
    with pytest.raises(ValueError, match="support|event_shape|broadcastable"):
        build(ED, ember.tensor).log_prob(ember.tensor(value))


def test_message_names_parameter_distribution_and_constraint():
    with pytest.raises(ValueError, match=r"parameter scale .*Normal.*GreaterThan\(lower_bound=0.0\)"):
        ED.Normal(ember.tensor([0.0]), ember.tensor([-1.0]))


def test_validate_args_false_and_default_switch():
    ED.Normal(ember.tensor([0.0]), ember.tensor([-1.0]), validate_args=False)
    ED.Exponential(ember.tensor([1.0]), validate_args=False).log_prob(ember.tensor([-1.0]))
    assert ED.Distribution._validate_args is TD.Distribution._validate_args is True
    ED.Distribution.set_default_validate_args(False)
    try:
        ED.Normal(ember.tensor([0.0]), ember.tensor([-1.0]))
        with pytest.raises(ValueError):
            ED.Normal(ember.tensor([0.0]), ember.tensor([-1.0]), validate_args=True)
    finally:
        ED.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        ED.Distribution.set_default_validate_args("yes")


def test_constraints_check_like_pytorch():
    C, TC = ED.constraints, torch.distributions.constraints
    x = [[-1.0, 0.0, 0.5], [1.0, 2.0, float("nan")]]
    for name in ("real", "positive", "nonnegative", "unit_interval", "boolean", "nonnegative_integer",
                 "positive_integer", "simplex", "real_vector"):
        e, t = getattr(C, name).check(ember.tensor(x)), getattr(TC, name).check(torch.tensor(x))
        assert e.numpy().tolist() == t.numpy().tolist(), name
    for e_c, t_c in ((C.interval(0.0, 1.0), TC.interval(0.0, 1.0)), (C.greater_than(0.5), TC.greater_than(0.5)),
                     (C.integer_interval(0, 1), TC.integer_interval(0, 1)), (C.less_than(0.5), TC.less_than(0.5)),
                     (C.half_open_interval(0.0, 1.0), TC.half_open_interval(0.0, 1.0))):
        assert e_c.check(ember.tensor(x)).numpy().tolist() == t_c.check(torch.tensor(x)).numpy().tolist(), repr(e_c)
    mats = [[[2.0, 0.5], [0.5, 1.0]], [[1.0, 2.0], [2.0, 1.0]], [[1.0, 0.0], [0.3, -1.0]]]
    for name in ("positive_definite", "lower_cholesky", "lower_triangular", "symmetric", "positive_semidefinite"):
        e, t = getattr(C, name).check(ember.tensor(mats)), getattr(TC, name).check(torch.tensor(mats))
        assert e.numpy().tolist() == t.numpy().tolist(), name
    assert C.independent(C.real, 1).check(ember.tensor(x)).numpy().tolist() == [True, False]
