"""ember.utils.checkpoint: gradients equal those without checkpointing (dropout included,
through the saved random state); warnings and errors as torch.utils.checkpoint's."""
import warnings

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.utils.checkpoint import checkpoint, checkpoint_sequential

torch = pytest.importorskip("torch")
tcp = pytest.importorskip("torch.utils.checkpoint")


def mlp(lib):
    return lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.ReLU(), lib.nn.Dropout(0.5), lib.nn.Linear(8, 8),
                             lib.nn.Tanh(), lib.nn.Dropout(0.3), lib.nn.Linear(8, 3))


def grads_of(model, x, run, seed):
    model.zero_grad()
    x.grad = None
    ember.manual_seed(seed)
    y = run(model, x)
    g = ember.tensor(np.random.default_rng(seed).standard_normal(tuple(y.shape)).astype(np.float32))
    y.backward(g)
    return y.detach().numpy(), x.grad.numpy().copy(), [p.grad.numpy().copy() for p in model.parameters()]


RUNS = {
    "reentrant": lambda m, x: checkpoint(m, x, use_reentrant=True),
    "non_reentrant": lambda m, x: checkpoint(m, x, use_reentrant=False),
    "sequential2": lambda m, x: checkpoint_sequential(m, 2, x, use_reentrant=False),
    "sequential3": lambda m, x: checkpoint_sequential(m, 3, x, use_reentrant=True),
    "nested": lambda m, x: checkpoint(lambda t: m[4:](checkpoint(m[:4], t, use_reentrant=False)), x,
                                      use_reentrant=False),
}


@pytest.mark.parametrize("name", list(RUNS))
def test_gradients_equal_plain_run_with_dropout(name):
    ember.manual_seed(0)
    model = mlp(ember)
    x = ember.randn(6, 4, requires_grad=True)
    plain = grads_of(model, x, lambda m, t: m(t), seed=3)
    ckpt = grads_of(model, x, RUNS[name], seed=3)
    np.testing.assert_array_equal(ckpt[0], plain[0])
    np.testing.assert_allclose(ckpt[1], plain[1], rtol=1e-6, atol=1e-7)
    for a, b in zip(ckpt[2], plain[2]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    # the random stream after the step continues as without checkpointing
    ember.manual_seed(3)
    model(x)
    expected = ember.rand(3).numpy()
    ember.manual_seed(3)
    out = RUNS[name](model, x)
    out.sum().backward()
    np.testing.assert_array_equal(ember.rand(3).numpy(), expected)


def test_without_preserve_rng_state_the_rerun_draws_new_masks():
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(50, 50), nn.Dropout(0.5))
    x = ember.randn(4, 50, requires_grad=True)
    plain = grads_of(model, x, lambda m, t: m(t), seed=1)
    other = grads_of(model, x, lambda m, t: checkpoint(m, t, use_reentrant=False, preserve_rng_state=False),
                     seed=1)
    assert not np.allclose(plain[1], other[1])


def test_autograd_grad_kwargs_tuple_outputs_and_double_backward():
    ember.manual_seed(0)
    lin = nn.Linear(3, 3)
    x = ember.randn(2, 3, requires_grad=True)

    def fn(a, scale=1.0, tag=None):
        h = lin(a).tanh() * scale
        return h, tag, h.pow(3)
    out = checkpoint(fn, x, use_reentrant=False, scale=2.0, tag="t")
    assert out[1] == "t"
    h, _, h3 = fn(x, scale=2.0)
    loss_c, loss_p = (out[0] * out[2]).sum(), (h * h3).sum()
    gc = ember.autograd.grad(loss_c, [x, lin.weight], create_graph=True)
    gp = ember.autograd.grad(loss_p, [x, lin.weight], create_graph=True)
    for a, b in zip(gc, gp):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5)
    assert lin.weight.grad is None  # autograd.grad leaves .grad alone
    ggc = ember.autograd.grad(gc[0].sum(), x)[0]
    ggp = ember.autograd.grad(gp[0].sum(), x)[0]
    np.testing.assert_allclose(ggc.numpy(), ggp.numpy(), rtol=1e-5, atol=1e-6)


def test_no_grad_mode_and_inputs_without_grad():
    lin = nn.Linear(3, 2)
    x = ember.randn(2, 3)
    with ember.no_grad():
        assert checkpoint(lin, x, use_reentrant=False).grad_fn is None
    y = checkpoint(lin, x, use_reentrant=False)  # the parameters still get gradients
    y.sum().backward()
    assert lin.weight.grad is not None


def _messages(fn):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        fn()
    return [(type(m.message), str(m.message)) for m in w]


@pytest.mark.parametrize("call", [
    lambda cp, lib, lin, x: cp.checkpoint(lin, x),
    lambda cp, lib, lin, x: cp.checkpoint_sequential(lib.nn.Sequential(lin, lib.nn.ReLU()), 2, x),
    lambda cp, lib, lin, x: cp.checkpoint(lin, x.detach(), use_reentrant=True),
    lambda cp, lib, lin, x: cp.checkpoint(lin, x, use_reentrant=False),
])
def test_warnings_match_torch(call):
    def run(cp, lib):
        lin = lib.nn.Linear(3, 3)
        x = lib.randn(2, 3, requires_grad=True)
        return _messages(lambda: call(cp, lib, lin, x))
    te, tt = run(__import__("ember.utils.checkpoint").utils.checkpoint, ember), run(tcp, torch)
    assert [c for c, _ in te] == [c for c, _ in tt]
    for (_, me), (_, mt) in zip(te, tt):
        for key in ("use_reentrant", "requires_grad"):
            assert (key in me) == (key in mt)


@pytest.mark.parametrize("call,exc", [
    (lambda cp, lin, x: cp.checkpoint(lin, x, use_reentrant=True, foo=1), ValueError),
    (lambda cp, lin, x: cp.checkpoint(lin, x, use_reentrant=False, bogus=1), TypeError),
    (lambda cp, lin, x: cp.checkpoint(lin, x, use_reentrant=True, debug=True), ValueError),
    (lambda cp, lin, x: cp.checkpoint_sequential([lin], 1, x, use_reentrant=False, foo=1), ValueError),
])
def test_errors_match_torch(call, exc):
    import ember.utils.checkpoint as ecp
    with pytest.raises(exc):
        call(tcp, torch.nn.Linear(3, 3), torch.randn(2, 3, requires_grad=True))
    with pytest.raises(exc):
        call(ecp, nn.Linear(3, 3), ember.randn(2, 3, requires_grad=True))


def test_inplace_change_of_an_input_is_detected():
    lin = nn.Linear(3, 3)
    x = ember.randn(2, 3, requires_grad=True)
    h = x * 1.0
    y = checkpoint(lin, h, use_reentrant=False)
    with ember.no_grad():
        h.add_(1.0)
    with pytest.raises(RuntimeError):
        y.sum().backward()
