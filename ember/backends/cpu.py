"""``ember.backends.cpu``: the SIMD level the CPU kernels (NumPy's) run with."""
from __future__ import annotations


def _features() -> dict:
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:  # NumPy < 2
        from numpy.core._multiarray_umath import __cpu_features__
    return __cpu_features__


def get_cpu_capability() -> str:
    """PyTorch's names: "AVX512" (F, BW, VL and DQ), "AVX2" (with FMA), else "DEFAULT"."""
    f = _features()
    if all(f.get(k) for k in ("AVX512F", "AVX512BW", "AVX512VL", "AVX512DQ", "FMA3")):
        return "AVX512"
    if f.get("AVX2") and f.get("FMA3"):
        return "AVX2"
    return "DEFAULT"
