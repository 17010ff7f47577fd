"""nll_loss as one node (NllLossBackward0), and the engine running its backward with the
backward of the log_softmax it alone consumes as one pass: the same bits as the ops and nodes
run apart, and the pair run apart whenever anything else reads the log-probabilities'
gradient (another consumer, a hook, retain_grad, autograd.grad's inputs, create_graph)."""
import numpy as np
import pytest

import ember
from ember.backend import kernels
from ember.ops import loss as loss_ops
from ember.ops import nll

F = ember.nn.functional
torch = pytest.importorskip("torch")
needs_kernels = pytest.mark.skipif(
    kernels.cpu() is None, reason="the fused pass is a compiled kernel (Numba absent or EMBER_NUMBA=0): the pair "
                                  "runs apart, as test_without_kernels_the_pair_runs_apart checks")


@pytest.fixture
def fused(monkeypatch):
    """The outcomes of every fuse_backward call: True where the pair ran as one."""
    outcomes = []
    original = nll.NllLoss.fuse_backward

    def spy(self, producer, grads):
        result = original(self, producer, grads)
        outcomes.append(result is not None)
        return result
    monkeypatch.setattr(nll.NllLoss, "fuse_backward", spy)
    return outcomes


def _apart(monkeypatch):
    monkeypatch.setattr(nll.NllLoss, "fuse_backward", lambda self, producer, grads: None)


def _case(rows=37, classes=53, seed=0, dtype=np.float32, ignore=True):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, classes)).astype(dtype) * 3
    t = rng.integers(0, classes, rows)
    if ignore:
        t[::7] = -100
    w = rng.uniform(0.5, 2.0, classes).astype(dtype)
    return x, t, w


def _composed(logp, t, weight, ignore_index, reduction, shape):
    """nll_loss as its ops, the path half dtypes take."""
    classes, target = loss_ops._class_targets("nll_loss", logp, t, weight, ignore_index)
    rows, weight_sum = loss_ops._nll_rows(loss_ops._rows(logp, classes, target.size), target, weight, ignore_index)
    return loss_ops._reduce_rows(rows, weight_sum, reduction, shape)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(9,), (12, 9), (4, 9, 5), (3, 9, 4, 2)])
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_node_gives_the_ops_bits(dtype, reduction, shape, weighted):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(dtype)
    tshape = () if len(shape) == 1 else (shape[0],) + shape[2:]
    t = rng.integers(0, shape[0 if len(shape) == 1 else 1], tshape)
    if t.ndim:
        t.reshape(-1)[::3] = 2  # an ignored class
    w = ember.tensor(rng.uniform(0.5, 2, shape[0 if len(shape) == 1 else 1]).astype(dtype)) if weighted else None
    results, g = [], None
    for fn in (F.nll_loss, _composed):
        a = ember.tensor(x, requires_grad=True)
        out = fn(a, ember.tensor(t), w, ignore_index=2, reduction=reduction) if fn is F.nll_loss else \
            fn(a, ember.tensor(t), w, 2, reduction, tuple(tshape) if len(shape) > 1 else ())
        if g is None:
            g = ember.tensor(rng.standard_normal(out.shape).astype(dtype))
        out.backward(g)
        results.append((out.detach().numpy().reshape(-1), a.grad.numpy()))
    node = F.nll_loss(ember.tensor(x, requires_grad=True), ember.tensor(t), w, ignore_index=2, reduction=reduction)
    assert node.grad_fn.name() == ("ViewBackward0" if reduction == "none" and len(shape) == 3 else
                                   "NllLossBackward0" if len(shape) <= 2 else "NllLoss2DBackward0")
    (v1, g1), (v2, g2) = results
    np.testing.assert_array_equal(v1.view(np.uint8), v2.view(np.uint8))
    np.testing.assert_array_equal(g1.view(np.uint8), g2.view(np.uint8))


def test_every_target_ignored_gives_pytorchs_nan_loss_and_zero_gradient():
    x, t, _ = _case(rows=5)
    t[:] = -100
    a = ember.tensor(x, requires_grad=True)
    loss = F.nll_loss(F.log_softmax(a, 1), ember.tensor(t))
    loss.backward()
    assert np.isnan(loss.item()) and not a.grad.numpy().any()


def test_nll_node_differentiates_twice():
    x, t, w = _case(rows=6, classes=4, dtype=np.float64)
    a = ember.tensor(x, requires_grad=True)
    args = (ember.tensor(t), ember.tensor(w))
    assert ember.autograd.gradcheck(lambda v: F.nll_loss(F.log_softmax(v, 1), *args), (a,))
    assert ember.autograd.gradgradcheck(lambda v: F.nll_loss(F.log_softmax(v, 1), *args, reduction="sum"), (a,))


@needs_kernels
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_pair_runs_as_one_with_the_bits_of_the_two_and_pytorchs_values(fused, monkeypatch, reduction, weighted):
    x, t, w = _case()
    x[3, :5] = np.nan  # a NaN row stays NaN
    weight = ember.tensor(w) if weighted else None
    grads = []
    for run in range(2):
        if run:
            _apart(monkeypatch)
        a = ember.tensor(x, requires_grad=True)
        out = F.nll_loss(F.log_softmax(a, 1), ember.tensor(t), weight, reduction=reduction)
        out.backward(ember.ones_like(out) * 0.75)
        grads.append(a.grad.numpy())
    assert fused == [True]
    np.testing.assert_array_equal(grads[0].view(np.uint32), grads[1].view(np.uint32))
    ta = torch.tensor(x, requires_grad=True)
    tout = torch.nn.functional.nll_loss(torch.log_softmax(ta, 1), torch.tensor(t),
                                        torch.tensor(w) if weighted else None, reduction=reduction)
    tout.backward(torch.ones_like(tout) * 0.75)
    np.testing.assert_allclose(grads[0], ta.grad.numpy(), rtol=1e-5, atol=1e-7)


def _torch_grads(x, t, extra):
    ta = torch.tensor(x, requires_grad=True)
    lp = torch.log_softmax(ta, 1)
    lp.retain_grad()
    loss = torch.nn.functional.nll_loss(lp, torch.tensor(t))
    if extra:
        loss = loss + (lp * 0.5).sum()
    loss.backward()
    return ta.grad.numpy(), lp.grad.numpy()


@pytest.mark.parametrize("first", [True, False])
def test_another_consumer_keeps_the_pair_apart_in_either_order(fused, first):
    x, t, _ = _case(seed=2)
    a = ember.tensor(x, requires_grad=True)
    lp = F.log_softmax(a, 1)
    other = (lp * 0.5).sum()
    loss = other + F.nll_loss(lp, ember.tensor(t)) if first else F.nll_loss(lp, ember.tensor(t)) + other
    loss.backward()
    assert True not in fused
    np.testing.assert_allclose(a.grad.numpy(), _torch_grads(x, t, True)[0], rtol=1e-5, atol=1e-6)


@needs_kernels
def test_retain_grad_hooks_and_requested_inputs_keep_the_pair_apart(fused):
    x, t, _ = _case(seed=3)
    want_x, want_lp = _torch_grads(x, t, False)
    a = ember.tensor(x, requires_grad=True)
    lp = F.log_softmax(a, 1)
    lp.retain_grad()
    F.nll_loss(lp, ember.tensor(t)).backward()
    np.testing.assert_allclose(lp.grad.numpy(), want_lp, rtol=1e-6)

    seen = []
    lp = F.log_softmax(a, 1)
    lp.register_hook(lambda g: seen.append(g.numpy().copy()))
    F.nll_loss(lp, ember.tensor(t)).backward()
    np.testing.assert_allclose(seen[0], want_lp, rtol=1e-6)

    lp = F.log_softmax(a, 1)
    g_lp, g_x = ember.autograd.grad(F.nll_loss(lp, ember.tensor(t)), [lp, a])
    np.testing.assert_allclose(g_lp.numpy(), want_lp, rtol=1e-6)
    np.testing.assert_allclose(g_x.numpy(), want_x, rtol=1e-5, atol=1e-7)
    assert True not in fused

    g_x, = ember.autograd.grad(F.nll_loss(F.log_softmax(a, 1), ember.tensor(t)), [a])
    np.testing.assert_allclose(g_x.numpy(), want_x, rtol=1e-5, atol=1e-7)
    assert fused[-1] is True  # only the leaf requested: nothing reads the pair's middle


def test_create_graph_keeps_the_pair_apart_and_differentiable(fused):
    x, t, _ = _case(rows=8, classes=6, seed=4)
    a = ember.tensor(x, requires_grad=True)
    g, = ember.autograd.grad(F.nll_loss(F.log_softmax(a, 1), ember.tensor(t)), [a], create_graph=True)
    (g * g).sum().backward()
    ta = torch.tensor(x, requires_grad=True)
    tg, = torch.autograd.grad(torch.nn.functional.nll_loss(torch.log_softmax(ta, 1), torch.tensor(t)), [ta],
                              create_graph=True)
    (tg * tg).sum().backward()
    assert fused == []
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-4, atol=1e-7)


def test_other_layouts_and_dtypes_run_the_pair_apart(fused):
    x, t, _ = _case(seed=5)
    for dtype, dim in ((ember.float64, 1), (ember.float32, 0)):
        a = ember.tensor(x.T if dim == 0 else x, dtype=dtype, requires_grad=True)
        lp = F.log_softmax(a, dim)
        F.nll_loss(lp.T if dim == 0 else lp, ember.tensor(t)).backward()
        ta = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        torch.nn.functional.nll_loss(torch.log_softmax(ta, 1), torch.tensor(t)).backward()
        got = a.grad.numpy().T if dim == 0 else a.grad.numpy()
        np.testing.assert_allclose(got, ta.grad.numpy(), rtol=1e-5, atol=1e-7)
    assert True not in fused


def test_a_second_backward_through_a_freed_pair_raises_as_apart():
    x, t, _ = _case(seed=6)
    a = ember.tensor(x, requires_grad=True)
    loss = F.nll_loss(F.log_softmax(a, 1), ember.tensor(t))
    loss.backward(retain_graph=True)
    loss.backward()  # kept: the second pass runs and adds up
    once = F.nll_loss(F.log_softmax(ember.tensor(x, requires_grad=True), 1), ember.tensor(t))
    once.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        once.backward()


def test_without_kernels_the_pair_runs_apart(fused, monkeypatch):
    x, t, _ = _case(seed=7)
    monkeypatch.setattr(kernels, "cpu", lambda: None)
    a = ember.tensor(x, requires_grad=True)
    F.nll_loss(F.log_softmax(a, 1), ember.tensor(t)).backward()
    assert fused == [False]
    np.testing.assert_allclose(a.grad.numpy(), _torch_grads(x, t, False)[0], rtol=1e-5, atol=1e-7)
