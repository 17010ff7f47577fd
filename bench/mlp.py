"""MLP training and inference, ember vs PyTorch eager, and ember's per-op overhead.

    python bench/mlp.py

The last row runs ember's model through ember.compile (PyTorch's stays eager).

Model 784-512-256-10 with ReLU, cross-entropy, SGD (momentum 0.9), batch 128,
float32, random data; both frameworks start from the same weights.
"""
from __future__ import annotations

import importlib
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]

from common import classifier_step, compare, inference, overhead, print_header  # noqa: E402

BATCH = 128


def _setup(lib_name: str, device: str = "cpu"):
    lib = importlib.import_module(lib_name)
    nn = lib.nn
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                          nn.Linear(256, 10))
    rng = np.random.default_rng(0)
    with lib.no_grad():
        for p in model.parameters():
            p.copy_(lib.tensor(rng.uniform(-0.05, 0.05, tuple(p.shape)).astype(np.float32)))
    x = lib.tensor(rng.standard_normal((BATCH, 784)).astype(np.float32), device=device)
    y = lib.tensor(rng.integers(0, 10, BATCH), device=device)
    return lib, model.to(device), x, y


def train_step(lib_name: str, device: str = "cpu", compiled: bool = False):
    lib, model, x, y = _setup(lib_name, device)
    return classifier_step(lib, model, x, y, lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9), compiled)


def inference_step(lib_name: str, device: str = "cpu"):
    lib, model, x, _ = _setup(lib_name, device)
    return inference(lib, model, x)


def main() -> None:
    import ember
    print_header()
    compare("MLP train step (batch 128)", "mlp", "train_step", BATCH, jax="mlp_train")
    compare("MLP inference (batch 128)", "mlp", "inference_step", BATCH, jax="mlp_inference")
    compare("MLP train step, ember.compile vs PyTorch eager", "mlp", "train_step", BATCH, "cpu", True)

    a, b = ember.ones(16), ember.ones(16)
    ag = ember.ones(16, requires_grad=True)
    na, nb = a._data, b._data
    overhead("add, 16 elements", lambda: a + b, lambda: na + nb)
    overhead("add, 16 elements, recording graph", lambda: ag + b, lambda: na + nb)
    overhead("mul by a number, 16 elements", lambda: a * 2.0, lambda: na * 2.0)
    overhead("relu, 16 elements", lambda: a.relu(), lambda: np.maximum(na, 0))
    overhead("sum, 16 elements", lambda: a.sum(), lambda: na.sum())


if __name__ == "__main__":
    main()
