"""nn.utils: gradient clipping and parameter/vector conversion, against torch.nn.utils."""
import math

import numpy as np
import pytest

import ember
import ember.nn.utils as EU
from helpers import assert_close

torch = pytest.importorskip("torch")
TU = torch.nn.utils

SHAPES = [(3, 4), (5,), (), (2, 1, 3)]


def params_with_grads(scale=1.0, dtype=np.float32, seed=0, shapes=SHAPES):
    """The same parameters (with .grad set) for ember and torch."""
    rng = np.random.default_rng(seed)
    ep, tp = [], []
    for shape in shapes:
        w = rng.standard_normal(shape).astype(dtype)
        g = (rng.standard_normal(shape) * scale).astype(dtype)
        e = ember.tensor(w, requires_grad=True)
        e.grad = ember.tensor(g)
        t = torch.tensor(w, requires_grad=True)
        t.grad = torch.tensor(g)
        ep.append(e)
        tp.append(t)
    return ep, tp


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf, 3.0, 0.5, -math.inf, 0.0])
@pytest.mark.parametrize("scale,max_norm", [(1.0, 0.5), (0.01, 10.0), (5.0, 1.0)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clip_grad_norm_matches_torch(norm_type, scale, max_norm, dtype):
    ep, tp = params_with_grads(scale, dtype)
    total_e = EU.clip_grad_norm_(ep, max_norm, norm_type=norm_type)
    total_t = TU.clip_grad_norm_(tp, max_norm, norm_type=norm_type)
    assert_close(total_e, total_t)
    for e, t in zip(ep, tp):
        assert_close(e.grad, t.grad)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_gradients_are_scaled_over_the_cores_with_numpys_bits(monkeypatch, dtype):
    """Gradients are scaled in one compiled pass, from 64k elements over the cores (where the
    kernels are on): the bits of NumPy's in-place product, PyTorch's values."""
    from ember.backend import kernels
    from helpers import count_calls
    shapes = [(300, 250), (7,)]
    ep, tp = params_with_grads(3.0, dtype, shapes=shapes)
    scaled = [p.grad.numpy().copy() for p in ep]
    calls = None
    if kernels.cpu() is not None:
        calls = count_calls(monkeypatch, kernels.cpu().optim, ("scale", "scale_parallel"))
    total = EU.clip_grad_norm_(ep, 0.5)
    TU.clip_grad_norm_(tp, 0.5)
    for a in scaled:
        a *= a.dtype.type(min(0.5 / (float(total) + 1e-6), 1.0))
    for e, t, want in zip(ep, tp, scaled):
        np.testing.assert_array_equal(e.grad.numpy(), want)
        assert_close(e.grad, t.grad)
    assert calls is None or calls == {"scale_parallel": 1, "scale": 1}


def test_a_read_only_gradient_is_refused_as_numpy_refuses_it():
    import numpy as np
    p = ember.ones(300, 250, requires_grad=True)
    data = np.ones((300, 250), np.float32)
    data.flags.writeable = False
    p.grad = ember.tensor(data)
    p.grad._data = data  # ember.tensor copied it: the read-only array itself
    with pytest.raises(ValueError, match="read-only"):
        EU.clip_grad_norm_([p], 1.0)


def test_clip_grad_norm_inputs():
    # a single tensor, a generator, parameters without grads, no grads at all
    ep, tp = params_with_grads(3.0)
    assert_close(EU.clip_grad_norm_(ep[0], 1.0), TU.clip_grad_norm_(tp[0], 1.0))
    assert_close(ep[0].grad, tp[0].grad)
    ep[1].grad = None
    tp[1].grad = None
    assert_close(EU.clip_grad_norm_((p for p in ep), 0.1), TU.clip_grad_norm_((p for p in tp), 0.1))
    for e, t in zip(ep, tp):
        assert (e.grad is None) == (t.grad is None)
        if t.grad is not None:
            assert_close(e.grad, t.grad)
    empty = EU.clip_grad_norm_([ember.zeros(2, requires_grad=True)], 1.0)
    assert_close(empty, TU.clip_grad_norm_([torch.zeros(2, requires_grad=True)], 1.0))


def test_clip_grad_norm_modifies_grads_in_place():
    ep, _ = params_with_grads(10.0)
    before = [p.grad for p in ep]
    versions = [g._version for g in before]
    EU.clip_grad_norm_(ep, 1.0)
    assert all(p.grad is g for p, g in zip(ep, before))
    assert all(g._version > v for g, v in zip(before, versions))
    assert abs(EU.get_total_norm([p.grad for p in ep]).item() - 1.0) < 1e-5


def test_clip_grad_norm_nonfinite():
    ep, tp = params_with_grads()
    ep[0].grad._data[0, 0] = np.inf
    tp[0].grad[0, 0] = np.inf
    with pytest.raises(RuntimeError, match="The total norm of order 2.0 for gradients from `parameters` "
                                           "is non-finite"):
        EU.clip_grad_norm_(ep, 1.0, error_if_nonfinite=True)
    assert_close(EU.clip_grad_norm_(ep, 1.0), TU.clip_grad_norm_(tp, 1.0))
    for e, t in zip(ep, tp):
        assert_close(e.grad, t.grad)


def test_get_total_norm_and_clip_grads_with_norm():
    ep, tp = params_with_grads(2.0)
    eg, tg = [p.grad for p in ep], [p.grad for p in tp]
    for norm_type in (2.0, 1.0, math.inf):
        assert_close(EU.get_total_norm(eg, norm_type), TU.get_total_norm(tg, norm_type))
    total_e, total_t = EU.get_total_norm(eg), TU.get_total_norm(tg)
    EU.clip_grads_with_norm_(ep, 1.5, total_e)
    TU.clip_grads_with_norm_(tp, 1.5, total_t)
    for e, t in zip(ep, tp):
        assert_close(e.grad, t.grad)
    assert_close(EU.get_total_norm([]), TU.get_total_norm([]))


def test_clip_grad_norm_deprecated_alias():
    ep, tp = params_with_grads(3.0)
    with pytest.warns(FutureWarning, match="deprecated in favor of `ember.nn.utils.clip_grad_norm_`"):
        total = EU.clip_grad_norm(ep, 1.0)
    assert_close(total, TU.clip_grad_norm_(tp, 1.0))


@pytest.mark.parametrize("clip_value", [0.1, 1.0, 5.0])
def test_clip_grad_value_matches_torch(clip_value):
    ep, tp = params_with_grads(2.0)
    assert EU.clip_grad_value_(ep, clip_value) is None
    TU.clip_grad_value_(tp, clip_value)
    for e, t in zip(ep, tp):
        assert_close(e.grad, t.grad)
    EU.clip_grad_value_(ep[0], 0.05)
    TU.clip_grad_value_(tp[0], 0.05)
    assert_close(ep[0].grad, tp[0].grad)


def test_exported_from_nn_utils():
    assert ember.nn.utils.clip_grad_norm_ is EU.clip_grad.clip_grad_norm_
    assert EU.parameters_to_vector is EU.convert_parameters.parameters_to_vector


def test_parameters_to_vector_and_back():
    ep, tp = params_with_grads()
    ve, vt = EU.parameters_to_vector(ep), TU.parameters_to_vector(tp)
    assert_close(ve, vt)
    # differentiable, as in PyTorch
    ve.backward(ember.arange(ve.numel(), dtype=ember.float32))
    vt.backward(torch.arange(vt.numel(), dtype=torch.float32))
    for e, t in zip(ep, tp):
        assert_close(e.grad, t.grad)

    new = np.arange(vt.numel(), dtype=np.float32) * 0.5
    ve, vt = ember.tensor(new), torch.tensor(new)
    EU.vector_to_parameters(ve, ep)
    TU.vector_to_parameters(vt, tp)
    for e, t in zip(ep, tp):
        assert_close(e.detach(), t.detach())
        assert e.requires_grad and e.is_leaf
    # the parameters now share the vector's storage
    with ember.no_grad():
        ve[0] = 100.0
    assert ep[0].detach().numpy()[0, 0] == 100.0


def test_vector_to_parameters_errors():
    ep, _ = params_with_grads()
    with pytest.raises(TypeError, match="expected ember.Tensor, but got: list"):
        EU.vector_to_parameters([1.0, 2.0], ep)
    with pytest.raises(RuntimeError, match="invalid for input of size 2"):
        EU.vector_to_parameters(ember.ones(2), ep)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
def test_total_norm_of_complex_gradients_matches_torch(norm_type):
    """Complex gradients take the moduli: the 2-norm is not the plain dot product of the values."""
    rng = np.random.default_rng(3)
    grads = [(rng.standard_normal(s) + 1j * rng.standard_normal(s)).astype(np.complex64) for s in ((3, 4), (5,))]
    got = EU.get_total_norm([ember.tensor(g) for g in grads], norm_type)
    want = TU.get_total_norm([torch.tensor(g) for g in grads], norm_type)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
