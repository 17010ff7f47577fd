"""Property-based parity: random broadcastable shapes and ops, values and gradients vs PyTorch."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from helpers import check_op
from outcome import assert_same_outcome


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


# ---- outcome parity: PyTorch's value and dtype, or PyTorch's exception type ----------------
# Every dtype pair, Python scalars that wrap around or overflow, shapes that do or do not
# broadcast, 0-d and empty tensors; values include inf, nan, signed zeros and integer extremes.
DTYPE_NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
SPECIAL = {
    "bool": [True, False],
    "uint8": [0, 1, 2, 3, 7, 8, 100, 128, 200, 255],
    "int8": [-128, -100, -8, -7, -1, 0, 1, 2, 3, 7, 8, 127],
    "int16": [-32768, -300, -9, -1, 0, 1, 2, 3, 16, 255, 32767],
    "int32": [-2 ** 31, -70000, -5, -1, 0, 1, 2, 3, 31, 32, 2 ** 31 - 1],
    "int64": [-2 ** 63, -2 ** 40, -3, -1, 0, 1, 2, 5, 63, 64, 2 ** 63 - 1],
    "float": [0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.5, -3.0, 7.0, -7.0, 100.0, 1e-3, 6e4,
              float("inf"), float("-inf"), float("nan")],
}
SCALARS = [True, False, -2 ** 63 - 1, -2 ** 63, -300, -129, -1, 0, 1, 2, 3, 7, 8, 9, 64, 127, 128,
           200, 255, 256, 2 ** 31, 2 ** 63 - 1, 2 ** 63, 2 ** 64 - 1, 2 ** 64,
           0.0, -0.0, 0.5, -1.5, 2.0, 1e10, 1e300, float("inf"), float("-inf"), float("nan")]
SHAPES = [(), (1,), (3,), (4,), (0,), (2, 3), (2, 1), (1, 3), (2, 0), (3, 1, 1)]


@st.composite
def arrays(draw, dtype=None, shape=None):
    dtype = dtype or draw(st.sampled_from(DTYPE_NAMES))
    shape = draw(st.sampled_from(SHAPES)) if shape is None else shape
    pool = SPECIAL["float" if dtype.startswith("float") else dtype]
    n = int(np.prod(shape))
    vals = draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n))
    with np.errstate(over="ignore"):
        return np.array(vals, dtype=dtype).reshape(shape)


BINARY_OPS = {
    "add": lambda m, x, y: x + y, "sub": lambda m, x, y: x - y, "mul": lambda m, x, y: x * y,
    "truediv": lambda m, x, y: x / y, "floordiv": lambda m, x, y: x // y, "mod": lambda m, x, y: x % y,
    "pow": lambda m, x, y: x ** y, "eq": lambda m, x, y: x == y, "ne": lambda m, x, y: x != y,
    "lt": lambda m, x, y: x < y, "le": lambda m, x, y: x <= y, "gt": lambda m, x, y: x > y,
    "ge": lambda m, x, y: x >= y, "and": lambda m, x, y: x & y, "or": lambda m, x, y: x | y,
    "xor": lambda m, x, y: x ^ y, "lshift": lambda m, x, y: x << y, "rshift": lambda m, x, y: x >> y,
}
TENSOR_FIRST_OPS = {
    "fmod": lambda m, x, y: m.fmod(x, y), "remainder": lambda m, x, y: m.remainder(x, y),
    "div_trunc": lambda m, x, y: m.div(x, y, rounding_mode="trunc"),
    "div_floor": lambda m, x, y: m.div(x, y, rounding_mode="floor"),
    "add_alpha": lambda m, x, y: m.add(x, y, alpha=2), "sub_alpha": lambda m, x, y: m.sub(x, y, alpha=-1),
    "bitwise_left_shift": lambda m, x, y: m.bitwise_left_shift(x, y),
    "bitwise_right_shift": lambda m, x, y: m.bitwise_right_shift(x, y),
    "logical_and": lambda m, x, y: m.logical_and(x, y), "logical_xor": lambda m, x, y: m.logical_xor(x, y),
}
APPROX = {"pow"}  # libm's pow may differ from NumPy's in the last bit


def _rtol(op, *dts):
    if op in APPROX and any(d.startswith("float") for d in dts):
        return 1e-3 if "float16" in dts else 1e-6
    return 0.0


@settings(max_examples=1000, deadline=None, derandomize=True)
@given(op=st.sampled_from(sorted(BINARY_OPS) + sorted(TENSOR_FIRST_OPS)), x=arrays(), y=arrays())
def test_binary_tensor_tensor_outcome_like_torch(op, x, y):
    fn = BINARY_OPS.get(op) or TENSOR_FIRST_OPS[op]
    assert_same_outcome(fn, x, y, rtol=_rtol(op, x.dtype.name, y.dtype.name), what=f"{op} {x!r} {y!r}")


@settings(max_examples=1000, deadline=None, derandomize=True)
@given(op=st.sampled_from(sorted(BINARY_OPS) + sorted(TENSOR_FIRST_OPS)), x=arrays(),
       s=st.sampled_from(SCALARS), reflected=st.booleans())
def test_binary_tensor_scalar_outcome_like_torch(op, x, s, reflected):
    if reflected and op in BINARY_OPS:
        fn = lambda m, t: BINARY_OPS[op](m, s, t)  # noqa: E731
    else:
        fn = lambda m, t: (BINARY_OPS.get(op) or TENSOR_FIRST_OPS[op])(m, t, s)  # noqa: E731
    assert_same_outcome(fn, x, rtol=_rtol(op, x.dtype.name, "float32"),
                        what=f"{op} {x!r} {s!r} reflected={reflected}")


UNARY_OPS = {
    "neg": lambda m, x: -x, "invert": lambda m, x: ~x, "bitwise_not": lambda m, x: m.bitwise_not(x),
    "logical_not": lambda m, x: m.logical_not(x), "pos": lambda m, x: +x,
    "to_int8": lambda m, x: x.to(m.int8) if not x.is_floating_point() else x,
    "to_float16": lambda m, x: x.to(m.float16), "to_bool": lambda m, x: x.to(m.bool),
    "isnan": lambda m, x: m.isnan(x), "isinf": lambda m, x: m.isinf(x),
}


@settings(max_examples=300, deadline=None, derandomize=True)
@given(op=st.sampled_from(sorted(UNARY_OPS)), x=arrays())
def test_unary_outcome_like_torch(op, x):
    assert_same_outcome(UNARY_OPS[op], x, what=f"{op} {x!r}")
