"""Samples: shapes, dtypes and statistics (seeded), and rsample gradients against the
reparameterization formulas."""
import numpy as np
import pytest

import ember
from ._parity import ED, TD, torch

N = 40000
t = ember.tensor

# distribution, its mean and variance (from PyTorch's same distribution)
CASES = [
    ("Normal", lambda D, T: D.Normal(T([0.5, -1.0]), T([1.0, 2.0]))),
    ("Uniform", lambda D, T: D.Uniform(T([0.0, -2.0]), T([1.0, 3.0]))),
    ("Exponential", lambda D, T: D.Exponential(T([0.5, 3.0]))),
    ("Laplace", lambda D, T: D.Laplace(T([1.0, -1.0]), T([0.5, 2.0]))),
    ("Gamma", lambda D, T: D.Gamma(T([0.3, 4.0]), T([1.0, 2.0]))),
    ("Beta", lambda D, T: D.Beta(T([0.5, 3.0]), T([2.0, 1.5]))),
    ("Dirichlet", lambda D, T: D.Dirichlet(T([0.5, 2.0, 3.0]))),
    ("Poisson", lambda D, T: D.Poisson(T([0.7, 12.0]))),
    ("Binomial", lambda D, T: D.Binomial(T([10.0, 3.0]), T([0.3, 0.8]))),
    ("Bernoulli", lambda D, T: D.Bernoulli(T([0.2, 0.9]))),
    ("OneHotCategorical", lambda D, T: D.OneHotCategorical(T([0.2, 0.5, 0.3]))),
    ("MultivariateNormal", lambda D, T: D.MultivariateNormal(T([1.0, -1.0]), T([[2.0, 0.6], [0.6, 1.0]]))),
    ("LogNormal", lambda D, T: D.LogNormal(T([0.0, 0.5]), T([0.25, 0.5]))),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_sample_statistics(case):
    name, build = case
    ember.manual_seed(0)
    e_d, t_d = build(ED, ember.tensor), build(TD, torch.tensor)
    s = e_d.sample((N,))
    assert tuple(s.shape) == (N,) + tuple(t_d.batch_shape) + tuple(t_d.event_shape)
    assert s.dtype.name == str(t_d.sample().dtype).replace("torch.", "")
    x = s.numpy().astype(np.float64)
    mean, var = t_d.mean.numpy(), t_d.variance.numpy()
    # 6 standard errors of the sample mean and (roughly) of the sample variance
    np.testing.assert_allclose(x.mean(0), mean, atol=6 * np.sqrt(var.max() / N) + 1e-9, err_msg=f"{name} mean")
    np.testing.assert_allclose(x.var(0), var, rtol=0.08, atol=1e-3, err_msg=f"{name} variance")
    assert bool(e_d.support.check(s).all()), name


def test_categorical_sample_frequencies():
    ember.manual_seed(0)
    probs = np.array([[0.1, 0.6, 0.3], [0.5, 0.25, 0.25]])
    s = ED.Categorical(t(probs)).sample((N,))
    assert s.dtype == ember.int64 and tuple(s.shape) == (N, 2)
    freq = np.stack([(s.numpy() == k).mean(0) for k in range(3)], -1)
    np.testing.assert_allclose(freq, probs, atol=0.015)


def test_manual_seed_repeats_samples():
    ember.manual_seed(3)
    a = ED.Gamma(t([2.0]), t([1.0])).sample((5,))
    ember.manual_seed(3)
    b = ED.Gamma(t([2.0]), t([1.0])).sample((5,))
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_location_scale_rsample_gradients():
    """x = loc + scale * eps: dx/dloc = 1, dx/dscale = eps = (x - loc) / scale (Normal, Laplace),
    Uniform: x = low + u (high - low); Exponential: x = e / rate, dx/drate = -x / rate."""
    ember.manual_seed(0)
    for cls in (ED.Normal, ED.Laplace):
        loc, scale = t([0.3, -1.0], requires_grad=True), t([0.5, 2.0], requires_grad=True)
        x = cls(loc, scale).rsample((7,))
        w = t(np.random.default_rng(0).standard_normal((7, 2)))
        gl, gs = ember.autograd.grad((x * w).sum(), [loc, scale])
        np.testing.assert_allclose(gl.numpy(), w.sum(0).numpy(), rtol=1e-5)
        eps = (x.detach() - loc.detach()) / scale.detach()
        np.testing.assert_allclose(gs.numpy(), (w * eps).sum(0).numpy(), rtol=1e-4, atol=1e-6)
    low, high = t([0.0, -1.0], requires_grad=True), t([1.0, 2.0], requires_grad=True)
    x = ED.Uniform(low, high).rsample((5,))
    u = (x.detach() - low.detach()) / (high.detach() - low.detach())
    gl, gh = ember.autograd.grad(x.sum(), [low, high])
    np.testing.assert_allclose(gl.numpy(), (1 - u).sum(0).numpy(), rtol=1e-5)
    np.testing.assert_allclose(gh.numpy(), u.sum(0).numpy(), rtol=1e-5)
    rate = t([0.5, 3.0], requires_grad=True)
    x = ED.Exponential(rate).rsample((5,))
    (g,) = ember.autograd.grad(x.sum(), [rate])
    np.testing.assert_allclose(g.numpy(), (-x.detach() / rate.detach()).sum(0).numpy(), rtol=1e-5)


def test_multivariate_normal_rsample_gradient():
    ember.manual_seed(0)
    loc = t([1.0, -1.0], requires_grad=True)
    L = t([[1.5, 0.0], [0.4, 0.8]], requires_grad=True)
    x = ED.MultivariateNormal(loc, scale_tril=L).rsample((6,))
    eps = ember.linalg.solve(L.detach(), (x.detach() - loc.detach()).unsqueeze(-1)).squeeze(-1)
    w = np.random.default_rng(1).standard_normal((6, 2))
    gl, gL = ember.autograd.grad((x * t(w)).sum(), [loc, L])
    np.testing.assert_allclose(gl.numpy(), w.sum(0), rtol=1e-5)
    np.testing.assert_allclose(gL.numpy(), np.einsum("ni,nj->ij", w, eps.numpy()), rtol=1e-4, atol=1e-5)


def test_gamma_rsample_gradient_is_the_implicit_one():
    """dx/dalpha for each drawn x equals PyTorch's implicit reparameterization gradient at that x,
    and dx/drate = -x / rate."""
    ember.manual_seed(0)
    alpha = t(np.array([0.2, 0.9, 3.0, 25.0]), requires_grad=True)
    rate = t(np.array([1.0, 2.0, 0.5, 1.0]), requires_grad=True)
    x = ED.Gamma(alpha, rate).rsample((50,))
    ga, gr = ember.autograd.grad(x.sum(), [alpha, rate])
    std = x.detach().numpy() * rate.detach().numpy()  # the standard-gamma draws
    ref = torch._standard_gamma_grad(torch.tensor(np.broadcast_to(alpha.detach().numpy(), std.shape).copy()),
                                     torch.tensor(std)).numpy() / rate.detach().numpy()
    np.testing.assert_allclose(ga.numpy(), ref.sum(0), rtol=2e-3)
    np.testing.assert_allclose(gr.numpy(), (-x.detach() / rate.detach()).sum(0).numpy(), rtol=1e-6)


def test_beta_dirichlet_rsample_gradients_are_unbiased():
    """E[dx/dparam] = d E[x] / dparam for the pathwise gradients through gamma draws."""
    ember.manual_seed(0)
    a, b = t([2.0], requires_grad=True), t([3.0], requires_grad=True)
    x = ED.Beta(a, b).rsample((N,))
    ga, gb = ember.autograd.grad(x.mean(), [a, b])
    np.testing.assert_allclose([float(ga), float(gb)], [3 / 25, -2 / 25], atol=4e-3)
    c = t([1.0, 2.0, 3.0], requires_grad=True)
    x = ED.Dirichlet(c).rsample((N,))
    (g,) = ember.autograd.grad(x[:, 0].mean(), [c])
    np.testing.assert_allclose(g.numpy(), [5 / 36, -1 / 36, -1 / 36], atol=4e-3)


def test_sample_is_outside_the_graph():
    loc = t([0.0], requires_grad=True)
    assert not ED.Normal(loc, t([1.0])).sample((2,)).requires_grad
    assert ED.Normal(loc, t([1.0])).rsample((2,)).requires_grad
    assert not ED.Poisson(t([1.0])).has_rsample
    with pytest.raises(NotImplementedError):
        ED.Poisson(t([1.0])).rsample()
