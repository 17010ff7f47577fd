import numpy as np
import pytest

import ember
from helpers import check_gradcheck, check_op, torch


@pytest.mark.parametrize("op", ["cumsum", "cumprod"])
@pytest.mark.parametrize("shape,dim", [((5,), 0), ((3, 4), 1), ((3, 4), -2), ((2, 3, 4), 1), ((), 0),
                                       ((), -1), ((0, 3), 0), ((0, 3), 1)])
def test_cumulative(op, shape, dim):
    check_op([shape], lambda x: getattr(x, op)(dim))
    check_op([shape], lambda x: getattr(torch, op)(x, dim=dim), lambda x: getattr(ember, op)(x, dim=dim))


@pytest.mark.parametrize("values", [
    [[1.5, 0.0, 2.0, -1.0], [0.0, 0.0, 3.0, 2.0], [1.0, 2.0, 0.0, 4.0], [2.0, 0.5, 1.5, 0.0]],
    [[0.0, 1.0, 0.0, 2.0], [3.0, 1.0, -1.0, 2.0], [0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]],
])
def test_cumprod_gradient_with_zeros(values):
    v = np.array(values)
    for fn in (lambda x: x.cumprod(1), lambda x: x.cumprod(0)):
        check_op([v.shape], fn, values=[v])
        check_gradcheck([v.shape], fn, values=[v])


def test_cumulative_gradcheck_and_inplace():
    check_gradcheck([(3, 4)], lambda x: x.cumsum(1))
    check_gradcheck([(3, 4)], lambda x: x.cumprod(0))
    check_op([(3, 4)], lambda x: (x * 1).cumsum_(1))
    check_op([(3, 4)], lambda x: (x * 1).cumprod_(0))


@pytest.mark.parametrize("op", ["cumsum", "cumprod"])
@pytest.mark.parametrize("dtype", ["int8", "int32", "int64", "uint8", "bool"])
def test_integer_inputs_accumulate_in_int64(op, dtype):
    out, _ = check_op([(3, 4)], lambda x: getattr(x, op)(1), dtype=dtype, low=-2, high=3)
    assert out.dtype == ember.int64


@pytest.mark.parametrize("op", ["cumsum", "cumprod"])
@pytest.mark.parametrize("dtype", ["float16", "float64"])
def test_float_dtypes(op, dtype):
    check_op([(3, 4)], lambda x: getattr(x, op)(1), dtype=dtype, low=0.5, high=1.5)


@pytest.mark.parametrize("op", ["cumsum", "cumprod"])
def test_dtype_argument_and_layouts(op):
    check_op([(3, 4)], lambda x: getattr(x, op)(1, dtype=torch.float64),
             lambda x: getattr(x, op)(1, dtype=ember.float64))
    check_op([(3, 4)], lambda x: getattr(x, op)(0, dtype=torch.float32),
             lambda x: getattr(x, op)(0, dtype=ember.float32), dtype="int32")
    check_op([(3, 4)], lambda x: getattr(x.t(), op)(0))
    check_op([(3, 1)], lambda x: getattr(x.expand(3, 4), op)(1))


@pytest.mark.parametrize("op", ["cumsum", "cumprod"])
def test_errors(op):
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of "
                                         r"\[-2, 1\], but got 2\)"):
        getattr(ember.zeros(2, 3), op)(2)
    with pytest.raises(TypeError):
        getattr(ember.zeros(2, 3), op)()
