"""DataLoader: batches from a dataset, in the main process or in worker processes.

With ``num_workers > 0`` each worker is a real process (``fork`` on Linux, else
``spawn``) with its own index queue; all workers answer on one result queue. The main
process keeps ``prefetch_factor`` tasks per worker in flight, hands them out
round-robin, and reorders the answers so batches come back in sampler order.
"""
from __future__ import annotations

import itertools
import multiprocessing as mp
import pickle
import queue
import sys
import time
import warnings
from typing import Any, Callable, Iterable

from ...backend import cuda as _cuda
from ...backend.random import Generator, rng
from . import _worker
from ._collate import default_collate, default_convert
from .dataset import Dataset, IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader"]

# Seconds between the main process's checks that its workers are still alive.
_MAIN_STATUS_CHECK_INTERVAL = 1.0
# Seconds shutdown waits for workers to finish their current sample before terminating them.
_JOIN_TIMEOUT = 5.0
_FROZEN = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset", "persistent_workers")


class _InfiniteConstantSampler(Sampler[None]):
    """The 'indices' of an iterable dataset: the dataset itself decides what comes next."""

    def __iter__(self):
        while True:
            yield None


class DataLoader:
    """Iterate over a dataset in batches.

    Args:
        dataset: a map-style :class:`Dataset` or an :class:`IterableDataset`.
        batch_size: samples per batch; ``None`` turns automatic batching off (each item of
            the sampler, or of the iterable dataset, is one "batch").
        shuffle: reshuffle the indices every epoch (map-style datasets only).
        sampler / batch_sampler: the order of indices, or of lists of indices.
        num_workers: worker processes loading batches (0: load in the main process).
        collate_fn: merges a list of samples into a batch (default :func:`default_collate`).
        pin_memory: accepted; without an accelerator iterating warns, as PyTorch does, that
            pinned memory won't be used (ember's host arrays are ordinary memory either way).
        pin_memory_device: deprecated in PyTorch (with a warning); the accelerator is used.
        drop_last: drop the last, incomplete batch.
        timeout: seconds to wait for a batch from the workers (0: wait for ever).
        worker_init_fn: called as ``worker_init_fn(worker_id)`` in each worker after seeding.
        multiprocessing_context: a start method name or a ``multiprocessing`` context.
        generator: draws the shuffle order and the workers' base seed.
        prefetch_factor: batches loaded ahead per worker (default 2 when ``num_workers > 0``).
        persistent_workers: keep the workers alive between epochs.
        in_order: deliver batches in sampler order (``False``: as soon as any is ready).
    """

    _initialized = False
    # ``(seed, first batch)`` or None. When set, workers reseed their generators before each
    # batch from ``[seed, position of the batch]``, so a map-style dataset's random
    # augmentation depends only on the batch, never on the worker or on earlier batches:
    # the Trainer sets it to resume an epoch with worker processes at any batch.
    _batch_seeds: tuple[int, int] | None = None

    def __init__(self, dataset: Dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Sampler | Iterable | None = None, batch_sampler: Sampler | Iterable | None = None,
                 num_workers: int = 0, collate_fn: Callable | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0, worker_init_fn: Callable | None = None,
                 multiprocessing_context=None, generator: Generator | None = None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable "
                             "multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing."
                             "let num_workers > 0 to enable multiprocessing, otherwise set "
                             "prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")

        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if isinstance(shuffle, bool) and shuffle:
                raise ValueError("DataLoader with IterableDataset: expected unspecified shuffle option, "
                                 f"but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified sampler option, "
                                 f"but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified batch_sampler "
                                 f"option, but got batch_sampler={batch_sampler}")
        else:
            shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, "
                                 "sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive "
                             "with drop_last")
        if sampler is None:
            if self._iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        self.collate_fn = collate_fn if collate_fn is not None else (
            default_collate if batch_sampler is not None else default_convert)
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self._iterator = None
        self._initialized = True

    def __setattr__(self, name: str, value) -> None:
        if self._initialized and name in _FROZEN:
            raise ValueError(f"{name} attribute should not be set after {type(self).__name__} is initialized")
        super().__setattr__(name, value)

    @property
    def multiprocessing_context(self):
        return self._multiprocessing_context

    @multiprocessing_context.setter
    def multiprocessing_context(self, ctx) -> None:
        if ctx is not None:
            if self.num_workers == 0:
                raise ValueError("multiprocessing_context can only be used with multi-process loading "
                                 f"(num_workers > 0), but got num_workers={self.num_workers}")
            if isinstance(ctx, str):
                methods = mp.get_all_start_methods()
                if ctx not in methods:
                    raise ValueError("multiprocessing_context option should specify a valid start method "
                                     f"in {methods!r}, but got multiprocessing_context={ctx!r}")
                ctx = mp.get_context(ctx)
            elif not isinstance(ctx, mp.context.BaseContext):
                raise TypeError("multiprocessing_context option should be a valid context object or a "
                                f"string specifying the start method, but got multiprocessing_context={ctx}")
        self._multiprocessing_context = ctx

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def _get_shared_seed(self) -> int:
        return int(rng(self.generator).integers(2 ** 63))

    def __iter__(self) -> "_BaseDataLoaderIter":
        if self.num_workers == 0:
            return _SingleProcessDataLoaderIter(self)
        if not self.persistent_workers:
            return _MultiProcessingDataLoaderIter(self)
        if self._iterator is None or self._iterator._shutdown:  # none yet, or its workers failed
            self._iterator = _MultiProcessingDataLoaderIter(self)
        else:
            self._iterator._reset(self)
        return self._iterator

    def __len__(self) -> int:
        if not self._iterable:
            return len(self._index_sampler)
        length = len(self.dataset)
        if self.batch_size is not None:
            length = length // self.batch_size if self.drop_last else -(-length // self.batch_size)
        return length


class _BaseDataLoaderIter:
    def __init__(self, loader: DataLoader):
        self._dataset = loader.dataset
        self._iterable = loader._iterable
        self._auto_collation = loader._auto_collation
        self._drop_last = loader.drop_last
        self._index_sampler = loader._index_sampler
        self._collate_fn = loader.collate_fn
        self._num_workers = loader.num_workers
        self._timeout = loader.timeout
        # Drawn even without workers, so the generator advances the same way either way.
        self._base_seed = loader._get_shared_seed()
        self._sampler_iter = iter(self._index_sampler)
        if loader.pin_memory and loader.pin_memory_device:
            warnings.warn("pin_memory_device is deprecated, the current accelerator will be used as the "
                          f"device, ignore pin_memory_device='{loader.pin_memory_device}'.", stacklevel=2)
        if loader.pin_memory and not _cuda.is_available():
            warnings.warn("'pin_memory' argument is set as true but no accelerator is found, then device "
                          "pinned memory won't be used.", stacklevel=2)

    def _reset(self, loader: DataLoader) -> None:
        self._sampler_iter = iter(self._index_sampler)

    def __iter__(self) -> "_BaseDataLoaderIter":
        return self

    def __next__(self) -> Any:
        return self._next_data()

    def __len__(self) -> int:
        return len(self._index_sampler)


class _SingleProcessDataLoaderIter(_BaseDataLoaderIter):
    def __init__(self, loader: DataLoader):
        super().__init__(loader)
        self._fetcher = _worker.create_fetcher(self._iterable, self._dataset, self._auto_collation,
                                               self._collate_fn, self._drop_last)

    def _next_data(self):
        index = next(self._sampler_iter)
        return self._fetcher.fetch(index)


class _MultiProcessingDataLoaderIter(_BaseDataLoaderIter):
    _shutdown = True  # until workers exist there is nothing to shut down

    def __init__(self, loader: DataLoader):
        super().__init__(loader)
        self._prefetch_factor = loader.prefetch_factor
        self._persistent = loader.persistent_workers
        self._in_order = loader.in_order
        self._batch_seeds = loader._batch_seeds
        ctx = loader.multiprocessing_context or _default_context()
        self._result_queue = ctx.Queue()
        self._done_event = ctx.Event()
        self._index_queues, self._workers = [], []
        self._shutdown = False  # from here on, __del__ has workers to stop
        try:
            for worker_id in range(self._num_workers):
                index_queue = ctx.Queue()
                index_queue.cancel_join_thread()  # never block interpreter exit on unsent indices
                w = ctx.Process(target=_worker.worker_loop, daemon=True, args=(
                    self._iterable, self._dataset, index_queue, self._result_queue, self._done_event,
                    self._auto_collation, self._collate_fn, self._drop_last, self._base_seed,
                    loader.worker_init_fn, worker_id, self._num_workers))
                w.start()
                self._index_queues.append(index_queue)
                self._workers.append(w)
        except BaseException:
            self._shutdown_workers()
            raise
        self._reset(loader, first_iter=True)

    def _reset(self, loader: DataLoader, first_iter: bool = False) -> None:
        super()._reset(loader)
        self._send_idx = 0
        self._rcvd_idx = 0
        self._task_worker: dict[int, int] = {}   # task index -> worker, until its batch is returned
        self._ready: dict[int, Any] = {}         # batches that arrived ahead of their turn
        self._workers_status = [True] * self._num_workers
        self._worker_cycle = itertools.cycle(range(self._num_workers))
        if not first_iter:
            # Everything a worker sends before acknowledging the resume belongs to the last
            # epoch, so it is read and dropped.
            for q in self._index_queues:
                q.put(_worker._ResumeIteration())
            pending = self._num_workers
            while pending:
                idx, _ = self._get_data()
                if isinstance(idx, _worker._ResumeIteration):
                    pending -= 1
        for _ in range(self._prefetch_factor * self._num_workers):
            self._try_put_index()

    def _try_put_index(self) -> None:
        try:
            index = next(self._sampler_iter)
        except StopIteration:
            return
        for _ in range(self._num_workers):
            worker_id = next(self._worker_cycle)
            if self._workers_status[worker_id]:
                break
        else:
            return  # every worker has exhausted its iterable dataset
        task_seed = None if self._batch_seeds is None else [self._batch_seeds[0],
                                                              self._batch_seeds[1] + self._send_idx]
        self._index_queues[worker_id].put((self._send_idx, index, task_seed))
        self._task_worker[self._send_idx] = worker_id
        self._send_idx += 1

    def _get_data(self):
        """The next ``(task_idx, data)`` from any worker, watching for dead workers and timeout."""
        if self._timeout > 0:
            try:
                payload = self._result_queue.get(timeout=self._timeout)
            except queue.Empty:
                self._check_workers()
                raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds") from None
            return pickle.loads(payload)
        while True:
            try:
                payload = self._result_queue.get(timeout=_MAIN_STATUS_CHECK_INTERVAL)
            except queue.Empty:
                self._check_workers()
                continue
            return pickle.loads(payload)

    def _check_workers(self) -> None:
        dead = [w for i, w in enumerate(self._workers) if self._workers_status[i] and not w.is_alive()]
        if dead:
            pids = ", ".join(str(w.pid) for w in dead)
            codes = ", ".join(str(w.exitcode) for w in dead)
            self._shutdown_workers()
            raise RuntimeError(f"DataLoader worker (pid(s) {pids}) exited unexpectedly with exit code(s) "
                               f"{codes}") from None

    def _next_data(self):
        if self._shutdown:
            raise StopIteration
        while True:
            # Skip tasks that will never be answered: their worker ran out of data first.
            while self._rcvd_idx < self._send_idx:
                idx = self._rcvd_idx
                worker_id = self._task_worker.get(idx)
                if idx in self._ready or (worker_id is not None and self._workers_status[worker_id]):
                    break
                self._task_worker.pop(idx, None)  # delivered out of order, or never answered
                self._rcvd_idx += 1
            else:
                if not self._persistent:
                    self._shutdown_workers()
                raise StopIteration
            if self._rcvd_idx in self._ready:
                return self._deliver(self._rcvd_idx, self._ready.pop(self._rcvd_idx))
            idx, data = self._get_data()
            if isinstance(data, _worker._IterableDatasetStopIteration):
                self._retire_worker(data.worker_id)
                self._try_put_index()
            elif idx == self._rcvd_idx or not self._in_order:
                return self._deliver(idx, data)
            else:
                self._ready[idx] = data

    def _deliver(self, idx: int, data):
        del self._task_worker[idx]
        if idx == self._rcvd_idx:
            self._rcvd_idx += 1
        self._try_put_index()
        if isinstance(data, _worker.ExceptionWrapper):
            data.reraise()
        return data

    def _retire_worker(self, worker_id: int) -> None:
        self._workers_status[worker_id] = False
        if not self._persistent:
            self._index_queues[worker_id].put(None)

    def _shutdown_workers(self) -> None:
        if self._shutdown:
            return
        self._shutdown = True
        try:
            self._done_event.set()
            for q in self._index_queues:
                q.put(None)
            deadline = time.monotonic() + _JOIN_TIMEOUT
            for w in self._workers:
                w.join(timeout=max(0.0, deadline - time.monotonic()))
            for q in self._index_queues:
                q.close()
            self._result_queue.cancel_join_thread()
            self._result_queue.close()
        finally:
            for w in self._workers:
                if w.is_alive():
                    w.terminate()
                    w.join()

    def __del__(self):
        self._shutdown_workers()


def _default_context():
    if sys.platform.startswith("linux") and "fork" in mp.get_all_start_methods():
        return mp.get_context("fork")
    return mp.get_context("spawn")
