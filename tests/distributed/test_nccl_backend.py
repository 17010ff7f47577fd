"""The NCCL backend (CUDA tensors through CuPy's NCCL) without a GPU: its engine runs on CPU tensors
through a stand-in NCCL module (fake_nccl.py) in 2 and 3 processes and must give the MPI backend's
results (scripts/nccl_collectives.py); here, the choice of backend per device and the errors when
NCCL cannot run."""
import importlib.util

import pytest
import torch.distributed as tdist

import ember.distributed as dist
from ember.distributed.process_group import _check_backend

NO_CUPY = importlib.util.find_spec("cupy") is None


@pytest.mark.parametrize("nproc", [2, 3])
def test_nccl_engine_matches_mpi(job, nproc):
    code, out, err = job("nccl_collectives.py", nproc=nproc)
    assert code == 0, err[-4000:]
    assert sorted(line for line in out.splitlines() if "nccl ok" in line) == \
        [f"nccl ok {r}/{nproc}" for r in range(nproc)], out


def test_backend_per_device_as_pytorch():
    assert _check_backend("gloo") == ("gloo", {"cpu": "gloo"})
    assert _check_backend("MPI") == ("mpi", {"cpu": "mpi"})
    name, devices = _check_backend(None)
    assert name == "undefined"  # what PyTorch's get_backend() reports for backend=None
    assert devices == {d: b for d, b in tdist.Backend.default_device_backend_map.items() if d in ("cpu", "cuda")}
    with pytest.raises(ValueError, match="unknown backend"):
        _check_backend("ucc")
    with pytest.raises(ValueError, match="nccl does not run cpu tensors"):
        _check_backend("cpu:nccl")


@pytest.mark.skipif(not NO_CUPY, reason="CuPy is installed here: NCCL may be available")
def test_nccl_without_cupy_names_the_install(tmp_path):
    assert dist.is_nccl_available() is tdist.is_nccl_available() is False
    for backend in ("nccl", "cpu:gloo,cuda:nccl"):
        with pytest.raises(RuntimeError, match=r"pip install 'ember\[cuda\]'"):
            dist.init_process_group(backend)
        with pytest.raises(RuntimeError):  # PyTorch's CPU build: "Distributed package doesn't have NCCL built in"
            tdist.init_process_group(backend, init_method=f"file://{tmp_path}/{backend}", rank=0, world_size=1)
    assert not dist.is_initialized() and not tdist.is_initialized()
