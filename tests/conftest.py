import os
import sys

# The suite's arrays are small: one BLAS thread per library avoids NumPy's and PyTorch's
# thread pools spinning against each other on the same cores (set before NumPy loads).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))

import ember  # noqa: E402

# EMBER_TEST_DEVICE=cuda reruns the parity suites with ember on the GPU (see tests/cuda)
DEVICE = os.environ.get("EMBER_TEST_DEVICE", "cpu")



@pytest.fixture(autouse=True)
def _seed():
    ember.manual_seed(0)
    np.random.seed(0)
    if DEVICE != "cpu":  # tensors a test builds itself land on the GPU too
        ember.set_default_device(DEVICE)
    yield
    ember.set_default_dtype(ember.float32)
    ember.set_default_device(None)


@pytest.fixture
def hub_cache(tmp_path):
    """ember.hub's cache in a fresh folder for the test (weights files never leak between tests)."""
    previous = ember.hub.get_dir()
    ember.hub.set_dir(tmp_path / "hub")
    yield
    ember.hub.set_dir(previous)
