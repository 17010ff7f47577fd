"""Optimizers against torch.optim: 20 steps on a small tanh network from identical float64
weights, each framework computing its own gradients; state, state_dict, groups, errors."""
import copy

import numpy as np
import pytest

import ember
import helpers

torch = pytest.importorskip("torch")

NAMES = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam",
         "Rprop", "ASGD", "SparseAdam", "LBFGS"]
CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.5, maximize=True)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True, betas=(0.8, 0.9))),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, amsgrad=True, weight_decay=0.1, eps=1e-3)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, alpha=0.9, maximize=True)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.1)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, weight_decay=0.1, eps=1e-4, maximize=True)),
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.01, weight_decay=0.1, betas=(0.8, 0.99))),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.01, weight_decay=0.1)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, momentum_decay=0.01)),
    ("RAdam", dict()),
    ("RAdam", dict(lr=0.01, weight_decay=0.1)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2), maximize=True)),
    ("Rprop", dict(lr=0.1, etas=(0.5, 1.1), foreach=True)),
    ("ASGD", dict(lr=0.1)),
    ("ASGD", dict(lr=0.1, lambd=0.01, alpha=0.5, t0=5, weight_decay=0.1)),
    ("ASGD", dict(lr=0.05, t0=0, maximize=True)),
]
IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'defaults'}" for n, kw in CASES]
SHAPES = [(4, 6), (6,), (6, 3), (3,)]


def make_params(dtype=np.float64, seed=0):
    """The same initial weights as ember and torch leaf tensors."""
    rng = np.random.default_rng(seed)
    arrays = [rng.uniform(-1, 1, s).astype(dtype) for s in SHAPES]
    return ([ember.tensor(a, requires_grad=True, device=helpers.DEVICE) for a in arrays],
            [torch.tensor(a, requires_grad=True) for a in arrays])


_rng = np.random.default_rng(1)
X, Y = _rng.uniform(-1, 1, (10, 4)), _rng.uniform(-1, 1, (10, 3))


def loss_fn(lib, params):
    w1, b1, w2, b2 = params
    x, y = (lib.tensor(a.astype(np.dtype(str(w1.dtype).split(".")[-1])), device=w1.device)
            for a in (X, Y))
    return (((x @ w1 + b1).tanh() @ w2 + b2 - y) ** 2).mean()


def train(lib, opt, params, steps):
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(lib, params).backward()
        opt.step()


def assert_params_close(pe, pt, rtol, atol=1e-14, what="param"):
    for i, (a, b) in enumerate(zip(pe, pt)):
        np.testing.assert_allclose(helpers.host(a), helpers.host(b), rtol=rtol, atol=atol,
                                   err_msg=f"{what} {i}")


def assert_state_close(se, st, rtol):
    """Per-parameter state: same keys in the same order, same dtypes, same values."""
    assert list(se) == list(st)
    for k in st:
        assert str(se[k].dtype).split(".")[-1] == str(st[k].dtype).split(".")[-1], k
        np.testing.assert_allclose(helpers.host(se[k]), helpers.host(st[k]), rtol=rtol, atol=1e-14,
                                   err_msg=k)


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_matches_torch(name, kwargs):
    pe, pt = make_params()
    oe = getattr(ember.optim, name)(pe, **kwargs)
    ot = getattr(torch.optim, name)(pt, **kwargs)
    for step in range(20):
        train(ember, oe, pe, 1)
        train(torch, ot, pt, 1)
        assert_params_close(pe, pt, 1e-10, what=f"step {step}: param")
    se, st = oe.state_dict(), ot.state_dict()
    assert se["param_groups"] == st["param_groups"]
    assert list(se["state"]) == list(st["state"])
    for i in st["state"]:
        assert_state_close(se["state"][i], st["state"][i], 1e-9)
    assert repr(oe) == repr(ot)


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_zero_dim_parameter_matches_torch(name, kwargs):
    """A 0-d parameter (a learned scale or temperature) beside a vector, for 8 steps: the
    array math on 0-d arrays, whose results NumPy returns as scalars, keeps them arrays."""
    x, y = _rng.uniform(-1, 1, (10, 3)), _rng.uniform(-1, 1, 10)
    results = []
    for lib in (ember, torch):
        kw = dict(requires_grad=True, device=helpers.DEVICE) if lib is ember else dict(requires_grad=True)
        scale, v = lib.tensor(np.array(1.5), **kw), lib.tensor(np.array([0.3, -0.2, 0.5]), **kw)
        opt = getattr(lib.optim, name)([scale, v], **kwargs)
        xs, ys = (lib.tensor(a, device=scale.device) for a in (x, y))
        for _ in range(8):
            def closure():
                opt.zero_grad()
                loss = (((xs @ v) * scale - ys) ** 2).mean()
                loss.backward()
                return loss
            opt.step(closure)
        results.append((scale, v))
    assert_params_close(*results, 1e-10)


FLOAT32_CASES = (1, 5, 13, 21, 25, 28, 31)


@pytest.mark.parametrize("name,kwargs", [CASES[i] for i in FLOAT32_CASES],
                         ids=[IDS[i] for i in FLOAT32_CASES])
def test_matches_torch_float32(name, kwargs):
    pe, pt = make_params(np.float32)
    oe = getattr(ember.optim, name)(pe, **kwargs)
    ot = getattr(torch.optim, name)(pt, **kwargs)
    train(ember, oe, pe, 20)
    train(torch, ot, pt, 20)
    assert all(p.dtype == ember.float32 for p in pe)
    assert_params_close(pe, pt, 1e-5, atol=1e-6)


GROUP_CASES = (2, 7, 14, 16, 23, 28, 31)


@pytest.mark.parametrize("name,kwargs", [CASES[i] for i in GROUP_CASES],
                         ids=[IDS[i] for i in GROUP_CASES])
def test_param_groups_with_own_options(name, kwargs):
    pe, pt = make_params()
    extra = {"lr": 0.003} if name != "SGD" else {"lr": 0.3, "momentum": 0.2}
    oe = getattr(ember.optim, name)([{"params": pe[:2]}, {"params": pe[2:], **extra}], **kwargs)
    ot = getattr(torch.optim, name)([{"params": pt[:2]}, {"params": pt[2:], **extra}], **kwargs)
    train(ember, oe, pe, 20)
    train(torch, ot, pt, 20)
    assert_params_close(pe, pt, 1e-9)
    assert oe.state_dict()["param_groups"] == ot.state_dict()["param_groups"]


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_state_dict_round_trip(name, kwargs):
    pe, pt = make_params()
    opt = getattr(ember.optim, name)(pe, **kwargs)
    train(ember, opt, pe, 10)
    saved = copy.deepcopy(opt.state_dict())
    resumed = [ember.tensor(p.detach().cpu().numpy().copy(), requires_grad=True) for p in pe]
    opt2 = getattr(ember.optim, name)(resumed, lr=123.0)  # the loaded groups replace this lr
    opt2.load_state_dict(saved)
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    assert opt2.param_groups[0]["params"][0] is resumed[0]
    train(ember, opt, pe, 10)
    train(ember, opt2, resumed, 10)
    if name != "NAdam":
        assert_params_close(resumed, pe, 0, atol=0)
        return
    # Loading casts NAdam's float32 mu_product to the float64 params' dtype (as PyTorch does),
    # so that resumed run differs from the uninterrupted one by rounding: it must equal
    # PyTorch's resumed run.
    ot = getattr(torch.optim, name)(pt, **kwargs)
    train(torch, ot, pt, 10)
    resumed_t = [torch.tensor(p.detach().cpu().numpy().copy(), requires_grad=True) for p in pt]
    ot2 = getattr(torch.optim, name)(resumed_t, lr=123.0)
    ot2.load_state_dict(copy.deepcopy(ot.state_dict()))
    train(torch, ot2, resumed_t, 10)
    assert_params_close(resumed, resumed_t, 1e-10)
    assert_params_close(resumed, pe, 1e-6, atol=1e-9)


def test_state_dict_structure():
    pe, pt = make_params()
    oe = ember.optim.SGD([{"params": pe[:1]}, {"params": pe[1:], "lr": 0.5}], lr=0.1, momentum=0.9)
    ot = torch.optim.SGD([{"params": pt[:1]}, {"params": pt[1:], "lr": 0.5}], lr=0.1, momentum=0.9)
    pe[3].requires_grad_(False)  # no gradient: no state
    pt[3].requires_grad_(False)
    train(ember, oe, pe, 2)
    train(torch, ot, pt, 2)
    se, st = oe.state_dict(), ot.state_dict()
    assert se["param_groups"] == st["param_groups"]
    assert [g["params"] for g in se["param_groups"]] == [[0], [1, 2, 3]]
    assert list(se["state"]) == list(st["state"]) == [0, 1, 2]
    assert se["state"][0]["momentum_buffer"] is oe.state[pe[0]]["momentum_buffer"]


def test_sgd_without_momentum_keeps_no_state():
    pe, _ = make_params()
    opt = ember.optim.SGD(pe, lr=0.1)
    train(ember, opt, pe, 2)
    assert opt.state_dict()["state"] == {}


def test_load_state_dict_casts_to_param_dtype():
    pe, _ = make_params()
    opt = ember.optim.Adam(pe, lr=0.01)
    train(ember, opt, pe, 3)
    p32 = [ember.tensor(p.detach().cpu().numpy().astype(np.float32), requires_grad=True) for p in pe]
    opt32 = ember.optim.Adam(p32)
    opt32.load_state_dict(opt.state_dict())
    state = opt32.state[p32[0]]
    assert state["exp_avg"].dtype == ember.float32 and state["exp_avg_sq"].dtype == ember.float32
    assert state["step"] is opt.state[pe[0]]["step"]  # the step counter is never cast
    np.testing.assert_allclose(state["exp_avg"].cpu().numpy(), opt.state[pe[0]]["exp_avg"].cpu().numpy(), rtol=1e-6)
    train(ember, opt32, p32, 1)
    assert float(opt32.state[p32[0]]["step"]) == 4


def test_load_state_dict_errors_match_torch():
    pe, pt = make_params()
    full_e, full_t = ember.optim.SGD(pe, lr=0.1), torch.optim.SGD(pt, lr=0.1)
    cases = [
        (ember.optim.SGD([{"params": pe[:2]}, {"params": pe[2:]}], lr=0.1),
         torch.optim.SGD([{"params": pt[:2]}, {"params": pt[2:]}], lr=0.1)),
        (ember.optim.SGD(pe[:3], lr=0.1), torch.optim.SGD(pt[:3], lr=0.1)),
    ]
    for oe, ot in cases:
        with pytest.raises(ValueError) as te:
            ot.load_state_dict(full_t.state_dict())
        with pytest.raises(ValueError) as ee:
            oe.load_state_dict(full_e.state_dict())
        assert str(ee.value) == str(te.value)


def test_step_skips_params_without_grad():
    pe, _ = make_params()
    opt = ember.optim.Adam(pe, lr=0.1)
    before = pe[1].detach().cpu().numpy().copy()
    pe[0].grad = ember.ones(4, 6, dtype=ember.float64)
    opt.step()
    np.testing.assert_array_equal(pe[1].detach().cpu().numpy(), before)
    assert pe[1] not in opt.state and float(opt.state[pe[0]]["step"]) == 1


def test_step_bumps_version_and_records_no_graph():
    pe, _ = make_params()
    opt = ember.optim.SGD(pe, lr=0.1, momentum=0.9)
    loss_fn(ember, pe).backward()
    v = pe[0]._version
    opt.step()
    assert pe[0]._version == v + 1
    assert pe[0].is_leaf and pe[0].grad_fn is None and pe[0].requires_grad


def test_closure_runs_with_grad_and_returns_loss():
    pe, pt = make_params()
    oe, ot = ember.optim.RMSprop(pe, lr=0.01), torch.optim.RMSprop(pt, lr=0.01)

    def closure_for(lib, opt, params):
        def closure():
            opt.zero_grad()
            loss = loss_fn(lib, params)
            loss.backward()
            return loss
        return closure

    for _ in range(5):
        with ember.no_grad():
            le = oe.step(closure_for(ember, oe, pe))
        lt = ot.step(closure_for(torch, ot, pt))
        assert le.item() == pytest.approx(lt.item(), rel=1e-12)
    assert_params_close(pe, pt, 1e-10)


def test_zero_grad():
    pe, _ = make_params()
    opt = ember.optim.SGD(pe, lr=0.1)
    loss_fn(ember, pe).backward()
    grad = pe[0].grad
    opt.zero_grad(set_to_none=False)
    assert pe[0].grad is grad and not np.any(grad.cpu().numpy())
    opt.zero_grad()
    assert all(p.grad is None for p in pe)


def test_add_param_group_fills_defaults():
    pe, pt = make_params()
    oe, ot = ember.optim.Adam(pe[:2], lr=0.01), torch.optim.Adam(pt[:2], lr=0.01)
    oe.add_param_group({"params": pe[2:], "betas": (0.5, 0.6)})
    ot.add_param_group({"params": pt[2:], "betas": (0.5, 0.6)})
    train(ember, oe, pe, 5)
    train(torch, ot, pt, 5)
    assert_params_close(pe, pt, 1e-10)
    assert oe.state_dict()["param_groups"] == ot.state_dict()["param_groups"]


def test_named_parameters():
    pe, pt = make_params()
    names = ["w1", "b1", "w2", "b2"]
    oe = ember.optim.SGD(list(zip(names, pe)), lr=0.1, momentum=0.9)
    ot = torch.optim.SGD(list(zip(names, pt)), lr=0.1, momentum=0.9)
    train(ember, oe, pe, 3)
    train(torch, ot, pt, 3)
    assert oe.state_dict()["param_groups"] == ot.state_dict()["param_groups"]
    assert oe.param_groups[0]["param_names"] == names


def test_step_hooks():
    pe, _ = make_params()
    opt = ember.optim.SGD(pe, lr=0.1)
    calls = []
    pre = opt.register_step_pre_hook(lambda o, args, kwargs: calls.append(("pre", o, args, kwargs)))
    opt.register_step_post_hook(lambda o, args, kwargs: calls.append(("post", o, args, kwargs)))
    opt.step()
    assert calls == [("pre", opt, (opt,), {}), ("post", opt, (opt,), {})]  # args[0] is opt
    pre.remove()
    opt.step()
    assert [c[0] for c in calls] == ["pre", "post", "post"]


def test_subclass_with_own_step_gets_hooks_once():
    class Plain(ember.optim.Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, dict(lr=lr))

        @ember.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        p.add_(p.grad, alpha=-group["lr"])

    class Logged(Plain):
        def step(self, closure=None):
            self.calls = getattr(self, "calls", 0) + 1
            return super().step(closure)

    pe, _ = make_params()
    opt = Logged(pe)
    seen = []
    opt.register_step_pre_hook(lambda o, a, k: seen.append("pre"))
    opt.register_step_post_hook(lambda o, a, k: seen.append("post"))
    loss_fn(ember, pe).backward()
    expected = pe[0].detach().cpu().numpy() - 0.1 * pe[0].grad.cpu().numpy()
    opt.step()
    assert seen == ["pre", "post"] and opt.calls == 1
    np.testing.assert_allclose(pe[0].detach().cpu().numpy(), expected, rtol=1e-15)


def _errors_equal(make_e, make_t):
    with pytest.raises(Exception) as te:
        make_t()
    with pytest.raises(Exception) as ee:
        make_e()
    assert type(ee.value) is type(te.value)
    assert str(ee.value) == str(te.value).replace("torch.", "ember.")


@pytest.mark.parametrize("name,kwargs", [
    ("SGD", dict(lr=-1)), ("SGD", dict(momentum=-0.5)), ("SGD", dict(weight_decay=-1e-3)),
    ("SGD", dict(nesterov=True)), ("SGD", dict(nesterov=True, momentum=0.9, dampening=0.1)),
    ("Adam", dict(lr=-0.1)), ("Adam", dict(eps=-1.0)), ("Adam", dict(betas=(1.0, 0.9))),
    ("Adam", dict(betas=(0.9, -0.1))), ("Adam", dict(weight_decay=-1)),
    ("AdamW", dict(betas=(0.9, 1.5))), ("RMSprop", dict(alpha=-1)), ("RMSprop", dict(momentum=-1)),
    ("RMSprop", dict(eps=-1)), ("Adagrad", dict(lr_decay=-1)),
    ("Adagrad", dict(initial_accumulator_value=-1)), ("Adagrad", dict(eps=-1)),
    ("Adadelta", dict(rho=1.5)), ("Adadelta", dict(lr=-1)), ("Adamax", dict(betas=(-0.1, 0.9))),
    ("NAdam", dict(momentum_decay=-1)), ("NAdam", dict(weight_decay=-1)), ("RAdam", dict(eps=-1)),
    ("Rprop", dict(lr=-1)), ("Rprop", dict(etas=(1.0, 1.2))), ("Rprop", dict(etas=(0.5, 0.9))),
    ("ASGD", dict(lr=-1)), ("ASGD", dict(weight_decay=-1)), ("SparseAdam", dict(lr=0)),
    ("SparseAdam", dict(eps=0)), ("SparseAdam", dict(betas=(1.0, 0.9))),
    ("SparseAdam", dict(betas=(0.9, -1))), ("LBFGS", dict(lr=-1)),
])
def test_invalid_hyperparameters_match_torch(name, kwargs):
    pe, pt = make_params()
    _errors_equal(lambda: getattr(ember.optim, name)(pe, **kwargs),
                  lambda: getattr(torch.optim, name)(pt, **kwargs))


def test_params_argument_errors_match_torch():
    pe, pt = make_params()
    _errors_equal(lambda: ember.optim.SGD(pe[0], lr=0.1), lambda: torch.optim.SGD(pt[0], lr=0.1))
    _errors_equal(lambda: ember.optim.Adam([]), lambda: torch.optim.Adam([]))
    _errors_equal(lambda: ember.optim.Adam([{"params": pe[:2]}, {"params": pe[1:]}]),
                  lambda: torch.optim.Adam([{"params": pt[:2]}, {"params": pt[1:]}]))
    _errors_equal(lambda: ember.optim.SGD([pe[0] * 2]), lambda: torch.optim.SGD([pt[0] * 2]))
    _errors_equal(lambda: ember.optim.SGD([{"params": set(pe)}]),
                  lambda: torch.optim.SGD([{"params": set(pt)}]))
    _errors_equal(lambda: ember.optim.SGD([pe[0], 3.0]), lambda: torch.optim.SGD([pt[0], 3.0]))
    _errors_equal(lambda: ember.optim.SGD([("w", pe[0]), pe[1]]),
                  lambda: torch.optim.SGD([("w", pt[0]), pt[1]]))
    opt = ember.optim.SGD(pe[:1])
    with pytest.raises(TypeError, match="param_group must be a dict"):
        opt.add_param_group(pe[1:])


def test_single_tensor_message_names_the_type():
    with pytest.raises(TypeError, match=r"iterable of Tensors or dicts, but got ember\.FloatTensor"):
        ember.optim.SGD(ember.zeros(3, requires_grad=True))


def test_differentiable_is_rejected():
    pe, _ = make_params()
    with pytest.raises(ValueError, match="differentiable=True is not supported"):
        ember.optim.Adam(pe, differentiable=True)


def test_tensor_lr():
    pe, pt = make_params()
    oe = ember.optim.SGD(pe, lr=ember.tensor(0.1), momentum=0.9)
    ot = torch.optim.SGD(pt, lr=torch.tensor(0.1), momentum=0.9)
    train(ember, oe, pe, 5)
    train(torch, ot, pt, 5)
    assert_params_close(pe, pt, 1e-6)  # torch reads the float32 lr tensor as a float too
    with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
        ember.optim.Adam(pe, lr=ember.tensor([0.1, 0.2]))


def test_required_hyperparameter_and_duplicates():
    import torch.optim.optimizer as torch_optimizer

    def plain(base, required):
        class Plain(base):
            def __init__(self, params, lr=required):
                super().__init__(params, dict(lr=lr))
        return Plain

    pe, pt = make_params()
    _errors_equal(lambda: plain(ember.optim.Optimizer, ember.optim.optimizer.required)(pe),
                  lambda: plain(torch.optim.Optimizer, torch_optimizer.required)(pt))
    opt = plain(ember.optim.Optimizer, ember.optim.optimizer.required)([{"params": pe, "lr": 0.5}])
    assert opt.param_groups[0]["lr"] == 0.5
    with pytest.warns(UserWarning, match="duplicate parameters"):
        ember.optim.SGD([pe[0], pe[0]], lr=0.1)


@pytest.mark.parametrize("name", NAMES)
def test_signature_matches_torch(name):
    import inspect

    def params(cls):
        return [(p.name, p.kind, p.default) for p in inspect.signature(cls).parameters.values()]

    assert params(getattr(ember.optim, name)) == params(getattr(torch.optim, name))


def test_pickle_and_deepcopy_keep_state_not_hooks():
    import pickle

    pe, _ = make_params()
    opt = ember.optim.Adam(pe, lr=0.01)
    opt.register_step_post_hook(lambda o, a, k: None)
    train(ember, opt, pe, 2)
    for clone in (pickle.loads(pickle.dumps(opt)), copy.deepcopy(opt)):
        assert clone.param_groups[0]["lr"] == 0.01 and not clone._step_post_hooks
        params = clone.param_groups[0]["params"]
        assert float(clone.state[params[0]]["step"]) == 2
        np.testing.assert_array_equal(clone.state[params[0]]["exp_avg"].cpu().numpy(),
                                      opt.state[pe[0]]["exp_avg"].cpu().numpy())
        clone.step()  # usable after the round trip


def test_trains_nn_linear_like_torch():
    ember.manual_seed(0)
    le1, le2 = ember.nn.Linear(4, 6).double(), ember.nn.Linear(6, 3).double()
    lt1, lt2 = torch.nn.Linear(4, 6).double(), torch.nn.Linear(6, 3).double()
    with torch.no_grad():
        for e, t in ((le1, lt1), (le2, lt2)):
            t.weight.copy_(torch.from_numpy(e.weight.detach().cpu().numpy().copy()))
            t.bias.copy_(torch.from_numpy(e.bias.detach().cpu().numpy().copy()))
    pe = list(le1.parameters()) + list(le2.parameters())
    pt = list(lt1.parameters()) + list(lt2.parameters())
    oe = ember.optim.AdamW(pe, lr=0.01)
    ot = torch.optim.AdamW(pt, lr=0.01)
    se = ember.optim.lr_scheduler.OneCycleLR(oe, max_lr=0.05, total_steps=10)
    st = torch.optim.lr_scheduler.OneCycleLR(ot, max_lr=0.05, total_steps=10)
    for _ in range(10):
        for lib, (l1, l2), opt, sched in ((ember, (le1, le2), oe, se), (torch, (lt1, lt2), ot, st)):
            opt.zero_grad()
            x, y = lib.tensor(X), lib.tensor(Y)
            ((l2(l1(x).tanh()) - y) ** 2).mean().backward()
            opt.step()
            sched.step()
    assert_params_close(pe, pt, 1e-10)
