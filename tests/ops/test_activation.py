import warnings

import numpy as np
import pytest

import ember
import ember.ops.activation as A
from helpers import check_gradcheck, check_op, make_inputs, torch

F = torch.nn.functional


def lib(x):
    """torch.nn.functional for torch tensors, ember's activations for ember tensors."""
    return A if isinstance(x, ember.Tensor) else F


# name -> (positional args, keyword args); inputs are drawn away from the kinks
ACTIVATIONS = {
    "relu": ((), {}), "relu6": ((), {}), "leaky_relu": ((0.2,), {}), "elu": ((), {"alpha": 0.7}),
    "selu": ((), {}), "celu": ((), {"alpha": 1.3}), "gelu": ((), {}),
    "gelu_tanh": ((), {"approximate": "tanh"}), "silu": ((), {}), "mish": ((), {}),
    "hardtanh": ((-0.8, 1.1), {}), "hardsigmoid": ((), {}), "hardswish": ((), {}),
    "softplus": ((), {"beta": 2.0, "threshold": 3.0}), "softsign": ((), {}),
    "threshold": ((0.3, -2.0), {}), "tanhshrink": ((), {}), "softshrink": ((0.4,), {}),
    "hardshrink": ((0.4,), {}), "logsigmoid": ((), {}), "sigmoid": ((), {}), "tanh": ((), {}),
    "rrelu": ((), {}), "glu": ((), {"dim": 0}),
    "softmax": ((), {"dim": -1}), "log_softmax": ((), {"dim": 0}), "softmin": ((), {"dim": -1}),
}
# kinks (non-differentiable points) each function has; gradcheck inputs keep away from them
KINKS = {"relu": [0], "relu6": [0, 6], "leaky_relu": [0], "elu": [0], "selu": [0], "celu": [0],
         "hardtanh": [-0.8, 1.1], "hardsigmoid": [-3, 3], "hardswish": [-3, 3],
         "softplus": [1.5], "threshold": [0.3], "softshrink": [-0.4, 0.4], "hardshrink": [-0.4, 0.4],
         "rrelu": [0]}


def call(name, x):
    args, kwargs = ACTIVATIONS[name]
    fn = getattr(lib(x), name.replace("_tanh", ""))
    return fn(x, *args, **kwargs)


def away_from_kinks(name, shape, seed=0, scale=4.0):
    """Values in [-scale, scale] at least 0.05 from every kink of ``name``."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-scale, scale, size=shape)
    for k in KINKS.get(name, []):
        near = np.abs(x - k) < 0.05
        x[near] = k + 0.1
    return x


SHAPES = [(4, 6), (2, 4, 3), (), (0, 4)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, shape", [(n, s) for n in ACTIVATIONS for s in SHAPES
                                         if n != "glu" or s])  # glu of 0-d: test_glu_errors
def test_against_torch(name, shape, dtype):
    shape = (4,) + shape[1:] if name == "glu" else shape  # glu halves dim 0
    check_op([shape], lambda x: call(name, x), dtype=dtype, values=[away_from_kinks(name, shape)])


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_gradcheck(name):
    vals = [away_from_kinks(name, (4, 3), seed=1, scale=3.5)]
    check_gradcheck([(4, 3)], lambda x: call(name, x), values=vals)


@pytest.mark.parametrize("name", ["relu", "relu6", "hardtanh", "threshold", "leaky_relu", "elu", "selu",
                                  "celu", "hardshrink", "softshrink", "hardsigmoid", "hardswish", "rrelu"])
def test_gradient_at_kinks_matches_torch(name):
    kinks = KINKS.get(name, []) + [0.0]
    vals = [np.array(kinks + [k + 1e-3 for k in kinks] + [k - 1e-3 for k in kinks], dtype=np.float64)]
    if name == "hardswish":  # torch's gradient at exactly +-3 is a one-sided choice
        vals = [vals[0][np.abs(np.abs(vals[0]) - 3) > 1e-9]]
    check_op([vals[0].shape], lambda x: call(name, x), values=vals, dtype="float64")


@pytest.mark.parametrize("name", ["relu", "relu6", "hardtanh", "threshold", "hardshrink", "softsign",
                                  "tanhshrink", "softmax"])
@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8"])
def test_integer_inputs(name, dtype):
    ins_e, ins_t = make_inputs([(3, 4)], dtype, low=0, high=5)
    try:
        expected = call(name, ins_t[0])
    except (RuntimeError, NotImplementedError) as err:
        with pytest.raises(type(err)):
            call(name, ins_e[0])
        return
    check_op([(3, 4)], lambda x: call(name, x), dtype=dtype, low=0, high=5, atol=1e-6, rtol=1e-6)
    assert call(name, ins_e[0]).dtype.name == str(expected.dtype).replace("torch.", "")


@pytest.mark.parametrize("name", ["leaky_relu", "elu", "selu", "celu", "gelu", "silu", "mish", "softplus",
                                  "logsigmoid", "hardsigmoid", "hardswish", "softshrink", "glu", "rrelu",
                                  "log_softmax", "softmin"])
def test_integer_inputs_rejected(name):
    with pytest.raises(NotImplementedError, match="not implemented for 'int64'"):
        call(name, ember.tensor([[1, 2], [3, 4]]))


def test_float16():
    for name in ["relu", "gelu", "silu", "elu", "softplus", "softmax", "log_softmax", "hardswish"]:
        check_op([(3, 4)], lambda x: call(name, x), dtype="float16", values=[away_from_kinks(name, (3, 4))])


# ---- numerical stability -------------------------------------------------------------
BIG = np.array([[-1000.0, 0.0, 1000.0], [1000.0, 1000.0, -1000.0], [-1000.0, -1000.0, -1000.0]])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin", "sigmoid", "softplus", "logsigmoid",
                                  "silu", "gelu", "elu", "selu", "celu", "mish", "tanh", "softsign"])
def test_large_inputs_are_finite(name, dtype):
    out_e, _ = check_op([(3, 3)], lambda x: call(name, x), values=[BIG], dtype=dtype)
    assert np.all(np.isfinite(out_e.detach().cpu().numpy()))
    check_op([(3, 3)], lambda x: call(name, x), values=[BIG * 0.05], dtype=dtype)


def test_softplus_threshold_and_beta():
    for beta, thr in [(1.0, 20.0), (0.5, 2.0), (3.0, 1.0), (-1.0, 20.0)]:
        vals = [away_from_kinks("", (3, 5)) * 5]
        check_op([(3, 5)], lambda x: lib(x).softplus(x, beta, thr), values=vals, dtype="float64")
        check_op([(3, 5)], lambda x: lib(x).softplus(x, beta=beta, threshold=thr), values=vals)


# ---- softmax family ------------------------------------------------------------------
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
@pytest.mark.parametrize("shape, dim", [((3, 4), 0), ((3, 4), 1), ((3, 4), -1), ((2, 3, 4), -2),
                                        ((), 0), ((), -1), ((0, 3), 1), ((3, 0), 1), ((5,), 0)])
def test_softmax_dims(name, shape, dim):
    check_op([shape], lambda x: getattr(lib(x), name)(x, dim), dtype="float64")
    check_op([shape], lambda x: getattr(lib(x), name)(x, dim=dim))


def f64(x):
    return ember.float64 if isinstance(x, ember.Tensor) else torch.float64


def f32(x):
    return ember.float32 if isinstance(x, ember.Tensor) else torch.float32


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_top_level_and_methods(name):
    check_op([(3, 4)], lambda x: getattr(x, name)(1))
    check_op([(3, 4)], lambda x: getattr(x, name)(0, f64(x)))
    check_op([(3, 4)], lambda x: getattr(x, name)(-1, dtype=f64(x)))
    check_op([(3, 4)], lambda x: getattr(ember if isinstance(x, ember.Tensor) else torch, name)(x, -1))


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
def test_softmax_dtype_argument(name):
    check_op([(3, 4)], lambda x: getattr(lib(x), name)(x, 1, dtype=f64(x)))
    check_op([(3, 4)], lambda x: getattr(lib(x), name)(x, 1, dtype=f32(x)), dtype="int64", low=-3, high=3,
             atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("ndim, implicit", [(0, 0), (1, 0), (2, 1), (3, 0), (4, 1)])
def test_softmax_implicit_dim_warns(ndim, implicit):
    shape = (2, 3, 2, 2)[:ndim]
    ins_e, ins_t = make_inputs([shape], "float64")
    for name in ["softmax", "log_softmax", "softmin"]:
        with pytest.warns(UserWarning, match=f"Implicit dimension choice for {name} has been deprecated"):
            out = getattr(A, name)(ins_e[0])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = getattr(F, name)(ins_t[0])
        np.testing.assert_allclose(out.detach().cpu().numpy(), expected.detach().cpu().numpy(), rtol=1e-12)
        np.testing.assert_allclose(out.detach().cpu().numpy(),
                                   getattr(A, name)(ins_e[0], implicit if ndim else 0).detach().cpu().numpy())


def test_softmax_rows_with_infinities():
    vals = [np.array([[-np.inf, 0.0, 1.0], [-np.inf, -np.inf, -np.inf], [np.inf, 0.0, 1.0]])]
    for name in ["softmax", "log_softmax"]:
        check_op([(3, 3)], lambda x: getattr(lib(x), name)(x, 1), values=vals, dtype="float64", grad=False)


def test_softmax_errors():
    x = ember.ones(2, 3)
    with pytest.raises(IndexError, match="Dimension out of range"):
        A.softmax(x, 2)
    with pytest.raises(IndexError, match="Dimension out of range"):
        A.log_softmax(ember.tensor(1.0), 1)
    with pytest.raises(NotImplementedError, match="softmax"):
        A.softmax(ember.tensor([1, 2]), 0)


def test_softmax_double_backward():
    def fn(x, w):
        y = lib(x).log_softmax(x * w, 1) + lib(x).softmax(x, 0) * w
        (g,) = (torch if lib(x) is F else ember).autograd.grad((y * y).sum(), x, create_graph=True)
        return (g * w).sum()

    check_op([(3, 4), (4,)], fn, dtype="float64")


# ---- prelu, glu ----------------------------------------------------------------------
@pytest.mark.parametrize("shapes", [[(2, 3, 4), (3,)], [(2, 3, 4), (1,)], [(2, 3), (3,)], [(5,), (1,)],
                                    [(), (1,)], [(2, 3, 2, 2), (3,)], [(0, 3), (3,)], [(2, 3, 4), ()]])
def test_prelu(shapes):
    check_op(shapes, lambda x, w: lib(x).prelu(x, w))
    check_op(shapes, lambda x, w: x.prelu(w), dtype="float64")
    check_gradcheck(shapes, lambda x, w: A.prelu(x, w))


def test_prelu_errors():
    with pytest.raises(RuntimeError, match="Found parameter numbers = 2 and channel size = 3"):
        A.prelu(ember.ones(2, 3, 4), ember.ones(2))
    with pytest.raises(RuntimeError, match="channel size = 1"):
        A.prelu(ember.ones(3), ember.ones(3))


@pytest.mark.parametrize("shape, dim", [((4, 3), 0), ((3, 4), -1), ((2, 6, 2), 1), ((0, 2), 1)])
def test_glu(shape, dim):
    check_op([shape], lambda x: lib(x).glu(x, dim))
    check_gradcheck([shape], lambda x: A.glu(x, dim))


def test_glu_errors():
    with pytest.raises(RuntimeError, match="Halving dimension must be even, but dimension 1 is size 3"):
        A.glu(ember.ones(2, 3, 4), 1)
    with pytest.raises(RuntimeError, match="glu does not support scalars"):
        A.glu(ember.tensor(1.0))


# ---- arguments and errors ------------------------------------------------------------
def test_argument_errors():
    x = ember.ones(3)
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        A.hardtanh(x, 1.0, 0.0)
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh"):
        A.gelu(x, approximate="fast")
    with pytest.raises(RuntimeError, match="alpha cannot be 0 for CELU"):
        A.celu(x, 0.0)
    with pytest.raises(RuntimeError, match="lambda must be in range"):
        A.softshrink(x, -1.0)
    with pytest.raises(TypeError, match=r"relu\(\): argument 'input' \(position 1\) must be Tensor"):
        A.relu([1.0, 2.0])


def test_defaults_match_torch():
    import inspect
    checked = 0
    for name in ACTIVATIONS:
        name = name.replace("_tanh", "")
        ours = inspect.signature(getattr(A, name)).parameters
        try:
            theirs = inspect.signature(getattr(F, name)).parameters
        except ValueError:  # a C builtin without a Python signature (gelu, hardshrink, ...)
            continue
        checked += 1
        for p, spec in theirs.items():
            if p.startswith("_"):
                continue
            assert p in ours, f"{name}: missing argument {p}"
            if spec.default is not inspect.Parameter.empty:
                assert ours[p].default == spec.default, f"{name}({p}=...) default differs"
    assert checked >= 20


def test_exported_names():
    assert ember.softmax is A.softmax and ember.log_softmax is A.log_softmax
    assert ember.sigmoid is A.sigmoid and ember.tanh is A.tanh
    assert ember.ones(2).relu().tolist() == [1.0, 1.0]
    check_op([(3, 4)], lambda x: x.hardshrink(0.3))


def test_rrelu_training():
    ember.manual_seed(0)
    x = ember.tensor(np.linspace(-3, 3, 2000), requires_grad=True)
    y = A.rrelu(x, 0.1, 0.3, training=True)
    neg = x.detach().cpu().numpy() < 0
    slope = y.detach().cpu().numpy()[neg] / x.detach().cpu().numpy()[neg]
    assert slope.min() >= 0.1 and slope.max() <= 0.3 and slope.std() > 0.03
    np.testing.assert_array_equal(y.detach().cpu().numpy()[~neg], x.detach().cpu().numpy()[~neg])
    y.backward(ember.ones_like(y))
    np.testing.assert_allclose(x.grad.cpu().numpy()[neg], slope, rtol=1e-12)
    np.testing.assert_array_equal(x.grad.cpu().numpy()[~neg], 1.0)
    # eval mode: the mean slope, as torch
    check_op([(3, 4)], lambda t: lib(t).rrelu(t, 0.1, 0.3, training=False))


# ---- inplace -------------------------------------------------------------------------
INPLACE = {"relu": ((), {}), "relu6": ((), {}), "leaky_relu": ((0.2,), {}), "elu": ((0.7,), {}),
           "selu": ((), {}), "celu": ((1.3,), {}), "silu": ((), {}), "mish": ((), {}),
           "hardtanh": ((-0.8, 1.1), {}), "hardsigmoid": ((), {}), "hardswish": ((), {}),
           "threshold": ((0.3, -2.0), {}), "rrelu": ((), {})}


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_argument(name):
    args, kwargs = INPLACE[name]

    def fn(a, b):
        x = a * b  # a graph tensor: inplace is legal and differentiable
        out = getattr(lib(a), name)(x, *args, inplace=True, **kwargs)
        assert out is x
        return x * b

    vals = [away_from_kinks(name, (3, 4)), np.full((4,), 1.0)]
    check_op([(3, 4), (4,)], fn, values=vals, dtype="float64")
    e = ember.tensor(vals[0])
    version = e._version
    assert getattr(A, name)(e, *args, inplace=True, **kwargs) is e and e._version == version + 1


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "elu", "selu", "celu", "hardtanh", "threshold",
                                  "rrelu"])
def test_underscore_functions(name):
    args, kwargs = INPLACE[name]
    ins_e, ins_t = make_inputs([(3, 4)], "float64", requires_grad=False)
    out_e = getattr(A, name + "_")(ins_e[0], *args, **kwargs)
    getattr(F, name + "_")(ins_t[0], *args, **kwargs)
    assert out_e is ins_e[0]
    np.testing.assert_allclose(ins_e[0].cpu().numpy(), ins_t[0].cpu().numpy(), rtol=1e-12)
    if hasattr(torch, name + "_"):
        assert getattr(ember, name + "_") is getattr(A, name + "_")


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_on_leaf_requiring_grad_raises(name):
    args, kwargs = INPLACE[name]
    x = ember.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        getattr(A, name)(x, *args, inplace=True, **kwargs)


def test_inplace_then_modified_again_is_detected():
    x = ember.ones(3, requires_grad=True)
    y = A.silu(x * 2, inplace=True)
    z = y * y
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()
