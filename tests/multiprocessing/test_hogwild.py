"""Hogwild: a model shared with Module.share_memory(), trained by two processes with SGD;
the parent sees the trained weights."""
import numpy as np
import pytest

import ember
import ember.multiprocessing as mp

STEPS, LR, TIMEOUT_S = 5, 0.1, 60
RNG = np.random.default_rng(0)
X = RNG.standard_normal((8, 4)).astype(np.float32)
Y = RNG.standard_normal((8, 1)).astype(np.float32)
W0 = RNG.standard_normal((1, 4)).astype(np.float32)
B0 = RNG.standard_normal((1,)).astype(np.float32)


def _train(model, lock):
    opt = ember.optim.SGD(model.parameters(), lr=LR)
    x, y = ember.tensor(X), ember.tensor(Y)
    for _ in range(STEPS):
        with lock:  # one step at a time, so the result does not depend on the interleaving
            opt.zero_grad()
            ember.nn.functional.mse_loss(model(x), y).backward()
            opt.step()


def _model():
    model = ember.nn.Linear(4, 1)
    with ember.no_grad():
        model.weight.copy_(ember.tensor(W0))
        model.bias.copy_(ember.tensor(B0))
    return model


@pytest.mark.parametrize("method", [m for m in ("fork", "spawn") if m in mp.get_all_start_methods()])
def test_two_processes_train_the_shared_model(method):
    import torch
    ctx = mp.get_context(method)
    model = _model().share_memory()
    lock = ctx.Lock()
    workers = [ctx.Process(target=_train, args=(model, lock)) for _ in range(2)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(TIMEOUT_S)
        assert p.exitcode == 0

    ref = torch.nn.Linear(4, 1)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(W0))
        ref.bias.copy_(torch.tensor(B0))
    opt = torch.optim.SGD(ref.parameters(), lr=LR)
    for _ in range(2 * STEPS):  # both workers' steps, one after the other
        opt.zero_grad()
        torch.nn.functional.mse_loss(ref(torch.tensor(X)), torch.tensor(Y)).backward()
        opt.step()
    np.testing.assert_allclose(model.weight.detach().numpy(), ref.weight.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.bias.detach().numpy(), ref.bias.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert not np.allclose(model.weight.detach().numpy(), W0)


def test_unshared_model_is_not_updated_by_children():
    ctx = mp.get_context("fork")
    model = _model()
    p = ctx.Process(target=_train, args=(model, ctx.Lock()))
    p.start()
    p.join(TIMEOUT_S)
    assert p.exitcode == 0
    np.testing.assert_array_equal(model.weight.detach().numpy(), W0)
