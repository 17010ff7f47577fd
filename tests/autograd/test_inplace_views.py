"""In-place changes through views: the base's gradient accounts for them, as in PyTorch."""
import numpy as np
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


def _outcome(fn, lib):
    """What fn(lib) returns (as NumPy), or the type of the exception it raises."""
    try:
        out = fn(lib)
        return [None if o is None else o.detach().numpy().copy() for o in out]
    except Exception as e:  # noqa: BLE001 (the exception's type is what is compared)
        return type(e)


def _x(lib):
    return lib.tensor([1.0, 2.0, 3.0, 4.0], dtype=lib.float64, requires_grad=True)


def _no_grad_view_written(lib):
    x = _x(lib)
    a = x * 1
    with lib.no_grad():
        v = a[:2]
    v.mul_(2)
    return (a,)


def _no_grad_view_read_after_base_write(lib):
    x = _x(lib)
    a = x * 1
    with lib.no_grad():
        v = a[:2]
    a.mul_(2)
    (v * v).sum().backward()
    return (x.grad,)


def _split_written(lib):
    a = _x(lib) * 1
    a.split(2)[0].mul_(2)
    return (a,)


def _unbind_read_after_base_write(lib):
    a = _x(lib) * 1
    parts = a.unbind()
    a.mul_(2)
    return (parts[0] * 1,)


def _split_of_buffer_written(lib):
    b = lib.zeros(4, dtype=lib.float64)
    b.split(2)[1].mul_(2)
    return (b,)


def _base_changed_under_no_grad(lib):
    x = _x(lib)
    a = x * 1
    v = a[1:3]
    with lib.no_grad():
        a.mul_(3)
    (v * v).sum().backward()
    return v, x.grad


def _view_of_buffer_gains_history(lib):
    x = _x(lib)
    b = lib.zeros(4, dtype=lib.float64)
    v = b[:2]
    b[2:].add_(x[2:] * 2)
    b.add_(x)
    return v, lib.autograd.grad((v * v).sum(), x)[0]


def _double_backward_through_regenerated_view(lib):
    x = _x(lib)
    a = x * 1
    v = a.view(2, 2).t()
    a.mul_(x)
    (g,) = lib.autograd.grad((v ** 3).sum(), x, create_graph=True)
    (gg,) = lib.autograd.grad(g.sum(), x)
    return g, gg


def _detach_view_in_place(lib):
    a = _x(lib) * 1
    a[:2].detach_()
    return (a,)


@pytest.mark.parametrize("case", [
    _no_grad_view_written, _no_grad_view_read_after_base_write, _split_written,
    _unbind_read_after_base_write, _split_of_buffer_written, _base_changed_under_no_grad,
    _view_of_buffer_gains_history, _double_backward_through_regenerated_view, _detach_view_in_place,
])
def test_view_rules_match_torch(case):
    ours, theirs = _outcome(case, ember), _outcome(case, torch)
    if isinstance(theirs, type) or isinstance(ours, type):
        assert ours is theirs
        return
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_stale_view_reports_regenerated_history():
    x = _x(ember)
    b = ember.zeros(4, dtype=ember.float64)
    v = b[:2]
    assert not v.requires_grad and v.grad_fn is None
    b.add_(x)
    assert v.requires_grad and not v.is_leaf and v.grad_fn is not None


def test_write_to_expanded_tensor_is_refused_before_any_work():
    huge = ember.zeros(1).expand(65536, 32768)  # 2**31 elements over one float
    with pytest.raises(RuntimeError, match="single memory location"):
        huge.add_(1)
    with pytest.raises(RuntimeError, match="single memory location"):
        huge[:2] = 1.0


def test_row_of_expanded_buffer_is_written_as_in_torch():
    outs = []
    for lib in (ember, torch):
        base = lib.zeros(1, 3)
        view = base.expand(4, 3)
        view[1] = lib.tensor([1.0, 2.0, 3.0])
        view[2, 1:].fill_(7.0)
        outs.append((base.numpy().copy(), view.numpy().copy()))
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_array_equal(outs[0][1], outs[1][1])


def _writes_through_views(x, y):
    base = (x.t() * 1.5).t()  # a view of a root in transposed memory: an indexed layout
    view, sibling = base[:, 1:], base[1]
    view.mul_(y)  # through a view
    base.add_(x * x)  # to the base: view and sibling go stale
    return view.exp() * sibling[1:] + base.expand(2, 2, 3).sum(0)[0, :2]


def test_view_writes_pass_gradcheck_and_gradgradcheck():
    x = ember.randn(2, 3, dtype=ember.float64, requires_grad=True)
    y = ember.randn(2, 2, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(_writes_through_views, (x, y))
    assert ember.autograd.gradgradcheck(_writes_through_views, (x, y))
