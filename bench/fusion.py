"""Element-wise chains written out by hand, through ember.compile, vs PyTorch eager.

    python bench/fusion.py

Each row applies a function made of element-wise ops to a (256, 2048) float32 tensor
(512k elements): without a graph (``no_grad``), and recorded then differentiated with a given
incoming gradient. ember runs the function eagerly and through ``ember.compile``, which
fuses the chain into one compiled loop (``ember/compiler/fusion.py``); PyTorch runs it
eagerly, one kernel per op. Rates are elements per second.

- ``new_gelu``: nanoGPT's GELU, 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))): 8 ops.
- ``swish_residual``: x + 0.1 x sigmoid(1.5 x), a gated residual update: 5 ops.
- ``swiglu``: silu(x) * y, the gate of LLaMA-style feed-forward blocks (two inputs, both
  differentiated): 2 ops.

Then a pair (``ember/compiler/pairs.py``): max_pool2d(relu(x), 2) on LeNet-5's two pooled
activations at batch 128, forward and backward; rates are input elements per second.
"""
from __future__ import annotations

import importlib
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]

from common import call_step, compare, print_header  # noqa: E402

SHAPE = (256, 2048)


def _function(lib, name: str):
    if name == "new_gelu":
        return lambda x, y: 0.5 * x * (1.0 + lib.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * lib.pow(x, 3.0))))
    if name == "swiglu":
        return lambda x, y: lib.nn.functional.silu(x) * y
    return lambda x, y: x + 0.1 * x * lib.sigmoid(1.5 * x)


def step(lib_name: str, name: str, backward: bool, compiled: bool = False):
    lib = importlib.import_module(lib_name)
    fn = _function(lib, name)
    if compiled and lib_name == "ember":
        fn = lib.compile(fn)
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal(SHAPE).astype(np.float32) * 3, requires_grad=backward)
    y = lib.tensor(rng.standard_normal(SHAPE).astype(np.float32), requires_grad=backward and name == "swiglu")
    grad = lib.tensor(rng.standard_normal(SHAPE).astype(np.float32))

    return call_step(lib, fn, (x, y), grad, backward)


POOLED = ((128, 6, 28, 28), (128, 16, 10, 10))


def pool_step(lib_name: str, shape: tuple, compiled: bool = False):
    lib = importlib.import_module(lib_name)
    fn = lambda x: lib.nn.functional.max_pool2d(lib.relu(x), 2)  # noqa: E731
    if compiled and lib_name == "ember":
        fn = lib.compile(fn)
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)
    grad = lib.tensor(rng.standard_normal(shape[:2] + (shape[2] // 2, shape[3] // 2)).astype(np.float32))
    return call_step(lib, fn, (x,), grad, True)


def main() -> None:
    print_header()
    elements = SHAPE[0] * SHAPE[1]
    for name in ("new_gelu", "swish_residual", "swiglu"):
        for backward in (False, True):
            what = "forward and backward" if backward else "forward"
            compare(f"{name}, {what}, eager", "fusion", "step", elements, name, backward, gemm_share=False)
            compare(f"{name}, {what}, ember.compile", "fusion", "step", elements, name, backward, True,
                    gemm_share=False)
    for shape in POOLED:
        for compiled in (False, True):
            compare(f"relu, max pool {shape}, {'ember.compile' if compiled else 'eager'}", "fusion", "pool_step",
                    math.prod(shape), shape, compiled, gemm_share=False)


if __name__ == "__main__":
    main()
