"""In-place changes through views: the base's gradient accounts for them, as in PyTorch."""
import pytest

import ember
from helpers import assert_close, torch


def _run(lib, fn):
    a = lib.tensor([[1.0, -2.0, 3.0], [-4.0, 5.0, -6.0]], dtype=lib.float64, requires_grad=True)
    w = lib.arange(6.0, dtype=lib.float64).view(2, 3)
    out = fn(lib, a)
    (out * w).sum().backward()
    return out, a.grad


CASES = {
    "slice mul_": lambda m, a: _tap(a * 2, lambda b: b.view(6)[1:4].mul_(a.view(6)[0:3])),
    "row relu_": lambda m, a: _tap(a * 2, lambda b: b[0].relu_()),
    "column setitem": lambda m, a: _tap(a * 1, lambda b: b.__setitem__((slice(None), 1), a[:, 0] ** 2)),
    "transposed add_": lambda m, a: _tap(a * 1.5, lambda b: b.t()[1].add_(a[0, :2].sin())),
    "view of view": lambda m, a: _tap(a * 3, lambda b: b.view(3, 2)[1:].view(4)[::2].sub_(1)),
    "copy_ into buffer": lambda m, a: _tap(m.zeros(2, 3, dtype=m.float64), lambda b: b[1, 1:].copy_(a[0, 1:] * 3)),
}


def _tap(t, fn):
    fn(t)
    return t


@pytest.mark.parametrize("name", list(CASES))
def test_inplace_through_view_matches_torch(name):
    out_e, grad_e = _run(ember, CASES[name])
    out_t, grad_t = _run(torch, CASES[name])
    assert_close(out_e, out_t, 1e-12, 1e-12)
    assert_close(grad_e, grad_t, 1e-12, 1e-12)


def test_view_of_leaf_requiring_grad_refuses_inplace():
    a = ember.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        a[0].mul_(2)


def test_inplace_on_expanded_view_is_refused():
    b = ember.ones(1, 3, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="single memory location"):
        b.expand(4, 3).add_(1)


def test_double_backward_through_view_write():
    for lib in (ember, torch):
        x = lib.tensor([0.5, 1.5, -1.0], dtype=lib.float64, requires_grad=True)
        y = x * 1
        y[1:].mul_(x[:2] ** 2)
        (g,) = lib.autograd.grad(y.sum(), x, create_graph=True)
        g.pow(2).sum().backward()
        if lib is ember:
            ours = (g, x.grad)
    assert_close(ours[0], g, 1e-12, 1e-12)
    assert_close(ours[1], x.grad, 1e-12, 1e-12)
