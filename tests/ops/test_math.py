import math

import numpy as np
import pytest

import ember
from helpers import check_gradcheck, check_op, make_inputs, torch


def lib(x):
    """The library a tensor belongs to, so one lambda runs on ember and on torch."""
    return ember if isinstance(x, ember.Tensor) else torch


def fn_of(name):
    return lambda *xs, **kw: getattr(lib(xs[0]), name)(*xs, **kw)


# name -> input range where the function is smooth (away from kinks and domain edges)
UNARY = {
    "exp": (-2, 2), "exp2": (-2, 2), "expm1": (-2, 2), "log": (0.1, 3), "log2": (0.1, 3),
    "log10": (0.1, 3), "log1p": (-0.5, 2), "sqrt": (0.1, 3), "rsqrt": (0.1, 3), "square": (-2, 2),
    "reciprocal": (0.5, 2), "sin": (-3, 3), "cos": (-3, 3), "tan": (-1.2, 1.2), "asin": (-0.9, 0.9),
    "arcsin": (-0.9, 0.9), "acos": (-0.9, 0.9), "arccos": (-0.9, 0.9), "atan": (-3, 3),
    "arctan": (-3, 3), "sinh": (-2, 2), "cosh": (-2, 2), "tanh": (-2, 2), "asinh": (-2, 2),
    "arcsinh": (-2, 2), "acosh": (1.2, 3), "arccosh": (1.2, 3), "atanh": (-0.9, 0.9),
    "arctanh": (-0.9, 0.9), "sigmoid": (-4, 4), "relu": (-2, 2), "erf": (-2, 2), "erfc": (-2, 2),
    "erfinv": (-0.9, 0.9), "abs": (-2, 2), "absolute": (-2, 2), "frac": (-3, 3),
    "deg2rad": (-200, 200), "rad2deg": (-3, 3), "logit": (0.1, 0.9),
}
# piecewise constant: gradient 0, as in PyTorch
STEPS = ["sign", "sgn", "floor", "ceil", "round", "trunc", "fix"]
SHAPES = [[(3, 4)], [()], [(0, 3)], [(2, 1, 3)]]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shapes", SHAPES)
@pytest.mark.parametrize("name", list(UNARY) + STEPS)
def test_unary_function_and_method(name, shapes, dtype):
    low, high = UNARY.get(name, (-3, 3))
    # torch's sgn gives a ZeroTensor gradient that cannot be read; for real numbers it is sign
    oracle = "sign" if name == "sgn" else name
    check_op(shapes, fn_of(oracle), fn_of(name), dtype=dtype, low=low, high=high)
    check_op(shapes, lambda x: getattr(x, oracle)(), lambda x: getattr(x, name)(), dtype=dtype,
             low=low, high=high)


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_gradcheck(name):
    low, high = UNARY[name]
    check_gradcheck([(2, 3)], fn_of(name), low=low, high=high)


@pytest.mark.parametrize("name", list(UNARY) + STEPS)
@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool"])
def test_unary_integer_and_bool_inputs(name, dtype):
    """Float functions of integers compute in the default float dtype; others keep the dtype."""
    ins_e, ins_t = make_inputs([(2, 5)], dtype, low=0, high=4)
    try:
        expected = fn_of(name)(*ins_t)
    except (RuntimeError, NotImplementedError) as err:
        with pytest.raises(type(err)):
            fn_of(name)(*ins_e)
        return
    check_op([(2, 5)], fn_of(name), dtype=dtype, low=0, high=4, atol=1e-6, rtol=1e-6)
    assert fn_of(name)(*ins_e).dtype.name == str(expected.dtype).replace("torch.", "")


def test_integer_inputs_use_the_default_float_dtype():
    ember.set_default_dtype(ember.float64)
    assert ember.exp(ember.tensor([1, 2])).dtype is ember.float64
    assert ember.atan2(ember.tensor([1]), ember.tensor([2])).dtype is ember.float64


def test_float16():
    for name in ["exp", "log", "sqrt", "sin", "tanh", "sigmoid", "erf", "erfinv", "floor"]:
        low, high = UNARY.get(name, (-2, 2))
        check_op([(3, 4)], fn_of(name), dtype="float16", low=low, high=high)


def test_non_finite_values_match_torch():
    vals = [np.array([0.0, -1.0, 1e30, -np.inf, np.inf, np.nan], np.float32)]
    for name in ["exp", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "reciprocal", "tan",
                 "asin", "acosh", "atanh", "erfinv", "logit", "sigmoid", "relu", "sign", "floor", "frac"]:
        check_op([(6,)], fn_of(name), values=vals, grad=False)


def test_sigmoid_is_stable():
    vals = [np.array([-1000.0, -100.0, 0.0, 100.0, 1000.0])]
    out_e, _ = check_op([(5,)], fn_of("sigmoid"), values=vals, dtype="float64")
    assert np.all(np.isfinite(out_e.detach().cpu().numpy()))


def test_erfc_keeps_precision_in_the_tail():
    check_op([(3,)], fn_of("erfc"), values=[np.array([4.0, 6.0, 9.0])], dtype="float64", atol=0)


def test_round_decimals_and_halves():
    vals = [np.array([0.5, 1.5, 2.5, -0.5, -2.5, 0.125, 1234.5678])]
    check_op([(7,)], fn_of("round"), values=vals)
    for d in (1, 2, 3, -1, -2):
        check_op([(7,)], lambda x: lib(x).round(x, decimals=d), values=vals)
        check_op([(7,)], lambda x: x.round(decimals=d), values=vals)
    with pytest.raises(NotImplementedError, match="round"):
        ember.round(ember.tensor([1, 2]), decimals=1)


def test_frac_rejects_integers():
    with pytest.raises(NotImplementedError, match="frac"):
        ember.frac(ember.tensor([1, 2]))


def test_abs_and_relu_reject_bool():
    with pytest.raises(NotImplementedError, match="Bool"):
        ember.abs(ember.tensor([True]))
    with pytest.raises(RuntimeError, match="Boolean inputs not supported for relu"):
        ember.relu(ember.tensor([True]))


def test_functions_need_a_tensor():
    with pytest.raises(TypeError, match=r"exp\(\): argument 'input' \(position 1\) must be Tensor, not fl"):
        ember.exp(2.0)
    with pytest.raises(TypeError, match="other"):
        ember.maximum(ember.tensor([1.0]), 2)


# ---- nan_to_num, logit ---------------------------------------------------------------
def test_nan_to_num():
    vals = [np.array([1.0, np.nan, np.inf, -np.inf, -2.0], np.float32)]
    check_op([(5,)], fn_of("nan_to_num"), values=vals)
    check_op([(5,)], lambda x: lib(x).nan_to_num(x, nan=1.5, posinf=9.0, neginf=-9.0), values=vals)
    check_op([(5,)], lambda x: x.nan_to_num(posinf=3.0), values=vals, dtype="float64")
    check_op([(4,)], fn_of("nan_to_num"), dtype="int64")
    check_gradcheck([(2, 3)], lambda x: x.nan_to_num())


@pytest.mark.parametrize("eps", [None, 0.2, 1e-6])
def test_logit_eps(eps):
    check_op([(3, 4)], lambda x: lib(x).logit(x, eps), low=0.0, high=1.0)
    check_op([(3, 4)], lambda x: x.logit(eps), low=0.0, high=1.0, dtype="float64")
    if eps is not None:
        # elements clamped to eps get gradient 0; a tiny eps keeps the rest smooth
        vals = [np.array([0.0, 0.3, 0.7, 1.0])]
        check_op([(4,)], lambda x: lib(x).logit(x, eps), values=vals, dtype="float64")


# ---- clamp ---------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("bounds", [(-0.5, 0.5), (None, 0.3), (-0.3, None), (0.5, -0.5), (0, 1)])
def test_clamp_numbers(bounds, dtype):
    lo, hi = bounds
    check_op([(4, 5)], lambda x: lib(x).clamp(x, lo, hi), dtype=dtype)
    check_op([(4, 5)], lambda x: x.clamp(min=lo, max=hi), dtype=dtype)
    check_op([(4, 5)], lambda x: lib(x).clip(x, lo, hi), dtype=dtype)
    check_op([()], lambda x: x.clip(lo, hi), dtype=dtype)
    check_op([(0, 2)], lambda x: x.clamp(lo, hi), dtype=dtype)


def test_clamp_boundary_gradient_is_one():
    # PyTorch passes the gradient where min <= x <= max, both ends included
    vals = [np.array([-1.0, -0.5, 0.0, 0.5, 1.0])]
    check_op([(5,)], lambda x: x.clamp(-0.5, 0.5), values=vals)


# x has the broadcast shape: torch's own backward fails when the bounds broadcast x
@pytest.mark.parametrize("shapes", [[(3, 4), (3, 4), (3, 4)], [(3, 4), (4,), (3, 1)], [(3,), (), ()],
                                    [(), (), ()], [(2, 3, 4), (3, 1), (4,)], [(0, 2), (2,), ()]])
def test_clamp_tensors(shapes):
    check_op(shapes, lambda x, lo, hi: lib(x).clamp(x, lo, hi))
    check_op(shapes, lambda x, lo, hi: x.clamp(min=lo, max=hi), dtype="float64")
    # bounds that cross (min > max) somewhere: the result is max there
    check_op(shapes, lambda x, lo, hi: lib(x).clamp(x, lo * 0.5 + 0.2, hi * 0.5 - 0.2))
    check_op(shapes[:2], lambda x, lo: lib(x).clamp(x, min=lo))
    check_op(shapes[:2], lambda x, hi: lib(x).clamp(x, max=hi))
    check_op(shapes[:2], lambda x, lo: lib(x).clamp_min(x, lo))
    check_op(shapes[:2], lambda x, hi: x.clamp_max(hi))


def test_clamp_gradcheck():
    check_gradcheck([(3, 4)], lambda x: x.clamp(-0.7, 0.9))
    check_gradcheck([(3, 4), (4,), (3, 1)], lambda x, lo, hi: x.clamp(lo - 0.5, hi + 0.5))


def test_clamp_dtypes_and_errors():
    check_op([(5,)], lambda x: x.clamp(0.5), dtype="int64", low=-3, high=3)
    check_op([(5,)], lambda x: x.clamp(0, 1), dtype="int64", low=-3, high=3)
    check_op([(5,)], lambda x: lib(x).clamp_min(x, 0.5), dtype="int32", low=-3, high=3)
    e = ember.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="At least one of 'min' or 'max'"):
        ember.clamp(e)
    with pytest.raises(RuntimeError, match="can't be cast"):
        ember.tensor([1, 2]).clamp_(0.5)


@pytest.mark.parametrize("bounds", [("tensor", 1.0), (0.0, "tensor")])
def test_clamp_refuses_a_tensor_with_a_number_as_pytorch_does(bounds):
    """PyTorch's clamp has a numbers overload and a tensors overload: a tensor bound with a
    number bound matches neither (a TypeError), while a 0-d tensor passes as a number."""
    for xp in (ember, torch):
        x = xp.ones(3)
        args = [xp.zeros(3) if b == "tensor" else b for b in bounds]
        with pytest.raises(TypeError):
            xp.clamp(x, *args)
        with pytest.raises(TypeError):
            x.clamp_(*args)
        zero_dim = [xp.tensor(0.5) if b == "tensor" else b for b in bounds]
        expected = [0.5] * 3 if bounds[0] == 0.0 else [1.0] * 3  # max 0.5, or min 0.5 below x = 1
        assert xp.clamp(x, *zero_dim).tolist() == expected


def test_clamp_nan():
    vals = [np.array([np.nan, 0.2, 3.0])]
    check_op([(3,)], lambda x: x.clamp(0.0, 1.0), values=vals)


# ---- binary functions ----------------------------------------------------------------
BINARY_SHAPES = [[(3, 4), (3, 4)], [(3, 4), (4,)], [(2, 1, 4), (3, 1)], [(), (3,)], [(0, 3), (3,)], [(), ()]]
BINARY = {"atan2": (-2, 2), "arctan2": (-2, 2), "hypot": (-2, 2), "maximum": (-2, 2),
          "minimum": (-2, 2), "fmax": (-2, 2), "fmin": (-2, 2), "logaddexp": (-3, 3),
          "logaddexp2": (-3, 3), "xlogy": (0.1, 2)}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shapes", BINARY_SHAPES)
@pytest.mark.parametrize("name", list(BINARY))
def test_binary(name, shapes, dtype):
    low, high = BINARY[name]
    check_op(shapes, fn_of(name), dtype=dtype, low=low, high=high)
    check_op(shapes, lambda a, b: getattr(a, name)(b), dtype=dtype, low=low, high=high)


@pytest.mark.parametrize("name", list(BINARY))
def test_binary_gradcheck(name):
    low, high = BINARY[name]
    check_gradcheck([(2, 3), (3,)], fn_of(name), low=low, high=high)


@pytest.mark.parametrize("name", list(BINARY))
def test_binary_mixed_dtypes(name):
    ins_e, ins_t = make_inputs([(3,)], "float32", low=0.5, high=2)
    ints_e, ints_t = make_inputs([(3,)], "int64", low=1, high=3)
    out_t = fn_of(name)(ins_t[0], ints_t[0])
    out_e = fn_of(name)(ins_e[0], ints_e[0])
    assert out_e.dtype.name == str(out_t.dtype).replace("torch.", "")
    np.testing.assert_allclose(out_e.detach().cpu().numpy(), out_t.detach().cpu().numpy(), rtol=1e-5)


@pytest.mark.parametrize("name", ["maximum", "minimum", "fmax", "fmin"])
def test_extrema_ties_and_nan(name):
    a = np.array([1.0, 2.0, np.nan, 3.0, np.nan, -1.0])
    b = np.array([1.0, 3.0, 1.0, np.nan, np.nan, -1.0])
    check_op([(6,), (6,)], fn_of(name), values=[a, b], dtype="float64")
    check_op([(5,), (5,)], fn_of(name), dtype="int64")


def test_xlogy_zeros_and_numbers():
    x = np.array([0.0, 0.0, 0.0, 1.0, 2.0, 0.0])
    y = np.array([0.0, -1.0, 2.0, 0.0, 3.0, np.nan])
    check_op([(6,), (6,)], fn_of("xlogy"), values=[x, y], dtype="float64")
    check_op([(3,)], lambda y: lib(y).xlogy(2.0, y), low=0.5, high=2)
    check_op([(3,)], lambda x: lib(x).xlogy(x, 3), low=-2, high=2)
    check_op([(4,), (4,)], fn_of("xlogy"), dtype="int64", low=0, high=3)


def test_heaviside():
    vals = [np.array([-1.0, 0.0, 2.0, 0.0]), np.array([0.5, 0.25, 9.0, 1.0])]
    check_op([(4,), (4,)], fn_of("heaviside"), values=vals, grad=False)
    check_op([(3, 4), (4,)], fn_of("heaviside"), dtype="int64", low=-1, high=1)
    x = ember.tensor([1.0, 0.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="heaviside"):
        x.heaviside(ember.tensor([0.5, 0.5])).sum().backward()
    with pytest.raises(RuntimeError, match="different dtypes"):
        ember.heaviside(x, ember.tensor([0.5], dtype=ember.float64))


# ---- three-tensor functions ----------------------------------------------------------
@pytest.mark.parametrize("shapes", [[(3, 4), (3, 4), (3, 4)], [(3, 4), (4,), (3, 1)], [(), (3,), ()],
                                    [(0, 2), (2,), (2,)]])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_lerp(shapes, dtype):
    check_op(shapes, fn_of("lerp"), dtype=dtype, low=-1.5, high=1.5)
    check_op(shapes[:2], lambda a, b: a.lerp(b, 0.3), dtype=dtype)
    check_op(shapes[:2], lambda a, b: lib(a).lerp(a, b, 0.8), dtype=dtype)


def test_lerp_ends_are_exact_and_gradcheck():
    vals = [np.array([0.1, 1e8, -3.0]), np.array([0.7, 1.0, 5.0])]
    for w in (0.0, 1.0):
        out_e, out_t = check_op([(3,), (3,)], lambda a, b: a.lerp(b, w), values=vals, dtype="float64")
        assert np.array_equal(out_e.detach().cpu().numpy(), out_t.detach().cpu().numpy())
    check_gradcheck([(2, 3), (3,), (2, 1)], lambda a, b, w: a.lerp(b, w))


def test_lerp_errors():
    a = ember.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="expected dtype float32 for `end`"):
        ember.lerp(a, a.double(), 0.5)
    with pytest.raises(NotImplementedError, match="lerp"):
        ember.lerp(ember.tensor([1]), ember.tensor([2]), 1)


@pytest.mark.parametrize("name", ["addcmul", "addcdiv"])
@pytest.mark.parametrize("shapes", [[(3, 4), (3, 4), (3, 4)], [(3, 4), (4,), (3, 1)], [(), (2,), ()],
                                    [(0, 2), (2,), (2,)]])
def test_addcmul_addcdiv(name, shapes):
    check_op(shapes, fn_of(name), low=0.5, high=2)
    check_op(shapes, lambda a, b, c: getattr(a, name)(b, c, value=-0.5), low=0.5, high=2, dtype="float64")
    check_gradcheck([(2, 3), (3,), (2, 1)], lambda a, b, c: getattr(a, name)(b, c, value=2), low=0.5, high=2)


def test_addcmul_addcdiv_dtypes():
    check_op([(3,), (3,), (3,)], lambda a, b, c: a.addcmul(b, c, value=2), dtype="int64")
    i = ember.tensor([1, 2])
    with pytest.raises(RuntimeError, match="Integer division with addcdiv"):
        ember.addcdiv(i, i, i)
    with pytest.raises(RuntimeError, match="value must not be a floating point"):
        ember.addcmul(i, i, i, value=0.5)


# ---- in-place forms ------------------------------------------------------------------
INPLACE_ARGS = {
    "clamp": (-0.5, 0.5), "clip": (-0.5, 0.5), "clamp_min": (0.1,), "clamp_max": (0.1,),
    "round": (), "logit": (0.05,), "nan_to_num": (0.0,),
}
TENSOR_ARG = ["atan2", "arctan2", "hypot", "xlogy"]


def _inplace_cases(graph=False):
    names = [n for n in ember.ops.math.INPLACE if n not in ("lerp", "addcmul", "addcdiv", "heaviside")]
    if graph:  # torch has no gradient for these in place (ember has); sgn's is a ZeroTensor
        names = [n for n in names if n not in ("asinh", "arcsinh", "acosh", "arccosh", "atanh",
                                               "arctanh", "sgn")]
    return names


@pytest.mark.parametrize("name", _inplace_cases())
def test_inplace_matches_out_of_place(name):
    low, high = UNARY.get(name, BINARY.get(name, (0.2, 0.8)))
    ins_e, ins_t = make_inputs([(3, 4), (3, 4)], "float64", low=low, high=high, requires_grad=False)
    args_e = (ins_e[1],) if name in TENSOR_ARG else INPLACE_ARGS.get(name, ())
    args_t = (ins_t[1],) if name in TENSOR_ARG else INPLACE_ARGS.get(name, ())
    x_e, x_t = ins_e[0].clone(), ins_t[0].clone()
    r_e = getattr(x_e, name + "_")(*args_e)
    getattr(x_t, name + "_")(*args_t)
    assert r_e is x_e and x_e._version == 1
    np.testing.assert_allclose(x_e.cpu().numpy(), x_t.cpu().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", _inplace_cases(graph=True))
def test_inplace_on_graph_tensors(name):
    """x.op_() inside a graph: gradients as PyTorch's, also for ops that save their input."""
    low, high = UNARY.get(name, BINARY.get(name, (0.2, 0.8)))

    def fn(a, b):
        x = a * 1
        extra = (b,) if name in TENSOR_ARG else INPLACE_ARGS.get(name, ())
        getattr(x, name + "_")(*extra)
        return x * b

    check_op([(3, 4), (3, 4)], fn, low=low, high=high, dtype="float64")


def test_inplace_three_tensor_forms():
    def fn(a, b, c):
        x, y, z = a * 1, a * 2, a * 3
        x.lerp_(b, c)
        y.addcmul_(b, c, value=0.5)
        z.addcdiv_(b, c)
        return x + y * z

    check_op([(3, 4), (3, 4), (4,)], fn, low=0.5, high=2, dtype="float64")


def test_inplace_errors():
    leaf = ember.tensor([0.5, 1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        leaf.exp_()
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        leaf.clamp_(0, 1)
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
        ember.tensor([1, 2]).sqrt_()
    with ember.no_grad():
        leaf.sin_()
    np.testing.assert_allclose(leaf.detach().cpu().numpy(), np.sin([0.5, 1.0]), rtol=1e-6)
    with pytest.raises(RuntimeError, match="broadcast shape"):
        ember.zeros(3).atan2_(ember.zeros(2, 3))


def test_inplace_output_saved_after_later_write():
    """exp saves its output; changing the tensor again afterwards must be detected."""
    a = ember.tensor([0.5, 1.0], requires_grad=True)
    x = a * 1
    y = x.exp_()
    z = y * 1
    y.mul_(2)
    z.sum().backward()
    np.testing.assert_allclose(a.grad.cpu().numpy(), np.exp([0.5, 1.0]), rtol=1e-6)


def test_grad_fn_names():
    x = ember.tensor([0.5], requires_grad=True)
    assert ember.exp(x).grad_fn.name() == "ExpBackward0"
    assert ember.maximum(x, x).grad_fn.name() == "MaximumBackward0"
    assert x.clamp(0, 1).grad_fn.name() == "ClampBackward1"  # PyTorch: the scalar-bounds overload


def test_double_backward_through_gradients():
    """create_graph=True: a gradient penalty through several of these functions."""
    def fn(x):
        y = x.sin() * x.exp() + x.sigmoid() * x.atan() + lib(x).hypot(x, x + 1) + x.clamp(-0.5, 0.5) ** 3
        (g,) = lib(x).autograd.grad(y.sum(), x, create_graph=True)
        return (g * g).sum()

    check_op([(5,)], fn, dtype="float64")


def test_deg2rad_constants():
    check_op([(4,)], fn_of("deg2rad"), values=[np.array([0.0, 90.0, 180.0, -360.0])], dtype="float64",
             atol=0, rtol=1e-15)
    assert math.isclose(ember.rad2deg(ember.tensor(math.pi, dtype=ember.float64)).item(), 180.0)
