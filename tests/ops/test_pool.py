"""Pooling functionals (ember.nn.functional.*pool*) against PyTorch: values, indices, gradients
with random cotangents, double backward, finite differences, ties, NaN, dtypes and errors."""
import math

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from helpers import check_case, check_gradcheck, check_op, torch

TF = torch.nn.functional


def both(name, *args, **kwargs):
    """One case for check_op: ``name`` from torch's or ember's functional module."""
    def run(x):
        fn = getattr(TF if isinstance(x, torch.Tensor) else F, name)
        return fn(x, *args, **kwargs)
    return run


# (input shape, kernel_size, stride, padding, dilation, ceil_mode)
MAX2D = [
    ((2, 3, 8, 8), 2, None, 0, 1, False),        # the common non-overlapping case
    ((2, 3, 9, 7), 2, 2, 0, 1, False),           # odd sizes: the last row/column is dropped
    ((2, 3, 9, 7), 2, 2, 0, 1, True),            # ... or kept as a partial window
    ((2, 2, 8, 8), 3, 2, 1, 1, False),           # ResNet's stem pool: overlapping, padded
    ((1, 2, 7, 9), 3, 2, 1, 1, True),
    ((2, 1, 10, 9), 3, 1, 1, 2, False),          # dilation
    ((1, 1, 11, 10), (3, 2), (2, 1), (1, 0), (2, 1), True),
    ((3, 2, 6, 5), (2, 3), (3, 2), (1, 1), 1, False),
    ((2, 2, 7, 7), 2, 3, 0, 1, True),            # stride > kernel: gaps between windows
    ((2, 2, 5, 5), 1, 2, 0, 1, False),           # kernel 1
    ((2, 2, 4, 4), 4, 1, 0, 1, False),           # one window over the whole plane
    ((3, 6, 5), 3, 2, 1, 1, True),               # unbatched (C, H, W)
    ((0, 2, 4, 4), 2, 2, 0, 1, False),           # empty batch
]


@pytest.mark.parametrize("shape,k,s,p,d,ceil", MAX2D)
@pytest.mark.parametrize("indices", [False, True])
def test_max_pool2d(shape, k, s, p, d, ceil, indices):
    check_op([shape], both("max_pool2d", k, s, p, d, ceil_mode=ceil, return_indices=indices))


@pytest.mark.parametrize("dtype", ["float64", "float16"])
def test_max_pool2d_dtypes(dtype):
    check_op([(2, 3, 7, 7)], both("max_pool2d", 3, 2, 1, return_indices=True), dtype=dtype)


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8"])
def test_max_pool2d_integer_inputs(dtype):
    """Integer tensors pool too (with many ties at this range); padding acts as the lowest int."""
    check_op([(2, 3, 7, 6)], both("max_pool2d", 3, 2, 1, return_indices=True), dtype=dtype, low=0, high=4)
    check_op([(2, 2, 6)], both("max_pool1d", 2, return_indices=True), dtype=dtype, low=0, high=4)


@pytest.mark.parametrize("shape,k,s,p,d,ceil", [
    ((2, 3, 10), 2, None, 0, 1, False), ((2, 3, 11), 3, 2, 1, 1, True), ((1, 1, 9), 3, 1, 1, 3, False),
    ((4, 9), 2, 3, 1, 1, True), ((2, 2, 5), 5, 1, 0, 1, False), ((0, 2, 6), 2, 2, 0, 1, False)])
def test_max_pool1d(shape, k, s, p, d, ceil):
    check_op([shape], both("max_pool1d", k, s, p, d, ceil_mode=ceil, return_indices=True))
    check_op([shape], both("max_pool1d", k, s, p, d, ceil_mode=ceil))


@pytest.mark.parametrize("shape,k,s,p,d,ceil", [
    ((2, 2, 4, 5, 6), 2, None, 0, 1, False), ((1, 2, 5, 6, 5), (3, 2, 3), (2, 1, 2), (1, 0, 1), 1, True),
    ((2, 5, 5, 5), 3, 2, 1, (1, 2, 1), False)])
def test_max_pool3d(shape, k, s, p, d, ceil):
    check_op([shape], both("max_pool3d", k, s, p, d, ceil_mode=ceil, return_indices=True))


def test_max_pool_with_indices():
    check_op([(2, 3, 8)], both("max_pool1d_with_indices", 2))
    check_op([(2, 3, 6, 6)], both("max_pool2d_with_indices", 3, 2, 1))
    check_op([(1, 2, 4, 4, 4)], both("max_pool3d_with_indices", 2))


@pytest.mark.parametrize("name,shape", [("max_pool1d", (2, 3, 6)), ("max_pool2d", (2, 3, 6, 6)),
                                        ("max_pool3d", (1, 2, 4, 4, 4)), ("avg_pool1d", (2, 3, 6)),
                                        ("adaptive_avg_pool1d", (2, 3, 6))])
def test_top_level_functions(name, shape):
    check_case([shape], lambda m, x: getattr(m, name)(x, 2))
    assert name not in ember.Tensor.__dict__  # PyTorch has no such tensor methods


def test_max_pool_ties_follow_pytorch_and_are_deterministic():
    """With ties the first maximum in scan order wins (PyTorch's rule), so gradients route to it;
    repeated calls route the same way."""
    x = np.array([[[[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 0, 0], [2, 2, 0, 0]]]], dtype=np.float32)
    for args in ((2,), (2, 1), (3, 1, 1), (3, 2, 1, 2, True)):
        check_op([x.shape], both("max_pool2d", *args, return_indices=True), values=[x])
    relu_like = np.maximum(np.random.default_rng(0).standard_normal((2, 3, 9, 9)), 0).astype(np.float32)
    check_op([relu_like.shape], both("max_pool2d", 3, 2, 1, return_indices=True), values=[relu_like])
    first = F.max_pool2d(ember.tensor(relu_like), 3, 2, 1, return_indices=True)[1]
    again = F.max_pool2d(ember.tensor(relu_like), 3, 2, 1, return_indices=True)[1]
    assert np.array_equal(first.cpu().numpy(), again.cpu().numpy())


def test_max_pool_nan_and_infinity_match_pytorch():
    """A NaN wins its window (its last NaN is the index); a window of -inf points at its first
    position inside the input, never at the padding."""
    nan, inf = math.nan, math.inf
    x = np.array([[[1, nan, 3, nan, 2, -inf, -inf, -inf, 0]]])
    x2 = np.full((1, 1, 3, 4), -inf)
    x2[0, 0, 2, 3] = nan
    for value, name, args in ((x, "max_pool1d", (4,)), (x, "max_pool1d", (3, 1, 1)),
                              (x, "max_pool1d", (2, 2, 1, 1, True)), (x, "adaptive_max_pool1d", (1,)),
                              (x, "adaptive_max_pool1d", (2,)), (x2, "max_pool2d", (3, 2, 1)),
                              (x2, "adaptive_max_pool2d", ((2, 3),)), (x2, "adaptive_max_pool2d", (1,))):
        e = getattr(F, name)(ember.tensor(value), *args, return_indices=True)
        t = getattr(TF, name)(torch.tensor(value), *args, return_indices=True)
        np.testing.assert_array_equal(e[0].cpu().numpy(), t[0].cpu().numpy())
        np.testing.assert_array_equal(e[1].cpu().numpy(), t[1].cpu().numpy())


# (input shape, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
AVG2D = [
    ((2, 3, 8, 8), 2, None, 0, False, True, None),
    ((2, 3, 9, 7), 3, 2, 1, False, True, None),
    ((2, 3, 9, 7), 3, 2, 1, False, False, None),
    ((1, 2, 9, 8), 3, 2, 1, True, True, None),    # ceil_mode: partial windows at the end
    ((1, 2, 9, 8), 3, 2, 1, True, False, None),
    ((2, 1, 7, 10), (3, 2), (1, 3), (1, 1), True, False, None),
    ((2, 2, 8, 8), 3, 2, 1, False, True, 4),
    ((2, 2, 7, 7), 2, 3, 0, True, True, 3),
    ((2, 2, 4, 4), 4, None, 0, False, True, None),  # one window over the whole plane
    ((3, 5, 6), 2, 1, 1, False, False, None),       # unbatched
    ((0, 2, 4, 4), 2, None, 0, False, True, None),
]


@pytest.mark.parametrize("shape,k,s,p,ceil,cip,div", AVG2D)
def test_avg_pool2d(shape, k, s, p, ceil, cip, div):
    check_op([shape], both("avg_pool2d", k, s, p, ceil, cip, div))


@pytest.mark.parametrize("dtype", ["float64", "float16"])
def test_avg_pool2d_dtypes(dtype):
    check_op([(2, 3, 7, 7)], both("avg_pool2d", 3, 2, 1, count_include_pad=False), dtype=dtype)


def test_avg_pool2d_integer_inputs_truncate():
    """Integer averages truncate toward zero, as PyTorch's do."""
    check_op([(2, 3, 7, 6)], both("avg_pool2d", 2), dtype="int64", low=-9, high=9)
    check_op([(2, 3, 7, 6)], both("avg_pool2d", 3, 2, 1, count_include_pad=False), dtype="int64", low=-9, high=9)
    check_op([(2, 3, 8)], both("avg_pool1d", 3, 2, 1), dtype="int64", low=-9, high=9)


@pytest.mark.parametrize("shape,k,s,p,ceil,cip", [
    ((2, 3, 10), 2, None, 0, False, True), ((2, 3, 11), 3, 2, 1, True, False), ((4, 9), 4, 3, 2, True, True),
    ((1, 1, 7), 7, 1, 0, False, True)])
def test_avg_pool1d(shape, k, s, p, ceil, cip):
    check_op([shape], both("avg_pool1d", k, s, p, ceil, cip))


@pytest.mark.parametrize("shape,k,s,p,ceil,cip,div", [
    ((2, 2, 4, 5, 6), 2, None, 0, False, True, None),
    ((1, 2, 5, 6, 5), (3, 2, 3), (2, 1, 2), 1, True, False, None),
    ((2, 5, 5, 5), 3, 2, 1, False, True, 7)])
def test_avg_pool3d(shape, k, s, p, ceil, cip, div):
    check_op([shape], both("avg_pool3d", k, s, p, ceil, cip, div))


ADAPTIVE2D = [((2, 3, 8, 8), 4), ((2, 3, 8, 8), 1), ((2, 3, 7, 9), (3, 4)), ((2, 3, 7, 9), (None, 4)),
              ((1, 2, 5, 3), (7, 6)), ((3, 5, 6), (2, 3)), ((2, 3, 7, 9), (3, None)), ((0, 2, 5, 5), 2)]


@pytest.mark.parametrize("shape,out", ADAPTIVE2D)
def test_adaptive_pool2d(shape, out):
    check_op([shape], both("adaptive_max_pool2d", out, return_indices=True))
    check_op([shape], both("adaptive_max_pool2d", out))
    check_op([shape], both("adaptive_avg_pool2d", out))


def test_adaptive_pool_to_empty_output():
    """An output size of 0 gives an empty result (PyTorch cannot back-propagate it; ember's
    gradient is zero)."""
    for name in ("adaptive_max_pool2d", "adaptive_avg_pool2d"):
        check_op([(2, 2, 5, 5)], both(name, (0, 2)), grad=False)
        x = ember.randn(2, 2, 5, 5, requires_grad=True)
        getattr(F, name)(x, (0, 2)).sum().backward()
        assert x.grad.shape == x.shape and not x.grad.cpu().numpy().any()


@pytest.mark.parametrize("shape,out", [((2, 3, 8), 4), ((2, 3, 7), 3), ((2, 3, 7), 1), ((3, 4), 9),
                                       ((2, 3, 7), (7,))])
def test_adaptive_pool1d(shape, out):
    check_op([shape], both("adaptive_max_pool1d", out, return_indices=True))
    check_op([shape], both("adaptive_avg_pool1d", out))


@pytest.mark.parametrize("shape,out", [((2, 2, 4, 6, 8), 2), ((1, 2, 5, 7, 6), (2, 3, None)),
                                       ((2, 3, 4, 5), (5, 2, 1))])
def test_adaptive_pool3d(shape, out):
    check_op([shape], both("adaptive_max_pool3d", out, return_indices=True))
    check_op([shape], both("adaptive_avg_pool3d", out))


def test_adaptive_with_indices_and_dtypes():
    check_op([(2, 3, 7, 9)], both("adaptive_max_pool2d_with_indices", (3, 4)))
    check_op([(2, 3, 7)], both("adaptive_max_pool1d_with_indices", 3))
    check_op([(1, 2, 4, 5, 3)], both("adaptive_max_pool3d_with_indices", 2))
    check_op([(2, 3, 7, 9)], both("adaptive_avg_pool2d", (3, 4)), dtype="float64")
    check_op([(2, 3, 7, 9)], both("adaptive_max_pool2d", (3, 4), return_indices=True), dtype="float16")


@pytest.mark.parametrize("p", [1, 2, 3.0, math.inf])
def test_lp_pool(p):
    # p = 1 sums signed values; the others see positive inputs, where the power is smooth
    low = -2.0 if p == 1 else 0.1
    check_op([(2, 3, 9, 8)], both("lp_pool2d", p, 3, 2, True), low=low)
    check_op([(2, 3, 8, 8)], both("lp_pool2d", p, (2, 3)), low=low)
    check_op([(2, 3, 9)], both("lp_pool1d", p, 2, 3, True), low=low)
    check_op([(1, 2, 4, 5, 4)], both("lp_pool3d", p, 2), low=low)


def test_lp_pool_negative_infinity_and_zero_windows():
    check_op([(2, 3, 8, 8)], both("lp_pool2d", -math.inf, 2))
    zeros = np.zeros((1, 2, 4, 4), dtype=np.float32)  # sum of powers 0: the gradient is 0, not NaN
    check_op([zeros.shape], both("lp_pool2d", 2, 2), values=[zeros])


@pytest.mark.parametrize("shape,k,s,p,out", [
    ((2, 3, 8, 8), 2, None, 0, None), ((2, 2, 9, 7), 3, 2, 1, None), ((2, 2, 9, 7), 3, 2, 1, (9, 7)),
    ((1, 1, 5, 5), 2, 2, 0, (1, 1, 5, 5)), ((3, 6, 6), 2, 2, 0, None)])
def test_max_unpool2d_inverts_max_pool2d(shape, k, s, p, out):
    def case(m, x):
        values, indices = m.nn.functional.max_pool2d(x, k, s, p, return_indices=True)
        return m.nn.functional.max_unpool2d(values * 2, indices, k, s, p, out)
    check_case([shape], case)


def test_max_unpool1d_and_3d():
    def case1(m, x):
        return m.nn.functional.max_unpool1d(*m.nn.functional.max_pool1d(x, 3, 2, 1, return_indices=True), 3, 2, 1)

    def case3(m, x):
        return m.nn.functional.max_unpool3d(*m.nn.functional.max_pool3d(x, 2, return_indices=True), 2)
    check_case([(2, 3, 9)], case1)
    check_case([(1, 2, 4, 4, 6)], case3)


# ---- double backward: the gradient's own gradient, against PyTorch -----------------------------
def grad_of(name, *args, **kwargs):
    """x, cotangent -> d(pool(x))/dx applied to the cotangent, with create_graph (so check_op
    differentiates the gradient itself with respect to both)."""
    pool = both(name, *args, **kwargs)

    def run(x, cot):
        lib = torch if isinstance(x, torch.Tensor) else ember
        return lib.autograd.grad(pool(x), x, cot, create_graph=True)[0] * x
    return run


@pytest.mark.parametrize("name,args", [("max_pool2d", (3, 2, 1)), ("max_pool2d", (2,)), ("avg_pool2d", (3, 2, 1)),
                                       ("avg_pool2d", (2, 1, 1, True, False)), ("adaptive_max_pool2d", ((3, 4),)),
                                       ("adaptive_avg_pool2d", ((3, 4),)), ("max_pool1d", (3, 2, 1, 2))])
def test_double_backward_matches_pytorch(name, args):
    x_shape = (2, 2, 7, 9) if name != "max_pool1d" else (2, 2, 9)
    with torch.no_grad():
        out_shape = tuple(getattr(TF, name)(torch.zeros(x_shape), *args).shape)
    check_op([x_shape, out_shape], grad_of(name, *args))


# ---- finite differences (float64, first and second derivatives) -----------------------------
@pytest.mark.parametrize("case", [
    lambda x: F.max_pool2d(x, 3, 2, 1), lambda x: F.max_pool2d(x, 2, 1, 0, 2, True),
    lambda x: F.max_pool1d(x.flatten(2), 3, 2, 1), lambda x: F.max_pool3d(x.unsqueeze(2), (1, 2, 2)),
    lambda x: F.avg_pool2d(x, 3, 2, 1, True, False), lambda x: F.avg_pool2d(x, 2, divisor_override=3),
    lambda x: F.avg_pool1d(x.flatten(2), 3, 2, 1), lambda x: F.avg_pool3d(x.unsqueeze(2), (1, 3, 2), 1, (0, 1, 1)),
    lambda x: F.adaptive_max_pool2d(x, (3, 4)), lambda x: F.adaptive_max_pool2d(x, 1),
    lambda x: F.adaptive_avg_pool2d(x, (3, 4)), lambda x: F.adaptive_avg_pool2d(x, (2, 1)),
    lambda x: F.adaptive_avg_pool1d(x.flatten(2), 4), lambda x: F.lp_pool2d(x, 2, 2),
    lambda x: F.max_unpool2d(*F.max_pool2d(x, 2, return_indices=True), 2)])
def test_gradcheck(case):
    check_gradcheck([(1, 2, 5, 6)], case, low=0.2, high=2.0)


# ---- errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize("call,exc,match", [
    (lambda x: F.max_pool2d(x, 2, padding=2), RuntimeError, r"max_pool2d: pad should be at most half of effective "
                                                            r"kernel size, but got pad=\(2, 2\)"),
    (lambda x: F.max_pool2d(x, 3, padding=2, dilation=2), RuntimeError,
     r"max_pool2d: pad should be smaller than or equal to half of kernel size, but got pad=\(2, 2\) and "
     r"kernel_size=\(3, 3\)"),
    (lambda x: F.max_pool3d(x[:, :1], (2, 3, 1), padding=(1, 1, 0), dilation=2), RuntimeError,
     r"max_pool3d: some windows hold no input element, only padding \(input shape \[2, 1, 5, 5\]"),
    (lambda x: F.max_pool2d(x, 6), RuntimeError, r"max_pool2d: Given input size: \(3x5x5\)\. Calculated output "
                                                 r"size: \(3x0x0\)\. Output size is too small \(input shape "
                                                 r"\[2, 3, 5, 5\]"),
    (lambda x: F.max_pool2d(x, 2, stride=0), RuntimeError, r"stride should be greater than zero"),
    (lambda x: F.max_pool2d(x, 0), RuntimeError, r"kernel_size should be greater than zero"),
    (lambda x: F.max_pool2d(x, 2, dilation=0), RuntimeError, r"dilation should be greater than zero"),
    (lambda x: F.max_pool2d(x, 2, padding=-1), RuntimeError, r"pad must be non-negative"),
    (lambda x: F.max_pool2d(x, (2, 2, 2)), RuntimeError,
     r"max_pool2d: kernel_size must either be a single int, or a tuple of two ints"),
    (lambda x: F.max_pool2d(x[0, 0], 2), RuntimeError, r"max_pool2d: Expected 3D or 4D \(batch mode\) tensor with "
                                                       r"optional 0 dim batch size for input, but got: \[5, 5\]"),
    (lambda x: F.max_pool2d(x[:, :0], 2), RuntimeError, r"but got: \[2, 0, 5, 5\]"),
    (lambda x: F.max_pool1d(x, 2), RuntimeError, r"max_pool1d: Expected 2D or 3D"),
    (lambda x: F.max_pool2d(x > 0, 2), NotImplementedError, r'"max_pool2d" not implemented for ember.bool'),
    (lambda x: F.max_pool2d(x.cpu().numpy(), 2), TypeError, r"argument 'input' must be Tensor, not ndarray"),
    (lambda x: F.avg_pool2d(x, 3, padding=2), RuntimeError, r"avg_pool2d: pad should be at most half"),
    (lambda x: F.avg_pool2d(x, 6), RuntimeError, r"avg_pool2d: .*Output size is too small"),
    (lambda x: F.avg_pool2d(x, 2, divisor_override=0), RuntimeError, r"divisor must be not zero"),
    (lambda x: F.avg_pool1d(x[0, 0], 6), RuntimeError, r"avg_pool1d: .*Output size is too small"),
    (lambda x: F.adaptive_avg_pool2d(x, (3, 2, 2)), RuntimeError, r"adaptive_avg_pool2d: output_size must be 2"),
    (lambda x: F.adaptive_max_pool2d(x, (-1, 2)), RuntimeError, r"must be greater than or equal to 0"),
    (lambda x: F.adaptive_avg_pool2d(x.long(), 2), NotImplementedError, r'"adaptive_avg_pool2d" not implemented'),
    (lambda x: F.adaptive_max_pool2d(x[:, :, :0], 2), RuntimeError, r"adaptive_max_pool2d: Expected 3D or 4D"),
    (lambda x: F.lp_pool2d(x, 2, 6), RuntimeError, r"lp_pool2d: .*Output size is too small"),
])
def test_errors(call, exc, match):
    x = ember.randn(2, 3, 5, 5)
    with pytest.raises(exc, match=match):
        call(x)


def test_max_unpool_errors():
    values, indices = F.max_pool2d(ember.randn(1, 1, 4, 4), 2, return_indices=True)
    with pytest.raises(RuntimeError,
                       match=r"max_unpool2d: Found an invalid max index: 1\d\d \(output volumes are of size 4x4\)"):
        F.max_unpool2d(values, indices + 100, 2)
    with pytest.raises(ValueError, match=r'invalid output_size "\[7, 7\]" \(dim 0 must be between 2 and 6\)'):
        F.max_unpool2d(values, indices, 2, output_size=[7, 7])
    with pytest.raises(ValueError,
                       match=r"output_size should be a sequence containing 2 or 4 elements, but it has a length of '1'"):
        F.max_unpool2d(values, indices, 2, output_size=(5,))
    with pytest.raises(RuntimeError, match=r"elements in indices should be type int64 but got: ember.int32"):
        F.max_unpool2d(values, indices.int(), 2)
    with pytest.raises(RuntimeError, match=r"Expected shape of indices to be same as that of the input tensor \(\[1, 1, "
                                           r"2, 2\]\) but got indices tensor with shape: \[1, 1, 2, 1\]"):
        F.max_unpool2d(values, indices[..., :1], 2)
    with pytest.raises(RuntimeError,
                       match=r"Input to max_unpooling2d should be a 3d or 4d Tensor, but got a tensor with 2 dimensions"):
        F.max_unpool2d(values[0, 0], indices[0, 0], 2)
