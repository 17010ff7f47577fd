"""nn.utils.prune against torch.nn.utils.prune: masks on identical weights, names, hooks, errors."""
import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.utils.prune as prune
from helpers import assert_close, copy_weights

torch = pytest.importorskip("torch")
tprune = pytest.importorskip("torch.nn.utils.prune")


def twins(e_cls, t_cls, *args):
    t_mod = t_cls(*args)
    e_mod = e_cls(*args)
    copy_weights(e_mod, t_mod)
    return e_mod, t_mod


def check_pruned(e_mod, t_mod, name="weight"):
    assert list(e_mod.state_dict()) == list(t_mod.state_dict())
    assert [n for n, _ in e_mod.named_parameters()] == [n for n, _ in t_mod.named_parameters()]
    assert_close(getattr(e_mod, name + "_mask"), getattr(t_mod, name + "_mask"), what="mask")
    assert_close(getattr(e_mod, name), getattr(t_mod, name), what="pruned weight")


@pytest.mark.parametrize("amount", [0, 3, 0.3, 0.5, 1.0, 12])
def test_l1_unstructured_mask(amount):
    e, t = twins(nn.Linear, torch.nn.Linear, 4, 3)
    prune.l1_unstructured(e, "weight", amount)
    tprune.l1_unstructured(t, "weight", amount)
    check_pruned(e, t)


@pytest.mark.parametrize("amount,n,dim", [(1, 2, 0), (0.5, 1, 0), (2, float("inf"), 1), (0.34, 2, -1),
                                          (0, 2, 0), (3, -float("inf"), 0)])
def test_ln_structured_mask(amount, n, dim):
    e, t = twins(nn.Conv2d, torch.nn.Conv2d, 3, 4, 2)
    prune.ln_structured(e, "weight", amount, n, dim)
    tprune.ln_structured(t, "weight", amount, n, dim)
    check_pruned(e, t)


def test_iterative_pruning_combines_masks_like_torch():
    e, t = twins(nn.Conv2d, torch.nn.Conv2d, 3, 5, 2)
    for mod, p in ((e, prune), (t, tprune)):
        p.l1_unstructured(mod, "weight", 0.2)
        p.ln_structured(mod, "weight", 2, 2, 0)
        p.l1_unstructured(mod, "weight", 5)
    check_pruned(e, t)
    hooks = [h for h in e._forward_pre_hooks.values() if isinstance(h, prune.BasePruningMethod)]
    assert len(hooks) == 1 and isinstance(hooks[0], prune.PruningContainer) and len(hooks[0]) == 3


def test_importance_scores_and_bias():
    e, t = twins(nn.Linear, torch.nn.Linear, 5, 4)
    scores = np.random.default_rng(0).permutation(20).reshape(4, 5).astype(np.float32)
    prune.l1_unstructured(e, "weight", 7, importance_scores=ember.tensor(scores))
    tprune.l1_unstructured(t, "weight", 7, importance_scores=torch.tensor(scores))
    prune.l1_unstructured(e, "bias", 2)
    tprune.l1_unstructured(t, "bias", 2)
    check_pruned(e, t)
    check_pruned(e, t, "bias")


def test_forward_recomputes_weight_and_gradient_masked():
    e, t = twins(nn.Linear, torch.nn.Linear, 4, 3)
    prune.l1_unstructured(e, "weight", 0.5)
    tprune.l1_unstructured(t, "weight", 0.5)
    with ember.no_grad():
        e.weight_orig.add_(1.0)
    with torch.no_grad():
        t.weight_orig.add_(1.0)
    x = np.random.default_rng(1).standard_normal((2, 4)).astype(np.float32)
    ye, yt = e(ember.tensor(x)), t(torch.tensor(x))
    assert_close(ye, yt)
    ye.sum().backward()
    yt.sum().backward()
    assert_close(e.weight_orig.grad, t.weight_orig.grad, what="grad")


def test_remove_makes_pruning_permanent():
    e, t = twins(nn.Linear, torch.nn.Linear, 4, 3)
    orig = e.weight
    for mod, p in ((e, prune), (t, tprune)):
        p.l1_unstructured(mod, "weight", 5)
        assert p.is_pruned(mod)
        p.remove(mod, "weight")
        assert not p.is_pruned(mod)
    assert e.weight is orig  # same Parameter object, so an optimizer keeps working
    assert list(e.state_dict()) == list(t.state_dict())
    assert_close(e.weight, t.weight)
    with pytest.raises(ValueError):
        prune.remove(e, "weight")
    with pytest.raises(ValueError):
        tprune.remove(t, "weight")


def test_custom_identity_and_random():
    e, t = twins(nn.Linear, torch.nn.Linear, 4, 3)
    mask = (np.arange(12).reshape(3, 4) % 3 != 0).astype(np.float32)
    prune.custom_from_mask(e, "weight", ember.tensor(mask))
    tprune.custom_from_mask(t, "weight", torch.tensor(mask))
    check_pruned(e, t)
    prune.identity(e, "bias")
    tprune.identity(t, "bias")
    check_pruned(e, t, "bias")
    ember.manual_seed(0)
    m = nn.Linear(10, 8)
    prune.random_unstructured(m, "weight", 30)
    assert int((m.weight_mask == 0).sum()) == 30
    prune.random_structured(m, "weight", 3, 0)
    rows = (m.weight_mask.sum(1) == 0)
    assert int(rows.sum()) >= 3 and int((m.weight_mask == 0).sum()) >= 30


def test_global_unstructured_matches_torch():
    e1, t1 = twins(nn.Linear, torch.nn.Linear, 4, 3)
    e2, t2 = twins(nn.Linear, torch.nn.Linear, 3, 2)
    prune.global_unstructured([(e1, "weight"), (e2, "weight")], prune.L1Unstructured, amount=8)
    tprune.global_unstructured([(t1, "weight"), (t2, "weight")], tprune.L1Unstructured, amount=8)
    check_pruned(e1, t1)
    check_pruned(e2, t2)


@pytest.mark.parametrize("call,exc", [
    (lambda p, m: p.l1_unstructured(m, "weight", -1), ValueError),
    (lambda p, m: p.l1_unstructured(m, "weight", 1.5), ValueError),
    (lambda p, m: p.l1_unstructured(m, "weight", "a"), TypeError),
    (lambda p, m: p.l1_unstructured(m, "weight", 100), ValueError),
    (lambda p, m: p.ln_structured(m, "bias", 1, 2, 0), ValueError),
    (lambda p, m: p.ln_structured(m, "weight", 1, 2, 5), IndexError),
    (lambda p, m: p.global_unstructured([(m, "weight")], p.LnStructured, amount=1, n=2, dim=0), TypeError),
])
def test_errors_match_torch(call, exc):
    e, t = twins(nn.Linear, torch.nn.Linear, 4, 3)
    with pytest.raises(exc):
        call(tprune, t)
    with pytest.raises(exc):
        call(prune, e)
    # a failed pruning rolls back: weight is a parameter again, no mask, no hook
    assert list(e.state_dict()) == list(t.state_dict()) and set(t.state_dict()) == {"weight", "bias"}
    assert isinstance(e.weight, nn.Parameter) and not prune.is_pruned(e)
