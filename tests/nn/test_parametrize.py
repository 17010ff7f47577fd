"""nn.utils.parametrize and nn.utils.parametrizations against PyTorch's: state_dict keys,
values, gradients, right_inverse, caching, removal and errors."""
import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.nn.utils import parametrizations as EP
from ember.nn.utils import parametrize as P
from helpers import assert_close, copy_weights

torch = pytest.importorskip("torch")
TP = torch.nn.utils.parametrize
TPS = torch.nn.utils.parametrizations


def make_sym(lib):
    class Symmetric(lib.nn.Module):
        def forward(self, x):
            return x.triu() + x.triu(1).transpose(-1, -2)

        def right_inverse(self, a):
            return a.triu()
    return Symmetric()


def make_scale(lib, factor=2.0):
    class Scale(lib.nn.Module):
        def forward(self, x):
            return x * factor

        def right_inverse(self, y):
            return y / factor
    return Scale()


def twins(e_mod, t_mod):
    t_mod.load_state_dict(t_mod.state_dict())
    return e_mod, t_mod


def forward_backward(e_mod, t_mod, in_shape, seed=0):
    x = np.random.default_rng(seed).standard_normal(in_shape).astype(np.float32)
    ye, yt = e_mod(ember.tensor(x)), t_mod(torch.tensor(x))
    assert_close(ye, yt)
    g = np.random.default_rng(seed + 1).standard_normal(tuple(yt.shape)).astype(np.float32)
    ye.backward(ember.tensor(g))
    yt.backward(torch.tensor(g))
    for (ne, pe), (nt, pt) in zip(e_mod.named_parameters(), t_mod.named_parameters()):
        assert ne == nt
        assert_close(pe.grad, pt.grad, what=f"grad of {ne}")


def test_register_parametrization_keys_values_grads():
    t = torch.nn.Linear(3, 3)
    e = nn.Linear(3, 3)
    TP.register_parametrization(t, "weight", make_sym(torch))
    P.register_parametrization(e, "weight", make_sym(ember))
    assert type(e).__name__ == type(t).__name__ == "ParametrizedLinear"
    assert P.is_parametrized(e) and P.is_parametrized(e, "weight") and not P.is_parametrized(e, "bias")
    assert P.type_before_parametrizations(e) is nn.Linear
    copy_weights(e, t)
    assert list(e.state_dict()) == ["bias", "parametrizations.weight.original"]
    assert_close(e.weight, t.weight)
    forward_backward(e, t, (4, 3))


def test_chained_parametrizations_and_assignment_via_right_inverse():
    t, e = torch.nn.Linear(3, 3), nn.Linear(3, 3)
    copy_weights(e, t)
    for mod, lib, P_ in ((t, torch, TP), (e, ember, P)):
        P_.register_parametrization(mod, "weight", make_sym(lib))
        P_.register_parametrization(mod, "weight", make_scale(lib))
        assert len(mod.parametrizations.weight) == 2
    assert_close(e.parametrizations.weight.original, t.parametrizations.weight.original)
    assert_close(e.weight, t.weight)
    x = np.random.default_rng(0).standard_normal((3, 3)).astype(np.float32)
    x = x + x.T
    original = e.parametrizations.weight.original
    e.weight = ember.tensor(x)
    t.weight = torch.tensor(x)
    assert e.parametrizations.weight.original is original  # same Parameter, new values
    assert_close(e.parametrizations.weight.original, t.parametrizations.weight.original)
    assert_close(e.weight, t.weight)
    forward_backward(e, t, (2, 3))


def test_buffer_can_be_parametrized():
    e = nn.BatchNorm1d(3)
    P.register_parametrization(e, "running_var", make_scale(ember, 3.0))
    t = torch.nn.BatchNorm1d(3)
    TP.register_parametrization(t, "running_var", make_scale(torch, 3.0))
    assert list(e.state_dict()) == list(t.state_dict())
    assert_close(e.running_var, t.running_var)


def test_cached_reuses_one_tensor():
    e = nn.Linear(3, 3)
    P.register_parametrization(e, "weight", make_sym(ember))
    assert e.weight is not e.weight
    with P.cached():
        w = e.weight
        with P.cached():
            assert e.weight is w
        assert e.weight is w
    assert e.weight is not w


@pytest.mark.parametrize("leave", [True, False])
def test_remove_parametrizations(leave):
    t, e = torch.nn.Linear(3, 3), nn.Linear(3, 3)
    copy_weights(e, t)
    TP.register_parametrization(t, "weight", make_scale(torch))
    P.register_parametrization(e, "weight", make_scale(ember))
    original = e.parametrizations.weight.original
    TP.remove_parametrizations(t, "weight", leave_parametrized=leave)
    P.remove_parametrizations(e, "weight", leave_parametrized=leave)
    assert type(e) is nn.Linear and not hasattr(e, "parametrizations")
    assert e.weight is original and isinstance(e.weight, nn.Parameter)
    assert list(e.state_dict()) == list(t.state_dict())
    assert_close(e.weight, t.weight)


def test_errors_match_torch():
    class Bad(nn.Module):
        def forward(self, x):
            return x[0]

    class TBad(torch.nn.Module):
        def forward(self, x):
            return x[0]
    for P_, lib, bad in ((TP, torch, TBad()), (P, ember, Bad())):
        mod = lib.nn.Linear(3, 3)
        with pytest.raises(ValueError):
            P_.register_parametrization(mod, "nope", make_sym(lib))
        with pytest.raises(ValueError):
            P_.register_parametrization(mod, "weight", bad)
        with pytest.raises(ValueError):
            P_.remove_parametrizations(mod, "weight")
        assert not P_.is_parametrized(mod)


@pytest.mark.parametrize("dim", [0, 1, None, -2])
def test_weight_norm(dim):
    t, e = torch.nn.Conv1d(2, 3, 2), nn.Conv1d(2, 3, 2)
    TPS.weight_norm(t, dim=dim)
    EP.weight_norm(e, dim=dim)
    copy_weights(e, t)
    assert list(e.state_dict()) == ["bias", "parametrizations.weight.original0",
                                    "parametrizations.weight.original1"]
    assert_close(e.weight, t.weight)
    forward_backward(e, t, (2, 2, 5))
    P.remove_parametrizations(e, "weight")
    TP.remove_parametrizations(t, "weight")
    assert list(e.state_dict()) == list(t.state_dict())
    assert_close(e.weight, t.weight)


@pytest.mark.parametrize("cls,args,dim,iters", [("Linear", (4, 5), None, 1), ("Conv2d", (3, 4, 2), None, 3),
                                                ("ConvTranspose2d", (3, 4, 2), None, 1),
                                                ("Linear", (4, 5), 1, 2)])
def test_spectral_norm_same_as_torch_given_same_u(cls, args, dim, iters):
    t, e = getattr(torch.nn, cls)(*args), getattr(nn, cls)(*args)
    TPS.spectral_norm(t, n_power_iterations=iters, dim=dim)
    EP.spectral_norm(e, n_power_iterations=iters, dim=dim)
    copy_weights(e, t)  # weights and the _u, _v vectors
    assert "parametrizations.weight.0._u" in e.state_dict()
    shape = (2, args[0]) if cls == "Linear" else (1, 3, 5, 5)
    for step in range(2):
        forward_backward(e, t, shape, seed=step)
        assert_close(e.parametrizations.weight[0]._u, t.parametrizations.weight[0]._u, what="u")
        assert_close(e.parametrizations.weight[0]._v, t.parametrizations.weight[0]._v, what="v")
    e.eval()
    t.eval()
    u = e.parametrizations.weight[0]._u.numpy().copy()
    assert_close(e.weight, t.weight)
    np.testing.assert_array_equal(e.parametrizations.weight[0]._u.numpy(), u)  # no power iteration in eval


def test_spectral_norm_gives_unit_norm_and_errors():
    ember.manual_seed(0)
    e = EP.spectral_norm(nn.Linear(6, 5))
    sigma = np.linalg.svd(e.weight.detach().numpy(), compute_uv=False)[0]
    assert abs(sigma - 1) < 1e-3
    for lib, fn in ((torch, TPS.spectral_norm), (ember, EP.spectral_norm)):
        with pytest.raises(ValueError):
            fn(lib.nn.Linear(2, 2), n_power_iterations=0)
        with pytest.raises(IndexError):
            fn(lib.nn.Linear(2, 2), dim=2)
        with pytest.raises(ValueError):
            fn(lib.nn.Linear(2, 2), name="nope")


@pytest.mark.parametrize("shape,orth_map", [((4, 4), None), ((5, 3), None), ((3, 5), None),
                                            ((5, 3), "matrix_exp"), ((4, 4), "householder"),
                                            ((4, 4), "cayley"), ((3, 5), "cayley")])
def test_orthogonal_like_torch(shape, orth_map):
    t, e = torch.nn.Linear(shape[1], shape[0]), nn.Linear(shape[1], shape[0])
    copy_weights(e, t)
    TPS.orthogonal(t, orthogonal_map=orth_map)
    EP.orthogonal(e, orthogonal_map=orth_map)
    assert list(e.state_dict()) == list(t.state_dict())
    w = e.weight.detach().numpy()
    gram = w @ w.T if shape[0] < shape[1] else w.T @ w
    np.testing.assert_allclose(gram, np.eye(min(shape)), atol=1e-5)
    assert_close(e.weight, t.weight)  # both start at the Q factor of the same weight
    # A non-square weight's base is completed with random columns: take torch's.
    copy_weights(e, t)
    forward_backward(e, t, (2, shape[1]))


def test_orthogonal_stays_orthogonal_while_training():
    ember.manual_seed(0)
    e = EP.orthogonal(nn.Linear(4, 4))
    opt = ember.optim.SGD(e.parameters(), lr=0.5)
    for _ in range(3):
        opt.zero_grad()
        e(ember.randn(8, 4)).pow(2).sum().backward()
        opt.step()
    w = e.weight.detach().numpy()
    assert np.abs(w.T @ w - np.eye(4)).max() < 1e-5
    assert float(e.parametrizations.weight.original.detach().abs().sum()) > 4.0  # moved from -Id


def test_orthogonal_errors():
    for lib, fn in ((torch, TPS.orthogonal), (ember, EP.orthogonal)):
        with pytest.raises(ValueError):
            fn(lib.nn.Linear(2, 2), orthogonal_map="nope")
        with pytest.raises(ValueError):
            fn(lib.nn.BatchNorm1d(2))  # a 1-d weight
