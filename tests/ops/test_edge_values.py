"""Numbers at the edges: float16 reductions and losses accumulate in float32, large finite
values do not overflow where the result is finite, and gradients at NaN inputs follow PyTorch.
Each case compares forward values, gradients of a random cotangent and output dtypes."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import ember
from helpers import check_case, make_inputs, torch

FLOATS = ["float16", "float32", "float64"]

# Ordinary magnitudes at which float16 arithmetic (max 65504) overflows or drifts.
HALF_CASES = {
    "mean": lambda m, x: x.mean(),
    "mean_dim": lambda m, x: x.mean(0),
    "sum_dim": lambda m, x: x.sum(1),
    "std": lambda m, x: x.std(),
    "var_dim": lambda m, x: x.var(0),
    "norm": lambda m, x: x.norm(),
    "norm_dim": lambda m, x: x.norm(dim=1),
    "normalize": lambda m, x: m.nn.functional.normalize(x, dim=1),
    "cumsum": lambda m, x: x.cumsum(0),
    "logsumexp": lambda m, x: x.logsumexp(1),
    "mse_loss": lambda m, x: m.nn.functional.mse_loss(x, x.detach() * 0.5),
    "l1_loss": lambda m, x: m.nn.functional.l1_loss(x, m.zeros_like(x)),
    "smooth_l1_loss": lambda m, x: m.nn.functional.smooth_l1_loss(x, m.zeros_like(x)),
    "huber_loss": lambda m, x: m.nn.functional.huber_loss(x, m.zeros_like(x)),
    "cosine_similarity": lambda m, x: m.nn.functional.cosine_similarity(x, x.flip(0)),
    "pairwise_distance": lambda m, x: m.nn.functional.pairwise_distance(x, x.flip(0) * 0.5),
    "layer_norm": lambda m, x: m.nn.functional.layer_norm(x, (x.shape[1],)),
    "group_norm": lambda m, x: m.nn.functional.group_norm(x.reshape(4, 10, -1), 2),
}


@pytest.mark.parametrize("name", list(HALF_CASES))
@pytest.mark.parametrize("dtype", FLOATS)
def test_reductions_at_float16_overflowing_magnitudes(name, dtype):
    # (40, 100) values in [60, 200]: sums reach 1e6 and squares 4e4, both past float16's range
    rel = 2e-2 if dtype == "float16" else None
    check_case([(40, 100)], HALF_CASES[name], dtype=dtype, low=60, high=200, rtol=rel, atol=rel)


def test_half_mean_of_constant_is_exact():
    e = ember.full((1000,), 100.).half().mean()
    t = torch.full((1000,), 100.).half().mean()
    assert e.dtype == ember.float16 and e.item() == t.item() == 100.0


@pytest.mark.parametrize("dtype", FLOATS)
def test_softmax_family_in_float16_accumulates_in_float32(dtype):
    for fn in (lambda m, x: x.softmax(-1), lambda m, x: x.log_softmax(-1),
               lambda m, x: m.nn.functional.cross_entropy(x, m.zeros(x.shape[0], dtype=m.long))):
        tol = 2e-2 if dtype == "float16" else None
        check_case([(8, 3000)], fn, dtype=dtype, low=-4, high=4, rtol=tol, atol=tol)


# Large values whose statistics still fit each dtype, though squares (or their sums) computed
# in the dtype itself overflow. The reference is PyTorch in float64 (exact here), rounded to
# the dtype: PyTorch's own float32 norm overflows at these values.
LARGE = {"float16": 2.0e4, "float32": 1.0e19, "float64": 1.0e153}
LARGE_CASES = {
    "var": (lambda m, x: x.var(), ("float32", "float64")),
    "var_dim": (lambda m, x: x.var(1, correction=0), ("float32", "float64")),
    "std": (lambda m, x: x.std(), FLOATS),
    "std_dim": (lambda m, x: x.std(0), FLOATS),
    "norm": (lambda m, x: x.norm(), FLOATS),
    "norm_dim": (lambda m, x: x.norm(dim=1), FLOATS),
    "mean": (lambda m, x: x.mean(), FLOATS),
    # float16 gradients of normalize at these values are subnormal (below 6e-5): no digits to compare
    "normalize": (lambda m, x: m.nn.functional.normalize(x, dim=1), ("float32", "float64")),
    "layer_norm": (lambda m, x: m.nn.functional.layer_norm(x, (x.shape[1],)), FLOATS),
}


@pytest.mark.parametrize("name", list(LARGE_CASES))
@pytest.mark.parametrize("dtype", FLOATS)
def test_statistics_of_large_finite_values_stay_finite(name, dtype):
    fn, dtypes = LARGE_CASES[name]
    if dtype not in dtypes:
        pytest.skip(f"{name} of such values exceeds {dtype}'s range")
    big = LARGE[dtype]
    (xe,), (xt,) = make_inputs([(3, 4)], dtype, -big, big)
    xt64 = xt.detach().double().requires_grad_(True)
    out_e, out_t = fn(ember, xe), fn(torch, xt64)
    cot = np.random.default_rng(1).standard_normal(tuple(out_t.shape))
    out_e.backward(ember.tensor(cot.astype(xe.detach().cpu().numpy().dtype)))
    out_t.backward(torch.tensor(cot))
    rel = 2e-2 if dtype == "float16" else 1e-5
    assert torch.isfinite(out_t).all() and out_e.dtype.name == dtype
    assert np.isfinite(out_e.detach().cpu().numpy()).all()
    np.testing.assert_allclose(out_e.detach().cpu().numpy().astype(np.float64), out_t.detach().cpu().numpy(), rtol=rel)
    np.testing.assert_allclose(xe.grad.cpu().numpy().astype(np.float64), xt64.grad.cpu().numpy(), rtol=rel * 10,
                               atol=rel * float(np.abs(xt64.grad.cpu().numpy()).max()))


@pytest.mark.parametrize("dtype,value", [("float32", 1.0e38), ("float64", 1.0e307)])
def test_std_and_norm_near_the_largest_finite_value(dtype, value):
    # The exact results fit the dtype; computed from squares in the dtype they would be inf.
    x = np.array([value, -0.9 * value, 0.8 * value, 0.95 * value], dtype=dtype)
    xe = ember.tensor(x, requires_grad=True)
    big = x.astype(object)  # exact reference in Python integers/fractions-free floats
    mean = sum(float(v) / 4 for v in big)
    std = math.sqrt(sum(((float(v) - mean) / value) ** 2 for v in big) / 3) * value
    norm = math.sqrt(sum((float(v) / value) ** 2 for v in big)) * value
    for out, ref in ((xe.std(), std), (xe.norm(), norm)):
        assert out.dtype.name == dtype and np.isfinite(out.item())
        assert out.item() == pytest.approx(ref, rel=1e-5)
    g = ember.autograd.grad(xe.norm(), xe)[0]
    np.testing.assert_allclose(g.cpu().numpy(), x / norm, rtol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_norm_of_tiny_values_does_not_underflow(dtype):
    x = np.full(4, 1e-30 if dtype == "float32" else 1e-200, dtype=dtype)
    out = ember.tensor(x).norm()
    assert out.item() == pytest.approx(2 * float(x[0]), rel=1e-6)


# ---- NaN inputs: forward and gradient as PyTorch ------------------------------------------
SPECIAL = [np.nan, -np.inf, np.inf, -1e30, 1e30, 0.0, -0.0, 1.0, 6.0, -1.0, 0.5, -0.5, 3.0, -3.0, 20.0]
NAN_ACTIVATIONS = ["relu", "relu6", "hardtanh", "leaky_relu", "elu", "selu", "celu", "silu", "mish",
                   "softplus", "logsigmoid", "hardsigmoid", "hardswish", "tanhshrink", "softshrink",
                   "hardshrink", "sigmoid", "tanh"]
# PyTorch's vectorized CPU loop gives these another gradient at NaN (zero, or NaN for the
# exponential ones) than its element-wise formula (and ember): compared at NaN on short
# tensors, which the element-wise loop computes whatever the machine's vector width (the
# 15 values below fill one AVX-512 vector's tail but one AVX2 vector and a tail).
VECTOR_NAN_QUIRK = {"relu6", "hardtanh", "softshrink", "hardshrink", "elu", "selu", "celu", "hardswish"}


@pytest.mark.parametrize("name", NAN_ACTIVATIONS)
def test_activation_values_and_gradients_at_nan_and_inf(name):
    fn = lambda m, x: getattr(m.nn.functional, name)(x)  # noqa: E731
    values = [v for v in SPECIAL if not (name in VECTOR_NAN_QUIRK and np.isnan(v))]
    for dtype in FLOATS:
        tol = 5e-3 if dtype == "float16" else 1e-5
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            check_case([(len(values),)], fn, dtype=dtype, values=[values], rtol=tol, atol=tol)
            check_case([(2,)], fn, dtype=dtype, values=[[np.nan, 0.2]])


def test_threshold_and_prelu_at_nan():
    check_case([(len(SPECIAL),)], lambda m, x: m.nn.functional.threshold(x, 0.5, -2.0), values=[SPECIAL])
    check_case([(len(SPECIAL),), (1,)], lambda m, x, w: m.nn.functional.prelu(x, w),
               values=[SPECIAL, [0.25]])


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("dtype", FLOATS)
def test_gelu_of_huge_finite_inputs_is_finite(approximate, dtype):
    big = {"float16": 6.0e4, "float32": 1.0e38, "float64": 1.5e308}[dtype]
    values = [[big, -big, big / 2, 0.5 * big, 1.0, -1.0]]
    out_e, out_t = check_case([(6,)], lambda m, x: m.nn.functional.gelu(x, approximate=approximate),
                              dtype=dtype, values=values, grad=False)
    assert np.isfinite(out_e.cpu().numpy()).all() and torch.isfinite(out_t).all()
    if dtype == "float16":  # float16 is computed in float32, so its gradient is finite too
        check_case([(6,)], lambda m, x: m.nn.functional.gelu(x, approximate=approximate),
                   dtype=dtype, values=values)


@pytest.mark.parametrize("op", ["amax", "amin", "max", "min", "median"])
@pytest.mark.parametrize("dim", [None, 1])
def test_reduction_gradients_at_nan(op, dim):
    values = [[[np.nan, 1.0, 2.0], [3.0, 5.0, 5.0], [np.nan, np.nan, 0.0]]]

    def case(m, x):
        if op in ("amax", "amin"):
            return getattr(x, op)() if dim is None else getattr(x, op)(dim)
        return getattr(x, op)() if dim is None else getattr(x, op)(dim)[0]
    check_case([(3, 3)], case, values=values)


@pytest.mark.parametrize("dtype", FLOATS)
def test_output_dtypes_of_half_reductions(dtype):
    (xe,), (xt,) = make_inputs([(40, 100)], dtype)
    for fn in HALF_CASES.values():
        out_e, out_t = fn(ember, xe), fn(torch, xt)
        assert out_e.dtype.name == str(out_t.dtype).replace("torch.", "")


# ---- sums and means whose partial sums overflow ------------------------------------------------
MAXES = {dt: float(np.finfo(dt).max) for dt in FLOATS}
SUMS = {
    "mean": lambda m, x: x.mean(), "mean_dim0": lambda m, x: x.mean(0),
    "mean_dim1": lambda m, x: x.mean(1, keepdim=True), "sum": lambda m, x: x.sum(),
    "sum_dim0": lambda m, x: x.sum(0), "sum_dim1": lambda m, x: x.sum(-1), "nansum": lambda m, x: x.nansum(),
    "nansum_dim1": lambda m, x: x.nansum(1), "nanmean": lambda m, x: x.nanmean(),
    "nanmean_dim0": lambda m, x: x.nanmean(0), "nanmean_dim1": lambda m, x: x.nanmean(1),
}


def _near_max(dtype: str, nan: bool) -> np.ndarray:
    """Rows of mixed signs, of equal positive values and of cancelling values, all near the
    dtype's maximum: partial sums overflow, though every mean (and some sums) fits."""
    big = 0.9 * MAXES[dtype]
    x = np.stack([np.random.default_rng(2).uniform(-1, 1, 8), np.ones(8),
                  [1, 1, 1, 1, -1, -1, -1, -0.5]]) * big
    if nan:
        x[0, 3] = x[2, 5] = np.nan
    return x.astype(dtype)


def _scaled_reference(fn, x: np.ndarray) -> np.ndarray:
    """``fn`` of PyTorch in float64 on x / 2^k (exact; 2^k near the largest |x|), times 2^k, rounded
    to x's dtype: the exact result, inf where it exceeds the dtype's range."""
    k = int(np.frexp(np.nanmax(np.abs(x.astype(np.float64))))[1])
    out = fn(torch, torch.tensor(np.ldexp(x.astype(np.float64), -k))).cpu().numpy()
    with np.errstate(over="ignore"):
        return np.ldexp(out, k).astype(x.dtype)


@pytest.mark.parametrize("name", list(SUMS))
@pytest.mark.parametrize("dtype", FLOATS)
def test_sums_and_means_near_the_largest_value(name, dtype):
    fn = SUMS[name]
    x = _near_max(dtype, name.startswith("nan"))
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_e = fn(ember, xe)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out_t = fn(torch, xt)
    got, ref, theirs = out_e.detach().cpu().numpy(), _scaled_reference(fn, x), out_t.detach().cpu().numpy()
    assert got.dtype == ref.dtype and got.shape == ref.shape
    if "mean" in name:  # a mean of finite values always fits
        assert np.isfinite(got).all()
    np.testing.assert_array_equal(np.isfinite(got), np.isfinite(ref))
    rtol = 2e-3 if dtype == "float16" else 1e-6
    np.testing.assert_allclose(got.astype(np.float64), ref.astype(np.float64), rtol=rtol)
    # where PyTorch's own result is finite, it agrees (it overflows on float32 and float64 means)
    finite = np.isfinite(theirs)
    np.testing.assert_allclose(got[finite].astype(np.float64), theirs[finite].astype(np.float64), rtol=rtol)
    cot = np.random.default_rng(3).standard_normal(got.shape).astype(dtype)
    out_e.backward(ember.tensor(cot))
    out_t.backward(torch.tensor(cot))
    np.testing.assert_allclose(xe.grad.cpu().numpy(), xt.grad.cpu().numpy(), rtol=rtol, atol=1e-6)


@pytest.mark.parametrize("name", list(SUMS))
def test_sums_and_means_of_inf_and_nan_match_pytorch(name):
    # each row holds an inf or a NaN, so the result is PyTorch's (no overflow of finite values)
    x = np.array([[np.inf, 3e38, 3e38, 1.0], [np.inf, -np.inf, 1.0, 2.0], [np.nan, 3e38, -3e38, 1.0],
                  [-np.inf, 1.0, np.nan, 2.0]], np.float32)
    check_case([(4, 4)], SUMS[name], values=[x])


def test_half_nanmean_of_many_values_is_finite():
    # PyTorch's float16 nanmean sums in float16 (inf past 65504) before dividing; ember divides in float32
    x = np.ones(70000, np.float16)
    x[::20] = np.nan  # 66500 values left: their float16 sum is inf
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = xe.nanmean()
    assert out.dtype == ember.float16 and out.item() == 1.0
    out.backward()
    xt.nanmean().backward()  # its gradient is right: 1 / count, 0 at NaNs
    np.testing.assert_allclose(xe.grad.cpu().numpy().astype(np.float64), xt.grad.cpu().numpy().astype(np.float64), rtol=1e-2)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_variance_of_a_constant_near_the_largest_value_is_zero(dtype):
    # a mean rounded by one ulp would give a variance of ulp^2, past the dtype's range there
    x = np.full((2, 6), 0.9 * MAXES[dtype], dtype)
    for fn in (lambda m, t: t.var(1), lambda m, t: t.std(1), lambda m, t: t.var(), lambda m, t: t.std()):
        got = fn(ember, ember.tensor(x)).cpu().numpy()
        assert got.dtype == x.dtype and not got.any()
    np.testing.assert_array_equal(ember.tensor(x).var(1).cpu().numpy(), torch.tensor(x).var(1).cpu().numpy())


# ---- scans, softmax and products at large values: as PyTorch --------------------------------------
def test_float32_cumsum_accumulates_in_double_as_pytorch():
    # a float32 running sum of 200000 * 0.1 drifts by about 1%; PyTorch's CPU scan accumulates in double
    check_case([(200000,)], lambda m, x: x.cumsum(0), values=[np.full(200000, 0.1)], rtol=1e-7, atol=0)
    check_case([(2, 30000)], lambda m, x: x.cumprod(1), low=1 - 1e-4, high=1 + 1e-4, rtol=1e-6, atol=0)


NEAR_MAX_OPS = {
    "cumsum": lambda m, x: x.cumsum(1), "cumsum_dim0": lambda m, x: x.cumsum(0),
    "cumprod": lambda m, x: x.cumprod(1), "prod": lambda m, x: x.prod(1), "logsumexp": lambda m, x: x.logsumexp(1),
    "logsumexp_all": lambda m, x: x.logsumexp((0, 1)), "softmax": lambda m, x: x.softmax(1),
    "softmax_dim0": lambda m, x: x.softmax(0), "log_softmax": lambda m, x: x.log_softmax(1),
}


@pytest.mark.parametrize("name", list(NEAR_MAX_OPS))
@pytest.mark.parametrize("dtype", FLOATS)
def test_scans_and_softmax_near_the_largest_value_match_pytorch(name, dtype):
    x = _near_max(dtype, False)
    tol = 2e-2 if dtype == "float16" else 1e-5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out_e, _ = check_case([x.shape], NEAR_MAX_OPS[name], dtype=dtype, values=[x], rtol=tol, atol=tol)
    if name == "cumsum" and dtype != "float64":
        # the cancelling row's last running sums fit again: float16 and float32 scans accumulate
        # in a wider dtype, as PyTorch's (float64 ones stay inf once past the maximum, in both)
        assert np.isfinite(out_e.detach().cpu().numpy()[2, -2:]).all()
