"""A small MLP, where the framework's own cost per op is the step: ember vs PyTorch eager.

    python bench/small_mlp.py

Model 4-32-32-3 with ReLU (a first classifier: Iris-sized inputs), cross-entropy, batch 16,
float32, random data; both frameworks start from the same weights. Each op computes on a
few hundred numbers, so the rows measure dispatch, graph recording, the backward engine and
the optimizer's loop over parameters, not arithmetic. Rows: a training step with Adam, the
forward and backward alone, inference, and the training step through ember.compile
(PyTorch's stays eager).
"""
from __future__ import annotations

import importlib
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]

from common import classifier_step, compare, inference, print_header  # noqa: E402

BATCH = 16


def _setup(lib_name: str):
    lib = importlib.import_module(lib_name)
    nn = lib.nn
    model = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 3))
    rng = np.random.default_rng(0)
    with lib.no_grad():
        for p in model.parameters():
            p.copy_(lib.tensor(rng.uniform(-0.3, 0.3, tuple(p.shape)).astype(np.float32)))
    x = lib.tensor(rng.standard_normal((BATCH, 4)).astype(np.float32))
    y = lib.tensor(rng.integers(0, 3, BATCH))
    return lib, model, x, y


def train_step(lib_name: str, compiled: bool = False):
    lib, model, x, y = _setup(lib_name)
    return classifier_step(lib, model, x, y, lib.optim.Adam(model.parameters(), lr=1e-3), compiled)


def forward_backward(lib_name: str):
    lib, model, x, y = _setup(lib_name)
    loss_fn = lib.nn.CrossEntropyLoss()

    def step():
        model.zero_grad()
        loss_fn(model(x), y).backward()
    return step


def inference_step(lib_name: str):
    lib, model, x, _ = _setup(lib_name)
    return inference(lib, model, x)


def main() -> None:
    print_header()
    compare("small MLP train step (Adam)", "small_mlp", "train_step", BATCH, gemm_share=False)
    compare("small MLP forward and backward", "small_mlp", "forward_backward", BATCH, gemm_share=False)
    compare("small MLP inference", "small_mlp", "inference_step", BATCH, gemm_share=False)
    compare("small MLP train step, ember.compile", "small_mlp", "train_step", BATCH, True, gemm_share=False)


if __name__ == "__main__":
    main()
