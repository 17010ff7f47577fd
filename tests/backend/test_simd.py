"""simd.wide(): the function that calls it, and only that one, is compiled for 512-bit vectors
where the CPU has them, with the same results."""
import numpy as np
import pytest

from ember.backend import kernels

pytestmark = pytest.mark.skipif(kernels.cpu() is None, reason="compiled kernels are off (numba missing or "
                                                                "EMBER_NUMBA=0)")


def _pair():
    from numba import njit, prange

    from ember.backend.kernels import simd

    def plain(x, out):
        for i in range(x.shape[0]):
            out[i] = np.exp(x[i]) * np.float32(2) + x[i]

    def wide(x, out):
        simd.wide()
        for i in range(x.shape[0]):
            out[i] = np.exp(x[i]) * np.float32(2) + x[i]

    def wide_parallel(x, out):
        for b in prange(2):
            simd.wide()
            half = x.shape[0] // 2
            xb, ob = x[b * half:(b + 1) * half], out[b * half:(b + 1) * half]
            for i in range(xb.shape[0]):
                ob[i] = np.exp(xb[i]) * np.float32(2) + xb[i]
    return njit(plain), njit(wide), njit(parallel=True)(wide_parallel)


def _has_avx512() -> bool:
    import llvmlite.binding as llvm
    llvm.initialize_native_target()
    return llvm.get_host_cpu_features().get("avx512f", False)


def test_same_results_as_the_default_width():
    x = np.random.default_rng(0).standard_normal(1003).astype(np.float32)
    results = []
    for fn in _pair():
        out = np.empty_like(x)
        fn(x, out)
        results.append(out)
    np.testing.assert_array_equal(results[1], results[0])
    np.testing.assert_array_equal(results[2][:1002], results[0][:1002])


@pytest.mark.skipif(not _has_avx512(), reason="the CPU has no 512-bit vectors (AVX-512)")
def test_only_the_marked_functions_use_512_bit_registers():
    x = np.ones(64, np.float32)
    asm = {}
    for fn in _pair():
        fn(x, np.empty_like(x))
        asm[fn.py_func.__name__] = fn.inspect_asm(fn.signatures[0])
    assert "zmm" not in asm["plain"]
    assert "zmm" in asm["wide"]
    assert "zmm" in asm["wide_parallel"]  # the prange body, compiled as a function of its own
