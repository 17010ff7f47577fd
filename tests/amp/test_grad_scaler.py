"""GradScaler against torch.amp.GradScaler("cpu"), step for step: scale trajectory, skipped
steps and weights, on a model whose gradients overflow at chosen steps."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
from helpers import assert_close

torch = pytest.importorskip("torch")


def _pair(seed: int = 0):
    rng = np.random.default_rng(seed)
    w1, b1 = rng.standard_normal((5, 3)).astype(np.float32), rng.standard_normal(5).astype(np.float32)
    w2, b2 = rng.standard_normal((2, 5)).astype(np.float32), rng.standard_normal(2).astype(np.float32)
    models = []
    for L in (ember, torch):
        m = L.nn.Sequential(L.nn.Linear(3, 5), L.nn.Tanh(), L.nn.Linear(5, 2))
        with L.no_grad():
            for p, v in zip(m.parameters(), (w1, b1, w2, b2)):
                p.copy_(L.tensor(v))
        models.append(m)
    return models


def _batches(n: int, overflow: dict):
    rng = np.random.default_rng(1)
    for i in range(n):
        x = rng.standard_normal((4, 3)).astype(np.float32)
        if i in overflow:
            x[1, 2] = overflow[i]
        yield x, rng.standard_normal((4, 2)).astype(np.float32)


def _train(L, model, scaler, opt, x, y, clip: bool):
    opt.zero_grad()
    with L.autocast("cpu", dtype=L.float16):
        loss = L.nn.functional.mse_loss(model(L.tensor(x)), L.tensor(y))
    scaler.scale(loss).backward()
    if clip:
        scaler.unscale_(opt)
        L.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    ret = scaler.step(opt)
    scaler.update()
    return ret


@pytest.mark.parametrize("clip", [False, True])
@pytest.mark.parametrize("optim", ["SGD", "Adam"])
def test_training_matches_torch_step_for_step(clip, optim):
    e_model, t_model = _pair()
    kw = {"lr": 0.05, "momentum": 0.9} if optim == "SGD" else {"lr": 0.01}
    e_opt = getattr(ember.optim, optim)(e_model.parameters(), **kw)
    t_opt = getattr(torch.optim, optim)(t_model.parameters(), **kw)
    args = dict(init_scale=2.0 ** 10, growth_factor=4.0, backoff_factor=0.25, growth_interval=3)
    e_s, t_s = ember.amp.GradScaler("cpu", **args), torch.amp.GradScaler("cpu", **args)
    # inf and nan inputs, and values float16 cannot hold (inf once cast, as in PyTorch)
    overflow = {2: np.inf, 3: np.nan, 9: 1e5, 10: np.inf}
    skipped, t_skipped = [], []
    for i, (x, y) in enumerate(_batches(16, overflow)):
        before = [p.detach().numpy().copy() for p in e_model.parameters()]
        t_before = [p.detach().clone() for p in t_model.parameters()]
        _train(ember, e_model, e_s, e_opt, x, y, clip)
        _train(torch, t_model, t_s, t_opt, x, y, clip)
        t_skipped.append(all(torch.equal(b, p) for b, p in zip(t_before, t_model.parameters())))
        assert e_s.get_scale() == t_s.get_scale(), f"step {i}: scale {e_s.get_scale()} vs {t_s.get_scale()}"
        assert e_s._growth_tracker == t_s._get_growth_tracker(), f"step {i}: growth tracker"
        unchanged = all(np.array_equal(b, p.detach().numpy()) for b, p in zip(before, e_model.parameters()))
        skipped.append(unchanged)
        for j, (pe, pt) in enumerate(zip(e_model.parameters(), t_model.parameters())):
            assert_close(pe, pt, 1e-3, 1e-3, f"step {i}, parameter {j}")
    assert skipped == t_skipped == [i in overflow for i in range(16)]
    assert e_s.state_dict() == t_s.state_dict()


def test_scale_keeps_structure_and_dtype():
    e_s, t_s = ember.amp.GradScaler("cpu", init_scale=8.0), torch.amp.GradScaler("cpu", init_scale=8.0)
    e = e_s.scale([ember.tensor(2.0), (ember.tensor([1.0, 3.0], dtype=ember.float16),)])
    t = t_s.scale([torch.tensor(2.0), (torch.tensor([1.0, 3.0], dtype=torch.float16),)])
    assert isinstance(e, list) and isinstance(e[1], tuple)
    assert_close(e[0], t[0])
    assert_close(e[1][0], t[1][0])


def test_errors_match_torch():
    for L, make in ((ember, lambda: ember.amp.GradScaler("cpu")), (torch, lambda: torch.amp.GradScaler("cpu"))):
        p = L.nn.Parameter(L.ones(3))
        opt = L.optim.SGD([p], lr=0.1)
        s = make()
        with pytest.raises(AssertionError, match="_scale is None"):
            s.unscale_(opt)
        s.scale(p.sum()).backward()
        s.unscale_(opt)
        with pytest.raises(RuntimeError, match="already been called on this optimizer"):
            s.unscale_(opt)
        s.step(opt)
        with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
            s.step(opt)
        with pytest.raises(RuntimeError, match="unscale_\\(\\) is being called after step"):
            s.unscale_(opt)
        with pytest.raises(RuntimeError, match="Closure use is not currently supported"):
            s.step(opt, closure=lambda: None)
        s.update()
        h = L.nn.Parameter(L.ones(3, dtype=L.float16))
        s.scale(h.sum()).backward()
        with pytest.raises(ValueError, match="Attempting to unscale FP16 gradients"):
            s.step(L.optim.SGD([h], lr=0.1))
        with pytest.raises(AssertionError, match="No inf checks were recorded prior to update"):
            _fresh_update(L, make)


def _fresh_update(L, make):
    s = make()
    s.scale(L.ones(1))
    s.update()


def test_update_with_new_scale_and_state_dict_round_trip():
    e_s, t_s = ember.amp.GradScaler("cpu"), torch.amp.GradScaler("cpu")
    for s, L in ((e_s, ember), (t_s, torch)):
        s.scale(L.ones(1))
        s.update(new_scale=128.0)
        assert s.get_scale() == 128.0
        s.update(new_scale=L.tensor(32.0))
    assert e_s.get_scale() == t_s.get_scale() == 32.0
    assert e_s.state_dict() == t_s.state_dict()
    loaded = ember.amp.GradScaler("cpu")
    loaded.load_state_dict(t_s.state_dict())
    assert loaded.state_dict() == t_s.state_dict()
    assert loaded.get_scale() == 32.0
    with pytest.raises(RuntimeError, match="source state dict is empty"):
        loaded.load_state_dict({})
    for L in (ember, torch):
        with pytest.raises(AssertionError, match="growth factor"):
            L.amp.GradScaler("cpu", growth_factor=1.0)
        with pytest.raises(AssertionError, match="backoff factor"):
            L.amp.GradScaler("cpu", backoff_factor=1.0)


def test_disabled_scaler_passes_through():
    p = ember.nn.Parameter(ember.ones(3))
    opt = ember.optim.SGD([p], lr=0.5)
    s = ember.amp.GradScaler("cpu", enabled=False)
    loss = (p * 2).sum()
    assert s.scale(loss) is loss
    loss.backward()
    s.step(opt)
    s.update()
    assert s.get_scale() == 1.0 and s.state_dict() == {} and not s.is_enabled()
    np.testing.assert_allclose(p.detach().numpy(), np.zeros(3))


@pytest.mark.skipif(ember.cuda.is_available(), reason="CUDA present: the scaler is enabled")
def test_cuda_scaler_without_cuda_is_disabled_like_torch():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        e = ember.cuda.amp.GradScaler()
        t = torch.cuda.amp.GradScaler()
    assert e.is_enabled() is t.is_enabled() is False
    kinds = sorted(w.category.__name__ for w in caught)
    assert kinds == ["FutureWarning", "FutureWarning", "UserWarning", "UserWarning"]
