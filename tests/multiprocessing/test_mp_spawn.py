"""ember.multiprocessing.spawn / start_processes / ProcessContext.join against
torch.multiprocessing's behaviour and exceptions."""
import os
import signal

import numpy as np
import pytest

import ember
import ember.multiprocessing as mp


def _write_index(i, t):
    t[i] = i + 1


def _raise_in_one(i):
    if i == 1:
        raise ValueError("bad input in worker")


def _exit_with(i, code):
    os._exit(code)


def _kill_self(i):
    os.kill(os.getpid(), signal.SIGKILL)


def test_stdlib_api_is_reexported():
    import multiprocessing
    for name in ("Process", "Queue", "SimpleQueue", "Pool", "get_context", "set_start_method", "Lock", "Event"):
        assert getattr(mp, name) is getattr(multiprocessing, name)


def test_spawn_runs_every_index_on_shared_memory():
    t = ember.zeros(3).share_memory_()
    assert mp.spawn(_write_index, args=(t,), nprocs=3) is None
    np.testing.assert_array_equal(t.numpy(), [1., 2., 3.])


def test_join_false_returns_a_context():
    t = ember.zeros(2).share_memory_()
    context = mp.spawn(_write_index, args=(t,), nprocs=2, join=False)
    assert isinstance(context, mp.ProcessContext) and len(context.pids()) == 2
    while not context.join(timeout=60):
        pass
    np.testing.assert_array_equal(t.numpy(), [1., 2.])


def _torch_failure(fn, args=()):
    import sys

    import torch.multiprocessing  # noqa: F401
    tmp = sys.modules["torch.multiprocessing.spawn"]  # the attribute of that name is the function
    with pytest.raises(tmp.ProcessException) as info:
        tmp.start_processes(fn, args=args, nprocs=2, start_method="fork")
    return info.value


@pytest.mark.parametrize("fn,args", [(_raise_in_one, ()), (_exit_with, (3,)), (_kill_self, ())],
                         ids=["raised", "exit-code", "signal"])
def test_failures_match_torch(fn, args):
    expected = _torch_failure(fn, args)
    with pytest.raises(mp.ProcessException) as info:
        mp.start_processes(fn, args=args, nprocs=2, start_method="fork")
    got = info.value
    assert type(got).__name__ == type(expected).__name__
    assert isinstance(got, mp.ProcessException)
    if type(expected).__name__ == "ProcessRaisedException":
        assert got.error_index == expected.error_index == 1
        assert "ValueError: bad input in worker" in got.msg
        assert got.msg.startswith("\n\n-- Process 1 terminated with the following error:\n")
    else:
        assert got.exit_code == expected.exit_code and got.signal_name == expected.signal_name
        assert str(got).split("terminated")[1] == str(expected).split("terminated")[1]
    assert got.error_pid != os.getpid()


def test_spawn_with_other_start_method_warns_like_torch():
    t = ember.zeros(1).share_memory_()
    with pytest.warns(FutureWarning, match="only supports start_method=spawn"):
        mp.spawn(_write_index, args=(t,), nprocs=1, start_method="fork")
    assert t.item() == 1.0


def test_spawn_raises_with_the_child_traceback():
    with pytest.raises(mp.ProcessRaisedException, match="ValueError: bad input in worker") as info:
        mp.spawn(_raise_in_one, nprocs=2)
    assert info.value.error_index == 1
