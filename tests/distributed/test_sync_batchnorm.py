"""SyncBatchNorm in one process: convert_sync_batchnorm as PyTorch's, and plain batch norm when
there is nothing to synchronise (its multi-process behaviour is checked in scripts/ddp.py)."""
import numpy as np
import torch

import ember
from ember import nn


def test_convert_matches_torch_structure_and_state():
    def build(lib):
        return lib.nn.Sequential(lib.nn.Conv2d(1, 3, 3), lib.nn.BatchNorm2d(3),
                                 lib.nn.Sequential(lib.nn.Flatten(), lib.nn.BatchNorm1d(27, momentum=None)))
    e, t = build(ember), build(torch)
    e.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t.state_dict().items()})
    e[1].running_mean.fill_(0.5)
    t[1].running_mean.fill_(0.5)
    e.eval()
    t.eval()
    es, ts = nn.SyncBatchNorm.convert_sync_batchnorm(e), torch.nn.SyncBatchNorm.convert_sync_batchnorm(t)
    assert [type(m).__name__ for m in es.modules()] == [type(m).__name__ for m in ts.modules()]
    assert list(es.state_dict()) == list(ts.state_dict())
    assert es[1].weight is e[1].weight and es[1].running_mean is e[1].running_mean and not es[1].training
    assert es[2][1].momentum is None and es[2][1].num_features == 27
    x = np.random.default_rng(0).standard_normal((4, 1, 5, 5)).astype(np.float32)
    np.testing.assert_allclose(es(ember.tensor(x)).detach().numpy(), ts(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_without_process_group_is_batch_norm():
    ember.manual_seed(0)
    bn = nn.BatchNorm2d(3)
    sync = nn.SyncBatchNorm(3)
    x = ember.randn(4, 3, 5, 5, requires_grad=True)
    g = ember.randn(4, 3, 5, 5)
    y1 = bn(x)
    (gx1,) = ember.autograd.grad(y1, x, g)
    y2 = sync(x)
    (gx2,) = ember.autograd.grad(y2, x, g)
    np.testing.assert_allclose(y1.detach().numpy(), y2.detach().numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(gx1.numpy(), gx2.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn.running_var.numpy(), sync.running_var.numpy(), rtol=1e-6)


def test_input_checks_as_torch():
    for lib in (ember, torch):
        m = lib.nn.SyncBatchNorm(3)
        try:
            m(lib.zeros(3))
        except ValueError as e:
            assert "expected at least 2D input (got 1D input)" in str(e), (lib.__name__, e)
        else:
            raise AssertionError(f"{lib.__name__}: expected ValueError")
