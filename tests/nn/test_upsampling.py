"""Upsample, PixelShuffle, ChannelShuffle and the padding layers against their PyTorch twins."""
import numpy as np
import pytest

import ember
import ember.nn as nn
from helpers import check_gradcheck, check_module

torch = pytest.importorskip("torch")
tnn = torch.nn


def pair(name, *args, **kwargs):
    return getattr(nn, name)(*args, **kwargs), getattr(tnn, name)(*args, **kwargs)


@pytest.mark.parametrize("kwargs,shape", [
    ({"scale_factor": 2}, (2, 3, 4, 5)), ({"size": 7}, (1, 2, 5)), ({"size": (3, 6), "mode": "bilinear"}, (2, 2, 4, 4)),
    ({"scale_factor": (1.5, 0.5), "mode": "bicubic", "align_corners": True}, (1, 2, 5, 6)),
    ({"scale_factor": 2, "mode": "trilinear"}, (1, 1, 2, 3, 2)), ({"size": (2, 3), "mode": "area"}, (2, 1, 5, 7)),
    ({"scale_factor": 1.7, "mode": "nearest-exact"}, (1, 2, 3, 4)),
    ({"scale_factor": 2.5, "mode": "linear", "recompute_scale_factor": True}, (2, 2, 5)),
])
def test_upsample_parity_and_repr(kwargs, shape):
    e, t = pair("Upsample", **kwargs)
    check_module(e, t, [shape])
    assert repr(e) == repr(t)
    assert e.scale_factor == t.scale_factor


@pytest.mark.parametrize("name", ["UpsamplingNearest2d", "UpsamplingBilinear2d"])
@pytest.mark.parametrize("kwargs", [{"scale_factor": 2}, {"size": (5, 3)}])
def test_fixed_mode_upsampling(name, kwargs):
    e, t = pair(name, **kwargs)
    check_module(e, t, [(2, 3, 4, 4)])
    assert repr(e) == repr(t)


def test_upsample_inside_a_network():
    """Upsample between layers: gradients reach the layer before it and match torch."""
    nets = [lib.nn.Sequential(lib.nn.Linear(3, 3), lib.nn.Unflatten(1, (1, 3)), lib.nn.Upsample(scale_factor=2,
                                                                                            mode="linear"))
            for lib in (ember, torch)]
    check_module(nets[0], nets[1], [(4, 3)])


@pytest.mark.parametrize("name,arg,shape", [("PixelShuffle", 2, (2, 8, 3, 2)), ("PixelShuffle", 3, (9, 2, 2)),
                                            ("PixelUnshuffle", 2, (1, 2, 4, 6)), ("ChannelShuffle", 3, (2, 6, 2, 2))])
def test_shuffle_modules(name, arg, shape):
    e, t = pair(name, arg)
    check_module(e, t, [shape])
    assert repr(e) == repr(t)


PADS = [("ZeroPad1d", (1,), (2, 3, 4)), ("ZeroPad1d", ((2, 0),), (3, 4)), ("ZeroPad2d", (1,), (2, 3, 4, 5)),
        ("ZeroPad2d", ((1, 0, 2, 3),), (3, 4, 2)), ("ZeroPad3d", (1,), (1, 2, 2, 3, 2)),
        ("ConstantPad1d", (2, 3.5), (2, 3, 4)), ("ConstantPad2d", ((1, 2, 0, 1), -1.0), (1, 2, 3, 3)),
        ("ConstantPad3d", ((1, 0, 0, 1, 1, 0), 2.0), (2, 2, 2, 2)),
        ("ReflectionPad1d", (2,), (2, 3, 4)), ("ReflectionPad1d", ((1, 3),), (3, 5)),
        ("ReflectionPad2d", (1,), (2, 3, 4, 5)), ("ReflectionPad2d", ((1, 0, 2, 1),), (3, 4, 3)),
        ("ReflectionPad3d", (1,), (1, 2, 2, 3, 3)),
        ("ReplicationPad1d", (2,), (2, 3, 4)), ("ReplicationPad2d", ((2, 1, 0, 3),), (2, 3, 4, 5)),
        ("ReplicationPad3d", ((1, 0, 2, 0, 0, 1),), (1, 2, 2, 3, 3)),
        ("CircularPad1d", (2,), (2, 3, 4)), ("CircularPad2d", ((1, 2, 2, 0),), (2, 3, 4, 5)),
        ("CircularPad3d", (1,), (1, 2, 2, 3, 3)), ("ZeroPad2d", ((-1, 1, 0, -2),), (1, 2, 4, 5))]


@pytest.mark.parametrize("name,args,shape", PADS)
def test_padding_modules(name, args, shape):
    e, t = pair(name, *args)
    check_module(e, t, [shape])
    assert repr(e) == repr(t)
    assert e.padding == t.padding


def test_padding_gradcheck():
    check_gradcheck([(1, 2, 3, 3)], nn.ReflectionPad2d((1, 2, 0, 1)))
    check_gradcheck([(2, 3, 2)], nn.CircularPad1d(1))


@pytest.mark.parametrize("name,arg,shape,error,match", [
    ("ReflectionPad1d", 1, (1, 2, 3, 4), NotImplementedError, "Padding size 2 is not supported for 4D input tensor"),
    ("ReplicationPad2d", 1, (3, 4), NotImplementedError, "Padding size 4 is not supported for 2D input tensor"),
    ("CircularPad1d", 1, (1, 2, 3, 4), ValueError, "expected 2D or 3D input \\(got 4D input\\)"),
    ("CircularPad2d", 1, (3, 4), ValueError, "expected 3D or 4D input \\(got 2D input\\)"),
    ("ReflectionPad1d", 3, (1, 2, 3), RuntimeError, "Padding size should be less than the corresponding input"),
])
def test_padding_errors_match_torch(name, arg, shape, error, match):
    e, t = pair(name, arg)
    with pytest.raises(error, match=match):
        e(ember.zeros(shape))
    with pytest.raises(error, match=match):
        t(torch.zeros(shape))


def test_zero_pad_on_other_ranks():
    for shape in [(3, 4), (1, 1, 1, 3, 4)]:
        e, t = pair("ZeroPad2d", 1)
        out = e(ember.ones(shape))
        assert out.shape == tuple(t(torch.ones(shape)).shape)
        assert float(out.sum()) == np.prod(shape)
