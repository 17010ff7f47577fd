"""ember.optim.swa_utils against torch.optim.swa_utils: AveragedModel (SWA, EMA, custom
averaging, buffers), update_bn over a DataLoader, and SWALR epoch by epoch."""
import copy

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def make_models(lib, dtype):
    lib.manual_seed(0)
    return lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4), lib.nn.ReLU(),
                             lib.nn.Linear(4, 2)).to(dtype)


def pair(seed=0):
    """The same small BatchNorm model in both frameworks (float64), ember's weights copied."""
    me = make_models(ember, ember.float64)
    mt = make_models(torch, torch.float64)
    mt.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in me.state_dict().items()})
    return me, mt


def perturb(me, mt, step):
    """Move both models' weights (and BN statistics) the same way, as a training step would."""
    rng = np.random.default_rng(step)
    x = rng.normal(size=(8, 3))
    with ember.no_grad(), torch.no_grad():
        for pe, pt in zip(me.parameters(), mt.parameters()):
            delta = rng.normal(scale=0.1, size=tuple(pe.shape))
            pe.add_(ember.tensor(delta))
            pt.add_(torch.tensor(delta))
        me.train(), mt.train()
        me(ember.tensor(x)), mt(torch.tensor(x))


def assert_state_equal(ae, at, rtol=1e-12):
    se, st = ae.state_dict(), at.state_dict()
    assert list(se) == list(st)
    for k in st:
        assert se[k].dtype.name == str(st[k].dtype)[6:], k
        np.testing.assert_allclose(se[k].numpy(), st[k].numpy(), rtol=rtol, atol=1e-14, err_msg=k)


AVERAGERS = {
    "swa-default": lambda su: {},
    "ema-multi": lambda su: dict(multi_avg_fn=su.get_ema_multi_avg_fn(0.9)),
    "swa-multi": lambda su: dict(multi_avg_fn=su.get_swa_multi_avg_fn()),
    "ema-fn": lambda su: dict(avg_fn=su.get_ema_avg_fn(0.8)),
    "swa-fn": lambda su: dict(avg_fn=su.get_swa_avg_fn()),
    "custom-fn": lambda su: dict(avg_fn=lambda avg, cur, n: 0.25 * avg + 0.75 * cur),
    "ema-multi-buffers": lambda su: dict(multi_avg_fn=su.get_ema_multi_avg_fn(0.9), use_buffers=True),
    "swa-default-buffers": lambda su: dict(use_buffers=True),
}


@pytest.mark.parametrize("name", list(AVERAGERS))
def test_averaged_model_matches_torch(name):
    me, mt = pair()
    ae = ember.optim.swa_utils.AveragedModel(me, **AVERAGERS[name](ember.optim.swa_utils))
    at = torch.optim.swa_utils.AveragedModel(mt, **AVERAGERS[name](torch.optim.swa_utils))
    assert_state_equal(ae, at)
    for step in range(5):
        perturb(me, mt, step)
        ae.update_parameters(me)
        at.update_parameters(mt)
        assert_state_equal(ae, at)
    assert int(ae.n_averaged) == 5
    x = np.random.default_rng(9).normal(size=(4, 3))
    ae.eval(), at.eval()
    np.testing.assert_allclose(ae(ember.tensor(x)).detach().numpy(),
                               at(torch.tensor(x)).detach().numpy(), rtol=1e-12)


def test_averaged_model_is_a_copy_and_rejects_two_functions():
    me, _ = pair()
    su = ember.optim.swa_utils
    avg = su.AveragedModel(me)
    assert avg.module is not me and avg.module[0].weight is not me[0].weight
    with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn"):
        su.AveragedModel(me, avg_fn=su.get_swa_avg_fn(), multi_avg_fn=su.get_swa_multi_avg_fn())
    for fn in (su.get_ema_avg_fn, su.get_ema_multi_avg_fn):
        with pytest.raises(ValueError, match=r"Invalid decay value 1.5 provided"):
            fn(1.5)


def test_update_bn_with_a_data_loader_matches_torch():
    me, mt = pair()
    data = np.random.default_rng(3).normal(size=(20, 3))
    labels = np.zeros(20, dtype=np.int64)
    le = ember.utils.data.DataLoader(
        ember.utils.data.TensorDataset(ember.tensor(data), ember.tensor(labels)), batch_size=6)
    lt = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.tensor(data), torch.tensor(labels)), batch_size=6)
    me.eval(), mt.eval()
    ember.optim.swa_utils.update_bn(le, me)
    torch.optim.swa_utils.update_bn(lt, mt)
    assert not me.training and me[1].momentum == 0.1
    assert_state_equal(me, mt)
    assert int(me[1].num_batches_tracked) == 4
    # plain tensors as batches
    ember.optim.swa_utils.update_bn([ember.tensor(data[:10]), ember.tensor(data[10:])], me)
    torch.optim.swa_utils.update_bn([torch.tensor(data[:10]), torch.tensor(data[10:])], mt)
    assert_state_equal(me, mt)


def test_update_bn_without_batchnorm_leaves_the_model():
    model = ember.nn.Linear(3, 2)
    ember.optim.swa_utils.update_bn([ember.ones(2, 3)], model)
    assert model.training


@pytest.mark.parametrize("kwargs", [dict(swa_lr=0.05), dict(swa_lr=0.05, anneal_epochs=5,
                                                            anneal_strategy="linear"),
                                    dict(swa_lr=[0.01, 0.2], anneal_epochs=3),
                                    dict(swa_lr=0.02, anneal_epochs=0)], ids=str)
def test_swalr_matches_torch(kwargs):
    pe = [ember.zeros(2, requires_grad=True), ember.zeros(3, requires_grad=True)]
    pt = [torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)]
    oe = ember.optim.SGD([{"params": pe[:1]}, {"params": pe[1:], "lr": 0.3}], lr=0.5)
    ot = torch.optim.SGD([{"params": pt[:1]}, {"params": pt[1:], "lr": 0.3}], lr=0.5)
    se = ember.optim.swa_utils.SWALR(oe, **kwargs)
    st = torch.optim.swa_utils.SWALR(ot, **kwargs)
    for epoch in range(20):
        assert se.get_last_lr() == pytest.approx(st.get_last_lr(), rel=1e-14), epoch
        oe.step(), ot.step()
        se.step(), st.step()
        if epoch == 7:  # resume half way from the optimizer's and the scheduler's state dicts
            state, opt_state = se.state_dict(), copy.deepcopy(oe.state_dict())
            # PyTorch's flag for its get_lr() warning is the one attribute ember has not.
            assert set(state) == set(st.state_dict()) - {"_get_lr_called_within_step"}
            other = "linear" if kwargs.get("anneal_strategy") != "linear" else "cos"
            se = ember.optim.swa_utils.SWALR(oe, swa_lr=1.0, anneal_strategy=other)
            oe.load_state_dict(opt_state)
            se.load_state_dict(state)
    assert [g["swa_lr"] for g in oe.param_groups] == [g["swa_lr"] for g in ot.param_groups]


@pytest.mark.parametrize("kwargs", [dict(swa_lr=0.1, anneal_strategy="exp"),
                                    dict(swa_lr=0.1, anneal_epochs=-1),
                                    dict(swa_lr=0.1, anneal_epochs=2.0),
                                    dict(swa_lr=[0.1, 0.2])], ids=str)
def test_swalr_errors_match_torch(kwargs):
    oe = ember.optim.SGD([ember.zeros(2, requires_grad=True)], lr=0.5)
    ot = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.5)
    with pytest.raises(ValueError) as te:
        torch.optim.swa_utils.SWALR(ot, **kwargs)
    with pytest.raises(ValueError) as ee:
        ember.optim.swa_utils.SWALR(oe, **kwargs)
    assert str(ee.value) == str(te.value)
