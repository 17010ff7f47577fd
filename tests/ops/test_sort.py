"""sort, argsort, topk, kthvalue, unique, searchsorted and bucketize against PyTorch."""
import numpy as np
import pytest

import ember
from helpers import assert_close, check_case as run, check_gradcheck, torch


def same(case):
    """The case gives the same result on both libraries (for non-random inputs)."""
    assert_close(case(ember), case(torch))


# ---- sort / argsort / msort -----------------------------------------------------------------
@pytest.mark.parametrize("shape,dim", [((5,), 0), ((3, 4), -1), ((3, 4), 0), ((2, 3, 4), 1), ((), 0),
                                       ((0, 3), 1), ((3, 0), 1)])
@pytest.mark.parametrize("descending", [False, True])
def test_sort(shape, dim, descending):
    run([shape], lambda m, x: m.sort(x, dim, descending))
    run([shape], lambda m, x: x.sort(dim=dim, descending=descending, stable=True))
    run([shape], lambda m, x: m.argsort(x, dim, descending))


@pytest.mark.parametrize("dtype", ["float64", "float16", "int32", "uint8", "int64"])
def test_sort_dtypes(dtype):
    # distinct values, so every library must give the same order
    values = [np.random.default_rng(0).permutation(12).reshape(3, 4)]
    run([(3, 4)], lambda m, x: x.sort(1, descending=True), dtype=dtype, values=values)
    run([(3, 4)], lambda m, x: x.argsort(0), dtype=dtype, values=values)


@pytest.mark.parametrize("descending", [False, True])
def test_sort_stable_ties_nan_and_bool(descending):
    ties = [[2.0, 1.0, 2.0, float("nan"), 1.0, float("nan"), 2.0, 0.0]]
    same(lambda m: m.sort(m.tensor(ties), descending=descending, stable=True))
    same(lambda m: m.sort(m.tensor([True, False, True, False]), descending=descending, stable=True))
    same(lambda m: m.argsort(m.tensor([3, 1, 3, 1, 2]), descending=descending, stable=True))


def test_sort_gradient_goes_back_to_source_positions():
    weights = ember.arange(4.0, dtype=ember.float64)
    check_gradcheck([(3, 4)], lambda x: ember.sort(x, 1, descending=True).values * weights)
    check_gradcheck([(2, 3)], lambda x: ember.sort(x ** 2, 0).values.exp())


def test_msort():
    run([(4, 3)], lambda m, x: m.msort(x))
    run([(4, 3)], lambda m, x: x.msort())


# ---- topk / kthvalue --------------------------------------------------------------------------
@pytest.mark.parametrize("shape,k,dim", [((6,), 2, 0), ((3, 5), 3, -1), ((4, 3), 2, 0), ((2, 5, 3), 5, 1),
                                         ((3, 5), 0, 1), ((), 1, 0), ((2, 3), 3, 1)])
@pytest.mark.parametrize("largest", [True, False])
def test_topk(shape, k, dim, largest):
    run([shape], lambda m, x: m.topk(x, k, dim, largest))
    run([shape], lambda m, x: x.topk(k, dim=dim, largest=largest, sorted=True))


@pytest.mark.parametrize("largest", [True, False])
def test_topk_unsorted_selects_the_same_elements(largest):
    # with sorted=False the order is unspecified: compare the sorted selections
    run([(3, 7)], lambda m, x: m.topk(x, 3, largest=largest, sorted=False).values.sort(1).values)
    run([(3, 7)], lambda m, x: m.topk(x, 3, largest=largest, sorted=False).indices.sort(1).values)


def test_topk_nan_int_and_gradcheck():
    same(lambda m: m.topk(m.tensor([1.0, float("nan"), 3.0, 2.0]), 2))
    run([(3, 6)], lambda m, x: x.topk(2), dtype="int64", values=[np.arange(18).reshape(3, 6) * 7 % 18])
    check_gradcheck([(3, 5)], lambda x: ember.topk(x, 2, dim=1).values ** 2)
    check_gradcheck([(4, 2)], lambda x: ember.topk(x, 3, dim=0, largest=False).values.sin())


@pytest.mark.parametrize("k,dim,keepdim", [(1, -1, False), (3, 1, True), (2, 0, False), (4, 0, True)])
def test_kthvalue(k, dim, keepdim):
    run([(4, 5)], lambda m, x: m.kthvalue(x, k, dim, keepdim))
    run([(4, 5)], lambda m, x: x.kthvalue(k, dim=dim, keepdim=keepdim))


def test_kthvalue_zero_d_and_gradcheck():
    run([()], lambda m, x: m.kthvalue(x, 1))
    check_gradcheck([(3, 4)], lambda x: ember.kthvalue(x, 2, 1).values ** 2)


@pytest.mark.parametrize("case,fragment", [
    (lambda m: m.topk(m.ones(2, 3), 4), "k out of range"),
    (lambda m: m.topk(m.ones(2, 3), -1), "k out of range"),
    (lambda m: m.kthvalue(m.ones(2, 3), 4), "out of range"),
    (lambda m: m.kthvalue(m.ones(2, 3), 0), "out of range"),
])
def test_topk_kthvalue_errors(case, fragment):
    with pytest.raises(RuntimeError):
        case(torch)
    with pytest.raises(RuntimeError, match=fragment):
        case(ember)


@pytest.mark.parametrize("fn", ["sort", "argsort", "topk", "kthvalue"])
def test_dim_out_of_range(fn):
    args = (1,) if fn in ("topk", "kthvalue") else ()
    for m in (ember, torch):
        with pytest.raises(IndexError, match="Dimension out of range"):
            getattr(m, fn)(m.ones(2, 3), *args, dim=2)


def test_results_are_named_tuples():
    out = ember.sort(ember.tensor([3.0, 1.0]))
    values, indices = out
    assert values is out.values and indices is out[1]
    assert "return_types.sort" in repr(out) and "indices=" in repr(out)
    assert type(ember.topk(ember.ones(3), 1)).__name__ == "topk"
    assert type(ember.kthvalue(ember.ones(3), 1)).__name__ == "kthvalue"


# ---- unique ----------------------------------------------------------------------------------
UNIQUE_DATA = [[3, 1, 2, 3, 1, 7], [[1, 2], [1, 2], [0, 1], [0, 1]], [[2.5, -1.0], [2.5, 0.0]], 4, []]


@pytest.mark.parametrize("data", UNIQUE_DATA)
@pytest.mark.parametrize("inverse,counts", [(False, False), (True, False), (False, True), (True, True)])
def test_unique(data, inverse, counts):
    same(lambda m: m.unique(m.tensor(data), return_inverse=inverse, return_counts=counts))
    same(lambda m: m.tensor(data).unique(sorted=True, return_inverse=inverse, return_counts=counts))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_unique_dim(dim):
    data = [[1, 2, 1], [1, 2, 1], [0, 1, 0], [1, 2, 1]]
    same(lambda m: m.unique(m.tensor(data), dim=dim, return_inverse=True, return_counts=True))
    same(lambda m: m.unique(m.tensor(data), dim=dim))


def test_unique_bool_and_unsorted():
    same(lambda m: m.unique(m.tensor([True, False, True])))
    e, t = (m.unique(m.tensor([5, 1, 5, 3]), sorted=False) for m in (ember, torch))
    assert sorted(e.tolist()) == sorted(t.tolist())


@pytest.mark.parametrize("data,dim", [
    ([1, 1, 2, 2, 3, 1, 1, 2], None), ([[1, 1], [2, 2]], None), ([], None), (5, None),
    ([[1, 2], [1, 2], [0, 1], [1, 2]], 0), ([[1, 1, 2], [3, 3, 4]], 1),
])
def test_unique_consecutive(data, dim):
    same(lambda m: m.unique_consecutive(m.tensor(data), return_inverse=True, return_counts=True, dim=dim))
    same(lambda m: m.tensor(data).unique_consecutive(dim=dim))


# ---- searchsorted / bucketize ----------------------------------------------------------------
SEQ_1D = [1, 3, 5, 7, 7, 9]
SEQ_2D = [[1, 3, 5, 7], [2, 4, 6, 8]]


@pytest.mark.parametrize("right,side", [(False, None), (True, None), (False, "left"), (False, "right")])
def test_searchsorted(right, side):
    kw = dict(right=right, side=side)
    same(lambda m: m.searchsorted(m.tensor(SEQ_1D), m.tensor([[0, 7, 10], [3, 5, 8]]), **kw))
    same(lambda m: m.searchsorted(m.tensor(SEQ_2D), m.tensor([[3, 6, 9], [3, 6, 0]]), **kw))
    same(lambda m: m.searchsorted(m.tensor(SEQ_1D), 7, **kw))
    same(lambda m: m.searchsorted(m.tensor([0.5, 1.5]), m.tensor([1.0, 0.5]), out_int32=True, **kw))


def test_searchsorted_sorter_and_errors():
    seq, sorter = [5, 1, 9, 3], [1, 3, 0, 2]
    same(lambda m: m.searchsorted(m.tensor(seq), m.tensor([2, 9]), sorter=m.tensor(sorter)))
    for m in (ember, torch):
        with pytest.raises(RuntimeError, match="side"):
            m.searchsorted(m.tensor(SEQ_1D), m.tensor([1]), right=True, side="left")
        with pytest.raises(RuntimeError, match="'left' or 'right' but got middle"):
            m.searchsorted(m.tensor(SEQ_1D), m.tensor([1]), side="middle")
        with pytest.raises(TypeError):
            m.searchsorted(m.tensor(SEQ_1D), [1])
        with pytest.raises(RuntimeError, match="scalar"):
            m.searchsorted(m.tensor(SEQ_2D), 3)
        with pytest.raises(RuntimeError, match="boundaries"):
            m.searchsorted(m.tensor(SEQ_2D), m.tensor([[1], [2], [3]]))


@pytest.mark.parametrize("right", [False, True])
def test_bucketize(right):
    same(lambda m: m.bucketize(m.tensor([[3, 6, 9], [1, 7, 0]]), m.tensor([1, 3, 5, 7]), right=right))
    same(lambda m: m.bucketize(5, m.tensor([1, 3, 5, 7]), right=right))
    same(lambda m: m.bucketize(m.tensor([0.5, 3.0]), m.tensor([1.0, 3.0]), out_int32=True, right=right))
    for m in (ember, torch):
        with pytest.raises(RuntimeError, match="1 dimension"):
            m.bucketize(m.tensor([1]), m.tensor(SEQ_2D))
