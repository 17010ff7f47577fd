"""vmap against torch.vmap: in_dims/out_dims forms, pytrees, nesting, per-sample
gradients, randomness modes and errors."""
import numpy as np
import pytest

import ember
from helpers import assert_close, torch


def arrays(*shapes, seed=1):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes]


def both(*arrs):
    return tuple(ember.tensor(a) for a in arrs), tuple(torch.tensor(a) for a in arrs)


def assert_tree(e, t, what="result"):
    if isinstance(t, torch.Tensor):
        assert isinstance(e, ember.Tensor), f"{what}: expected a Tensor, got {type(e).__name__}"
        assert_close(e, t, 1e-10, 1e-8, what)
    elif isinstance(t, dict):
        assert type(e) is dict and list(e) == list(t), f"{what}: {e!r}"
        for k in t:
            assert_tree(e[k], t[k], f"{what}[{k!r}]")
    else:
        assert type(e) is type(t) and len(e) == len(t), f"{what}: {type(e).__name__} vs {type(t).__name__}"
        for i, (a, b) in enumerate(zip(e, t)):
            assert_tree(a, b, f"{what}[{i}]")


def check(fn, shapes, **kwargs):
    e, t = both(*arrays(*shapes))
    assert_tree(ember.vmap(fn, **kwargs)(*e), torch.vmap(fn, **kwargs)(*t))


def test_in_dims_forms():
    check(lambda x: x.sin() * 2, [(4, 3)])
    check(lambda x, y: x @ y, [(4, 3), (3, 2)], in_dims=(0, None))
    check(lambda x, y: x * y, [(3, 4), (4, 3)], in_dims=(1, 0))
    check(lambda x, y: x.sum(-1) + y, [(2, 5, 3), (5,)], in_dims=(-2, 0))
    check(lambda x: x.sum(), [(4, 3)], in_dims=1)


def test_out_dims_and_tuple_outputs():
    check(lambda x: (x * 2, x.sum()), [(4, 3)])
    check(lambda x: (x * 2, x.cumsum(0)), [(4, 3)], out_dims=(1, 0))
    check(lambda x: x.outer(x), [(4, 3)], out_dims=-1)
    check(lambda x, y: (x + 1, y * 3), [(4, 3), (2,)], in_dims=(0, None), out_dims=(0, None))


def test_pytree_inputs_and_outputs():
    e, t = both(*arrays((4, 3), (4,), (3,)))

    def f(d, pair):
        return {"s": d["a"].sum() * d["b"], "l": [pair[0] * pair[1]]}
    e_out = ember.vmap(f, in_dims=({"a": 0, "b": 0}, (0, None)))({"a": e[0], "b": e[1]}, (e[0], e[2]))
    t_out = torch.vmap(f, in_dims=({"a": 0, "b": 0}, (0, None)))({"a": t[0], "b": t[1]}, (t[0], t[2]))
    assert_tree(e_out, t_out)
    e_out = ember.vmap(f, in_dims=(0, [0, None]))({"a": e[0], "b": e[1]}, [e[0], e[2]])
    t_out = torch.vmap(f, in_dims=(0, [0, None]))({"a": t[0], "b": t[1]}, [t[0], t[2]])
    assert_tree(e_out, t_out)
    for lib, x in [(ember, e), (torch, t)]:
        with pytest.raises(ValueError):  # a tuple of in_dims does not cover a list argument
            lib.vmap(f, in_dims=(0, (0, None)))({"a": x[0], "b": x[1]}, [x[0], x[2]])


def test_nested_vmap():
    e, t = both(*arrays((3, 4), (5, 4)))
    inner = lambda lib: lambda x, y: (x * y).sum().tanh()  # noqa: E731
    e_out = ember.vmap(ember.vmap(inner(ember), in_dims=(None, 0)), in_dims=(0, None))(*e)
    t_out = torch.vmap(torch.vmap(inner(torch), in_dims=(None, 0)), in_dims=(0, None))(*t)
    assert_tree(e_out, t_out)


def test_per_sample_gradients():
    rng = np.random.default_rng(2)
    w, x, y = rng.standard_normal((2, 3)), rng.standard_normal((6, 3)), rng.standard_normal((6, 2))

    def make_loss(lib):
        def loss(w, x, y):
            return ((lib.tanh(x @ w.T) - y) ** 2).sum()
        return loss
    e = ember.func.vmap(ember.func.grad(make_loss(ember)), in_dims=(None, 0, 0))(
        ember.tensor(w), ember.tensor(x), ember.tensor(y))
    t = torch.func.vmap(torch.func.grad(make_loss(torch)), in_dims=(None, 0, 0))(
        torch.tensor(w), torch.tensor(x), torch.tensor(y))
    assert_tree(e, t)
    assert not e.requires_grad


def test_per_sample_gradients_of_a_module_with_functional_call():
    torch.manual_seed(0)
    t_model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
    e_model = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.Tanh(), ember.nn.Linear(4, 2)).double()
    e_model.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t_model.state_dict().items()})
    x, y = arrays((5, 3), (5, 2))

    def run(lib, model, params, xs, ys):
        def loss(p, xi, yi):
            out = lib.func.functional_call(model, p, (xi.unsqueeze(0),))
            return ((out - yi.unsqueeze(0)) ** 2).mean()
        return lib.func.vmap(lib.func.grad(loss), in_dims=(None, 0, 0))(params, xs, ys)
    e = run(ember, e_model, {k: v.detach() for k, v in e_model.named_parameters()},
            ember.tensor(x), ember.tensor(y))
    t = run(torch, t_model, {k: v.detach() for k, v in t_model.named_parameters()},
            torch.tensor(x), torch.tensor(y))
    assert_tree(e, t)


def test_gradient_flows_through_vmap():
    (ex,), (tx,) = both(*arrays((4, 3)))
    ex.requires_grad_(True)
    tx.requires_grad_(True)
    c = arrays((4,), seed=5)[0]
    (ember.vmap(lambda r: (r.exp() * r).sum())(ex) * ember.tensor(c)).sum().backward()
    (torch.vmap(lambda r: (r.exp() * r).sum())(tx) * torch.tensor(c)).sum().backward()
    assert_tree(ex.grad, tx.grad)


def test_randomness():
    x = ember.zeros(3, 2)
    with pytest.raises(RuntimeError, match="randomness"):
        ember.vmap(lambda r: r + ember.rand(2))(x)
    with pytest.raises(RuntimeError):
        torch.vmap(lambda r: r + torch.rand(2))(torch.zeros(3, 2))
    same = ember.vmap(lambda r: r + ember.rand(2), randomness="same")(x)
    assert (same == same[0]).all()
    different = ember.vmap(lambda r: r + ember.rand(2), randomness="different")(x)
    assert not (different == different[0]).all()


def test_errors_match_pytorch_types():
    e, t = both(*arrays((3, 2), (4, 2)))
    for lib, (a, b) in [(ember, e), (torch, t)]:
        with pytest.raises(ValueError):  # different batch sizes
            lib.vmap(lambda x, y: x + y)(a, b)
        with pytest.raises(ValueError):  # nothing mapped
            lib.vmap(lambda x: x, in_dims=None)(a)
        with pytest.raises(ValueError):  # in_dims out of range
            lib.vmap(lambda x: x, in_dims=2)(a)
        with pytest.raises(ValueError):  # in_dims of the wrong structure
            lib.vmap(lambda x, y: x, in_dims=(0,))(a, b)
        with pytest.raises(ValueError):  # non-tensor output
            lib.vmap(lambda x: 3.0)(a)
