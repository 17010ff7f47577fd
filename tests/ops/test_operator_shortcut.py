"""Tensor's +, -, * and / take a shortcut for two tensors of one floating dtype and shape
(straight to the primitive). Whatever the operands, the operator must give what the public
function gives: values, dtype, graph node, gradients, and the same errors."""
import numpy as np
import pytest
import torch

import ember

OPS = [("__add__", ember.add, torch.add), ("__sub__", ember.sub, torch.sub),
       ("__mul__", ember.mul, torch.mul), ("__truediv__", ember.div, torch.div)]


def _rtol(dtype) -> float:
    return 4e-3 if dtype == np.float16 else 1e-6  # float16: a broadcast gradient's sum may differ by 2 ulps


def _pair(shape_a, shape_b, dtype, grad):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape_a).astype(dtype)
    b = rng.standard_normal(shape_b).astype(dtype) + 3  # away from 0 for /
    return (ember.tensor(a, requires_grad=grad), ember.tensor(b, requires_grad=grad),
            torch.tensor(a, requires_grad=grad), torch.tensor(b, requires_grad=grad))


@pytest.mark.parametrize("dunder, fn, torch_fn", OPS)
@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 4), (4,)), ((), ()), ((2, 0), (2, 0))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("grad", [False, True])
def test_operator_equals_the_function_and_torch(dunder, fn, torch_fn, shapes, dtype, grad):
    a, b, ta, tb = _pair(*shapes, dtype, grad)
    out = getattr(a, dunder)(b)
    ref = fn(a, b)
    expected = getattr(ta, dunder)(tb)
    assert out.dtype == ref.dtype and out.shape == ref.shape
    np.testing.assert_array_equal(out.detach().numpy(), ref.detach().numpy())
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=_rtol(dtype))
    assert out.requires_grad == grad
    if grad:
        assert type(out.grad_fn).__name__ == type(ref.grad_fn).__name__ == type(expected.grad_fn).__name__
        if out.numel():
            out.sum().backward()
            expected.sum().backward()
            np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=_rtol(dtype))
            np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=_rtol(dtype))


@pytest.mark.parametrize("dunder, fn, torch_fn", OPS)
def test_operands_off_the_shortcut_follow_the_function(dunder, fn, torch_fn):
    # mixed dtypes promote, integers and bools keep their rules, numbers wrap, shapes that do
    # not broadcast raise PyTorch's RuntimeError
    pairs = [(ember.ones(3), ember.ones(3, dtype=ember.float64)), (ember.arange(3), ember.arange(1, 4)),
             (ember.ones(3, dtype=ember.float16), ember.tensor(2.0)), (ember.ones(3), 2)]
    for a, b in pairs:
        out, ref = getattr(a, dunder)(b), fn(a, b)
        assert out.dtype == ref.dtype
        np.testing.assert_array_equal(out.numpy(), ref.numpy())
    with pytest.raises(RuntimeError, match="must match the size"):
        getattr(ember.ones(3), dunder)(ember.ones(4))


def test_shortcut_sees_a_view_whose_base_changed_in_place():
    # the view's graph is re-derived before the op, as on the function's path
    w = ember.ones(4, requires_grad=True)
    base = ember.full((4,), 2.0)
    v = base[:2]
    base.mul_(w)  # base, and so v, now depend on w
    out = v + ember.ones(2)
    assert out.requires_grad
    out.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [2, 2, 0, 0])
