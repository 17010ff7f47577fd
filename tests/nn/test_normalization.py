"""Normalization layers against their PyTorch twins: copied weights, values and gradients,
running statistics over several training steps, eval mode, state_dict, repr and errors."""
import warnings

import numpy as np
import pytest

import ember
import ember.nn as nn
from helpers import assert_close, check_module, copy_weights

torch = pytest.importorskip("torch")
tnn = torch.nn


def randomize(t_mod, seed=0):
    """Non-trivial affine parameters and running statistics in the torch module."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in list(t_mod.named_parameters()) + list(t_mod.named_buffers()):
            if t.is_floating_point():
                lo, hi = (0.5, 1.5) if name.endswith(("weight", "running_var")) else (-0.5, 0.5)
                t.copy_(torch.rand(t.shape, generator=gen) * (hi - lo) + lo)
    return t_mod


def pair(name, *args, **kwargs):
    return getattr(nn, name)(*args, **kwargs), randomize(getattr(tnn, name)(*args, **kwargs))


# ---- batch norm ------------------------------------------------------------------------------
BN = [("BatchNorm1d", (6, 3)), ("BatchNorm1d", (4, 3, 5)), ("BatchNorm2d", (4, 3, 5, 2)),
      ("BatchNorm3d", (2, 3, 2, 3, 2))]


@pytest.mark.parametrize("name,shape", BN)
@pytest.mark.parametrize("kwargs", [{}, {"affine": False}, {"bias": False}, {"track_running_stats": False},
                                    {"momentum": None}])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_parity(name, shape, kwargs, training):
    e, t = pair(name, 3, **kwargs)
    e.train(training)
    t.train(training)
    check_module(e, t, [shape], low=-1, high=3)
    for (key, eb), tb in zip(e.state_dict().items(), t.state_dict().values()):
        assert_close(eb, tb, what=key)


@pytest.mark.parametrize("name,shape", BN)
@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_batch_norm_running_stats_after_training_steps(name, shape, momentum):
    e, t = pair(name, 3, momentum=momentum)
    copy_weights(e, t)
    e_opt, t_opt = ember.optim.SGD(e.parameters(), lr=0.1), torch.optim.SGD(t.parameters(), lr=0.1)
    rng = np.random.default_rng(0)
    for _ in range(4):
        x = rng.normal(2.0, 3.0, shape).astype(np.float32)
        cot = rng.standard_normal(shape).astype(np.float32)
        for mod, opt, lib in ((e, e_opt, ember), (t, t_opt, torch)):
            opt.zero_grad()
            mod(lib.tensor(x)).backward(lib.tensor(cot))
            opt.step()
    assert int(e.num_batches_tracked) == int(t.num_batches_tracked) == 4
    for (key, eb), tb in zip(e.state_dict().items(), t.state_dict().values()):
        assert_close(eb, tb, 1e-5, 1e-4, key)
    e.eval()
    t.eval()
    x = rng.standard_normal(shape).astype(np.float32)
    assert_close(e(ember.tensor(x)), t(torch.tensor(x)))


def test_batch_norm_float64_and_module_casts():
    e, t = pair("BatchNorm2d", 4)
    check_module(e, t, [(3, 4, 2, 2)], dtype="float64")
    assert e.running_mean.dtype == ember.float64 and e.num_batches_tracked.dtype == ember.int64
    m = nn.BatchNorm1d(2, dtype=ember.float64)
    assert m.weight.dtype == m.running_var.dtype == ember.float64


def test_batch_norm_state_dict_and_checkpoints():
    e, t = nn.BatchNorm2d(3), tnn.BatchNorm2d(3)
    assert list(e.state_dict()) == list(t.state_dict()) == ["weight", "bias", "running_mean", "running_var",
                                                            "num_batches_tracked"]
    assert e.state_dict()._metadata[""] == {"version": 2}
    assert list(nn.BatchNorm2d(3, track_running_stats=False).state_dict()) == ["weight", "bias"]
    assert list(nn.BatchNorm1d(3, affine=False).state_dict()) == ["running_mean", "running_var",
                                                                  "num_batches_tracked"]
    # a checkpoint from before num_batches_tracked existed (version 1) still loads
    old = {k: v for k, v in randomize(t).state_dict().items() if k != "num_batches_tracked"}
    e.num_batches_tracked.fill_(7)
    e.load_state_dict(old)
    assert int(e.num_batches_tracked) == 0
    assert_close(e.running_var, t.running_var)
    with pytest.raises(RuntimeError, match="Missing key\\(s\\) in state_dict: \"num_batches_tracked\""):
        e2 = nn.BatchNorm2d(3)
        sd = e2.state_dict()
        del sd["num_batches_tracked"]
        e2.load_state_dict(sd)


def test_batch_norm_reset_and_repr():
    e = nn.BatchNorm1d(3)
    e(ember.randn(4, 3) * 5 + 2)
    with ember.no_grad():
        e.weight.fill_(3.0)
    e.reset_running_stats()
    assert e.running_mean.tolist() == [0, 0, 0] and e.running_var.tolist() == [1, 1, 1]
    assert int(e.num_batches_tracked) == 0 and e.weight.tolist() == [3.0] * 3
    e.reset_parameters()
    assert e.weight.tolist() == [1.0] * 3
    for args, kwargs in [((3,), {}), ((3, 1e-3, None, False), {}), ((5,), {"track_running_stats": False}),
                         ((2,), {"bias": False})]:
        for name in ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d"):
            assert repr(getattr(nn, name)(*args, **kwargs)) == repr(getattr(tnn, name)(*args, **kwargs))


def test_batch_norm_errors():
    with pytest.raises(ValueError, match="expected 4D input \\(got 3D input\\)"):
        nn.BatchNorm2d(3)(ember.zeros(2, 3, 4))
    with pytest.raises(ValueError, match="expected 2D or 3D input \\(got 4D input\\)"):
        nn.BatchNorm1d(3)(ember.zeros(2, 3, 4, 4))
    with pytest.raises(ValueError, match="expected 5D input \\(got 4D input\\)"):
        nn.BatchNorm3d(3)(ember.zeros(2, 3, 4, 4))
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when training, got input size "
                                         r"ember.Size\(\[1, 3\]\)"):
        nn.BatchNorm1d(3)(ember.zeros(1, 3))
    assert nn.BatchNorm1d(3).eval()(ember.zeros(1, 3)).shape == (1, 3)
    with pytest.raises(RuntimeError, match="running_mean should contain 4 elements not 3"):
        nn.BatchNorm2d(3)(ember.zeros(2, 4, 2, 2))
    with pytest.raises(RuntimeError, match="mixed dtype.*module.to\\(ember.float64\\)"):
        nn.BatchNorm1d(3)(ember.zeros(2, 3, dtype=ember.float64))


def test_batch_norm_trains_a_network():
    """A small conv-free net with batch norm learns (loss drops) and matches torch step for step."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 5)).astype(np.float32) * 4 + 3
    y = (x[:, 0] > x[:, 1]).astype(np.int64)  # learnable labels, far from the inputs' scale
    nets = []
    for lib in (ember, torch):
        lib.manual_seed(0)
        nets.append(lib.nn.Sequential(lib.nn.Linear(5, 8), lib.nn.BatchNorm1d(8), lib.nn.ReLU(), lib.nn.Linear(8, 2)))
    copy_weights(*nets)
    losses = []
    for lib, net in zip((ember, torch), nets):
        opt = lib.optim.SGD(net.parameters(), lr=0.5)
        run = []
        for _ in range(30):
            opt.zero_grad()
            loss = lib.nn.functional.cross_entropy(net(lib.tensor(x)), lib.tensor(y))
            loss.backward()
            opt.step()
            run.append(loss.item())
        losses.append(run)
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-4, atol=1e-5)
    assert losses[0][-1] < 0.5 * losses[0][0]


# ---- instance norm ---------------------------------------------------------------------------
IN = [("InstanceNorm1d", (2, 3, 5)), ("InstanceNorm1d", (3, 4)), ("InstanceNorm2d", (2, 3, 4, 3)),
      ("InstanceNorm2d", (3, 4, 2)), ("InstanceNorm3d", (2, 3, 2, 2, 3))]


@pytest.mark.parametrize("name,shape", IN)
@pytest.mark.parametrize("kwargs", [{}, {"affine": True}, {"affine": True, "track_running_stats": True}])
def test_instance_norm_parity(name, shape, kwargs):
    e, t = pair(name, 3, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every case has num_features channels
        check_module(e, t, [shape])
    for (key, eb), tb in zip(e.state_dict().items(), t.state_dict().values()):
        assert_close(eb, tb, what=key)


def test_instance_norm_running_stats_eval_and_repr():
    e, t = pair("InstanceNorm2d", 2, affine=True, track_running_stats=True, momentum=0.3)
    copy_weights(e, t)
    rng = np.random.default_rng(0)
    for _ in range(3):
        x = rng.normal(1.0, 2.0, (3, 2, 4, 4)).astype(np.float32)
        assert_close(e(ember.tensor(x)), t(torch.tensor(x)))
    for (key, eb), tb in zip(e.state_dict().items(), t.state_dict().values()):
        assert_close(eb, tb, what=key)
    e.eval()
    t.eval()
    assert_close(e(ember.tensor(x)), t(torch.tensor(x)))
    assert_close(e(ember.tensor(x[0])), t(torch.tensor(x[0])))
    for kwargs in ({}, {"affine": True, "track_running_stats": True}, {"eps": 0.1, "momentum": 0.2}):
        assert repr(nn.InstanceNorm2d(4, **kwargs)) == repr(tnn.InstanceNorm2d(4, **kwargs))
    assert list(nn.InstanceNorm1d(3).state_dict()) == []


def test_instance_norm_errors_and_warning():
    with pytest.raises(ValueError, match="expected input's size at dim=1 to match num_features \\(3\\), but got: 4."):
        nn.InstanceNorm1d(3, affine=True)(ember.zeros(2, 4, 5))
    with pytest.warns(UserWarning, match="input's size at dim=1 does not match num_features"):
        nn.InstanceNorm1d(3)(ember.randn(2, 4, 5))
    with pytest.raises(ValueError, match="expected 3D or 4D input \\(got 2D input\\)"):
        nn.InstanceNorm2d(3)(ember.zeros(2, 4))
    with pytest.raises(ValueError, match="Expected more than 1 spatial element when training"):
        nn.InstanceNorm1d(3)(ember.zeros(2, 3, 1))


# ---- layer, group, RMS and local response norm ---------------------------------------------------
@pytest.mark.parametrize("ns,shape", [(5, (4, 5)), ((3, 4), (2, 3, 4)), ([4], (2, 2, 4)), (6, (6,))])
@pytest.mark.parametrize("kwargs", [{}, {"elementwise_affine": False}, {"bias": False}, {"eps": 1e-3}])
def test_layer_norm_parity(ns, shape, kwargs):
    e, t = pair("LayerNorm", ns, **kwargs)
    check_module(e, t, [shape])
    assert repr(e) == repr(t)


def test_layer_norm_float64_and_shape_attribute():
    e, t = pair("LayerNorm", (2, 3))
    check_module(e, t, [(4, 2, 3)], dtype="float64")
    assert nn.LayerNorm(4).normalized_shape == (4,) and nn.LayerNorm([2, 3]).normalized_shape == (2, 3)
    with pytest.raises(RuntimeError, match=r"expected input with shape \[\*, 4\]"):
        nn.LayerNorm(4)(ember.zeros(2, 5))


@pytest.mark.parametrize("groups,channels,shape", [(2, 6, (3, 6, 4)), (3, 3, (2, 3, 2, 2)), (1, 4, (2, 4)),
                                                   (2, 4, (2, 4, 3, 2, 2))])
@pytest.mark.parametrize("kwargs", [{}, {"affine": False}, {"bias": False}])
def test_group_norm_parity(groups, channels, shape, kwargs):
    e, t = pair("GroupNorm", groups, channels, **kwargs)
    check_module(e, t, [shape])
    assert repr(e) == repr(t)


def test_group_norm_errors():
    with pytest.raises(ValueError, match=r"num_channels \(6\) must be divisible by num_groups \(4\)"):
        nn.GroupNorm(4, 6)
    with pytest.raises(RuntimeError, match="Expected number of channels in input to be divisible by num_groups"):
        nn.GroupNorm(2, 4)(ember.zeros(2, 3, 2))


@pytest.mark.parametrize("ns,shape", [(5, (4, 5)), ((3, 4), (2, 3, 4))])
@pytest.mark.parametrize("kwargs", [{}, {"eps": 1e-2}, {"elementwise_affine": False}])
def test_rms_norm_parity(ns, shape, kwargs):
    e, t = pair("RMSNorm", ns, **kwargs)
    check_module(e, t, [shape])
    assert repr(e) == repr(t)


@pytest.mark.parametrize("args,shape", [((2,), (2, 5, 3)), ((3, 1e-2, 0.5, 2.0), (2, 6, 3, 2)), ((5,), (1, 4, 2))])
def test_local_response_norm_parity(args, shape):
    e, t = pair("LocalResponseNorm", *args)
    check_module(e, t, [shape])
    assert repr(e) == repr(t)
