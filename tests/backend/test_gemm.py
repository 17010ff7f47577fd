"""Matrix products through oneDNN's GEMM, and MKL's where installed (ember/backend/gemm.py):
values against a float64 product for every operand layout they take, the cases left to NumPy
(and that they are), the ops that use them against PyTorch, and ember with them turned off."""
import os
import subprocess
import sys
from importlib import metadata

import numpy as np
import pytest

import ember
from ember.backend import gemm, mkl, onednn
from helpers import torch

RNG = np.random.default_rng(0)


def _installed() -> bool:
    try:
        metadata.distribution("onednn-cpu-gomp")
    except metadata.PackageNotFoundError:
        return False
    return os.environ.get("EMBER_ONEDNN", "1") != "0"


def test_the_library_loads_where_it_is_installed():
    assert (gemm.sgemm() is not None) == _installed()


needs_onednn = pytest.mark.skipif(gemm.sgemm() is None, reason="oneDNN's GEMM is not in use here")


def _providers() -> list:
    """The GEMMs gemm.py multiplies through where oneDNN is in use: oneDNN's, and MKL's where
    its wheel is installed (whatever this CPU's vendor, so that both are checked here)."""
    if gemm.sgemm() is None:
        return [None]
    return ["onednn"] + ["mkl"] * (mkl.installed_path() is not None)


@pytest.fixture(params=_providers())
def calls(request, monkeypatch):
    """The number of products oneDNN (or MKL, by the parameter) computed; 0 where neither is
    in use."""
    count = [0]
    if request.param is None:
        return count
    if request.param == "mkl":
        monkeypatch.setitem(mkl._state, "lib", mkl.opened(mkl.installed_path()))
        fn = mkl.sgemm
    else:
        fn = gemm.dnnl_sgemm(onednn.library())

    def counted(*args):
        count[0] += 1
        return fn(*args)
    monkeypatch.setitem(gemm._state, "sgemm", counted)
    return count


@pytest.fixture
def any_size(monkeypatch):
    """oneDNN takes products of every size (small ones normally go to NumPy), to cover shapes
    such as a single row or column."""
    monkeypatch.setattr(gemm, "_MIN_WORK", 1)


def _mat(rows, cols, layout, dtype=np.float32):
    """A (rows, cols) matrix with contiguous rows ("N"), contiguous columns ("T"), or rows taken
    from a wider array ("strided")."""
    if layout == "T":
        return np.ascontiguousarray(RNG.standard_normal((cols, rows)), dtype=dtype).T
    if layout == "strided":
        return np.ascontiguousarray(RNG.standard_normal((rows, cols + 7)), dtype=dtype)[:, 3:3 + cols]
    return np.ascontiguousarray(RNG.standard_normal((rows, cols)), dtype=dtype)


@needs_onednn
@pytest.mark.parametrize("la", ["N", "T", "strided"])
@pytest.mark.parametrize("lb", ["N", "T", "strided"])
@pytest.mark.parametrize("m,k,n", [(128, 784, 512), (6, 3001, 25), (1, 4096, 33), (300, 170, 1)])
def test_products_match_float64(la, lb, m, k, n, calls, any_size):
    a, b = _mat(m, k, la), _mat(k, n, lb)
    want = a.astype(np.float64) @ b.astype(np.float64)
    got = gemm.matmul(a, b)
    assert calls[0] == 1 and got.dtype == np.float32 and got.shape == (m, n)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.sqrt(k))


@needs_onednn
def test_out_with_strided_rows_and_accumulate(calls):
    a, b = _mat(64, 300, "N"), _mat(300, 200, "T")
    wide = np.full((64, 260), 7.0, np.float32)
    out = wide[:, 30:230]
    assert gemm.matmul(a, b, out=out) is out
    np.testing.assert_allclose(out, a.astype(np.float64) @ b, rtol=1e-4, atol=1e-3)
    assert (wide[:, :30] == 7).all() and (wide[:, 230:] == 7).all()  # nothing written beside it
    before = out.copy()
    gemm.matmul(a, b, out=out, accumulate=True)
    np.testing.assert_allclose(out, before + a.astype(np.float64) @ b, rtol=1e-4, atol=1e-3)
    assert calls[0] == 2


@needs_onednn
@pytest.mark.parametrize("lb", ["N", "T", "strided"])
@pytest.mark.parametrize("n", [gemm._WIDE + 1, 3 * gemm._COLUMN_BLOCK, 10000])
def test_wide_products_in_column_blocks(lb, n, calls):
    # one call per block of columns, the last one partial; written into a strided out, added to
    a, b = _mat(70, 200, "N"), _mat(200, n, lb)
    wide = np.full((70, n + 9), 5.0, np.float32)
    out = wide[:, 4:4 + n]
    want = a.astype(np.float64) @ b.astype(np.float64)
    gemm.matmul(a, b, out=out, accumulate=True)
    assert calls[0] == -(-n // gemm._COLUMN_BLOCK)
    np.testing.assert_allclose(out, 5.0 + want, rtol=1e-4, atol=1e-3)
    assert (wide[:, :4] == 5).all() and (wide[:, 4 + n:] == 5).all()
    np.testing.assert_allclose(gemm.matmul(a, b), want, rtol=1e-4, atol=1e-3)


@needs_onednn
@pytest.mark.parametrize("accumulate", [False, True])
def test_a_block_onednn_refuses_is_numpys_and_the_blocks_before_it_count_once(monkeypatch, accumulate):
    fn, seen = gemm.sgemm(), []

    def refuses_the_second(*args):
        seen.append(args[3])
        return 1 if len(seen) == 2 else fn(*args)
    monkeypatch.setitem(gemm._state, "sgemm", refuses_the_second)
    n = 3 * gemm._COLUMN_BLOCK
    a, b = _mat(40, 100, "N"), _mat(100, n, "T")
    out = np.ones((40, n), np.float32)
    gemm.matmul(a, b, out=out, accumulate=accumulate)
    assert len(seen) == 2  # the rest went to NumPy in one product
    np.testing.assert_allclose(out, accumulate + a.astype(np.float64) @ b, rtol=1e-4, atol=1e-3)


@needs_onednn
def test_stacks_are_one_call_per_matrix(calls, any_size):
    a, b = RNG.standard_normal((3, 40, 90)).astype(np.float32), RNG.standard_normal((3, 90, 50)).astype(np.float32)
    np.testing.assert_allclose(gemm.matmul(a, b), a.astype(np.float64) @ b, rtol=1e-4, atol=1e-3)
    assert calls[0] == 3


@pytest.mark.parametrize("case", ["float64", "float16", "small", "empty", "mixed", "gathered"])
def test_what_numpy_multiplies(case, calls):
    """Cases oneDNN does not take give np.matmul's result, bit for bit, without a oneDNN call."""
    a, b, out = _mat(64, 256, "N"), _mat(256, 64, "N"), None  # 1M multiply-adds: oneDNN's size
    if case in ("float64", "float16"):
        a, b = a.astype(case), b.astype(case)
    elif case == "small":
        a, b = _mat(64, 256, "N"), _mat(256, 63, "N")  # just below gemm._MIN_WORK
    elif case == "empty":
        a, b = _mat(64, 0, "N"), _mat(0, 32, "N")
    elif case == "mixed":
        b = b.astype(np.float64)
    else:  # gathered: neither rows nor columns contiguous
        a = _mat(64, 512, "N")[:, ::2]
    np.testing.assert_array_equal(gemm.matmul(a, b, out=out), np.matmul(a, b))
    assert calls[0] == 0


@needs_onednn
@pytest.mark.parametrize("la", ["N", "T"])
@pytest.mark.parametrize("lb", ["N", "T"])
def test_into_a_transposed_out(la, lb, calls):
    """An out with contiguous columns (a gradient laid out as its transposed operand) is the
    GEMM's too, through its transpose b^T a^T; nothing beside it is written."""
    a, b = _mat(64, 300, la), _mat(300, 200, lb)
    wide = np.full((230, 64), 7.0, np.float32)
    out = wide[10:210].T  # (64, 200), its columns contiguous
    want = a.astype(np.float64) @ b.astype(np.float64)
    assert gemm.matmul(a, b, out=out) is out
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-3)
    gemm.matmul(a, b, out=out, accumulate=True)
    np.testing.assert_allclose(out, 2 * want, rtol=1e-4, atol=2e-3)
    assert (wide[:10] == 7).all() and (wide[210:] == 7).all()
    assert calls[0] == 2


@needs_onednn
@pytest.mark.parametrize("dims", [(2, 0, 1, 3), (0, 1, 3, 2)])
def test_stacks_into_an_out_of_other_strides(dims):
    """Stacks of products written into a permuted view (attention heads' gradients laid out as
    the packed projection they came from), through the matmul primitive."""
    a = RNG.standard_normal((4, 3, 64, 32)).astype(np.float32)
    b = RNG.standard_normal((4, 3, 32, 48)).astype(np.float32)
    memory = np.full(tuple(np.take((4, 3, 64, 48), dims)), 9.0, np.float32)
    out = memory.transpose(np.argsort(dims))
    assert gemm.matmul(a, b, out=out) is out
    np.testing.assert_allclose(out, a.astype(np.float64) @ b, rtol=1e-4, atol=1e-3)


@needs_onednn
def test_products_from_a_million_multiply_adds_go_to_onednn(calls):
    """The base of test_what_numpy_multiplies is oneDNN's: so each case there is left to NumPy
    by what it changes, not by its size."""
    gemm.matmul(_mat(64, 256, "N"), _mat(256, 64, "N"))
    assert calls[0] == 1


def test_a_forked_process_multiplies_with_numpy(monkeypatch):
    """GNU OpenMP is not safe across fork: a child of the process that loaded oneDNN uses NumPy."""
    gemm.sgemm()
    monkeypatch.setattr(onednn, "_pid", os.getpid() + 1)
    assert gemm.sgemm() is None
    a, b = _mat(128, 256, "N"), _mat(256, 64, "N")
    np.testing.assert_array_equal(gemm.matmul(a, b), np.matmul(a, b))


@pytest.mark.parametrize("shape_x", [(128, 784), (4, 33, 200)])
def test_linear_and_matmul_match_torch(shape_x):
    x = RNG.standard_normal(shape_x).astype(np.float32)
    w = RNG.standard_normal((96, shape_x[-1])).astype(np.float32)
    b = RNG.standard_normal(96).astype(np.float32)
    ex, ew, eb = (ember.tensor(v, requires_grad=True) for v in (x, w, b))
    tx, tw, tb = (torch.tensor(v, requires_grad=True) for v in (x, w, b))
    e = ember.nn.functional.linear(ex, ew, eb) @ ember.tensor(w)
    t = torch.nn.functional.linear(tx, tw, tb) @ torch.tensor(w)
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=1e-4, atol=1e-3)
    g = RNG.standard_normal(t.shape).astype(np.float32)
    e.backward(ember.tensor(g))
    t.backward(torch.tensor(g))
    for a, c in ((ex, tx), (ew, tw), (eb, tb)):
        np.testing.assert_allclose(a.grad.numpy(), c.grad.numpy(), rtol=1e-4, atol=1e-2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m, k, n", [(16, 4, 32), (128, 256, 10), (1, 7, 3)])
def test_a_linear_left_to_numpy_has_the_bits_of_bias_plus_product(m, k, n, dtype):
    """Below GEMM sizes (and for float64) linear is NumPy's product with the bias added after
    it: the bits of the bias plus the product, as the bias-first path gives them."""
    x = RNG.standard_normal((m, k)).astype(dtype)
    w = RNG.standard_normal((n, k)).astype(dtype)
    b = RNG.standard_normal(n).astype(dtype)
    out = gemm.linear(x, w.T, b)
    assert out.dtype == dtype and out.shape == (m, n)
    np.testing.assert_array_equal(out, b + np.matmul(x, w.T))


def _primitive_calls(monkeypatch, biased: bool) -> list:
    """The (a, b) shapes of the products oneDNN's matmul primitive computed, with a bias or
    without."""
    seen = []
    real = gemm._primitive

    def counted(a, b, bias=None, out=None):
        out = real(a, b, bias, out)
        if out is not None and (bias is not None) == biased:
            seen.append((a.shape, b.shape))
        return out
    monkeypatch.setattr(gemm, "_primitive", counted)
    return seen


@pytest.fixture
def with_bias(monkeypatch):
    """The products whose bias oneDNN's matmul primitive added (their shapes); every size takes it."""
    monkeypatch.setattr(gemm, "_BIAS_IN_EPILOGUE", 1)
    return _primitive_calls(monkeypatch, True)


@needs_onednn
@pytest.mark.parametrize("lx", ["N", "strided"])
@pytest.mark.parametrize("lw", ["N", "T", "strided"])
@pytest.mark.parametrize("m,k,n", [(700, 200, 1000), (1, 33, 5)])
def test_bias_added_in_the_product_matches_float64(lx, lw, m, k, n, with_bias):
    x, w_t = _mat(m, k, lx), _mat(k, n, lw)
    bias = RNG.standard_normal(n).astype(np.float32)
    got = gemm.linear(x, w_t, bias)
    np.testing.assert_allclose(got, x.astype(np.float64) @ w_t + bias, rtol=1e-4, atol=1e-4)
    assert with_bias == [((m, k), (k, n))] and got.flags.c_contiguous


@pytest.mark.parametrize("case", ["bias of one element", "float64", "below the size"])
def test_bias_copied_before_the_product(case, with_bias, monkeypatch):
    """What the primitive does not take gets the bias copied into the output first; the same values."""
    x, w_t = _mat(50, 20, "N"), _mat(20, 30, "T")
    bias = RNG.standard_normal(30).astype(np.float32)
    if case == "bias of one element":
        bias = bias[:1]
    elif case == "float64":
        x, w_t, bias = x.astype(np.float64), w_t.astype(np.float64), bias.astype(np.float64)
    else:
        monkeypatch.setattr(gemm, "_BIAS_IN_EPILOGUE", 50 * 30 + 1)
    got = gemm.linear(x, w_t, bias)
    np.testing.assert_allclose(got, x.astype(np.float64) @ w_t + bias, rtol=1e-4, atol=1e-4)
    assert with_bias == [] and got.dtype == x.dtype


@needs_onednn
def test_a_decoder_sized_linear_matches_torch(with_bias):
    """A word-level LM's decoder, (700, 200) -> 10,000 words, values and gradients."""
    x = RNG.standard_normal((35, 20, 200)).astype(np.float32)
    w = (RNG.standard_normal((10_000, 200)) * 0.1).astype(np.float32)
    b = RNG.standard_normal(10_000).astype(np.float32)
    ex, ew, eb = (ember.tensor(v, requires_grad=True) for v in (x, w, b))
    tx, tw, tb = (torch.tensor(v, requires_grad=True) for v in (x, w, b))
    e, t = ember.nn.functional.linear(ex, ew, eb), torch.nn.functional.linear(tx, tw, tb)
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=1e-4, atol=1e-4)
    assert with_bias == [((700, 200), (200, 10_000))]
    g = RNG.standard_normal(t.shape).astype(np.float32)
    e.backward(ember.tensor(g))
    t.backward(torch.tensor(g))
    for a, c in ((ex, tx), (ew, tw), (eb, tb)):
        np.testing.assert_allclose(a.grad.numpy(), c.grad.numpy(), rtol=1e-4, atol=1e-2)


def test_turned_off_with_the_environment_variable():
    code = ("import numpy as np, ember; from ember.backend import gemm, onednn; a = np.ones((128, 256), np.float32); "
            "assert onednn.library() is None and gemm.sgemm() is None; assert (gemm.matmul(a, a.T) == 256).all(); "
            "print('numpy')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, EMBER_ONEDNN="0"))
    assert out.returncode == 0 and out.stdout.strip() == "numpy", out.stderr


# ---- stacks of small products: one batched matmul primitive -----------------------------------
@pytest.fixture
def batched(monkeypatch):
    """The stacks that went to the batched primitive (their shapes)."""
    return _primitive_calls(monkeypatch, False)


def _stack(batch, rows, cols, layout):
    if layout == "T":
        return np.ascontiguousarray(RNG.standard_normal((batch, cols, rows)), dtype=np.float32).transpose(0, 2, 1)
    if layout == "strided":
        return np.ascontiguousarray(RNG.standard_normal((batch, rows, cols + 5)), dtype=np.float32)[:, :, 2:2 + cols]
    return np.ascontiguousarray(RNG.standard_normal((batch, rows, cols)), dtype=np.float32)


@needs_onednn
@pytest.mark.parametrize("la", ["N", "T", "strided"])
@pytest.mark.parametrize("lb", ["N", "T", "strided"])
@pytest.mark.parametrize("b,m,k,n", [(128, 64, 32, 64), (96, 64, 64, 32), (300, 7, 33, 17)])
def test_stacks_of_small_products_match_float64(la, lb, b, m, k, n, batched, calls):
    x, y = _stack(b, m, k, la), _stack(b, k, n, lb)
    got = gemm.matmul(x, y)
    np.testing.assert_allclose(got, x.astype(np.float64) @ y, rtol=1e-4, atol=1e-4)
    assert batched == [((b, m, k), (b, k, n))] and calls[0] == 0  # one primitive, no per-matrix GEMM


@needs_onednn
def test_four_dim_stacks_merge_their_leading_dims(batched):
    q = RNG.standard_normal((4, 8, 64, 32)).astype(np.float32)
    k = RNG.standard_normal((4, 8, 64, 32)).astype(np.float32)
    got = gemm.matmul(q, np.swapaxes(k, -1, -2))  # attention's scores: k transposed in place
    np.testing.assert_allclose(got, q.astype(np.float64) @ np.swapaxes(k, -1, -2), rtol=1e-4, atol=1e-4)
    assert batched == [((32, 64, 32), (32, 32, 64))]


@needs_onednn
def test_four_dim_stacks_that_do_not_merge_are_read_in_their_strides(batched):
    """Attention's heads split from a packed projection: (L, N, 3E) -> q, k of (N, H, L, hd),
    views whose (N, H) dims do not merge; one primitive reads them in place."""
    packed = RNG.standard_normal((64, 4, 3 * 128)).astype(np.float32)
    q, k = (packed[:, :, i * 128:(i + 1) * 128].reshape(64, 4, 8, 16).transpose(1, 2, 0, 3) for i in range(2))
    got = gemm.matmul(q, np.swapaxes(k, -1, -2))
    np.testing.assert_allclose(got, q.astype(np.float64) @ np.swapaxes(k, -1, -2), rtol=1e-4, atol=1e-4)
    assert batched == [((4, 8, 64, 16), (4, 8, 16, 64))]


@pytest.mark.parametrize("inner", [0, 4])
@pytest.mark.parametrize("merged", [True, False])
def test_empty_four_dim_stacks(inner, merged):
    """Stacks with an empty dim, whose leading dims merge or not: np.matmul's result."""
    a = np.zeros((2, 3, 4 - inner, inner), np.float32)
    b = np.zeros((2, 3, inner, 5), np.float32)
    if not merged:
        a, b = a.transpose(1, 0, 2, 3), b.transpose(1, 0, 2, 3)
    np.testing.assert_array_equal(gemm.matmul(a, b), np.matmul(a, b))


@pytest.mark.parametrize("case", ["broadcast batch", "reversed", "float64", "few"])
def test_stacks_numpy_multiplies(case, batched):
    """Stacks the primitive does not take give np.matmul's result, bit for bit."""
    a, b = _stack(64, 32, 32, "N"), _stack(64, 32, 32, "N")
    if case == "broadcast batch":
        b = np.broadcast_to(b[:1], b.shape)
    elif case == "reversed":
        a = a[:, ::-1]
    elif case == "float64":
        a, b = a.astype(np.float64), b.astype(np.float64)
    else:  # under a million multiply-adds in all
        a, b = a[:8], b[:8]
    np.testing.assert_array_equal(gemm.matmul(a, b), np.matmul(a, b))
    assert batched == []


@needs_onednn
def test_attention_and_bmm_match_torch_with_gradients(batched):
    q, k, v = (RNG.standard_normal((4, 4, 64, 32)).astype(np.float32) for _ in range(3))
    g = RNG.standard_normal((4, 4, 64, 32)).astype(np.float32)
    results = []
    for lib in (ember, torch):
        ts = [lib.tensor(a, requires_grad=True) for a in (q, k, v)]
        out = lib.nn.functional.scaled_dot_product_attention(*ts, is_causal=True)
        out = out + lib.bmm(ts[0].reshape(16, 64, 32), ts[1].reshape(16, 64, 32).mT).reshape(4, 4, 64, 64) @ ts[2]
        out.backward(lib.tensor(g))
        results.append([out.detach().numpy()] + [t.grad.numpy() for t in ts])
    assert batched  # the products went to the primitive
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)
