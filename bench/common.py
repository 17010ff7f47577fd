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
import traceback
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


def _status_kb(key: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key + ":"))


def _release_freed_memory() -> None:
    """Return the C allocator's freed memory to the system (glibc's malloc_trim)."""
    import ctypes
    import gc
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the measure then includes what it keeps
        pass


def _gemm_peak(lib: str) -> float:
    """FLOP/s of this framework's float32 matrix product at 2048^3, all threads: the machine's
    practical peak as this side reaches it."""
    xp = importlib.import_module(lib)
    a, b = xp.ones(2048, 2048), xp.ones(2048, 2048)
    seconds = min(time_block(lambda: xp.matmul(a, b), 5) for _ in range(3))
    return 2 * 2048 ** 3 / seconds


def _step_flops(step: Callable[[], None]) -> float:
    """The floating-point operations of one call of a PyTorch ``step``, as PyTorch's
    FlopCounterMode counts them (matrix products and convolutions, forward and backward)."""
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter:
        step()
    return float(counter.get_total_flops())


def _serve(conn, path: list, module: str, factory: str, lib: str, args: tuple) -> None:
    sys.path[:0] = path
    try:
        step = getattr(importlib.import_module(module), factory)(lib, *args)
        # Memory: the resident-set high-water mark from here on (Linux resets it on request)
        # above the process as it stands with the model and data built and one step taken, its
        # freed memory handed back to the system: the library's one-time costs (compiled
        # kernels, PyTorch's kernel caches), its gradients and optimizer state stay out of it.
        step()
    except BaseException:
        conn.send(traceback.format_exc())  # the parent raises it: no wait for a dead worker
        return
    _release_freed_memory()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    built_kb = _status_kb("VmRSS")
    conn.send("ready")
    while True:
        cmd, arg = conn.recv()
        if cmd == "calibrate":
            conn.send(calibrate(step))
        elif cmd == "time":
            conn.send(time_block(step, arg))
        elif cmd == "peak_memory":
            conn.send((_status_kb("VmHWM") - built_kb) * 1024)
        elif cmd == "gemm_peak":
            conn.send(_gemm_peak(lib))
        elif cmd == "flops":
            conn.send(_step_flops(step))
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
        child.close()  # the worker's end: if it dies, recv() below ends instead of waiting
        # Its first step done before anything else runs: two sides warming up at once (a
        # whole epoch each in bench/mnist_script.py) would share the cores with timed steps.
        try:
            reply = self.conn.recv()
        except EOFError:
            reply = f"the worker exited with status {self.proc.exitcode} before its first step"
        if reply != "ready":
            raise RuntimeError(f"{lib}'s {module}.{factory} failed in its worker:\n{reply}")

    def ask(self, cmd: str, arg=None):
        self.conn.send((cmd, arg))
        return self.conn.recv()

    def close(self) -> None:
        self.conn.send(("stop", None))
        self.proc.join(timeout=10)


def ember_compiled(lib, model, compiled: bool):
    """``model`` through ember.compile when ``compiled`` and ``lib`` is ember; PyTorch's side
    stays eager (the compiled rows compare ember.compile with PyTorch eager)."""
    return lib.compile(model) if compiled and lib.__name__ == "ember" else model


def classifier_step(lib, model, x, y, opt, compiled: bool = False) -> Callable[[], None]:
    """A classifier's training step on one batch: zero the gradients, cross-entropy of
    ``model(x)`` against ``y``, backward, ``opt.step()``; the model through ember.compile where
    ``compiled`` (ember_compiled)."""
    model = ember_compiled(lib, model, compiled)
    loss_fn = lib.nn.CrossEntropyLoss()
    model.train()

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    return step


def inference(lib, model, x) -> Callable[[], None]:
    """``model(x)`` in eval mode under no_grad."""
    model.eval()

    def step():
        with lib.no_grad():
            model(x)
    return step


def compare(name: str, module: str, factory: str, samples_per_step: int, *args,
            repeats: int = 7, target_s: float = 0.5, memory: bool = False, gemm_share: bool = True) -> dict:
    """Interleave ember and PyTorch; print samples/s of each and the median ratio, and (with
    ``gemm_share``) the share of its own GEMM peak (a 2048^3 float32 product) each side's steps
    reach, counting the step's FLOPs as PyTorch's FlopCounterMode does. With ``memory``, also
    each side's peak resident memory over its steps above the process between steps (the
    activations and workspace of a step, and what the allocator keeps of them)."""
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
        peaks = (ember_side.ask("peak_memory"), torch_side.ask("peak_memory")) if memory else None
        if gemm_share:
            flops = torch_side.ask("flops")
            gemm = (ember_side.ask("gemm_peak"), torch_side.ask("gemm_peak"))
    finally:
        ember_side.close()
        torch_side.close()
    e_rate = samples_per_step / statistics.median(e_times)
    t_rate = samples_per_step / statistics.median(t_times)
    ratio = statistics.median(ratios)
    print(f"{name:<34} ember {e_rate:>9,.0f}/s   torch {t_rate:>9,.0f}/s   "
          f"ember/torch {ratio:5.2f}x  (median of {repeats} x {iters} steps)", flush=True)
    shares = None
    if gemm_share:
        shares = [flops / statistics.median(t) / g for t, g in zip((e_times, t_times), gemm)]
        print(f"{'  share of its GEMM peak':<34} ember {100 * shares[0]:7.1f} %    torch {100 * shares[1]:7.1f} %    "
              f"({flops / 1e9:.2f} GFLOP a step; peaks {gemm[0] / 1e9:.0f} and {gemm[1] / 1e9:.0f} GFLOP/s)",
              flush=True)
    if peaks:
        print(f"{'  peak memory of its steps':<34} ember {peaks[0] / 2**20:7.1f} MB   torch {peaks[1] / 2**20:7.1f} MB   "
              f"ember/torch {peaks[0] / max(peaks[1], 1):5.2f}x", flush=True)
    return {"name": name, "ember": e_rate, "torch": t_rate, "ratio": ratio, "peak_memory": peaks,
            "gemm_share": shares}


def print_header() -> None:
    """The first line of a benchmark's output: the versions and cores it measured on."""
    import os

    import numpy as np

    import ember
    print(f"ember {ember.__version__}, numpy {np.__version__}, {os.cpu_count()} cores; "
          "each framework in its own worker process, interleaved", flush=True)


def call_step(lib, fn: Callable, inputs: tuple, grad, backward: bool) -> Callable[[], None]:
    """A step that calls ``fn(*inputs)``: under ``no_grad``, or, with ``backward``, then
    differentiated against ``grad`` (the inputs' gradients cleared first)."""
    def run():
        if backward:
            for t in inputs:
                t.grad = None
            fn(*inputs).backward(grad)
        else:
            with lib.no_grad():
                fn(*inputs)
    return run


def overhead(name: str, ember_op, numpy_op, repeats: int = 7) -> None:
    """Microseconds per call of a small ember op and of the NumPy call inside it."""
    iters = calibrate(numpy_op, 0.2)
    e = statistics.median(time_block(ember_op, iters) for _ in range(repeats))
    n = statistics.median(time_block(numpy_op, iters) for _ in range(repeats))
    print(f"{name:<34} ember {e * 1e6:7.2f} us   numpy {n * 1e6:7.2f} us   "
          f"overhead {(e - n) * 1e6:6.2f} us", flush=True)
