"""autograd.graph: saved-tensor hooks (calls counted against PyTorch, results unchanged,
double backward through unpacked tensors), save_on_cpu, Node; and legacy Variable."""
import numpy as np
import pytest

import ember
from helpers import assert_close, torch

RNG = np.random.default_rng(0)
W1, W2 = RNG.standard_normal((4, 3)), RNG.standard_normal((2, 4))


class Counting:
    """pack/unpack hooks that count their calls; pack stores a copy of the values (so the
    unpacked tensor is a different object from the saved one)."""

    def __init__(self, lib):
        self.lib, self.packs, self.unpacks = lib, 0, 0

    def pack(self, t):
        self.packs += 1
        return ("packed", t.detach().numpy().copy(), t.dtype)

    def unpack(self, packed):
        self.unpacks += 1
        _, arr, dtype = packed
        return self.lib.tensor(arr, dtype=dtype)


def make_function(lib):
    class MulExp(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            out = (a * b).exp()
            ctx.save_for_backward(a, b, out)
            return out

        @staticmethod
        def backward(ctx, grad):
            a, b, out = ctx.saved_tensors
            ctx.saved_tensors  # a second read unpacks again  # noqa: B018
            g = grad * out
            return g * b, g * a
    return MulExp


def both(*arrs, requires_grad=True):
    return (tuple(ember.tensor(a, requires_grad=requires_grad) for a in arrs),
            tuple(torch.tensor(a, requires_grad=requires_grad) for a in arrs))


def test_custom_function_hook_calls_and_results():
    (ea, eb), (ta, tb) = both(*RNG.standard_normal((2, 3)))
    c = RNG.standard_normal(3)
    results = []
    for lib, a, b in [(ember, ea, eb), (torch, ta, tb)]:
        hooks = Counting(lib)
        with lib.autograd.graph.saved_tensors_hooks(hooks.pack, hooks.unpack):
            out = make_function(lib).apply(a, b)
        after_forward = (hooks.packs, hooks.unpacks)
        ga, gb = lib.autograd.grad(out, (a, b), lib.tensor(c))
        results.append((out, ga, gb, after_forward, (hooks.packs, hooks.unpacks)))
    (eo, ega, egb, ef, eb_), (to, tga, tgb, tf, tb_) = results
    assert (ef, eb_) == (tf, tb_) == ((3, 0), (3, 6))
    assert_close((eo, ega, egb), (to, tga, tgb), 1e-12, 1e-10)


def mlp(lib):
    w1, w2 = lib.tensor(W1), lib.tensor(W2)
    return lambda x: (lib.tanh(x @ w1.T).sigmoid() @ w2.T).exp()


def test_builtin_ops_unchanged_with_double_backward():
    (ex,), (tx,) = both(RNG.standard_normal((5, 3)))
    c = RNG.standard_normal((5, 2))
    res = []
    for lib, x in [(ember, ex), (torch, tx)]:
        hooks = Counting(lib)
        with lib.autograd.graph.saved_tensors_hooks(hooks.pack, hooks.unpack):
            out = mlp(lib)(x)
        g, = lib.autograd.grad(out, x, lib.tensor(c), create_graph=True)
        gg, = lib.autograd.grad((g * g).sum(), x)
        assert hooks.packs > 0 and hooks.unpacks > 0
        res.append((out, g, gg))
    assert_close(res[0], res[1], 1e-12, 1e-10)


def test_double_backward_reaches_saved_leaf():
    """An unpacked leaf input stands for the leaf: gradients of gradients reach it."""
    (ex,), (tx,) = both(RNG.standard_normal(3))
    res = []
    for lib, x in [(ember, ex), (torch, tx)]:
        hooks = Counting(lib)
        with lib.autograd.graph.saved_tensors_hooks(hooks.pack, hooks.unpack):
            y = (x * x * x).sum()
        g, = lib.autograd.grad(y, x, create_graph=True)
        gg, = lib.autograd.grad(g.sum(), x)
        res.append((g, gg))
    assert_close(res[0], res[1], 1e-12, 1e-10)


def test_nested_hooks_innermost_applies_and_none_outside():
    for lib in (ember, torch):
        outer, inner = Counting(lib), Counting(lib)
        a = lib.ones(3, requires_grad=True)
        with lib.autograd.graph.saved_tensors_hooks(outer.pack, outer.unpack):
            with lib.autograd.graph.saved_tensors_hooks(inner.pack, inner.unpack):
                make_function(lib).apply(a, a)
            assert (outer.packs, inner.packs) == (0, 3)
        make_function(lib).apply(a, a)
        assert (outer.packs, inner.packs) == (0, 3)


def test_inplace_op_that_saves_its_input():
    """sin_ saves the value it overwrites: the saved value is the one before the write."""
    res = []
    for lib in (ember, torch):
        for pack in (lambda t: t, lambda t: t.clone()):  # keeping the tensor itself, or a copy
            x = lib.tensor([0.5, 1.0, 2.0], requires_grad=True)
            with lib.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
                y = x * 1
                y.sin_()
            y.sum().backward()
            res.append(x.grad)
    for e, t in [(res[0], res[2]), (res[1], res[3])]:
        assert_close(e, t, 1e-6, 1e-6)


def test_unpack_must_return_a_tensor():
    for lib in (ember, torch):
        a = lib.ones(3, requires_grad=True)
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t, lambda p: 3):
            out = make_function(lib).apply(a, a)
        with pytest.raises(TypeError):
            out.sum().backward()


def test_save_on_cpu_and_disable():
    (ex,), (tx,) = both(RNG.standard_normal((5, 3)))
    with ember.autograd.graph.save_on_cpu():
        e_out = mlp(ember)(ex)
    with torch.autograd.graph.save_on_cpu():
        t_out = mlp(torch)(tx)
    e_out.sum().backward()
    t_out.sum().backward()
    assert_close(ex.grad, tx.grad, 1e-12, 1e-10)
    for lib in (ember, torch):
        with lib.autograd.graph.disable_saved_tensors_hooks("no hooks here"):
            with pytest.raises(RuntimeError, match="no hooks here"):
                with lib.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
                    pass


def test_node_and_variable():
    for lib in (ember, torch):
        x = lib.ones(2, requires_grad=True)
        y = (x * 2).sum()
        assert isinstance(y.grad_fn, lib.autograd.graph.Node)
        assert not isinstance(x, lib.autograd.graph.Node)
        Variable = lib.autograd.Variable
        assert isinstance(x, Variable) and not isinstance(3.0, Variable)
        t = lib.ones(3)
        v = Variable(t, requires_grad=True)
        assert v is not t and v.requires_grad and not t.requires_grad and v.is_leaf
        v.detach().add_(1)
        assert t.tolist() == [2.0, 2.0, 2.0]  # same storage
        w = Variable(y)
        assert w.grad_fn is None and not w.requires_grad
        assert tuple(Variable().shape) == (0,)
