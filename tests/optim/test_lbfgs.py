"""LBFGS against torch.optim.LBFGS: parameter trajectories over several steps on a
quadratic, the Rosenbrock function and a small linear regression, with and without the
strong-Wolfe line search; state layout, state_dict round trip and a torch-shaped state."""
import copy

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

_rng = np.random.default_rng(0)
A = _rng.normal(size=(5, 5))
A = A @ A.T + np.eye(5)  # positive definite
B = _rng.normal(size=5)
X, W_TRUE = _rng.normal(size=(20, 3)), np.array([[1.5], [-2.0], [0.5]])
Y = X @ W_TRUE + 0.1 * _rng.normal(size=(20, 1))


def quadratic(lib, params):
    (x,) = params
    a, b = lib.tensor(A.astype(_np_dtype(x))), lib.tensor(B.astype(_np_dtype(x)))
    return 0.5 * (x @ (a @ x)) - (b * x).sum()


def rosenbrock(lib, params):
    (x,) = params
    return ((1 - x[:-1]) ** 2).sum() + 100 * ((x[1:] - x[:-1] ** 2) ** 2).sum()


def regression(lib, params):
    w, b = params
    x, y = lib.tensor(X.astype(_np_dtype(w))), lib.tensor(Y.astype(_np_dtype(w)))
    return ((x @ w + b - y) ** 2).mean()


def _np_dtype(t):
    return np.dtype(str(t.dtype).split(".")[-1])


PROBLEMS = {
    "quadratic": (quadratic, lambda: [_rng_init(0, (5,))]),
    "rosenbrock": (rosenbrock, lambda: [np.array([-1.2, 1.0, -0.5, 0.8])]),
    "regression": (regression, lambda: [_rng_init(1, (3, 1)), _rng_init(2, (1,))]),
}


def _rng_init(seed, shape):
    return np.random.default_rng(seed).uniform(-1, 1, shape)


def make(problem, dtype=np.float64):
    arrays = [a.astype(dtype) for a in PROBLEMS[problem][1]()]
    return ([ember.tensor(a, requires_grad=True) for a in arrays],
            [torch.tensor(a, requires_grad=True) for a in arrays])


def closure_for(lib, opt, fn, params, counter=None):
    def closure():
        if counter is not None:
            counter.append(1)
        opt.zero_grad()
        loss = fn(lib, params)
        loss.backward()
        return loss
    return closure


def run_both(problem, kwargs, steps, dtype=np.float64, rtol=1e-9, atol=1e-12):
    fn = PROBLEMS[problem][0]
    pe, pt = make(problem, dtype)
    oe, ot = ember.optim.LBFGS(pe, **kwargs), torch.optim.LBFGS(pt, **kwargs)
    calls_e, calls_t = [], []
    for step in range(steps):
        le = oe.step(closure_for(ember, oe, fn, pe, calls_e))
        lt = ot.step(closure_for(torch, ot, fn, pt, calls_t))
        assert le.item() == pytest.approx(lt.item(), rel=rtol, abs=atol), f"step {step}: loss"
        assert len(calls_e) == len(calls_t), f"step {step}: closure evaluations"
        for i, (a, b) in enumerate(zip(pe, pt)):
            np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=rtol, atol=atol,
                                       err_msg=f"step {step}: param {i}")
    return pe, pt, oe, ot


CASES = [
    dict(),
    dict(lr=0.1, max_iter=5),
    dict(lr=0.01, history_size=3, max_iter=7, max_eval=9),
    dict(line_search_fn="strong_wolfe"),
    dict(line_search_fn="strong_wolfe", history_size=2, max_iter=4),
    dict(lr=0.5, line_search_fn="strong_wolfe", tolerance_grad=1e-4, tolerance_change=1e-6),
    dict(max_iter=1),
    dict(max_iter=1, line_search_fn="strong_wolfe"),
]


@pytest.mark.parametrize("kwargs", CASES, ids=[str(c) for c in CASES])
@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_matches_torch(problem, kwargs):
    # Rosenbrock's curved valley amplifies rounding differences (from the order of sums in
    # the two frameworks' losses) to ~1e-8 over 80 iterations; the others stay near 1e-13.
    rtol = 1e-6 if problem == "rosenbrock" else 1e-9
    _, _, oe, ot = run_both(problem, kwargs, steps=4, rtol=rtol)
    assert oe.state_dict()["param_groups"] == ot.state_dict()["param_groups"]
    se = oe.state_dict()["state"]
    st = ot.state_dict()["state"]
    assert list(se) == list(st)
    for k, vt in st[0].items():
        ve = se[0][k]
        if isinstance(vt, list):
            assert len(ve) == len(vt), k
            pairs = list(zip(ve, vt))
        else:
            pairs = [(ve, vt)]
        # Entries near zero (e.g. al once converged) come from cancellations: compare them on
        # the scale of their largest sibling.
        scale = max((float(b.abs().max()) for _, b in pairs if isinstance(b, torch.Tensor)),
                    default=0.0)
        for a, b in pairs:
            if isinstance(b, torch.Tensor):
                assert isinstance(a, ember.Tensor) and a.dtype.name == str(b.dtype)[6:], k
                np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-5 * scale,
                                           err_msg=k)
            else:
                assert type(a) is type(b) and a == pytest.approx(b, rel=1e-5, abs=1e-12), k


@pytest.mark.parametrize("ls", [None, "strong_wolfe"])
def test_float32_matches_torch(ls):
    pe, _, _, _ = run_both("regression", dict(lr=1 if ls else 0.1, line_search_fn=ls, max_iter=10),
                           steps=3, dtype=np.float32, rtol=1e-4, atol=1e-5)
    assert pe[0].dtype == ember.float32


def test_optimal_start_returns_without_state_beyond_counters():
    pe, pt = make("quadratic")
    with ember.no_grad():
        pe[0].copy_(ember.tensor(np.linalg.solve(A, B)))
    opt = ember.optim.LBFGS(pe, tolerance_grad=1e-3)
    opt.step(closure_for(ember, opt, quadratic, pe))
    assert opt.state[pe[0]] == {"func_evals": 1, "n_iter": 0}


def _train(opt, params, fn, steps):
    for _ in range(steps):
        opt.step(closure_for(ember, opt, fn, params))


@pytest.mark.parametrize("ls", [None, "strong_wolfe"])
def test_state_dict_round_trip(ls):
    kwargs = dict(lr=0.05 if ls is None else 1, max_iter=3, history_size=4, line_search_fn=ls)
    pe, _ = make("regression")
    opt = ember.optim.LBFGS(pe, **kwargs)
    _train(opt, pe, regression, 2)
    resumed = [ember.tensor(p.detach().numpy().copy(), requires_grad=True) for p in pe]
    opt2 = ember.optim.LBFGS(resumed, lr=123.0)
    opt2.load_state_dict(copy.deepcopy(opt.state_dict()))
    assert opt2.param_groups[0]["history_size"] == 4
    _train(opt, pe, regression, 2)
    _train(opt2, resumed, regression, 2)
    for a, b in zip(resumed, pe):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


@pytest.mark.parametrize("ls", [None, "strong_wolfe"])
def test_loads_a_torch_state_dict(ls):
    kwargs = dict(lr=0.05 if ls is None else 1, max_iter=3, history_size=4, line_search_fn=ls)
    pe, pt = make("regression")
    ot = torch.optim.LBFGS(pt, **kwargs)
    for _ in range(2):
        ot.step(closure_for(torch, ot, regression, pt))
    with ember.no_grad():
        for e, t in zip(pe, pt):
            e.copy_(ember.tensor(t.detach().numpy()))

    def to_ember(v):
        if isinstance(v, torch.Tensor):
            return ember.tensor(v.numpy())
        if isinstance(v, dict):
            return {k: to_ember(x) for k, x in v.items()}
        if isinstance(v, list):
            return [to_ember(x) for x in v]
        return v

    oe = ember.optim.LBFGS(pe, **kwargs)
    oe.load_state_dict(to_ember(copy.deepcopy(ot.state_dict())))
    for _ in range(2):
        le = oe.step(closure_for(ember, oe, regression, pe))
        lt = ot.step(closure_for(torch, ot, regression, pt))
        assert le.item() == pytest.approx(lt.item(), rel=1e-10)
    for a, b in zip(pe, pt):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-9)


def test_errors_match_torch():
    pe, pt = make("regression")
    with pytest.raises(ValueError) as te:
        torch.optim.LBFGS([{"params": pt[:1]}, {"params": pt[1:]}])
    with pytest.raises(ValueError) as ee:
        ember.optim.LBFGS([{"params": pe[:1]}, {"params": pe[1:]}])
    assert str(ee.value) == str(te.value)
    ot, oe = torch.optim.LBFGS(pt, line_search_fn="backtracking"), ember.optim.LBFGS(
        pe, line_search_fn="backtracking")
    with pytest.raises(RuntimeError) as te:
        ot.step(closure_for(torch, ot, regression, pt))
    with pytest.raises(RuntimeError) as ee:
        oe.step(closure_for(ember, oe, regression, pe))
    assert str(ee.value) == str(te.value)


def test_closure_runs_with_grad_and_step_hooks_fire():
    pe, _ = make("quadratic")
    opt = ember.optim.LBFGS(pe, max_iter=2)
    seen = []
    opt.register_step_pre_hook(lambda o, args, kwargs: seen.append("pre"))
    opt.register_step_post_hook(lambda o, args, kwargs: seen.append("post"))
    with ember.no_grad():
        opt.step(closure_for(ember, opt, quadratic, pe))
    assert seen == ["pre", "post"] and pe[0].grad is not None
