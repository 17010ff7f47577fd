"""nn.functional: pad, one_hot, normalize, linear and the re-exported names."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F
from helpers import assert_close, check_gradcheck, check_op

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _pad(*args, **kwargs):
    return lambda x: (F if isinstance(x, ember.Tensor) else TF).pad(x, *args, **kwargs)


@pytest.mark.parametrize("shape,pad", [((2, 3), (1, 2)), ((2, 3, 4), (0, 1, 2, 0)), ((2, 3, 4), (1, 1, 1, 1, 1, 1)),
                                       ((3, 5), (-1, 2)), ((2, 4, 5), (-2, -1, 1, -1)), ((3,), ()),
                                       ((0, 3), (1, 1)), ((), ()), ((4,), (2, 0))])
@pytest.mark.parametrize("value", [None, 1.5])
def test_constant_pad(shape, pad, value):
    check_op([shape], _pad(pad, value=value))


@pytest.mark.parametrize("dtype", ["float64", "float16", "int64", "bool"])
def test_constant_pad_dtypes(dtype):
    check_op([(2, 3)], _pad((1, 2, 1, 0), value=1), dtype=dtype)


def test_constant_pad_value_cast_to_integer_dtype():
    check_op([(2, 3)], _pad((1, 1), value=2.7), dtype="int64")


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape,pad", [((2, 5), (2, 1)), ((2, 3, 5), (1, 3)), ((2, 4, 5), (1, 2, 3, 1)),
                                       ((1, 3, 4, 5), (2, 1, 1, 2)), ((2, 3, 4, 3), (1, 2, 0, 1, 2, 1)),
                                       ((1, 2, 3, 4, 3), (1, 1, 2, 0, 0, 2)), ((2, 3, 5), (-1, 2)),
                                       ((2, 3, 6), (2, -3)), ((2, 6, 5), (-1, -1, 2, -2)),
                                       ((0, 3, 5), (1, 1))])
def test_non_constant_pad(mode, shape, pad):
    check_op([shape], _pad(pad, mode=mode))


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_gradcheck(mode):
    check_gradcheck([(2, 3, 4)], lambda x: F.pad(x, (2, 1, 1, 2), mode=mode) ** 2)


@pytest.mark.parametrize("shape,pad,mode", [
    ((1, 2, 3), (1,), "constant"), ((1, 2, 3), (1,) * 8, "constant"), ((1, 2, 3), (1, 1), "foo"),
    ((1, 2, 3), (3, 3), "reflect"), ((1, 2, 3), (4, 4), "circular"), ((3,), (1, 1), "reflect"),
    ((1, 2, 3), (1,) * 6, "replicate"), ((2, 0, 3), (1, 1), "replicate"), ((2, 3, 0), (1, 1), "circular"),
    ((1, 2, 3), (1.5, 1), "constant"),
])
def test_pad_errors_match_torch(shape, pad, mode):
    with pytest.raises(Exception) as te:
        TF.pad(torch.zeros(shape), pad, mode=mode)
    with pytest.raises(type(te.value)) as ee:
        F.pad(ember.zeros(shape), pad, mode=mode)
    words = [w for w in str(te.value).split()[:6] if w.isalpha()]
    assert all(w in str(ee.value) for w in words), (str(ee.value), str(te.value))


def test_pad_cropping_below_zero():
    with pytest.raises(RuntimeError):
        TF.pad(torch.zeros(1, 2, 3), (-2, -2))
    with pytest.raises(RuntimeError, match="negative output size.*dimension 2"):
        F.pad(ember.zeros(1, 2, 3), (-2, -2))


def test_pad_value_with_non_constant_mode():
    with pytest.raises(RuntimeError, match="Padding mode \"reflect\" doesn't take in value argument"):
        F.pad(ember.zeros(1, 2, 3), (1, 1), mode="reflect", value=2.0)
    assert F.pad(ember.zeros(1, 2, 3), (1, 1), mode="reflect", value=0).shape == (1, 2, 5)


def test_constant_pad_nd_is_exported():
    assert_close(ember.constant_pad_nd(ember.ones(2, 2), (1, 0), 3.0),
                 torch.constant_pad_nd(torch.ones(2, 2), (1, 0), 3.0))


@pytest.mark.parametrize("values,num_classes", [([0, 2, 1], -1), ([[0, 2], [1, 1]], 4), ([], 3), (3, 5)])
def test_one_hot(values, num_classes):
    e = F.one_hot(ember.tensor(values, dtype=ember.int64), num_classes)
    t = TF.one_hot(torch.tensor(values, dtype=torch.int64), num_classes)
    assert_close(e, t)


@pytest.mark.parametrize("values,num_classes,dtype", [([1.0], -1, "float32"), ([-1], -1, "int64"),
                                                      ([3], 2, "int64"), ([], -1, "int64"), ([1, 2], 0, "int64"),
                                                      ([1], -1, "int32")])
def test_one_hot_errors_match_torch(values, num_classes, dtype):
    with pytest.raises(RuntimeError) as te:
        TF.one_hot(torch.tensor(values, dtype=getattr(torch, dtype)), num_classes)
    with pytest.raises(RuntimeError) as ee:
        F.one_hot(ember.tensor(values, dtype=getattr(ember, dtype)), num_classes)
    assert str(ee.value) == str(te.value)


def _normalize(**kwargs):
    return lambda x: (F if isinstance(x, ember.Tensor) else TF).normalize(x, **kwargs)


@pytest.mark.parametrize("shape,kwargs", [((4, 3), {}), ((2, 3, 4), {"dim": -1}), ((5, 3), {"p": 1.0, "dim": 0}),
                                          ((3, 4), {"p": 3.0}), ((2, 3, 2), {"dim": 1, "eps": 0.5}), ((0, 3), {})])
def test_normalize(shape, kwargs):
    check_op([shape], _normalize(**kwargs))


def test_normalize_zero_rows_stay_finite():
    values = [np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 2.0]])]
    check_op([(2, 3)], _normalize(), values=values, dtype="float64")
    check_gradcheck([(3, 4)], lambda x: F.normalize(x, dim=1))


def test_normalize_out():
    out = ember.empty(2, 3)
    res = F.normalize(ember.ones(2, 3), out=out)
    assert res is out
    assert_close(out, TF.normalize(torch.ones(2, 3)))


def test_linear_functional():
    check_op([(5, 3), (4, 3), (4,)], lambda x, w, b: (F if isinstance(x, ember.Tensor) else TF).linear(x, w, b))
    check_op([(2, 5, 3), (4, 3)], lambda x, w: (F if isinstance(x, ember.Tensor) else TF).linear(x, w))


def test_reexported_names():
    for name in ("relu", "gelu", "softmax", "log_softmax", "silu", "prelu", "glu", "dropout", "pad", "one_hot",
                 "normalize", "bilinear", "linear", "alpha_dropout", "dropout2d", "rrelu", "hardtanh"):
        assert callable(getattr(F, name)), name
