"""Side-by-side timing of ember and PyTorch (and JAX's jit where installed), interleaved,
reported as ratios of medians.

Each framework runs in its own worker process, started by this run, and they
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
    if lib == "jax":
        import jax
        a = jax.numpy.ones((2048, 2048))
        product = jax.jit(jax.numpy.matmul)
        step = lambda: product(a, a).block_until_ready()  # noqa: E731  (JAX returns before the work ends)
    else:
        xp = importlib.import_module(lib)
        a = xp.ones(2048, 2048)
        step = lambda: xp.matmul(a, a)  # noqa: E731
    step()
    seconds = min(time_block(step, 5) for _ in range(3))
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
    ``lib`` is "ember", "torch" or "jax" (a workload of jax_models.py).
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


def jax_installed() -> bool:
    """Whether JAX can be imported: then the rows that name a JAX workload run it too."""
    import importlib.util
    return importlib.util.find_spec("jax") is not None


def compare(name: str, module: str, factory: str, samples_per_step: int, *args,
            repeats: int = 7, target_s: float = 0.5, memory: bool = False, gemm_share: bool = True,
            jax: str | None = None) -> dict:
    """Interleave ember and PyTorch; print samples/s of each and the median ratio, and (with
    ``gemm_share``) the share of its own GEMM peak (a 2048^3 float32 product) each side's steps
    reach, counting the step's FLOPs as PyTorch's FlopCounterMode does. With ``memory``, also
    each side's peak resident memory over its steps above the process between steps (the
    activations and workspace of a step, and what the allocator keeps of them).

    ``jax`` names the same workload's factory in ``jax_models.py``: where JAX is installed, its
    jitted step is a third side, taking its turn after PyTorch's, and its row gives JAX's rate
    and its median ratio to PyTorch."""
    sides = {"ember": Side(module, factory, "ember", *args), "torch": Side(module, factory, "torch", *args)}
    if jax is not None and jax_installed():
        sides["jax"] = Side("jax_models", jax, "jax")
    try:
        iters = sides["torch"].ask("calibrate")
        for lib, side in sides.items():
            if lib != "torch":
                side.ask("calibrate")  # (its warm-up; every side times the same number of steps)
        times: dict = {lib: [] for lib in sides}
        for _ in range(repeats):
            for lib, side in sides.items():
                times[lib].append(side.ask("time", iters))
        peaks = {lib: side.ask("peak_memory") for lib, side in sides.items()} if memory else None
        if gemm_share:
            flops = sides["torch"].ask("flops")
            gemm = {lib: side.ask("gemm_peak") for lib, side in sides.items()}
    finally:
        for side in sides.values():
            side.close()
    rate = {lib: samples_per_step / statistics.median(t) for lib, t in times.items()}
    ratio = statistics.median(t / e for t, e in zip(times["torch"], times["ember"]))
    print(f"{name:<34} ember {rate['ember']:>9,.0f}/s   torch {rate['torch']:>9,.0f}/s   "
          f"ember/torch {ratio:5.2f}x  (median of {repeats} x {iters} steps)", flush=True)
    shares = None
    if gemm_share:
        shares = {lib: flops / statistics.median(times[lib]) / gemm[lib] for lib in sides}
        print(f"{'  share of its GEMM peak':<34} ember {100 * shares['ember']:7.1f} %    "
              f"torch {100 * shares['torch']:7.1f} %    ({flops / 1e9:.2f} GFLOP a step; peaks "
              f"{gemm['ember'] / 1e9:.0f} and {gemm['torch'] / 1e9:.0f} GFLOP/s)", flush=True)
    if peaks:
        print(f"{'  peak memory of its steps':<34} ember {peaks['ember'] / 2**20:7.1f} MB   "
              f"torch {peaks['torch'] / 2**20:7.1f} MB   ember/torch {peaks['ember'] / max(peaks['torch'], 1):5.2f}x",
              flush=True)
    jax_ratio = None
    if "jax" in sides:
        jax_ratio = statistics.median(t / j for t, j in zip(times["torch"], times["jax"]))
        share = f"   GEMM peak share {100 * shares['jax']:.1f} %" if shares else ""
        memory_mb = f"   peak memory {peaks['jax'] / 2**20:.1f} MB" if peaks else ""
        print(f"{'  JAX jit, same workload':<34} jax {rate['jax']:>11,.0f}/s   jax/torch {jax_ratio:5.2f}x   "
              f"ember/jax {rate['ember'] / rate['jax']:5.2f}x{share}{memory_mb}", flush=True)
    return {"name": name, "ember": rate["ember"], "torch": rate["torch"], "ratio": ratio,
            "peak_memory": None if peaks is None else (peaks["ember"], peaks["torch"]),
            "gemm_share": None if shares is None else (shares["ember"], shares["torch"]),
            "jax": rate.get("jax"), "jax_ratio": jax_ratio}


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
