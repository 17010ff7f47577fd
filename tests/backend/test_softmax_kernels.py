"""The compiled softmax and log-softmax gradients (ember/backend/kernels/softmax.py): the
vectorized exp against float64 over float32's whole range, both gradients against PyTorch and
against NumPy's passes (float32 and float64, odd widths, a broadcast gradient, NaN and -inf),
which cases take them, and that the gradient of a gradient still composes tensor ops."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.backend import kernels, onednn
from helpers import count_calls, torch

TOL = {"float32": dict(rtol=2e-5, atol=1e-6), "float64": dict(rtol=1e-12, atol=1e-13)}
RNG = np.random.default_rng(0)

pytestmark = pytest.mark.skipif(kernels.cpu() is None, reason="compiled kernels are off (numba missing or "
                                                                "EMBER_NUMBA=0): the NumPy paths run everywhere")


@pytest.fixture
def calls(monkeypatch):
    """Kernel name -> calls, through the module attribute the op looks up (oneDNN off: on a
    machine with its JIT softmax backward, float32 gradients would go there first)."""
    counts = count_calls(monkeypatch, kernels.cpu().softmax, ("log_softmax_backward", "softmax_backward"))
    with onednn.off():
        yield counts


def _exp32(v: np.ndarray) -> np.ndarray:
    """vmath.exp32 of each element, in a compiled loop as the kernels inline it."""
    from numba import njit
    from ember.backend.kernels import vmath

    @njit(fastmath={"contract"}, error_model="numpy")
    def run(x, out):
        for k in range(x.shape[0]):
            out[k] = vmath.exp32(x[k])
    out = np.empty_like(v)
    run(v, out)
    return out


def _every_float32(lo: float, hi: float) -> np.ndarray:
    """Every float32 in [lo, hi] (lo and hi of one sign)."""
    a, b = sorted(np.float32([lo, hi]).view(np.int32))
    return np.arange(a, b + 1, dtype=np.int32).view(np.float32)


def test_exp_within_one_ulp():
    v = np.concatenate([np.linspace(-87.3, 88.72, 2_000_001), RNG.uniform(-1, 1, 100_000),
                        np.float32([0.0, 1e-30, -1e-30, 88.3762, 88.72283]),
                        _every_float32(88.0, 88.72283),      # where 2^k is 2^127 and 2^128
                        _every_float32(-87.33654, -86.5)]).astype(np.float32)  # 2^-126 and above
    got = _exp32(v).astype(np.float64)
    exact = np.exp(v.astype(np.float64))
    ulp = np.abs(got - exact) / np.spacing(exact.astype(np.float32)).astype(np.float64)
    assert ulp.max() <= 1.0


def test_exp_edge_values():
    v = np.float32([np.nan, np.inf, -np.inf, 88.7229, 1e4, 88.72284, -87.34, -100.0, -1e30, 0.0, -0.0])
    got = _exp32(v)
    assert np.isnan(got[0]) and got[1] == np.inf and got[2] == 0
    assert (got[3:6] == np.inf).all()  # exp's float32 overflow starts at 88.72284
    assert (got[6:9] == 0).all()  # exp is subnormal there (under 1.2e-38): flushed to 0
    assert got[9] == 1 and got[10] == 1


@pytest.mark.parametrize("size", [1, 100, (1 << 14) - 1, 1 << 14, (1 << 16) + 3])
def test_count_of_nan_and_inf_against_numpy(size):
    """The check before oneDNN's softmax: NaN and +inf counted in every block, -inf not."""
    x = RNG.standard_normal(size).astype(np.float32)
    x[RNG.integers(0, size, 7)] = RNG.choice(np.float32([np.nan, np.inf, -np.inf]), 7)
    x[[0, -1]] = np.float32([np.inf, np.nan]) if size > 1 else np.float32(np.nan)
    assert kernels.cpu().softmax.count_nan_or_inf(x) == np.count_nonzero(~(x < np.inf))


def _grads(lib, x, g, dim, log, dtype):
    t = lib.tensor(x.astype(dtype), requires_grad=True)
    y = (lib.nn.functional.log_softmax if log else lib.nn.functional.softmax)(t, dim)
    y.backward(g if lib is ember else torch.tensor(g.numpy()))
    return t.grad.numpy()


@pytest.mark.parametrize("log", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(1, 1), (3, 7), (40, 1000), (5, 2, 10001), (600, 700)])
def test_gradients_against_torch_and_numpy(calls, log, dtype, shape):
    x = (RNG.standard_normal(shape) * 5).astype(dtype)
    g = ember.tensor(RNG.standard_normal(shape).astype(dtype))
    got = _grads(ember, x, g, -1, log, dtype)
    kernel = "log_softmax_backward" if log else "softmax_backward"
    assert set(calls) == (set() if log and dtype == "float64" else {kernel})  # float64 exp stays NumPy's
    with kernels.off():
        numpy = _grads(ember, x, g, -1, log, dtype)
    want = _grads(torch, x, g, -1, log, dtype)
    # PyTorch's forward rounds y on its own: exp(y)'s ulp times the row's sum of g
    row_sums = float(np.abs(g.numpy().astype(np.float64).sum(-1)).max())
    np.testing.assert_allclose(got, want, rtol=TOL[dtype]["rtol"], atol=TOL[dtype]["atol"] * max(1.0, row_sums))
    np.testing.assert_allclose(got, numpy, **TOL[dtype])


@pytest.mark.parametrize("log", [True, False])
def test_broadcast_gradient_and_non_finite_rows(calls, log):
    # a gradient expanded from one row (stride 0), a row with -inf logits, a NaN row
    x = RNG.standard_normal((6, 300)).astype(np.float32)
    x[1, :5] = -np.inf
    x[2, 7] = np.nan
    g = ember.tensor(RNG.standard_normal((1, 300)).astype(np.float32)).expand(6, 300)
    got = _grads(ember, x, g, 1, log, "float32")
    assert sum(calls.values()) > 0
    want = _grads(torch, x, g, 1, log, "float32")
    np.testing.assert_allclose(got, want, **TOL["float32"])  # NaN where PyTorch has NaN


def test_inner_axis_and_float64_log_keep_numpy(calls):
    x = RNG.standard_normal((4, 50, 3)).astype(np.float32)
    g = ember.tensor(RNG.standard_normal((4, 50, 3)).astype(np.float32))
    for log in (True, False):
        np.testing.assert_allclose(_grads(ember, x, g, 1, log, "float32"), _grads(torch, x, g, 1, log, "float32"),
                                   **TOL["float32"])
    assert calls == {}


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_double_backward_composes_tensor_ops(calls, name):
    x = ember.tensor(RNG.standard_normal((8, 40)).astype(np.float32), requires_grad=True)
    xt = torch.tensor(x.detach().numpy(), requires_grad=True)
    w = RNG.standard_normal((8, 40)).astype(np.float32)
    ge, = ember.autograd.grad((getattr(F, name)(x, 1) * ember.tensor(w)).sum(), x, create_graph=True)
    gt, = torch.autograd.grad((getattr(torch.nn.functional, name)(xt, 1) * torch.tensor(w)).sum(), xt,
                              create_graph=True)
    assert calls == {}  # create_graph: the backward is recorded, not a kernel's arrays
    (hx,) = ember.autograd.grad(ge.pow(2).sum(), x)
    (ht,) = torch.autograd.grad(gt.pow(2).sum(), xt)
    np.testing.assert_allclose(hx.numpy(), ht.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("safe", [True, False])
def test_attention_softmax_rows_against_float64_and_numpys_non_finite_rows(safe):
    """softmax_rows (attention's weights, in place): within a few float32 roundings of the
    float64 softmax; rows with a NaN, a +inf or nothing but -inf come out as NumPy's passes
    give them (NaN, or zeros for a fully masked row when ``safe``); -inf entries weigh 0."""
    from ember.ops.attention import _softmax_rows
    x = RNG.standard_normal((300, 37)).astype(np.float32) * 6
    x[1, 3] = np.nan
    x[2, 5] = np.inf
    x[3] = -np.inf
    x[4, ::2] = -np.inf
    exact = np.exp(x.astype(np.float64) - x.max(-1, keepdims=True))
    exact /= exact.sum(-1, keepdims=True)
    got = x.copy()
    kernels.cpu().softmax.softmax_rows(got, safe)
    with kernels.off():
        want = _softmax_rows(x.copy(), safe)  # NumPy's passes
    finite = np.ones(300, bool)
    finite[1:4] = False
    np.testing.assert_allclose(got[finite], exact[finite], rtol=3e-7 * 4, atol=1e-12)
    np.testing.assert_array_equal(got[4, ::2], 0)
    np.testing.assert_array_equal(np.isnan(got[1:4]), np.isnan(want[1:4]))
    np.testing.assert_array_equal(np.nan_to_num(got[1:4], nan=7), np.nan_to_num(want[1:4], nan=7))
    assert (got[3] == 0).all() if safe else np.isnan(got[3]).all()


def test_attention_takes_the_kernels_and_matches_pytorch(monkeypatch):
    """Attention's weights: the softmax kernel forward, and backward the softmax gradient's own
    kernel (oneDNN off, as in ``calls``: where it has a JIT backward it would go there first)."""
    counts = count_calls(monkeypatch, kernels.cpu().softmax, ("softmax_rows", "softmax_backward"))
    q0, k0, v0 = (RNG.standard_normal((2, 3, 17, 8)).astype(np.float32) for _ in range(3))
    g0 = RNG.standard_normal((2, 3, 17, 8)).astype(np.float32)
    mask = RNG.random((17, 17)) > 0.3
    mask[5] = False  # a query that sees no key: zeros from scaled_dot_product_attention
    results = []
    for lib in (ember, torch):
        q, k, v = (lib.tensor(a, requires_grad=True) for a in (q0, k0, v0))
        with onednn.off():
            out = lib.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=lib.tensor(mask))
            out.backward(lib.tensor(g0))
        results.append([t.detach().numpy() for t in (out, q.grad, k.grad, v.grad)])
    assert counts == {"softmax_rows": 1, "softmax_backward": 1}
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, **TOL["float32"])
