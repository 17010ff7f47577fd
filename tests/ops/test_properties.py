"""Property-based parity: random broadcastable shapes and ops, values and gradients vs PyTorch."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from helpers import check_op


@st.composite
def broadcastable_pair(draw):
    """Two shapes that broadcast together: each dim of one is the other's, 1, or missing."""
    ndim = draw(st.integers(0, 4))
    base = draw(st.lists(st.integers(0, 4), min_size=ndim, max_size=ndim))
    a = [d if draw(st.booleans()) else 1 for d in base]
    b = [d if draw(st.booleans()) else 1 for d in base]
    a = a[draw(st.integers(0, ndim)):]
    return tuple(a), tuple(b)


BINARY = {
    "add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
    "div": lambda x, y: x / y, "maximum": lambda x, y: x.maximum(y), "pow": lambda x, y: x.abs() ** y,
    "atan2": lambda x, y: x.atan2(y), "lerp": lambda x, y: x.lerp(y, 0.3),
}


@settings(max_examples=60, deadline=None)
@given(shapes=broadcastable_pair(), op=st.sampled_from(sorted(BINARY)),
       dtype=st.sampled_from(["float32", "float64"]), seed=st.integers(0, 2 ** 16))
def test_binary_ops_broadcast_like_torch(shapes, op, dtype, seed):
    check_op(list(shapes), BINARY[op], dtype=dtype, low=0.5, high=2.0, seed=seed)


REDUCE = {
    "sum": lambda x, d: x.sum(d), "mean": lambda x, d: x.mean(d), "amax": lambda x, d: x.amax(d),
    "logsumexp": lambda x, d: x.logsumexp(d), "var": lambda x, d: x.var(d),
    "prod": lambda x, d: x.prod(d),
}


@settings(max_examples=60, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=4), op=st.sampled_from(sorted(REDUCE)),
       data=st.data())
def test_reductions_over_random_dims_like_torch(shape, op, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    if op == "var" and shape[dim] == 1:
        return  # PyTorch warns and returns nan: covered in tests/ops/test_reduce.py
    check_op([tuple(shape)], lambda x: REDUCE[op](x, dim), dtype="float64", seed=data.draw(st.integers(0, 999)))
