"""The compiled CPU kernels (ember/backend/kernels) against the NumPy paths they replace and
against PyTorch: values, indices, gradients (pooling, batch norm, convolution's im2col and
col2im), running statistics, PyTorch's tie and NaN rules,
the cases routed back to NumPy (and that they are), and ember with Numba turned off."""
import json
import multiprocessing
import os
import subprocess
import sys
from contextlib import nullcontext

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.backend import kernels, onednn
from helpers import results_in_threads, torch

TF = torch.nn.functional
TOL = {"float32": dict(rtol=1e-5, atol=1e-5), "float64": dict(rtol=1e-12, atol=1e-12)}

pytestmark = pytest.mark.skipif(kernels.cpu() is None, reason="compiled kernels are off (numba missing or "
                                                                "EMBER_NUMBA=0): the NumPy paths run everywhere")


@pytest.fixture
def without_onednn():
    """Convolutions through im2col and col2im, as where oneDNN is not in use (it takes float32)."""
    with onednn.off():
        yield


@pytest.fixture
def calls(monkeypatch):
    """Counts each compiled kernel's calls: kernel name -> number of calls (through the module
    attribute that the ops look up, so a call that took another path is not counted)."""
    counts = {}
    for module in (kernels.cpu().pool, kernels.cpu().norm, kernels.cpu().conv, kernels.cpu().select,
                   kernels.cpu().loss, kernels.cpu().optim, kernels.cpu().rnn):
        for name in dir(module):
            fn = getattr(module, name)
            if not hasattr(fn, "py_func") or name.startswith("_"):  # Numba's compiled functions
                continue

            def counted(*args, _fn=fn, _name=name):
                counts[_name] = counts.get(_name, 0) + 1
                return _fn(*args)
            monkeypatch.setattr(module, name, counted)
    return counts


def _array(shape, dtype, seed=0, values=None):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) if values is None else values(rng, shape)).astype(dtype)


def _run(fn, a, grad_out, *extra):
    """(outputs as arrays, input gradient) of fn on ember (kernels as configured) for array ``a``."""
    x = ember.tensor(a, requires_grad=True)
    out = fn(x, *extra)
    outs = out if isinstance(out, tuple) else (out,)
    outs[0].backward(ember.tensor(grad_out))
    return [o.detach().numpy() for o in outs], x.grad.numpy()


def _run_torch(fn, a, grad_out):
    x = torch.tensor(a, requires_grad=True)
    out = fn(x)
    outs = out if isinstance(out, tuple) else (out,)
    outs[0].backward(torch.tensor(grad_out))
    return [o.detach().numpy() for o in outs], x.grad.numpy()


# ---- max pooling -------------------------------------------------------------------------
# (shape, kernel_size, stride, ceil_mode, runs the 2x2 kernel)
POOLS = [
    ((4, 3, 8, 8), 2, None, False, True),
    ((3, 2, 9, 7), 2, 2, False, True),      # odd sizes: the last row and column are in no window
    ((3, 2, 9, 7), 2, 2, True, False),      # ... or in partial windows: the NumPy path
    ((2, 2, 10, 6), 2, 2, True, True),      # ceil_mode with even sizes: every window is whole
    ((3, 6, 5), 2, 2, False, True),         # unbatched (C, H, W)
    ((2, 1, 2, 2), 2, 2, False, True),      # one window per plane
    ((0, 2, 4, 4), 2, 2, False, True),      # empty batch
    ((2, 2, 8, 8), 3, 2, False, False),     # other windows stay on NumPy
    ((2, 2, 8, 8), 2, 1, False, False),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,k,s,ceil,compiled", POOLS)
def test_max_pool2d_against_numpy_and_torch(calls, shape, k, s, ceil, compiled, dtype):
    a = _array(shape, dtype)
    pool = (lambda lib: lambda x: lib.max_pool2d(x, k, s, ceil_mode=ceil, return_indices=True))
    out_shape = TF.max_pool2d(torch.tensor(a), k, s, ceil_mode=ceil).shape
    g = _array(tuple(out_shape), dtype, seed=1)
    got = _run(pool(F), a, g)
    assert calls.get("max_pool_2x2", 0) == calls.get("max_pool_2x2_backward", 0) == (1 if compiled else 0)
    with kernels.off():
        ref = _run(pool(F), a, g)
    want = _run_torch(pool(TF), a, g)
    for e, r, t in zip(got[0] + [got[1]], ref[0] + [ref[1]], want[0] + [want[1]]):
        np.testing.assert_array_equal(e, r)  # the same picks, so the same values and gradients
        np.testing.assert_array_equal(e, t)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_max_pool2d_ties_nan_and_inf(calls, dtype):
    """Ties pick the first maximum; a NaN wins over any number and the last NaN wins; a window of
    -inf picks its first tap: PyTorch's rules, here in every position of the 2x2 windows."""
    rng = np.random.default_rng(3)
    a = rng.integers(0, 3, (4, 5, 12, 10)).astype(dtype)  # many ties
    a[0, 0, :4, :4] = np.nan
    a[1, 1][rng.random((12, 10)) < 0.3] = np.nan
    a[2, 2, :2, :2] = -np.inf
    a[3, 3][rng.random((12, 10)) < 0.3] = np.inf
    g = _array((4, 5, 6, 5), dtype, seed=1)
    pool = (lambda lib: lambda x: lib.max_pool2d(x, 2, return_indices=True))
    got = _run(pool(F), a, g)
    assert calls["max_pool_2x2"] == 1
    want = _run_torch(pool(TF), a, g)
    for e, t in zip(got[0] + [got[1]], want[0] + [want[1]]):
        np.testing.assert_array_equal(e, t)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_max_pool2d_without_gradient_takes_the_values_kernel(calls, dtype):
    """Where no gradient is recorded only the maxima are computed (no taps), with the same
    values as the taps' kernel, the NumPy path and PyTorch: ties, NaN, infinities, odd sizes."""
    rng = np.random.default_rng(4)
    a = rng.integers(0, 3, (3, 4, 13, 11)).astype(dtype)
    a[0, 0][rng.random((13, 11)) < 0.3] = np.nan
    a[1, 1, :2, :2] = -np.inf
    a[2, 2][rng.random((13, 11)) < 0.3] = np.inf
    a[2, 3][rng.random((13, 11)) < 0.5] = -0.0
    with ember.no_grad():
        got = F.max_pool2d(ember.tensor(a), 2).numpy()
    assert calls == {"max_pool_2x2_values": 1}
    with_taps = F.max_pool2d(ember.tensor(a, requires_grad=True), 2).detach().numpy()
    with kernels.off(), ember.no_grad():
        ref = F.max_pool2d(ember.tensor(a), 2).numpy()
    want = TF.max_pool2d(torch.tensor(a), 2).numpy()
    for other in (with_taps, ref, want):
        np.testing.assert_array_equal(got, other)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(other))  # the first of tied zeros


@pytest.mark.parametrize("name,fn", [
    ("transposed", lambda lib: lambda x: lib.max_pool2d(x.transpose(2, 3), 2)),
    ("adaptive", lambda lib: lambda x: lib.adaptive_max_pool2d(x, (5, 4))),
])
def test_max_pool2d_non_contiguous_and_adaptive(calls, name, fn):
    """A transposed input is made contiguous for the kernel; adaptive pooling that halves the
    plane has the same 2x2 windows and runs the kernel too."""
    a = _array((3, 4, 10, 8), "float32")
    g = _array(tuple(fn(TF)(torch.tensor(a)).shape), "float32", seed=1)
    got = _run(fn(F), a, g)
    assert calls["max_pool_2x2"] == calls["max_pool_2x2_backward"] == 1
    with kernels.off():
        ref = _run(fn(F), a, g)
    want = _run_torch(fn(TF), a, g)
    for e, r, t in ((got[0][0], ref[0][0], want[0][0]), (got[1], ref[1], want[1])):
        np.testing.assert_array_equal(e, r)
        np.testing.assert_array_equal(e, t)


def test_max_pool2d_double_backward(calls):
    """The gradient of the gradient (WindowGather of the kernel's picks) matches PyTorch's."""
    a = _array((2, 3, 6, 6), "float64")
    results = []
    for lib, make in ((F, ember.tensor), (TF, torch.tensor)):
        x = make(a, requires_grad=True)
        v = make(_array((2, 3, 3, 3), "float64", seed=1), requires_grad=True)
        y = lib.max_pool2d(x, 2)
        (gx,) = (ember if lib is F else torch).autograd.grad(y, x, v, create_graph=True)
        (gv,) = (ember if lib is F else torch).autograd.grad((gx * gx).sum(), v)
        results.append((gx.detach().numpy(), gv.numpy()))
    for e, t in zip(*results):
        np.testing.assert_allclose(e, t, rtol=1e-12, atol=0)
    assert calls["max_pool_2x2"] == 1


# (input shape, functional's name, arguments after the input, runs the 2x2 kernels)
AVGS = [
    ((3, 4, 6, 8), "avg_pool2d", (2,), True),
    ((3, 4, 6, 8), "avg_pool2d", (2, 2, 0, True), True),            # ceil_mode: whole windows on even sizes
    ((3, 4, 6, 8), "avg_pool2d", (2, 2, 0, False, True, 3), True),  # divisor_override
    ((3, 4, 6, 8), "avg_pool2d", (2, 2, 1), False),                  # padding: the NumPy path
    ((3, 4, 7, 9), "avg_pool2d", (2, 2, 0, True), False),            # partial windows (odd sizes): NumPy
    ((3, 4, 6, 8), "adaptive_avg_pool2d", ((3, 4),), True),          # halving: 2x2 windows
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,name,args,compiled", AVGS)
def test_avg_pool2d_against_numpy_and_torch(calls, shape, name, args, compiled, dtype):
    a = _array(shape, dtype)
    pool = (lambda lib: lambda x: getattr(lib, name)(x, *args))
    g = _array(tuple(pool(TF)(torch.tensor(a)).shape), dtype, seed=1)
    got = _run(pool(F), a, g)
    assert calls.get("avg_pool_2x2", 0) == calls.get("avg_pool_2x2_backward", 0) == compiled
    with kernels.off():
        ref = _run(pool(F), a, g)
    want = _run_torch(pool(TF), a, g)
    for e, r, t in ((got[0][0], ref[0][0], want[0][0]), (got[1], ref[1], want[1])):
        np.testing.assert_array_equal(e, r)  # the taps' order and dtype: the same roundings
        np.testing.assert_allclose(e, t, **TOL[dtype])


def test_avg_pool2d_odd_sizes_and_non_finite(calls):
    """The row and column no window reads get a zero gradient; inf and NaN pass through."""
    a = _array((2, 3, 7, 5), "float32")
    a[0, 0, 0, 0], a[1, 1, 2, 3] = np.inf, np.nan
    g = _array((2, 3, 3, 2), "float32", seed=1)
    got = _run(lambda x: F.avg_pool2d(x, 2), a, g)
    want = _run_torch(lambda x: TF.avg_pool2d(x, 2), a, g)
    assert calls["avg_pool_2x2"] == calls["avg_pool_2x2_backward"] == 1
    np.testing.assert_allclose(got[0][0], want[0][0], **TOL["float32"])
    np.testing.assert_allclose(got[1], want[1], **TOL["float32"])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d", "relu_then_max_pool2d"])
@pytest.mark.parametrize("shape", [(4, 5, 12, 10), (2, 16, 7, 9), (3, 33, 6, 6)])
def test_channels_last_pooling_takes_the_nhwc_kernels(calls, name, shape, dtype):
    """Channels-last inputs run the (N, H, W, C) kernels, with the row-major kernels' values and
    gradients bit for bit (ties, NaN and infinities included) and channels-last results."""
    rng = np.random.default_rng(3)
    a = rng.integers(-2, 3, shape).astype(dtype)  # many ties, zeros of both signs
    a[0, 0, :4, :4] = np.nan
    a[1, 1][rng.random(shape[2:]) < 0.3] = np.nan
    a[0, 2, :2, :2] = -np.inf
    a[1, 3][rng.random(shape[2:]) < 0.3] = np.inf
    a[1, 4, 2:4, 2:4] = -0.0
    pool = {"max_pool2d": lambda x: F.max_pool2d(x, 2, return_indices=True), "avg_pool2d": lambda x: F.avg_pool2d(x, 2),
            "relu_then_max_pool2d": lambda x: F.max_pool2d(F.relu(x), 2)}[name]
    g = _array(shape[:2] + (shape[2] // 2, shape[3] // 2), dtype, seed=1)
    results = []
    for layout in (ember.contiguous_format, ember.channels_last):
        x = ember.tensor(a).contiguous(memory_format=layout).requires_grad_()
        out = pool(x)
        outs = out if isinstance(out, tuple) else (out,)
        outs[0].backward(ember.tensor(g).contiguous(memory_format=layout))
        results.append([o.detach().numpy() for o in outs] + [x.grad.numpy()])
        assert outs[0].is_contiguous(memory_format=layout) and x.grad.is_contiguous(memory_format=layout)
    kernel = "avg_pool_2x2" if name == "avg_pool2d" else "max_pool_2x2"
    assert calls[kernel + "_nhwc"] == calls[kernel + "_nhwc_backward"] == calls[kernel] == 1
    for row_major, last in zip(*results):
        np.testing.assert_array_equal(np.ascontiguousarray(last).view(np.uint8), row_major.view(np.uint8))


def test_channels_last_max_pool_without_gradient_takes_the_values_kernel(calls):
    x = ember.randn(2, 8, 6, 6).contiguous(memory_format=ember.channels_last)
    with ember.no_grad():
        y = F.max_pool2d(x, 2)
    assert calls == {"max_pool_2x2_nhwc_values": 1}
    np.testing.assert_array_equal(y.numpy(), F.max_pool2d(ember.tensor(x.numpy()), 2).numpy())


# ---- batch norm --------------------------------------------------------------------------
NORMS = [(4, 3, 5, 7), (8, 16, 4, 4), (5, 3, 7), (2, 3, 2, 2, 3), (7, 4, 1, 3), (2, 2, 1, 1)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", NORMS)
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_train_against_numpy_and_torch(calls, shape, affine, dtype):
    c = shape[1]
    a = _array(shape, dtype) * 3 + 1.5
    g = _array(shape, dtype, seed=1)
    w, b = _array((c,), dtype, seed=2), _array((c,), dtype, seed=3)
    results = []
    for lib, make, off in ((F, ember.tensor, False), (F, ember.tensor, True), (TF, torch.tensor, False)):
        x = make(a, requires_grad=True)
        rm, rv = make(np.full(c, 0.5, dtype)), make(np.full(c, 2.0, dtype))
        params = [make(w, requires_grad=True), make(b, requires_grad=True)] if affine else [None, None]
        with kernels.off() if off else nullcontext():
            y = lib.batch_norm(x, rm, rv, *params, training=True, momentum=0.2, eps=1e-4)
            y.backward(make(g))
        results.append([t.detach().numpy() for t in [y, x.grad, rm, rv] + [p.grad for p in params if p is not None]])
    compiled = int(np.prod(shape[2:])) > 1  # a 1x1 plane is an (N, C) input: the NumPy path
    assert calls.get("batch_norm_train", 0) == calls.get("batch_norm_train_backward", 0) == compiled
    for got, ref, want in zip(*results):
        np.testing.assert_allclose(got, ref, **TOL[dtype])
        np.testing.assert_allclose(got, want, **TOL[dtype])


def test_batch_norm_non_contiguous(calls):
    """A strided view (every other column) and a gradient of another layout are made contiguous
    for the kernels."""
    a = _array((6, 4, 5, 10), "float64")
    g = _array((6, 4, 5, 5), "float64", seed=1)
    results = []
    for lib, make in ((F, ember.tensor), (TF, torch.tensor)):
        x = make(a, requires_grad=True)
        y = lib.batch_norm(x[..., ::2], None, None, training=True)
        y.backward(make(g.transpose(0, 1, 3, 2).copy()).transpose(2, 3))
        results.append([y.detach().numpy(), x.grad.numpy()])
    assert calls["batch_norm_train"] == calls["batch_norm_train_backward"] == 1
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, **TOL["float64"])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_batch_norm_eval_against_torch(calls, dtype):
    """Inference runs the fused multiply-add kernel; with a gradient to record, the ember ops."""
    shape, c = (6, 5, 4, 3), 5
    a = _array(shape, dtype)
    stats = [np.abs(_array((c,), dtype, seed=s)) + 0.1 for s in (1, 2, 3, 4)]
    want = TF.batch_norm(torch.tensor(a), *(torch.tensor(s) for s in stats), training=False).numpy()
    with ember.no_grad():
        got = F.batch_norm(ember.tensor(a), *(ember.tensor(s) for s in stats), training=False)
    assert calls["channel_affine"] == 1
    np.testing.assert_allclose(got.numpy(), want, **TOL[dtype])
    x = ember.tensor(a, requires_grad=True)
    F.batch_norm(x, *(ember.tensor(s) for s in stats), training=False).sum().backward()
    assert calls["channel_affine"] == 1 and x.grad is not None


@pytest.mark.parametrize("case", ["offset", "outliers"])
def test_batch_norm_numerically_hard_channels(calls, case):
    """float32 statistics against float64 ones where cheap formulas lose digits: a mean far from
    0 next to a small spread (a float32 mean is off by a twentieth of a standard deviation; a
    one-pass float32 sum of squares loses everything), and a first sample of outliers (the
    kernel's shift for its one-pass sums comes from that sample)."""
    a = _array((16, 3, 8, 8), "float64")
    if case == "offset":
        a = 1e4 + 1e-2 * a
    else:
        a[0] *= 1e4
    a = a.astype(np.float32)
    x64 = torch.tensor(a, dtype=torch.float64)
    want = TF.batch_norm(x64, None, None, training=True).numpy()
    got = F.batch_norm(ember.tensor(a), None, None, training=True).numpy()
    assert calls["batch_norm_train"] == 1
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-3 if case == "offset" else 1e-5)
    # the running variance (unbiased) to float32's resolution
    rm, rv = ember.zeros(3), ember.zeros(3)
    F.batch_norm(ember.tensor(a), rm, rv, training=True, momentum=1.0)
    np.testing.assert_allclose(rv.numpy(), x64.transpose(0, 1).reshape(3, -1).var(1).numpy(), rtol=1e-6)
    np.testing.assert_allclose(rm.numpy(), x64.transpose(0, 1).reshape(3, -1).mean(1).numpy(), rtol=1e-6,
                               atol=1e-6)


@pytest.mark.parametrize("case", ["inf", "nan", "huge", "constant", "huge_weight"])
def test_batch_norm_falls_back_to_numpy_on_edge_values(calls, case):
    """Where the kernel's input or result is not finite, or a variance is below the smallest
    normal number, the NumPy path (which rescales) gives the result: exactly its values."""
    a = _array((4, 3, 5, 5), "float32")
    w = np.ones(3, np.float32)
    if case == "inf":
        a[1, 1, 2, 2] = np.inf
    elif case == "nan":
        a[0, 2, 0, 0] = np.nan
    elif case == "huge":
        a[:, 0] *= 3e37
    elif case == "constant":
        a[:, 1] = 7.0
    else:
        w[2] = 3e38
    g = _array(a.shape, "float32", seed=1)
    results = []
    for off in (False, True):
        x, wt = ember.tensor(a, requires_grad=True), ember.tensor(w, requires_grad=True)
        rm, rv = ember.zeros(3), ember.ones(3)
        with kernels.off() if off else nullcontext(), np.errstate(all="ignore"):
            y = F.batch_norm(x, rm, rv, wt, None, training=True)
            y.backward(ember.tensor(g))
        results.append([t.detach().numpy() for t in (y, rm, rv, x.grad, wt.grad)])
    assert calls["batch_norm_train"] == 1
    for got, ref in zip(results[0][:3], results[1][:3]):
        np.testing.assert_array_equal(got, ref)
    # the statistics were rescaled (the gradient's NumPy path follows), or were ordinary: the
    # gradient's kernel runs, and gives the NumPy path's infinities
    assert calls.get("batch_norm_train_backward", 0) == (case == "huge_weight")
    for got, ref in zip(results[0][3:], results[1][3:]):
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


def test_batch_norm_rows_stay_on_numpy(calls):
    """(N, C) inputs keep the NumPy path, which is faster there."""
    x = ember.tensor(_array((32, 5), np.float32), requires_grad=True)
    F.batch_norm(x, None, None, training=True).sum().backward()
    assert not calls


def test_batch_norm_half_forward_stays_on_numpy(calls):
    """float16 inputs (statistics rounded to float16, computed in float32) keep the NumPy
    forward; their gradient, float32 arrays with those statistics, runs the kernel."""
    a = _array((4, 3, 6, 6), np.float16)
    g = _array(a.shape, np.float16, seed=1)
    grads = []
    for off in (False, True):
        x = ember.tensor(a, requires_grad=True)
        with kernels.off() if off else nullcontext():
            F.batch_norm(x, None, None, training=True).backward(ember.tensor(g))
        grads.append(x.grad.numpy())
    assert calls == {"batch_norm_train_backward": 1}
    np.testing.assert_allclose(grads[0].astype(np.float32), grads[1].astype(np.float32), rtol=1e-3, atol=1e-3)
    want = torch.tensor(a, requires_grad=True)
    TF.batch_norm(want, None, None, training=True).backward(torch.tensor(g))
    np.testing.assert_allclose(grads[0].astype(np.float32), want.grad.float().numpy(), rtol=1e-2, atol=1e-2)


# ---- im2col / col2im ------------------------------------------------------------------------
# (op, input shape, weight shape, keyword arguments): strides, dilations, padding of both
# kinds, groups, 1x1 and 1-d, and transposed convolutions.
CONVS = [
    ("conv2d", (3, 4, 9, 8), (6, 4, 3, 3), dict(stride=2, padding=1)),
    ("conv2d", (2, 6, 11, 10), (4, 3, 3, 2), dict(stride=(2, 3), padding=(2, 0), dilation=(1, 2), groups=2)),
    ("conv2d", (2, 3, 5, 5), (2, 3, 4, 4), dict(stride=2, padding=3)),        # windows mostly padding
    ("conv2d", (2, 3, 6, 7), (4, 3, 4, 3), dict(padding="same", dilation=(1, 2))),  # uneven padding
    ("conv2d", (2, 3, 7, 7), (5, 3, 1, 1), dict(stride=2)),                   # 1x1 shortcut
    ("conv2d", (2, 4, 8, 8), (4, 1, 3, 3), dict(padding=1, groups=4)),        # depthwise
    ("conv1d", (3, 4, 17), (5, 4, 3), dict(stride=2, padding=2, dilation=2)),
    ("conv_transpose2d", (2, 5, 4, 6), (5, 3, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    ("conv_transpose1d", (2, 4, 7), (4, 6, 5), dict(stride=3, padding=2)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op,xs,ws,kw", CONVS)
def test_im2col_col2im_against_numpy_and_torch(calls, without_onednn, op, xs, ws, kw, dtype):
    """Values and the gradients of input and weight: the same bits as the NumPy path (the same
    sums in the same order), and torch's values."""
    a, w = _array(xs, dtype), _array(ws, dtype, seed=2)
    out_shape = tuple(getattr(TF, op)(torch.tensor(a), torch.tensor(w), **kw).shape)
    g = _array(out_shape, dtype, seed=1)

    def run(lib, tensor):
        x, wt = tensor(a), tensor(w)
        x.requires_grad_(), wt.requires_grad_()
        getattr(lib, op)(x, wt, **kw).backward(tensor(g))
        return [t.detach().numpy() for t in (getattr(lib, op)(x, wt, **kw), x.grad, wt.grad)]
    got = run(F, ember.tensor)
    assert calls.get("im2col_2d", 0) >= 1 and calls.get("im2col_2d", 0) + calls.get("col2im_2d", 0) >= 3
    with kernels.off():
        ref = run(F, ember.tensor)
    want = run(TF, torch.tensor)
    for e, r, t in zip(got, ref, want):
        np.testing.assert_array_equal(e, r)
        np.testing.assert_allclose(e, t, **TOL[dtype])


def test_conv3d_and_half_stay_on_numpy(calls, without_onednn):
    x3 = ember.tensor(_array((1, 2, 5, 5, 5), "float32"), requires_grad=True)
    F.conv3d(x3, ember.tensor(_array((2, 2, 3, 3, 3), "float32")), stride=2).sum().backward()
    xh = ember.tensor(_array((1, 2, 5, 5), "float16"))
    F.conv2d(xh, ember.tensor(_array((2, 2, 3, 3), "float16")))
    assert calls == {}


# ---- ReLU --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("size", [4096, 70_001])  # from 4096 elements: smaller ones take NumPy's
def test_relu_against_numpy_and_torch(calls, dtype, size):
    """The kernel's ReLU equals the NumPy path's and PyTorch's bit for bit, -0.0 and NaN
    passing through; a strided input takes the NumPy path."""
    a = _array(size, dtype)
    a[:4] = [-0.0, np.nan, -np.inf, np.inf]
    got = ember.relu(ember.tensor(a)).numpy()
    assert calls == {"relu": 1}
    with kernels.off():
        ref = ember.relu(ember.tensor(a)).numpy()
    want = torch.relu(torch.tensor(a)).numpy()
    for other in (ref, want):
        np.testing.assert_array_equal(got, other)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(other))
    strided = ember.relu(ember.tensor(a)[::2]).numpy()
    small = ember.relu(ember.tensor(a[:4095])).numpy()
    assert calls == {"relu": 1}
    np.testing.assert_array_equal(strided, want[::2])
    np.testing.assert_array_equal(small, want[:4095])
    np.testing.assert_array_equal(np.signbit(small), np.signbit(want[:4095]))


# ---- the masked gradient of ReLU and clamp ---------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kernel,fn", [("unless_at_most", lambda lib, x: lib.relu(x)),
                                       ("unless_at_most", lambda lib, x: lib.nn.functional.threshold(x, 0.25, -2.0)),
                                       ("inside", lambda lib, x: x.clamp(-0.5, 0.7)),
                                       ("strictly_inside", lambda lib, x: lib.nn.functional.hardtanh(x))])
def test_masked_gradient_against_numpy_and_torch(calls, kernel, fn, dtype):
    """inf and nan in the incoming gradient where the mask is off give 0 (a selection, as in
    PyTorch), not inf * 0 = nan; a NaN input passes ReLU's and threshold's gradient (PyTorch's
    hardtanh passes it or not by the tensor's length)."""
    a = _array((3, 4, 5, 6), dtype)
    if kernel == "unless_at_most":
        a.reshape(-1)[7] = np.nan
    g = _array((3, 4, 5, 6), dtype, seed=1)
    off = np.argwhere(a.reshape(-1) < -1.5)[:3, 0]
    g.reshape(-1)[off] = [np.inf, -np.inf, np.nan][:len(off)]
    got = _run(lambda x: fn(ember, x), a, g)
    assert calls.get(kernel, 0) == 1
    with kernels.off():
        ref = _run(lambda x: fn(ember, x), a, g)
    want = _run_torch(lambda x: fn(torch, x), a, g)
    np.testing.assert_array_equal(got[1], ref[1])
    np.testing.assert_array_equal(got[1], want[1])
    assert len(off) == 3 and np.isfinite(got[1].reshape(-1)[off]).all()


def test_masked_gradient_of_a_strided_gradient_takes_numpy(calls):
    """A transpose after the ReLU hands it a transposed gradient: the NumPy path runs it."""
    a, g = _array((4, 6), "float32"), _array((6, 4), "float32", seed=1)
    got = _run(lambda x: ember.relu(x).t(), a, g)
    assert calls.get("unless_at_most", 0) == 0
    np.testing.assert_array_equal(got[1], _run_torch(lambda x: torch.relu(x).t(), a, g)[1])


# ---- cross-entropy of small logits ------------------------------------------------------------
def _logits(rows, classes, dtype):
    """Logits with a NaN, an inf, a row of -inf and a row far from zero, and targets with
    ignored rows (ignore_index 2)."""
    a = _array((rows, classes), dtype)
    a[3, 4], a[6, 2], a[8] = np.nan, np.inf, -np.inf
    a[10] += 80
    t = np.random.default_rng(1).integers(0, classes, rows)
    t[[1, 9, 11]] = 2
    return a, t


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("rows,classes", [(37, 11), (1, 3), (128, 10), (64, 128), (40, 3001), (13, 20000)])
def test_cross_entropy_kernels_against_numpy_and_torch(calls, dtype, reduction, rows, classes):
    """Small logits take the kernels (rows x classes <= 8192), wider float32 ones the wide-rows
    kernel and float64 ones NumPy's passes; all give PyTorch's loss and gradient, NaN, +inf and
    -inf rows and ignored targets included."""
    a, t = (_logits(rows, classes, dtype) if rows > 11 else
            (_array((rows, classes), dtype), np.full(rows, 1)))
    g = _array((rows,) if reduction == "none" else (), dtype, seed=2)

    def run(lib, tensor):
        x = tensor(a).requires_grad_()
        loss = lib.nn.functional.cross_entropy(x, tensor(t), ignore_index=2, reduction=reduction)
        loss.backward(tensor(g))
        return loss.detach().numpy(), x.grad.numpy()
    got = run(ember, ember.tensor)
    assert calls.get("cross_entropy_rows", 0) == (rows * classes <= 8192)
    assert calls.get("cross_entropy_wide", 0) == (rows * classes > 8192 and dtype == "float32")
    assert calls.get("scale_rows", 0) == (rows * classes > 8192)  # the backward's product
    with kernels.off():
        ref = run(ember, ember.tensor)
    want = run(torch, torch.tensor)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else TOL[dtype]
    for e, r, w in zip(got, ref, want):
        np.testing.assert_allclose(e, r, **tol)
        np.testing.assert_allclose(e, w, **tol)


# ---- the LSTM cell ---------------------------------------------------------------------------------
def _recurrent_run(lib, tensor, layer, x, g):
    """Output, final state(s), the input's and every parameter's gradient."""
    xt = tensor(x).requires_grad_()
    out, state = layer(xt)
    (out * tensor(g)).sum().backward()
    states = state if isinstance(state, tuple) else (state,)
    return [out.detach().numpy(), *(s.detach().numpy() for s in states), xt.grad.numpy()] + [
        p.grad.numpy() for p in layer.parameters()]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("mode,kw", [("LSTM", dict(num_layers=2)), ("LSTM", dict(proj_size=3)),
                                     ("LSTM", dict(bidirectional=True)), ("GRU", dict(num_layers=2)),
                                     ("GRU", dict(bias=False)), ("GRU", dict(bidirectional=True))])
def test_recurrent_cell_kernels_give_the_numpy_paths_bits(calls, without_onednn, dtype, mode, kw):
    """Outputs, final states and every gradient equal the NumPy passes' bit for bit (the
    loops multiply and add in their order), and PyTorch's to rounding. (oneDNN off: it runs
    float32 LSTM layers whole, backend/lstm.py.)"""
    ember.manual_seed(0)
    layer = getattr(ember.nn, mode)(5, 6, **kw).to(getattr(ember, dtype))
    x = _array((7, 4, 5), dtype)
    g = _array((7, 4, (2 if kw.get("bidirectional") else 1) * kw.get("proj_size", 6)), dtype, seed=1)
    got = _recurrent_run(ember, ember.tensor, layer, x, g)
    kernel = mode.lower() + "_cell_"
    assert sum(v for k, v in calls.items() if k.startswith(kernel) and "backward" not in k) >= 7
    assert calls.get(kernel + "backward", 0) >= 7
    layer.zero_grad()
    with kernels.off():
        ref = _recurrent_run(ember, ember.tensor, layer, x, g)
    reference = getattr(torch.nn, mode)(5, 6, **kw).to(getattr(torch, dtype))
    with torch.no_grad():
        for p, q in zip(reference.parameters(), layer.parameters()):
            p.copy_(torch.tensor(q.detach().numpy()))
    want = _recurrent_run(torch, torch.tensor, reference, x, g)
    assert len(got) == len(want)
    for e, r, w in zip(got, ref, want):
        np.testing.assert_array_equal(e, r)
        np.testing.assert_allclose(e, w, **TOL[dtype])


# ---- in-place add and sub ------------------------------------------------------------------------
@pytest.mark.parametrize("shape,kernel", [((37, 5), "axpy"), ((301, 233), "axpy_parallel")])  # over the cores
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("method,alpha", [("add_", -20.0), ("add_", 1), ("sub_", 0.3), ("sub_", 3), ("add_", 2 ** 60)])
def test_in_place_add_in_one_pass_equals_the_generic_path(calls, dtype, method, alpha, shape, kernel):
    """p.data.add_(p.grad, alpha=-lr): the kernel's bits are the generic path's (which computes
    out of place and copies in) and PyTorch's to rounding; the version counter moves."""
    a, b = _array(shape, dtype), _array(shape, dtype, seed=1)
    x = ember.tensor(a)
    version = x._version
    assert getattr(x, method)(ember.tensor(b), alpha=alpha) is x
    assert calls.get(kernel, 0) == (abs(alpha) <= 2 ** 53) and x._version == version + 1
    with kernels.off():
        ref = getattr(ember.tensor(a), method)(ember.tensor(b), alpha=alpha)
    np.testing.assert_array_equal(x.numpy(), ref.numpy())
    want = getattr(torch.tensor(a), method)(torch.tensor(b), alpha=alpha).numpy()
    # PyTorch fuses the multiply-add (one rounding): within a few ulps of the product
    np.testing.assert_allclose(x.numpy(), want, rtol=0, atol=4 * np.finfo(dtype).eps * abs(alpha) * np.abs(b).max())


@pytest.mark.parametrize("case", ["self", "alias", "view", "broadcast", "int", "recorded"])
def test_in_place_add_cases_left_to_the_generic_path(calls, case):
    a = _array((6, 6), "float32")
    x, other = ember.tensor(a), ember.tensor(_array((6, 6), "float32", seed=1))
    target = x
    if case == "self":  # the same array on both sides is safe for the kernel
        other = x
    elif case == "alias":  # another array over self's memory
        other = x.view(6, 6)
    elif case == "view":
        target = x[1:]
        other = other[1:]
    elif case == "broadcast":
        other = ember.tensor(_array((6,), "float32"))
    elif case == "int":
        target, other = ember.tensor(np.arange(36).reshape(6, 6)), ember.tensor(np.ones((6, 6), np.int64))
    else:
        target = ember.tensor(a, requires_grad=True) * 1
        other.requires_grad_()
    expected = target.detach().numpy() + 2 * other.detach().numpy()
    target.add_(other, alpha=2)
    assert calls.get("axpy", 0) == (case == "self")
    np.testing.assert_allclose(target.detach().numpy(), expected, rtol=1e-6)


def test_in_place_add_keeps_the_leaf_rule():
    leaf = ember.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        leaf.add_(ember.ones(3), alpha=-0.1)
    with ember.no_grad():
        leaf.add_(ember.ones(3), alpha=-0.5)
    np.testing.assert_array_equal(leaf.detach().numpy(), [0.5] * 3)


@pytest.mark.parametrize("shape,kernel", [((37, 5), "scale"), ((301, 233), "scale_parallel")])  # over the cores
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("number", [0.3, -20.0, 3, 2 ** 40, 1e300, float("nan")])
def test_in_place_mul_by_a_number_in_one_pass_equals_the_generic_path(calls, dtype, number, shape, kernel):
    """x.mul_(number) and x *= number: the kernel's bits are the generic path's and PyTorch's
    values; the version counter moves."""
    a = _array(shape, dtype)
    x = ember.tensor(a)
    version = x._version
    assert x.mul_(number) is x
    # beyond float32's range, and NaN: the generic path's rules
    held = not (dtype == "float32" and number == 1e300) and number == number
    assert calls.get(kernel, 0) == held and x._version == version + 1
    with kernels.off():
        ref = ember.tensor(a).mul_(number)
    np.testing.assert_array_equal(x.numpy(), ref.numpy())
    y = ember.tensor(a)
    y *= number
    np.testing.assert_array_equal(y.numpy(), ref.numpy())
    if held:
        np.testing.assert_allclose(x.numpy(), torch.tensor(a).mul_(number).numpy(), rtol=1e-7)


@pytest.mark.parametrize("case", ["view", "tensor", "int", "recorded"])
def test_in_place_mul_cases_left_to_the_generic_path(calls, case):
    a = _array((6, 6), "float32")
    x, other = ember.tensor(a), 2.5
    target = x
    if case == "view":
        target = x[1:]
    elif case == "tensor":
        other = ember.full((6, 6), 2.5)
    elif case == "int":
        target = ember.tensor(np.arange(36).reshape(6, 6))
        other = 2
    else:
        target = ember.tensor(a, requires_grad=True) * 1
    expected = target.detach().numpy() * 2.5 if case != "int" else np.arange(36).reshape(6, 6) * 2
    target.mul_(other)
    assert calls.get("scale", 0) == 0
    np.testing.assert_allclose(target.detach().numpy(), expected, rtol=1e-6)


def test_in_place_mul_keeps_the_leaf_rule():
    leaf = ember.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        leaf.mul_(0.5)
    with ember.no_grad():
        leaf.mul_(0.5)
    np.testing.assert_array_equal(leaf.detach().numpy(), [0.5] * 3)


def test_threads_calling_kernels_at_once():
    """Python threads pooling and normalizing at the same time (the kernels take turns: the
    workqueue pool aborts the process on concurrent launches) get their own results."""
    a = _array((8, 6, 16, 16), "float32")
    with kernels.off():
        want = F.batch_norm(F.max_pool2d(ember.tensor(a), 2), None, None, training=True).numpy()
    results = results_in_threads(
        lambda: F.batch_norm(F.max_pool2d(ember.tensor(a), 2), None, None, training=True).numpy(), threads=4)
    for r in results:
        np.testing.assert_allclose(r, want, **TOL["float32"])


# ---- ember without Numba -----------------------------------------------------------------
_SCRIPT = """
import json, sys
import numpy as np
import ember, ember.nn.functional as F
from ember.backend import kernels
assert "numba" not in sys.modules  # importing ember imports no Numba
rng = np.random.default_rng(0)
x = ember.tensor(rng.standard_normal((4, 3, 8, 6)).astype(np.float32), requires_grad=True)
y = F.batch_norm(F.max_pool2d(x, 2), None, None, training=True)
y.backward(ember.tensor(rng.standard_normal(tuple(y.shape)).astype(np.float32)))
print(json.dumps({"on": kernels.cpu() is not None, "numba": "numba" in sys.modules,
                  "y": y.detach().numpy().tolist(), "grad": x.grad.numpy().tolist()}))
"""


@pytest.mark.parametrize("setting", ["0", "1"])
def test_numba_off_by_environment(setting):
    """EMBER_NUMBA=0 keeps Numba out (the NumPy paths run) and gives the kernels' values."""
    env = dict(os.environ, EMBER_NUMBA=setting)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    done = subprocess.run([sys.executable, "-c", _SCRIPT], env=env, cwd=root, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["on"] == out["numba"] == (setting == "1")
    rng = np.random.default_rng(0)
    x = ember.tensor(rng.standard_normal((4, 3, 8, 6)).astype(np.float32), requires_grad=True)
    y = F.batch_norm(F.max_pool2d(x, 2), None, None, training=True)
    y.backward(ember.tensor(rng.standard_normal(tuple(y.shape)).astype(np.float32)))
    np.testing.assert_allclose(np.array(out["y"], np.float32), y.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.array(out["grad"], np.float32), x.grad.numpy(), rtol=1e-5, atol=1e-5)


def _child(queue):
    queue.put(kernels.cpu() is None)


def test_forked_process_runs_numpy_paths():
    """A process forked after the kernels ran (a DataLoader worker) does not use them: a forked
    child's first parallel call may deadlock on the parent's thread pool."""
    F.max_pool2d(ember.randn(2, 2, 4, 4), 2)
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child, args=(queue,))
    child.start()
    child.join(60)
    assert queue.get(timeout=5) is True


# ---- elementwise kernels of any one dense layout -------------------------------------------
def _relaid(a, layout):
    t = ember.tensor(a)
    if layout == "channels_last":
        return t.contiguous(memory_format=ember.channels_last)
    return t.transpose(1, 3).contiguous().transpose(1, 3)  # dense, in a transposed order


ELEMENTWISE = [  # (kernel module, kernel, op of two same-shaped tensors; x needs a gradient)
    ("select", "relu", lambda x, y: F.relu(x) * 1.0),
    ("select", "unless_at_most", lambda x, y: F.relu(x)),
    ("select", "leaky_relu", lambda x, y: F.leaky_relu(x, 0.1)),
    ("pointwise", "silu", lambda x, y: F.silu(x)),
    ("pointwise", "sigmoid", lambda x, y: ember.sigmoid(x)),
    ("arith", "mul", lambda x, y: x * y),
    ("arith", "add", lambda x, y: x + y),
]


@pytest.mark.parametrize("layout", ["channels_last", "transposed"])
@pytest.mark.parametrize("module,kernel,op", ELEMENTWISE, ids=[k for _, k, _ in ELEMENTWISE])
def test_elementwise_kernels_take_any_one_dense_layout(monkeypatch, module, kernel, op, layout):
    """Operands laid out alike in a dense order other than row-major run the same flat kernels,
    with the row-major results' bits, and keep their layout."""
    from helpers import count_calls
    shape = (4, 32, 24, 24)  # above the kernels' thresholds
    a, b = _array(shape, "float32"), _array(shape, "float32", seed=1)
    g = _array(shape, "float32", seed=2)
    results = []
    for relaid in (False, True):
        x = (_relaid(a, layout) if relaid else ember.tensor(a)).requires_grad_()
        y = _relaid(b, layout) if relaid else ember.tensor(b)
        counts = count_calls(monkeypatch, getattr(kernels.cpu(), module), [kernel, kernel + "_parallel"]
                             if hasattr(getattr(kernels.cpu(), module), kernel + "_parallel") else [kernel])
        out = op(x, y)
        out.backward(_relaid(g, layout) if relaid else ember.tensor(g))
        assert sum(counts.values()) >= 1, counts
        if relaid:
            assert out._data.strides == x._data.strides and x.grad._data.strides == x._data.strides
        results.append([np.ascontiguousarray(out.detach().numpy()), np.ascontiguousarray(x.grad.numpy())])
    for row_major, other in zip(*results):
        np.testing.assert_array_equal(other.view(np.uint8), row_major.view(np.uint8))
