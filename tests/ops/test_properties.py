"""Property-based parity: random broadcastable shapes and ops, values and gradients vs PyTorch."""
import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

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


CREATION = {
    "tensor": lambda m, v, d: m.tensor(v, dtype=getattr(m, d) if d else None),
    "full": lambda m, v, d: m.full((2,), v, dtype=getattr(m, d) if d else None),
    "arange": lambda m, v, d: m.arange(0, v, 7, dtype=getattr(m, d) if d else None)
    if isinstance(v, int) and abs(v) < 300 else m.zeros(0),
}
DATA = SCALARS + [[1, -1], [True, 2], [0.5, -1.5], [[1, 2], [3]], [2 ** 63], [[]], [1, 2.5, True]]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(op=st.sampled_from(sorted(CREATION)), v=st.sampled_from(DATA), d=st.sampled_from([None] + DTYPE_NAMES))
def test_creation_outcome_like_torch(op, v, d):
    assert_same_outcome(lambda m: CREATION[op](m, v, d), what=f"{op}({v!r}, dtype={d})")


DIM = st.integers(-4, 3)
SHAPE_OPS = {
    "transpose": (2, lambda m, x, a, b: x.transpose(a, b)), "flatten": (2, lambda m, x, a, b: x.flatten(a, b)),
    "squeeze": (1, lambda m, x, a: x.squeeze(a)), "unsqueeze": (1, lambda m, x, a: x.unsqueeze(a)),
    "select": (2, lambda m, x, a, b: x.select(a, b)), "narrow": (2, lambda m, x, a, b: x.narrow(a, b, 1)),
    "movedim": (2, lambda m, x, a, b: m.movedim(x, a, b)), "flip": (1, lambda m, x, a: x.flip(a)),
    "roll": (2, lambda m, x, a, b: x.roll(b, a)), "t": (0, lambda m, x: x.t()),
    "reshape": (2, lambda m, x, a, b: x.reshape(a, b)), "unbind": (1, lambda m, x, a: x.unbind(a)),
    "chunk": (2, lambda m, x, a, b: x.chunk(b, a)), "split": (2, lambda m, x, a, b: x.split(b, a)),
    "diagonal": (2, lambda m, x, a, b: x.diagonal(0, a, b)), "cumsum_dim_check": (1, lambda m, x, a: x.size(a)),
    "expand": (2, lambda m, x, a, b: x.expand(a, b)), "permute": (2, lambda m, x, a, b: x.permute(a, b)),
    "repeat": (2, lambda m, x, a, b: x.repeat(a, b)), "tile": (2, lambda m, x, a, b: x.tile((a, b))),
    "repeat_interleave": (1, lambda m, x, a: x.repeat_interleave(2, a)),
}


@settings(max_examples=600, deadline=None, derandomize=True)
@given(op=st.sampled_from(sorted(SHAPE_OPS)), x=arrays(dtype="float32"), data=st.data())
def test_shape_ops_outcome_like_torch(op, x, data):
    n, fn = SHAPE_OPS[op]
    args = [data.draw(DIM) for _ in range(n)]
    # PyTorch makes tensors of negative size when expanding an empty or 0-d tensor
    assume(op != "expand" or min(args) >= 0 or (x.ndim == 2 and x.size and min(args) == -1))
    assume(op not in ("repeat", "tile") or x.size or min(args) >= 0)  # PyTorch allows -1 when empty
    assert_same_outcome(lambda m, t: fn(m, t, *args), x, what=f"{op}{tuple(args)} of shape {x.shape}")


INDEX_PART = st.one_of(st.integers(-4, 3), st.just(None), st.just(Ellipsis),
                       st.builds(slice, st.one_of(st.none(), st.integers(-4, 4)),
                                 st.one_of(st.none(), st.integers(-4, 4)),
                                 st.one_of(st.none(), st.integers(-2, 2))),
                       st.lists(st.integers(-4, 3), max_size=3).map(lambda v: ("index", v)),
                       st.lists(st.booleans(), min_size=1, max_size=3).map(lambda v: ("mask", v)))


def _past_the_end(parts, ndim: int) -> bool:
    """Whether an int or a partial slice comes after a second ... has passed the last dimension:
    PyTorch reads past its list of sizes there (its outcome varies); ember raises IndexError."""
    counted = sum(p is not None and p is not Ellipsis for p in parts)  # masks here are 1-d
    if parts.count(Ellipsis) < 2 or ndim <= counted:
        return False  # no ... skips a dimension, so none passes the end
    after = parts[[i for i, p in enumerate(parts) if p is Ellipsis][1] + 1:]
    return any(isinstance(p, int) or (isinstance(p, slice) and p != slice(None)) for p in after)


def _index(m, part):
    if isinstance(part, tuple):
        kind, v = part
        return m.tensor(v, dtype=m.int64 if kind == "index" else m.bool)
    return part


@settings(max_examples=600, deadline=None, derandomize=True)
@given(x=arrays(dtype="int64"), parts=st.lists(INDEX_PART, min_size=1, max_size=3))
def test_getitem_outcome_like_torch(x, parts):
    assume(not _past_the_end(parts, x.ndim))
    assert_same_outcome(lambda m, t: t[tuple(_index(m, p) for p in parts)], x,
                        what=f"x{list(x.shape)}[{parts}]")


@settings(max_examples=300, deadline=None, derandomize=True)
@given(x=arrays(dtype="int64"), parts=st.lists(INDEX_PART, min_size=1, max_size=3))
def test_setitem_outcome_like_torch(x, parts):
    assume(not _past_the_end(parts, x.ndim))

    def case(m, t):
        t[tuple(_index(m, p) for p in parts)] = -1
        return t
    assert_same_outcome(case, x, what=f"x{list(x.shape)}[{parts}] = -1")


GATHER_OPS = {
    "index_select": lambda m, x, d, i: x.index_select(d, i),
    "gather": lambda m, x, d, i: x.gather(d, i),
    "scatter": lambda m, x, d, i: x.scatter(d, i, m.ones_like(i, dtype=x.dtype)),
    "scatter_value": lambda m, x, d, i: x.scatter(d, i, 5),
    "scatter_add": lambda m, x, d, i: x.scatter_add(d, i, m.ones_like(i, dtype=x.dtype)),
}


@settings(max_examples=600, deadline=None, derandomize=True)
@given(op=st.sampled_from(sorted(GATHER_OPS)), x=arrays(dtype="int64"), dim=DIM,
       index=st.sampled_from(SHAPES).flatmap(lambda s: st.lists(
           st.integers(-4, 4), min_size=int(np.prod(s)), max_size=int(np.prod(s))).map(
           lambda v, s=s: np.array(v, dtype=np.int64).reshape(s))))
def test_gather_scatter_outcome_like_torch(op, x, dim, index):
    assert_same_outcome(lambda m, t, i: GATHER_OPS[op](m, t, dim, i), x, index,
                        what=f"{op} x{list(x.shape)} dim={dim} index={index.tolist()}")


@settings(max_examples=400, deadline=None, derandomize=True)
@given(xs=st.lists(arrays(), min_size=1, max_size=3), dim=DIM, stack=st.booleans())
def test_cat_stack_outcome_like_torch(xs, dim, stack):
    assert_same_outcome(lambda m, *ts: (m.stack if stack else m.cat)(ts, dim), *xs,
                        what=f"{'stack' if stack else 'cat'} {[x.shape for x in xs]} dim={dim}")


PAD_SHAPES = [(3,), (2, 3), (1, 2, 3), (1, 1, 2, 3), (2, 0, 3), (1, 2, 1)]


@settings(max_examples=400, deadline=None, derandomize=True)
@given(shape=st.sampled_from(PAD_SHAPES), mode=st.sampled_from(["constant", "reflect", "replicate", "circular"]),
       pad=st.lists(st.integers(-3, 4), min_size=1, max_size=4), value=st.sampled_from([None, 0, 1.5, 300]),
       dtype=st.sampled_from(["float32", "int8", "uint8"]), data=st.data())
def test_pad_outcome_like_torch(shape, mode, pad, value, dtype, data):
    x = data.draw(arrays(dtype=dtype, shape=shape))
    assert_same_outcome(lambda m, t: m.nn.functional.pad(t, tuple(pad), mode=mode, value=value), x,
                        what=f"pad {shape} {pad} {mode} value={value} {dtype}")


MATMUL_SHAPES = [(), (3,), (4,), (2, 3), (3, 4), (4, 3), (2, 2, 3), (1, 3, 4), (2, 4, 2), (0, 3), (3, 0)]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(a=st.sampled_from(MATMUL_SHAPES), b=st.sampled_from(MATMUL_SHAPES),
       dtypes=st.sampled_from([("float32", "float32"), ("int64", "int64"), ("float32", "float64"),
                               ("int32", "int64"), ("float32", "int64")]), data=st.data())
def test_matmul_outcome_like_torch(a, b, dtypes, data):
    x = np.asarray(data.draw(st.lists(st.integers(-3, 3), min_size=int(np.prod(a)), max_size=int(np.prod(a)))),
                   dtype=dtypes[0]).reshape(a)
    y = np.asarray(data.draw(st.lists(st.integers(-3, 3), min_size=int(np.prod(b)), max_size=int(np.prod(b)))),
                   dtype=dtypes[1]).reshape(b)
    assert_same_outcome(lambda m, s, t: s @ t, x, y, what=f"matmul {a} {dtypes[0]} @ {b} {dtypes[1]}")
