"""DistributedDataParallel on 2 processes: an MLP and a small CNN trained a few steps end with the
weights of one process trained on the concatenated batches; no_sync accumulation, unused
parameters, buffer broadcast and the errors (checks in scripts/ddp.py)."""


def test_ddp_matches_single_process_training(job):
    code, out, err = job("ddp.py", nproc=2)
    assert code == 0, err[-4000:]
    assert sorted(line for line in out.splitlines() if "ddp ok" in line) == ["ddp ok 0/2", "ddp ok 1/2"], out
