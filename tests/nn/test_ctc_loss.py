"""ctc_loss and nn.CTCLoss against torch: padded and concatenated targets, repeated labels,
empty targets, impossible alignments, every reduction, zero_infinity, gradients, errors."""
import numpy as np
import pytest

import ember
import ember.nn as enn
import ember.nn.functional as EF
from helpers import assert_close, check_op

torch = pytest.importorskip("torch")
TF = torch.nn.functional

T, N, C, S = 12, 5, 6, 5
RNG = np.random.default_rng(0)
TARGETS = RNG.integers(1, C, (N, S))
TARGETS[3, :2] = 2  # a repeated label needs a blank between its copies
INPUT_LENGTHS = np.array([12, 10, 8, 12, 3])  # the last sample cannot align its 5 labels in 3 steps
TARGET_LENGTHS = np.array([5, 3, 0, 4, 5])


def _call(F, lib, lp, *, concatenated=False, as_tuples=False, **kwargs):
    targets = TARGETS
    if concatenated:
        targets = np.concatenate([TARGETS[i, :TARGET_LENGTHS[i]] for i in range(N)])
    lengths = (tuple(INPUT_LENGTHS.tolist()), tuple(TARGET_LENGTHS.tolist())) if as_tuples else \
        (lib.tensor(INPUT_LENGTHS), lib.tensor(TARGET_LENGTHS))
    return F.ctc_loss(lp, lib.tensor(targets), *lengths, **kwargs)


# (An infinite reduced loss has NaN gradients everywhere: test_infinite_loss_without_zero_infinity.)
@pytest.mark.parametrize("reduction,zero_infinity", [("none", False), ("none", True), ("mean", True),
                                                     ("sum", True)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_ctc_loss_after_log_softmax(reduction, zero_infinity, dtype):
    check_op([(T, N, C)], lambda x: _call(TF, torch, x.log_softmax(2), reduction=reduction,
                                          zero_infinity=zero_infinity),
             lambda x: _call(EF, ember, x.log_softmax(2), reduction=reduction, zero_infinity=zero_infinity),
             dtype=dtype)


@pytest.mark.parametrize("concatenated,as_tuples", [(True, False), (False, True), (True, True)])
def test_ctc_loss_target_forms_and_leaf_log_probs(concatenated, as_tuples):
    # Gradients straight into log_probs follow torch's formula (the logits' gradient).
    values = [np.log(RNG.dirichlet(np.ones(C), (T, N)))]
    check_op([(T, N, C)], lambda x: _call(TF, torch, x, concatenated=concatenated, as_tuples=as_tuples,
                                          zero_infinity=True),
             lambda x: _call(EF, ember, x, concatenated=concatenated, as_tuples=as_tuples, zero_infinity=True),
             dtype="float64", values=values)


def test_infinite_loss_without_zero_infinity():
    x = RNG.standard_normal((T, N, C))
    t_x, e_x = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
    t_loss = _call(TF, torch, t_x.log_softmax(2), reduction="none")
    e_loss = _call(EF, ember, e_x.log_softmax(2), reduction="none")
    assert np.isinf(e_loss.detach().numpy()[-1])
    assert_close(e_loss, t_loss)
    t_loss.sum().backward()
    e_loss.sum().backward()
    np.testing.assert_array_equal(np.isnan(e_x.grad.numpy()), np.isnan(t_x.grad.numpy()))


@pytest.mark.parametrize("blank", [0, 3])
def test_ctc_module_and_unbatched(blank):
    targets = np.array([1, 2, 2, 4]) if blank != 0 else np.array([1, 3, 3, 5])
    targets = np.where(targets == blank, 5, targets)
    t_mod, e_mod = torch.nn.CTCLoss(blank=blank), enn.CTCLoss(blank=blank)
    check_op([(10, C)], lambda x: t_mod(x.log_softmax(1), torch.tensor(targets), (10,), (4,)),
             lambda x: e_mod(x.log_softmax(1), ember.tensor(targets), (10,), (4,)), dtype="float64")
    check_op([(10, C)], lambda x: TF.ctc_loss(x.log_softmax(1), torch.tensor(targets), (10,), (4,), blank,
                                              reduction="none"),
             lambda x: EF.ctc_loss(x.log_softmax(1), ember.tensor(targets), (10,), (4,), blank,
                                   reduction="none"), dtype="float64")


ERRORS = [
    (dict(input_lengths=(13, 1, 1, 1, 1)), "input_lengths"),
    (dict(blank=C), "blank"),
    (dict(target_lengths=(6, 1, 1, 1, 1)), "targets"),
]


@pytest.mark.parametrize("change,match", ERRORS)
def test_ctc_loss_errors(change, match):
    args = dict(input_lengths=tuple(INPUT_LENGTHS.tolist()), target_lengths=tuple(TARGET_LENGTHS.tolist()))
    args.update(change)
    x = RNG.standard_normal((T, N, C))
    with pytest.raises(RuntimeError):
        TF.ctc_loss(torch.tensor(x), torch.tensor(TARGETS), **args)
    with pytest.raises(RuntimeError, match=match):
        EF.ctc_loss(ember.tensor(x), ember.tensor(TARGETS), **args)


@pytest.mark.parametrize("seed", range(6))
def test_ctc_loss_random_batches_against_torch(seed):
    """Random frame counts, batch sizes, classes and lengths (zero-length inputs and targets,
    targets longer than some inputs allow, runs of one label): the whole-batch recursion
    gives torch's per-sample losses and gradients."""
    rng = np.random.default_rng(100 + seed)
    steps, batch, classes = int(rng.integers(1, 30)), int(rng.integers(1, 9)), int(rng.integers(2, 8))
    blank = int(rng.integers(0, classes))
    labels = [c for c in range(classes) if c != blank]
    in_len = rng.integers(0, steps + 1, batch)
    in_len[0] = steps
    tg_len = rng.integers(0, max(2, steps // 2 + 2), batch)
    targets = rng.choice(labels, (batch, int(tg_len.max(initial=0)) or 1))
    targets[:, 1::3] = targets[:, ::3][:, :targets[:, 1::3].shape[1]]  # repeated neighbours
    values = [rng.standard_normal((steps, batch, classes))]

    def call(F, lib, x):
        return F.ctc_loss(x.log_softmax(2), lib.tensor(targets), lib.tensor(in_len), lib.tensor(tg_len),
                          blank=blank, reduction="none", zero_infinity=True)

    check_op([(steps, batch, classes)], lambda x: call(TF, torch, x), lambda x: call(EF, ember, x),
             dtype="float64", values=values)
