"""The compiled one-pass updates of SGD, Adam, AdamW, Adadelta and RMSprop give the same bits
as the optimizers' NumPy array math, step after step, with every option; the cases they leave
to NumPy are left to it. (tests/optim/test_optimizers.py checks both paths against torch.optim.)"""
import numpy as np
import pytest

import ember
from ember.backend import kernels
from helpers import count_calls

pytestmark = pytest.mark.skipif(kernels.cpu() is None, reason="compiled kernels are off (numba missing or "
                                                                "EMBER_NUMBA=0): the NumPy path runs everywhere")

CASES = [
    ("SGD", "sgd", dict(lr=0.1)),
    ("SGD", "sgd", dict(lr=0.1, momentum=0.9)),
    ("SGD", "sgd", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", "sgd", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.05, maximize=True)),
    ("Adam", "adam", dict()),
    ("Adam", "adam", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    ("Adam", "adam", dict(lr=0.01, amsgrad=True, betas=(0.3, 0.9))),  # 1 - beta1 >= 0.5: lerp's other form
    ("Adam", "adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", "adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1, eps=1e-3)),
    ("Adadelta", "adadelta", dict()),
    ("Adadelta", "adadelta", dict(lr=0.5, rho=0.8, weight_decay=0.1, eps=1e-4, maximize=True)),
    ("RMSprop", "rmsprop", dict()),
    ("RMSprop", "rmsprop", dict(lr=0.01, momentum=0.9, weight_decay=0.1)),
    ("RMSprop", "rmsprop", dict(lr=0.01, centered=True, momentum=0.5, alpha=0.9, maximize=True)),
    ("RMSprop", "rmsprop", dict(lr=0.01, centered=True, alpha=0.3)),
]
IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'defaults'}" for n, _, kw in CASES]


@pytest.fixture
def calls(monkeypatch):
    """kernel name -> number of calls of the one-pass update kernels, on one thread and parallel."""
    names = ("sgd", "adam", "adadelta", "rmsprop")
    return count_calls(monkeypatch, kernels.cpu().optim, names + tuple(n + "_parallel" for n in names))


def _grads(dtype, shapes, steps, special: bool):
    """Per step, per parameter: a gradient; with ``special``, zeros, huge and tiny values,
    infinities and NaN among them."""
    rng = np.random.default_rng(3)
    out = []
    for _ in range(steps):
        step = []
        for s in shapes:
            g = rng.standard_normal(s).astype(dtype)
            if special:
                flat = g.reshape(-1)
                flat[:6] = [0.0, 1e30, -1e-30, np.inf, -np.inf, np.nan][:flat.size]
            step.append(g)
        out.append(step)
    return out


def _run(name, kwargs, dtype, special=False, steps=4, make=None, shapes=((5, 7), (7,), (2, 3, 4), ())):
    """Parameters and optimizer state after ``steps`` steps from fixed gradients."""
    rng = np.random.default_rng(0)
    params = [ember.tensor(rng.uniform(-1, 1, s).astype(dtype), requires_grad=True) for s in shapes]
    if make is not None:
        params = [make(p) for p in params]
    opt = getattr(ember.optim, name)(params, **kwargs)
    for grads in _grads(dtype, [tuple(p.shape) for p in params], steps, special):
        for p, g in zip(params, grads):
            p.grad = ember.tensor(g)
        opt.step()
    state = [{k: v.numpy().copy() for k, v in opt.state[p].items()} for p in params]
    return [p.detach().numpy().copy() for p in params], state


def _assert_same(got, want):
    for a, b in zip(got[0], want[0]):
        np.testing.assert_array_equal(a, b)
    for sa, sb in zip(got[1], want[1]):
        assert list(sa) == list(sb)
        for k in sa:
            np.testing.assert_array_equal(sa[k], sb[k], err_msg=k)


@pytest.mark.parametrize("special", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,kernel,kwargs", CASES, ids=IDS)
def test_one_pass_gives_the_array_maths_bits(calls, name, kernel, kwargs, dtype, special):
    got = _run(name, kwargs, dtype, special)
    assert calls == {kernel: 4 * 4}
    with kernels.off():
        want = _run(name, kwargs, dtype, special)
    _assert_same(got, want)


@pytest.mark.parametrize("name,kernel,kwargs", CASES, ids=IDS)
def test_large_parameters_are_updated_over_the_cores_with_the_same_bits(calls, name, kernel, kwargs):
    """From PARALLEL_FROM elements the update runs in blocks over the cores (the last block
    partial): the array math's bits still, special values included; smaller ones stay on one
    thread."""
    size = kernels.cpu().optim.PARALLEL_FROM
    shapes = ((3, size // 3 + 5), (size - 1,))
    got = _run(name, kwargs, "float32", True, steps=3, shapes=shapes)
    assert calls == {kernel + "_parallel": 3, kernel: 3}
    with kernels.off():
        want = _run(name, kwargs, "float32", True, steps=3, shapes=shapes)
    _assert_same(got, want)


def test_first_sgd_momentum_step_fills_the_buffer_from_an_empty_one(calls):
    """The buffer is created uninitialized and the first step writes all of it."""
    got = _run("SGD", dict(lr=0.1, momentum=0.9, nesterov=True), "float32", steps=1)
    with kernels.off():
        want = _run("SGD", dict(lr=0.1, momentum=0.9, nesterov=True), "float32", steps=1)
    _assert_same(got, want)
    np.testing.assert_array_equal(got[1][0]["momentum_buffer"], _grads("float32", [(5, 7)], 1, False)[0][0])


@pytest.mark.parametrize("layout", ["transposed", "channels-last"])
def test_dense_parameters_of_another_layout_take_the_one_pass_update(calls, layout):
    """A parameter whose elements fill its memory in another order (and its states, laid out
    alike) is updated flat in that order; its row-major gradient is laid out so first."""
    def relaid(p):
        if p.dim() < 2:
            return p
        if layout == "transposed":
            return p.detach().mT.requires_grad_()
        return p.detach().unsqueeze(0).contiguous(memory_format=ember.channels_last).requires_grad_() \
            if p.dim() == 3 else p
    shapes = ((5, 7), (7,), (2, 3, 4), ())
    got = _run("Adam", dict(lr=0.01), "float32", make=relaid, shapes=shapes)
    assert calls == {"adam": 4 * 4}
    with kernels.off():
        want = _run("Adam", dict(lr=0.01), "float32", make=relaid, shapes=shapes)
    _assert_same(got, want)


@pytest.mark.parametrize("case", ["with gaps", "float16", "state loaded as a view"])
def test_other_parameters_take_the_array_maths(calls, case):
    if case == "with gaps":
        def strided(p):
            return p.detach()[..., ::2].requires_grad_() if p.dim() >= 2 else p
        got = _run("Adam", dict(lr=0.01), "float32", make=strided)
        with kernels.off():
            want = _run("Adam", dict(lr=0.01), "float32", make=strided)
        assert calls == {"adam": 4 * 2}  # the two 1-d and 0-d parameters only
        _assert_same(got, want)
    elif case == "float16":
        got = _run("SGD", dict(lr=0.1, momentum=0.9), "float16")
        assert calls == {}
        with kernels.off():
            _assert_same(got, _run("SGD", dict(lr=0.1, momentum=0.9), "float16"))
    else:
        p = ember.tensor(np.ones((4, 4), np.float32), requires_grad=True)
        opt = ember.optim.SGD([p], lr=0.1, momentum=0.9)
        p.grad = ember.ones(4, 4)
        opt.step()
        opt.state[p]["momentum_buffer"] = ember.ones(4, 8)[:, ::2]  # a strided view: not one pass
        opt.step()
        assert calls == {"sgd": 1}
        np.testing.assert_allclose(p.detach().numpy(), np.full((4, 4), 1 - 0.1 - 0.1 * 1.9), rtol=1e-6)
