"""Activation functions, ember vs PyTorch eager: forward, and forward with backward.

    python bench/pointwise.py

Each row applies one function to a (256, 2048) float32 tensor, the hidden activations of a
transformer's feed-forward block for 256 tokens (512k elements): without a graph
(``no_grad``), and recorded then differentiated with a given incoming gradient. Rates are
elements per second.
"""
from __future__ import annotations

import importlib
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]

from common import call_step, compare, print_header  # noqa: E402

SHAPE = (256, 2048)
FUNCTIONS = ("sigmoid", "tanh", "silu", "gelu", "gelu_tanh", "elu", "softplus", "leaky_relu", "hardswish",
             "clamp", "exp", "cube")


def _function(lib, name: str):
    F = lib.nn.functional
    return {"sigmoid": lib.sigmoid, "tanh": lib.tanh, "silu": F.silu, "gelu": F.gelu,
            "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"), "elu": F.elu, "softplus": F.softplus,
            "leaky_relu": F.leaky_relu, "hardswish": F.hardswish, "clamp": lambda x: x.clamp(-1.0, 1.0),
            "exp": lib.exp, "cube": lambda x: x ** 3}[name]


def step(lib_name: str, name: str, backward: bool):
    lib = importlib.import_module(lib_name)
    fn = _function(lib, name)
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal(SHAPE).astype(np.float32) * 3, requires_grad=backward)
    grad = lib.tensor(rng.standard_normal(SHAPE).astype(np.float32))

    return call_step(lib, fn, (x,), grad, backward)


def main() -> None:
    print_header()
    elements = SHAPE[0] * SHAPE[1]
    for name in FUNCTIONS:
        compare(f"{name}, forward", "pointwise", "step", elements, name, False, gemm_share=False)
        compare(f"{name}, forward and backward", "pointwise", "step", elements, name, True, gemm_share=False)


if __name__ == "__main__":
    main()
