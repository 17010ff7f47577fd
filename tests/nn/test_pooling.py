"""Pooling layers against their PyTorch twins: outputs, gradients, repr, return_indices."""
import numpy as np
import pytest

import ember
import ember.nn as nn
from helpers import assert_close, check_module, make_inputs, torch

tnn = torch.nn

# (class name, constructor args, constructor kwargs, input shape)
LAYERS = [
    ("MaxPool1d", (3,), {"stride": 2, "padding": 1, "dilation": 2, "ceil_mode": True}, (2, 3, 11)),
    ("MaxPool1d", (2,), {}, (3, 8)),
    ("MaxPool2d", (2,), {}, (2, 3, 8, 8)),
    ("MaxPool2d", (3, 2, 1), {}, (1, 1, 9, 7)),
    ("MaxPool2d", ((3, 2),), {"stride": (2, 1), "dilation": (1, 2), "ceil_mode": True}, (3, 9, 8)),
    ("MaxPool3d", (2,), {"padding": 1}, (1, 2, 4, 5, 3)),
    ("AvgPool1d", (3, 2, 1), {"ceil_mode": True, "count_include_pad": False}, (2, 3, 10)),
    ("AvgPool2d", (2,), {}, (2, 3, 8, 8)),
    ("AvgPool2d", (3, 2, 1), {"count_include_pad": False, "ceil_mode": True}, (1, 2, 8, 9)),
    ("AvgPool2d", ((2, 3),), {"divisor_override": 5}, (3, 6, 7)),
    ("AvgPool3d", (2,), {"stride": 1, "padding": 1}, (1, 2, 3, 4, 3)),
    ("AdaptiveMaxPool1d", (3,), {}, (2, 3, 8)),
    ("AdaptiveMaxPool2d", ((3, None),), {}, (2, 3, 7, 9)),
    ("AdaptiveMaxPool2d", (1,), {}, (2, 3, 5, 5)),
    ("AdaptiveMaxPool3d", ((2, 3, 1),), {}, (1, 2, 4, 5, 3)),
    ("AdaptiveAvgPool1d", (5,), {}, (2, 3, 8)),
    ("AdaptiveAvgPool2d", (1,), {}, (2, 3, 5, 5)),
    ("AdaptiveAvgPool2d", ((3, 4),), {}, (3, 7, 9)),
    ("AdaptiveAvgPool3d", ((2, None, 1),), {}, (1, 2, 4, 5, 3)),
    ("LPPool1d", (2, 3), {"stride": 2}, (2, 3, 9)),
    ("LPPool2d", (3, 2), {"ceil_mode": True}, (2, 3, 7, 7)),
    ("LPPool3d", (2, 2), {}, (1, 2, 4, 4, 4)),
]


@pytest.mark.parametrize("name,args,kwargs,shape", LAYERS)
def test_layer_matches_pytorch(name, args, kwargs, shape):
    low = 0.1 if name.startswith("LP") else -2.0  # powers of positive inputs stay real
    e_mod, t_mod = getattr(nn, name)(*args, **kwargs), getattr(tnn, name)(*args, **kwargs)
    check_module(e_mod, t_mod, [shape], low=low)
    assert repr(e_mod) == repr(t_mod)
    assert e_mod.state_dict() == {}


@pytest.mark.parametrize("name,shape", [("MaxPool1d", (2, 3, 9)), ("MaxPool2d", (2, 3, 7, 6)),
                                        ("MaxPool3d", (1, 2, 4, 5, 4)), ("AdaptiveMaxPool1d", (2, 3, 9)),
                                        ("AdaptiveMaxPool2d", (2, 3, 7, 6)),
                                        ("AdaptiveMaxPool3d", (1, 2, 4, 5, 4))])
def test_return_indices_layers(name, shape):
    arg = 3 if name.startswith("Adaptive") else 2
    check_module(getattr(nn, name)(arg, return_indices=True), getattr(tnn, name)(arg, return_indices=True),
                 [shape])


@pytest.mark.parametrize("n,shape,output_size", [(1, (2, 3, 9), None), (2, (2, 3, 9, 7), (9, 7)),
                                                 (2, (3, 7, 7), None), (3, (1, 2, 5, 4, 6), (1, 2, 5, 4, 6))])
def test_max_unpool_layers_invert_max_pool(n, shape, output_size):
    pools = [getattr(lib.nn, f"MaxPool{n}d")(3, 2, 1, return_indices=True) for lib in (ember, torch)]
    unpools = [getattr(lib.nn, f"MaxUnpool{n}d")(3, 2, 1) for lib in (ember, torch)]
    assert repr(unpools[0]) == repr(unpools[1])
    ins_e, ins_t = make_inputs([shape])
    out_e = unpools[0](*pools[0](ins_e[0]), output_size=output_size)
    out_t = unpools[1](*pools[1](ins_t[0]), output_size=output_size)
    assert_close(out_e, out_t)
    cot = np.random.default_rng(1).standard_normal(tuple(out_t.shape)).astype(np.float32)
    out_e.backward(ember.tensor(cot))
    out_t.backward(torch.tensor(cot))
    assert_close(ins_e[0].grad, ins_t[0].grad)


def test_default_stride_and_reprs():
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    assert repr(nn.AvgPool1d(2)) == "AvgPool1d(kernel_size=(2,), stride=(2,), padding=(0,))"
    assert repr(nn.MaxUnpool2d(2)) == "MaxUnpool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))"
    assert repr(nn.LPPool2d(2, 3)) == "LPPool2d(norm_type=2, kernel_size=3, stride=None, ceil_mode=False)"
    assert repr(nn.AdaptiveAvgPool2d((None, 7))) == "AdaptiveAvgPool2d(output_size=(None, 7))"
    for e_mod, t_mod in ((nn.MaxPool1d(3, 2, 1, 2, True, True), tnn.MaxPool1d(3, 2, 1, 2, True, True)),
                         (nn.AvgPool2d(3, divisor_override=2), tnn.AvgPool2d(3, divisor_override=2)),
                         (nn.AvgPool3d((1, 2, 2)), tnn.AvgPool3d((1, 2, 2))),
                         (nn.AdaptiveMaxPool2d(3, True), tnn.AdaptiveMaxPool2d(3, True))):
        assert repr(e_mod) == repr(t_mod)
        assert {k: v for k, v in vars(e_mod).items() if not k.startswith("_") and k != "training"} == \
            {k: v for k, v in vars(t_mod).items() if not k.startswith("_") and k != "training"}


def test_small_cnn_head_trains_like_pytorch():
    """Pooling between linear layers in a model: output and every parameter's gradient match."""
    def model(lib):
        return lib.nn.Sequential(lib.nn.MaxPool2d(2), lib.nn.AvgPool2d(3, 1, 1, count_include_pad=False),
                                 lib.nn.AdaptiveAvgPool2d((2, 2)), lib.nn.Flatten(), lib.nn.Linear(12, 4))
    check_module(model(ember), model(torch), [(4, 3, 10, 10)])


def test_errors_name_the_layer_and_shapes():
    with pytest.raises(RuntimeError, match=r"max_pool2d: Expected 3D or 4D \(batch mode\) tensor .* got: \[8, 8\]"):
        nn.MaxPool2d(2)(ember.randn(8, 8))
    with pytest.raises(RuntimeError, match=r"avg_pool2d: Given input size: \(3x2x2\)\. Calculated output size: "
                                           r"\(3x0x0\)\. Output size is too small \(input shape \[1, 3, 2, 2\]"):
        nn.AvgPool2d(3)(ember.randn(1, 3, 2, 2))
    with pytest.raises(RuntimeError, match=r"pad should be at most half of effective kernel size"):
        nn.MaxPool1d(2, padding=2)(ember.randn(1, 3, 8))
