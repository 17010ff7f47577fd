"""Row blocks split across threads (ember.backend.parallel) and the softmax passes that use
them: every row is covered once, errors surface, forked children get a pool of their own,
and softmax / log_softmax give PyTorch's values and gradients whether or not they split (into
blocks per thread, and runs of rows within them)."""
import multiprocessing as mp

import numpy as np
import pytest

import ember
import ember.nn.functional as EF
from ember.backend import parallel
from ember.ops import softmax as softmax_ops
from helpers import check_op

torch = pytest.importorskip("torch")


@pytest.fixture
def always_split(monkeypatch):
    monkeypatch.setattr(parallel, "MIN_ELEMENTS", 1)
    monkeypatch.setattr(parallel, "get_num_threads", lambda: 3)  # more blocks than this machine's cores
    # and each block passed to the softmax passes one or two rows at a time
    monkeypatch.setattr(softmax_ops, "_CACHED_ELEMENTS", 10)


@pytest.mark.parametrize("rows", [1, 2, 7, 100])
def test_blocks_cover_every_row_once(always_split, rows):
    seen = np.zeros(rows, dtype=int)
    parallel.over_rows(lambda lo, hi: np.add.at(seen, np.arange(lo, hi), 1), rows, 10 ** 9)
    assert (seen == 1).all()


def test_small_arrays_stay_on_the_calling_thread(monkeypatch):
    monkeypatch.setattr(parallel, "get_num_threads", lambda: 4)
    calls = []
    parallel.over_rows(lambda lo, hi: calls.append((lo, hi)), 10, parallel.MIN_ELEMENTS - 1)
    assert calls == [(0, 10)]


def test_a_block_error_is_raised_to_the_caller(always_split):
    def fail_late(lo, hi):
        if lo > 0:
            raise ValueError(f"block {lo}:{hi}")
    with pytest.raises(ValueError, match="block"):
        parallel.over_rows(fail_late, 9, 10 ** 9)


def _child(queue):
    parallel.MIN_ELEMENTS = 1
    out = np.zeros(8)
    parallel.over_rows(lambda lo, hi: out.__setitem__(slice(lo, hi), 1), 8, 8)
    queue.put(out.sum())


def test_a_forked_child_makes_its_own_pool():
    parallel.MIN_ELEMENTS, saved = 1, parallel.MIN_ELEMENTS
    try:
        parallel.over_rows(lambda lo, hi: None, 8, 8)  # the parent's pool exists before the fork
    finally:
        parallel.MIN_ELEMENTS = saved
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child, args=(queue,))
    child.start()
    child.join(60)
    assert child.exitcode == 0 and queue.get(timeout=5) == 8


SHAPES = [((7, 5), -1), ((3, 4, 6), 2), ((3, 4, 6), 1), ((5, 9), 0)]


@pytest.mark.parametrize("shape,dim", SHAPES)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_split_over_rows_matches_torch(always_split, shape, dim, name, dtype):
    check_op([shape], lambda x: getattr(torch.nn.functional, name)(x, dim),
             lambda x: getattr(EF, name)(x, dim), dtype=dtype)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_of_a_transposed_input_and_double_backward(always_split, name):
    # a non-contiguous input takes the one-block path; create_graph takes the composed backward
    check_op([(6, 8)], lambda x: getattr(torch.nn.functional, name)(x.t(), 1),
             lambda x: getattr(EF, name)(x.t(), 1), dtype="float64")
    x = ember.randn(4, 5, dtype=ember.float64, requires_grad=True)
    xt = torch.tensor(x.detach().numpy(), requires_grad=True)
    w = np.random.default_rng(0).standard_normal((4, 5))
    ge, = ember.autograd.grad((getattr(EF, name)(x, 1) * ember.tensor(w)).sum(), x, create_graph=True)
    gt, = torch.autograd.grad((getattr(torch.nn.functional, name)(xt, 1) * torch.tensor(w)).sum(), xt,
                              create_graph=True)
    np.testing.assert_allclose(ge.detach().numpy(), gt.detach().numpy(), rtol=1e-10, atol=1e-12)
    (hx,) = ember.autograd.grad(ge.pow(2).sum(), x)
    (ht,) = torch.autograd.grad(gt.pow(2).sum(), xt)
    np.testing.assert_allclose(hx.numpy(), ht.numpy(), rtol=1e-8, atol=1e-10)


def test_large_log_softmax_nll_step_matches_torch():
    """The LSTM LM's shape, above the split threshold with the real core count."""
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((300, 1000)).astype(np.float32)
    target = rng.integers(0, 1000, 300)
    xe, xt = ember.tensor(logits, requires_grad=True), torch.tensor(logits, requires_grad=True)
    le = EF.nll_loss(EF.log_softmax(xe, 1), ember.tensor(target))
    lt = torch.nn.functional.nll_loss(torch.nn.functional.log_softmax(xt, 1), torch.tensor(target))
    le.backward()
    lt.backward()
    assert le.item() == pytest.approx(lt.item(), rel=1e-6)
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-9)
