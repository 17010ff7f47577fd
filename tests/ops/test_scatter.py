"""gather, scatter, scatter_add and take_along_dim against PyTorch and finite differences."""
import numpy as np
import pytest

import ember
from helpers import check_case as run, check_gradcheck, torch


GATHER_INDEX = {0: [[0, 2, 1, 0], [2, 2, 0, 1]], 1: [[3, 3], [0, 1], [2, 0]], -1: [[0, 1, 2, 3, 3]]}


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_gather(dim):
    run([(3, 4)], lambda m, x: m.gather(x, dim, m.tensor(GATHER_INDEX[dim])))
    run([(3, 4)], lambda m, x: x.gather(dim, m.tensor(GATHER_INDEX[dim])))


def test_gather_zero_d_empty_and_dtypes():
    run([()], lambda m, x: m.gather(x, 0, m.tensor(0)))
    run([()], lambda m, x: m.gather(x, 0, m.tensor([0, 0])))
    run([(3, 4)], lambda m, x: m.gather(x, 1, m.zeros(3, 0, dtype=m.int64)))
    run([(3, 4)], lambda m, x: m.gather(x, 0, m.tensor(GATHER_INDEX[0])), dtype="int32")
    run([(3, 4)], lambda m, x: m.gather(x, 0, m.tensor(GATHER_INDEX[0])), dtype="float64")


def test_gather_gradcheck():
    check_gradcheck([(3, 4)], lambda x: ember.gather(x, 1, ember.tensor(GATHER_INDEX[1])) ** 2)
    check_gradcheck([(3, 4)], lambda x: ember.gather(x, 0, ember.tensor(GATHER_INDEX[0])).exp())


def test_gather_errors():
    x = ember.zeros(3, 4)
    with pytest.raises(RuntimeError, match="index 5 is out of bounds for dimension 0 with size 3"):
        ember.gather(x, 0, ember.tensor([[5]]))
    with pytest.raises(RuntimeError, match="index -1 is out of bounds"):
        ember.gather(x, 0, ember.tensor([[-1]]))
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        ember.gather(x, 0, ember.tensor([0]))
    with pytest.raises(RuntimeError, match="int64"):
        ember.gather(x, 0, ember.tensor([[0]], dtype=ember.int32))
    with pytest.raises(RuntimeError, match="no larger than self"):
        ember.gather(x, 0, ember.zeros(1, 5, dtype=ember.int64))


SCATTER_INDEX = {0: [[0, 1, 2, 0], [2, 0, 1, 1]], 1: [[3, 0], [1, 2], [0, 3]], -1: [[2, 0, 1]]}


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_scatter(dim):
    idx = SCATTER_INDEX[dim]
    ishape = np.shape(idx)
    run([(3, 4), ishape], lambda m, x, s: m.scatter(x, dim, m.tensor(idx), s))
    run([(3, 4), (3, 4)], lambda m, x, s: m.scatter(x, dim, m.tensor(idx), s), grad=False)  # src cut to index
    run([(3, 4)], lambda m, x: m.scatter(x, dim, m.tensor(idx), -2.5))
    run([(3, 4), ishape], lambda m, x, s: (x * 1).scatter_(dim, m.tensor(idx), s) * 1)
    run([(3, 4)], lambda m, x: (x * 1).scatter_(dim, m.tensor(idx), value=1.5) * 1)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_scatter_add(dim):
    idx = [[0, 0, 2, 0], [2, 2, 1, 1]] if dim == 0 else [[3, 3], [1, 3], [0, 0]]
    ishape = np.shape(idx)
    run([(3, 4), ishape], lambda m, x, s: m.scatter_add(x, dim, m.tensor(idx), s))
    run([(3, 4), (3, 4)], lambda m, x, s: m.scatter_add(x, dim, m.tensor(idx), s), grad=False)
    run([(3, 4), (2, ishape[1])], lambda m, x, s: (x * 1).scatter_add_(dim, m.tensor(idx[:2]), s) * 1)
    run([(3, 4), (3, 4)], lambda m, x, s: m.scatter(x, dim, m.tensor(idx), s, reduce="add"), grad=False)


def test_scatter_reduce_and_dtypes():
    idx = [[0, 0, 2, 0], [2, 2, 1, 1]]
    run([(3, 4), (3, 4)], lambda m, x, s: m.scatter(x, 0, m.tensor(idx), s, reduce="multiply"), grad=False)
    run([(3, 4)], lambda m, x: m.scatter(x, 0, m.tensor(idx), 2.0, reduce="multiply"), grad=False)
    run([(3, 4), (2, 4)], lambda m, x, s: m.scatter_add(x, 0, m.tensor(idx), s), dtype="int64")
    run([(3, 4), (2, 2)], lambda m, x, s: m.scatter(x, 1, m.tensor(idx)[:, :2], s), dtype="int32")
    run([(3, 4), (2, 4)], lambda m, x, s: m.scatter_add(x, 0, m.tensor(idx), s), dtype="float64")


def test_scatter_zero_d():
    run([(), ()], lambda m, x, s: m.scatter(x, 0, m.tensor(0), s))
    run([(), ()], lambda m, x, s: m.scatter_add(x, 0, m.tensor(0), s))
    run([()], lambda m, x: m.scatter(x, 0, m.tensor(0), 2.0))


def test_scatter_gradcheck():
    idx = ember.tensor([[3, 0], [1, 2], [0, 3]])
    check_gradcheck([(3, 4), (3, 2)], lambda x, s: ember.scatter(x, 1, idx, s) ** 2)
    dup = ember.tensor([[3, 3], [1, 3], [0, 0]])
    check_gradcheck([(3, 4), (3, 2)], lambda x, s: ember.scatter_add(x, 1, dup, s) ** 2)


def test_scatter_errors():
    x = ember.zeros(2, 3)
    with pytest.raises(RuntimeError, match="self.dtype to be equal to src.dtype"):
        ember.scatter(x, 1, ember.tensor([[0], [1]]), ember.ones(2, 1, dtype=ember.float64))
    with pytest.raises(RuntimeError, match="no larger size than src"):
        ember.scatter_add(x, 1, ember.tensor([[0], [1]]), ember.ones(1, 1))
    with pytest.raises(RuntimeError, match="index 3 is out of bounds for dimension 1 with size 3"):
        ember.scatter(x, 1, ember.tensor([[3]]), 1.0)
    with pytest.raises(RuntimeError, match="add or multiply"):
        ember.scatter(x, 1, ember.tensor([[0]]), 2.0, reduce="max")
    with pytest.raises(TypeError, match="exactly one of src or value"):
        ember.scatter(x, 1, ember.tensor([[0]]))
    with pytest.raises(RuntimeError, match="multiply"):
        ember.scatter(x.requires_grad_(), 1, ember.tensor([[0]]), 2.0, reduce="multiply")


@pytest.mark.parametrize("dim,ishape", [(1, (3, 2)), (0, (2, 4)), (1, (1, 2)), (-1, (3, 1)), (None, (2, 3))])
def test_take_along_dim(dim, ishape):
    size = 4 if dim in (1, -1) else 3 if dim == 0 else 12
    idx = np.random.default_rng(0).integers(0, size, ishape).tolist()
    run([(3, 4)], lambda m, x: m.take_along_dim(x, m.tensor(idx), dim))


def test_take_along_dim_with_sort_indices_and_errors():
    run([(3, 4)], lambda m, x: m.take_along_dim(x, x.argsort(1), 1))
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        ember.take_along_dim(ember.zeros(2, 3), ember.tensor([0, 2]), 1)
    with pytest.raises(RuntimeError, match="broadcast"):
        ember.take_along_dim(ember.zeros(2, 3), ember.tensor([[0], [1], [2]]), 1)


@pytest.mark.parametrize("case", [
    lambda m, x: m.gather(x, 1, m.zeros(2, 0, dtype=m.int64)),
    lambda m, x: m.gather(x, 1, m.zeros(0, dtype=m.int64)),
    lambda m, x: m.gather(x, 0, m.zeros(5, 0, dtype=m.int32)),
    lambda m, x: x.scatter(1, m.zeros(2, 0, dtype=m.int64), m.zeros(2, 0)),
    lambda m, x: x.scatter_add(1, m.zeros(2, 0, dtype=m.int64), m.zeros(2, 0)),
    lambda m, x: m.gather(x, 5, m.zeros(2, 0, dtype=m.int64)),
])
def test_empty_index_skips_shape_checks_as_torch(case):
    outs = []
    for lib in (ember, torch):
        x = lib.ones(1, 3, requires_grad=True)
        try:
            out = case(lib, x)
            out.sum().backward()
            outs.append((tuple(out.shape), out.requires_grad, x.grad.tolist()))
        except Exception as e:  # noqa: BLE001 (the exception's type is what is compared)
            outs.append(type(e))
    assert outs[0] == outs[1]
