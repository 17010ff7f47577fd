"""Transformer encoder training, ember vs PyTorch eager.

    python bench/transformer.py

Four pre-norm nn.TransformerEncoderLayer blocks (width 128, 4 heads, feed-forward 512, GELU,
no dropout, batch_first) under a linear head to 65 classes, as in a small character-level
model; batch 32 of 64 tokens, float32, random inputs and targets, cross-entropy, AdamW. Both
frameworks start from the same weights. Rates are sequences per second.
"""
from __future__ import annotations

import importlib
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]

from common import compare, print_header  # noqa: E402

BATCH, TOKENS, WIDTH, CLASSES = 32, 64, 128, 65


def train_step(lib_name: str):
    lib = importlib.import_module(lib_name)
    nn = lib.nn
    layers = [nn.TransformerEncoderLayer(WIDTH, 4, dim_feedforward=4 * WIDTH, dropout=0.0, activation="gelu",
                                         batch_first=True, norm_first=True) for _ in range(4)]
    model = nn.Sequential(*layers, nn.Linear(WIDTH, CLASSES))
    rng = np.random.default_rng(0)
    with lib.no_grad():
        for p in model.parameters():
            p.copy_(lib.tensor(rng.uniform(-0.1, 0.1, tuple(p.shape)).astype(np.float32)))
    opt = lib.optim.AdamW(model.parameters(), lr=1e-3)
    x = lib.tensor(rng.standard_normal((BATCH, TOKENS, WIDTH)).astype(np.float32))
    y = lib.tensor(rng.integers(0, CLASSES, BATCH * TOKENS))

    def step():
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x).reshape(-1, CLASSES), y)
        loss.backward()
        opt.step()
    return step


def main() -> None:
    print_header()
    compare(f"Transformer encoder train step (batch {BATCH}x{TOKENS})", "transformer", "train_step", BATCH)


if __name__ == "__main__":
    main()
