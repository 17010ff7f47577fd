"""The benchmark rows on CUDA: ember (CuPy) against PyTorch's CUDA eager.

    python bench/gpu.py [--repeats 5] [--json FILE]

Both frameworks run in this one process on the same GPU and take turns: each
repeat times a block of steps of ember, then of PyTorch, each block ended by a
device synchronisation so that queued kernels are counted. The ratio reported is
the median over repeats of PyTorch's time over ember's (above 1: ember faster).
Where PyTorch cannot run on CUDA (not installed, or a build without CUDA), ember's rows
still run alone and the output says why PyTorch's were skipped.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE), os.path.join(os.path.dirname(HERE), "examples")]

import cnn  # noqa: E402
from common import calibrate, time_block  # noqa: E402
import lstm_lm  # noqa: E402
import mlp  # noqa: E402

ROWS = [  # (name, factory(lib_name, device) -> step, samples per step)
    ("MLP train (batch 128)", mlp.train_step, mlp.BATCH),
    ("MLP inference (batch 128)", mlp.inference_step, mlp.BATCH),
    ("LeNet-5 train (batch 128)", cnn.lenet_train, 128),
    ("ResNet-8 train (batch 64)", cnn.resnet_train, 64),
    ("LeNet-5 inference (batch 1000)", cnn.lenet_inference, 1000),
    ("LSTM LM train (35x20)", lstm_lm.train_step, lstm_lm.BATCH),
    # ember's model through ember.compile, PyTorch's eager
    ("MLP train, ember.compile", functools.partial(mlp.train_step, compiled=True), mlp.BATCH),
    ("LeNet-5 train, ember.compile", functools.partial(cnn.lenet_train, compiled=True), 128),
]


def synchronize(lib_name: str) -> None:
    if lib_name == "torch":
        import torch
        torch.cuda.synchronize()
    else:
        import ember
        ember.cuda.synchronize()


def run_row(name: str, factory, repeats: int, libs: tuple[str, ...]) -> dict:
    steps = {lib: factory(lib, "cuda") for lib in libs}
    syncs = {lib: functools.partial(synchronize, lib) for lib in steps}
    iters = {lib: calibrate(step, 0.3, syncs[lib]) for lib, step in steps.items()}
    times = {lib: [] for lib in libs}
    for _ in range(repeats):
        for lib, step in steps.items():
            times[lib].append(time_block(step, iters[lib], syncs[lib]))
    row = {"row": name, "ember_ms": 1e3 * statistics.median(times["ember"]), "torch_ms": None, "ratio": None}
    if "torch" in times:
        row["torch_ms"] = 1e3 * statistics.median(times["torch"])
        row["ratio"] = statistics.median(t / e for e, t in zip(times["ember"], times["torch"]))
    return row


def torch_cuda() -> tuple[object | None, str]:
    """(the torch module, "") when PyTorch can run on CUDA here, else (None, why not)."""
    try:
        import torch
    except ImportError:
        return None, "PyTorch is not installed (install a CUDA build of torch to compare)"
    if not torch.cuda.is_available():
        build = f"built for CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        return None, (f"PyTorch {torch.__version__} cannot use the GPU ({build}; torch.cuda.is_available() is "
                      "False): install a CUDA build of torch that matches the driver to compare")
    return torch, ""


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed blocks per framework (default: 5)")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    import ember
    if not ember.cuda.is_available():
        sys.exit("bench/gpu.py: ember sees no CUDA GPU (it needs an NVIDIA GPU and CuPy: pip install 'ember[cuda]')")
    import cupy
    torch, skipped = torch_cuda()
    libs = ("ember", "torch") if torch is not None else ("ember",)
    print(f"ember {ember.__version__}, CuPy {cupy.__version__}, "
          f"PyTorch {torch.__version__ if torch is not None else '-'}, {ember.cuda.get_device_name()}", flush=True)
    if skipped:
        print(f"PyTorch's CUDA rows skipped: {skipped}. ember's rows run alone.", flush=True)
    print(f"{'row':34} {'ember ms':>10} {'torch ms':>10} {'torch/ember':>12}")
    results = []
    for name, factory, _ in ROWS:
        try:
            r = run_row(name, factory, args.repeats, libs)
        except Exception as exc:  # a failing row is reported, and the others still run
            r = {"row": name, "error": f"{type(exc).__name__}: {exc}"[:300]}
            print(f"{name:34} FAILED {r['error']}", flush=True)
        else:
            theirs = (f"{'-':>10} {'-':>12}" if r["ratio"] is None
                      else f"{r['torch_ms']:10.3f} {r['ratio']:11.2f}x")
            print(f"{name:34} {r['ember_ms']:10.3f} {theirs}", flush=True)
        results.append(r)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
