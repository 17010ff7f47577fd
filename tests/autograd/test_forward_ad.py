"""autograd.forward_ad (dual tensors, tangents by double backward) against PyTorch's
forward-mode AD: tangents of many ops and compositions, level rules, errors."""
from importlib import import_module

import numpy as np
import pytest

import ember
from helpers import assert_close, to_torch, torch


def fwad(lib):
    return import_module(f"{lib.__name__}.autograd.forward_ad")


def _mlp(lib, x, w1, b1, w2):
    F = lib.nn.functional
    return F.log_softmax(F.linear(F.gelu(F.linear(x, w1, b1)), w2), dim=-1)


def _nested(lib, x, y):
    def inner(a):
        return (a * a.sin()).cumsum(0)

    def outer(a, b):
        return inner(a) / (1 + b.exp()) + inner(b).mean()

    return outer(x, y).tanh()


CASES = {  # name: (shapes of the dual inputs, shapes of plain inputs, function)
    "mul_add": ([(3, 4), (3, 4)], [], lambda lib, a, b: a * b + a.exp() - b / 2),
    "broadcast": ([(3, 1), (4,)], [], lambda lib, a, b: (a - b) ** 2),
    "math": ([(5,)], [], lambda lib, a: a.sigmoid() * a.tanh() + a.abs().sqrt() + a.cos()),
    "matmul": ([(3, 4), (4, 2)], [], lambda lib, a, b: a @ b),
    "matmul_one_dual": ([(3, 4)], [(4, 2)], lambda lib, a, b: (a @ b).relu()),
    "sum_dim": ([(3, 4)], [], lambda lib, a: a.sum(1)),
    "mean_max": ([(3, 4)], [], lambda lib, a: a.mean(0) + a.amax(0)),
    "norm": ([(3, 4)], [], lambda lib, a: a.norm(dim=1)),
    "var": ([(3, 4)], [], lambda lib, a: a.var(1)),
    "softmax": ([(2, 5)], [], lambda lib, a: lib.softmax(a, -1)),
    "log_softmax": ([(2, 5)], [], lambda lib, a: lib.log_softmax(a, 0)),
    "views": ([(2, 3, 4)], [], lambda lib, a: a.permute(2, 0, 1).reshape(4, 6)[1:, ::2]),
    "cat_stack": ([(2, 3), (2, 3)], [], lambda lib, a, b: lib.stack([lib.cat([a, b]), lib.cat([b, a])])),
    "where": ([(4,)], [(4,)], lambda lib, a, c: lib.where(c > 0, a * 2, a.exp())),
    "mlp": ([(4, 3)], [(5, 3), (5,), (2, 5)], _mlp),
    "mlp_all_duals": ([(4, 3), (5, 3), (5,), (2, 5)], [], _mlp),
    "nested": ([(3,), (3,)], [], _nested),
    "scalar_out": ([(3, 3)], [], lambda lib, a: (a @ a.t()).trace()),
}


def _run(lib, names_shapes, fn, arrays, tangents):
    fw = fwad(lib)
    n_dual = len(tangents)
    tensors = [lib.tensor(a) for a in arrays]
    tans = [lib.tensor(t) for t in tangents]
    with fw.dual_level():
        duals = [fw.make_dual(x, t) for x, t in zip(tensors[:n_dual], tans)]
        out = fn(lib, *duals, *tensors[n_dual:])
        primal, tangent = fw.unpack_dual(out)
    return primal, tangent


@pytest.mark.parametrize("name", list(CASES))
def test_tangent_matches_torch(name):
    dual_shapes, plain_shapes, fn = CASES[name]
    rng = np.random.default_rng(len(name))
    arrays = [rng.standard_normal(s) for s in dual_shapes + plain_shapes]
    tangents = [rng.standard_normal(s) for s in dual_shapes]
    primal, tangent = _run(ember, None, fn, arrays, tangents)
    t_primal, t_tangent = _run(torch, None, fn, arrays, tangents)
    assert_close(primal, t_primal, 1e-10, 1e-8, "primal")
    assert_close(tangent, t_tangent, 1e-10, 1e-8, "tangent")
    assert primal.requires_grad == t_primal.requires_grad
    assert tangent.requires_grad == t_tangent.requires_grad


@pytest.mark.parametrize("lib", [ember, torch], ids=["ember", "torch"])
def test_dual_itself_and_independent_tensors(lib):
    fw = fwad(lib)
    x, t, c = lib.randn(3), lib.randn(3), lib.randn(3)
    with fw.dual_level() as level:
        assert level == 0
        d = fw.make_dual(x, t)
        assert fw.unpack_dual(d).tangent is t  # the dual's own tangent, not a recomputation
        assert fw.unpack_dual(c).tangent is None  # no dual behind it
        assert fw.unpack_dual(c * 2).tangent is None
        y = d * 3
        assert isinstance(fw.unpack_dual(y), fw.UnpackedDualTensor)
        assert fw.unpack_dual(y).primal.tolist() == pytest.approx((x * 3).tolist())
    # leaving the level drops every tangent
    assert fw.unpack_dual(d).tangent is None
    assert fw.unpack_dual(y).tangent is None
    assert not d.requires_grad


def _with_reverse_mode(lib):
    """A dual of a tensor that requires grad: the tangent is differentiable in reverse mode."""
    fw = fwad(lib)
    x = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=True)
    t = lib.tensor([1.0, 2.0, -1.0], dtype=lib.float64)
    with fw.dual_level():
        d = fw.make_dual(x, t)
        y = (d * d.sin()).sum()
        primal, tangent = fw.unpack_dual(y)
        (g,) = lib.autograd.grad(tangent, x)  # the Hessian-vector product H t
    return primal, tangent, g


def test_tangent_differentiable_in_reverse_mode():
    for e, t in zip(_with_reverse_mode(ember), _with_reverse_mode(torch)):
        assert_close(e, t, 1e-10, 1e-8)


def _errors(lib):
    fw = fwad(lib)
    x, t = lib.randn(3), lib.randn(3)
    found = []

    def attempt(f):
        try:
            f()
            found.append(None)
        except Exception as e:  # noqa: BLE001  (the exception type is what is compared)
            found.append(type(e))

    attempt(lambda: fw.make_dual(x, t))  # outside a level
    attempt(lambda: fw.exit_dual_level())
    with fw.dual_level():
        attempt(lambda: fw.enter_dual_level())  # levels do not nest
        attempt(lambda: fw.make_dual(x, lib.randn(4)))
        attempt(lambda: fw.make_dual(x.long(), t.long()))
        attempt(lambda: fw.make_dual(x, t, level=5))
        d = fw.make_dual(x, t)
        attempt(lambda: fw.make_dual(d, t))
    assert fw.enter_dual_level() == 0  # a level entered and exited by hand
    fw.exit_dual_level()
    return found


def test_errors_match_torch():
    assert _errors(ember) == _errors(torch)
    with pytest.raises(RuntimeError, match="enter_dual_level"):
        fwad(ember).make_dual(ember.randn(2), ember.randn(2))


def test_jvp_against_autograd_functional():
    """The tangent equals autograd.functional.jvp's for the same function."""
    fw = fwad(ember)
    x, v = ember.randn(4, dtype=ember.float64), ember.randn(4, dtype=ember.float64)
    f = lambda a: (a.exp() * a.roll(1)).cumsum(0)  # noqa: E731
    with fw.dual_level():
        tangent = fw.unpack_dual(f(fw.make_dual(x, v))).tangent
    _, expected = ember.autograd.functional.jvp(f, x, v)
    assert_close(tangent, to_torch(expected), 1e-12, 1e-10)
