"""ember.func's differentiation transforms against torch.func: values, argnums, has_aux,
composition (hessian, grad of grad), and gradients flowing through the results."""
import numpy as np
import pytest

import ember
import ember.func as EF
from helpers import assert_close, torch

TF = torch.func
RNG = np.random.default_rng(0)
W1, B1, W2 = RNG.standard_normal((4, 3)), RNG.standard_normal(4), RNG.standard_normal((2, 4))


def arrays(*shapes, seed=1):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes]


def both(*arrs, requires_grad=False):
    return (tuple(ember.tensor(a, requires_grad=requires_grad) for a in arrs),
            tuple(torch.tensor(a, requires_grad=requires_grad) for a in arrs))


def assert_tree(e, t, what="result"):
    if isinstance(t, torch.Tensor):
        assert isinstance(e, ember.Tensor), f"{what}: expected a Tensor, got {type(e).__name__}"
        assert e.requires_grad == t.requires_grad, f"{what}: requires_grad {e.requires_grad}"
        assert_close(e, t, 1e-10, 1e-8, what)
    elif isinstance(t, dict):
        assert type(e) is dict and list(e) == list(t), f"{what}: {e!r}"
        for k in t:
            assert_tree(e[k], t[k], f"{what}[{k!r}]")
    elif isinstance(t, (tuple, list)):
        assert type(e) is type(t) and len(e) == len(t), f"{what}: {type(e).__name__} vs {type(t).__name__}"
        for i, (a, b) in enumerate(zip(e, t)):
            assert_tree(a, b, f"{what}[{i}]")
    else:
        assert e == t, what


def mlp_loss(lib):
    def loss(w1, b1, x, y):
        return ((lib.tanh(x @ w1.T + b1) - y) ** 2).mean()
    return loss


def poly2(a, b):
    return (a ** 3 * b).sum() + (a * b.sin()).sum()


@pytest.mark.parametrize("argnums", [0, 1, (0,), (0, 1), (1, 0), -1])
def test_grad_argnums(argnums):
    (ea, eb), (ta, tb) = both(*arrays((3,), (3,)))
    assert_tree(EF.grad(poly2, argnums)(ea, eb), TF.grad(poly2, argnums)(ta, tb))
    assert_tree(EF.grad_and_value(poly2, argnums)(ea, eb), TF.grad_and_value(poly2, argnums)(ta, tb))


def test_grad_of_mlp_and_pytree_argument():
    e, t = both(W1, B1, *arrays((5, 3), (5, 4)))
    assert_tree(EF.grad(mlp_loss(ember), (0, 1))(*e), TF.grad(mlp_loss(torch), (0, 1))(*t))

    def dict_loss(p, x):
        return (x @ p["w"].T + p["b"]).tanh().sum()
    assert_tree(EF.grad(dict_loss)({"w": e[0], "b": e[1]}, e[2]),
                TF.grad(dict_loss)({"w": t[0], "b": t[1]}, t[2]))


def test_has_aux():
    (ex,), (tx,) = both(*arrays((3,)))

    def f(x):
        y = x.sin()
        return y.sum(), {"y": y, "c": [x.cos()]}
    assert_tree(EF.grad(f, has_aux=True)(ex), TF.grad(f, has_aux=True)(tx))
    assert_tree(EF.grad_and_value(f, has_aux=True)(ex), TF.grad_and_value(f, has_aux=True)(tx))
    for F, x in [(EF, ex), (TF, tx)]:
        with pytest.raises(RuntimeError):
            F.grad(lambda a: (a.sum(), 3), has_aux=True)(x)
    with pytest.raises(RuntimeError):
        TF.grad(lambda x: x.sum(), has_aux=True)(tx)
    with pytest.raises(RuntimeError, match="has_aux"):
        EF.grad(lambda x: x.sum(), has_aux=True)(ex)


def test_grad_errors():
    (ex,), (tx,) = both(*arrays((3,)))
    for F, x in [(EF, ex), (TF, tx)]:
        with pytest.raises(RuntimeError):
            F.grad(lambda a: a * 2)(x)
        with pytest.raises(RuntimeError):
            F.grad(poly2, argnums=2)(x, x)


def test_unused_argument_gets_zeros():
    (ea, eb), (ta, tb) = both(*arrays((3,), (2,)))
    f = lambda a, b: (a * 2).sum()  # noqa: E731
    assert_tree(EF.grad(f, (0, 1))(ea, eb), TF.grad(f, (0, 1))(ta, tb))


def test_grad_is_differentiable_through_outer_graph():
    """A captured weight that requires grad: the gradient is a function of it."""
    (ew, ex), (tw, tx) = both(*arrays((3,), (3,)), requires_grad=True)
    e_g = EF.grad(lambda x: (ew * x ** 2).sum())(ex)
    t_g = TF.grad(lambda x: (tw * x ** 2).sum())(tx)
    assert_tree(e_g, t_g)
    c = arrays((3,), seed=9)[0]
    (e_g * ember.tensor(c)).sum().backward()
    (t_g * torch.tensor(c)).sum().backward()
    assert_tree(ew.grad, tw.grad, "w.grad")
    assert_tree(ex.grad, tx.grad, "x.grad")


def test_grad_of_grad_and_hessian():
    (ex,), (tx,) = both(*arrays((3,)))
    f = lambda x: (x.sin() * x ** 2).sum()  # noqa: E731
    assert_tree(EF.grad(lambda x: EF.grad(f)(x).sum())(ex), TF.grad(lambda x: TF.grad(f)(x).sum())(tx))
    assert_tree(EF.hessian(f)(ex), TF.hessian(f)(tx))
    e, t = both(W1, B1, *arrays((5, 3), (5, 4)))
    assert_tree(EF.hessian(mlp_loss(ember), (0, 1))(*e), TF.hessian(mlp_loss(torch), (0, 1))(*t))


@pytest.mark.parametrize("jac", ["jacrev", "jacfwd"])
def test_jacobians(jac):
    (ea, eb), (ta, tb) = both(*arrays((3,), (2, 3)))

    def f(a, b):
        return {"m": b @ a.exp(), "t": (a.sum() * b, a.sin())}
    for argnums in [0, 1, (0, 1)]:
        assert_tree(getattr(EF, jac)(f, argnums)(ea, eb), getattr(TF, jac)(f, argnums)(ta, tb))

    def g(a):
        return a.tanh(), {"aux": a.cos()}
    assert_tree(getattr(EF, jac)(g, has_aux=True)(ea), getattr(TF, jac)(g, has_aux=True)(ta))


def test_vjp():
    (ea, eb), (ta, tb) = both(*arrays((3,), (3,)))
    f = lambda a, b: (a * b.exp(), (a ** 2).sum())  # noqa: E731
    e_out, e_fn = EF.vjp(f, ea, eb)
    t_out, t_fn = TF.vjp(f, ta, tb)
    assert_tree(e_out, t_out, "output")
    for seed in (3, 4):  # vjp_fn may be called repeatedly
        (ec, es), (tc, ts) = both(*arrays((3,), (), seed=seed))
        assert_tree(e_fn((ec, es)), t_fn((tc, ts)), "vjp")
    e_out, e_fn, e_aux = EF.vjp(lambda a: (a.sin(), a.cos()), ea, has_aux=True)
    t_out, t_fn, t_aux = TF.vjp(lambda a: (a.sin(), a.cos()), ta, has_aux=True)
    assert_tree((e_out, e_aux, e_fn(ember.ones(3))), (t_out, t_aux, t_fn(torch.ones(3))))


def test_jvp():
    (ea, eb, eu, ev), (ta, tb, tu, tv) = both(*arrays((3,), (3,), (3,), (3,)))
    f = lambda a, b: (a * b.exp(), (a ** 2).sum())  # noqa: E731
    assert_tree(EF.jvp(f, (ea, eb), (eu, ev)), TF.jvp(f, (ta, tb), (tu, tv)))
    g = lambda a: (a.sin() * 3, {"c": a.cos()})  # noqa: E731
    assert_tree(EF.jvp(g, (ea,), (eu,), has_aux=True), TF.jvp(g, (ta,), (tu,), has_aux=True))
    for F, a, u in [(EF, ea, eu), (TF, ta, tu)]:
        with pytest.raises(RuntimeError):
            F.jvp(f, a, u)
