"""Gradients of ember.special against PyTorch's (a random cotangent, edge points where the
formula has a limit), float64 gradcheck and gradgradcheck, and PyTorch's behaviour where
it has no derivative (NotImplementedError in backward, or an output without grad_fn)."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from helpers import check_gradcheck, check_op, torch

# (name, fn, low, high): each input drawn from [low, high], inside the function's domain
DIFFERENTIABLE = [
    ("gammaln", lambda m, x: m.special.gammaln(x), 0.1, 5),
    ("gammaln_negative", lambda m, x: m.lgamma(x), -2.9, -2.1),
    ("digamma", lambda m, x: m.special.digamma(x), 0.1, 5),
    ("polygamma1", lambda m, x: m.special.polygamma(1, x), 0.1, 5),
    ("polygamma2", lambda m, x: m.polygamma(2, x), 0.3, 5),
    ("multigammaln", lambda m, x: m.special.multigammaln(x, 3), 1.1, 5),
    ("erfcx", lambda m, x: m.special.erfcx(x), -2, 3),
    ("i0", lambda m, x: m.special.i0(x), -3, 3),
    ("i0e", lambda m, x: m.special.i0e(x), -3, 3),
    ("i1", lambda m, x: m.special.i1(x), -3, 3),
    ("i1e", lambda m, x: m.special.i1e(x), -3, 3),
    ("sinc", lambda m, x: m.special.sinc(x), -2, 2),
    ("ndtr", lambda m, x: m.special.ndtr(x), -3, 3),
    ("ndtri", lambda m, x: m.special.ndtri(x), 0.05, 0.95),
    ("log_ndtr", lambda m, x: m.special.log_ndtr(x), -6, 4),
    ("entr", lambda m, x: m.special.entr(x), 0.1, 3),
    ("expit", lambda m, x: m.special.expit(x), -3, 3),
    ("logit", lambda m, x: m.special.logit(x), 0.05, 0.95),
    ("erfinv", lambda m, x: m.special.erfinv(x), -0.9, 0.9),
    ("xlog1py", lambda m, x: m.special.xlog1py(x, x * 2 + 0.5), -0.2, 2),
    ("xlogy", lambda m, x: m.special.xlogy(x, x + 0.5), 0.1, 2),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,fn,low,high", DIFFERENTIABLE, ids=[c[0] for c in DIFFERENTIABLE])
def test_gradient_matches_torch(name, fn, low, high, dtype):
    check_op([(4, 5)], lambda x: fn(torch if isinstance(x, torch.Tensor) else ember, x),
             dtype=dtype, low=low, high=high)


@pytest.mark.parametrize("name,fn,low,high", DIFFERENTIABLE, ids=[c[0] for c in DIFFERENTIABLE])
def test_gradcheck_and_gradgradcheck(name, fn, low, high):
    check_gradcheck([(3, 4)], lambda x: fn(ember, x), low=low, high=high)


@pytest.mark.parametrize("name", ["i1", "i1e", "sinc", "i0e", "entr"])
def test_gradient_at_the_limit_points(name):
    values = [[0.0, -0.0, 1e-300, 1.0, -1.0]]
    check_op([(5,)], lambda x: getattr((torch if isinstance(x, torch.Tensor) else ember).special, name)(x),
             dtype="float64", values=values)


def test_xlog1py_gradient_where_x_is_zero():
    # d/dx at x = 0, y <= -1 is 0 (not -inf or nan), as PyTorch's
    values = [[0.0, 0.0, 0.0, 1.0], [-1.0, -2.0, 0.5, 0.5]]
    check_op([(4,), (4,)], lambda x, y: (torch if isinstance(x, torch.Tensor) else ember).special.xlog1py(x, y),
             dtype="float64", values=values)


def test_xlog1py_number_operands():
    check_op([(3, 2)], lambda y: (torch if isinstance(y, torch.Tensor) else ember).special.xlog1py(2.0, y),
             dtype="float64", low=0, high=3)
    check_op([(3, 2)], lambda x: (torch if isinstance(x, torch.Tensor) else ember).special.xlog1py(x, 3),
             dtype="float64")


@pytest.mark.parametrize("name", ["gammainc", "gammaincc"])
def test_incomplete_gamma_gradient_in_x_only(name):
    rng = np.random.default_rng(4)
    a = rng.uniform(0.5, 3, (3, 4))
    check_op([(3, 4)], lambda x: getattr((torch if isinstance(x, torch.Tensor) else ember).special, name)(
        (torch.tensor(a) if isinstance(x, torch.Tensor) else ember.tensor(a)), x),
        dtype="float64", low=0.1, high=4)
    check_gradcheck([(3, 4)], lambda x: getattr(ember.special, name)(ember.tensor(a), x), low=0.1, high=4)


def test_zeta_gradient_in_q_only():
    check_op([(3, 4)], lambda q: (torch if isinstance(q, torch.Tensor) else ember).special.zeta(3.0, q),
             dtype="float64", low=0.5, high=3)
    check_gradcheck([(3, 4)], lambda q: ember.special.zeta(ember.tensor(2.5, dtype=ember.float64), q),
                    low=0.5, high=3)


@pytest.mark.parametrize("call", [
    lambda m, a, x: m.special.gammainc(a, x), lambda m, a, x: m.special.gammaincc(a, x),
    lambda m, a, x: m.igamma(a, x), lambda m, a, x: m.special.zeta(a + 1, x)])
def test_no_derivative_in_the_first_argument(call):
    outcomes = []
    for m in (torch, ember):
        a = m.tensor([1.5, 2.5], dtype=m.float64, requires_grad=True)
        x = m.tensor([0.5, 1.5], dtype=m.float64)
        out = call(m, a, x)
        with pytest.raises(NotImplementedError) as err:
            out.sum().backward()
        outcomes.append(str(err.value))
    assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize("name", ["bessel_j0", "bessel_j1", "spherical_bessel_j0"])
def test_functions_without_gradient_give_outputs_without_history(name):
    for m in (torch, ember):
        x = m.tensor([0.5, 1.5], requires_grad=True)
        out = getattr(m.special, name)(x)
        assert not out.requires_grad and out.grad_fn is None
