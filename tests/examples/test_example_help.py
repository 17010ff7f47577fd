"""Every example script answers --help (with its description) without training or reading
data, so a learner can see its options first."""
import os
import subprocess
import sys

import pytest

from example_modules import EXAMPLES

SCRIPTS = sorted(name for name in os.listdir(EXAMPLES)
                 if name.endswith(".py") and name not in ("common.py", "rl_common.py"))


@pytest.mark.parametrize("script", SCRIPTS)
def test_example_help(script):
    done = subprocess.run([sys.executable, os.path.join(EXAMPLES, script), "--help"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("usage:") and "-h, --help" in done.stdout, done.stdout[:500]
