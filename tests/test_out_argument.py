"""``out=`` on creation, arithmetic, comparison, matmul, cat/stack and reduction functions,
compared with PyTorch: the value written, out's identity, shape and dtype after the call,
resize warnings, and the exception types of refused combinations."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
from helpers import assert_close, torch

X = [[1.5, -1.5, 0.25], [2.5, 0.75, -3.0]]


def run(lib, call, out_spec):
    """Call ``call(lib, x, y, out)`` with out made from ``out_spec`` (shape, dtype name) or a
    tuple of specs; returns (result, out, warning messages) or the exception raised."""
    x = lib.tensor(X)
    y = lib.tensor(X) * 2 - 1

    def make(spec):
        shape, dtype = spec
        return lib.full(shape, 7, dtype=getattr(lib, dtype))
    out = tuple(make(s) for s in out_spec) if isinstance(out_spec[1], tuple) else make(out_spec)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = call(lib, x, y, out)
        except Exception as exc:  # noqa: BLE001  (the type is what is compared)
            return exc
    return result, out, [str(w.message)[:40] for w in caught]


def check(call, out_spec):
    e, t = run(ember, call, out_spec), run(torch, call, out_spec)
    if isinstance(t, Exception):
        assert isinstance(e, type(t)), f"ember gave {e!r}, torch raised {type(t).__name__}: {t}"
        return
    assert not isinstance(e, Exception), f"ember raised {type(e).__name__}: {e}; torch gave {t[0]}"
    (e_res, e_out, e_warn), (t_res, t_out, t_warn) = e, t
    if isinstance(t_out, tuple):
        assert all(a is b for a, b in zip(e_res, e_out)), "the result must be the out tensors"
    else:
        assert e_res is e_out, "the result must be the out tensor itself"
    assert_close(e_out if isinstance(e_out, tuple) else (e_out,), t_out if isinstance(t_out, tuple) else (t_out,))
    # PyTorch sometimes warns twice for one resize (a cast and a resize); once is the behaviour
    assert bool(e_warn) == bool(t_warn), f"warnings: ember {e_warn}, torch {t_warn}"


F32, F64, I64, I32, BOOL, F16 = "float32", "float64", "int64", "int32", "bool", "float16"

ELEMENTWISE = {
    "add": lambda m, x, y, out: m.add(x, y, out=out),
    "add_alpha": lambda m, x, y, out: m.add(x, y, alpha=2, out=out),
    "sub": lambda m, x, y, out: m.sub(x, 3, out=out),
    "mul": lambda m, x, y, out: m.mul(x, y, out=out),
    "div": lambda m, x, y, out: m.div(x, y, out=out),
    "div_int": lambda m, x, y, out: m.div(x.long(), 2, out=out),
    "div_floor": lambda m, x, y, out: m.div(x, y, rounding_mode="floor", out=out),
    "floor_divide": lambda m, x, y, out: m.floor_divide(x, y, out=out),
    "remainder": lambda m, x, y, out: m.remainder(x, y, out=out),
    "fmod": lambda m, x, y, out: m.fmod(x, y, out=out),
    "pow": lambda m, x, y, out: m.pow(x, 2, out=out),
    "add_int": lambda m, x, y, out: m.add(x.long(), y.long(), out=out),
    "gt": lambda m, x, y, out: m.gt(x, y, out=out),
    "eq": lambda m, x, y, out: m.eq(x, 1.5, out=out),
    "logical_and": lambda m, x, y, out: m.logical_and(x, y, out=out),
    "bitwise_and": lambda m, x, y, out: m.bitwise_and(x.long(), y.long(), out=out),
}


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("out_spec", [((2, 3), F32), ((2, 3), F64), ((2, 3), I64), ((2, 3), I32),
                                      ((2, 3), BOOL), ((2, 3), F16), ((0,), F32), ((5,), F32), ((3,), F64)])
def test_elementwise_out(name, out_spec):
    check(ELEMENTWISE[name], out_spec)


REDUCTIONS = {
    "sum_dim": lambda m, x, y, out: m.sum(x, 1, out=out),
    "sum_dim_keepdim": lambda m, x, y, out: m.sum(x, 0, keepdim=True, out=out),
    "sum_dtype": lambda m, x, y, out: m.sum(x, 1, dtype=m.float32, out=out),
    "sum_bool": lambda m, x, y, out: m.sum(x > 0, 1, out=out),
    "prod_dim": lambda m, x, y, out: m.prod(x, 1, out=out),
    "mean": lambda m, x, y, out: m.mean(x, out=out),
    "mean_dim": lambda m, x, y, out: m.mean(x, 1, out=out),
    "amax": lambda m, x, y, out: m.amax(x, 1, out=out),
    "amin": lambda m, x, y, out: m.amin(x, (0, 1), out=out),
    "max": lambda m, x, y, out: m.max(x, out=out),
    "min_other": lambda m, x, y, out: m.min(x, y, out=out),
    "argmax": lambda m, x, y, out: m.argmax(x, 1, out=out),
    "argmin": lambda m, x, y, out: m.argmin(x, 0, out=out),
}


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("out_spec", [((0,), F32), ((2,), F32), ((4,), F32), ((0,), F64), ((0,), I64),
                                      ((0,), F16), ((0,), BOOL)])
def test_reduction_out(name, out_spec):
    check(REDUCTIONS[name], out_spec)


# Floating outs only: PyTorch's nansum refuses an integer out (NotImplementedError) although
# nansum(dtype=int64) works, where ember accepts both.
@pytest.mark.parametrize("out_spec", [((0,), F32), ((2,), F64), ((0,), F16)])
def test_nansum_out(out_spec):
    check(lambda m, x, y, out: m.nansum(x, 1, out=out), out_spec)


@pytest.mark.parametrize("call", [
    lambda m, x, y, out: m.max(x, 1, out=out),
    lambda m, x, y, out: m.min(x, 0, keepdim=True, out=out),
    lambda m, x, y, out: m.median(x, 1, out=out),
])
@pytest.mark.parametrize("out_spec", [(((0,), F32), ((0,), I64)), (((2,), F32), ((2,), I64)),
                                      (((0,), F64), ((0,), I64)), (((0,), F32), ((0,), F32)),
                                      (((0,), F32), ((0,), I32))])
def test_values_and_indices_out(call, out_spec):
    check(call, out_spec)


MATMULS = {
    "matmul": lambda m, x, y, out: m.matmul(x, y.T, out=out),
    "matmul_vec": lambda m, x, y, out: m.matmul(x, y[0], out=out),
    "mm": lambda m, x, y, out: m.mm(x.T, y, out=out),
    "bmm": lambda m, x, y, out: m.bmm(x[None], y.T[None], out=out),
    "mv": lambda m, x, y, out: m.mv(x, y[1], out=out),
    "dot": lambda m, x, y, out: m.dot(x[0], y[0], out=out),
    "addmm": lambda m, x, y, out: m.addmm(x[:, :2], x, y.T, beta=0.5, out=out),
    "baddbmm": lambda m, x, y, out: m.baddbmm(x[None, :, :2], x[None], y.T[None], out=out),
    "cat": lambda m, x, y, out: m.cat([x, y], 1, out=out),
    "cat_int": lambda m, x, y, out: m.cat([x.long(), y.long()], out=out),
    "concat": lambda m, x, y, out: m.concat([x, y], out=out),
    "stack": lambda m, x, y, out: m.stack([x, y], -1, out=out),
}


@pytest.mark.parametrize("name", MATMULS)
@pytest.mark.parametrize("out_spec", [((0,), F32), ((2, 2), F32), ((1,), F32), ((0,), F64), ((0,), I64),
                                      ((0,), I32), ((0,), F16)])
def test_matmul_and_join_out(name, out_spec):
    check(MATMULS[name], out_spec)


CREATION = {
    "zeros": lambda m, x, y, out: m.zeros(2, 3, out=out),
    "ones_tuple": lambda m, x, y, out: m.ones((3,), out=out),
    "empty_shape": lambda m, x, y, out: m.empty(2, 2, out=out).shape,
    "full": lambda m, x, y, out: m.full((2,), 3, out=out),
    "full_dtype": lambda m, x, y, out: m.full((2,), 3.0, dtype=m.float32, out=out),
    "zeros_dtype": lambda m, x, y, out: m.zeros(2, dtype=m.float64, out=out),
    "zeros_grad": lambda m, x, y, out: m.zeros(2, out=out, requires_grad=True).requires_grad,
    "arange": lambda m, x, y, out: m.arange(5, out=out),
    "arange_dtype": lambda m, x, y, out: m.arange(3, dtype=m.float32, out=out),
    "linspace": lambda m, x, y, out: m.linspace(0, 1, 5, out=out),
    "logspace": lambda m, x, y, out: m.logspace(0, 1, 3, out=out),
    "eye": lambda m, x, y, out: m.eye(2, 3, out=out),
    "rand": lambda m, x, y, out: m.rand(3, out=out).dtype,
    "randn": lambda m, x, y, out: m.randn(3, out=out).dtype,
    "randint": lambda m, x, y, out: m.randint(5, (3,), out=out).dtype,
    "randperm": lambda m, x, y, out: m.randperm(4, out=out).dtype,
}


@pytest.mark.parametrize("name", CREATION)
@pytest.mark.parametrize("out_spec", [((0,), F32), ((0,), F64), ((5,), I64), ((2, 3), I32)])
def test_creation_out(name, out_spec):
    e, t = run(ember, CREATION[name], out_spec), run(torch, CREATION[name], out_spec)
    if isinstance(t, Exception):
        assert isinstance(e, type(t)), f"ember gave {e!r}, torch raised {type(t).__name__}: {t}"
        return
    assert not isinstance(e, Exception), f"ember raised {type(e).__name__}: {e}"
    (e_res, e_out, e_warn), (t_res, t_out, t_warn) = e, t
    assert tuple(e_out.shape) == tuple(t_out.shape) and e_out.dtype.name == str(t_out.dtype)[6:]
    if isinstance(t_res, torch.Tensor):
        assert e_res is e_out
        if name not in ("rand", "randn", "randint", "randperm"):
            assert_close(e_out, t_out)
    elif isinstance(t_res, torch.dtype):
        assert e_res.name == str(t_res)[6:]
    else:
        assert tuple(e_res) == tuple(t_res) if isinstance(t_res, torch.Size) else e_res == t_res
    assert len(e_warn) == len(t_warn), f"warnings: ember {e_warn}, torch {t_warn}"


def test_random_out_draws_from_the_generator():
    out = ember.empty(0)
    ember.manual_seed(5)
    ember.rand(4, out=out)
    ember.manual_seed(5)
    np.testing.assert_array_equal(out.numpy(), ember.rand(4).numpy())


@pytest.mark.parametrize("call", [
    lambda m: m.add(m.ones(2, requires_grad=True), 1, out=m.empty(2)),
    lambda m: m.add(m.ones(2), 1, out=m.empty(2, requires_grad=True)),
    lambda m: m.matmul(m.ones(2, 2, requires_grad=True), m.ones(2, 2), out=m.empty(0)),
    lambda m: m.cat([m.ones(2), m.ones(2, requires_grad=True)], out=m.empty(0)),
    lambda m: m.sum(m.ones(2, 2, requires_grad=True), 0, out=m.empty(0)),
    lambda m: m.zeros(2, out=m.empty(0, requires_grad=True)),
    lambda m: m.add(m.ones(2), 1, out=[m.empty(2)]),
])
def test_out_refuses_autograd_and_non_tensors(call):
    e_exc = t_exc = None
    try:
        call(torch)
    except Exception as exc:  # noqa: BLE001
        t_exc = exc
    try:
        call(ember)
    except Exception as exc:  # noqa: BLE001
        e_exc = exc
    assert t_exc is not None and isinstance(e_exc, type(t_exc)), (e_exc, t_exc)


def test_out_is_allowed_for_tensors_requiring_grad_in_no_grad_mode():
    for lib in (ember, torch):
        out = lib.zeros(2, requires_grad=True)
        with lib.no_grad():
            r = lib.add(lib.ones(2, requires_grad=True), 1, out=out)
        assert r is out and out.requires_grad and out.grad_fn is None and out.tolist() == [2.0, 2.0]


def test_out_writes_through_a_view_into_its_base():
    for lib in (ember, torch):
        base = lib.zeros(2, 3)
        view = base[0]
        version = base._version
        assert lib.add(lib.ones(3), 1, out=view) is view
        assert base.tolist() == [[2.0, 2.0, 2.0], [0.0, 0.0, 0.0]]
        assert base._version > version


def test_out_may_be_an_input():
    for lib in (ember, torch):
        x = lib.tensor([1.0, 2.0])
        assert lib.mul(x, x, out=x) is x and x.tolist() == [1.0, 4.0]
    # PyTorch's mm into one of its inputs depends on its BLAS (zeros on some machines); ember's
    # product reads its inputs before it writes
    m = ember.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert ember.mm(m, m, out=m) is m and m.tolist() == [[7.0, 10.0], [15.0, 22.0]]


def test_resized_out_gets_new_storage_and_history_is_kept_separate():
    base = ember.zeros(6)
    view = base[:2]
    with pytest.warns(UserWarning, match="resized"):
        ember.add(ember.ones(2, 2), 1, out=view)
    assert view.tolist() == [[2.0, 2.0], [2.0, 2.0]] and base.tolist() == [0.0] * 6


def test_methods_and_operators_take_no_out():
    x = ember.ones(2)
    for lib_x in (x, torch.ones(2)):
        with pytest.raises(TypeError):
            lib_x.add(1, out=lib_x)
