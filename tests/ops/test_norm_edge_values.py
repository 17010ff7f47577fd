"""Batch, instance, layer, group and RMS norm at the edges of each dtype: values whose squares
(or whose variance) overflow, values whose squares underflow, float16 inputs (computed in
float32 with PyTorch's float16 statistics), NaN and inf inputs, and evaluation with running
statistics near the largest finite value. Each case compares outputs, running statistics and
the gradients of a random cotangent with respect to input, weight and bias.

PyTorch's own float32 and float64 kernels sum squares in the input's dtype, so at these
magnitudes they return an all-zero output and an infinite running variance (checked below);
the reference there is PyTorch in float64 on the input divided by a power of two (exact), its
results scaled back and rounded to the dtype.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
from helpers import torch

MOMENTUM, EPS = 0.3, 1e-5


def _arrays(dtype: str, scales, shape=(4, 3, 5), offset: float = 0.0, seed: int = 0) -> dict:
    """Input (channel c of magnitude scales[c], around offset * scales[c]), weight, bias,
    running statistics and a cotangent."""
    rng = np.random.default_rng(seed)
    scales = np.asarray(scales, np.float64).reshape((1, -1) + (1,) * (len(shape) - 2))
    c = shape[1]
    return {"x": ((rng.uniform(-1, 1, shape) + offset) * scales).astype(dtype),
            "w": rng.uniform(0.5, 1.5, c).astype(dtype), "b": rng.uniform(-1, 1, c).astype(dtype),
            "rm": rng.uniform(-1, 1, c).astype(dtype), "rv": rng.uniform(0.5, 2, c).astype(dtype),
            "cot": rng.standard_normal(shape).astype(dtype)}


def _run(m, a: dict, training: bool = True, fn: str = "batch_norm", param_dtype=None, eps: float = EPS) -> dict:
    """Output, running statistics and gradients of ``fn`` in library ``m`` (ember or torch)."""
    cast = (lambda v: v) if param_dtype is None else (lambda v: v.astype(param_dtype))
    x = m.tensor(a["x"], requires_grad=True)
    w, b = (m.tensor(cast(a[k]), requires_grad=True) for k in ("w", "b"))
    rm, rv = (m.tensor(cast(a[k])) for k in ("rm", "rv"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's own overflows
        if fn == "batch_norm":
            out = m.nn.functional.batch_norm(x, rm, rv, w, b, training, MOMENTUM, eps)
        else:
            out = m.nn.functional.instance_norm(x, rm, rv, w, b, True, MOMENTUM, eps)
        out.backward(m.tensor(a["cot"]))
    return {k: v.detach().numpy() for k, v in
            dict(out=out, rm=rm, rv=rv, gx=x.grad, gw=w.grad, gb=b.grad).items()}


def _reference(a: dict) -> dict:
    """Training-mode batch norm in float64, channel by channel on x / 2^k (k brings the largest
    |x| below 2^500 where it is above; normalization does not change under it), with PyTorch's
    running-statistics update; rounded to the input's dtype."""
    dtype, x = a["x"].dtype, a["x"].astype(np.float64)
    res = {k: [] for k in ("out", "rm", "rv", "gx", "gw", "gb")}
    for c in range(x.shape[1]):
        xc = x[:, c:c + 1]
        k = max(int(np.frexp(np.abs(xc).max())[1]) - 500, 0)
        s = 2.0 ** k
        xt = torch.tensor(xc / s, requires_grad=True)
        w, b = (torch.tensor(a[n][c:c + 1].astype(np.float64), requires_grad=True) for n in ("w", "b"))
        out = torch.nn.functional.batch_norm(xt, None, None, w, b, True, MOMENTUM, EPS / s / s)
        out.backward(torch.tensor(a["cot"][:, c:c + 1].astype(np.float64)))
        dims = (0,) + tuple(range(2, x.ndim))
        mean, var = xt.detach().mean(dims).item(), xt.detach().var(dims).item()
        with np.errstate(over="ignore"):
            rv = (1 - MOMENTUM) * float(a["rv"][c]) + np.float64(MOMENTUM * var) * s * s
        res["out"].append(out.detach().numpy())
        res["rm"].append([(1 - MOMENTUM) * float(a["rm"][c]) + MOMENTUM * mean * s])
        res["rv"].append([rv])
        res["gx"].append(xt.grad.numpy() / s)
        res["gw"].append(w.grad.numpy())
        res["gb"].append(b.grad.numpy())
    axis = {"out": 1, "gx": 1}
    with np.errstate(over="ignore"):
        return {k: np.concatenate(v, axis=axis.get(k, 0)).astype(dtype) for k, v in res.items()}


def _assert_matches(got: dict, ref: dict, rtol: float) -> None:
    """Each result close to the reference relative to its own largest magnitude (gradients of
    such inputs are near the smallest normal numbers); inf and nan where the reference has them."""
    for key, r in ref.items():
        g = got[key]
        assert g.dtype == r.dtype, f"{key}: dtype {g.dtype} vs {r.dtype}"
        finite = np.isfinite(r)
        np.testing.assert_array_equal(g[~finite], r[~finite], err_msg=key)
        scale = float(np.abs(r[finite]).max(initial=0))
        np.testing.assert_allclose(g[finite].astype(np.float64), r[finite].astype(np.float64), rtol=rtol,
                                   atol=rtol * scale, err_msg=key)


# Channel magnitudes: an ordinary channel next to ones whose squares overflow (or whose
# variance does), or underflow, in the dtype.
CASES = {
    "float32-1e19": ("float32", [1.0, 1e19, 1e18]),
    "float32-1e37": ("float32", [1.0, 1e37, 1e34]),
    "float32-max": ("float32", [3e38, 1.0, 1e38]),
    "float32-1e-30": ("float32", [1e-30, 1.0, 1e-25]),
    "float32-subnormal-variance": ("float32", [1e-19, 1e-21, 1.0]),
    "float64-1e154": ("float64", [1e154, 1.0, 1e150]),
    "float64-1e307": ("float64", [1e307, 1e300, 1.0]),
    "float64-max": ("float64", [1.7e308, 1.0, 1e308]),
    "float64-1e-300": ("float64", [1e-300, 1.0, 1e-160]),
}


# centred channels, and channels whose mean is 1.5 times their spread (not near the maximum,
# where such a mean is not representable)
@pytest.mark.parametrize("case,offset", [(c, 0.0) for c in CASES] + [(c, 1.5) for c in CASES if "max" not in c])
def test_batch_norm_training_at_large_and_tiny_magnitudes(case, offset):
    dtype, scales = CASES[case]
    a = _arrays(dtype, scales, offset=offset)
    got = _run(ember, a)
    assert np.isfinite(got["out"]).all() and np.isfinite(got["gx"]).all() and np.isfinite(got["gw"]).all()
    _assert_matches(got, _reference(a), 1e-5 if dtype == "float32" else 1e-12)


@pytest.mark.parametrize("dtype,big", [("float32", 1e19), ("float64", 1e154)])
def test_pytorch_kernel_overflows_where_the_reference_does_not(dtype, big):
    """Why the large cases are checked against a float64 reference: PyTorch's own kernel gives
    an all-zero output and an infinite running variance; the exact ones are finite."""
    a = _arrays(dtype, [big] * 3)
    theirs, ref = _run(torch, a), _reference(a)
    normalized = theirs["out"] - a["b"][:, None]  # (out - bias) / weight
    assert not normalized.any() and np.isinf(theirs["rv"]).all()
    assert np.isfinite(ref["rv"]).all() and np.abs(ref["out"]).max() > 0.5


def test_batch_norm_large_values_over_many_channels_and_dims():
    """BatchNorm2d-shaped input with one huge channel among ordinary ones: the scaled pass
    touches only that channel."""
    a = _arrays("float32", [1.0, 2.0, 1e37, 0.5, 1e-3], shape=(3, 5, 4, 2), seed=3)
    _assert_matches(_run(ember, a), _reference(a), 1e-5)


def test_instance_norm_of_large_values():
    a = _arrays("float32", [1e37, 1.0, 1e19], shape=(2, 3, 6))
    got = _run(ember, a, fn="instance_norm")
    # instance norm is batch norm of (1, N * C, L); its running statistics average the samples'
    n, c = a["x"].shape[:2]
    flat = {"x": a["x"].reshape(1, n * c, -1), "cot": a["cot"].reshape(1, n * c, -1)}
    flat.update({k: np.tile(a[k], n) for k in ("w", "b", "rm", "rv")})
    ref = _reference(flat)
    assert np.isfinite(got["out"]).all()
    _assert_matches({"out": got["out"].reshape(1, n * c, -1), "gx": got["gx"].reshape(1, n * c, -1)},
                    {"out": ref["out"], "gx": ref["gx"]}, 1e-5)
    _assert_matches({"gw": got["gw"], "gb": got["gb"]},
                    {k: ref[k].reshape(n, c).sum(0) for k in ("gw", "gb")}, 1e-5)
    with np.errstate(over="ignore"):
        _assert_matches({"rm": got["rm"], "rv": got["rv"]},
                        {k: ref[k].astype(np.float64).reshape(n, c).mean(0).astype(np.float32)
                         for k in ("rm", "rv")}, 1e-5)


# ---- float16: computed in float32, statistics rounded to float16 as PyTorch's kernel does -------
@pytest.mark.parametrize("params", ["float16", "float32"])
@pytest.mark.parametrize("magnitude", [6.0e4, 1.0, 1e-3])
def test_batch_norm_half_matches_pytorch(magnitude, params):
    a = _arrays("float16", [magnitude] * 3)
    ref = _run(torch, a, param_dtype=params)
    got = _run(ember, a, param_dtype=params)
    for key, r in ref.items():
        g = got[key]
        assert g.dtype == r.dtype, key
        # one float16 rounding of the output (2^-11) may land the other way; sums differ in order
        np.testing.assert_allclose(g.astype(np.float64), r.astype(np.float64), rtol=2e-3,
                                   atol=2e-3 * float(np.abs(r[np.isfinite(r)]).max(initial=0)), err_msg=key)


def test_half_statistics_are_rounded_only_for_half_parameters():
    """float16 statistics change the output by more than float16's resolution at large values;
    with float32 parameters PyTorch keeps them in float32."""
    a = _arrays("float16", [6.0e4] * 3, shape=(8, 3, 16), seed=2)
    outs = {p: _run(ember, a, param_dtype=p)["out"].astype(np.float64) for p in ("float16", "float32")}
    assert np.abs(outs["float16"] - outs["float32"]).max() > 0
    for p, out in outs.items():
        np.testing.assert_array_equal(out, _run(torch, a, param_dtype=p)["out"].astype(np.float64), err_msg=p)


# ---- NaN and inf inputs: as PyTorch ------------------------------------------------------------
def test_batch_norm_nan_and_inf_inputs_match_pytorch():
    a = _arrays("float32", [1.0] * 4, shape=(4, 4, 2), seed=1)
    a["x"][0, 0, 0], a["x"][1, 1, 1], a["x"][2, 2, 0], a["x"][3, 2, 1] = np.nan, np.inf, np.inf, -np.inf
    got, ref = _run(ember, a), _run(torch, a)
    for key in ref:
        nan = np.isnan(ref[key])
        np.testing.assert_array_equal(np.isnan(got[key]), nan, err_msg=key)
        np.testing.assert_allclose(got[key][~nan], ref[key][~nan], rtol=1e-5, atol=1e-5, err_msg=key)


# ---- evaluation mode with running statistics near the largest value -----------------------------
EVAL = {"float16": 6.0e4, "float32": 3.0e38, "float64": 1.7e308}


@pytest.mark.parametrize("dtype", list(EVAL))
def test_batch_norm_eval_with_running_statistics_near_the_largest_value(dtype):
    big = EVAL[dtype]
    rng = np.random.default_rng(4)
    a = {"x": (rng.uniform(0.2, 1, (6, 2, 3)) * big).astype(dtype),
         "rm": np.array([0.9 * big, 0.5 * big], dtype), "rv": np.array([big, 0.25 * big], dtype),
         "w": np.array([0.5, 1.5], dtype), "b": np.array([0.1, -0.2], dtype),
         "cot": rng.standard_normal((6, 2, 3)).astype(dtype)}
    got = _run(ember, a, training=False)
    # reference: float64 on x and the running mean divided by 2^k, the variance by 4^k (exact)
    s = 2.0 ** (512 if dtype == "float64" else 0)
    scaled = dict(a, x=a["x"].astype(np.float64) / s, rm=a["rm"].astype(np.float64) / s,
                  rv=a["rv"].astype(np.float64) / s / s, w=a["w"].astype(np.float64),
                  b=a["b"].astype(np.float64), cot=a["cot"].astype(np.float64))
    ref = _run(torch, scaled, training=False, eps=EPS / s / s)
    ref["gx"], ref["rm"], ref["rv"] = ref["gx"] / s, a["rm"], a["rv"]
    rtol = 2e-3 if dtype == "float16" else 1e-5
    _assert_matches(got, {k: v.astype(dtype) for k, v in ref.items()}, rtol)
    if dtype != "float16":  # PyTorch itself in the dtype: finite, and as close
        _assert_matches(got, _run(torch, a, training=False), rtol)


# ---- create_graph: the composed gradient sees the same scaling --------------------------------
@pytest.mark.parametrize("case", ["float32-1e37", "float64-1e307", "float32-1e-30"])
def test_batch_norm_gradient_under_create_graph_at_large_values(case):
    dtype, scales = CASES[case]
    a = _arrays(dtype, scales)
    x = ember.tensor(a["x"], requires_grad=True)
    w, b = ember.tensor(a["w"], requires_grad=True), ember.tensor(a["b"], requires_grad=True)
    out = ember.nn.functional.batch_norm(x, None, None, w, b, True, MOMENTUM, EPS)
    gx, gw, gb = ember.autograd.grad(out, (x, w, b), ember.tensor(a["cot"]), create_graph=True)
    ref = _reference(a)
    _assert_matches({"gx": gx.detach().numpy(), "gw": gw.detach().numpy(), "gb": gb.detach().numpy()},
                    {k: ref[k] for k in ("gx", "gw", "gb")}, 1e-5 if dtype == "float32" else 1e-12)


def test_batch_norm_second_derivative_at_large_values():
    """d/dweight of sum(v * d out / d x): float32 at 1e37 against PyTorch in float64."""
    scales = np.array([1e37, 1.0, 1e30])
    a = _arrays("float32", scales)
    # v scaled by each channel's magnitude, so that sum(v * d out / d x) is of ordinary size
    v = np.random.default_rng(5).standard_normal(a["x"].shape) * scales.reshape(1, -1, 1)
    grads = []
    for m, dt in ((ember, np.float32), (torch, np.float64)):
        x = m.tensor(a["x"].astype(dt), requires_grad=True)
        w = m.tensor(a["w"].astype(dt), requires_grad=True)
        out = m.nn.functional.batch_norm(x, None, None, w, None, True, MOMENTUM, EPS)
        (gx,) = m.autograd.grad(out, x, m.tensor(a["cot"].astype(dt)), create_graph=True)
        (gx * m.tensor(v.astype(dt))).sum().backward()
        grads.append(w.grad.detach().numpy())
    assert np.isfinite(grads[0]).all()
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-4, atol=1e-4 * np.abs(grads[1]).max())


# ---- layer, group and RMS norm: rows whose sums or squares overflow, or underflow ---------------
# Row magnitudes: an ordinary row next to rows of 4096 features whose squares (or their sum) overflow
# in the dtype, and a tiny one (with eps = 0 its squares' underflow matters). PyTorch's own kernels
# overflow there too (checked below), so the reference is PyTorch in float64, block by block, on
# x / 2^k with eps / 4^k (exact), its results scaled back.
ROWS = {
    "float32": ("float32", [1.0, 1e19, 1e37, 3e38, 1e-30], EPS),
    "float32-eps0": ("float32", [1e-30, 1.0, 1e-25], 0.0),
    "float64": ("float64", [1.0, 1e154, 1e307, 1.7e308, 1e-300], EPS),
    "float64-eps0": ("float64", [1e-300, 1.0, 1e-170], 0.0),
}
FEATURES = 4096


def _row_arrays(dtype: str, scales, seed: int = 0) -> dict:
    """(rows, FEATURES) input, row r of magnitude scales[r] (offset by 1.5 times its spread where
    that fits), weight, bias and a cotangent."""
    rng = np.random.default_rng(seed)
    scales = np.asarray(scales, np.float64)[:, None]
    offset = np.where(scales * 2.5 < np.finfo(dtype).max, 1.5, 0.0)
    return {"x": ((rng.uniform(-1, 1, (len(scales), FEATURES)) + offset) * scales).astype(dtype),
            "w": rng.uniform(0.5, 1.5, FEATURES).astype(dtype), "b": rng.uniform(-1, 1, FEATURES).astype(dtype),
            "cot": rng.standard_normal((len(scales), FEATURES)).astype(dtype)}


# each: the function of (m, x, w, b, eps) and how x and the parameters split into normalized blocks
ROW_FNS = {
    "layer_norm": (lambda m, x, w, b, eps: m.nn.functional.layer_norm(x, (FEATURES,), w, b, eps),
                   lambda x: [((slice(r, r + 1),), slice(None)) for r in range(x.shape[0])], None),
    "rms_norm": (lambda m, x, w, b, eps: m.nn.functional.rms_norm(x, (FEATURES,), w, eps),
                 lambda x: [((slice(r, r + 1),), slice(None)) for r in range(x.shape[0])], None),
    # (rows, 8, 512) in 2 groups; the second group of each sample has the next row's magnitude
    "group_norm": (lambda m, x, w, b, eps: m.nn.functional.group_norm(x, x.shape[1] // 4, w, b, eps),
                   lambda x: [((slice(n, n + 1), slice(4 * g, 4 * g + 4)), slice(4 * g, 4 * g + 4))
                              for n in range(x.shape[0]) for g in (0, 1)], (8, 512)),
}


def _as_groups(a: dict, shape) -> dict:
    """Group-norm arrays: samples of ``shape`` whose second group is the next row's first half."""
    x = a["x"].reshape((-1,) + shape)
    x[:, 4:] = np.roll(x[:, :4], -1, axis=0)
    c = shape[0]
    return {"x": x, "w": a["w"][:c], "b": a["b"][:c], "cot": a["cot"].reshape(x.shape)}


def _run_rows(m, a: dict, fn, eps: float, create_graph: bool = False) -> dict:
    x, w, b = (m.tensor(a[k], requires_grad=True) for k in ("x", "w", "b"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's own overflows
        out = fn(m, x, w, b, eps)
        gx, gw, gb = m.autograd.grad(out, (x, w, b), m.tensor(a["cot"]), create_graph=create_graph,
                                     allow_unused=True)
    gb = m.zeros_like(b) if gb is None else gb  # rms_norm has no bias
    return {k: v.detach().numpy() for k, v in dict(out=out, gx=gx, gw=gw, gb=gb).items()}


def _blockwise_reference(a: dict, fn, blocks, eps: float) -> dict:
    dtype = a["x"].dtype
    ref = {"out": np.zeros(a["x"].shape), "gx": np.zeros(a["x"].shape), "gw": np.zeros(a["w"].shape),
           "gb": np.zeros(a["b"].shape)}
    for index, params in blocks:
        xb = a["x"][index].astype(np.float64)
        k = int(np.frexp(np.abs(xb).max())[1])
        k = k if k > 500 or (k < -500 and eps == 0) else 0  # where float64 itself would overflow or underflow
        xt = torch.tensor(np.ldexp(xb, -k), requires_grad=True)
        w, b = (torch.tensor(a[n][params].astype(np.float64), requires_grad=True) for n in ("w", "b"))
        out = fn(torch, xt, w, b, np.ldexp(eps, -2 * k))
        out.backward(torch.tensor(a["cot"][index].astype(np.float64)))
        ref["out"][index] = out.detach().numpy()
        ref["gx"][index] = np.ldexp(xt.grad.numpy(), -k)
        ref["gw"][params] += w.grad.numpy()
        ref["gb"][params] += 0 if b.grad is None else b.grad.numpy()
    return {k: v.astype(dtype) for k, v in ref.items()}


def _assert_blocks_match(got: dict, ref: dict, blocks, rtol: float) -> None:
    """Outputs and input gradients block by block (their magnitudes differ by hundreds of orders),
    parameter gradients whole."""
    tiny = float(np.finfo(ref["out"].dtype).smallest_subnormal)
    for key in ("out", "gx"):
        for index, _ in blocks:
            g, r = got[key][index].astype(np.float64), ref[key][index].astype(np.float64)
            np.testing.assert_allclose(g, r, rtol=rtol, atol=rtol * np.abs(r).max() + 4 * tiny,
                                       err_msg=f"{key}{index}")
    _assert_matches({k: got[k] for k in ("gw", "gb")}, {k: ref[k] for k in ("gw", "gb")}, rtol)


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("fn_name", list(ROW_FNS))
@pytest.mark.parametrize("case", list(ROWS))
def test_row_norms_at_large_and_tiny_magnitudes(case, fn_name, create_graph):
    dtype, scales, eps = ROWS[case]
    fn, blocks_of, group_shape = ROW_FNS[fn_name]
    a = _row_arrays(dtype, scales)
    if group_shape is not None:
        a = _as_groups(a, group_shape)
    blocks = blocks_of(a["x"])
    got = _run_rows(ember, a, fn, eps, create_graph)
    for key, value in got.items():
        assert value.dtype == a["x"].dtype and np.isfinite(value).all(), key
    _assert_blocks_match(got, _blockwise_reference(a, fn, blocks, eps), blocks,
                         1e-5 if dtype == "float32" else 1e-12)


@pytest.mark.parametrize("fn_name", list(ROW_FNS))
@pytest.mark.parametrize("dtype,big", [("float32", 1e19), ("float64", 1e154)])
def test_pytorch_row_norms_overflow_where_the_reference_does_not(fn_name, dtype, big):
    """Why the large rows are checked against a float64 reference: PyTorch's own kernels give
    non-finite or all-zero normalized values there. On ordinary rows it is finite and right, and
    ember agrees with it directly."""
    fn, blocks_of, group_shape = ROW_FNS[fn_name]
    a = _row_arrays(dtype, [big, 1.0])
    if group_shape is not None:
        a = _as_groups(a, group_shape)
        a["x"][1] = np.tile(a["x"][1, :4], (2, 1))  # both groups of sample 1 ordinary
    theirs, ours = _run_rows(torch, a, fn, EPS), _run_rows(ember, a, fn, EPS)
    blocks = blocks_of(a["x"])
    big_block = blocks[0][0]  # the first block of sample 0, of magnitude big
    ref = _blockwise_reference(a, fn, blocks, EPS)
    assert not np.allclose(theirs["out"][big_block], ref["out"][big_block], rtol=1e-2, atol=1e-2)
    np.testing.assert_allclose(ours["out"][big_block], ref["out"][big_block], rtol=1e-5, atol=1e-5)
    for key in ("out", "gx"):
        np.testing.assert_allclose(ours[key][1], theirs[key][1], rtol=1e-5, atol=1e-5, err_msg=key)
