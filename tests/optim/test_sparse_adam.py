"""SparseAdam against torch.optim.SparseAdam: ember's Embedding gives a dense gradient, torch's
Embedding(sparse=True) a sparse one; the updates must agree, and rows that got no gradient
must not move."""
import copy

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

BATCHES = [[[1, 3, 3], [0, 6, 1]], [[2, 2, 2], [2, 4, 2]], [[7, 0, 5], [5, 5, 9]], [[1, 1, 1], [3, 3, 3]]]


def make(dtype=np.float64, padding_idx=None):
    weight = np.random.default_rng(0).normal(size=(10, 4)).astype(dtype)
    head = np.random.default_rng(1).normal(size=(4, 2)).astype(dtype)
    ee = ember.nn.Embedding(10, 4, padding_idx=padding_idx, _weight=ember.tensor(weight))
    et = torch.nn.Embedding(10, 4, padding_idx=padding_idx, sparse=True,
                            _weight=torch.tensor(weight))
    return ee, et, ember.tensor(head), torch.tensor(head)


def loss(lib, emb, head, idx):
    out = emb(lib.tensor(idx)) @ head
    return (out.tanh() * lib.arange(2, dtype=out.dtype)).sum()


def steps(lib, emb, head, opt, batches):
    for idx in batches:
        opt.zero_grad()
        loss(lib, emb, head, idx).backward()
        opt.step()


@pytest.mark.parametrize("kwargs", [dict(), dict(lr=0.1), dict(lr=0.05, betas=(0.5, 0.8), eps=1e-4),
                                    dict(lr=0.05, maximize=True)], ids=str)
@pytest.mark.parametrize("padding_idx", [None, 2])
def test_matches_torch(kwargs, padding_idx):
    ee, et, he, ht = make(padding_idx=padding_idx)
    oe = ember.optim.SparseAdam(ee.parameters(), **kwargs)
    ot = torch.optim.SparseAdam(list(et.parameters()), **kwargs)
    for i in range(len(BATCHES)):
        before = ee.weight.detach().numpy().copy()
        steps(ember, ee, he, oe, BATCHES[i:i + 1])
        steps(torch, et, ht, ot, BATCHES[i:i + 1])
        np.testing.assert_allclose(ee.weight.detach().numpy(), et.weight.detach().numpy(),
                                   rtol=1e-12, atol=1e-14, err_msg=f"step {i}")
        untouched = sorted(set(range(10)) - set(np.ravel(BATCHES[i])) | {padding_idx} - {None})
        np.testing.assert_array_equal(ee.weight.detach().numpy()[untouched], before[untouched])
    se, st = oe.state_dict(), ot.state_dict()
    assert se["param_groups"] == st["param_groups"]
    assert se["state"][0]["step"] == st["state"][0]["step"] == len(BATCHES)
    for k in ("exp_avg", "exp_avg_sq"):
        np.testing.assert_allclose(se["state"][0][k].numpy(), st["state"][0][k].numpy(),
                                   rtol=1e-12, atol=1e-15)


def test_float32_matches_torch():
    ee, et, he, ht = make(np.float32)
    oe, ot = ember.optim.SparseAdam(ee.parameters(), lr=0.1), torch.optim.SparseAdam(
        list(et.parameters()), lr=0.1)
    steps(ember, ee, he, oe, BATCHES)
    steps(torch, et, ht, ot, BATCHES)
    assert ee.weight.dtype == ember.float32
    np.testing.assert_allclose(ee.weight.detach().numpy(), et.weight.detach().numpy(), rtol=1e-5,
                               atol=1e-6)


def test_state_dict_round_trip_and_torch_state():
    ee, et, he, ht = make()
    oe = ember.optim.SparseAdam(ee.parameters(), lr=0.1)
    ot = torch.optim.SparseAdam(list(et.parameters()), lr=0.1)
    steps(ember, ee, he, oe, BATCHES[:2])
    steps(torch, et, ht, ot, BATCHES[:2])
    resumed = ember.nn.Embedding(10, 4, _weight=ember.tensor(ee.weight.detach().numpy().copy()))
    opt2 = ember.optim.SparseAdam(resumed.parameters(), lr=1.0)
    opt2.load_state_dict(copy.deepcopy(oe.state_dict()))
    from_torch = ember.nn.Embedding(10, 4, _weight=ember.tensor(et.weight.detach().numpy().copy()))
    opt3 = ember.optim.SparseAdam(from_torch.parameters())
    state = ot.state_dict()
    state["state"] = {i: {k: ember.tensor(v.numpy()) if isinstance(v, torch.Tensor) else v
                          for k, v in s.items()} for i, s in state["state"].items()}
    opt3.load_state_dict(state)
    for emb, opt in ((ee, oe), (resumed, opt2), (from_torch, opt3)):
        steps(ember, emb, he, opt, BATCHES[2:])
    steps(torch, et, ht, ot, BATCHES[2:])
    np.testing.assert_array_equal(resumed.weight.detach().numpy(), ee.weight.detach().numpy())
    np.testing.assert_allclose(from_torch.weight.detach().numpy(), et.weight.detach().numpy(),
                               rtol=1e-12)

