"""The op, module and optimizer parity suites, rerun with ember's side on the GPU.

Each suite checks ember against PyTorch on the CPU through tests/helpers.py; with
EMBER_TEST_DEVICE=cuda its inputs, modules, cotangents and parameters live on CUDA,
every output must stay there, and values and gradients must still match. One item
per suite file, run in its own process so that one suite's failure shows its own
list of failing tests. tests/amp is not among them: test_cuda_amp.py says why and checks
mixed precision on CUDA itself.
"""
import os
import subprocess
import sys

import pytest

import ember

if not ember.cuda.is_available():
    pytest.skip("no CUDA GPU here (ember.cuda.is_available() is False)", allow_module_level=True)

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUITES = [
    *(f"ops/test_{n}.py" for n in ["math", "reduce", "shape", "indexing", "activation", "pool", "conv",
                                   "norm", "join", "sort", "scatter", "cumulative", "resample",
                                   "linalg", "grid_sample", "edge_values"]),
    *(f"nn/test_{n}.py" for n in ["loss", "linear", "conv_modules", "normalization", "rnn", "attention",
                                  "transformer", "embedding", "functional", "activation_modules",
                                  "pooling", "upsampling", "gaps"]),
    "optim/test_optimizers.py",
]


@pytest.mark.parametrize("suite", SUITES)
def test_suite_on_cuda(suite):
    env = dict(os.environ, EMBER_TEST_DEVICE="cuda")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--tb=line",
                          "-rf", "-W", "ignore", os.path.join(TESTS, suite)],
                         env=env, capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, f"{suite} on CUDA:\n{run.stdout[-6000:]}{run.stderr[-2000:]}"
