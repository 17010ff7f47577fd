"""MLP training step, ember vs PyTorch eager, and ember's per-op overhead.

    python bench/mlp.py

Model 784-512-256-10 with ReLU, cross-entropy, SGD (momentum 0.9), batch 128,
float32, random data. Both frameworks start from the same weights.
"""
from __future__ import annotations

import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ember  # noqa: E402
from common import compare, overhead  # noqa: E402

BATCH = 128


def build(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))


def training_step(lib, model, x, y):
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = lib.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
    return step


def main() -> None:
    torch.set_num_threads(os.cpu_count() or 1)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, 784)).astype(np.float32)
    y = rng.integers(0, 10, BATCH)

    tm = build(torch)
    em = build(ember)
    em.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})

    print(f"ember {ember.__version__}, torch {torch.__version__}, numpy {np.__version__}, "
          f"{os.cpu_count()} cores")
    compare("MLP train step (batch 128)", training_step(ember, em, ember.tensor(x), ember.tensor(y)),
            training_step(torch, tm, torch.tensor(x), torch.tensor(y)), BATCH)

    with ember.no_grad():
        ex = ember.tensor(x)
        ember_inf = lambda: em(ex)  # noqa: E731
    tx = torch.tensor(x)

    def torch_inf():
        with torch.no_grad():
            tm(tx)

    def ember_inference():
        with ember.no_grad():
            ember_inf()

    compare("MLP inference (batch 128)", ember_inference, torch_inf, BATCH)

    a, b = ember.ones(16), ember.ones(16)
    ag = ember.ones(16, requires_grad=True)
    na, nb = a._data, b._data
    overhead("add, 16 elements", lambda: a + b, lambda: na + nb)
    overhead("add, 16 elements, recording", lambda: ag + b, lambda: na + nb)
    overhead("relu, 16 elements", lambda: a.relu(), lambda: np.maximum(na, 0))
    overhead("sum, 16 elements", lambda: a.sum(), lambda: na.sum())


if __name__ == "__main__":
    main()
