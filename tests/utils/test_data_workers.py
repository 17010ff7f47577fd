"""DataLoader with worker processes: same batches as in-process loading, seeding, sharding,
errors from workers, timeouts and clean shutdown."""
import gc
import multiprocessing as mp
import os
import random
import time

import numpy as np
import pytest

import ember
from ember.utils import data as edata
from helpers import assert_same_tree

torch = pytest.importorskip("torch")
tdata = torch.utils.data


def _dataset(n=10):
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    return edata.TensorDataset(ember.tensor(x), ember.arange(n))


def _plain(x):
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    return x.tolist() if hasattr(x, "tolist") else x  # ember or torch tensor


def _as_lists(loader):
    return [_plain(b) for b in loader]


def _assert_no_children():
    gc.collect()  # an iterator kept alive by a caught exception's traceback is freed here
    deadline = time.monotonic() + 5
    while mp.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert mp.active_children() == []


@pytest.mark.parametrize("batch_size", [1, 3, None])
def test_workers_give_the_same_batches(batch_size):
    ds = _dataset()
    expected = _as_lists(edata.DataLoader(ds, batch_size=batch_size))
    got = _as_lists(edata.DataLoader(ds, batch_size=batch_size, num_workers=2))
    assert got == expected
    _assert_no_children()


def test_shuffle_with_generator_is_reproducible_and_worker_independent():
    ds = _dataset(20)
    run = lambda workers, seed: _as_lists(edata.DataLoader(
        ds, batch_size=4, shuffle=True, num_workers=workers, generator=ember.Generator().manual_seed(seed)))
    a = run(2, 0)
    assert a == run(2, 0) == run(0, 0)
    assert a != run(2, 1)
    assert sorted(i for b in a for i in b[1]) == list(range(20))


class RandomPerWorker(edata.Dataset):
    """Each sample reports its worker and the random numbers the worker drew."""

    def __getitem__(self, i):
        info = edata.get_worker_info()
        return {"id": info.id, "num_workers": info.num_workers, "seed": info.seed,
                "ember": ember.rand(1).item(), "numpy": np.random.rand(), "random": random.random()}

    def __len__(self):
        return 4


def test_worker_seeding():
    run = lambda seed: list(edata.DataLoader(RandomPerWorker(), batch_size=None, num_workers=2,
                                             generator=ember.Generator().manual_seed(seed)))
    out = run(3)
    firsts = {s["id"]: s for s in reversed(out)}  # each worker's first sample
    assert sorted(firsts) == [0, 1] and all(s["num_workers"] == 2 for s in out)
    assert firsts[1]["seed"] == firsts[0]["seed"] + 1  # base_seed + worker id
    for s in firsts.values():
        ember.manual_seed(s["seed"])
        random.seed(s["seed"])
        assert s["ember"] == ember.rand(1).item() and s["random"] == random.random()
    assert firsts[0]["numpy"] != firsts[1]["numpy"]
    again = run(3)
    assert [s["numpy"] for s in again] == [s["numpy"] for s in out]
    assert [s["seed"] for s in run(4)] != [s["seed"] for s in out]


_INIT = {"value": None}


def _init_fn(worker_id):
    _INIT["value"] = f"initialised {worker_id}"


class ReportsInit(edata.Dataset):
    def __getitem__(self, i):
        return _INIT["value"]

    def __len__(self):
        return 4


def test_worker_init_fn():
    out = list(edata.DataLoader(ReportsInit(), batch_size=None, num_workers=2, worker_init_fn=_init_fn))
    assert out == ["initialised 0", "initialised 1"] * 2
    assert _INIT["value"] is None  # it ran in the workers only


class Faulty(edata.Dataset):
    def __init__(self, error):
        self.error = error

    def __getitem__(self, i):
        if i == 3:
            raise self.error(f"bad sample {i}")
        return i

    def __len__(self):
        return 6


def test_worker_error_is_reraised_with_traceback():
    it = iter(edata.DataLoader(Faulty(ValueError), batch_size=2, num_workers=2))
    assert next(it).tolist() == [0, 1]
    with pytest.raises(ValueError) as exc:
        next(it)
    msg = str(exc.value)
    assert "Caught ValueError in DataLoader worker process 1" in msg
    assert "Original Traceback" in msg and "bad sample 3" in msg and "raise self.error" in msg
    assert next(it).tolist() == [4, 5]  # later batches still arrive, as in PyTorch
    with pytest.raises(StopIteration):
        next(it)


def test_worker_key_error_and_unimportable_error_type():
    with pytest.raises(KeyError) as exc:
        list(edata.DataLoader(Faulty(KeyError), batch_size=2, num_workers=1))
    assert "Caught KeyError in DataLoader worker process 0" in str(exc.value)
    assert "\\n" not in str(exc.value)  # the traceback stays readable, not repr-escaped

    class LocalError(Exception):
        pass

    with pytest.raises(RuntimeError, match="Caught LocalError in DataLoader worker process 0"):
        list(edata.DataLoader(Faulty(LocalError), batch_size=2, num_workers=1))


def _failing_init(worker_id):
    raise OSError(f"cannot open shard {worker_id}")


def test_worker_init_fn_error():
    with pytest.raises(OSError, match="cannot open shard 0"):
        list(edata.DataLoader(range(4), num_workers=1, worker_init_fn=_failing_init))
    _assert_no_children()


def test_unpicklable_batch_is_reported():
    with pytest.raises(Exception, match="while sending the batch to the main process"):
        list(edata.DataLoader(range(4), batch_size=2, num_workers=1, collate_fn=lambda b: (lambda: b)))


def test_iterator_cleanup():
    ds = _dataset(40)
    it = iter(edata.DataLoader(ds, batch_size=2, num_workers=2))
    next(it)
    workers = list(it._workers)
    assert all(w.is_alive() for w in workers)
    del it
    gc.collect()
    assert not any(w.is_alive() for w in workers)
    it = iter(edata.DataLoader(ds, batch_size=8, num_workers=2))
    workers = list(it._workers)
    assert len(list(it)) == 5
    assert not any(w.is_alive() for w in workers)  # exhausting the iterator stops the workers
    _assert_no_children()


def test_prefetch_keeps_tasks_in_flight():
    it = iter(edata.DataLoader(_dataset(40), batch_size=1, num_workers=2, prefetch_factor=3))
    assert it._send_idx == 6
    next(it)
    assert it._send_idx == 7  # each delivered batch sends one more task


class Slow(edata.Dataset):
    def __getitem__(self, i):
        time.sleep(1.0)
        return i

    def __len__(self):
        return 2


def test_timeout():
    with pytest.raises(RuntimeError, match=r"DataLoader timed out after 0.2 seconds"):
        next(iter(edata.DataLoader(Slow(), num_workers=1, timeout=0.2)))
    gc.collect()
    _assert_no_children()


class Crashes(edata.Dataset):
    def __getitem__(self, i):
        os._exit(3)

    def __len__(self):
        return 2


def test_worker_crash_is_detected():
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid\(s\) \d+\) exited unexpectedly"):
        list(edata.DataLoader(Crashes(), num_workers=1))
    _assert_no_children()


def test_persistent_workers_restart_after_a_failure():
    loader = edata.DataLoader(Crashes(), num_workers=1, persistent_workers=True)
    for _ in range(2):  # the second epoch starts fresh workers instead of reusing dead ones
        with pytest.raises(RuntimeError, match="exited unexpectedly"):
            list(loader)
    del loader
    _assert_no_children()


def _make_sharded(base, get_worker_info):
    class Sharded(base):
        """range(lo, hi) split in contiguous shards, one per worker."""

        def __init__(self, lo, hi):
            self.lo, self.hi = lo, hi

        def __iter__(self):
            info = get_worker_info()
            if info is None:
                return iter(range(self.lo, self.hi))
            per = -(-(self.hi - self.lo) // info.num_workers)
            start = self.lo + info.id * per
            return iter(range(start, min(start + per, self.hi)))

    return Sharded


ShardedE = _make_sharded(edata.IterableDataset, edata.get_worker_info)
ShardedT = _make_sharded(tdata.IterableDataset, tdata.get_worker_info)


@pytest.mark.filterwarnings("ignore:This DataLoader will create")
@pytest.mark.parametrize("kwargs", [{"batch_size": 2}, {"batch_size": 3, "drop_last": True},
                                    {"batch_size": None}, {"batch_size": 2, "num_workers": 3}])
def test_iterable_sharding_matches_torch(kwargs):
    kwargs = {"num_workers": 2, **kwargs}
    got = _as_lists(edata.DataLoader(ShardedE(0, 11), **kwargs))
    expected = _as_lists(tdata.DataLoader(ShardedT(0, 11), **kwargs))
    assert got == expected
    if kwargs.get("batch_size") == 2:
        assert sorted(sum(got, [])) == list(range(11))


class Unsharded(edata.IterableDataset):
    def __iter__(self):
        return iter(range(3))


def test_iterable_without_sharding_is_duplicated_per_worker():
    got = _as_lists(edata.DataLoader(Unsharded(), batch_size=2, num_workers=2))
    assert got == [[0, 1], [0, 1], [2], [2]]  # each worker's copy yields everything
    chained = _as_lists(edata.DataLoader(edata.ChainDataset([Unsharded(), ShardedE(5, 7)]), num_workers=2))
    assert sorted(sum(chained, [])) == [0, 0, 1, 1, 2, 2, 5, 6]


def test_persistent_workers():
    ds = _dataset(12)
    loader = edata.DataLoader(ds, batch_size=5, num_workers=2, persistent_workers=True)
    expected = _as_lists(edata.DataLoader(ds, batch_size=5))
    first = iter(loader)
    pids = [w.pid for w in first._workers]
    assert _as_lists(first) == expected
    assert all(w.is_alive() for w in first._workers)  # still there for the next epoch
    it = iter(loader)
    assert it is first and next(it)[1].tolist() == [0, 1, 2, 3, 4]  # stop mid-epoch ...
    assert _as_lists(loader) == expected  # ... and the next epoch starts cleanly
    assert [w.pid for w in it._workers] == pids
    workers = list(it._workers)
    del loader, it, first
    gc.collect()
    assert not any(w.is_alive() for w in workers)


def test_persistent_workers_with_iterable_dataset():
    loader = edata.DataLoader(ShardedE(0, 7), batch_size=2, num_workers=2, persistent_workers=True)
    epochs = [sorted(sum(_as_lists(loader), [])) for _ in range(3)]
    assert epochs == [list(range(7))] * 3


def test_out_of_order_delivery():
    ds = _dataset(20)
    got = _as_lists(edata.DataLoader(ds, batch_size=3, num_workers=2, in_order=False))
    expected = _as_lists(edata.DataLoader(ds, batch_size=3))
    assert sorted(got) == sorted(expected)


def test_spawn_context():
    ds = _dataset(6)
    loader = edata.DataLoader(ds, batch_size=4, num_workers=1, multiprocessing_context="spawn")
    assert loader.multiprocessing_context.get_start_method() == "spawn"
    assert _as_lists(loader) == _as_lists(edata.DataLoader(ds, batch_size=4))


class TriesToEditInfo(edata.Dataset):
    def __getitem__(self, i):
        try:
            edata.get_worker_info().id = 5
        except RuntimeError as e:
            return str(e)
        return "no error"

    def __len__(self):
        return 1


def test_worker_info_is_read_only():
    out = list(edata.DataLoader(TriesToEditInfo(), batch_size=None, num_workers=1))
    assert out == ["Cannot assign attributes to WorkerInfo objects"]


def test_collated_dicts_cross_processes():
    class_free = [{"x": np.full(2, i, np.float32), "y": i} for i in range(5)]
    got = list(edata.DataLoader(class_free, batch_size=2, num_workers=2))
    expected = list(tdata.DataLoader(class_free, batch_size=2))
    for a, b in zip(got, expected):
        assert_same_tree(a, b)
    assert len(got) == len(expected)


class _Noisy(edata.Dataset):
    """Draws from Python's, NumPy's and ember's process-wide generators, as augmentation does."""

    def __len__(self):
        return 12

    def __getitem__(self, i):
        return ember.tensor([float(i), random.random(), float(np.random.rand()), ember.rand(1).item()])


def test_per_batch_seeds_make_batches_independent_of_workers():
    """With ``_batch_seeds`` set, each batch's random draws depend only on the seed and the
    batch's position: any number of workers gives the same batches, and a loader started at
    batch k (position offset k) gives the batches from k on."""
    batches = [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]]

    def load(num_workers, start=0, seed=123):
        loader = edata.DataLoader(_Noisy(), batch_sampler=batches[start:], num_workers=num_workers)
        loader._batch_seeds = (seed, start)
        return _as_lists(loader)

    full = load(2)
    assert full == load(1) == load(3)
    assert load(2, start=1) == full[1:] and load(3, start=3) == full[3:]
    assert load(2, seed=124) != full
    assert len({tuple(b[0][1:]) for b in full}) == 4  # the batches' draws differ from each other
    _assert_no_children()


_ORPHAN_SCRIPT = """
import os, sys, time
import ember
from ember.utils.data import DataLoader, Dataset

class Big(Dataset):
    def __len__(self):
        return 64
    def __getitem__(self, i):
        return ember.zeros(256, 1024)  # 1 MiB: a few fill the result pipe

loader = iter(DataLoader(Big(), batch_size=2, num_workers=2, prefetch_factor=4))
next(loader)
time.sleep(0.5)  # the workers fill the result pipe
import multiprocessing as mp
print(" ".join(str(p.pid) for p in mp.active_children()), flush=True)
time.sleep(60)
"""


def test_workers_exit_when_the_main_process_is_killed():
    import signal
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    proc = subprocess.Popen([sys.executable, "-c", _ORPHAN_SCRIPT], stdout=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": root}, cwd=root)
    pids = [int(p) for p in proc.stdout.readline().split()]
    assert len(pids) == 2
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    deadline = time.monotonic() + 10
    alive = pids
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [p for p in pids if _alive(p)]
    for p in alive:  # do not leave them behind even when the test fails
        os.kill(p, 9)
    assert not alive, "DataLoader workers outlived the killed main process"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False
