"""x[idx], x[idx] = v, index_*, masks, where, take and tril/triu against PyTorch and finite differences."""
import numpy as np
import pytest

import ember
from helpers import assert_close, check_case as run, check_gradcheck, make_inputs, torch
from outcome import assert_same_outcome


def raises(case, shapes, exc, *fragments, dtype="float32"):
    """Both libraries raise ``exc`` and ember's message names every fragment."""
    (xe, *_), (xt, *_) = make_inputs(shapes, dtype)
    with pytest.raises(exc):
        case(torch, xt)
    with pytest.raises(exc) as info:
        case(ember, xe)
    for f in fragments:
        assert f in str(info.value), f"{f!r} not in {info.value}"


# ---- x[idx] ------------------------------------------------------------------------------
GETITEM = {
    "int": lambda m, x: x[1],
    "neg_int": lambda m, x: x[-1, -2],
    "all_ints": lambda m, x: x[2, 0, -1],
    "slice_step": lambda m, x: x[1:, ::2, 1:5:3],
    "slice_out_of_range": lambda m, x: x[2:10, -10:2],
    "empty_slice": lambda m, x: x[2:2],
    "none_ellipsis": lambda m, x: x[None, ..., None, 1],
    "ellipsis_last": lambda m, x: x[..., 0],
    "list": lambda m, x: x[[0, 3, 3, 1]],
    "empty_list": lambda m, x: x[[]],
    "tensor_dups": lambda m, x: x[m.tensor([[0, 2], [2, 2]])],
    "tensor_neg": lambda m, x: x[:, m.tensor([-1, 0, -1])],
    "tensor_int32": lambda m, x: x[m.tensor([1, 1], dtype=m.int32)],
    "zero_d_tensor": lambda m, x: x[m.tensor(2), :, [0, 1]],
    "int_then_array": lambda m, x: x[0, :, [1, 2]],
    "arrays_separated": lambda m, x: x[[0, 2], 1:, [1, 4]],
    "arrays_broadcast": lambda m, x: x[:, [[0], [1]], [1, 2, 2]],
    "array_dim1_ellipsis": lambda m, x: x[:, [2, 0, 2], ...],
    "legacy_nested_list": lambda m, x: x[[[0, 1], [1, 2]]],
    "bool_list": lambda m, x: x[[True, False, True, True]],
    "bool_mask_tensor": lambda m, x: x[x > 0],
    "bool_mask_2d": lambda m, x: x[x[..., 0] > 0],
    "bool_mask_dim1": lambda m, x: x[:, x[0, :, 0] > 0, 1],
    "mask_and_array": lambda m, x: x[m.tensor([True, False, True, True]), :, [0, 1, 1]],
    "python_bool": lambda m, x: x[True],
    "python_false": lambda m, x: x[False],
    "mixed_none_array": lambda m, x: x[None, [0, 1], None, [1, 2]],
    "int_ellipsis_array": lambda m, x: x[1, ..., [0, 2, 2]],
    "uint8_mask": lambda m, x: x[m.tensor([1, 0, 1, 1], dtype=m.uint8)],
    "repeated_ellipsis": lambda m, x: x[..., 1, ...],
    "repeated_ellipsis_array": lambda m, x: x[..., m.tensor([0, 2, 2]), ..., ...],
    "float_list": lambda m, x: x[[0.5, 3.9, -1.5]],
}


@pytest.mark.parametrize("name", list(GETITEM))
def test_getitem(name):
    run([(4, 5, 6)], GETITEM[name])


@pytest.mark.parametrize("dtype", ["float64", "float16", "int32", "uint8", "bool"])
@pytest.mark.parametrize("name", ["slice_step", "tensor_dups", "arrays_broadcast", "bool_mask_2d"])
def test_getitem_dtypes(name, dtype):
    run([(4, 5, 6)], GETITEM[name], dtype=dtype)


@pytest.mark.parametrize("case", [lambda m, x: x[None], lambda m, x: x[...], lambda m, x: x[True],
                                  lambda m, x: x[False], lambda m, x: x[m.tensor(True)]])
def test_getitem_zero_d(case):
    run([()], case)


@pytest.mark.parametrize("case", [lambda m, x: x[:, 1], lambda m, x: x[[]], lambda m, x: x[x > 0]])
def test_getitem_empty_input(case):
    run([(0, 3)], case)


def test_basic_index_is_a_view():
    x = ember.arange(12.).reshape(3, 4)
    v = x[1, 1:3]
    assert v._vc is x._vc
    x[1, 2] = 100.0
    assert v.tolist() == [5.0, 100.0]
    assert x[0, 0]._vc is x._vc and x[0, 0].shape == ()
    adv = x[[1, 1]]
    x[1] = 0.0
    assert adv.tolist()[0] == [4.0, 5.0, 100.0, 7.0]  # an advanced index copies


@pytest.mark.parametrize("case", [
    lambda x: x[[0, 0, 2]] * x[:, 1:2],
    lambda x: x[:, [1, 1, 0]].exp(),
    lambda x: x[[0, 2, 2], [1, 0, 0]] ** 2,
    lambda x: x[x > 0.5],
    lambda x: x[None, ::2, -1],
])
def test_getitem_gradcheck(case):
    check_gradcheck([(3, 4)], case, low=0.6, high=2.0)


# The gradient of an index with repeats adds them up: through flat positions for index arrays
# between full slices (at dim 0, at a later dim, several arrays, after an int), and through
# np.add.at for 1-D inputs and other layouts.
@pytest.mark.parametrize("shape,case", [
    ((7, 3), lambda m, x: x[m.tensor([[1, 2, 1], [6, 6, 6]])]),
    ((200, 3), lambda m, x: x[m.tensor([5, 5, 199, 0])]),
    ((200,), lambda m, x: x[m.tensor([5, 5, 199, 0])]),
    ((200, 2, 3), lambda m, x: x[:, m.tensor([1, 1, 0])]),
    ((2, 30, 2), lambda m, x: x[:, m.tensor([[1, 1], [0, 29]])]),
    ((5, 6, 4), lambda m, x: x[m.tensor([1, 1, 4]), m.tensor([[0], [5]])]),
    ((5, 6, 20), lambda m, x: x[2, m.tensor([3, 3]), 1:]),
    ((5, 6, 20), lambda m, x: x[m.tensor([-1, 4, 4])]),
    ((5, 6), lambda m, x: x[m.tensor([1, 1]), ..., m.tensor([0, 0])]),
    ((5, 6, 2), lambda m, x: x[m.tensor([1, 1]), :, m.tensor([0, 0])]),
])
def test_getitem_grad_accumulates_duplicates(shape, case):
    run([shape], case)


def test_getitem_double_backward():
    xe, xt = make_inputs([(4, 3)], "float64")
    for m, x in ((ember, xe[0]), (torch, xt[0])):
        y = (x[m.tensor([0, 0, 3])] ** 2).sum()
        g, = m.autograd.grad(y, x, create_graph=True)
        (g * x).sum().backward()
    assert_close(xe[0].grad, xt[0].grad)


@pytest.mark.parametrize("case,exc,fragments", [
    (lambda m, x: x[::-1], ValueError, ["step must be greater than zero"]),
    (lambda m, x: x[:, ::0], ValueError, ["step cannot be zero"]),
    (lambda m, x: x[5], IndexError, ["index 5 is out of bounds for dimension 0 with size 4"]),
    (lambda m, x: x[:, -7], IndexError, ["dimension 1 with size 5"]),
    (lambda m, x: x[m.tensor([0, 4])], IndexError, ["index 4 is out of bounds for dimension 0 with size 4"]),
    (lambda m, x: x[0, 0, 0, 0], IndexError, ["too many indices", "[4, 5, 6]"]),
    (lambda m, x: x[m.tensor([1.0])], IndexError, ["long, int, byte or bool"]),
    (lambda m, x: x[m.tensor([True, False])], IndexError, ["[4, 5, 6]"]),
    (lambda m, x: x["a"], TypeError, ["str"]),
])
def test_getitem_errors(case, exc, fragments):
    raises(case, [(4, 5, 6)], exc, *fragments)


# PyTorch's outcome, value or exception type, for indices at the edges of its rules.
def _i(m, v, dtype="int64"):
    return m.tensor(v, dtype=getattr(m, dtype))


EDGE_INDICES = {
    # each ... skips the dimensions the other entries leave, so a second one passes the end
    "ellipsis_twice": lambda m: (..., ...),
    "ellipsis_int_ellipsis": lambda m: (..., 0, ...),
    "int_ellipsis_twice": lambda m: (0, ..., ...),
    "ellipsis_none_ellipsis": lambda m: (..., None, ...),
    "ellipsis_twice_then_int": lambda m: (..., ..., 0),
    "ellipsis_twice_then_none": lambda m: (..., ..., None),
    "ellipsis_twice_then_true": lambda m: (..., ..., True),
    "ellipsis_twice_then_array": lambda m: (..., ..., _i(m, [0, 1])),
    "ellipsis_twice_then_full_slice": lambda m: (..., ..., slice(None), slice(None)),
    "ints_between_ellipses": lambda m: (0, ..., 1, ..., 1),
    "all_ints_ellipsis_twice": lambda m: (0, 1, 2, ..., ...),
    "array_ellipsis_array_ellipsis": lambda m: (_i(m, [0, 1]), ..., _i(m, [1, 0]), ...),
    "mask_ellipsis_twice_none": lambda m: (_i(m, [[True, False, True]] * 2, "bool"), ..., ..., None),
    "ellipsis_twice_bad_step": lambda m: (..., ..., slice(None, None, -1)),
    # PyTorch counts the entries first, then takes them in order, then checks index tensors
    "too_many_then_zero_step": lambda m: (0, 1, 2, 0, slice(None, None, 0)),
    "too_many_then_negative_step": lambda m: (0, 1, 2, 0, slice(None, None, -1)),
    "int_out_of_range_then_zero_step": lambda m: (5, slice(None, None, 0)),
    "zero_step_then_int_out_of_range": lambda m: (slice(None, None, 0), 5),
    "float_tensor_then_zero_step": lambda m: (_i(m, [1.0], "float32"), slice(None, None, 0)),
    "array_out_of_range_then_negative_step": lambda m: (_i(m, [9]), slice(None, None, -2)),
    "ragged_list_then_zero_step": lambda m: ([[0, 1], [1]], slice(None, None, 0)),
    # masks must match the dimensions they index exactly, even when empty
    "empty_mask": lambda m: _i(m, [], "bool"),
    "empty_mask_dim1": lambda m: (slice(None), _i(m, [], "bool")),
    "short_mask": lambda m: _i(m, [True], "bool"),
    # index values are checked only when an element is read through them
    "array_out_of_range_empty_slice": lambda m: ([9], slice(0, 0)),
    "empty_slice_array_out_of_range": lambda m: (slice(5, None), [9]),
    "empty_array_with_out_of_range": lambda m: ([], [9]),
    "false_mask_with_out_of_range": lambda m: (_i(m, [False, False], "bool"), [9]),
    "python_false_with_out_of_range": lambda m: (False, [9]),
    "out_of_range_read": lambda m: ([9], [0, 1]),
    "negative_out_of_range": lambda m: [-3],
    "negative_int_out_of_range": lambda m: (0, -4),
    # the kinds of entry PyTorch takes, and those it refuses
    "numpy_bool": lambda m: np.True_,
    "python_float": lambda m: 1.5,
    "dict": lambda m: {},
    "float_list": lambda m: [0, 1.5],
    "bool_list": lambda m: [True, False],
    "mixed_bool_int_list": lambda m: [True, 0],
    "float_ndarray": lambda m: np.array([1.7]),
    "int8_tensor": lambda m: _i(m, [1], "int8"),
    "int16_tensor": lambda m: _i(m, [1], "int16"),
    "int32_tensor": lambda m: _i(m, [1, -1], "int32"),
    "int32_tensor_out_of_range": lambda m: _i(m, [1, -3], "int32"),
    "int8_zero_d": lambda m: _i(m, 1, "int8"),
    "zero_d_out_of_range": lambda m: _i(m, -3),
    "zero_d_bool": lambda m: (0, _i(m, True, "bool")),
    "zero_d_float": lambda m: _i(m, 1.0, "float32"),
}
EDGE_SHAPES = [(2, 3), (3,), (), (0, 3), (2, 0), (2, 3, 4)]


@pytest.mark.parametrize("shape", EDGE_SHAPES)
@pytest.mark.parametrize("name", list(EDGE_INDICES))
def test_getitem_edges_like_torch(name, shape):
    x = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    assert_same_outcome(lambda m, t: t[EDGE_INDICES[name](m)], x, what=f"x{list(shape)}[{name}]")


@pytest.mark.parametrize("shape", EDGE_SHAPES)
@pytest.mark.parametrize("name", list(EDGE_INDICES))
def test_setitem_edges_like_torch(name, shape):
    def case(m, t):
        t[EDGE_INDICES[name](m)] = -1
        return t
    x = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    assert_same_outcome(case, x, what=f"x{list(shape)}[{name}] = -1")


@pytest.mark.parametrize("accumulate", [False, True])
@pytest.mark.parametrize("indices", [
    lambda m: (_i(m, [9]),), lambda m: (_i(m, [9]), _i(m, [], "int64")), lambda m: (_i(m, [], "bool"),),
    lambda m: (_i(m, [1, -2]),), lambda m: (_i(m, [1]), _i(m, [3])),
])
@pytest.mark.parametrize("shape", [(2, 3), (2, 0)])
def test_index_put_edges_like_torch(indices, accumulate, shape):
    assert_same_outcome(lambda m, t: m.index_put(t, indices(m), _i(m, 1.0, "float32"), accumulate),
                        np.zeros(shape, dtype=np.float32))


DIMWISE = {
    "index_select": lambda m, x, d, i: x.index_select(d, i),
    "index_add": lambda m, x, d, i: x.index_add(d, i, m.ones_like(x.index_select(d, i.clamp(0, 0)))
                                                if x.ndim and x.shape[d] else m.ones(())),
    "index_add_0d_source": lambda m, x, d, i: x.index_add(d, i, m.ones((), dtype=x.dtype)),
    "index_add_1d_source": lambda m, x, d, i: x.index_add(d, i, m.ones(i.numel(), dtype=x.dtype)),
    "index_fill": lambda m, x, d, i: x.index_fill(d, i, -1),
}
DIMWISE_INDICES = [[0], [1, 0], [2], [-1], [5], [], 0, 2, -1, [[0]], [0.0], [0, 0]]


@pytest.mark.parametrize("index_dtype", ["int64", "int32"])
@pytest.mark.parametrize("index", DIMWISE_INDICES)
@pytest.mark.parametrize("shape,dim", [((), 0), ((), -1), ((3,), 0), ((2, 3), 0), ((2, 3), 1), ((2, 3), -1),
                                       ((2, 3, 2), 0), ((2, 3, 2), 1), ((2, 3, 2), 2), ((2, 3, 2, 2), 2),
                                       ((2, 0), 0), ((2, 0), 1), ((0,), 0), ((2, 0, 2), 1)])
@pytest.mark.parametrize("op", list(DIMWISE))
def test_dimwise_indexing_like_torch(op, shape, dim, index, index_dtype):
    x = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    dtype = "float32" if isinstance(index, list) and 0.0 in index and type(index[0]) is float else index_dtype
    assert_same_outcome(lambda m, t: DIMWISE[op](m, t, dim, _i(m, index, dtype)), x,
                        what=f"{op} x{list(shape)} dim={dim} index={index} {dtype}")


# ---- x[idx] = v ----------------------------------------------------------------------------
SETITEM = {
    "int_scalar": (lambda m, x: (1, 3.5), None),
    "slice_tensor_broadcast": (lambda m, x: ((slice(None), slice(1, 3)), None), (2,)),
    "step": (lambda m, x: ((slice(None, None, 2),), None), (4,)),
    "ellipsis_none": (lambda m, x: ((Ellipsis, None, 0), None), (1,)),
    "leading_ones": (lambda m, x: (0, None), (1, 1, 4)),
    "list": (lambda m, x: ([0, 2], None), (2, 4)),
    "tensor_index": (lambda m, x: ((m.tensor([2, 0]), slice(1, None)), None), (3,)),
    "int_and_array": (lambda m, x: ((1, m.tensor([0, 3])), None), (2,)),
    "mask_scalar": (lambda m, x: (x > 0, -1.0), None),
    "mask_values": (lambda m, x: (x.detach() > 0, None), None),
    "mask_row": (lambda m, x: (m.tensor([True, False, True]), None), (4,)),
    "zero_d_value": (lambda m, x: ((slice(None), 2), None), ()),
    "repeated_ellipsis": (lambda m, x: ((Ellipsis, 1, Ellipsis), None), (3,)),
}


def _setitem_case(name):
    idx_of, vshape = SETITEM[name]

    def case(m, x, v=None):
        y = x * 1
        idx, value = idx_of(m, x)
        if value is None:
            value = v * 2 if name != "mask_values" else v[: int((x.detach() > 0).sum())] * 2
        y[idx] = value
        return y * 3
    return case, vshape


@pytest.mark.parametrize("name", list(SETITEM))
def test_setitem_grads_flow_to_target_and_value(name):
    case, vshape = _setitem_case(name)
    shapes = [(3, 4)] if vshape is None and name != "mask_values" else \
        [(3, 4), (12,) if vshape is None else vshape]
    run(shapes, case)


@pytest.mark.parametrize("name", ["slice_tensor_broadcast", "list", "int_and_array", "mask_row"])
def test_setitem_gradcheck(name):
    case, vshape = _setitem_case(name)
    check_gradcheck([(3, 4), vshape], lambda x, v: case(ember, x, v))


def test_setitem_into_tensor_without_history():
    def case(m, v):
        y = m.zeros(3, 4)
        y[1:, [0, 2]] = v.exp()
        return y
    run([(2, 2)], case)
    run([(2, 1)], case)


@pytest.mark.parametrize("dtype", ["int64", "int16", "uint8", "bool", "float16"])
def test_setitem_dtypes(dtype):
    def case(m, x):
        y = x.clone()
        y[0] = 1
        y[1:, :2] = x[:1, 2:]
        y[y == 0] = 1
        return y
    run([(3, 4)], case, dtype=dtype)


def test_setitem_casts_value():
    for m in (ember, torch):
        y = m.zeros(4, dtype=m.int64)
        y[1] = 2.7
        y[2:] = m.tensor([-1.9, 3.2])
        assert y.tolist() == [0, 2, -1, 3]
        z = m.zeros(3)
        z[0] = m.tensor(2, dtype=m.int32)
        assert z.dtype == m.float32 and z.tolist() == [2.0, 0.0, 0.0]


def test_setitem_bumps_version_and_updates_views():
    x = ember.zeros(3, 4)
    row = x[1]
    v0 = x._version
    x[1, 2] = 5.0
    x[[0, 2]] = 1.0
    assert x._version == v0 + 2 and row._version == x._version
    assert row.tolist() == [0.0, 0.0, 5.0, 0.0]
    row[0] = 7.0
    assert x[1, 0].item() == 7.0 and x._version == v0 + 3


def test_setitem_leaf_requiring_grad():
    for m in (ember, torch):
        w = m.zeros(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            w[0] = 1.0
        with m.no_grad():
            w[0] = 1.0
        assert w.tolist() == [1.0, 0.0, 0.0] and w.grad_fn is None and w.requires_grad


def test_setitem_detects_saved_tensor_change():
    for m in (ember, torch):
        x = m.ones(3, requires_grad=True)
        y = x * 2
        z = y * y  # saves y
        y[0] = 0.0
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            z.sum().backward()


def test_setitem_errors():
    x = ember.zeros(3, 4)
    with pytest.raises(RuntimeError, match=r"shape mismatch: value tensor of shape \[2, 4\].*\[4\]"):
        x[0] = ember.ones(2, 4)
    with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 0 with size 3"):
        x[3] = 1.0
    with pytest.raises(TypeError, match="can't assign a list"):
        x[0] = [1.0, 2.0, 3.0, 4.0]
    with pytest.raises(ValueError, match="step must be greater than zero"):
        x[::-1] = 0.0


# ---- index_put / index_select / index_add / index_fill ------------------------------------
# Repeated positions appear only with accumulate: without it, which write wins is undefined.
@pytest.mark.parametrize("indices,vshape,accumulate", [
    (lambda m: (m.tensor([0, 2]),), (2, 4), False),
    (lambda m: (m.tensor([0, 2]),), (2, 4), True),
    (lambda m: (m.tensor([0, 1, 2]), m.tensor([1, 1, 3])), (3,), False),
    (lambda m: (m.tensor([0, 0, 2]), m.tensor([1, 1, 3])), (3,), True),
    (lambda m: (m.tensor([1, 1, 1]),), (4,), True),
    (lambda m: (m.tensor([[True, False, False, True]] * 3),), (), False),
    (lambda m: (m.tensor([[True, False, False, True]] * 3),), (), True),
])
def test_index_put(indices, vshape, accumulate):
    run([(3, 4), vshape], lambda m, x, v: m.index_put(x, indices(m), v * 2, accumulate=accumulate))
    run([(3, 4), vshape], lambda m, x, v: (x * 1).index_put_(indices(m), v, accumulate=accumulate) * 1)


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8"])
def test_index_put_accumulate_integers(dtype):
    run([(30, 10), (6, 10)], lambda m, x, v: m.index_put(x, (m.tensor([3, 3, 0, 29, 3, 0]),), v,
                                                         accumulate=True), dtype=dtype)


def test_index_put_accumulate_value_must_broadcast():
    for m in (ember, torch):
        with pytest.raises(RuntimeError, match="shape"):
            m.index_put(m.zeros(3, 4), (m.tensor([0, 0]),), m.ones(1, 1, 4), accumulate=True)


def test_index_put_gradcheck():
    idx = (ember.tensor([0, 0, 2]), ember.tensor([1, 1, 3]))
    check_gradcheck([(3, 4), (3,)], lambda x, v: ember.index_put(x, idx, v, accumulate=True) ** 2)
    check_gradcheck([(3, 4), (1,)], lambda x, v: ember.index_put(x, (idx[0][1:],), v) ** 2)


def test_index_put_errors():
    x = ember.zeros(3, 4)
    with pytest.raises(RuntimeError, match="dtypes match"):
        ember.index_put(x, (ember.tensor([0]),), ember.ones(4, dtype=ember.float64))
    with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 0 with size 3"):
        ember.index_put(x, (ember.tensor([0, 3]),), ember.ones(4), accumulate=True)
    with pytest.raises(TypeError, match="tuple of tensors"):
        ember.index_put(x, ember.tensor([0]), ember.ones(4))
    for m in (ember, torch):  # a ragged index list, as ragged data for torch.tensor
        with pytest.raises(ValueError):
            m.zeros(3, 4)[[[0, 1], [1]], 0]


@pytest.mark.parametrize("dim,index", [(0, [2, 0, 2]), (1, [3]), (-1, [0, 0, 1]), (1, []), (0, 1)])
def test_index_select(dim, index):
    run([(3, 4, 2)], lambda m, x: m.index_select(x, dim, m.tensor(index, dtype=m.int64)))
    run([(3, 4, 2)], lambda m, x: x.index_select(dim, m.tensor(index, dtype=m.int32)))


def test_index_select_zero_d_and_gradcheck():
    run([()], lambda m, x: m.index_select(x, 0, m.tensor([0])))
    check_gradcheck([(3, 2)], lambda x: ember.index_select(x, 0, ember.tensor([2, 2, 0])) ** 2)


def test_index_select_errors():
    x = ember.zeros(2, 3)
    with pytest.raises(RuntimeError, match="index 3 is out of range for dimension 1 of size 3"):
        ember.index_select(x, 1, ember.tensor([3]))
    with pytest.raises(IndexError, match="index 2 is out of range for dimension 0 of size 2"):
        ember.index_select(x, 0, ember.tensor(2))
    with pytest.raises(IndexError, match="vector"):
        ember.index_select(x, 1, ember.tensor([[0]]))
    with pytest.raises(RuntimeError, match="int32 or int64"):
        ember.index_select(x, 1, ember.tensor([0], dtype=ember.int16))
    with pytest.raises(IndexError, match="Dimension out of range"):
        ember.index_select(x, 2, ember.tensor([0]))


@pytest.mark.parametrize("dim,index,alpha", [(0, [2, 0, 2], 1), (1, [3, 3], 0.5), (-1, [1], 2)])
def test_index_add(dim, index, alpha):
    shape = [3, 4, 2]
    shape[dim] = len(index)
    run([(3, 4, 2), tuple(shape)], lambda m, x, s: m.index_add(x, dim, m.tensor(index), s, alpha=alpha))
    run([(3, 4, 2), tuple(shape)], lambda m, x, s: (x * 1).index_add_(dim, m.tensor(index), s) * 1)


def test_index_add_zero_d():
    run([(), ()], lambda m, x, s: m.index_add(x, 0, m.tensor([0]), s))


def test_index_add_gradcheck_and_errors():
    check_gradcheck([(3, 2), (3, 2)], lambda x, s: ember.index_add(x, 0, ember.tensor([1, 1, 0]), s) ** 2)
    x = ember.zeros(2, 3)
    with pytest.raises(RuntimeError, match="index 5 is out of range for dimension 1 of size 3"):
        ember.index_add(x, 1, ember.tensor([0, 5]), ember.ones(2, 2))
    with pytest.raises(RuntimeError, match="Number of indices"):
        ember.index_add(x, 1, ember.tensor([0, 1]), ember.ones(2, 3))
    with pytest.raises(RuntimeError, match="same scalar type"):
        ember.index_add(x, 1, ember.tensor([0, 1]), ember.ones(2, 2, dtype=ember.float64))


@pytest.mark.parametrize("dim,index", [(0, [2, 0]), (1, [3, 1, 1]), (-1, [])])
def test_index_fill(dim, index):
    run([(3, 4)], lambda m, x: m.index_fill(x, dim, m.tensor(index, dtype=m.int64), -1.5))
    run([(3, 4), ()], lambda m, x, v: m.index_fill(x, dim, m.tensor(index, dtype=m.int64), v * 2))
    run([(3, 4)], lambda m, x: (x * 1).index_fill_(dim, m.tensor(index, dtype=m.int64), 7) * 1)


def test_index_fill_negative_index():
    run([(3, 4)], lambda m, x: m.index_fill(x, 1, m.tensor([-1, 1]), 2.0), grad=False)


def test_index_fill_gradcheck_and_errors():
    check_gradcheck([(3, 2), ()], lambda x, v: ember.index_fill(x, 1, ember.tensor([1, 1]), v) ** 2)
    with pytest.raises(RuntimeError, match="0-dimensional value tensor"):
        ember.index_fill(ember.zeros(2, 3), 1, ember.tensor([0]), ember.ones(2))
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 1 with size 3"):
        ember.index_fill(ember.zeros(2, 3), 1, ember.tensor([5]), 1.0)


# ---- masks and selection -------------------------------------------------------------------
@pytest.mark.parametrize("mshape", [(3, 4), (4,), (2, 3, 4), ()])
def test_masked_fill(mshape):
    run([(3, 4), mshape], lambda m, x, k: m.masked_fill(x, k > 0, -7.0))
    run([(3, 4), mshape, ()], lambda m, x, k, v: x.masked_fill(k > 0, v * 2))


def test_masked_fill_inplace_dtypes_and_errors():
    run([(3, 4)], lambda m, x: (x * 1).masked_fill_(x < 0, 0.5) * 1)
    run([(3, 4)], lambda m, x: x.masked_fill(x > 0, 1.7), dtype="int64")
    check_gradcheck([(3, 4), ()], lambda x, v: ember.masked_fill(x, x > 0, v) * x)
    x = ember.zeros(3)
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        x.masked_fill_(ember.ones(2, 3, dtype=ember.bool), 1.0)
    with pytest.raises(RuntimeError, match="BoolTensor"):
        x.masked_fill(ember.tensor([1, 0, 1]), 1.0)
    with pytest.raises(RuntimeError, match="0-dimensional value tensor"):
        x.masked_fill(x > 0, ember.ones(3))
    with pytest.raises(RuntimeError, match="does not broadcast"):
        x.masked_fill(ember.ones(2, dtype=ember.bool), 1.0)


@pytest.mark.parametrize("shapes", [[(3, 4), (3, 4)], [(3, 4), (4,)], [(4,), (3, 4)], [(), ()],
                                    [(0, 2), (2,)]])
def test_masked_select(shapes):
    run(shapes, lambda m, x, k: m.masked_select(x, k > 0))
    run(shapes, lambda m, x, k: x.masked_select(k > 0), dtype="int32")


@pytest.mark.parametrize("mshape", [(3, 4), (4,)])
def test_masked_scatter(mshape):
    run([(3, 4), mshape, (15,)], lambda m, x, k, s: m.masked_scatter(x, k > 0, s))
    run([(3, 4), mshape, (3, 5)], lambda m, x, k, s: (x * 1).masked_scatter_(k > 0, s) * 1)


def test_masked_scatter_gradcheck_and_errors():
    mask = ember.tensor([[True, False, True], [False, True, True]])
    check_gradcheck([(2, 3), (5,)], lambda x, s: ember.masked_scatter(x, mask, s) ** 2)
    with pytest.raises(RuntimeError, match="source"):
        ember.masked_scatter(ember.zeros(2, 3), mask, ember.ones(3))
    with pytest.raises(RuntimeError, match="BoolTensor"):
        ember.masked_select(ember.zeros(3), ember.tensor([1, 0, 1]))
    with pytest.raises(RuntimeError, match="does not broadcast"):
        ember.masked_select(ember.zeros(3), ember.ones(2, dtype=ember.bool))
    with pytest.raises(RuntimeError, match="same dtypes"):
        ember.masked_scatter(ember.zeros(2, 3), mask, ember.ones(6, dtype=ember.float64))


@pytest.mark.parametrize("shape", [(3, 4), (5,), (), (0, 3), (2, 1, 3)])
@pytest.mark.parametrize("dtype", ["float32", "int64", "bool"])
def test_nonzero_argwhere(shape, dtype):
    run([shape], lambda m, x: m.nonzero(x > 0 if dtype != "bool" else x), dtype=dtype, low=-1, high=1)
    run([shape], lambda m, x: x.nonzero(as_tuple=True), dtype=dtype, low=-1, high=1)
    run([shape], lambda m, x: m.argwhere(x), dtype=dtype, low=-1, high=1)
    run([shape], lambda m, x: m.where(x != 0), dtype=dtype, low=-1, high=1)


def test_nonzero_zero_d_false():
    for m in (ember, torch):
        assert tuple(m.nonzero(m.tensor(0)).shape) == (0, 0)
        assert [t.tolist() for t in m.nonzero(m.tensor(0), as_tuple=True)] == [[]]


@pytest.mark.parametrize("ishape", [(2, 3), (5,), (), (0,)])
def test_take(ishape):
    idx = np.random.default_rng(1).integers(-12, 12, ishape).tolist()
    run([(3, 4)], lambda m, x: m.take(x, m.tensor(idx, dtype=m.int64)))
    run([(3, 4)], lambda m, x: x.t().take(m.tensor(idx, dtype=m.int64)))


def test_take_gradcheck_and_errors():
    check_gradcheck([(2, 3)], lambda x: ember.take(x, ember.tensor([[0, 5], [5, -1]])) ** 2)
    with pytest.raises(IndexError, match="tried to access index 6 on a tensor of 6 elements"):
        ember.take(ember.zeros(2, 3), ember.tensor([6]))
    with pytest.raises(RuntimeError, match="long tensor"):
        ember.take(ember.zeros(2, 3), ember.tensor([0.0]))


# ---- where ---------------------------------------------------------------------------------
@pytest.mark.parametrize("shapes", [[(3, 4), (3, 4), (3, 4)], [(3, 4), (4,), (3, 1)], [(4,), (2, 1, 4), ()],
                                    [(), (), ()], [(0, 2), (2,), (0, 2)]])
def test_where(shapes):
    run(shapes, lambda m, c, a, b: m.where(c > 0, a, b))
    run(shapes, lambda m, c, a, b: a.where(c > 0, b))


@pytest.mark.parametrize("case", [
    lambda m, c, a: m.where(c > 0, a, 0.0),
    lambda m, c, a: m.where(c > 0, 2, a),
    lambda m, c, a: m.where(c > 0, 1.0, 0),
    lambda m, c, a: m.where(c > 0, 1, 0),
    lambda m, c, a: m.where(c > 0, a.int(), 0.5),
    lambda m, c, a: m.where(c > 0, a.double(), a),
    lambda m, c, a: m.where(c > 0, True, False),
])
def test_where_scalars_and_promotion(case):
    run([(3, 4), (3, 4)], case)


def test_where_gradcheck_and_errors():
    cond = ember.tensor([[True, False, True], [False, False, True]])
    check_gradcheck([(2, 3), (3,)], lambda a, b: ember.where(cond, a * b, b.exp()))
    with pytest.raises(RuntimeError, match="boolean tensor"):
        ember.where(ember.tensor([1, 0]), ember.ones(2), ember.zeros(2))


# ---- tril / triu ---------------------------------------------------------------------------
@pytest.mark.parametrize("fn", ["tril", "triu"])
@pytest.mark.parametrize("shape,diagonal", [((4, 4), 0), ((3, 5), 1), ((5, 3), -2), ((2, 3, 4), 2),
                                            ((0, 3), 0)])
def test_tril_triu(fn, shape, diagonal):
    run([shape], lambda m, x: getattr(m, fn)(x, diagonal))
    run([shape], lambda m, x: getattr(x * 1, fn + "_")(diagonal=diagonal) * 1)
    run([shape], lambda m, x: getattr(x, fn)(diagonal), dtype="int32")


def test_tril_triu_gradcheck_and_errors():
    check_gradcheck([(3, 4)], lambda x: ember.tril(x, 1) * ember.triu(x, -1))
    for m in (ember, torch):
        with pytest.raises(RuntimeError, match="at least 2 dimensions"):
            m.tril(m.ones(3))
