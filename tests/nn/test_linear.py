"""Identity, Linear, Bilinear, Flatten, Unflatten against their PyTorch twins."""
import copy
import math
import pickle

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from helpers import check_gradcheck, check_module, check_op

torch = pytest.importorskip("torch")
tnn = torch.nn


@pytest.mark.parametrize("shape", [(5, 4), (4,), (2, 3, 4), (0, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_parity(shape, bias):
    check_module(nn.Linear(4, 3, bias=bias), tnn.Linear(4, 3, bias=bias), [shape])


def test_linear_float64():
    check_module(nn.Linear(3, 2), tnn.Linear(3, 2), [(4, 3)], dtype="float64")


def test_linear_constructor_options_and_repr():
    lin = nn.Linear(3, 2, bias=False, dtype=ember.float64, device="cpu")
    assert lin.weight.dtype == ember.float64 and lin.bias is None
    assert [n for n, _ in lin.named_parameters()] == ["weight"]
    assert repr(lin) == repr(tnn.Linear(3, 2, bias=False)) == "Linear(in_features=3, out_features=2, bias=False)"


def test_linear_teaching_error():
    lin = nn.Linear(784, 128)
    with pytest.raises(RuntimeError) as e:
        lin(ember.zeros(64, 1, 28, 28))
    assert str(e.value) == ("Linear(in_features=784, out_features=128, bias=True): expected input with last "
                            "dimension 784, got shape (64, 1, 28, 28). Did you mean to flatten it first "
                            "(nn.Flatten())?")
    with pytest.raises(RuntimeError, match=r"Linear\(in_features=784.*got shape \(64, 100\)"):
        lin(ember.zeros(64, 100))
    with pytest.raises(RuntimeError, match="got shape \\(\\)"):
        lin(ember.tensor(1.0))
    with pytest.raises(RuntimeError, match="expected input of dtype ember.float32.*got ember.float64"):
        lin(ember.zeros(2, 784, dtype=ember.float64))
    with pytest.raises(TypeError, match="expected a Tensor input, got ndarray"):
        lin(np.zeros((2, 784)))


def test_linear_default_init_distribution():
    ember.manual_seed(0)
    lin = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)  # kaiming_uniform_(a=sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    w, b = lin.weight.detach().cpu().numpy(), lin.bias.detach().cpu().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.mean()) < 0.02 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound
    assert np.abs(b).max() <= bound and b.std() > 0.4 * bound
    t = tnn.Linear(400, 300)  # the same law in PyTorch: compare the spread
    assert abs(w.std() - t.weight.detach().std().item()) < 0.01 * bound
    ember.manual_seed(0)
    again = nn.Linear(400, 300)
    assert np.array_equal(again.weight.detach().cpu().numpy(), w)


def test_linear_reset_parameters_empty_fan_in():
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        lin = nn.Linear(0, 3)
    assert np.all(lin.bias.detach().cpu().numpy() == 0)


def test_linear_trains():
    ember.manual_seed(0)
    lin = nn.Linear(2, 1)
    x = ember.randn(64, 2)
    y = x @ ember.tensor([[2.0], [-3.0]]) + 0.5
    for _ in range(200):
        loss = ((lin(x) - y) ** 2).mean()
        lin.zero_grad()
        loss.backward()
        with ember.no_grad():
            for p in lin.parameters():
                p -= 0.1 * p.grad
    np.testing.assert_allclose(lin.weight.detach().cpu().numpy(), [[2.0, -3.0]], atol=1e-3)
    np.testing.assert_allclose(lin.bias.detach().cpu().numpy(), [0.5], atol=1e-3)


@pytest.mark.parametrize("shapes", [[(5, 3), (5, 4)], [(2, 3, 3), (2, 3, 4)], [(3,), (4,)], [(0, 3), (0, 4)]])
@pytest.mark.parametrize("bias", [True, False])
def test_bilinear_parity(shapes, bias):
    check_module(nn.Bilinear(3, 4, 2, bias=bias), tnn.Bilinear(3, 4, 2, bias=bias), shapes)


def test_bilinear_functional_gradcheck_and_repr():
    check_gradcheck([(3, 2), (3, 4), (5, 2, 4), (5,)], F.bilinear)
    check_op([(3, 2), (3, 4), (5, 2, 4)], lambda a, b, w: (F if isinstance(a, ember.Tensor) else
                                                          torch.nn.functional).bilinear(a, b, w))
    assert repr(nn.Bilinear(2, 3, 4)) == repr(tnn.Bilinear(2, 3, 4))
    ember.manual_seed(0)
    w = nn.Bilinear(100, 5, 50).weight.detach().cpu().numpy()
    assert np.abs(w).max() <= 0.1 and np.abs(w).max() > 0.099


@pytest.mark.parametrize("shapes,bias_shape,match", [
    ([(2, 3), (2, 1, 4)], None, "input dimensions do not match: got 2 and 3"),
    ([(2, 3), (3, 4)], None, "batch dimensions do not match at dim 0: got 2 and 3"),
    ([(2, 2), (2, 4)], None, "input1 size does not match weight size: got 2 but expected 3"),
    ([(2, 3), (2, 5)], None, "input2 size does not match weight size: got 5 but expected 4"),
    ([(2, 3), (2, 4)], (4,), "bias size does not match weight size: got 4 but expected 5"),
])
def test_bilinear_errors_match_torch(shapes, bias_shape, match):
    w_e, w_t = ember.zeros(5, 3, 4), torch.zeros(5, 3, 4)
    b_e = ember.zeros(bias_shape) if bias_shape else None
    b_t = torch.zeros(bias_shape) if bias_shape else None
    with pytest.raises(RuntimeError, match=match):
        torch.nn.functional.bilinear(torch.zeros(shapes[0]), torch.zeros(shapes[1]), w_t, b_t)
    with pytest.raises(RuntimeError, match=match):
        F.bilinear(ember.zeros(shapes[0]), ember.zeros(shapes[1]), w_e, b_e)


def test_identity():
    x = ember.randn(2, 3)
    m = nn.Identity(54, unused="x")
    assert m(x) is x and repr(m) == repr(tnn.Identity(54)) == "Identity()"


@pytest.mark.parametrize("args,shape", [((), (2, 3, 4, 5)), ((0, -1), (2, 3, 4)), ((2, 3), (2, 3, 4, 5)),
                                        ((-3, -2), (2, 3, 4)), ((), (0, 3, 2))])
def test_flatten(args, shape):
    check_module(nn.Flatten(*args), tnn.Flatten(*args), [shape])
    assert repr(nn.Flatten(*args)) == repr(tnn.Flatten(*args))


@pytest.mark.parametrize("dim,sizes,shape", [(1, (2, 3), (4, 6)), (-1, [2, -1], (3, 4)), (0, (1, 2, 2), (4,)),
                                             (1, ember.Size([3, 2]), (2, 6, 1))])
def test_unflatten(dim, sizes, shape):
    t_sizes = torch.Size(list(sizes)) if isinstance(sizes, ember.Size) else sizes
    check_module(nn.Unflatten(dim, sizes), tnn.Unflatten(dim, t_sizes), [shape])
    if not isinstance(sizes, ember.Size):
        assert repr(nn.Unflatten(dim, sizes)) == repr(tnn.Unflatten(dim, sizes))


def test_unflatten_errors():
    with pytest.raises(RuntimeError, match="don't multiply up to the size of dim 1"):
        nn.Unflatten(1, (4, 2))(ember.zeros(2, 6))
    with pytest.raises(TypeError, match="unflattened_size must be tuple of ints, but found element of type float"):
        nn.Unflatten(1, (2, 3.0))
    with pytest.raises(TypeError, match="unflattened_size must be tuple of ints, but found type int"):
        nn.Unflatten(1, 6)


def test_lazy_linear_infers_in_features():
    m = nn.LazyLinear(3)
    assert repr(m) == repr(tnn.LazyLinear(3)) == "LazyLinear(in_features=0, out_features=3, bias=True)"
    assert isinstance(m.weight, nn.UninitializedParameter) and repr(m.weight) == "<UninitializedParameter>"
    params = list(m.parameters())
    with pytest.raises(RuntimeError, match="Can't access the shape of an uninitialized parameter"):
        m.weight.shape
    m.double()
    ember.manual_seed(0)
    y = m(ember.randn(4, 5, dtype=ember.float64))
    assert type(m) is nn.Linear and repr(m) == "Linear(in_features=5, out_features=3, bias=True)"
    assert y.shape == (4, 3) and m.weight.dtype == ember.float64 and m.weight.shape == (3, 5)
    assert list(m.parameters()) == params and all(type(p) is nn.Parameter for p in params)
    assert not m._forward_pre_hooks
    bound = 1 / math.sqrt(5)
    assert np.abs(m.weight.detach().cpu().numpy()).max() <= bound
    check_module(m, tnn.Linear(5, 3), [(2, 5)], dtype="float64")


def test_lazy_linear_loads_a_checkpoint_before_its_first_call():
    t = tnn.Linear(4, 2, bias=False)
    m = nn.LazyLinear(2, bias=False)
    assert list(m.state_dict()) == ["weight"]
    m.load_state_dict(t.state_dict())
    assert type(m.weight) is nn.Parameter and m.weight.shape == (2, 4)
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_allclose(m(ember.tensor(x)).detach().cpu().numpy(), t(torch.tensor(x)).detach().cpu().numpy(),
                               rtol=1e-5)
    assert type(m) is nn.Linear and m.in_features == 4


def test_lazy_linear_state_dict_into_initialized_model_fails():
    with pytest.raises(RuntimeError, match="uninitialized parameter"):
        nn.Linear(4, 3).load_state_dict(nn.LazyLinear(3).state_dict())
    lazy = nn.LazyLinear(3)
    assert lazy.load_state_dict(nn.LazyLinear(3).state_dict()).missing_keys == []
    assert isinstance(lazy.weight, nn.UninitializedParameter)


def test_lazy_linear_copies():
    m = nn.LazyLinear(2)
    for c in (copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
        assert isinstance(c.weight, nn.UninitializedParameter) and c.weight is not m.weight
        assert c(ember.ones(1, 3)).shape == (1, 2) and type(c) is nn.Linear
    assert isinstance(m.weight, nn.UninitializedParameter)
