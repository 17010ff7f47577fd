"""Activation modules against their PyTorch twins: values, gradients, options, repr."""
import numpy as np
import pytest

import ember
import ember.nn as nn
from helpers import assert_close, check_module, make_inputs

torch = pytest.importorskip("torch")
tnn = torch.nn

# (class name, constructor args); each is built in ember and in PyTorch with the same args.
CASES = [
    ("ReLU", ()), ("ReLU6", ()), ("LeakyReLU", ()), ("LeakyReLU", (0.2,)), ("ELU", ()), ("ELU", (0.5,)),
    ("SELU", ()), ("CELU", (1.5,)), ("GELU", ()), ("GELU", ("tanh",)), ("SiLU", ()), ("Mish", ()),
    ("Sigmoid", ()), ("Tanh", ()), ("Hardtanh", ()), ("Hardtanh", (-0.5, 2.0)), ("Hardsigmoid", ()),
    ("Hardswish", ()), ("Softplus", ()), ("Softplus", (2.0, 1.0)), ("Softsign", ()), ("Softmax", (1,)),
    ("Softmax", (-1,)), ("LogSoftmax", (0,)), ("Softmin", (1,)), ("Threshold", (0.1, 20.0)), ("GLU", ()),
    ("GLU", (0,)), ("LogSigmoid", ()), ("Tanhshrink", ()), ("Softshrink", ()), ("Softshrink", (1.0,)),
    ("Hardshrink", ()), ("Hardshrink", (1.0,)), ("PReLU", ()), ("PReLU", (3, 0.1)), ("Softmax2d", ()),
]


def _pair(name, args):
    return getattr(nn, name)(*args), getattr(tnn, name)(*args)


@pytest.mark.parametrize("name,args", CASES)
def test_activation_parity_and_repr(name, args):
    e, t = _pair(name, args)
    assert repr(e) == repr(t)
    shape = (2, 3, 4, 4) if name == "Softmax2d" else (4, 3, 2)
    check_module(e, t, [shape], low=-3, high=3)


@pytest.mark.parametrize("name,args", [("ReLU", ()), ("GELU", ()), ("Softmax", (-1,)), ("PReLU", ()),
                                       ("Hardswish", ()), ("ELU", ())])
@pytest.mark.parametrize("shape", [(), (0, 3), (5,)])
def test_activation_edge_shapes(name, args, shape):
    e, t = _pair(name, args)
    check_module(e, t, [shape])


@pytest.mark.parametrize("name,args", [("ReLU", ()), ("Tanh", ()), ("LogSoftmax", (1,)), ("PReLU", (3,))])
def test_activation_float64(name, args):
    e, t = _pair(name, args)
    check_module(e, t, [(2, 3, 4)], dtype="float64")


@pytest.mark.parametrize("name,args", [
    ("ReLU", (True,)), ("ReLU6", (True,)), ("LeakyReLU", (0.1, True)), ("ELU", (1.0, True)), ("SELU", (True,)),
    ("CELU", (1.0, True)), ("SiLU", (True,)), ("Mish", (True,)), ("Hardtanh", (-1.0, 1.0, True)),
    ("Hardsigmoid", (True,)), ("Hardswish", (True,)), ("Threshold", (0.5, -1.0, True)),
])
def test_inplace_modules(name, args):
    e, t = _pair(name, args)
    assert repr(e) == repr(t)
    (xe,), (xt,) = make_inputs([(3, 4)], requires_grad=False)
    out_e, out_t = e(xe), t(xt)
    assert out_e is xe and out_t is xt  # the input itself was overwritten
    assert_close(xe, xt)
    # In place inside a graph: the gradient still matches.
    (xe,), (xt,) = make_inputs([(3, 4)])
    ye, yt = xe * 1, xt * 1
    e(ye).sum().backward()
    t(yt).sum().backward()
    assert_close(xe.grad, xt.grad)


def test_prelu_parameter_and_init():
    p = nn.PReLU(4, init=0.3, dtype=ember.float64)
    assert p.weight.shape == (4,) and p.weight.dtype == ember.float64 and isinstance(p.weight, nn.Parameter)
    assert np.all(p.weight.detach().cpu().numpy() == 0.3)
    assert list(p.state_dict()) == list(tnn.PReLU(4).state_dict()) == ["weight"]
    check_module(nn.PReLU(3), tnn.PReLU(3), [(2, 3)])


def test_rrelu_train_and_eval():
    e, t = nn.RReLU(0.1, 0.3), tnn.RReLU(0.1, 0.3)
    assert repr(e) == repr(t)
    e.eval(), t.eval()
    check_module(e, t, [(4, 5)])
    e.train()
    x = ember.tensor(-np.ones((200, 50), np.float32), requires_grad=True)
    y = e(x)
    slopes = -y.detach().cpu().numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and abs(slopes.mean() - 0.2) < 0.01
    y.sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), slopes, rtol=1e-6)
    assert np.array_equal(e(ember.ones(3)).cpu().numpy(), np.ones(3, np.float32))


def test_hardtanh_options():
    with pytest.raises(ValueError, match="max_val"):
        nn.Hardtanh(1.0, 0.0)
    with pytest.warns(FutureWarning, match="min_value"):
        m = nn.Hardtanh(min_value=-2.0, max_value=3.0)
    assert (m.min_val, m.max_val) == (-2.0, 3.0)


def test_softmax_without_dim_warns_like_torch():
    e, t = nn.Softmax(), tnn.Softmax()
    assert repr(e) == repr(t) == "Softmax(dim=None)"
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        out = e(ember.ones(2, 3))
    assert_close(out, torch.full((2, 3), 1 / 3))


def test_softmax2d_rejects_other_ranks():
    with pytest.raises(ValueError, match="expected input to be 3D or 4D, got 2D"):
        tnn.Softmax2d()(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="expected input to be 3D or 4D, got 2D"):
        nn.Softmax2d()(ember.zeros(2, 3))
