"""Global optimizer step hooks (optim.optimizer.register_optimizer_step_pre/post_hook)
against PyTorch: call order around per-instance hooks, args rewriting, removal."""
from __future__ import annotations

from importlib import import_module

import pytest

import ember

torch = pytest.importorskip("torch")


def _module(lib):
    # torch.optim does not keep its `optimizer` submodule as an attribute: import it by name
    return import_module(f"{lib.__name__}.optim.optimizer")


def _trace(lib, opt_name: str, remove_global: bool = False) -> tuple[list, list]:
    """Register global and per-instance hooks on two optimizers, step both; return the
    call log and the parameters' values after the steps."""
    optimizer_mod = _module(lib)
    log = []
    p1 = lib.nn.Parameter(lib.tensor([1.0, -2.0]))
    p2 = lib.nn.Parameter(lib.tensor([0.5]))
    opts = [getattr(lib.optim, opt_name)([p1], lr=0.1), lib.optim.SGD([p2], lr=0.5)]
    handles = [
        optimizer_mod.register_optimizer_step_pre_hook(
            lambda o, a, k: log.append(("global pre", type(o).__name__, len(a), dict(k)))),
        optimizer_mod.register_optimizer_step_post_hook(
            lambda o, a, k: log.append(("global post", type(o).__name__))),
        optimizer_mod.register_optimizer_step_pre_hook(lambda o, a, k: log.append(("global pre 2",))),
    ]
    try:
        for i, opt in enumerate(opts):
            opt.register_step_pre_hook(lambda o, a, k, i=i: log.append(("own pre", i)))
            opt.register_step_post_hook(lambda o, a, k, i=i: log.append(("own post", i)))
        if remove_global:
            handles[0].remove()
        for p in (p1, p2):
            p.grad = lib.ones_like(p)
        for opt in opts:
            opt.step()
    finally:
        for h in handles:
            h.remove()
    return log, [p.detach().tolist() for p in (p1, p2)]


@pytest.mark.parametrize("opt_name", ["SGD", "Adam", "RMSprop"])
@pytest.mark.parametrize("remove_global", [False, True])
def test_global_hooks_order_matches_torch(opt_name, remove_global):
    assert _trace(ember, opt_name, remove_global) == _trace(torch, opt_name, remove_global)


def test_removed_global_hooks_no_longer_run():
    # after _trace every handle is removed: a plain step logs nothing
    for lib in (ember, torch):
        calls = []
        p = lib.nn.Parameter(lib.tensor([1.0]))
        opt = lib.optim.SGD([p], lr=0.1)
        h = _module(lib).register_optimizer_step_post_hook(lambda *a: calls.append(1))
        p.grad = lib.ones_like(p)
        opt.step()
        h.remove()
        opt.step()
        assert calls == [1]


def _rewriting(lib) -> list:
    """A global pre-hook that returns new (args, kwargs) changes what step receives; an
    invalid return value raises RuntimeError."""
    seen = []
    p = lib.nn.Parameter(lib.tensor([2.0]))
    opt = lib.optim.LBFGS([p], lr=0.1, max_iter=1)

    def closure():
        seen.append("closure")
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    h = _module(lib).register_optimizer_step_pre_hook(lambda o, a, k: (a, {"closure": closure}))
    try:
        opt.step()  # the hook supplies the closure
    finally:
        h.remove()
    bad = _module(lib).register_optimizer_step_pre_hook(lambda o, a, k: 1)
    try:
        with pytest.raises(RuntimeError, match="must return None or a tuple"):
            lib.optim.SGD([p], lr=0.1).step()
    finally:
        bad.remove()
    return seen, p.detach().tolist()


def test_global_pre_hook_rewrites_arguments():
    (seen, value), (seen_t, value_t) = _rewriting(ember), _rewriting(torch)
    assert seen == seen_t and seen
    assert value == pytest.approx(value_t)
