"""Row-wise NumPy passes over large arrays, split across the cores.

NumPy runs one ufunc or reduction on one core, but releases the GIL inside its loops, so
threads that each take a block of rows run in parallel. ``over_rows(fn, rows, elements)``
calls ``fn(start, stop)`` for blocks of rows that together cover ``range(rows)``: on the
calling thread alone for arrays under ``MIN_ELEMENTS`` (handing work to a thread costs tens
of microseconds), else one block per thread (``ember.get_num_threads()``, a thread per core by
default), the calling thread taking the first. Each block
must touch only its own rows. NumPy-only (CuPy already runs on the whole GPU).
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

from .threads import get_num_threads

# Below this many elements one thread does the pass; measured on 2 cores, a float32
# log_softmax gains from splitting at about this size.
MIN_ELEMENTS = 1 << 18

_pool: dict = {}


def _executor(threads: int) -> ThreadPoolExecutor:
    """The process's pool: ``threads - 1`` threads besides the caller's. A pool made before a
    fork has no threads in the child (a DataLoader worker), which makes its own; a new thread
    count (``ember.set_num_threads``) makes a new pool."""
    key = (os.getpid(), threads)
    if _pool.get("key") != key:
        if "executor" in _pool:
            _pool["executor"].shutdown(wait=False)
        _pool.update(key=key, executor=ThreadPoolExecutor(threads - 1, thread_name_prefix="ember-rows"))
    return _pool["executor"]


def over_rows(fn, rows: int, elements: int) -> None:
    """``fn(start, stop)`` over blocks of ``range(rows)``, in parallel when ``elements`` (the
    size of the arrays the blocks cover) is large enough to pay for the threads."""
    threads = get_num_threads() if elements >= MIN_ELEMENTS else 1  # small arrays ask nothing
    blocks = min(threads, rows)
    if blocks <= 1:
        fn(0, rows)
        return
    bounds = [rows * i // blocks for i in range(blocks + 1)]
    futures = [_executor(threads).submit(fn, lo, hi) for lo, hi in zip(bounds[1:-1], bounds[2:])]
    fn(bounds[0], bounds[1])
    for f in futures:
        f.result()  # re-raises a block's exception here
