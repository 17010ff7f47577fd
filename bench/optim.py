"""Optimizer steps alone, ember vs PyTorch eager: PyTorch's default on the CPU (a loop over the
parameters, a few tensor ops each) and its ``foreach=True`` path (each operation one
multi-tensor call over all of a group's parameters).

    python bench/optim.py

Rows: an SGD-with-momentum step over the MLP's parameters (784-512-256-10: 6 tensors, 535k
values), an Adam step over LeNet-5's (10 tensors, 62k values) and an SGD step with momentum
and weight decay over ResNet-8's (29 tensors, 78k values), the models of bench/mlp.py and
bench/cnn.py, with fixed gradients. ember runs one compiled loop per parameter
(``backend/kernels/optim.py``) either way; the rate is steps per second.
"""
from __future__ import annotations

import importlib
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]

from cnn import lenet, resnet8  # noqa: E402
from common import compare, print_header  # noqa: E402


def _mlp(nn):
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))


CASES = {
    "mlp_sgd": (_mlp, lambda optim, ps, fe: optim.SGD(ps, lr=0.01, momentum=0.9, foreach=fe)),
    "lenet_adam": (lenet, lambda optim, ps, fe: optim.Adam(ps, lr=1e-3, foreach=fe)),
    "resnet8_sgd": (resnet8, lambda optim, ps, fe: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=5e-4,
                                                             foreach=fe)),
}


def step(lib_name: str, case: str, foreach: bool | None):
    lib = importlib.import_module(lib_name)
    build, make = CASES[case]
    params = list(build(lib.nn).parameters())
    rng = np.random.default_rng(0)
    for p in params:
        p.grad = lib.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32) * 1e-3)
    return make(lib.optim, params, foreach).step


def main() -> None:
    print_header()
    for case in CASES:
        for foreach in (None, True):
            compare(f"{case} step{', foreach' if foreach else ''}", "optim", "step", 1, case, foreach,
                    gemm_share=False)


if __name__ == "__main__":
    main()
