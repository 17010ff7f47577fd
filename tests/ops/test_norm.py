"""Functional normalization against torch.nn.functional: batch, instance, layer, group, local
response and RMS norm (values, gradients, running statistics, second derivatives, errors)."""
import numpy as np
import pytest

import ember
import ember.nn.functional as EF
from helpers import assert_close, check_gradcheck, check_op, to_ember, to_torch

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def F(x):
    """ember's functional module for ember tensors, torch's for torch tensors."""
    return EF if isinstance(x, ember.Tensor) else TF


def lib(x):
    return ember if isinstance(x, ember.Tensor) else torch


def stats(shape, seed=1):
    """Running mean and (positive) variance arrays of ``shape``."""
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, shape).astype(np.float32), rng.uniform(0.5, 2, shape).astype(np.float32)


# ---- batch norm ------------------------------------------------------------------------------
BN_SHAPES = [(5, 3), (4, 3, 5), (2, 3, 4, 5), (2, 3, 2, 3, 2), (1, 3, 4), (3, 1, 2)]


@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_batch_norm_training_parity(shape, affine, dtype):
    c = shape[1]
    if affine:
        check_op([shape, (c,), (c,)], lambda x, w, b: F(x).batch_norm(x, None, None, w, b, training=True),
                 dtype=dtype)
    else:
        check_op([shape], lambda x: F(x).batch_norm(x, None, None, training=True), dtype=dtype)


@pytest.mark.parametrize("shape", BN_SHAPES[:4])
@pytest.mark.parametrize("momentum", [0.1, 0.7, 0.0, 1.0])
def test_batch_norm_updates_running_stats(shape, momentum):
    c = shape[1]
    x = np.random.default_rng(0).normal(3.0, 2.0, shape).astype(np.float32)
    rm, rv = stats(c)
    e_rm, e_rv, t_rm, t_rv = ember.tensor(rm), ember.tensor(rv), torch.tensor(rm), torch.tensor(rv)
    version = e_rm._version
    for _ in range(3):
        out_e = EF.batch_norm(ember.tensor(x), e_rm, e_rv, training=True, momentum=momentum)
        out_t = TF.batch_norm(torch.tensor(x), t_rm, t_rv, training=True, momentum=momentum)
    assert_close(out_e, out_t)
    assert_close(e_rm, t_rm, atol=1e-5)
    assert_close(e_rv, t_rv, atol=1e-5)  # unbiased variance, as PyTorch
    assert e_rm._version > version


@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 4), (2, 3, 3, 2)])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_eval_parity(shape, affine):
    rm, rv = stats(shape[1])

    def fn(x, *wb):
        L = lib(x)
        return F(x).batch_norm(x, L.tensor(rm), L.tensor(rv), *wb, training=False, eps=1e-3)
    check_op([shape] + [(shape[1],)] * (2 if affine else 0), fn)


def test_batch_norm_large_mean_is_stable():
    """Two-pass statistics: a mean 10^5 standard deviations away from 0 still normalizes to
    float32's resolution (E[x^2] - E[x]^2 would lose every digit)."""
    x = np.random.default_rng(0).normal(1000.0, 0.01, (16, 4, 3)).astype(np.float32)
    x64 = x.astype(np.float64)
    mean, var = x64.mean(axis=(0, 2), keepdims=True), x64.var(axis=(0, 2), keepdims=True)
    out = EF.batch_norm(ember.tensor(x), None, None, training=True).cpu().numpy()
    np.testing.assert_allclose(out, (x64 - mean) / np.sqrt(var + 1e-5), atol=5e-3)


def test_batch_norm_empty_and_half():
    check_op([(0, 3), (3,), (3,)], lambda x, w, b: F(x).batch_norm(x, None, None, w, b, training=True))
    rm = ember.zeros(3)
    EF.batch_norm(ember.zeros(2, 3, 0), rm, ember.ones(3), training=True)
    assert np.all(rm.cpu().numpy() == 0)
    check_op([(4, 3, 5)], lambda x: F(x).batch_norm(x, None, None, training=True), dtype="float16")
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float16)
    w = np.ones(3, np.float32)  # float16 input with float32 weights, as autocast makes them
    assert_close(EF.batch_norm(ember.tensor(x), None, None, ember.tensor(w), training=True),
                 TF.batch_norm(torch.tensor(x), None, None, torch.tensor(w), training=True), 1e-2, 1e-2)


def test_batch_norm_second_derivatives_match_torch():
    """A gradient penalty: d/dparams of |d out / d x|^2 (the create_graph path)."""
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((4, 3, 2)), rng.uniform(0.5, 1.5, 3), rng.standard_normal(3),
              rng.standard_normal((4, 3, 2))]
    results = []
    for L, conv in ((ember, to_ember), (torch, to_torch)):
        x, w, b = (L.tensor(a, requires_grad=True) for a in arrays[:3])
        cot = L.tensor(arrays[3])
        out = F(x).batch_norm(x ** 2, None, None, w, b, training=True)
        (gx,) = L.autograd.grad(out, x, cot, create_graph=True)
        (gx * gx).sum().backward()
        results.append((gx, x.grad, w.grad))
    for e, t in zip(*results):
        assert_close(e, t, 1e-8, 1e-6)


def test_batch_norm_gradcheck():
    check_gradcheck([(4, 3, 2), (3,), (3,)], lambda x, w, b: EF.batch_norm(x, None, None, w, b, training=True))
    check_gradcheck([(5, 2)], lambda x: EF.batch_norm(x, None, None, training=True))
    rm, rv = (ember.tensor(a.astype(np.float64)) for a in stats(3))
    check_gradcheck([(2, 3, 2), (3,), (3,)], lambda x, w, b: EF.batch_norm(x, rm, rv, w, b))


def test_batch_norm_errors():
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when training, got input "
                                         r"size ember.Size\(\[1, 3\]\)"):
        EF.batch_norm(ember.zeros(1, 3), None, None, training=True)
    with pytest.raises(RuntimeError, match="running_mean should contain 3 elements not 4"):
        EF.batch_norm(ember.zeros(2, 3), ember.zeros(4), ember.ones(4))
    with pytest.raises(RuntimeError, match="weight should contain 3 elements not 4"):
        EF.batch_norm(ember.zeros(2, 3), None, None, ember.ones(4), training=True)
    with pytest.raises(RuntimeError, match="bias should contain 3 elements not 2"):
        EF.batch_norm(ember.zeros(2, 3), None, None, None, ember.ones(2), training=True)
    with pytest.raises(RuntimeError, match="running_mean must be defined in evaluation mode"):
        EF.batch_norm(ember.zeros(2, 3), None, None)
    with pytest.raises(ValueError, match="must either both be None or neither be None"):
        EF.batch_norm(ember.zeros(2, 3), ember.zeros(3), None, training=True)
    with pytest.raises(NotImplementedError, match="\"batch_norm\" not implemented for 'Long'"):
        EF.batch_norm(ember.zeros(2, 3, dtype=ember.int64), None, None, training=True)
    with pytest.raises(RuntimeError, match="mixed dtype.*ember.float64.*ember.float32"):
        EF.batch_norm(ember.zeros(2, 3, dtype=ember.float64), ember.zeros(3), ember.ones(3), training=True)
    with pytest.raises(RuntimeError, match="shape \\(N, C, \\*\\).*got shape \\[3\\]"):
        EF.batch_norm(ember.zeros(3), None, None, training=True)
    with pytest.raises(ValueError, match="batch_norm eps must be positive during training, but got 0.0"):
        EF.batch_norm(ember.zeros(2, 3), None, None, training=True, eps=0.0)
    with pytest.raises(ValueError, match="batch_norm eps must be non-negative, but got -1"):
        EF.batch_norm(ember.zeros(2, 3), ember.zeros(3), ember.ones(3), eps=-1)
    with pytest.raises(RuntimeError, match="not differentiable with respect to argument 'running_mean'"):
        EF.batch_norm(ember.zeros(2, 3), ember.zeros(3, requires_grad=True), ember.ones(3))
    with ember.no_grad():
        assert EF.batch_norm(ember.zeros(2, 3), ember.zeros(3, requires_grad=True), ember.ones(3)).shape == (2, 3)


# ---- instance norm ---------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 3, 4, 3), (1, 2, 2, 2, 3)])
@pytest.mark.parametrize("affine", [True, False])
def test_instance_norm_parity(shape, affine):
    c = shape[1]
    check_op([shape] + [(c,)] * (2 if affine else 0), lambda x, *wb: F(x).instance_norm(x, None, None, *wb))


def test_instance_norm_running_stats_and_eval():
    x = np.random.default_rng(0).normal(1.0, 3.0, (3, 2, 5)).astype(np.float32)
    rm, rv = stats(2)
    e_stats, t_stats = (ember.tensor(rm), ember.tensor(rv)), (torch.tensor(rm), torch.tensor(rv))
    for _ in range(2):
        out_e = EF.instance_norm(ember.tensor(x), *e_stats, momentum=0.3)
        out_t = TF.instance_norm(torch.tensor(x), *t_stats, momentum=0.3)
    assert_close(out_e, out_t)
    assert_close(e_stats[0], t_stats[0])
    assert_close(e_stats[1], t_stats[1])
    assert_close(EF.instance_norm(ember.tensor(x), *e_stats, use_input_stats=False),
                 TF.instance_norm(torch.tensor(x), *t_stats, use_input_stats=False))


def test_instance_norm_gradcheck_and_errors():
    check_gradcheck([(2, 3, 4), (3,), (3,)], lambda x, w, b: EF.instance_norm(x, weight=w, bias=b))
    with pytest.raises(ValueError, match=r"Expected more than 1 spatial element when training, got input size "
                                         r"ember.Size\(\[2, 3, 1\]\)"):
        EF.instance_norm(ember.zeros(2, 3, 1))
    with pytest.raises(RuntimeError, match="weight should contain 6 elements not 8"):
        EF.instance_norm(ember.zeros(2, 3, 4), weight=ember.ones(4))


# ---- layer norm ------------------------------------------------------------------------------
LN_CASES = [((4, 5), (5,)), ((2, 3, 4), (3, 4)), ((6,), (6,)), ((2, 1, 3), (3,)), ((0, 3), (3,)),
            ((2, 3, 2, 2), (2, 3, 2, 2))]


@pytest.mark.parametrize("shape,ns", LN_CASES)
@pytest.mark.parametrize("params", ["both", "weight", "bias", "none"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_layer_norm_parity(shape, ns, params, dtype):
    def fn(x, *p):
        w = p[0] if params in ("both", "weight") else None
        b = p[-1] if params in ("both", "bias") else None
        return F(x).layer_norm(x, list(ns), w, b, eps=1e-4)
    n_params = {"both": 2, "weight": 1, "bias": 1, "none": 0}[params]
    check_op([shape] + [ns] * n_params, fn, dtype=dtype)


def test_layer_norm_half_and_stability():
    check_op([(3, 8), (8,), (8,)], lambda x, w, b: F(x).layer_norm(x, (8,), w, b), dtype="float16")
    x = np.random.default_rng(0).normal(500.0, 0.01, (4, 16)).astype(np.float32)
    x64 = x.astype(np.float64)
    ref = (x64 - x64.mean(-1, keepdims=True)) / np.sqrt(x64.var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(EF.layer_norm(ember.tensor(x), (16,)).cpu().numpy(), ref, atol=5e-3)


def test_layer_norm_second_derivatives_match_torch():
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((3, 4)), rng.uniform(0.5, 1.5, 4), rng.standard_normal((3, 4))]
    results = []
    for L in (ember, torch):
        x, w = (L.tensor(a, requires_grad=True) for a in arrays[:2])
        out = F(x).layer_norm(x, (4,), w)
        (gx, gw) = L.autograd.grad(out, (x, w), L.tensor(arrays[2]), create_graph=True)
        ((gx ** 2).sum() + (gw ** 3).sum()).backward()
        results.append((gx, gw, x.grad, w.grad))
    for e, t in zip(*results):
        assert_close(e, t, 1e-8, 1e-6)


def test_layer_norm_gradcheck():
    check_gradcheck([(3, 4, 2), (4, 2), (4, 2)], lambda x, w, b: EF.layer_norm(x, (4, 2), w, b))
    check_gradcheck([(2, 5)], lambda x: EF.layer_norm(x, [5], eps=1e-3))


def test_layer_norm_errors():
    with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[10\], expected input with shape \[\*, 10\], "
                                           r"but got input of size\[2, 5\]"):
        EF.layer_norm(ember.zeros(2, 5), (10,))
    with pytest.raises(RuntimeError, match=r"Expected weight to be of same shape as normalized_shape, but got "
                                           r"weight of shape \[5\] and normalized_shape = \[10\]"):
        EF.layer_norm(ember.zeros(2, 10), (10,), weight=ember.ones(5))
    with pytest.raises(RuntimeError, match="Expected bias to be of same shape"):
        EF.layer_norm(ember.zeros(2, 10), (10,), bias=ember.ones(2, 5))
    with pytest.raises(TypeError, match="'normalized_shape' \\(position 2\\) must be tuple of ints, not int"):
        EF.layer_norm(ember.zeros(2, 10), 10)
    with pytest.raises(RuntimeError, match="Expected normalized_shape to be at least 1-dimensional"):
        EF.layer_norm(ember.tensor(1.0), ())
    with pytest.raises(RuntimeError, match="expected input with shape"):
        EF.layer_norm(ember.zeros(3), (2, 3))
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        EF.layer_norm(ember.zeros(2, 3, dtype=ember.int64), (3,))
    with pytest.raises(RuntimeError, match="mixed dtype"):
        EF.layer_norm(ember.zeros(2, 3, dtype=ember.float64), (3,), ember.ones(3))


# ---- group norm ------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,groups", [((2, 6, 4), 3), ((3, 4), 2), ((2, 4, 3, 2), 4), ((2, 4, 3, 2), 1),
                                          ((1, 6, 5), 2), ((0, 4, 2), 2)])
@pytest.mark.parametrize("affine", [True, False])
def test_group_norm_parity(shape, groups, affine):
    c = shape[1]
    check_op([shape] + [(c,)] * (2 if affine else 0), lambda x, *wb: F(x).group_norm(x, groups, *wb, eps=1e-4))


def test_group_norm_float64_half_gradcheck():
    check_op([(2, 4, 3), (4,), (4,)], lambda x, w, b: F(x).group_norm(x, 2, w, b), dtype="float64")
    check_op([(2, 4, 3)], lambda x: F(x).group_norm(x, 2), dtype="float16")
    check_gradcheck([(2, 4, 3), (4,), (4,)], lambda x, w, b: EF.group_norm(x, 2, w, b))


def test_group_norm_errors():
    with pytest.raises(RuntimeError, match=r"Expected number of channels in input to be divisible by num_groups, "
                                           r"but got input of shape \[2, 6, 4\] and num_groups=4"):
        EF.group_norm(ember.zeros(2, 6, 4), 4)
    with pytest.raises(RuntimeError, match="Expected at least 2 dimensions for input tensor but received 1"):
        EF.group_norm(ember.zeros(6), 3)
    with pytest.raises(RuntimeError, match=r"Expected weight to be a vector of size equal to the number of "
                                           r"channels in input, but got weight of shape \[5\]"):
        EF.group_norm(ember.zeros(2, 6, 4), 3, weight=ember.ones(5))
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        EF.group_norm(ember.zeros(2, 6, dtype=ember.int64), 3)
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when training, got input size "
                                         r"ember.Size\(\[1, 2\]\)"):
        EF.group_norm(ember.zeros(1, 2), 2)


# ---- local response norm and RMS norm ----------------------------------------------------------
@pytest.mark.parametrize("shape", [(2, 5, 4), (2, 6, 3, 3), (1, 4, 2, 2, 2), (2, 1, 3)])
@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_local_response_norm_parity(shape, size):
    check_op([shape], lambda x: F(x).local_response_norm(x, size, alpha=0.3, beta=0.6, k=1.5))


def test_local_response_norm_defaults_gradcheck_errors():
    check_op([(2, 7, 3)], lambda x: F(x).local_response_norm(x, 3), low=-20, high=20)
    check_op([(0, 3, 2)], lambda x: F(x).local_response_norm(x, 2))
    check_gradcheck([(2, 5, 3)], lambda x: EF.local_response_norm(x, 3, alpha=0.5))
    with pytest.raises(ValueError, match="Expected 3D or higher dimensionality input \\(got 2 dimensions\\)"):
        EF.local_response_norm(ember.zeros(2, 3), 2)


@pytest.mark.parametrize("shape,ns", [((4, 5), (5,)), ((2, 3, 4), (3, 4)), ((3,), (3,))])
@pytest.mark.parametrize("weight", [True, False])
@pytest.mark.parametrize("eps", [None, 0.1])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_rms_norm_parity(shape, ns, weight, eps, dtype):
    check_op([shape] + [ns] * weight, lambda x, *w: F(x).rms_norm(x, list(ns), *w, eps=eps), dtype=dtype)


def test_rms_norm_half_gradcheck_errors():
    check_op([(3, 4), (4,)], lambda x, w: F(x).rms_norm(x, [4], w), dtype="float16")
    check_gradcheck([(2, 5, 3), (3,)], lambda x, w: EF.rms_norm(x, (3,), w))
    with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[4\], expected input with shape \[\*4\], but "
                                           r"got input of size\[2, 3\]"):
        EF.rms_norm(ember.zeros(2, 3), (4,))
    with pytest.raises(RuntimeError, match=r"but got weight of shape \[2\] and normalized_shape = \[3\]"):
        EF.rms_norm(ember.zeros(2, 3), (3,), weight=ember.ones(2))


def test_top_level_names():
    x = ember.randn(2, 4, 3)
    assert ember.layer_norm is EF.layer_norm and ember.group_norm is EF.group_norm
    assert ember.rms_norm is EF.rms_norm
    assert_close(ember.group_norm(x, 2), torch.group_norm(to_torch(x), 2))
