"""Side-by-side timing of ember and PyTorch, interleaved, reported as ratios of medians.

Each framework runs in its own worker process, started by this run, and the two
take turns: ember times a block of steps, then PyTorch does, and so on. Separate
processes keep one library's thread pool (PyTorch's OpenMP, NumPy's OpenBLAS) from
spinning on the cores while the other works, which in a shared process slows
whichever runs second. This machine's speed drifts, so only ratios measured
within one run mean anything: each repeat pairs the two and the median ratio is
reported.
"""
from __future__ import annotations

import importlib
import multiprocessing as mp
import statistics
import sys
import time
from typing import Callable

SETTLE_S = 0.2  # idle time before each timed block, so the other side's threads are asleep


def _nothing() -> None:
    pass


def time_block(step: Callable[[], None], iters: int, sync: Callable[[], None] = _nothing) -> float:
    """Seconds per call of ``step``, over ``iters`` calls; ``sync`` waits for queued device work
    before and after (a GPU's kernels run after the calls return)."""
    time.sleep(SETTLE_S)
    sync()
    t0 = time.perf_counter()
    for _ in range(iters):
        step()
    sync()
    return (time.perf_counter() - t0) / iters


def calibrate(step: Callable[[], None], target_s: float = 0.5, sync: Callable[[], None] = _nothing) -> int:
    """How many calls of ``step`` take about ``target_s`` seconds (after warming up)."""
    for _ in range(3):
        step()
    per = time_block(step, 5, sync)
    return max(5, int(target_s / max(per, 1e-9)))


def _serve(conn, path: list, module: str, factory: str, lib: str, args: tuple) -> None:
    sys.path[:0] = path
    step = getattr(importlib.import_module(module), factory)(lib, *args)
    while True:
        cmd, arg = conn.recv()
        if cmd == "calibrate":
            conn.send(calibrate(step))
        elif cmd == "time":
            conn.send(time_block(step, arg))
        else:
            conn.close()
            return


class Side:
    """One framework's training step, living in a worker process of its own.

    ``factory(lib, *args)`` (a function in ``module``) builds the step in that process;
    ``lib`` is "ember" or "torch".
    """

    def __init__(self, module: str, factory: str, lib: str, *args):
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, list(sys.path), module, factory, lib, args),
                                daemon=True)
        self.proc.start()

    def ask(self, cmd: str, arg=None):
        self.conn.send((cmd, arg))
        return self.conn.recv()

    def close(self) -> None:
        self.conn.send(("stop", None))
        self.proc.join(timeout=10)


def compare(name: str, module: str, factory: str, samples_per_step: int, *args,
            repeats: int = 7, target_s: float = 0.5) -> dict:
    """Interleave ember and PyTorch; print samples/s of each and the median ratio."""
    ember_side, torch_side = Side(module, factory, "ember", *args), Side(module, factory, "torch", *args)
    try:
        iters = torch_side.ask("calibrate")
        ember_side.ask("calibrate")
        ratios, e_times, t_times = [], [], []
        for _ in range(repeats):
            te = ember_side.ask("time", iters)
            tt = torch_side.ask("time", iters)
            e_times.append(te)
            t_times.append(tt)
            ratios.append(tt / te)
    finally:
        ember_side.close()
        torch_side.close()
    e_rate = samples_per_step / statistics.median(e_times)
    t_rate = samples_per_step / statistics.median(t_times)
    ratio = statistics.median(ratios)
    print(f"{name:<34} ember {e_rate:>9,.0f}/s   torch {t_rate:>9,.0f}/s   "
          f"ember/torch {ratio:5.2f}x  (median of {repeats} x {iters} steps)", flush=True)
    return {"name": name, "ember": e_rate, "torch": t_rate, "ratio": ratio}


def overhead(name: str, ember_op, numpy_op, repeats: int = 7) -> None:
    """Microseconds per call of a small ember op and of the NumPy call inside it."""
    iters = calibrate(numpy_op, 0.2)
    e = statistics.median(time_block(ember_op, iters) for _ in range(repeats))
    n = statistics.median(time_block(numpy_op, iters) for _ in range(repeats))
    print(f"{name:<34} ember {e * 1e6:7.2f} us   numpy {n * 1e6:7.2f} us   "
          f"overhead {(e - n) * 1e6:6.2f} us", flush=True)
