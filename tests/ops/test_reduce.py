import math
import warnings

import numpy as np
import pytest

import ember
from helpers import assert_close, check_gradcheck, check_op, make_inputs, torch

DIMS = [None, 0, -1, (0, 2), (-1, -3), [1]]
INF = float("inf")


# ---- sum, mean, nansum, nanmean, prod ------------------------------------------------------
@pytest.mark.parametrize("dim", DIMS)
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("op", ["sum", "mean", "nansum", "logsumexp", "amax", "amin"])
def test_dim_reductions(op, dim, keepdim):
    if op == "logsumexp" and dim is None:
        dim = (0, 1, 2)
    if op in ("amax", "amin") and dim is None:
        dim = ()
    check_op([(3, 4, 5)], lambda x: getattr(x, op)(dim, keepdim))
    check_op([(3, 4, 5)], lambda x: getattr(torch, op)(x, dim, keepdim=keepdim),
             lambda x: getattr(ember, op)(x, dim, keepdim=keepdim))


SMALL = [((), None), ((), 0), ((), -1), ((1,), 0), ((2, 1, 3), 1), ((2, 1, 3), -3)]


@pytest.mark.parametrize("op", ["sum", "mean", "nansum", "nanmean", "prod", "logsumexp", "norm", "amax",
                                "amin", "var", "std"])
@pytest.mark.parametrize("shape,dim", SMALL)
def test_small_and_zero_dim(op, shape, dim):
    # var/std of single elements (0-d, size-1 dims) warn: see test_var_degrees_of_freedom
    if op in ("var", "std") and (math.prod(shape) if dim is None or not shape else shape[dim]) < 2:
        shape, dim = (2, 1, 3), -3
    if dim is None:
        check_op([shape], lambda x: getattr(x, op)(0) if op == "logsumexp" else getattr(x, op)(), low=0.5)
    else:
        check_op([shape], lambda x: getattr(x, op)(dim=dim), low=0.5)


@pytest.mark.parametrize("op,dim", [("sum", None), ("sum", 0), ("sum", 1), ("mean", 1), ("prod", 0),
                                    ("prod", None), ("logsumexp", 0), ("logsumexp", 1),
                                    ("nansum", 0), ("norm", 1), ("amax", 1), ("var", 1)])
def test_empty(op, dim):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # var over no elements warns about degrees of freedom
        check_op([(0, 3)], lambda x: getattr(x, op)(dim) if dim is not None else getattr(x, op)())


def test_mean_of_empty_is_nan():
    check_op([(0, 3)], lambda x: x.mean())
    check_op([(0, 3)], lambda x: x.mean(0))


@pytest.mark.parametrize("dtype", ["int8", "int32", "int64", "uint8", "bool"])
@pytest.mark.parametrize("op", ["sum", "prod", "nansum"])
def test_integer_inputs_accumulate_in_int64(op, dtype):
    out, _ = check_op([(3, 4)], lambda x: getattr(x, op)(), dtype=dtype, low=-2, high=3)
    assert out.dtype == ember.int64


@pytest.mark.parametrize("dtype", ["float16", "float64"])
@pytest.mark.parametrize("op", ["sum", "mean", "prod", "amax", "var", "std", "logsumexp", "norm",
                                "median"])
def test_float_dtypes(op, dtype):
    args = (1,) if op in ("logsumexp", "median") else ()
    check_op([(3, 4)], lambda x: getattr(x, op)(*args), dtype=dtype, low=0.5, high=1.5)


def test_dtype_argument():
    check_op([(3, 4)], lambda x: x.sum(1, dtype=torch.float64), lambda x: x.sum(1, dtype=ember.float64))
    check_op([(3, 4)], lambda x: x.mean(dtype=torch.float64), lambda x: x.mean(dtype=ember.float64))
    check_op([(3, 4)], lambda x: x.sum(dtype=torch.float32), lambda x: x.sum(dtype=ember.float32),
             dtype="int32")
    check_op([(3, 4)], lambda x: x.prod(0, dtype=torch.float64), lambda x: x.prod(0, dtype=ember.float64))


@pytest.mark.filterwarnings("ignore:.*encountered in:RuntimeWarning")  # 0 * inf in all-NaN gradients
def test_nan_reductions():
    v = np.array([[1.0, np.nan, 3.0, 4.0], [np.nan, np.nan, np.nan, np.nan], [0.5, 2.0, -1.0, 7.0]])
    for fn in (lambda x: x.nansum(), lambda x: x.nansum(1), lambda x: x.nanmean(1),
               lambda x: x.nanmean(0, keepdim=True), lambda x: x.nanmedian(),
               lambda x: x.median(1), lambda x: x.sum(1)):
        check_op([v.shape], fn, values=[v])
    # which element of an all-NaN slice nanmedian picks (and sends the gradient to) is unspecified
    check_op([v.shape], lambda x: x.nanmedian(1).values, values=[v], grad=False)
    check_op([(2, 4)], lambda x: x.nanmedian(1), values=[v[[0, 2]]])


@pytest.mark.parametrize("dim", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_prod(dim, keepdim):
    check_op([(3, 4)], lambda x: x.prod(dim, keepdim) if dim is not None else x.prod(), low=0.5)
    check_op([(3, 4)], lambda x: x.prod(dim, keepdim) if dim is not None else x.prod(), low=-2)


@pytest.mark.parametrize("values", [
    [[1.5, 0.0, 2.0, -1.0], [0.0, 0.0, 3.0, 2.0], [1.0, 2.0, 3.0, 4.0]],   # one zero, two zeros, none
    [[0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 1.0, 1.0], [2.0, 2.0, 2.0, 0.0]],
])
def test_prod_gradient_with_zeros(values):
    v = np.array(values)
    for fn in (lambda x: x.prod(1), lambda x: x.prod(0, keepdim=True), lambda x: x.prod(),
               lambda x: x.prod(-1).sum()):
        check_op([v.shape], fn, values=[v])
        check_gradcheck([v.shape], fn, values=[v])


def test_prod_gradcheck():
    check_gradcheck([(3, 4)], lambda x: x.prod(1), low=0.5)
    check_gradcheck([(2, 3)], lambda x: x.prod())


# ---- extrema -------------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("dim", [0, 1, -1, -3])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_with_dim(op, dim, keepdim):
    out, ref = check_op([(2, 3, 4)], lambda x: getattr(x, op)(dim, keepdim))
    assert type(out).__name__ == op and out.values is out[0] and out.indices is out[1]
    v, i = out
    assert i.dtype == ember.int64 and tuple(i.shape) == tuple(ref.indices.shape)
    check_op([(2, 3, 4)], lambda x: getattr(torch, op)(x, dim=dim, keepdim=keepdim).values,
             lambda x: getattr(ember, op)(x, dim=dim, keepdim=keepdim).values)


@pytest.mark.parametrize("op", ["max", "min", "amax", "amin", "median"])
def test_full_reduction_splits_gradient_among_ties(op):
    v = np.array([[3.0, -1.0, 3.0], [0.5, 3.0, -1.0]])
    check_op([v.shape], lambda x: getattr(x, op)(), values=[v])
    if op in ("amax", "amin"):
        check_op([v.shape], lambda x: getattr(x, op)(1), values=[v])
        check_op([v.shape], lambda x: getattr(x, op)((0, 1), keepdim=True), values=[v])


def test_max_with_dim_takes_first_of_ties():
    v = np.array([[3.0, 1.0, 3.0], [2.0, 2.0, -1.0]])
    check_op([v.shape], lambda x: x.max(1), values=[v])
    check_op([v.shape], lambda x: x.min(0), values=[v])
    check_op([v.shape], lambda x: x.argmax(1), values=[v], grad=False)


def test_max_propagates_nan():
    v = np.array([[1.0, np.nan, 3.0], [2.0, 5.0, -1.0]])
    for fn in (lambda x: x.max(1), lambda x: x.amax(1), lambda x: x.min(1), lambda x: x.max(),
               lambda x: x.argmax(1)):
        check_op([v.shape], fn, values=[v], grad=False)


@pytest.mark.parametrize("op", ["max", "min"])
def test_max_zero_dim_and_bool(op):
    check_op([()], lambda x: getattr(x, op)())
    check_op([()], lambda x: getattr(x, op)(0))
    check_op([()], lambda x: getattr(x, op)(-1, True))
    check_op([(3, 4)], lambda x: getattr(x, op)(), dtype="bool")
    check_op([(3, 4)], lambda x: getattr(x, op)(1), dtype="int32")
    check_op([(0, 3)], lambda x: getattr(x, op)(1))


@pytest.mark.parametrize("op", ["max", "min"])
def test_max_elementwise(op):
    check_op([(3, 4), (4,)], lambda x, y: getattr(torch, op)(x, y), lambda x, y: getattr(ember, op)(x, y))
    check_op([(3, 4), (3, 1)], lambda x, y: getattr(x, op)(y))
    check_op([(3, 4), (3, 4)], lambda x, y: getattr(torch, op)(x, other=y),
             lambda x, y: getattr(ember, op)(x, other=y))


@pytest.mark.parametrize("op", ["argmax", "argmin"])
@pytest.mark.parametrize("dim", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_argmax(op, dim, keepdim):
    out, _ = check_op([(3, 4)], lambda x: getattr(x, op)(dim, keepdim))
    assert out.dtype == ember.int64
    check_op([(3, 4)], lambda x: getattr(x, op)(dim=dim, keepdim=keepdim), dtype="int64")


@pytest.mark.parametrize("op", ["argmax", "argmin"])
def test_argmax_zero_dim_and_empty(op):
    check_op([()], lambda x: getattr(x, op)())
    check_op([()], lambda x: getattr(x, op)(0, True))
    check_op([(0, 3)], lambda x: getattr(x, op)(1))


def test_extrema_gradcheck():
    check_gradcheck([(3, 4)], lambda x: x.max(1)[0])
    check_gradcheck([(3, 4)], lambda x: x.min(0, keepdim=True).values)
    check_gradcheck([(3, 4)], lambda x: x.amax(1) * x.amin(0).sum())
    check_gradcheck([(2, 3, 2)], lambda x: x.amax((0, 2)))
    check_gradcheck([(3, 4)], lambda x: x.max() + x.min())


# ---- logical reductions and counts -----------------------------------------------------------
@pytest.mark.parametrize("op", ["all", "any"])
@pytest.mark.parametrize("dim", [None, 0, -1, (0, 1)])
@pytest.mark.parametrize("dtype", ["bool", "float32", "int64", "uint8"])
def test_all_any(op, dim, dtype):
    v = np.array([[0, 1, 2, 0], [1, 1, 1, 1], [0, 0, 0, 0]])
    fn = (lambda x: getattr(x, op)()) if dim is None else (lambda x: getattr(x, op)(dim))
    check_op([v.shape], fn, dtype=dtype, values=[v], grad=False)
    if dim is not None:
        check_op([v.shape], lambda x: getattr(torch, op)(x, dim, keepdim=True),
                 lambda x: getattr(ember, op)(x, dim, keepdim=True), dtype=dtype, values=[v], grad=False)


def test_all_any_edge_cases():
    check_op([(0, 3)], lambda x: (x.all(), x.any(), x.all(0), x.any(1)), grad=False)
    check_op([()], lambda x: (x.all(), x.any(0)), dtype="int64", grad=False)


@pytest.mark.parametrize("dim", [None, 0, -1, (0, 1)])
def test_count_nonzero(dim):
    v = np.array([[0.0, 1.0, 2.0], [0.0, 0.0, -3.0]])
    check_op([v.shape], lambda x: x.count_nonzero(dim), values=[v], grad=False)
    check_op([v.shape], lambda x: torch.count_nonzero(x, dim), lambda x: ember.count_nonzero(x, dim),
             dtype="int32", values=[v], grad=False)


# ---- logsumexp -------------------------------------------------------------------------------
def test_logsumexp_is_stable_and_handles_infinities():
    big = np.array([[1000.0, 1000.0, -1000.0], [-INF, -INF, -INF], [INF, 1.0, 2.0], [-INF, 0.0, 1.0]])
    check_op([big.shape], lambda x: x.logsumexp(1), values=[big], grad=False)
    finite = np.array([[1000.0, 999.0, -1000.0], [-80.0, -81.0, -79.0]])
    check_op([finite.shape], lambda x: x.logsumexp(1), values=[finite])
    check_op([finite.shape], lambda x: x.logsumexp(0, keepdim=True), values=[finite])


def test_logsumexp_integer_input_and_gradcheck():
    check_op([(3, 4)], lambda x: x.logsumexp(1), dtype="int64", atol=1e-6, rtol=1e-6)
    check_gradcheck([(3, 4)], lambda x: x.logsumexp(1))
    check_gradcheck([(2, 3, 2)], lambda x: ember.logsumexp(x, (0, 2), keepdim=True))


# ---- var, std ----------------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["var", "std"])
@pytest.mark.parametrize("dim", [None, 0, -1, (0, 2)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_var_std(op, dim, keepdim):
    check_op([(3, 4, 5)], lambda x: getattr(x, op)(dim, keepdim=keepdim))
    for c in (0, 2, 0.5):
        check_op([(3, 4, 5)], lambda x: getattr(x, op)(dim, keepdim=keepdim, correction=c))


@pytest.mark.parametrize("op", ["var", "std", "var_mean", "std_mean"])
def test_var_legacy_unbiased(op):
    fn = getattr(torch, op)
    efn = getattr(ember, op)
    check_op([(3, 4)], lambda x: fn(x, False), lambda x: efn(x, False))
    check_op([(3, 4)], lambda x: fn(x, True), lambda x: efn(x, True))
    check_op([(3, 4)], lambda x: fn(x, 1, False, True), lambda x: efn(x, 1, False, True))
    check_op([(3, 4)], lambda x: fn(x, dim=0, unbiased=False), lambda x: efn(x, dim=0, unbiased=False))
    check_op([(3, 4)], lambda x: fn(x, dim=(0, 1), correction=0, keepdim=True),
             lambda x: efn(x, dim=(0, 1), correction=0, keepdim=True))


def test_var_mean_returns_plain_tuples():
    e, t = check_op([(3, 4)], lambda x: torch.var_mean(x, 1), lambda x: ember.var_mean(x, 1))
    assert type(e) is tuple and len(e) == 2
    e, t = check_op([(3, 4)], lambda x: torch.std_mean(x, 0, keepdim=True),
                    lambda x: ember.std_mean(x, 0, keepdim=True))
    assert tuple(e[1].shape) == (1, 4)


def test_var_degrees_of_freedom():
    for shape, kwargs in (((1,), {}), ((2,), {"correction": 3}), ((), {}), ((3, 1), {"dim": 1})):
        x_e, x_t = make_inputs([shape], low=0.5)
        with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
            out = x_e[0].var(**kwargs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = x_t[0].var(**kwargs)
        assert_close(out, ref)


def test_std_of_constant_has_zero_gradient():
    v = np.full((3, 4), 1.5)
    check_op([v.shape], lambda x: x.std(1), values=[v])
    check_op([v.shape], lambda x: x.std(), values=[v])


def test_var_std_gradcheck():
    check_gradcheck([(3, 4)], lambda x: x.var(1))
    check_gradcheck([(3, 4)], lambda x: x.std(0, correction=0))
    check_gradcheck([(2, 3, 2)], lambda x: ember.std_mean(x, (0, 2)))


# ---- norm --------------------------------------------------------------------------------------
@pytest.mark.parametrize("p", [2, "fro", 1, INF, -INF, 3, 0.5, 1.5])
@pytest.mark.parametrize("dim", [None, 1, -1, (0, 2)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_norm(p, dim, keepdim):
    check_op([(3, 4, 2)], lambda x: x.norm(p, dim, keepdim))
    check_op([(3, 4, 2)], lambda x: torch.norm(x, p=p, dim=dim, keepdim=keepdim),
             lambda x: ember.norm(x, p=p, dim=dim, keepdim=keepdim))


def test_norm_zero_order_and_dtype():
    v = np.array([[0.0, 1.0, -2.0], [0.0, 0.0, 3.0]])
    check_op([v.shape], lambda x: x.norm(0, 1), values=[v], grad=False)
    check_op([v.shape], lambda x: x.norm(dtype=torch.float64), lambda x: x.norm(dtype=ember.float64),
             values=[v])


@pytest.mark.parametrize("p", [2, 3, 1.5])
def test_norm_gradient_is_zero_at_zero(p):
    v = np.array([[0.0, 0.0, 0.0], [1.0, -2.0, 0.5]])
    check_op([v.shape], lambda x: x.norm(p, 1), values=[v])
    e, _ = make_inputs([(4,)], values=[np.zeros(4)])
    e[0].norm(p).backward()
    assert not np.any(e[0].grad.cpu().numpy())


def test_norm_gradcheck():
    for p in (2, 1, 3, INF, -INF):
        check_gradcheck([(3, 4)], lambda x: x.norm(p, 1))
    check_gradcheck([(2, 3)], lambda x: x.norm())


# ---- median ------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(5,), (4,), (3, 4), (2, 3, 5), ()])
def test_median(shape):
    check_op([shape], lambda x: x.median())
    for d in range(-len(shape), len(shape)) if shape else (0, -1):
        check_op([shape], lambda x: x.median(d))
        check_op([shape], lambda x: torch.median(x, d, keepdim=True), lambda x: ember.median(x, d, keepdim=True))
        check_op([shape], lambda x: x.nanmedian(d))


def test_median_empty_and_gradcheck():
    check_op([(0,)], lambda x: x.median(), grad=False)
    check_op([(0, 3)], lambda x: x.median(1))
    check_gradcheck([(3, 4)], lambda x: x.median(1).values)
    check_gradcheck([(3, 4)], lambda x: x.median())


# ---- errors and return types -------------------------------------------------------------------
@pytest.mark.parametrize("call", [
    lambda x: x.sum(2), lambda x: x.mean(-3), lambda x: x.amax((0, 5)), lambda x: x.max(2),
    lambda x: x.argmax(-3), lambda x: x.var(2), lambda x: x.norm(dim=4),
    lambda x: x.logsumexp(3), lambda x: x.all(2), lambda x: x.median(2), lambda x: x.prod(-3),
    lambda x: x.count_nonzero(2)])
def test_dimension_out_of_range(call):
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of "
                                         r"\[-2, 1\]"):
        call(ember.zeros(2, 3))
    with pytest.raises(IndexError):
        call(torch.zeros(2, 3))


def test_errors():
    x = ember.zeros(2, 3)
    with pytest.raises(RuntimeError, match="dim 0 appears multiple times"):
        x.sum((0, -2))
    with pytest.raises(RuntimeError, match="max\\(\\): Expected reduction dim to be specified"):
        ember.zeros(0, 3).max()
    with pytest.raises(IndexError, match="argmax\\(\\): Expected reduction dim to be specified"):
        ember.zeros(0).argmax()
    for op in ("max", "amax", "argmin", "median"):
        with pytest.raises(IndexError, match=f"{op}\\(\\): Expected reduction dim 0 to have non-zero size"):
            getattr(ember.zeros(0, 3), op)(0)
    with pytest.raises(RuntimeError, match="mean\\(\\): could not infer output dtype.*Long|int64"):
        ember.tensor([1, 2]).mean()
    with pytest.raises(RuntimeError, match="nanmean\\(\\): expected input to have floating point"):
        ember.tensor([1, 2]).nanmean()
    with pytest.raises(RuntimeError, match="std and var only support floating point"):
        ember.tensor([1, 2]).var()
    with pytest.raises(RuntimeError, match="vector_norm: Expected a floating point"):
        ember.tensor([1, 2]).norm()
    with pytest.raises(TypeError, match="prod\\(\\): argument 'dim' must be int"):
        x.prod((0, 1))
    with pytest.raises(TypeError, match="either unbiased or correction"):
        x.var(0, True, correction=1)
    with pytest.raises(RuntimeError, match="p='nuc' is not supported"):
        x.norm("nuc")


def test_return_types():
    x = ember.tensor([[1.0, 5.0], [7.0, 2.0]])
    out = x.max(1)
    values, indices = out
    assert isinstance(out, ember.return_types.max) and out._fields == ("values", "indices")
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
    assert repr(out).startswith("ember.return_types.max(\nvalues=tensor([5., 7.])")
    assert isinstance(x.min(0), ember.return_types.min)
    assert isinstance(x.median(0), ember.return_types.median)
    assert isinstance(x.nanmedian(0), ember.return_types.nanmedian)
    import pickle
    assert pickle.loads(pickle.dumps(out)).indices.tolist() == [1, 0]


def test_sum_to_size():
    check_op([(2, 3, 4)], lambda x: x.sum_to_size(3, 1))
    check_op([(2, 3, 4)], lambda x: x.sum_to_size((1, 3, 4)))
    x = ember.zeros(2, 3)
    assert x.sum_to_size(2, 3) is x


def test_reductions_of_expanded_and_transposed_inputs():
    check_op([(3, 1)], lambda x: x.expand(3, 4).prod(1))
    check_op([(3, 4)], lambda x: x.t().std(1))


def test_double_backward_through_reductions():
    check_gradcheck([(3, 4)], lambda x: x.sum(1) * x.mean(0).sum() + x.nansum())
    check_gradcheck([(2, 3)], lambda x: x.nanmean(1))
    e, t = make_inputs([(3, 4)])
    ge, = ember.autograd.grad(e[0].norm(), e, create_graph=True)
    gt, = torch.autograd.grad(t[0].norm(), t, create_graph=True)
    assert_close(ge, gt)
    ember.autograd.backward([ge.pow(2).sum()])
    gt.pow(2).sum().backward()
    assert_close(e[0].grad, t[0].grad, atol=1e-4)
