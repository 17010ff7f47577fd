"""The engine finishes each leaf as soon as every edge into it has arrived: gradients that are
None along some edges still let the rest flow, and post-accumulate hooks run mid-pass."""
import numpy as np
import pytest

import ember
from helpers import torch


def _none_grad(lib):
    class DropsGradient(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return None
    return DropsGradient


@pytest.mark.parametrize("lib", [ember, torch], ids=["ember", "torch"])
def test_a_none_gradient_along_one_edge_does_not_stop_the_others(lib):
    x = lib.ones(3, requires_grad=True)
    y = x * 3
    (_none_grad(lib).apply(y).sum() + (y * y).sum()).backward()
    assert x.grad.tolist() == [18.0, 18.0, 18.0]  # 3 * 2y = 18, from the second path only


def test_none_gradients_everywhere_leave_grad_unset():
    x = ember.ones(2, requires_grad=True)
    y = x * 3
    _none_grad(ember).apply(y).sum().backward()
    assert x.grad is None


def test_post_accumulate_hooks_run_when_each_leaf_is_complete_and_match_torch():
    def run(lib):
        rng = np.random.default_rng(0)
        w1 = lib.tensor(rng.standard_normal((4, 3)), requires_grad=True)
        w2 = lib.tensor(rng.standard_normal((3, 2)), requires_grad=True)
        events = []
        for name, w in (("w1", w1), ("w2", w2)):
            w.register_post_accumulate_grad_hook(
                lambda t, name=name: events.append((name, None if t.grad is None else t.grad.sum().item())))
        x = lib.tensor(rng.standard_normal((5, 4)))
        h = (x @ w1).tanh()
        seen = []

        class Probe(lib.autograd.Function):  # a node between the layers records when it runs
            @staticmethod
            def forward(ctx, t):
                return t * 1

            @staticmethod
            def backward(ctx, g):
                seen.append(list(events))
                return g
        (Probe.apply(h) @ w2).sum().backward()
        return events, seen
    e_events, e_seen = run(ember)
    t_events, t_seen = run(torch)
    assert [n for n, _ in e_events] == [n for n, _ in t_events] == ["w2", "w1"]
    np.testing.assert_allclose([v for _, v in e_events], [v for _, v in t_events], rtol=1e-10)
    assert e_seen == [[e_events[0]]] and [n for n, _ in t_seen[0]] == ["w2"]  # w2 finished before w1's path ran


def test_post_accumulate_hook_errors_and_removal():
    y = ember.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="cannot be registered on non-leaf tensors"):
        y.register_post_accumulate_grad_hook(lambda t: None)
    x = ember.ones(2, requires_grad=True)
    calls = []
    handle = x.register_post_accumulate_grad_hook(calls.append)
    (x * 2).sum().backward()
    handle.remove()
    (x * 2).sum().backward()
    assert calls == [x] and x.grad.tolist() == [4.0, 4.0]
