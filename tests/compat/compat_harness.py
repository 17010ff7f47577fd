"""What every compatibility script shares: NumPy-seeded weights and data, and the check
that a script gives the same losses under ember and under PyTorch.

A script is a function ``run(torch, steps)`` that touches only its ``torch`` argument, so
the same source runs as ``run(ember, n)`` and ``run(torch, n)``. Both runs must start from
the same weights and see the same data, but the two libraries' random generators differ:
so weights come from ``numpy_init`` and data from ``np.random.default_rng``. A script
returns a dict with at least ``"losses"`` (one float per step).
"""
import math

import numpy as np


def numpy_init(torch, module, seed):
    """Overwrite every parameter of ``module`` with NumPy-drawn values (uniform in
    +-1/sqrt(fan_in), PyTorch's default scale), so ember and PyTorch start identically."""
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for _, p in module.named_parameters():
            fan_in = int(np.prod(p.shape[1:])) if p.dim() > 1 else p.shape[0]
            bound = 1.0 / math.sqrt(max(fan_in, 1))
            p.copy_(torch.from_numpy(rng.uniform(-bound, bound, tuple(p.shape)).astype(np.float32)))
    return module


def as_tensor(torch, array, dtype=None):
    """A NumPy array as a tensor of either library (int arrays become int64)."""
    array = np.ascontiguousarray(array)
    if array.dtype.kind in "iu":
        array = array.astype(np.int64)
    elif array.dtype.kind == "f":
        array = array.astype(np.float32)
    t = torch.from_numpy(array)
    return t if dtype is None else t.to(dtype)


def assert_decreases(losses, what="loss"):
    """The last value is below the first: the script learned something."""
    assert len(losses) >= 2, f"{what}: need at least two steps, got {losses}"
    assert all(math.isfinite(v) for v in losses), f"{what} not finite: {losses}"
    assert losses[-1] < losses[0], f"{what} did not decrease: {losses}"


def assert_same_losses(ember_losses, torch_losses, rtol=1e-4, atol=1e-5):
    """ember's per-step losses equal PyTorch's (float32 rounding differs a little per op)."""
    np.testing.assert_allclose(np.asarray(ember_losses), np.asarray(torch_losses),
                               rtol=rtol, atol=atol, err_msg="ember vs PyTorch losses")
