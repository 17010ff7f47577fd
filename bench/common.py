"""Side-by-side timing: ember and PyTorch interleaved in one process, ratios of medians.

This machine's speed drifts, so only ratios measured within one run mean anything:
each repeat times ember and PyTorch back to back and the median ratio is reported.
"""
from __future__ import annotations

import statistics
import time
from typing import Callable


def time_block(step: Callable[[], None], iters: int, sync: Callable[[], None] = lambda: None) -> float:
    """Seconds per call of ``step``, over ``iters`` calls."""
    sync()
    t0 = time.perf_counter()
    for _ in range(iters):
        step()
    sync()
    return (time.perf_counter() - t0) / iters


def calibrate(step: Callable[[], None], target_s: float = 0.5) -> int:
    """How many calls of ``step`` take about ``target_s`` seconds."""
    step()
    per = time_block(step, 3)
    return max(3, int(target_s / max(per, 1e-9)))


def compare(name: str, ember_step, torch_step, samples_per_step: int, repeats: int = 7,
            target_s: float = 0.5) -> dict:
    """Interleave ember and PyTorch; print samples/s of each and the median ratio."""
    iters = calibrate(torch_step, target_s)
    calibrate(ember_step, target_s)  # warm-up
    e_times, t_times, ratios = [], [], []
    for _ in range(repeats):
        te = time_block(ember_step, iters)
        tt = time_block(torch_step, iters)
        e_times.append(te)
        t_times.append(tt)
        ratios.append(tt / te)
    e_rate = samples_per_step / statistics.median(e_times)
    t_rate = samples_per_step / statistics.median(t_times)
    ratio = statistics.median(ratios)
    print(f"{name:<32} ember {e_rate:>10,.0f}/s   torch {t_rate:>10,.0f}/s   "
          f"ember/torch {ratio:5.2f}x  (median of {repeats}, {iters} steps each)")
    return {"name": name, "ember": e_rate, "torch": t_rate, "ratio": ratio}


def overhead(name: str, ember_op, numpy_op, repeats: int = 7) -> None:
    """Microseconds per call of a small ember op and of the NumPy call inside it."""
    iters = calibrate(numpy_op, 0.2)
    e = statistics.median(time_block(ember_op, iters) for _ in range(repeats))
    n = statistics.median(time_block(numpy_op, iters) for _ in range(repeats))
    print(f"{name:<32} ember {e * 1e6:7.2f} us   numpy {n * 1e6:7.2f} us   "
          f"overhead {(e - n) * 1e6:6.2f} us")
