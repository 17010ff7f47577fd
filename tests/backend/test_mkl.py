"""MKL's GEMM (ember/backend/mkl.py): when products go through it, its call against float64
products and oneDNN's, what it refuses, and its thread count. The product tests of
test_gemm.py run through it too, where its wheel is installed."""
import os
import subprocess
import sys

import numpy as np
import pytest

import ember
from ember.backend import gemm, mkl, onednn, threads

needs_mkl = pytest.mark.skipif(mkl.installed_path() is None or onednn.library() is None,
                               reason="the mkl wheel (or oneDNN's threads) is not here")
RNG = np.random.default_rng(3)


@pytest.fixture
def forced(monkeypatch):
    """MKL loaded whatever this CPU's vendor, as gemm.py's products would use it."""
    monkeypatch.setitem(mkl._state, "lib", mkl.opened(mkl.installed_path()))
    monkeypatch.delitem(gemm._state, "sgemm", raising=False)
    return mkl._state["lib"]


def _choice(env: dict) -> str:
    code = ("from ember.backend import gemm, mkl; fn = gemm.sgemm(); "
            "print('none' if fn is None else 'mkl' if fn is mkl.sgemm else 'onednn')")
    base = {k: v for k, v in os.environ.items() if k not in ("EMBER_MKL", "EMBER_ONEDNN")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**base, **env}, check=True)
    return out.stdout.strip()


@needs_mkl
@pytest.mark.parametrize("env,want", [({}, "mkl on intel"), ({"EMBER_MKL": "1"}, "mkl"),
                                      ({"EMBER_MKL": "0"}, "onednn"), ({"EMBER_ONEDNN": "0"}, "none")])
def test_which_gemm_products_go_through(env, want):
    if want == "mkl on intel":
        want = "mkl" if mkl.intel_cpu() else "onednn"
    assert _choice(env) == want


@pytest.mark.parametrize("vendor,intel", [("GenuineIntel", True), ("AuthenticAMD", False), (None, False)])
def test_the_vendor_is_read_from_cpuinfo(tmp_path, vendor, intel):
    path = tmp_path / "cpuinfo"
    lines = ["processor\t: 0\n"] + ([f"vendor_id\t: {vendor}\n"] if vendor else []) + ["model name\t: x\n"]
    path.write_text("".join(lines))
    assert mkl.intel_cpu(str(path)) is intel
    assert mkl.intel_cpu(str(tmp_path / "missing")) is False


def test_without_the_wheel_nothing_loads(monkeypatch):
    monkeypatch.setattr(mkl, "installed_path", lambda: None)
    monkeypatch.setenv("EMBER_MKL", "1")
    assert mkl._load() is None


@needs_mkl
@pytest.mark.parametrize("ta", [b"N", b"T"])
@pytest.mark.parametrize("tb", [b"N", b"T"])
@pytest.mark.parametrize("alpha,beta", [(1.0, 0.0), (1.0, 1.0), (-0.5, 2.0)])
def test_the_call_matches_float64_and_onednns(forced, ta, tb, alpha, beta):
    """mkl.sgemm takes dnnl_sgemm's arguments: both give one product, to float32's precision,
    with leading dimensions wider than the matrices."""
    m, n, k = 37, 53, 301
    a_stored = RNG.standard_normal((m, k + 3) if ta == b"N" else (k, m + 3)).astype(np.float32)
    b_stored = RNG.standard_normal((k, n + 5) if tb == b"N" else (n, k + 5)).astype(np.float32)
    a = a_stored[:, :k] if ta == b"N" else a_stored[:, :m].T
    b = b_stored[:, :n] if tb == b"N" else b_stored[:, :k].T
    c0 = RNG.standard_normal((m, n + 2)).astype(np.float32)
    results = []
    for fn in (mkl.sgemm, gemm.dnnl_sgemm(onednn.library())):
        c = c0.copy()
        assert fn(ta, tb, m, n, k, alpha, a_stored.ctypes.data, a_stored.shape[1], b_stored.ctypes.data,
                  b_stored.shape[1], beta, c.ctypes.data, c.shape[1]) == 0
        results.append(c)
    want = alpha * (a.astype(np.float64) @ b) + beta * c0[:, :n]
    for c in results:
        np.testing.assert_allclose(c[:, :n], want, rtol=1e-4, atol=1e-4 * np.sqrt(k))
        np.testing.assert_array_equal(c[:, n:], c0[:, n:])  # the columns past n untouched


@needs_mkl
def test_dimensions_past_32_bits_are_refused_without_a_call(forced, monkeypatch):
    """libmkl_rt's LP64 interface takes 32-bit ints: a larger dimension returns 1 (gemm.py
    then multiplies with NumPy) instead of reaching MKL, whose call would read it wrapped."""
    monkeypatch.setitem(mkl._state, "lib", None)  # a call would fail on None
    assert mkl.sgemm(b"N", b"N", 2 ** 31, 1, 1, 1.0, 0, 1, 0, 1, 0.0, 0, 1) == 1
    assert mkl.sgemm(b"N", b"N", 1, 1, 1, 1.0, 0, 2 ** 31, 0, 1, 0.0, 0, 1) == 1


@needs_mkl
def test_a_linear_layer_trained_through_mkl_matches_onednn(forced):
    x = RNG.standard_normal((128, 300)).astype(np.float32)
    w = RNG.standard_normal((200, 300)).astype(np.float32) * 0.1
    grads = []
    for provider in ("mkl", "onednn"):
        gemm._state["sgemm"] = mkl.sgemm if provider == "mkl" else gemm.dnnl_sgemm(onednn.library())
        lin = ember.nn.Linear(300, 200)
        with ember.no_grad():
            lin.weight.copy_(ember.tensor(w))
            lin.bias.zero_()
        xt = ember.tensor(x, requires_grad=True)
        lin(xt).square().sum().backward()
        grads.append((xt.grad.numpy(), lin.weight.grad.numpy()))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-3)


@needs_mkl
def test_the_thread_count_reaches_mkl(forced, monkeypatch):
    monkeypatch.setattr(threads, "_state", dict(threads._state))  # the count set here is undone
    before = ember.get_num_threads()
    try:
        ember.set_num_threads(1)
        assert forced.MKL_Get_Max_Threads() == 1
        ember.set_num_threads(2)
        assert forced.MKL_Get_Max_Threads() == 2
    finally:
        ember.set_num_threads(before)
