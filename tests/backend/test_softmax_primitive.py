"""Softmax and log-softmax through oneDNN's primitives (ember/backend/softmax.py): values and
gradients against PyTorch and against ember's NumPy passes, along every axis, with -inf and
large logits; NaN and inf rows (which oneDNN gets wrong) left to NumPy; the other cases left
to NumPy (and that they are); the gradient of a gradient; one primitive per shape."""
from contextlib import nullcontext

import numpy as np
import pytest

import ember
from ember.backend import kernels, onednn, primitives, softmax
from helpers import torch

RNG = np.random.default_rng(0)
TOL = dict(rtol=2e-5, atol=1e-5)  # gradients sum a row: float32 cancellation of about 1e-6 x |sum|

pytestmark = pytest.mark.skipif(onednn.library() is None, reason="oneDNN is not in use here")


def _compiled(shape=(256, 128), dim=-1, log=True) -> dict:
    """The runs oneDNN takes for a softmax of this shape and axis on this machine: those it has
    a JIT kernel for (with AVX2 no backward, and no forward along an axis other than the last;
    with AVX-512 both along the last axis, on some CPUs along others too), its reference loops
    being refused for NumPy's passes."""
    if onednn.library() is None:
        return {}
    y = softmax.forward(np.zeros(shape, np.float32), dim, log)
    y_numpy = np.full(shape, -np.log(shape[dim]) if log else 1 / shape[dim], np.float32)
    backward = softmax.backward(np.ones(shape, np.float32), y_numpy, dim, log) is not None
    return {**({"forward": 1} if y is not None else {}), **({"backward": 1} if backward else {})}


BACKWARD = {k: v for k, v in _compiled().items() if k == "backward"}


@pytest.fixture
def runs(monkeypatch):
    """kind ("forward" / "backward") -> number of oneDNN softmax executions."""
    counts = {}
    run = softmax._run

    def counted(kind, *args):
        done = run(kind, *args)
        if done:
            counts[kind] = counts.get(kind, 0) + 1
        return done
    monkeypatch.setattr(softmax, "_run", counted)
    return counts


def _logits(shape):
    """Logits with a -inf entry and one far from zero (exp overflows without the shift)."""
    x = RNG.standard_normal(shape).astype(np.float32) * 4
    x.reshape(-1)[[6, 100]] = [-np.inf, 90.0]
    return x


def _run(lib, x, g, dim, log):
    tensor = ember.tensor if lib is ember else torch.tensor
    t = tensor(x).requires_grad_()
    y = (lib.log_softmax if log else lib.softmax)(t, dim)
    y.backward(tensor(g))
    return y.detach().numpy(), t.grad.numpy()


@pytest.mark.parametrize("log", [True, False])
@pytest.mark.parametrize("shape,dim", [((700, 100), -1), ((64, 300), 0), ((4, 1000, 8), 1), ((8, 4, 32, 32), -1)])
def test_values_and_gradients_match_torch_and_numpy(runs, log, shape, dim):
    expected = _compiled(shape, dim, log)
    runs.clear()
    x = _logits(shape)
    g = RNG.standard_normal(shape).astype(np.float32)
    got = _run(ember, x, g, dim, log)
    assert runs == expected
    with onednn.off():
        ref = _run(ember, x, g, dim, log)
    want = _run(torch, x, g, dim, log)
    for e, r, w in zip(got, ref, want):
        np.testing.assert_allclose(e, w, **TOL)
        np.testing.assert_allclose(e, r, **TOL)


@pytest.mark.parametrize("log", [True, False])
@pytest.mark.parametrize("bad", ["nan", "+inf", "a row of -inf"])
@pytest.mark.parametrize("compiled", [True, False])
def test_nan_and_inf_take_numpys_passes(runs, log, bad, compiled):
    """oneDNN's row maximum skips NaN and a +inf row comes out partly 0 (-inf for log), where
    PyTorch's rows are NaN: those inputs take NumPy's forward. Log-softmax's backward of a NaN
    row comes out inf: its NaN results take NumPy's backward; softmax's stays oneDNN's. The
    check is a compiled count, or NumPy's maxima without the kernels."""
    if compiled and kernels.cpu() is None:
        pytest.skip("compiled kernels are off here")
    with (nullcontext() if compiled else kernels.off()):
        _check_nan_and_inf(runs, log, bad)


def _check_nan_and_inf(runs, log, bad):
    x = _logits((300, 200))
    if bad == "nan":
        x[0, 5] = np.nan
    elif bad == "+inf":
        x[0, 5], x[1, 3], x[1, 4] = np.inf, np.inf, -np.inf
    else:
        x[0] = -np.inf
    g = RNG.standard_normal(x.shape).astype(np.float32)
    got = _run(ember, x, g, -1, log)
    onednn_forward = bad == "a row of -inf"  # oneDNN's NaN row there is PyTorch's
    assert runs == {**({"forward": 1} if onednn_forward else {}), **({} if log else BACKWARD)}
    want = _run(torch, x, g, -1, log)
    assert np.isnan(got[0][0]).all() and np.isnan(got[1][0]).all()
    for e, w in zip(got, want):
        np.testing.assert_allclose(e, w, **TOL)


@pytest.mark.parametrize("case", ["small", "float64", "strided"])
def test_what_numpy_computes(runs, case):
    x = RNG.standard_normal((256, 128)).astype(np.float32)  # 32768 elements: oneDNN's size
    if case == "small":
        x = x[:64].copy()
    elif case == "float64":
        x = x.astype(np.float64)
    t = ember.tensor(x, requires_grad=True)
    y = ember.log_softmax(t.t(), 0) if case == "strided" else ember.log_softmax(t, 1)
    y.sum().backward()
    # a strided input: NumPy's forward; its contiguous result takes oneDNN's backward along
    # axis 0 where this machine has a JIT kernel for it
    backward = {k: v for k, v in _compiled((128, 256), 0).items() if k == "backward"}
    assert runs == (backward if case == "strided" else {})


def test_the_base_case_takes_onednn(runs):
    """The array test_what_numpy_computes changes is oneDNN's: so each case there stays on
    NumPy by what it changes."""
    t = ember.tensor(RNG.standard_normal((256, 128)).astype(np.float32), requires_grad=True)
    ember.log_softmax(t, 1).sum().backward()
    assert runs == {"forward": 1, **BACKWARD}


def test_double_backward_matches_torch(runs):
    """The gradient of a gradient (create_graph) is built from tensor ops; the second backward
    runs the primitive's backward again. Against PyTorch in float64: the second derivative's
    terms cancel to within float32's rounding of the largest of them."""
    x = RNG.standard_normal((256, 128)).astype(np.float32)

    def grads(lib, dtype):
        t = (ember.tensor if lib is ember else torch.tensor)(x.astype(dtype)).requires_grad_()
        y = lib.log_softmax(t, 1)
        (gx,) = lib.autograd.grad((y * y).sum(), t, create_graph=True)
        (gx * gx).sum().backward()
        return gx.detach().numpy(), t.grad.numpy()
    got = grads(ember, np.float32)
    assert runs == {"forward": 1, **BACKWARD}
    for e, w in zip(got, grads(torch, np.float64)):
        np.testing.assert_allclose(e, w, rtol=1e-4, atol=1e-5 * np.abs(w).max())


def test_one_primitive_family_per_shape_axis_and_algorithm(monkeypatch):
    made = []
    init = softmax._Softmax.__init__

    def counted(self, lib, shape, axis, log):
        made.append((shape, axis, log))
        init(self, lib, shape, axis, log)
    monkeypatch.setattr(softmax._Softmax, "__init__", counted)
    monkeypatch.setattr(primitives, "_cache", type(primitives._cache)())
    x = ember.tensor(RNG.standard_normal((128, 256)).astype(np.float32))
    for _ in range(3):
        ember.softmax(x, 1), ember.log_softmax(x, 1), ember.softmax(x, 0)
    assert made == [((128, 256), 1, False), ((128, 256), 1, True), ((128, 256), 0, False)]


def test_a_refused_primitive_is_remembered_and_its_checks_skipped(monkeypatch):
    monkeypatch.setattr(primitives, "_cache", type(primitives._cache)())
    key = ("backward", "test-refused")

    def build(lib):
        raise primitives.Refused("no JIT kernel")
    assert not primitives.refused(key)
    assert primitives.run(key, build, []) is None
    assert primitives.refused(key) and not primitives.refused(("backward", "another"))
    # softmax's backward then returns at once, without the NaN scan it makes before a run
    y = np.full((64, 300), -np.log(300), np.float32)
    monkeypatch.setattr(softmax, "refused", lambda key: key == ("backward", "softmax", (64, 300), 1, True))
    monkeypatch.setattr(softmax, "_no_nan_or_inf", lambda x: pytest.fail("scanned for NaN before a refused run"))
    assert softmax.backward(np.ones_like(y), y, 1, True) is None
