"""autograd.functional (jacobian, hessian, vjp, jvp, vhp, hvp) against PyTorch: values,
nesting of results, create_graph results differentiated again, errors."""
import numpy as np
import pytest

import ember
import ember.autograd.functional as EF
from helpers import assert_close, torch

TF = torch.autograd.functional
RNG = np.random.default_rng(0)
W1, B1, W2 = RNG.standard_normal((4, 3)), RNG.standard_normal(4), RNG.standard_normal((2, 4))


def poly(lib):
    return lambda x: x ** 3 - 2 * x ** 2 + x


def mlp(lib):
    w1, b1, w2 = lib.tensor(W1), lib.tensor(B1), lib.tensor(W2)
    return lambda x: lib.tanh(x @ w1.T + b1) @ w2.T


def pair(lib):
    return lambda a, b: (a * b.sin(), (a ** 2).sum() * b)


def split(lib):
    return lambda x: (x.sin(), (x * x).sum())


def scalar(lib):
    return lambda a, b: (a.exp() * b).sum() + (a * a * b * b).sum()


def scalar1(lib):
    w1, b1, w2 = lib.tensor(W1), lib.tensor(B1), lib.tensor(W2)
    return lambda x: (lib.tanh(x @ w1.T + b1) @ w2.T).pow(2).sum()


# (function, input shapes, whether the inputs are passed as a tuple)
JAC_CASES = [(poly, [(3,)], False), (mlp, [(2, 3)], False), (pair, [(3,), (3,)], True),
             (split, [(2, 2)], False), (poly, [(3,)], True)]


def inputs(shapes, requires_grad=False, seed=1):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) for s in shapes]
    e = tuple(ember.tensor(a, requires_grad=requires_grad) for a in arrays)
    t = tuple(torch.tensor(a, requires_grad=requires_grad) for a in arrays)
    return e, t


def assert_tree(e, t, what="result"):
    """Same nesting (tensor vs tuple) and values."""
    if isinstance(t, torch.Tensor):
        assert isinstance(e, ember.Tensor), f"{what}: expected a Tensor, got {type(e).__name__}"
        assert e.requires_grad == t.requires_grad, f"{what}: requires_grad {e.requires_grad}"
        assert_close(e, t, 1e-10, 1e-8, what)
        return
    assert type(e) is type(t) and len(e) == len(t), f"{what}: {type(e).__name__} vs {type(t).__name__}"
    for i, (a, b) in enumerate(zip(e, t)):
        assert_tree(a, b, f"{what}[{i}]")


def leaves(tree):
    if isinstance(tree, (tuple, list)):
        return [x for item in tree for x in leaves(item)]
    return [tree]


def arg(xs, as_tuple):
    return xs if as_tuple else xs[0]


def check_double_backward(e_res, t_res, e_in, t_in):
    """Differentiate a random projection of create_graph results w.r.t. the inputs."""
    e_l, t_l = leaves(e_res), leaves(t_res)
    rng = np.random.default_rng(7)
    cots = [rng.standard_normal(tuple(t.shape)) for t in t_l]
    e_loss = sum((x * ember.tensor(c)).sum() for x, c in zip(e_l, cots))
    t_loss = sum((x * torch.tensor(c)).sum() for x, c in zip(t_l, cots))
    e_g = ember.autograd.grad(e_loss, e_in, allow_unused=True, materialize_grads=True)
    t_g = torch.autograd.grad(t_loss, t_in, allow_unused=True, materialize_grads=True)
    assert_tree(tuple(e_g), tuple(t_g), "gradient of the results")


@pytest.mark.parametrize("fn,shapes,as_tuple", JAC_CASES)
@pytest.mark.parametrize("create_graph", [False, True])
def test_jacobian(fn, shapes, as_tuple, create_graph):
    e_in, t_in = inputs(shapes, requires_grad=create_graph)
    e = EF.jacobian(fn(ember), arg(e_in, as_tuple), create_graph=create_graph)
    t = TF.jacobian(fn(torch), arg(t_in, as_tuple), create_graph=create_graph)
    assert_tree(e, t)
    if create_graph:
        check_double_backward(e, t, e_in, t_in)


@pytest.mark.parametrize("fn,shapes,as_tuple", JAC_CASES[:3])
def test_jacobian_vectorize_and_forward_mode_strategy(fn, shapes, as_tuple):
    e_in, t_in = inputs(shapes)
    t = TF.jacobian(fn(torch), arg(t_in, as_tuple))
    assert_tree(EF.jacobian(fn(ember), arg(e_in, as_tuple), vectorize=True), t)
    assert_tree(EF.jacobian(fn(ember), arg(e_in, as_tuple), vectorize=True,
                            strategy="forward-mode"), t)


@pytest.mark.parametrize("fn,shapes,as_tuple", [(scalar, [(3,), (3,)], True),
                                                (scalar1, [(2, 3)], False),
                                                (scalar, [(2,), (2,)], True)])
@pytest.mark.parametrize("create_graph", [False, True])
def test_hessian(fn, shapes, as_tuple, create_graph):
    e_in, t_in = inputs(shapes, requires_grad=create_graph)
    e = EF.hessian(fn(ember), arg(e_in, as_tuple), create_graph=create_graph)
    t = TF.hessian(fn(torch), arg(t_in, as_tuple), create_graph=create_graph)
    assert_tree(e, t)
    if create_graph:
        check_double_backward(e, t, e_in, t_in)


@pytest.mark.parametrize("fn,shapes,as_tuple", JAC_CASES)
@pytest.mark.parametrize("create_graph", [False, True])
def test_vjp_and_jvp(fn, shapes, as_tuple, create_graph):
    e_in, t_in = inputs(shapes, requires_grad=create_graph)
    t_out = fn(torch)(*t_in)
    t_outs = t_out if isinstance(t_out, tuple) else (t_out,)
    e_v, t_v = inputs([tuple(o.shape) for o in t_outs], seed=3)
    e = EF.vjp(fn(ember), arg(e_in, as_tuple), arg(e_v, isinstance(t_out, tuple)), create_graph)
    t = TF.vjp(fn(torch), arg(t_in, as_tuple), arg(t_v, isinstance(t_out, tuple)), create_graph)
    assert_tree(e, t, "vjp")
    if create_graph:
        check_double_backward(e[1], t[1], e_in, t_in)
    e_u, t_u = inputs(shapes, seed=4)
    e = EF.jvp(fn(ember), arg(e_in, as_tuple), arg(e_u, as_tuple), create_graph)
    t = TF.jvp(fn(torch), arg(t_in, as_tuple), arg(t_u, as_tuple), create_graph)
    assert_tree(e, t, "jvp")
    if create_graph:
        check_double_backward(e[1], t[1], e_in, t_in)


@pytest.mark.parametrize("name", ["vhp", "hvp"])
@pytest.mark.parametrize("create_graph", [False, True])
def test_vhp_hvp(name, create_graph):
    for fn, shapes, as_tuple in [(scalar, [(3,), (3,)], True), (scalar1, [(2, 3)], False)]:
        e_in, t_in = inputs(shapes, requires_grad=create_graph)
        e_v, t_v = inputs(shapes, seed=5)
        e = getattr(EF, name)(fn(ember), arg(e_in, as_tuple), arg(e_v, as_tuple), create_graph)
        t = getattr(TF, name)(fn(torch), arg(t_in, as_tuple), arg(t_v, as_tuple), create_graph)
        assert_tree(e, t, name)
        if create_graph:
            check_double_backward(e[1], t[1], e_in, t_in)


def test_v_may_be_omitted_for_single_element():
    e_in, t_in = inputs([(3,)])
    assert_tree(EF.vjp(lambda x: (x ** 3).sum(), e_in[0]), TF.vjp(lambda x: (x ** 3).sum(), t_in[0]))
    one_e, one_t = inputs([(1,)])
    assert_tree(EF.jvp(lambda x: x.exp() * 2, one_e[0]), TF.jvp(lambda x: x.exp() * 2, one_t[0]))
    with pytest.raises(RuntimeError):
        TF.vjp(lambda x: x * 2, t_in[0])
    with pytest.raises(RuntimeError, match="v can only be None"):
        EF.vjp(lambda x: x * 2, e_in[0])


def test_independent_inputs_give_zeros_or_strict_error():
    e_in, t_in = inputs([(3,), (2,)])
    f = lambda a, b: a * 2  # noqa: E731
    assert_tree(EF.jacobian(f, e_in), TF.jacobian(f, t_in))
    with pytest.raises(RuntimeError):
        TF.jacobian(f, t_in, strict=True)
    with pytest.raises(RuntimeError, match="independent of input 1"):
        EF.jacobian(f, e_in, strict=True)
    # an output that does not depend on any input at all (not requiring grad)
    g = lambda a, b: a.detach() * 2  # noqa: E731
    assert_tree(EF.vjp(g, e_in, ember.ones(3)), TF.vjp(g, t_in, torch.ones(3)))


def test_errors_match_pytorch_types():
    e_in, t_in = inputs([(3,)])
    for lib, F, x in [(ember, EF, e_in[0]), (torch, TF, t_in[0])]:
        with pytest.raises(TypeError):
            F.jacobian(lambda a: a, [x])
        with pytest.raises(TypeError):
            F.jacobian(lambda a: 3.0, x)
        with pytest.raises(RuntimeError):
            F.hessian(lambda a: a * 2, x)
        with pytest.raises(AssertionError):
            F.jacobian(lambda a: a, x, strategy="sideways")
        with pytest.raises(NotImplementedError):
            F.jacobian(lambda a: a, x, strategy="forward-mode")


def test_inputs_are_not_modified():
    e_in, _ = inputs([(3,)], requires_grad=True)
    EF.jacobian(poly(ember), e_in[0])
    assert e_in[0].grad is None and e_in[0].is_leaf
