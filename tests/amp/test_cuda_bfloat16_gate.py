"""Where bfloat16 on CUDA is allowed: CuPy 14 and later compute ml_dtypes' bfloat16, older
CuPy is refused with the fix. A stand-in CuPy (a version string and a recording asarray)
runs the checks without a GPU; tests/cuda runs bfloat16 itself on one."""
from types import SimpleNamespace

import numpy as np
import pytest

import ember
from ember.backend import cuda as backend_cuda
from ember.backend.dtypes import bfloat16


class _Device:
    def __init__(self, index=None):
        self.id = index

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _stand_in(monkeypatch, version: str, major: int = 9):
    moved = []
    fake = SimpleNamespace(__version__=version, asarray=lambda a: moved.append(a) or a,
                           cuda=SimpleNamespace(Device=_Device))
    monkeypatch.setattr(backend_cuda, "cupy", lambda: fake)
    monkeypatch.setattr(backend_cuda, "is_available", lambda: True)
    monkeypatch.setattr(ember.cuda, "get_device_capability", lambda device=None: (major, 0))
    return moved


@pytest.mark.parametrize("version,has", [("13.6.0", False), ("14.0.0", True), ("14.2.0", True), ("15.0.0a1", True)])
def test_cupy_computes_bfloat16_from_version_14(monkeypatch, version, has):
    _stand_in(monkeypatch, version)
    assert backend_cuda.has_bfloat16() is has
    assert ember.cuda.is_bf16_supported() is has


def test_bfloat16_moves_to_cuda_as_its_bits_with_cupy_14(monkeypatch):
    moved = _stand_in(monkeypatch, "14.2.0")
    array = np.array([1.5, -2.0, 3.140625], dtype=bfloat16.np)
    backend_cuda.to_gpu(array, 0)
    assert len(moved) == 1 and moved[0].dtype == bfloat16.np
    assert moved[0].view(np.uint16).tolist() == array.view(np.uint16).tolist()


def test_older_cupy_refuses_bfloat16_and_says_how_to_upgrade_or_convert(monkeypatch):
    moved = _stand_in(monkeypatch, "13.6.0")
    with pytest.raises(TypeError, match=r"need CuPy 14 or later \(this is CuPy 13.6.0\): "
                                        r"pip install 'cupy-cuda12x>=14', or convert with \.to\(ember\.float16\)"):
        backend_cuda.to_gpu(np.zeros(2, dtype=bfloat16.np), 0)
    backend_cuda.to_gpu(np.zeros(2, dtype=np.float16), 0)  # other dtypes move as before
    assert len(moved) == 1


def test_native_bfloat16_needs_compute_capability_8_unless_emulated(monkeypatch):
    _stand_in(monkeypatch, "14.2.0", major=7)
    assert ember.cuda.is_bf16_supported() and not ember.cuda.is_bf16_supported(including_emulation=False)
    _stand_in(monkeypatch, "14.2.0", major=8)
    assert ember.cuda.is_bf16_supported(including_emulation=False)


def test_cuda_autocast_takes_bfloat16_where_supported(monkeypatch):
    _stand_in(monkeypatch, "14.2.0")
    with ember.autocast("cuda", dtype=ember.bfloat16):
        assert ember.is_autocast_enabled("cuda") and ember.get_autocast_dtype("cuda") is ember.bfloat16
    assert not ember.is_autocast_enabled("cuda") and ember.get_autocast_dtype("cuda") is ember.float16


def test_cuda_autocast_refuses_bfloat16_as_pytorch_does_where_unsupported(monkeypatch):
    """PyTorch raises this RuntimeError when its GPU cannot compute bfloat16; ember's reason is an
    older CuPy, which the message names with its fix."""
    _stand_in(monkeypatch, "13.6.0")
    with pytest.raises(RuntimeError, match=r"^Current CUDA Device does not support bfloat16\. Please switch "
                                           r"dtype to float16 .*cupy-cuda12x>=14"):
        ember.autocast("cuda", dtype=ember.bfloat16)
    with ember.autocast("cuda", dtype=ember.float16):
        assert ember.is_autocast_enabled("cuda")
