"""linalg.cross / vecdot / diagonal / multi_dot / matrix_power / matrix_exp against PyTorch."""
import numpy as np
import pytest

import ember
from helpers import check_case, check_gradcheck, torch
from linalg_inputs import general


def test_cross_vecdot_diagonal():
    check_case([(2, 4, 3), (4, 3)], lambda m, x, y: m.linalg.cross(x, y.expand(2, 4, 3)))
    check_case([(3, 2), (3, 2)], lambda m, x, y: m.linalg.cross(x, y, dim=0))
    check_case([(2, 4, 3), (4, 3)], lambda m, x, y: m.linalg.vecdot(x, y))
    check_case([(3, 4), (3, 1)], lambda m, x, y: m.linalg.vecdot(x, y, dim=0))
    check_case([(2, 3, 4)], lambda m, x: m.linalg.diagonal(x))
    check_case([(2, 3, 4)], lambda m, x: m.linalg.diagonal(x, offset=1, dim1=0, dim2=2))


@pytest.mark.parametrize("shapes", [[(3, 4), (4, 5)], [(4,), (4, 5), (5, 2)], [(3, 4), (4, 5), (5,)],
                                    [(4,), (4, 2), (2, 3), (3,)], [(2, 3), (3, 4), (4, 1), (1, 6)]])
def test_multi_dot(shapes):
    check_case(shapes, lambda m, *xs: m.linalg.multi_dot(xs), dtype="float64")


def test_multi_dot_errors():
    for case in (lambda m: m.linalg.multi_dot([m.ones(2, 2)]),
                 lambda m: m.linalg.multi_dot([m.ones(2, 2, 2), m.ones(2, 2)]),
                 lambda m: m.linalg.multi_dot([m.ones(2), m.ones(2), m.ones(2)])):
        with pytest.raises(RuntimeError) as t_err:
            case(torch)
        with pytest.raises(RuntimeError) as e_err:
            case(ember)
        assert str(e_err.value) == str(t_err.value)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, -1, -3])
@pytest.mark.parametrize("shape", [(3, 3), (2, 2, 2)])
def test_matrix_power(n, shape):
    check_case([shape], lambda m, x: m.linalg.matrix_power(x, n), values=[general(*shape)], dtype="float64")
    check_case([shape], lambda m, x: m.matrix_power(x, n), values=[general(*shape)], dtype="float64")


def test_matrix_power_errors():
    for m in (torch, ember):
        with pytest.raises(RuntimeError, match="square"):
            m.linalg.matrix_power(m.ones(2, 3), 2)


@pytest.mark.parametrize("scale", [0.1, 1.0, 20.0])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matrix_exp(scale, dtype):
    a = np.random.default_rng(0).uniform(-1, 1, (2, 3, 3)) * scale
    check_case([(2, 3, 3)], lambda m, x: m.linalg.matrix_exp(x), values=[a], dtype=dtype, rtol=1e-4 if
               dtype == "float32" else 1e-9, atol=1e-5)
    check_case([(2, 3, 3)], lambda m, x: m.matrix_exp(x), values=[a], dtype=dtype, rtol=1e-4 if
               dtype == "float32" else 1e-9, atol=1e-5)


def test_gradcheck_products():
    check_gradcheck([(3, 3)], lambda x: ember.linalg.matrix_exp(x), low=-1, high=1)
    check_gradcheck([(3, 3)], lambda x: ember.linalg.matrix_power(x, -2), values=[general(3, 3)])
    check_gradcheck([(2,), (2, 3), (3,)], lambda *xs: ember.linalg.multi_dot(xs))
