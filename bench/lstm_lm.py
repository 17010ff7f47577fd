"""Word-level LSTM language model, ember vs PyTorch eager: training step and forward pass.

    python bench/lstm_lm.py

The model of examples/word_language_model.py with its defaults: vocabulary 10,000,
embedding 200, 2 LSTM layers of 200, dropout 0.2, tied weights off; sequence 35, batch 20,
float32, random tokens. A training step is the example's: detach the carried hidden state,
forward, NLL loss, backward, clip the gradient norm to 0.25, plain SGD update (lr 20).
Both frameworks start from the same weights. Rates are sequences (of 35 tokens) per second.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE), os.path.join(os.path.dirname(HERE), "examples")]

from common import compare, print_header  # noqa: E402

VOCAB, SEQ, BATCH = 10_000, 35, 20


def _setup(lib_name: str, device: str = "cpu"):
    from word_language_model import build_model, parse_args

    lib = importlib.import_module(lib_name)
    model = build_model(lib, parse_args(["--framework", lib_name]), VOCAB)
    rng = np.random.default_rng(0)
    data = lib.tensor(rng.integers(0, VOCAB, (SEQ, BATCH)), device=device)
    targets = lib.tensor(rng.integers(0, VOCAB, SEQ * BATCH), device=device)
    return lib, model.to(device), data, targets


def train_step(lib_name: str, device: str = "cpu"):
    from word_language_model import repackage_hidden

    lib, model, data, targets = _setup(lib_name, device)
    criterion = lib.nn.NLLLoss()
    model.train()
    hidden = model.init_hidden(BATCH)

    def step():
        nonlocal hidden
        model.zero_grad()
        hidden = repackage_hidden(hidden)
        output, hidden = model(data, hidden)
        criterion(output, targets).backward()
        lib.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-20.0)
    return step


def forward_step(lib_name: str, device: str = "cpu"):
    lib, model, data, _ = _setup(lib_name, device)
    model.eval()
    hidden = model.init_hidden(BATCH)

    def step():
        with lib.no_grad():
            model(data, hidden)
    return step


def profile_ember(steps: int) -> None:
    """cProfile of ember's training step: where the time goes, by function."""
    import cProfile
    import pstats

    step = train_step("ember")
    for _ in range(3):
        step()
    profiler = cProfile.Profile()
    profiler.runcall(lambda: [step() for _ in range(steps)])
    pstats.Stats(profiler).sort_stats("tottime").print_stats(20)


def nll_pair(steps: int) -> None:
    """ember's training step with the NLL loss's backward run with its log_softmax's as one
    pass (ember/ops/nll.py) and apart, alternated in one process: median step times."""
    import statistics
    import time

    from ember.ops import nll

    fused = nll.NllLoss.fuse_backward
    step = train_step("ember")
    for _ in range(3):
        step()
    times = {"one pass": [], "apart": []}
    for i in range(2 * steps):
        name = "one pass" if i % 2 == 0 else "apart"
        nll.NllLoss.fuse_backward = fused if i % 2 == 0 else (lambda self, producer, grads: None)
        start = time.perf_counter()
        step()
        times[name].append(time.perf_counter() - start)
    nll.NllLoss.fuse_backward = fused
    for name, ts in times.items():
        print(f"NLL and log_softmax backward {name:<9} {statistics.median(ts) * 1e3:7.1f} ms a step "
              f"(median of {steps})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", type=int, default=0, metavar="STEPS",
                        help="profile this many ember training steps instead of comparing")
    parser.add_argument("--nll-pair", type=int, default=0, metavar="STEPS",
                        help="time ember's step with the NLL pair's backward as one pass and apart")
    args = parser.parse_args()
    if args.profile:
        profile_ember(args.profile)
        return
    if args.nll_pair:
        nll_pair(args.nll_pair)
        return
    print_header()
    compare(f"LSTM LM train step (batch {BATCH}x{SEQ})", "lstm_lm", "train_step", BATCH, jax="lstm_train")
    compare(f"LSTM LM forward (batch {BATCH}x{SEQ})", "lstm_lm", "forward_step", BATCH, jax="lstm_forward")


if __name__ == "__main__":
    main()
