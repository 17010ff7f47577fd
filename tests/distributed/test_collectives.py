"""Every collective, each ReduceOp, async handles, groups, object collectives and the errors,
run on 2 and 3 processes (the checks are in scripts/collectives.py; each rank prints "ok")."""
import pytest


@pytest.mark.parametrize("nproc", [2, 3])
def test_collectives(job, nproc):
    code, out, err = job("collectives.py", nproc=nproc)
    assert code == 0, err[-4000:]
    assert sorted(line for line in out.splitlines() if "collectives ok" in line) == \
        [f"collectives ok {r}/{nproc}" for r in range(nproc)], out
