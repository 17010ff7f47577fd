"""bench/common.py's worker processes: one that fails before its first step makes the
benchmark fail with the worker's traceback, instead of leaving it waiting forever."""
import os
import subprocess
import sys

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")

_SCRIPT = """
import sys
sys.path.insert(0, sys.argv[1])
from common import Side
try:
    Side("no_such_benchmark_module", "train_step", "ember")
except RuntimeError as e:
    print("raised:", e)
"""


def test_a_worker_that_fails_before_its_first_step_raises_its_error():
    done = subprocess.run([sys.executable, "-c", _SCRIPT, BENCH], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "raised: ember's no_such_benchmark_module.train_step failed in its worker" in done.stdout
    assert "ModuleNotFoundError: No module named 'no_such_benchmark_module'" in done.stdout
