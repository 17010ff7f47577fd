"""Tensor.share_memory_ / is_shared / Module.share_memory: the same memory in parent and
children (fork, spawn, forkserver, and across Queues), and no memory left behind."""
import gc
import os
import pickle

import numpy as np
import pytest

import ember
import ember.multiprocessing as mp

METHODS = [m for m in ("fork", "spawn", "forkserver") if m in mp.get_all_start_methods()]
TIMEOUT_S = 60


def _add_one(t):
    t.add_(1)


def _echo_plus(q_in, q_out, done):
    t = q_in.get()
    t.data.mul_(2)
    q_out.put((t, t.is_shared(), type(t).__name__))
    done.wait(TIMEOUT_S)  # a tensor on a Queue is fetched from its sender: stay alive until it is


def _make_shared(q, done, n):
    q.put([ember.full((1000,), float(i)).share_memory_() for i in range(n)])
    done.wait(TIMEOUT_S)


def _shared_descriptors() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += "ember-shared" in os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            pass
    return count


def test_share_memory_in_place_and_is_shared_like_torch():
    import torch
    t, r = ember.arange(6.).reshape(2, 3), torch.arange(6.).reshape(2, 3)
    assert t.is_shared() == r.is_shared() is False
    assert t.share_memory_() is t
    r.share_memory_()
    assert t.is_shared() == r.is_shared() is True
    assert t[0].is_shared() == r[0].is_shared() is True  # a view of shared memory is shared
    np.testing.assert_array_equal(t.numpy(), r.numpy())
    assert t.dtype == ember.float32 and t.shape == (2, 3)
    e = ember.zeros(0, dtype=ember.int64).share_memory_()
    assert e.is_shared() and e.numel() == 0 and e.dtype == ember.int64


def test_plain_pickle_still_copies():
    t = ember.ones(3, requires_grad=True).share_memory_()
    u = pickle.loads(pickle.dumps(t))
    assert not u.is_shared() and u.requires_grad
    u.data.add_(1)
    np.testing.assert_array_equal(t.detach().numpy(), np.ones(3))


def test_view_of_live_base_is_refused():
    base = ember.arange(6.)
    view = base.view(2, 3)
    with pytest.raises(RuntimeError, match="share_memory_.*view of another tensor"):
        view.share_memory_()
    assert not view.is_shared() and not base.is_shared()
    base.share_memory_()
    assert base.view(2, 3).is_shared()


@pytest.mark.parametrize("method", METHODS)
def test_child_updates_are_seen_by_parent(method):
    ctx = mp.get_context(method)
    t = ember.zeros(4).share_memory_()
    p = ctx.Process(target=_add_one, args=(t,))
    p.start()
    p.join(TIMEOUT_S)
    assert p.exitcode == 0
    np.testing.assert_array_equal(t.numpy(), np.ones(4))


@pytest.mark.parametrize("method", METHODS)
def test_queue_sends_the_memory_not_a_copy(method):
    ctx = mp.get_context(method)
    q_in, q_out, done = ctx.Queue(), ctx.Queue(), ctx.Event()
    p = ctx.Process(target=_echo_plus, args=(q_in, q_out, done))
    p.start()
    try:
        w = ember.nn.Parameter(ember.arange(3.)).share_memory_()
        q_in.put(w)
        back, shared_there, kind = q_out.get(timeout=TIMEOUT_S)
        np.testing.assert_array_equal(w.detach().numpy(), [0., 2., 4.])  # the child's mul_ is here
        assert shared_there and kind == "Parameter" and back.requires_grad
        back.data.add_(1)  # the tensor that came back is the same memory too
        np.testing.assert_array_equal(w.detach().numpy(), [1., 3., 5.])
    finally:
        done.set()
        p.join(TIMEOUT_S)
    assert p.exitcode == 0


def test_unshared_tensor_on_a_queue_is_a_copy():
    ctx = mp.get_context("spawn")
    q_in, q_out, done = ctx.Queue(), ctx.Queue(), ctx.Event()
    p = ctx.Process(target=_echo_plus, args=(q_in, q_out, done))
    p.start()
    try:
        t = ember.arange(3.)
        q_in.put(t)
        back, shared_there, _ = q_out.get(timeout=TIMEOUT_S)
        assert not shared_there
        np.testing.assert_array_equal(t.numpy(), [0., 1., 2.])
        np.testing.assert_array_equal(back.numpy(), [0., 2., 4.])
    finally:
        done.set()
        p.join(TIMEOUT_S)


def test_memory_is_released_with_the_last_holder():
    fds_before = _shared_descriptors()
    ctx = mp.get_context("spawn")
    q, done = ctx.Queue(), ctx.Event()
    p = ctx.Process(target=_make_shared, args=(q, done, 5))
    p.start()
    received = q.get(timeout=TIMEOUT_S)
    done.set()
    p.join(TIMEOUT_S)
    assert p.exitcode == 0
    # The child is gone; the parent's mappings keep the memory alive.
    assert [float(t[0]) for t in received] == [0., 1., 2., 3., 4.]
    assert _shared_descriptors() >= fds_before + 5  # at least one per mapping
    del received
    gc.collect()
    assert _shared_descriptors() == fds_before
    if os.path.isdir("/dev/shm"):  # nothing named is ever left there
        assert not [name for name in os.listdir("/dev/shm") if "ember" in name]


def test_module_share_memory_covers_parameters_and_buffers():
    model = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.BatchNorm1d(4))
    params = list(model.parameters())
    assert model.share_memory() is model
    assert all(p.is_shared() for p in model.parameters())
    assert all(b.is_shared() for b in model.buffers())
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]  # the same Parameter objects


def test_without_memfd_the_file_is_unlinked_at_once(monkeypatch):
    monkeypatch.delattr(os, "memfd_create", raising=False)
    t = ember.arange(4.).share_memory_()
    assert t.is_shared()
    np.testing.assert_array_equal(t.numpy(), [0., 1., 2., 3.])
    if os.path.isdir("/dev/shm"):
        assert not [name for name in os.listdir("/dev/shm") if "ember" in name]
