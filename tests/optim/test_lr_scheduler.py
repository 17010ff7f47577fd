"""Learning-rate schedulers against torch.optim.lr_scheduler: the lr (and momentum)
sequences over 30 steps for the same optimizer config, state_dict round trips, errors."""
import copy
import math
import warnings

import numpy as np
import pytest

import ember
from ember.optim import lr_scheduler as ember_sched

torch = pytest.importorskip("torch")
torch_sched = torch.optim.lr_scheduler


def make_opt(lib, name="SGD"):
    """Two parameter groups with different learning rates (and momentum for SGD)."""
    params = [lib.zeros(2, requires_grad=True), lib.zeros(3, requires_grad=True)]
    groups = [{"params": params[:1]}, {"params": params[1:], "lr": 0.05}]
    if name == "SGD":
        return lib.optim.SGD(groups, lr=0.1, momentum=0.9)
    return getattr(lib.optim, name)(groups, lr=0.1)


def lib_of(L):
    return ember if L is ember_sched else torch


SCHEDULERS = [
    ("StepLR", "SGD", lambda L, o: L.StepLR(o, step_size=4)),
    ("StepLR-gamma", "SGD", lambda L, o: L.StepLR(o, 3, gamma=0.5)),
    ("MultiStepLR", "SGD", lambda L, o: L.MultiStepLR(o, [3, 7, 7, 12], gamma=0.3)),
    ("ConstantLR", "SGD", lambda L, o: L.ConstantLR(o)),
    ("ConstantLR-half", "SGD", lambda L, o: L.ConstantLR(o, factor=0.5, total_iters=10)),
    ("LinearLR", "SGD", lambda L, o: L.LinearLR(o)),
    ("LinearLR-decay", "Adam", lambda L, o: L.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=20)),
    ("ExponentialLR", "SGD", lambda L, o: L.ExponentialLR(o, gamma=0.9)),
    ("PolynomialLR", "SGD", lambda L, o: L.PolynomialLR(o)),
    ("PolynomialLR-power", "SGD", lambda L, o: L.PolynomialLR(o, total_iters=20, power=2.0)),
    ("CosineAnnealingLR", "SGD", lambda L, o: L.CosineAnnealingLR(o, T_max=10)),
    ("CosineAnnealingLR-eta", "Adam", lambda L, o: L.CosineAnnealingLR(o, T_max=7, eta_min=0.01)),
    ("WarmRestarts", "SGD", lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=5)),
    ("WarmRestarts-mult", "SGD", lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=1e-3)),
    ("LambdaLR", "SGD", lambda L, o: L.LambdaLR(o, lambda e: 0.95 ** e)),
    ("LambdaLR-list", "SGD", lambda L, o: L.LambdaLR(o, [lambda e: 1 / (e + 1), lambda e: 0.9 ** e])),
    ("MultiplicativeLR", "SGD", lambda L, o: L.MultiplicativeLR(o, lambda e: 0.95)),
    ("OneCycleLR", "SGD", lambda L, o: L.OneCycleLR(o, max_lr=1.0, total_steps=30)),
    ("OneCycleLR-three-linear", "Adam", lambda L, o: L.OneCycleLR(
        o, max_lr=[1.0, 0.5], total_steps=30, anneal_strategy="linear", three_phase=True)),
    ("OneCycleLR-epochs", "SGD", lambda L, o: L.OneCycleLR(
        o, max_lr=0.3, epochs=3, steps_per_epoch=10, pct_start=0.25, cycle_momentum=False,
        div_factor=10.0, final_div_factor=100.0)),
    ("CyclicLR", "SGD", lambda L, o: L.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4)),
    ("CyclicLR-triangular2", "Adam", lambda L, o: L.CyclicLR(
        o, base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=3, step_size_down=5, mode="triangular2")),
    ("CyclicLR-exp_range", "SGD", lambda L, o: L.CyclicLR(
        o, base_lr=0.01, max_lr=0.1, step_size_up=4, mode="exp_range", gamma=0.95,
        base_momentum=0.7, max_momentum=0.95)),
    ("CyclicLR-scale_fn", "Adagrad", lambda L, o: L.CyclicLR(
        o, base_lr=0.01, max_lr=0.1, step_size_up=2, scale_fn=lambda x: 0.5 ** x,
        scale_mode="iterations", cycle_momentum=False)),
    ("SequentialLR", "SGD", lambda L, o: L.SequentialLR(
        o, [L.LinearLR(o, 0.1, total_iters=5), L.ExponentialLR(o, 0.9)], milestones=[5])),
    ("SequentialLR-three", "SGD", lambda L, o: L.SequentialLR(
        o, [L.ConstantLR(o, 0.5, total_iters=3), L.CosineAnnealingLR(o, T_max=10), L.StepLR(o, 2)],
        milestones=[4, 14])),
    ("ChainedScheduler", "SGD", lambda L, o: L.ChainedScheduler(
        [L.ConstantLR(o, factor=0.1, total_iters=2), L.ExponentialLR(o, gamma=0.9)])),
    ("ChainedScheduler-nested", "SGD", lambda L, o: L.ChainedScheduler(
        [L.LinearLR(o, 0.5, total_iters=4), L.SequentialLR(
            o, [L.ConstantLR(o, 0.5, total_iters=2), L.MultiStepLR(o, [3, 6])], milestones=[3])], o)),
]
IDS = [s[0] for s in SCHEDULERS]


def hyper(opt):
    """What a scheduler may change: lr and, when present, momentum / beta1 of each group."""
    return [(g["lr"], g.get("momentum"), g.get("betas", (None,))[0]) for g in opt.param_groups]


def assert_same_schedule(se, st, oe, ot):
    assert se.get_last_lr() == pytest.approx(st.get_last_lr(), rel=1e-12, abs=1e-15)
    assert all(type(a) is type(b) for a, b in zip(se.get_last_lr(), st.get_last_lr()))
    for he, ht in zip(hyper(oe), hyper(ot)):
        for a, b in zip(he, ht):  # None where a group has no momentum or betas
            assert (a is None and b is None) or a == pytest.approx(b, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("name,opt_name,make", SCHEDULERS, ids=IDS)
def test_schedule_matches_torch(name, opt_name, make):
    oe, ot = make_opt(ember, opt_name), make_opt(torch, opt_name)
    se, st = make(ember_sched, oe), make(torch_sched, ot)
    assert_same_schedule(se, st, oe, ot)
    for _ in range(30):
        oe.step()
        ot.step()
        se.step()
        st.step()
        assert_same_schedule(se, st, oe, ot)
    assert getattr(se, "last_epoch", None) == getattr(st, "last_epoch", None)


@pytest.mark.parametrize("name,opt_name,make", SCHEDULERS, ids=IDS)
def test_state_dict_round_trip(name, opt_name, make):
    opt = make_opt(ember, opt_name)
    sched = make(ember_sched, opt)
    for _ in range(10):
        opt.step()
        sched.step()
    opt_state, sched_state = copy.deepcopy(opt.state_dict()), copy.deepcopy(sched.state_dict())
    opt2 = make_opt(ember, opt_name)
    sched2 = make(ember_sched, opt2)  # construct first, then load: the load replaces its lrs
    opt2.load_state_dict(opt_state)
    sched2.load_state_dict(sched_state)
    for _ in range(15):
        opt.step()
        opt2.step()
        sched.step()
        sched2.step()
        assert sched2.get_last_lr() == sched.get_last_lr()
        assert hyper(opt2) == hyper(opt)


def test_lambda_state_dict_keeps_callable_objects_state():
    class Decay:
        def __init__(self, rate):
            self.rate = rate

        def __call__(self, epoch):
            return self.rate ** epoch

    opt = make_opt(ember)
    sched = ember_sched.LambdaLR(opt, [Decay(0.5), lambda e: 1.0])
    state = sched.state_dict()
    assert state["lr_lambdas"] == [{"rate": 0.5}, None]
    opt2 = make_opt(ember)
    sched2 = ember_sched.LambdaLR(opt2, [Decay(0.9), lambda e: 1.0])
    sched2.load_state_dict(state)
    assert sched2.lr_lambdas[0].rate == 0.5


METRICS = [1.0, 0.9, 0.95, 0.97, 0.96, 0.99, 0.89, 0.8899, 0.8898, 0.89, 0.9, 0.91, 0.5, 0.6,
           0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 0.4, 0.45, 0.45, 0.45, 0.45, 0.45, 0.45, 0.3, 0.3, 0.3]


@pytest.mark.parametrize("kwargs", [
    dict(patience=2),
    dict(mode="max", patience=1, factor=0.5),
    dict(patience=1, threshold=0.05, threshold_mode="abs", cooldown=2, min_lr=[0.01, 0.002]),
    dict(mode="max", threshold=0.01, threshold_mode="rel", patience=0, cooldown=1, min_lr=0.004),
    dict(patience=0, factor=0.5, eps=0.03),
], ids=["min", "max", "abs-cooldown-min_lr", "max-rel", "eps"])
def test_reduce_on_plateau_matches_torch(kwargs):
    oe, ot = make_opt(ember), make_opt(torch)
    se, st = ember_sched.ReduceLROnPlateau(oe, **kwargs), torch_sched.ReduceLROnPlateau(ot, **kwargs)
    sign = -1 if kwargs.get("mode") == "max" else 1
    for m in METRICS:
        se.step(sign * m)
        st.step(sign * m)
        assert se.get_last_lr() == pytest.approx(st.get_last_lr(), rel=1e-15)
        assert (se.best, se.num_bad_epochs, se.cooldown_counter, se.last_epoch) == \
               (st.best, st.num_bad_epochs, st.cooldown_counter, st.last_epoch)
    assert se.get_last_lr() != [0.1, 0.05]  # the script does reduce the rate


def test_reduce_on_plateau_state_dict_and_tensor_metric():
    opt = make_opt(ember)
    sched = ember_sched.ReduceLROnPlateau(opt, patience=1)
    for m in METRICS[:8]:
        sched.step(ember.tensor(m))
    opt2 = make_opt(ember)
    sched2 = ember_sched.ReduceLROnPlateau(opt2, patience=1)
    opt2.load_state_dict(copy.deepcopy(opt.state_dict()))
    sched2.load_state_dict(copy.deepcopy(sched.state_dict()))
    for m in METRICS[8:]:
        sched.step(m)
        sched2.step(m)
        assert sched2.get_last_lr() == sched.get_last_lr()
        assert sched2.best == sched.best and sched2.num_bad_epochs == sched.num_bad_epochs


@pytest.mark.parametrize("make", [
    lambda L, o: L.StepLR(o, 3), lambda L, o: L.MultiStepLR(o, [2, 5, 5], gamma=0.5),
    lambda L, o: L.ConstantLR(o, total_iters=4), lambda L, o: L.LinearLR(o, total_iters=6),
    lambda L, o: L.ExponentialLR(o, 0.8), lambda L, o: L.PolynomialLR(o, total_iters=8, power=0.5),
    lambda L, o: L.CosineAnnealingLR(o, T_max=6, eta_min=0.001),
    lambda L, o: L.LambdaLR(o, lambda e: 1 / (1 + e)),
], ids=["Step", "MultiStep", "Constant", "Linear", "Exponential", "Polynomial", "Cosine", "Lambda"])
def test_step_with_epoch_uses_closed_form(make):
    oe, ot = make_opt(ember), make_opt(torch)
    se, st = make(ember_sched, oe), make(torch_sched, ot)
    for epoch in [0, 3, 7, 2, 15, 6, 1]:
        oe.step()
        ot.step()
        with pytest.warns(UserWarning, match="epoch parameter in `scheduler.step\\(\\)`"):
            se.step(epoch)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            st.step(epoch)
        assert_same_schedule(se, st, oe, ot)


@pytest.mark.parametrize("T_mult", [1, 2, 3])
def test_warm_restarts_fractional_epochs(T_mult):
    oe, ot = make_opt(ember), make_opt(torch)
    se = ember_sched.CosineAnnealingWarmRestarts(oe, T_0=2, T_mult=T_mult, eta_min=0.01)
    st = torch_sched.CosineAnnealingWarmRestarts(ot, T_0=2, T_mult=T_mult, eta_min=0.01)
    for epoch in range(12):
        for i in range(4):
            se.step(epoch + i / 4)
            st.step(epoch + i / 4)
            assert_same_schedule(se, st, oe, ot)
            assert (se.T_cur, se.T_i, se.last_epoch) == pytest.approx((st.T_cur, st.T_i, st.last_epoch))
    with pytest.raises(ValueError, match="Expected non-negative epoch, but got -1"):
        se.step(-1)


def test_resume_with_last_epoch():
    oe, ot = make_opt(ember), make_opt(torch)
    for o in (oe, ot):
        for g in o.param_groups:
            g["initial_lr"] = g["lr"] * 2
    se = ember_sched.CosineAnnealingLR(oe, T_max=10, last_epoch=5)
    st = torch_sched.CosineAnnealingLR(ot, T_max=10, last_epoch=5)
    assert se.base_lrs == st.base_lrs == [0.2, 0.1]
    for _ in range(12):
        assert_same_schedule(se, st, oe, ot)
        oe.step()
        ot.step()
        se.step()
        st.step()


def test_resume_without_initial_lr():
    with pytest.raises(KeyError, match="param 'initial_lr' is not specified in param_groups\\[0\\]"):
        ember_sched.StepLR(make_opt(ember), 3, last_epoch=4)


def test_initial_lr_recorded_and_base_lrs():
    opt = make_opt(ember)
    sched = ember_sched.ExponentialLR(opt, 0.5)
    assert [g["initial_lr"] for g in opt.param_groups] == sched.base_lrs == [0.1, 0.05]
    opt.step()
    sched.step()
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.05]
    assert sched.get_last_lr() == [0.05, 0.025]


def test_tensor_lr_is_updated_in_place():
    params = [ember.zeros(2, requires_grad=True)]
    lr = ember.tensor(0.1, dtype=ember.float64)
    opt = ember.optim.SGD(params, lr=lr)
    sched = ember_sched.StepLR(opt, step_size=1, gamma=0.5)
    opt.step()
    sched.step()
    assert opt.param_groups[0]["lr"] is lr and lr.item() == pytest.approx(0.05)
    last = sched.get_last_lr()[0]
    assert isinstance(last, ember.Tensor) and last is not lr and last.item() == pytest.approx(0.05)


def test_warns_when_stepped_before_optimizer():
    opt = make_opt(ember)
    sched = ember_sched.StepLR(opt, 2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()
    opt2 = make_opt(ember)
    sched2 = ember_sched.StepLR(opt2, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt2.step()
        sched2.step()
        sched2.step()


def test_one_cycle_past_total_steps():
    oe, ot = make_opt(ember), make_opt(torch)
    se, st = ember_sched.OneCycleLR(oe, 1.0, total_steps=3), torch_sched.OneCycleLR(ot, 1.0, total_steps=3)
    for _ in range(3):
        oe.step()
        ot.step()
        se.step()
        st.step()
    with pytest.raises(ValueError) as te:
        st.step()
    with pytest.raises(ValueError) as ee:
        se.step()
    assert str(ee.value) == str(te.value)


def _errors_equal(make, opt_name="SGD"):
    with pytest.raises(Exception) as te:
        make(torch_sched, make_opt(torch, opt_name))
    with pytest.raises(Exception) as ee:
        make(ember_sched, make_opt(ember, opt_name))
    assert type(ee.value) is type(te.value)
    assert str(ee.value) == str(te.value).replace("torch.", "ember.")


@pytest.mark.parametrize("make,opt_name", [
    (lambda L, o: L.ConstantLR(o, factor=2.0), "SGD"),
    (lambda L, o: L.LinearLR(o, start_factor=0), "SGD"),
    (lambda L, o: L.LinearLR(o, end_factor=1.5), "SGD"),
    (lambda L, o: L.LambdaLR(o, [lambda e: 1.0]), "SGD"),
    (lambda L, o: L.MultiplicativeLR(o, 0.5), "SGD"),
    (lambda L, o: L.OneCycleLR(o, max_lr=1.0), "SGD"),
    (lambda L, o: L.OneCycleLR(o, max_lr=1.0, total_steps=0), "SGD"),
    (lambda L, o: L.OneCycleLR(o, max_lr=1.0, epochs=2, steps_per_epoch=-1), "SGD"),
    (lambda L, o: L.OneCycleLR(o, max_lr=1.0, total_steps=10, pct_start=1.5), "SGD"),
    (lambda L, o: L.OneCycleLR(o, max_lr=1.0, total_steps=10, anneal_strategy="step"), "SGD"),
    (lambda L, o: L.OneCycleLR(o, max_lr=[1.0, 2.0, 3.0], total_steps=10), "SGD"),
    (lambda L, o: L.OneCycleLR(o, max_lr=1.0, total_steps=10), "Adagrad"),
    (lambda L, o: L.CyclicLR(o, 0.01, 0.1, mode="square"), "SGD"),
    (lambda L, o: L.CyclicLR(o, 0.01, 0.1), "Adadelta"),
    (lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=0), "SGD"),
    (lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0), "SGD"),
    (lambda L, o: L.ReduceLROnPlateau(o, factor=1.0), "SGD"),
    (lambda L, o: L.ReduceLROnPlateau(o, mode="mid"), "SGD"),
    (lambda L, o: L.ReduceLROnPlateau(o, threshold_mode="log"), "SGD"),
    (lambda L, o: L.ReduceLROnPlateau(o, min_lr=[0.1]), "SGD"),
    (lambda L, o: L.SequentialLR(o, [L.StepLR(o, 2), L.StepLR(o, 3)], milestones=[]), "SGD"),
    (lambda L, o: L.SequentialLR(o, [], milestones=[]), "SGD"),
    (lambda L, o: L.SequentialLR(o, [L.StepLR(o, 2), L.ReduceLROnPlateau(o)], milestones=[3]), "SGD"),
    (lambda L, o: L.ChainedScheduler([]), "SGD"),
    (lambda L, o: L.StepLR(object(), 2), "SGD"),
])
def test_errors_match_torch(make, opt_name):
    _errors_equal(make, opt_name)


def test_schedulers_must_share_the_optimizer():
    o1, o2 = make_opt(ember), make_opt(ember)
    with pytest.raises(ValueError, match="expects all schedulers to belong to the same optimizer"):
        ember_sched.SequentialLR(o1, [ember_sched.StepLR(o1, 2), ember_sched.StepLR(o2, 2)], [3])
    with pytest.raises(ValueError, match="expects all schedulers to belong to the same optimizer"):
        ember_sched.ChainedScheduler([ember_sched.StepLR(o1, 2), ember_sched.StepLR(o2, 2)])


def test_cosine_lr_is_periodic_around_T_max():
    opt = make_opt(ember)
    sched = ember_sched.CosineAnnealingLR(opt, T_max=4, eta_min=0.02)
    lrs = [sched.get_last_lr()[0]]
    for _ in range(8):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    expected = [0.02 + 0.08 * (1 + math.cos(math.pi * t / 4)) / 2 for t in range(9)]
    np.testing.assert_allclose(lrs, expected, rtol=1e-12)


def test_per_group_tensor_values_are_not_shared():
    opt = make_opt(ember)
    sched = ember_sched.CyclicLR(opt, base_lr=ember.tensor(0.01), max_lr=0.1, step_size_up=2)
    a, b = sched.base_lrs
    assert isinstance(a, ember.Tensor) and a is not b


def test_old_base_class_name():
    class Halving(ember_sched._LRScheduler):
        def get_lr(self):
            return [base * 0.5 ** self.last_epoch for base in self.base_lrs]

    opt = make_opt(ember)
    sched = Halving(opt)
    opt.step()
    sched.step()
    assert sched.get_last_lr() == [0.05, 0.025]


@pytest.mark.parametrize("name", ember_sched.__all__)
def test_signature_matches_torch(name):
    import inspect

    def params(cls):
        return [(p.name, p.kind, p.default) for p in inspect.signature(cls).parameters.values()]

    assert params(getattr(ember_sched, name)) == params(getattr(torch_sched, name))
