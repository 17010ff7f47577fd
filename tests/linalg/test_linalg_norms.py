"""linalg.vector_norm / matrix_norm / norm against PyTorch: values, gradients, gradcheck, errors."""
import math

import numpy as np
import pytest

import ember
from helpers import check_case, check_gradcheck, torch
from linalg_inputs import full_rank

VECTOR_ORDS = [2, 1, math.inf, -math.inf, 0, 3, 0.5, -1]


@pytest.mark.parametrize("ord", VECTOR_ORDS)
@pytest.mark.parametrize("dim,keepdim", [(None, False), (None, True), (1, False), ((0, 2), True), (-1, False)])
def test_vector_norm(ord, dim, keepdim):
    check_case([(2, 3, 4)], lambda m, x: m.linalg.vector_norm(x, ord, dim, keepdim), grad=ord != 0,
               low=0.5, high=2.0)


def test_vector_norm_dtype_and_errors():
    check_case([(3, 4)], lambda m, x: m.linalg.vector_norm(x, dtype=m.float64))
    for m in (torch, ember):
        with pytest.raises(TypeError):
            m.linalg.vector_norm(m.ones(3), ord="fro")
        with pytest.raises(RuntimeError, match="floating point"):
            m.linalg.vector_norm(m.ones(3, dtype=m.int64))


MATRIX_ORDS = ["fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf]


@pytest.mark.parametrize("ord", MATRIX_ORDS)
@pytest.mark.parametrize("dim", [(-2, -1), (-1, -2), (0, 2)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_matrix_norm(ord, dim, keepdim):
    a = full_rank(2, 3, 4).transpose(1, 0, 2).copy()  # (3, 2, 4): every 2-D slice has full rank
    check_case([a.shape], lambda m, x: m.linalg.matrix_norm(x, ord, dim, keepdim), values=[a], dtype="float64")


@pytest.mark.parametrize("ord", MATRIX_ORDS)
def test_gradcheck_matrix_norm(ord):
    check_gradcheck([(2, 3, 2)], lambda x: ember.linalg.matrix_norm(x, ord), values=[full_rank(2, 3, 2)])


def test_matrix_norm_errors():
    for m in (torch, ember):
        with pytest.raises(RuntimeError, match="at least 2 dimensions"):
            m.linalg.matrix_norm(m.ones(3))
        with pytest.raises(RuntimeError, match="Order 3 not supported"):
            m.linalg.matrix_norm(m.ones(3, 3), ord=3)


@pytest.mark.parametrize("shape,ord,dim", [
    ((3, 4), None, None), ((2, 3, 4), None, None), ((4,), 3, None), ((3, 4), "nuc", None),
    ((3, 4), 1, None), ((2, 3, 4), None, 1), ((2, 3, 4), math.inf, (0, 1)), ((2, 3, 4), None, (1, 2)),
    ((2, 3, 4), 2, -1),
])
@pytest.mark.parametrize("keepdim", [False, True])
def test_norm_picks_vector_or_matrix_norm(shape, ord, dim, keepdim):
    check_case([shape], lambda m, x: m.linalg.norm(x, ord, dim, keepdim), dtype="float64")


def test_norm_errors():
    for m in (torch, ember):
        with pytest.raises(RuntimeError, match="must be 1D or 2D"):
            m.linalg.norm(m.ones(2, 2, 2), ord=2)
