"""Grad mode and autocast are per thread, as in PyTorch: a no_grad or autocast region in one thread
leaves another thread's recording and dtypes alone."""
import threading

import ember


def test_no_grad_in_one_thread_does_not_stop_another_from_recording():
    inside, release = threading.Event(), threading.Event()
    seen = {}

    def evaluate():
        with ember.no_grad():
            seen["worker_enabled"] = ember.is_grad_enabled()
            inside.set()
            release.wait(10)

    worker = threading.Thread(target=evaluate)
    worker.start()
    assert inside.wait(10)
    x = ember.ones(3, requires_grad=True)
    y = (x * 2).sum()  # recorded here while the other thread sits in no_grad
    release.set()
    worker.join(10)
    assert seen["worker_enabled"] is False and ember.is_grad_enabled()
    assert y.requires_grad and y.grad_fn is not None
    y.backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0]


def test_a_new_thread_starts_with_recording_on():
    result = {}
    with ember.no_grad():
        thread = threading.Thread(target=lambda: result.setdefault("enabled", ember.is_grad_enabled()))
        thread.start()
        thread.join(10)
    assert result["enabled"] is True


def test_autocast_in_one_thread_leaves_another_threads_ops_alone():
    inside, release = threading.Event(), threading.Event()

    def region():
        with ember.autocast("cpu", dtype=ember.bfloat16):
            inside.set()
            release.wait(10)

    worker = threading.Thread(target=region)
    worker.start()
    assert inside.wait(10)
    out = ember.nn.functional.linear(ember.ones(2, 3), ember.ones(4, 3))  # listed for lower precision
    release.set()
    worker.join(10)
    assert out.dtype is ember.float32 and not ember.is_autocast_enabled("cpu")
