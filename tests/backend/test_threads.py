"""ember.set_num_threads and friends: PyTorch's defaults and errors, the thread count reaching
oneDNN's products and the row passes, and OpenMP's idle spin left to the user as oneDNN loads it."""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import ember
from ember.backend import gemm, kernels, onednn, parallel, threads
from helpers import torch


@pytest.fixture
def restore():
    saved = dict(threads._state)
    yield
    threads._state.clear()
    threads._state.update(saved)
    onednn.set_threads(ember.get_num_threads())


def test_defaults_are_the_cores_or_omp_num_threads(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert ember.get_num_threads() == threads.cores() == len(os.sched_getaffinity(0))
    assert ember.get_num_interop_threads() == threads.cores()
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert ember.get_num_threads() == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "junk")
    assert ember.get_num_threads() == threads.cores()


@pytest.mark.parametrize("value", [0, -1, 2.0, True, "2"])
def test_bad_counts_raise_like_torch(value, restore):
    with pytest.raises(RuntimeError) as theirs:
        torch.set_num_threads(value)
    with pytest.raises(RuntimeError, match="set_num_threads expects") as ours:
        ember.set_num_threads(value)
    assert str(ours.value).split(" (")[0] == str(theirs.value)


def _kernel_threads():
    """The compiled kernels' thread count, None where they are off."""
    if kernels.cpu() is None:
        return None
    import numba
    return numba.get_num_threads()


def test_the_count_reaches_the_row_passes_onednn_and_the_kernels(restore):
    ember.set_num_threads(1)
    assert ember.get_num_threads() == 1
    assert _kernel_threads() == (None if kernels.cpu() is None else 1)
    blocks = []
    parallel.over_rows(lambda lo, hi: blocks.append((lo, hi)), 100, 10 ** 9)
    assert blocks == [(0, 100)]
    assert onednn.get_threads() == (None if onednn.library() is None else 1)
    ember.set_num_threads(3)
    if kernels.cpu() is not None:
        import numba
        assert _kernel_threads() == min(3, numba.config.NUMBA_NUM_THREADS)  # Numba starts no more
    blocks.clear()
    parallel.over_rows(lambda lo, hi: blocks.append((lo, hi)), 100, 10 ** 9)
    assert sorted(blocks) == [(0, 33), (33, 66), (66, 100)]
    if onednn.library() is not None:
        assert onednn.get_threads() == 3
        a = np.ones((256, 512), np.float32)
        assert (gemm.matmul(a, a.T) == 512).all()


def test_interop_threads_are_set_once(restore):
    threads._state.pop("interop", None)
    ember.set_num_interop_threads(2)
    assert ember.get_num_interop_threads() == 2
    with pytest.raises(RuntimeError, match="cannot set number of interop threads"):
        ember.set_num_interop_threads(3)


@pytest.mark.parametrize("user_env", [{}, {"GOMP_SPINCOUNT": "5"}, {"OMP_WAIT_POLICY": "active"}])
def test_openmp_loads_with_its_own_idle_spin(user_env):
    """libgomp reads GOMP_SPINCOUNT as it loads: ember sets none (its workers then stay awake
    between a step's ops, as PyTorch's do; a short spin made every op wait for a wake on a busy
    host), and a user's setting reaches it untouched."""
    code = textwrap.dedent("""
        import ctypes, json, os
        from ember.backend import onednn
        seen = {}
        real = ctypes.CDLL
        def spy(path, *a, **k):
            if "libdnnl" in str(path):
                seen["during"] = os.environ.get("GOMP_SPINCOUNT")
            return real(path, *a, **k)
        ctypes.CDLL = spy
        loaded = onednn.library() is not None
        print(json.dumps([loaded, seen.get("during"), os.environ.get("GOMP_SPINCOUNT")]))
    """)
    env = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY", "EMBER_ONEDNN")}
    out = subprocess.run([sys.executable, "-c", code], env={**env, **user_env}, capture_output=True, text=True,
                         timeout=120, check=True)
    loaded, during, after = json.loads(out.stdout.strip().splitlines()[-1])
    if not loaded:
        pytest.skip("oneDNN is not installed here")
    assert during == after == user_env.get("GOMP_SPINCOUNT")
