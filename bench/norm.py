"""Batch, layer and group norm, ember vs PyTorch eager: forward, and forward with backward.

    python bench/norm.py

Rows: ResNet-8's batch norms in training mode (batch 64: 16 channels of 32 x 32, 32 of
16 x 16, 64 of 8 x 8); a transformer's layer norms, (2048, 128) (batch 32 x 64 tokens, width 128) and
(8192, 512); a group norm of a CNN's activations, (32, 64, 16, 16) in 8 groups. float32,
with weight and bias; the backward pass takes a given incoming gradient. Rates are elements
per second.
"""
from __future__ import annotations

import importlib
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]

from common import call_step, compare, print_header  # noqa: E402

CASES = {"batch_norm_64x16x32x32": (64, 16, 32, 32), "batch_norm_64x32x16x16": (64, 32, 16, 16),
         "batch_norm_64x64x8x8": (64, 64, 8, 8), "layer_norm_2048x128": (2048, 128), "layer_norm_8192x512": (8192, 512),
         "group_norm_32x64x16x16": (32, 64, 16, 16)}


def step(lib_name: str, case: str, backward: bool):
    lib = importlib.import_module(lib_name)
    shape = CASES[case]
    lib.manual_seed(0)
    kind = case.split("_")[0]
    layer = (lib.nn.BatchNorm2d(shape[1]) if kind == "batch" else lib.nn.LayerNorm(shape[-1]) if kind == "layer"
             else lib.nn.GroupNorm(8, shape[1]))
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=backward)
    grad = lib.tensor(rng.standard_normal(shape).astype(np.float32))

    return call_step(lib, layer, (x,), grad, backward)


def main() -> None:
    print_header()
    for case, shape in CASES.items():
        elements = int(np.prod(shape))
        compare(f"{case}, forward", "norm", "step", elements, case, False, gemm_share=False)
        compare(f"{case}, forward and backward", "norm", "step", elements, case, True, gemm_share=False)


if __name__ == "__main__":
    main()
