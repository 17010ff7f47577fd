"""What runs inside a DataLoader worker process, and the fetchers both the workers and
the single-process loader use to turn indices into a batch.

Protocol: the main process puts ``(task_idx, indices, task_seed)`` on a worker's index queue (or
``_ResumeIteration`` to start a new epoch on persistent workers, or ``None`` to stop);
the worker puts the pickled ``(task_idx, batch)`` on the shared result queue, where the
batch may be an ``ExceptionWrapper`` or, for an exhausted iterable dataset,
``_IterableDatasetStopIteration``. ``task_seed`` is ``None``, or entropy from which the
worker reseeds its generators before fetching that batch (see ``seed_task``).
"""
from __future__ import annotations

import os
import pickle
import queue
import random
import sys
import traceback
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ...backend.random import manual_seed

__all__ = ["WorkerInfo", "get_worker_info"]

# Seconds an idle worker waits for a task before checking that it should go on: the
# done event is the stop signal that always arrives (a stop message put on an index
# queue is lost when the queue is finalised first, as when garbage collection breaks a
# reference cycle holding the iterator), and a changed parent pid means the main
# process died.
POLL_INTERVAL = 0.1


class WorkerInfo:
    """Read-only facts about the current worker: ``id``, ``num_workers``, ``seed`` and
    ``dataset`` (this worker's copy)."""

    __initialized = False

    def __init__(self, **kwargs):
        for k, v in kwargs.items():
            setattr(self, k, v)
        self.__keys = tuple(kwargs.keys())
        self.__initialized = True

    def __setattr__(self, key, val):
        if self.__initialized:
            raise RuntimeError(f"Cannot assign attributes to {self.__class__.__name__} objects")
        return super().__setattr__(key, val)

    def __repr__(self) -> str:
        items = ", ".join(f"{k}={getattr(self, k)}" for k in self.__keys)
        return f"{self.__class__.__name__}({items})"


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """The current DataLoader worker's :class:`WorkerInfo`, or ``None`` in the main process.

    An :class:`IterableDataset` calls it in ``__iter__`` to read only its worker's shard.
    """
    return _worker_info


class ExceptionWrapper:
    """An exception caught in a worker, carried to the main process with its traceback text."""

    def __init__(self, where: str):
        exc_type, exc, _ = sys.exc_info()
        self.where = where
        self.traceback = "".join(traceback.format_exception(exc_type, exc, exc.__traceback__))
        self.type_name = exc_type.__name__
        # The type travels only when the main process can unpickle it (not a local class).
        try:
            pickle.dumps(exc_type)
            self.exc_type = exc_type
        except Exception:
            self.exc_type = None

    def reraise(self):
        msg = f"Caught {self.type_name} {self.where}.\nOriginal {self.traceback}"
        if self.exc_type is KeyError:
            # KeyError quotes its argument; keep the traceback readable.
            msg = _KeyErrorMessage(msg)
        try:
            exception = self.exc_type(msg) if self.exc_type is not None else RuntimeError(msg)
        except Exception:
            exception = RuntimeError(msg)
        raise exception


class _KeyErrorMessage(str):
    def __repr__(self):
        return self


@dataclass(frozen=True)
class _IterableDatasetStopIteration:
    worker_id: int


@dataclass(frozen=True)
class _ResumeIteration:
    """Sent to persistent workers at the start of each new epoch."""


class _MapDatasetFetcher:
    def __init__(self, dataset, auto_collation: bool, collate_fn: Callable, drop_last: bool):
        self.dataset, self.auto_collation, self.collate_fn = dataset, auto_collation, collate_fn

    def fetch(self, index):
        if self.auto_collation:
            getitems = getattr(self.dataset, "__getitems__", None)
            data = getitems(index) if callable(getitems) else [self.dataset[i] for i in index]
        else:
            data = self.dataset[index]
        return self.collate_fn(data)


class _IterableDatasetFetcher:
    def __init__(self, dataset, auto_collation: bool, collate_fn: Callable, drop_last: bool):
        self.dataset_iter = iter(dataset)
        self.auto_collation, self.collate_fn, self.drop_last = auto_collation, collate_fn, drop_last
        self.ended = False

    def fetch(self, index):
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.dataset_iter))
        data = []
        for _ in index:
            try:
                data.append(next(self.dataset_iter))
            except StopIteration:
                self.ended = True
                break
        if not data or (self.drop_last and len(data) < len(index)):
            raise StopIteration
        return self.collate_fn(data)


def create_fetcher(iterable: bool, dataset, auto_collation: bool, collate_fn: Callable, drop_last: bool):
    cls = _IterableDatasetFetcher if iterable else _MapDatasetFetcher
    return cls(dataset, auto_collation, collate_fn, drop_last)


def _seed_worker(seed: int, worker_id: int, base_seed: int) -> None:
    random.seed(seed)
    manual_seed(seed)
    np.random.seed(np.random.SeedSequence([worker_id, base_seed]).generate_state(4))


def seed_task(entropy: list[int]) -> None:
    """Seed Python's, NumPy's and ember's default generators from ``entropy`` alone, so the
    random draws made while fetching one batch do not depend on which worker fetched it or
    on what that worker fetched before (what lets a fit resume at any batch)."""
    ss = np.random.SeedSequence(entropy)
    seed = int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))  # below 2**63, as manual_seed takes
    random.seed(seed)
    manual_seed(seed)
    np.random.seed(ss.generate_state(4))


def _put(result_queue, idx, data, worker_id: int) -> None:
    # Pickle here rather than in the queue's feeder thread: a batch that cannot be pickled
    # then becomes an error the main process sees, instead of a result silently lost.
    try:
        payload = pickle.dumps((idx, data), pickle.HIGHEST_PROTOCOL)
    except Exception:
        payload = pickle.dumps((idx, ExceptionWrapper(
            f"in DataLoader worker process {worker_id} while sending the batch to the main process")),
            pickle.HIGHEST_PROTOCOL)
    result_queue.put(payload)


def worker_loop(iterable: bool, dataset, index_queue, result_queue, done_event, auto_collation: bool,
                collate_fn: Callable, drop_last: bool, base_seed: int, init_fn: Callable | None,
                worker_id: int, num_workers: int) -> None:
    """Body of a worker process: seed, run ``init_fn``, then fetch batches until told to stop."""
    global _worker_info
    parent = os.getppid()
    try:
        seed = base_seed + worker_id
        _seed_worker(seed, worker_id, base_seed)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)
        init_error = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = create_fetcher(iterable, dataset, auto_collation, collate_fn, drop_last)
        except Exception:
            init_error = ExceptionWrapper(f"in DataLoader worker process {worker_id}")
        iteration_end = False
        while os.getppid() == parent:
            try:
                r = index_queue.get(timeout=POLL_INTERVAL)
            except queue.Empty:
                if done_event.is_set():
                    break
                continue
            if isinstance(r, _ResumeIteration):
                _put(result_queue, r, None, worker_id)
                iteration_end = False
                if init_error is None:
                    fetcher = create_fetcher(iterable, dataset, auto_collation, collate_fn, drop_last)
                continue
            if r is None:
                break
            if done_event.is_set() or iteration_end:
                continue  # drain tasks the main process no longer waits for
            idx, index, task_seed = r
            if task_seed is not None:
                seed_task(task_seed)
            if init_error is not None:
                data = init_error  # every task of a worker that failed to start reports why
            else:
                try:
                    data = fetcher.fetch(index)
                except Exception as e:
                    if iterable and isinstance(e, StopIteration):
                        data, iteration_end = _IterableDatasetStopIteration(worker_id), True
                    else:
                        data = ExceptionWrapper(f"in DataLoader worker process {worker_id}")
            _put(result_queue, idx, data, worker_id)
    except KeyboardInterrupt:
        pass  # the main process got the same signal and shuts everything down
    if done_event.is_set() or os.getppid() != parent:
        # Results nobody will read (the loader shut down, or the main process died) must not
        # keep this process waiting to flush them.
        result_queue.cancel_join_thread()
        result_queue.close()
