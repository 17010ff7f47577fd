"""Resumable checkpoints: an interrupted and resumed fit ends bit-exactly where an
uninterrupted one does."""
import random

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.train import (
    LambdaCallback, ModelCheckpoint, Trainer, capture_rng_state, load_checkpoint, restore_rng_state,
)
from ember.utils.data import DataLoader
from trainutil import accuracy, make_data, make_model


class Interrupt(LambdaCallback):
    def __init__(self, at_step: int):
        super().__init__(on_batch_end=self._check)
        self.at_step = at_step

    def _check(self, trainer, batch, logs):
        if trainer.global_step == self.at_step:
            raise KeyboardInterrupt


def _trainer(callbacks=(), accumulate=1, optim="adam", generator=None):
    model = make_model(seed=3, dropout=0.3)
    if optim == "adam":
        opt = ember.optim.Adam(model.parameters(), lr=0.01)
        sched = ember.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)
    else:
        opt = ember.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        sched = ember.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=40)
    return Trainer(model, nn.CrossEntropyLoss(), opt, scheduler=sched,
                   scheduler_interval="epoch" if optim == "adam" else "batch",
                   metrics={"acc": accuracy}, callbacks=list(callbacks), seed=11,
                   accumulate_grad_batches=accumulate, progress=False)


def _loader(generator=None):
    return DataLoader(make_data(44), batch_size=5, shuffle=True, generator=generator)


def _weights(trainer):
    return [p.detach().numpy().copy() for p in trainer.model.parameters()]


@pytest.mark.parametrize("optim,accumulate,stop_at,own_generator", [
    ("adam", 1, 13, False),   # mid-epoch (9 batches per epoch)
    ("adam", 1, 18, False),   # on an epoch boundary
    ("sgd", 2, 7, False),     # inside an accumulation window, per-batch OneCycleLR
    ("sgd", 1, 22, True),     # the DataLoader draws its order from its own generator
])
def test_resume_is_bit_exact(tmp_path, optim, accumulate, stop_at, own_generator):
    gen = (lambda: ember.Generator().manual_seed(5)) if own_generator else (lambda: None)
    reference = _trainer(accumulate=accumulate, optim=optim)
    ref_hist = reference.fit(_loader(gen()), make_data(12), epochs=4)

    ckpt = ModelCheckpoint(dirpath=tmp_path, save_best_only=False, every_n_steps=1)
    interrupted = _trainer([ckpt, Interrupt(stop_at)], accumulate, optim)
    with pytest.raises(KeyboardInterrupt):
        interrupted.fit(_loader(gen()), make_data(12), epochs=4)
    # everything random moves on before the resume, as in a new process
    ember.manual_seed(999)
    np.random.seed(999)
    random.seed(999)
    resumed = _trainer(accumulate=accumulate, optim=optim)
    hist = resumed.fit(_loader(gen()), make_data(12), epochs=4, resume_from=tmp_path / "last.ckpt")

    assert resumed.global_step == reference.global_step == 36
    for a, b in zip(_weights(resumed), _weights(reference)):
        assert np.array_equal(a, b)
    assert hist.epochs == ref_hist.epochs == [0, 1, 2, 3]
    assert hist["loss"] == ref_hist["loss"]
    assert hist["val_acc"] == ref_hist["val_acc"]


def test_dropout_and_shuffle_matter(tmp_path):
    """Guards the test above: resuming without the saved RNG/loader state gives other weights."""
    reference = _trainer()
    reference.fit(_loader(), make_data(12), epochs=2)
    interrupted = _trainer([ModelCheckpoint(dirpath=tmp_path, every_n_steps=1), Interrupt(13)])
    with pytest.raises(KeyboardInterrupt):
        interrupted.fit(_loader(), make_data(12), epochs=2)
    state = load_checkpoint(tmp_path / "last.ckpt")
    # the interrupted batch never ended, so its checkpoint was not written
    assert (state["epoch"], state["batch"], state["global_step"]) == (1, 3, 12)
    assert len(state["position"]["indices"]) == 9
    ember.manual_seed(999)
    np.random.seed(999)
    state["rng"] = capture_rng_state()  # the generators' states of another run
    ember.save(state, tmp_path / "no_rng.ckpt")
    resumed = _trainer()
    resumed.fit(_loader(), make_data(12), epochs=2, resume_from=tmp_path / "no_rng.ckpt")
    assert not all(np.array_equal(a, b) for a, b in zip(_weights(resumed), _weights(reference)))


def test_rng_state_round_trip():
    ember.manual_seed(1)
    np.random.seed(2)
    random.seed(3)
    gen = ember.Generator().manual_seed(4)
    state = capture_rng_state(gen)
    first = (ember.rand(3).numpy(), np.random.rand(3), random.random(), ember.rand(2, generator=gen).numpy())
    ember.manual_seed(7)
    np.random.seed(7)
    random.seed(7)
    gen.manual_seed(7)
    restore_rng_state(state, gen)
    again = (ember.rand(3).numpy(), np.random.rand(3), random.random(), ember.rand(2, generator=gen).numpy())
    for a, b in zip(first, again):
        assert np.array_equal(a, b)


def test_load_checkpoint_rejects_state_dict(tmp_path):
    ember.save(make_model().state_dict(), tmp_path / "w.pt")
    with pytest.raises(ValueError, match="not a training checkpoint.*load_state_dict"):
        load_checkpoint(tmp_path / "w.pt")


def test_worker_processes_give_the_same_run():
    """Batches fetched by DataLoader workers are those fetched in-process, in the same order."""
    def run(num_workers):
        model = make_model(dropout=0.3)
        Trainer(model, nn.CrossEntropyLoss(), ember.optim.SGD(model.parameters(), lr=0.1), seed=3,
                progress=False).fit(DataLoader(make_data(40), batch_size=8, shuffle=True,
                                               num_workers=num_workers), epochs=2)
        return [p.detach().numpy() for p in model.parameters()]

    for a, b in zip(run(0), run(2)):
        assert np.array_equal(a, b)
