"""The autograd engine: graph bookkeeping, backward variants, hooks, higher order, errors."""
import numpy as np
import pytest

import ember
from helpers import assert_close, to_torch, torch


def leaf(*shape, dtype=ember.float64):
    return ember.randn(*shape, dtype=dtype).requires_grad_()


def test_graph_bookkeeping():
    x = leaf(3)
    y = x * 2
    z = y.exp().sum()
    assert x.is_leaf and not y.is_leaf and x.grad_fn is None
    assert y.requires_grad and z.requires_grad
    assert type(y.grad_fn).__name__ == "MulBackward0" and y.grad_fn.name() == "MulBackward0"
    assert z.grad_fn.name() == "SumBackward0"
    (exp_node, _), = z.grad_fn.next_functions
    assert exp_node.name() == "ExpBackward0"
    acc = exp_node.next_functions[0][0].next_functions[0][0]
    assert acc.name() == "AccumulateGrad" and acc.variable is x
    assert "grad_fn=<SumBackward0>" in repr(z)


def test_no_graph_without_requires_grad():
    x = ember.randn(3)
    y = x * 2
    assert y.grad_fn is None and not y.requires_grad


def test_backward_accumulates_and_matches_torch():
    x = leaf(4, 3)
    xt = to_torch(x)
    for _ in range(2):
        (x.sin() * x).sum().backward()
        (xt.sin() * xt).sum().backward()
    assert_close(x.grad, xt.grad, 1e-12, 1e-12)


def test_backward_with_gradient_argument():
    x = leaf(2, 3)
    xt = to_torch(x)
    g = ember.randn(2, 3, dtype=ember.float64)
    (x * x).backward(g)
    (xt * xt).backward(to_torch(g))
    assert_close(x.grad, xt.grad)


@pytest.mark.parametrize("op", ["matmul", "bmm", "mul", "exp", "linear"])
@pytest.mark.parametrize("given", ["float64", "float16", "int64"])
def test_a_gradient_of_another_dtype_is_cast_to_the_outputs(op, given):
    """backward(gradient) and autograd.grad(grad_outputs) with another real dtype: PyTorch casts
    the gradient to the output's dtype on its way into the graph, so every node's backward sees
    its own dtype (matmul's used to raise on a float64 gradient)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 3, 4)).astype(np.float32)
    b = rng.standard_normal((2, 4, 5)).astype(np.float32)
    fns = {"matmul": lambda m, x, y: x @ y, "bmm": lambda m, x, y: m.bmm(x, y),
           "mul": lambda m, x, y: x * 2, "exp": lambda m, x, y: x.exp(),
           "linear": lambda m, x, y: m.nn.functional.linear(x, y[0].mT)}
    results = []
    for m in (ember, torch):
        x, y = m.tensor(a, requires_grad=True), m.tensor(b, requires_grad=True)
        out = fns[op](m, x, y)
        g = m.ones(tuple(out.shape), dtype=getattr(m, given))
        out.backward(g)
        again = m.autograd.grad(fns[op](m, x, y), x, grad_outputs=g)[0]
        results.append((x.grad, again))
    for e, t in zip(*results):
        assert e.dtype == ember.float32
        assert_close(e, t, 1e-5, 1e-5)


def test_a_real_gradient_for_a_complex_output_is_refused_as_in_torch():
    z = ember.tensor(np.ones(3, np.complex64), requires_grad=True)
    with pytest.raises(RuntimeError, match="For complex Tensors, both grad_output and output"):
        (z * 2).backward(ember.ones(3))


def test_nonscalar_backward_needs_gradient():
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (leaf(3) * 2).backward()


def test_backward_on_tensor_without_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        ember.ones(3).sum().backward()


def test_freed_graph_raises_and_retain_graph_allows():
    x = leaf(3)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * (x.exp() * (1 + x)).detach().numpy())
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_create_graph_second_derivative():
    x = leaf(5)
    y = (x ** 3).sum()
    (g,) = ember.autograd.grad(y, x, create_graph=True)
    assert g.requires_grad
    (h,) = ember.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), 6 * x.detach().numpy())


def test_gradient_penalty_matches_torch():
    w = leaf(4, 3)
    x = leaf(5, 4)
    wt, xt = to_torch(w), to_torch(x)

    def penalty(lib, w, x):
        out = (x @ w).tanh().sum()
        (gx,) = lib.autograd.grad(out, x, create_graph=True)
        return ((gx.pow(2).sum(1) + 1e-12).sqrt() - 1).pow(2).mean()

    penalty(ember, w, x).backward()
    penalty(torch, wt, xt).backward()
    assert_close(w.grad, wt.grad, 1e-10, 1e-8)
    assert_close(x.grad, xt.grad, 1e-10, 1e-8)


def test_hessian_vector_product_matches_torch():
    x = leaf(6)
    v = ember.randn(6, dtype=ember.float64)
    xt, vt = to_torch(x), to_torch(v)

    def hvp(lib, x, v):
        f = (x.sin() * x.exp()).sum() + (x @ x) ** 2
        (g,) = lib.autograd.grad(f, x, create_graph=True)
        return lib.autograd.grad(g, x, v)[0]

    assert_close(hvp(ember, x, v), hvp(torch, xt, vt), 1e-10, 1e-8)


def test_autograd_grad_leaves_dot_grad_alone_and_allow_unused():
    x, y = leaf(3), leaf(3)
    out = (x * 2).sum()
    with pytest.raises(RuntimeError, match="not have been used"):
        ember.autograd.grad(out, [x, y], retain_graph=True)
    gx, gy = ember.autograd.grad(out, [x, y], allow_unused=True)
    assert gy is None and x.grad is None
    np.testing.assert_allclose(gx.numpy(), 2)


def test_grad_of_non_leaf_input():
    x = leaf(3)
    h = x.exp()
    y = (h * h).sum()
    (gh,) = ember.autograd.grad(y, h)
    np.testing.assert_allclose(gh.numpy(), 2 * h.detach().numpy())


def test_grad_modes():
    x = leaf(2)
    with ember.no_grad():
        assert not (x * 2).requires_grad
        with ember.enable_grad():
            assert (x * 2).requires_grad
    with ember.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert ember.is_grad_enabled()
    ember.set_grad_enabled(False)
    assert not ember.is_grad_enabled()
    ember.set_grad_enabled(True)
    with ember.inference_mode():
        assert not (x * 2).requires_grad

    @ember.no_grad()
    def f():
        return x * 2

    @ember.set_grad_enabled(False)
    def g():
        return x * 2

    assert not f().requires_grad and not g().requires_grad and ember.is_grad_enabled()


def test_hooks_on_leaf_and_intermediate():
    x = leaf(3)
    seen = []
    h = x * 3
    h.register_hook(lambda g: seen.append(g.clone()))
    x.register_hook(lambda g: g * 10)
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(seen[0].numpy(), 2 * h.detach().numpy())
    np.testing.assert_allclose(h.grad.numpy(), 2 * h.detach().numpy())
    np.testing.assert_allclose(x.grad.numpy(), 10 * 3 * 2 * h.detach().numpy())


@pytest.mark.parametrize("on", ["leaf", "intermediate"])
@pytest.mark.parametrize("change, words", [(lambda g: g.double(), "changed the type of value"),
                                           (lambda g: g[:2], "changed the size of value")])
def test_hook_changing_dtype_or_size_raises_as_torch(on, change, words):
    errors = []
    for lib in (ember, torch):
        x = lib.ones(3, requires_grad=True)
        y = x * 2
        (x if on == "leaf" else y).register_hook(change)
        with pytest.raises(Exception) as info:
            y.sum().backward()
        errors.append(info)
    assert errors[0].type is errors[1].type is RuntimeError
    assert words in str(errors[0].value) and words in str(errors[1].value)


def test_hook_handle_remove():
    x = leaf(2)
    handle = x.register_hook(lambda g: g * 0)
    handle.remove()
    (x * 1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 1)


class MyCube(ember.autograd.Function):
    @staticmethod
    def forward(ctx, x, k):
        ctx.save_for_backward(x)
        ctx.k = k
        return x ** 3 * k

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x ** 2 * ctx.k, None


class TorchCube(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, k):
        ctx.save_for_backward(x)
        ctx.k = k
        return x ** 3 * k

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x ** 2 * ctx.k, None


def test_custom_function_first_and_second_order():
    x = leaf(4)
    xt = to_torch(x)
    y, yt = MyCube.apply(x, 2.0), TorchCube.apply(xt, 2.0)
    assert y.grad_fn.name() == type(y.grad_fn).__name__ == "MyCubeBackward"  # as PyTorch names it
    assert yt.grad_fn.name() == "TorchCubeBackward"
    (g,) = ember.autograd.grad(y.sum(), x, create_graph=True)
    (gt,) = torch.autograd.grad(yt.sum(), xt, create_graph=True)
    assert_close(g, gt)
    g.sum().backward()
    gt.sum().backward()
    assert_close(x.grad, xt.grad)
    assert ember.autograd.gradcheck(lambda x: MyCube.apply(x, 2.0), (leaf(3),))


class Split2(ember.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2, x * 3

    @staticmethod
    def backward(ctx, ga, gb):
        return ga * 2 + gb * 3


def test_multi_output_function_with_one_output_used():
    x = leaf(3)
    a, b = Split2.apply(x)
    a.sum().backward()  # b gets no gradient: it is materialised as zeros
    np.testing.assert_allclose(x.grad.numpy(), 2)


def test_gradcheck_catches_wrong_gradient():
    class Wrong(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * x

        @staticmethod
        def backward(ctx, grad):
            return grad

    with pytest.raises(ember.autograd.GradcheckError):
        ember.autograd.gradcheck(Wrong.apply, (leaf(3),))


def test_inplace_on_saved_tensor_raises():
    x = leaf(3)
    y = x.exp()          # saves its output
    z = y * 1
    y.add_(1)            # modifies the saved output
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        (z + y).sum().backward()


def test_inplace_on_leaf_requiring_grad_raises():
    x = leaf(3)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.add_(1)
    with ember.no_grad():
        x.add_(1)  # allowed: that is how optimizers update weights
    assert x._version == 1


def test_inplace_in_graph_gives_correct_gradient():
    x = leaf(3)
    xt = to_torch(x)
    for lib, t in ((ember, x), (torch, xt)):
        y = t * 2
        y.mul_(3)
        y += 1
        (y * y).sum().backward()
    assert_close(x.grad, xt.grad)


def test_deep_graph_no_recursion_error():
    x = ember.tensor(1.0, dtype=ember.float64, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    assert x.grad.item() == pytest.approx(1.0001 ** 10_000, rel=1e-4)
    del y  # freeing a 10,000-node chain must not overflow the stack either


def test_detach_shares_storage_and_cuts_graph():
    x = leaf(3)
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None
    d[0] = 5.0
    assert x[0].item() == 5.0


def test_requires_grad_errors():
    with pytest.raises(RuntimeError, match="floating point"):
        ember.tensor([1, 2]).requires_grad_()
    y = leaf(2) * 2
    with pytest.raises(RuntimeError, match="leaf variables"):
        y.requires_grad = False


def test_grad_dtype_follows_input_under_promotion():
    a = ember.randn(3, dtype=ember.float32).requires_grad_()
    b = ember.randn(3, dtype=ember.float64).requires_grad_()
    (a * b).sum().backward()
    assert a.grad.dtype == ember.float32 and b.grad.dtype == ember.float64


def test_shared_gradients_are_not_aliased():
    a, b = leaf(3), leaf(3)
    (a + b).sum().backward()
    a.grad.zero_()
    np.testing.assert_allclose(b.grad.numpy(), 1)


def test_backward_inputs_restricts_accumulation():
    a, b = leaf(2), leaf(2)
    (a * b).sum().backward(inputs=[a])
    assert a.grad is not None and b.grad is None


def test_autograd_grad_runs_only_what_leads_to_the_inputs():
    calls = []

    class Probe(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, grad):
            calls.append(1)
            return grad

    x = leaf(3)
    h = Probe.apply(x)           # below the requested input: must not run
    mid = h * 2
    out = (mid * mid).sum()
    (g,) = ember.autograd.grad(out, mid)
    np.testing.assert_allclose(g.numpy(), 2 * mid.detach().numpy())
    assert calls == []
    out2 = (Probe.apply(x) * 3).sum()
    (gx,) = ember.autograd.grad(out2, x)
    assert calls == [1] and np.allclose(gx.numpy(), 3)
