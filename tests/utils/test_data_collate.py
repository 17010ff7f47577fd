"""default_collate / default_convert against torch's on the same inputs."""
import collections

import numpy as np
import pytest

import ember
from ember.utils import data as edata
from ember.utils.data._collate import collate, default_collate_fn_map
from helpers import assert_same_tree

torch = pytest.importorskip("torch")
tdata = torch.utils.data

Point = collections.namedtuple("Point", ["x", "y"])


class T:
    """A tensor in a sample spec: becomes an ember or a torch tensor of ``array``."""

    def __init__(self, array):
        self.array = np.asarray(array)


def build(spec, lib):
    """The sample described by ``spec`` with T(...) turned into ``lib``'s tensors."""
    if isinstance(spec, T):
        return ember.tensor(spec.array) if lib == "ember" else torch.tensor(spec.array)
    if isinstance(spec, dict):
        return type(spec)((k, build(v, lib)) for k, v in spec.items())
    if isinstance(spec, Point):
        return Point(*(build(v, lib) for v in spec))
    if isinstance(spec, (list, tuple)):
        return type(spec)(build(v, lib) for v in spec)
    return spec


def _rng_array(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    return (rng.random(shape) * 10).astype(dtype)


CASES = {
    "ints": [1, -2, 3],
    "floats": [1.5, -2.0],
    "bools": [True, False, True],
    "strings": ["a", "bc"],
    "np_float32_scalars": [np.float32(1.5), np.float32(2)],
    "np_float64_scalars": [np.float64(1.5), np.float64(2)],
    "np_int32_scalars": [np.int32(4), np.int32(5)],
    "np_bool_scalars": [np.bool_(True), np.bool_(False)],
    "np_arrays": [_rng_array((2, 3), np.float32, s) for s in range(3)],
    "np_uint8_arrays": [_rng_array((4,), np.uint8, s) for s in range(2)],
    "tensors_float": [T(_rng_array((3,), np.float32, s)) for s in range(4)],
    "tensors_0d": [T(np.float64(s)) for s in range(3)],
    "tensors_int64": [T(_rng_array((2, 2), np.int64, s)) for s in range(2)],
    "tensors_bool": [T(_rng_array((3,), np.float32, s) > 5) for s in range(2)],
    "tensors_empty": [T(np.zeros((0, 2), np.float32))] * 3,
    "tuples": [(T([1.0, 2.0]), 3), (T([4.0, 5.0]), 6)],
    "lists": [[1, 2.5, "x"], [3, 4.5, "y"]],
    "dicts": [{"img": T(_rng_array((2,), np.float32, s)), "label": s, "name": f"n{s}"} for s in range(3)],
    "ordered_dicts": [collections.OrderedDict(b=s, a=float(s)) for s in range(2)],
    "namedtuples": [Point(T([float(s)]), s) for s in range(3)],
    "nested": [{"a": [(s, {"b": T([s, s + 1])})], "c": (np.float32(s), "s")} for s in range(2)],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_default_collate_matches_torch(name):
    spec = CASES[name]
    out_e = edata.default_collate(build(spec, "ember"))
    out_t = tdata.default_collate(build(spec, "torch"))
    assert_same_tree(out_e, out_t)


@pytest.mark.parametrize("spec", [np.zeros((2, 3)), np.float32(2), (np.ones(2), 3, [np.ones(1)]),
                                  {"a": np.arange(3), "b": "x"}, Point(np.ones(1), 2), [np.array(["a"])],
                                  T([1, 2]), "text", 7], ids=repr)
def test_default_convert_matches_torch(spec):
    assert_same_tree(edata.default_convert(build(spec, "ember")), tdata.default_convert(build(spec, "torch")))


def test_default_convert_shares_memory_with_arrays():
    a = np.zeros(3, np.float32)
    out = edata.default_convert(a)
    out[0] = 5
    assert a[0] == 5  # as torch.as_tensor: no copy


def test_collate_tensor_shape_mismatch():
    with pytest.raises(RuntimeError) as et:
        tdata.default_collate([torch.zeros(3), torch.zeros(4)])
    with pytest.raises(RuntimeError) as ee:
        edata.default_collate([ember.zeros(3), ember.zeros(4)])
    assert str(ee.value) == str(et.value) == ("stack expects each tensor to be equal size, but got [3] at "
                                              "entry 0 and [4] at entry 1")


@pytest.mark.parametrize("batch", [[[1, 2], [1]], [object()], [np.array(["a"])], [{1, 2}]], ids=repr)
def test_collate_errors_match_torch(batch):
    with pytest.raises(Exception) as et:
        tdata.default_collate(batch)
    with pytest.raises(et.type) as ee:
        edata.default_collate(batch)
    assert str(ee.value) == str(et.value)


def test_collate_keeps_graph():
    xs = [ember.ones(2, requires_grad=True) for _ in range(3)]
    out = edata.default_collate(xs)
    (out * ember.tensor([[1.0, 2.0]])).sum().backward()
    assert xs[1].grad.tolist() == [1.0, 2.0]


def test_custom_collate_fn_map():
    class Box:
        def __init__(self, v):
            self.v = v

    fn_map = {**default_collate_fn_map, Box: lambda batch, *, collate_fn_map: sum(b.v for b in batch)}
    out = collate([(Box(1), 2.0), (Box(5), 3.0)], collate_fn_map=fn_map)
    assert out[0] == 6 and out[1].tolist() == [2.0, 3.0] and out[1].dtype == ember.float64


# ---- batches mixing numbers, 0-d tensors, NumPy scalars and 0-d arrays ---------------
# PyTorch dispatches on the first element's type; a first element that is a number gives
# torch.tensor(batch) (float64 for a Python float), whose dtype promotes over every element
# and which reads each element through Python's number protocols.

def _np0d(value, dtype):
    return np.array(value, dtype=dtype)


FIRST = {  # elements that send a batch down the numbers' paths
    "float": 1.5, "int": 3, "bool": True, "np_float32": np.float32(2.25), "np_float64": np.float64(-1.5),
    "np_int32": np.int32(7), "np_int64": np.int64(-2), "np_uint8": np.uint8(200), "np_bool": np.bool_(True),
    "np_float16": np.float16(0.5),
}
OTHER = {  # what may follow them
    **FIRST,
    "t0_float32": T(np.float32(2.5)), "t0_float64": T(np.float64(-0.1)), "t0_float16": T(np.float16(3.0)),
    "t0_int64": T(np.int64(4)), "t0_int32": T(np.int32(-5)), "t0_uint8": T(np.uint8(9)), "t0_int8": T(np.int8(-3)),
    "t0_bool": T(np.bool_(False)), "t1_float": T(np.float32([6.5])), "t11_int": T(np.int64([[8]])),
    "t2_float": T(np.float32([1.0, 2.0])), "t2_int": T(np.int64([1, 2])),
    "np0d_float32": _np0d(1.25, np.float32), "np0d_int64": _np0d(5, np.int64), "np1d": np.array([1.0]),
    "big_int": 2 ** 63, "none": None, "str": "a", "list": [2.0],
}


@pytest.mark.parametrize("second", sorted(OTHER))
@pytest.mark.parametrize("first", sorted(FIRST))
def test_default_collate_mixed_numbers_match_torch(first, second):
    spec = [FIRST[first], OTHER[second], FIRST[first]]
    try:
        expected = tdata.default_collate(build(spec, "torch"))
    except Exception as e:
        with pytest.raises(type(e)) as got:
            edata.default_collate(build(spec, "ember"))
        assert str(got.value) == str(e)
        return
    assert_same_tree(edata.default_collate(build(spec, "ember")), expected)


@pytest.mark.parametrize("name,spec", [
    ("float_then_tensors", [1.0, T(np.float32(2.0)), T(np.float64(3.0))]),
    ("int_then_float_tensor", [1, T(np.float32(2.5))]),
    ("int_then_float64_tensor", [1, T(np.float64(2.5))]),
    ("bool_then_int32_tensor", [True, T(np.int32(2))]),
    ("dict_values", [{"a": 1.0, "b": 2}, {"a": T(np.float64(2)), "b": T(np.int16(3))}]),
    ("tuple_fields", [(1.0, 2, np.float32(3)), (T(np.float32(4)), T(np.int64(5)), 6.0)]),
    ("nested", [{"x": [(0.5, {"y": 1})]}, {"x": [(T(np.float16(1.5)), {"y": T(np.uint8(2))})]}]),
    ("namedtuple", [Point(1.0, np.int32(2)), Point(T(np.float32(3)), 4)]),
], ids=lambda v: v if isinstance(v, str) else "")
def test_default_collate_mixed_structures_match_torch(name, spec):
    assert_same_tree(edata.default_collate(build(spec, "ember")), tdata.default_collate(build(spec, "torch")))


@pytest.mark.parametrize("second", [2.0, 2, np.float32(2)], ids=repr)
def test_default_collate_tensor_first_needs_tensors(second):
    """A tensor first means stacking, which takes tensors only (PyTorch's TypeError)."""
    with pytest.raises(TypeError) as et:
        tdata.default_collate([torch.tensor(1.0), second])
    with pytest.raises(TypeError, match=f"element 1 .*{type(second).__name__}"):
        edata.default_collate([ember.tensor(1.0), second])
    assert "element 1" in str(et.value)
