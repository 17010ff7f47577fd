"""Fits killed with SIGKILL at random points (inside a step, validation, a checkpoint write,
right after an epoch ends, or after a random delay), resumed from their last checkpoint until
they complete, end bit-identical to an uninterrupted fit: weights, history, early-stopping
state, learning rate and CSV log. One scenario loads batches in DataLoader worker processes
with random augmentation, the other in the main process with gradient accumulation; both
stop early."""
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import ember
from ember._tensor import Tensor

CHILD = os.path.join(os.path.dirname(__file__), "killresume_child.py")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PHASES = ("step", "val", "ckpt", "epoch", "time")


def _run(scenario: str, workdir: str, kill: tuple | None = None) -> tuple[int, dict, float]:
    """Run the child fit; ``kill = (phase, k, delay)`` sends SIGKILL ``delay`` seconds after
    the k-th signal of ``phase`` (for "time": ``delay`` seconds after the fit's first signal).
    Returns the exit code, the signals seen per phase and the seconds from the first signal
    to the end."""
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    with open(os.path.join(workdir, "stderr.txt"), "wb") as err:
        proc = subprocess.Popen([sys.executable, CHILD, scenario, workdir], stdout=subprocess.PIPE,
                                stderr=err, env=env, cwd=ROOT, bufsize=0)
        seen = dict.fromkeys(PHASES, 0)
        timer, start = None, None
        try:
            for line in iter(proc.stdout.readline, b""):
                phase = line.decode().split()[1]
                seen[phase] += 1
                if start is None:
                    start = time.monotonic()
                    if kill is not None and kill[0] == "time":
                        timer = threading.Timer(kill[2], proc.send_signal, (signal.SIGKILL,))
                        timer.start()
                if kill is not None and kill[:2] == (phase, seen[phase]):
                    time.sleep(kill[2])
                    os.kill(proc.pid, signal.SIGKILL)
                    break
            code = proc.wait(timeout=120)
        finally:
            if timer is not None:
                timer.cancel()
                timer.join()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
    if code not in (0, -signal.SIGKILL):
        raise AssertionError(f"child fit failed ({code}):\n" + open(err.name).read())
    return code, seen, time.monotonic() - (start or time.monotonic())


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Each scenario's uninterrupted fit: its result and how many signals of each phase it gave."""
    out = {}
    for scenario in ("workers", "inprocess"):
        workdir = str(tmp_path_factory.mktemp(scenario))
        code, seen, duration = _run(scenario, workdir)
        assert code == 0
        result = ember.load(os.path.join(workdir, "result.ember"))
        assert result["early_stopping"]["stopped_epoch"] is not None  # the fits do stop early
        out[scenario] = (result, seen, duration)
    return out


def _assert_identical(a, b, where="result"):
    if isinstance(a, Tensor):
        assert isinstance(b, Tensor) and a.dtype == b.dtype and a.shape == b.shape, where
        assert np.array_equal(a.numpy(), b.numpy()), f"{where} differs"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and sorted(a) == sorted(b), where
        for k in a:
            _assert_identical(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_identical(x, y, f"{where}[{i}]")
    elif isinstance(a, float):
        # the same bits: equal, or both nan
        assert isinstance(b, float) and (a == b or (math.isnan(a) and math.isnan(b))), f"{where}: {a} != {b}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


@pytest.mark.parametrize("trial", range(8))
def test_killed_and_resumed_fit_is_bit_identical(tmp_path, reference, trial):
    scenario = ("workers", "inprocess")[trial % 2]
    expected, counts, duration = reference[scenario]
    rng = random.Random(1000 + trial)
    workdir = str(tmp_path)
    # The first kill's phase rotates over the trials so that every phase is hit with either
    # scenario; the second kill's phase, and every occurrence and delay, are random.
    phases = [PHASES[(trial // 2 + trial % 2 * 2) % len(PHASES)], rng.choice(PHASES)]
    for n, phase in enumerate(phases):
        if phase == "time":
            kill = ("time", 0, rng.uniform(0, 0.9 * duration))
        else:
            # never the very last signal, so the first kill lands before the fit completes
            kill = (phase, rng.randint(1, max(1, counts[phase] - 1)), rng.uniform(0, 0.003))
        code, _, took = _run(scenario, workdir, kill)
        while n == 0 and code == 0 and phase == "time" and kill[2] > 1e-3:
            # a loaded machine can run the fit faster than the reference did: start over, sooner
            shutil.rmtree(workdir)
            os.makedirs(workdir)
            kill = ("time", 0, kill[2] / 4)
            code, _, took = _run(scenario, workdir, kill)
        if n == 0:
            assert code == -signal.SIGKILL, f"the first kill {kill} came after the fit ended ({took:.2f}s)"
        if code == 0:
            break
    else:
        assert _run(scenario, workdir)[0] == 0
    _assert_identical(ember.load(os.path.join(workdir, "result.ember")), expected)
