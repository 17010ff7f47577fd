"""Batch norm of channels-last inputs (NHWC data seen as NCHW, ``ember.channels_last``; NDHWC for
``channels_last_3d``; (N, L, C) data seen as (N, C, L)): the rows kernels (kernels/norm_rows.py)
and the NumPy path against PyTorch on channels-last tensors (values, every gradient, running
statistics, double backward, float64 finite differences), results laid out channels last, the
rows kernels against the (N, C, L) ones, non-finite values as the (N, C, L) path has them, and
results that do not depend on the number of threads."""
from contextlib import nullcontext

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember._layout import is_contiguous_as
from ember.backend import kernels
from ember.ops.batch_norm import batch_norm_relu
from helpers import copy_weights, count_calls, num_threads, torch

TF = torch.nn.functional
TOL = {np.float32: dict(rtol=1e-4, atol=1e-4), np.float64: dict(rtol=1e-10, atol=1e-10)}
DTYPES = [np.float32, np.float64]
# C = 3, 5, 17, 64; H x W = 1x7, 5x3, 8x8, 32x32; N = 1, 2, 7; then channels_last_3d and (N, L, C)
SHAPES = [(2, 3, 5, 3), (7, 5, 1, 7), (1, 17, 8, 8), (2, 64, 8, 8), (2, 5, 32, 32), (7, 17, 5, 3),
          (1, 3, 1, 7), (2, 64, 32, 32), (2, 5, 3, 4, 2), (1, 17, 2, 3, 4), (4, 6, 9)]
ROWS_KERNELS = ["batch_norm_train_rows", "batch_norm_train_backward_rows", "channel_affine_rows"]
NCHW_KERNELS = ["batch_norm_train", "batch_norm_train_backward", "channel_affine"]

needs_kernels = pytest.mark.skipif(kernels.cpu() is None, reason="compiled kernels are off (numba missing or "
                                                                  "EMBER_NUMBA=0)")


def _channels_last(a):
    """``a`` (N, C, *) with the same values, laid out channels last."""
    order = (0, *range(2, a.ndim), 1)
    return np.ascontiguousarray(a.transpose(order)).transpose(np.argsort(order))


def _is_channels_last(a) -> bool:
    if a.ndim in (4, 5):
        return is_contiguous_as(a, ember.channels_last if a.ndim == 4 else ember.channels_last_3d)
    return a.transpose(0, *range(2, a.ndim), 1).flags.c_contiguous


def _data(shape, dtype, seed=0):
    """(x, g, weight, bias): x channels last (values of mean 1.5, spread 3), g in C order."""
    rng = np.random.default_rng(seed)
    c = shape[1]
    x = _channels_last((rng.standard_normal(shape) * 3 + 1.5).astype(dtype))
    return (x, rng.standard_normal(shape).astype(dtype), rng.uniform(0.5, 1.5, c).astype(dtype),
            rng.uniform(-0.5, 0.5, c).astype(dtype))


def _tensor(lib, a, requires_grad=False):
    """A tensor of lib (ember or torch) holding a copy of ``a`` in a's layout. PyTorch's copies of
    channels-last arrays of 4 or 5 dims take its memory format's own strides: with the strides
    NumPy gives dims of size 1, its batch norm's input gradient came out wrong ((1, 3, 1, 7))."""
    if lib is torch and a.ndim in (4, 5) and _is_channels_last(a):
        fmt = torch.channels_last if a.ndim == 4 else torch.channels_last_3d
        t = torch.tensor(np.ascontiguousarray(a)).contiguous(memory_format=fmt)
    else:
        a = a.copy(order="K")
        t = ember.from_numpy(a) if lib is ember else torch.from_numpy(a)
        assert t.stride() == tuple(s // a.itemsize for s in a.strides)
    return t.requires_grad_() if requires_grad else t


def _run(lib, x0, g0, weight, bias, stats, training=True, relu=False):
    """Batch norm (then ReLU) of x0 in lib, backward from g0, all arrays in the layout given:
    [y, x.grad, weight.grad, bias.grad, running_mean, running_var] (None where absent), as arrays."""
    c = x0.shape[1]
    x = _tensor(lib, x0, True)
    w = None if weight is None else _tensor(lib, weight, True)
    b = None if bias is None else _tensor(lib, bias, True)
    rm = _tensor(lib, np.full(c, 0.5, x0.dtype)) if stats else None
    rv = _tensor(lib, np.full(c, 2.0, x0.dtype)) if stats else None
    args = (x, rm, rv, w, b, training, 0.2, 1e-4)
    if lib is ember:
        y = (batch_norm_relu if relu else F.batch_norm)(*args)
    else:
        y = TF.batch_norm(*args)
        y = torch.relu(y) if relu else y
    y.backward(_tensor(lib, g0))
    data = (lambda t: t._data) if lib is ember else (lambda t: t.detach().numpy())
    return [None if t is None else data(t) for t in (y, x.grad, None if w is None else w.grad,
                                                      None if b is None else b.grad, rm, rv)]


def _assert_close(got, want, dtype, **kw):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert (g is None) == (w is None)
        if g is not None:
            np.testing.assert_allclose(g, w, **{**TOL[dtype], **kw})


@pytest.mark.parametrize("grad_layout", ["nchw", "channels_last"])
@pytest.mark.parametrize("relu", [False, True], ids=["batch_norm", "batch_norm_relu"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_training_matches_pytorch(shape, dtype, relu, grad_layout):
    x, g, w, b = _data(shape, dtype)
    if grad_layout == "channels_last":
        g = _channels_last(g)
    want = _run(torch, x, g, w, b, True, relu=relu)
    got = _run(ember, x, g, w, b, True, relu=relu)
    _assert_close(got, want, dtype)
    assert _is_channels_last(got[0]) and _is_channels_last(got[1])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("stats", [True, False], ids=["running_stats", "no_stats"])
@pytest.mark.parametrize("params", ["weight_bias", "weight", "bias", "none"])
@pytest.mark.parametrize("relu", [False, True], ids=["batch_norm", "batch_norm_relu"])
def test_parameters_and_running_statistics_optional(relu, params, stats, dtype):
    x, g, w, b = _data((7, 5, 5, 3), dtype, seed=1)
    w = w if "weight" in params else None
    b = b if "bias" in params else None
    want = _run(torch, x, g, w, b, stats, relu=relu)
    got = _run(ember, x, g, w, b, stats, relu=relu)
    _assert_close(got, want, dtype)
    assert _is_channels_last(got[0]) and _is_channels_last(got[1])


@pytest.mark.parametrize("grad", [False, True], ids=["no_grad", "grad"])
@pytest.mark.parametrize("relu", [False, True], ids=["batch_norm", "batch_norm_relu"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(2, 3, 5, 3), (2, 64, 8, 8), (7, 17, 1, 7), (2, 5, 3, 4, 2), (4, 6, 9)])
def test_evaluation_mode_matches_pytorch(shape, dtype, relu, grad):
    """Without a gradient to record, the folded multiply-add kernel; with one, ember ops."""
    x, g, w, b = _data(shape, dtype, seed=2)
    if grad:
        want = _run(torch, x, g, w, b, True, training=False, relu=relu)
        got = _run(ember, x, g, w, b, True, training=False, relu=relu)
        _assert_close(got, want, dtype)
        assert _is_channels_last(got[0])
        return
    c = shape[1]
    rm, rv = np.linspace(-1, 1, c).astype(dtype), np.linspace(0.5, 2, c).astype(dtype)
    want = TF.batch_norm(*(_tensor(torch, a) for a in (x, rm, rv, w, b)), training=False)
    want = (torch.relu(want) if relu else want).numpy()
    with ember.no_grad():
        got = (batch_norm_relu if relu else F.batch_norm)(*(_tensor(ember, a) for a in (x, rm, rv, w, b)),
                                                          training=False)._data
    np.testing.assert_allclose(got, want, **TOL[dtype])
    assert _is_channels_last(got)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(7, 5, 5, 3), (2, 17, 3, 4, 2)])
def test_modules_match_pytorch(shape, dtype):
    """BatchNorm2d / BatchNorm3d: two training steps, then evaluation, on channels-last inputs."""
    name = "BatchNorm2d" if len(shape) == 4 else "BatchNorm3d"
    torch_dtype = torch.float64 if dtype == np.float64 else torch.float32
    t_mod = getattr(torch.nn, name)(shape[1], momentum=0.3).to(torch_dtype)
    with torch.no_grad():
        t_mod.weight.uniform_(0.5, 1.5)
        t_mod.bias.uniform_(-0.5, 0.5)
    e_mod = getattr(ember.nn, name)(shape[1], momentum=0.3).to(ember.float64 if dtype == np.float64 else ember.float32)
    copy_weights(e_mod, t_mod)
    results = []
    for lib, mod in ((torch, t_mod), (ember, e_mod)):
        out = []
        for step in range(2):
            x, g, _, _ = _data(shape, dtype, seed=10 + step)
            xt = _tensor(lib, x, True)
            y = mod(xt)
            y.backward(_tensor(lib, g))
            out += [y, xt.grad]
        mod.eval()
        with (torch.no_grad() if lib is torch else ember.no_grad()):
            out.append(mod(_tensor(lib, _data(shape, dtype, seed=12)[0])))
        out += [p.grad for p in mod.parameters()] + list(mod.buffers())
        results.append([np.asarray(t.detach().numpy()) for t in out])
    _assert_close(results[1], results[0], dtype)


@needs_kernels
@pytest.mark.parametrize("case", ["channels_last", "channels_last_3d", "nlc", "contiguous", "one_channel",
                                  "1x1", "rows_only"])
def test_kernel_choice(monkeypatch, case):
    """Channels-last inputs take the rows kernels, forward, backward and in evaluation; C-contiguous
    ones (as are arrays of one channel and of 1x1 planes, channels last or not) the (N, C, L) ones;
    (N, C) inputs and 1x1 planes stay on NumPy."""
    shape = {"channels_last": (4, 8, 3, 5), "channels_last_3d": (2, 8, 3, 2, 2), "nlc": (4, 8, 6),
             "contiguous": (4, 8, 3, 5), "one_channel": (4, 1, 3, 5), "1x1": (4, 8, 1, 1),
             "rows_only": (4, 8)}[case]
    x, g, w, b = _data(shape, np.float32) if len(shape) > 2 else [np.ones(shape, np.float32)] * 2 + [None] * 2
    if case == "contiguous":
        x = np.ascontiguousarray(x)
    k = kernels.cpu()
    calls = count_calls(monkeypatch, k.norm_rows, ROWS_KERNELS)
    count_calls(monkeypatch, k.norm, NCHW_KERNELS, calls)
    _run(ember, x, g, w, b, True)
    with ember.no_grad():
        out = F.batch_norm(_tensor(ember, x), *(_tensor(ember, np.ones(shape[1], np.float32)),) * 2,
                           training=False)
    if case in ("channels_last", "channels_last_3d", "nlc"):
        assert calls == dict.fromkeys(ROWS_KERNELS, 1)
        assert _is_channels_last(out._data)
    elif case in ("contiguous", "one_channel"):
        assert calls == dict.fromkeys(NCHW_KERNELS, 1)
        assert out._data.flags.c_contiguous
    else:
        assert not calls


@pytest.mark.parametrize("relu", [False, True], ids=["batch_norm", "batch_norm_relu"])
def test_double_backward_matches_pytorch(relu):
    x0, g0, w0, b0 = _data((6, 3, 4, 4), np.float64, seed=4)
    grads = []
    for lib in (torch, ember):
        x, w, b = _tensor(lib, x0, True), _tensor(lib, w0, True), _tensor(lib, b0, True)
        if lib is ember:
            y = (batch_norm_relu if relu else F.batch_norm)(x, None, None, w, b, True)
        else:
            y = TF.batch_norm(x, None, None, w, b, training=True)
            y = torch.relu(y) if relu else y
        gx, = lib.autograd.grad((y * y * _tensor(lib, g0)).sum(), x, create_graph=True)
        second = lib.autograd.grad((gx * gx).sum(), (x, w, b))
        grads.append([t.detach().numpy() for t in (gx, *second)])
    _assert_close(grads[1], grads[0], np.float64)


@pytest.mark.parametrize("relu", [False, True], ids=["batch_norm", "batch_norm_relu"])
@pytest.mark.parametrize("shape", [(5, 3, 4, 2), (3, 2, 2, 3, 2)])
def test_finite_differences(shape, relu):
    x, _, w, b = _data(shape, np.float64, seed=5)
    inputs = [_tensor(ember, a, True) for a in (x, w, b)]

    def fn(x, w, b):
        return (batch_norm_relu if relu else F.batch_norm)(x, None, None, w, b, True)
    assert _is_channels_last(inputs[0]._data)
    assert ember.autograd.gradcheck(fn, inputs, atol=1e-5, rtol=1e-3)
    assert ember.autograd.gradgradcheck(fn, inputs, atol=1e-5, rtol=1e-3)


@pytest.mark.parametrize("case", ["inf", "nan", "huge", "constant", "huge_weight"])
def test_non_finite_and_edge_values_as_the_nchw_path(monkeypatch, case):
    """Where the rows kernel's input or result is not finite, or a variance is below the smallest
    normal number, the NumPy path gives the result, as for C-contiguous inputs."""
    calls = {} if kernels.cpu() is None else count_calls(monkeypatch, kernels.cpu().norm_rows, ROWS_KERNELS[:1])
    x, g, w, b = _data((4, 3, 5, 5), np.float32, seed=6)
    if case == "inf":
        x[1, 1, 2, 2] = np.inf
    elif case == "nan":
        x[0, 2, 0, 0] = np.nan
    elif case == "huge":
        x[:, 0] *= 3e37
    elif case == "constant":
        x[:, 1] = 7.0
    else:
        w[2] = 3e38
    assert _is_channels_last(x)
    with np.errstate(all="ignore"):
        got = _run(ember, x, g, w, b, True)
        want = _run(ember, np.ascontiguousarray(x), g, w, b, True)
    _assert_close(got, want, np.float32, rtol=1e-5, atol=1e-5)  # inf and NaN where the NCHW path has them
    assert calls == ({} if kernels.cpu() is None else {"batch_norm_train_rows": 1})


@needs_kernels
@pytest.mark.parametrize("relu", [False, True], ids=["batch_norm", "batch_norm_relu"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4, 3, 5, 7), (8, 64, 8, 8), (2, 17, 33, 20), (3, 5, 2, 3, 4)])
def test_rows_kernels_agree_with_the_nchw_kernels(shape, dtype, relu):
    """The same values in (N, L, C) and (N, C, L): statistics, outputs, gradients and flags."""
    k = kernels.cpu()
    n, c = shape[:2]
    x, g, w, b = _data(shape, dtype, seed=7)
    layouts = {"nchw": lambda a: np.ascontiguousarray(a).reshape(n, c, -1),
               "rows": lambda a: np.ascontiguousarray(np.moveaxis(a, 1, -1)).reshape(n, -1, c)}
    results = {}
    for name, as3 in layouts.items():
        module, suffix = (k.norm_rows, "_rows") if name == "rows" else (k.norm, "")
        x3, g3 = as3(x), as3(g)
        y3 = np.empty_like(x3)
        stats = [np.empty(c, dtype) for _ in range(4)]
        finite = np.empty(c, np.bool_)
        getattr(module, "batch_norm_train" + suffix)(
            x3, w, b, 1e-5, dtype == np.float32, relu, y3, *stats, finite)
        assert finite.all()
        dx3 = np.empty_like(x3)
        sums = np.empty((2, c), dtype)
        back_finite = np.empty(c, np.bool_)
        getattr(module, "batch_norm_train_backward" + suffix)(
            g3, x3, stats[0], stats[2], w, True, relu, y3, dx3, sums[0], sums[1], np.empty((c, 3), dtype),
            back_finite)
        assert back_finite.all()
        affine = np.empty_like(x3)
        getattr(module, "channel_affine" + suffix)(x3, w, b, affine)
        back = (lambda a: np.moveaxis(a.reshape(n, *shape[2:], c), -1, 1)) if name == "rows" else \
            (lambda a: a.reshape(shape))
        results[name] = [back(y3), back(dx3), back(affine), *stats, *sums]
    tol = dict(rtol=2e-6, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-13)
    for got, want in zip(results["rows"], results["nchw"]):
        np.testing.assert_allclose(got, want, **tol)


@pytest.mark.parametrize("relu", [False, True], ids=["batch_norm", "batch_norm_relu"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_numpy_path_gives_the_same_values_channels_last(dtype, relu):
    """With the kernels off the NumPy path gives the same values, its output and input gradient
    channels last too; in evaluation mode as well."""
    x, g, w, b = _data((6, 17, 5, 4), dtype, seed=8)
    results = []
    for off in (False, True):
        with kernels.off() if off else nullcontext():
            out = _run(ember, x, g, w, b, True, relu=relu)
            with ember.no_grad():
                out.append(F.batch_norm(*(_tensor(ember, a) for a in (x, np.abs(w), np.abs(b), w, b)),
                                        training=False)._data)
        assert _is_channels_last(out[0]) and _is_channels_last(out[1]) and _is_channels_last(out[-1])
        results.append(out)
    _assert_close(results[0], results[1], dtype)


@needs_kernels
def test_results_do_not_depend_on_the_number_of_threads():
    """Blocks of a fixed number of rows, their sums added in block order: the same bits on one
    thread as on all."""
    x, g, w, b = _data((16, 16, 16, 16), np.float32, seed=9)
    results = []
    for n in (1, max(2, ember.get_num_threads())):
        with num_threads(n):
            results.append(_run(ember, x, g, w, b, True, relu=True))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("case", ["offset", "outliers"])
def test_numerically_hard_channels(case):
    """float32 statistics against float64 ones where cheap formulas lose digits: a mean far from 0
    next to a small spread, and a first sample of outliers (the one-pass sums' shift comes from
    the first sample)."""
    a = np.random.default_rng(10).standard_normal((16, 3, 8, 8))
    if case == "offset":
        a = 1e4 + 1e-2 * a
    else:
        a[0] *= 1e4
    x = _channels_last(a.astype(np.float32))
    want = TF.batch_norm(torch.from_numpy(x.astype(np.float64)), None, None, training=True).numpy()
    rm, rv = ember.zeros(3), ember.zeros(3)
    got = F.batch_norm(_tensor(ember, x), rm, rv, training=True, momentum=1.0)._data
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-3 if case == "offset" else 1e-5)
    x64 = x.astype(np.float64).transpose(1, 0, 2, 3).reshape(3, -1)
    np.testing.assert_allclose(rv.numpy(), x64.var(1, ddof=1), rtol=1e-6)
    np.testing.assert_allclose(rm.numpy(), x64.mean(1), rtol=1e-6, atol=1e-6)
