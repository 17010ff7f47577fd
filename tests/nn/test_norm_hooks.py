"""nn.utils.weight_norm / spectral_norm (the forward pre-hook API) against PyTorch's: parameter
and buffer names, values, gradients, removal and errors."""
import warnings

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.utils as EU
from helpers import assert_close, copy_weights

torch = pytest.importorskip("torch")
TU = torch.nn.utils


def run_both(e, t, shape, seed=0):
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    ye, yt = e(ember.tensor(x)), t(torch.tensor(x))
    assert_close(ye, yt)
    g = np.random.default_rng(seed + 1).standard_normal(tuple(yt.shape)).astype(np.float32)
    ye.backward(ember.tensor(g))
    yt.backward(torch.tensor(g))
    for (ne, pe), (nt, pt) in zip(e.named_parameters(), t.named_parameters()):
        assert ne == nt
        assert_close(pe.grad, pt.grad, what=f"grad of {ne}")


@pytest.mark.parametrize("dim", [0, 1, None, 2])
def test_weight_norm(dim):
    t, e = torch.nn.Conv1d(2, 3, 2), nn.Conv1d(2, 3, 2)
    with pytest.warns(FutureWarning):
        TU.weight_norm(t, dim=dim)
    with pytest.warns(FutureWarning):
        EU.weight_norm(e, dim=dim)
    assert [n for n, _ in e.named_parameters()] == ["bias", "weight_g", "weight_v"]
    copy_weights(e, t)
    assert tuple(e.weight_g.shape) == tuple(t.weight_g.shape)
    run_both(e, t, (2, 2, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        with pytest.raises(RuntimeError):
            TU.weight_norm(t, dim=dim)
        with pytest.raises(RuntimeError):
            EU.weight_norm(e, dim=dim)
    TU.remove_weight_norm(t)
    EU.remove_weight_norm(e)
    assert list(e.state_dict()) == list(t.state_dict()) and isinstance(e.weight, nn.Parameter)
    assert_close(e.weight, t.weight)
    with pytest.raises(ValueError):
        TU.remove_weight_norm(t)
    with pytest.raises(ValueError):
        EU.remove_weight_norm(e)


@pytest.mark.parametrize("cls,args,iters,shape", [("Linear", (4, 5), 1, (2, 4)),
                                                  ("Conv2d", (3, 4, 2), 2, (1, 3, 4, 4)),
                                                  ("ConvTranspose1d", (3, 4, 2), 1, (1, 3, 4))])
def test_spectral_norm_same_as_torch_given_same_u(cls, args, iters, shape):
    t, e = getattr(torch.nn, cls)(*args), getattr(nn, cls)(*args)
    TU.spectral_norm(t, n_power_iterations=iters)
    EU.spectral_norm(e, n_power_iterations=iters)
    copy_weights(e, t)  # weight_orig and the weight_u, weight_v vectors
    assert list(e.state_dict()) == ["bias", "weight_orig", "weight_u", "weight_v"]
    for step in range(2):
        run_both(e, t, shape, seed=step)
        assert_close(e.weight_u, t.weight_u, what="u")
        assert_close(e.weight_v, t.weight_v, what="v")
        assert_close(e.weight, t.weight)
    e.eval()
    t.eval()
    run_both(e, t, shape, seed=5)
    TU.remove_spectral_norm(t)
    EU.remove_spectral_norm(e)
    assert list(e.state_dict()) == list(t.state_dict())
    assert_close(e.weight, t.weight)
    with pytest.raises(ValueError):
        EU.remove_spectral_norm(e)


def test_spectral_norm_errors():
    for lib, fn in ((torch, TU.spectral_norm), (ember, EU.spectral_norm)):
        m = lib.nn.Linear(3, 2)
        with pytest.raises(ValueError):
            fn(m, n_power_iterations=0)
        fn(m)
        with pytest.raises(RuntimeError):
            fn(m)
