"""nn.DataParallel against PyTorch's on the CPU: a transparent wrapper with "module." keys."""
import pytest

import ember
from helpers import assert_close, copy_weights, to_ember, torch


def _pair():
    torch.manual_seed(0)
    t = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3), torch.nn.ReLU())
    e = ember.nn.Sequential(ember.nn.Linear(4, 3), ember.nn.BatchNorm1d(3), ember.nn.ReLU())
    copy_weights(e, t)
    return e, t


def test_forward_backward_and_state_dict_match_torch():
    e, t = _pair()
    pe, pt = ember.nn.DataParallel(e), torch.nn.DataParallel(t)
    assert pe.module is e and pt.module is t
    assert list(pe.state_dict()) == list(pt.state_dict())
    x = torch.randn(5, 4)
    out_t, out_e = pt(x), pe(to_ember(x))
    assert_close(out_e, out_t)
    out_t.pow(2).sum().backward()
    out_e.pow(2).sum().backward()
    for (name, pe_p), (_, pt_p) in zip(pe.named_parameters(), pt.named_parameters()):
        assert name.startswith("module.")
        assert_close(pe_p.grad, pt_p.grad, what=name)
    assert_close(pe.state_dict()["module.1.running_mean"], pt.state_dict()["module.1.running_mean"])


def test_state_dict_round_trip_and_unwrapping():
    e, _ = _pair()
    wrapped = ember.nn.parallel.DataParallel(e)
    fresh = ember.nn.DataParallel(_pair()[0])
    fresh.load_state_dict(wrapped.state_dict())
    x = ember.randn(3, 4)
    wrapped.eval(), fresh.eval()
    ember.testing.assert_close(fresh(x), wrapped(x))
    # the usual way to save a DataParallel model without the prefix
    assert list(wrapped.module.state_dict()) == list(e.state_dict())


def test_train_eval_and_kwargs_reach_the_module():
    class Scale(ember.nn.Module):
        def forward(self, x, factor=1.0):
            return x * factor * (2.0 if self.training else 1.0)

    p = ember.nn.DataParallel(Scale())
    assert p(ember.ones(1), factor=3.0).item() == 6.0
    p.eval()
    assert not p.module.training and p(ember.ones(1), factor=3.0).item() == 3.0
    assert ember.nn.parallel.data_parallel(Scale(), ember.ones(1)).item() == 2.0


def test_device_ids_and_wrong_argument():
    assert ember.nn.DataParallel(ember.nn.Linear(1, 1)).device_ids == \
        torch.nn.DataParallel(torch.nn.Linear(1, 1)).device_ids == []
    with pytest.warns(UserWarning, match="one device"):
        ember.nn.DataParallel(ember.nn.Linear(1, 1), device_ids=[0, 1])
    with pytest.raises(TypeError, match="nn.Module"):
        ember.nn.DataParallel(lambda x: x)
