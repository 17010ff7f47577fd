"""Resumable checkpoints: an interrupted and resumed fit ends bit-exactly where an
uninterrupted one does."""
import random

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.train import (
    CSVLogger, EarlyStopping, LambdaCallback, LearningRateMonitor, ModelCheckpoint, Trainer,
    capture_rng_state, load_checkpoint, restore_rng_state,
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


def test_load_checkpoint_names_what_an_older_checkpoint_lacks(tmp_path):
    model = make_model()
    state = Trainer(model, nn.CrossEntropyLoss(), ember.optim.SGD(model.parameters(), lr=0.1)).state_dict()
    ember.save(state, tmp_path / "new.ckpt")
    assert sorted(load_checkpoint(tmp_path / "new.ckpt")) == sorted(state)
    del state["callbacks"], state["split"]
    ember.save(state, tmp_path / "old.ckpt")
    with pytest.raises(ValueError, match=r"lacks \['callbacks', 'split'\].*load_state_dict"):
        load_checkpoint(tmp_path / "old.ckpt")


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


class Noisy(ember.utils.data.Dataset):
    """make_data's samples plus noise from all three process-wide generators (augmentation)."""

    def __init__(self, n):
        self.data = make_data(n)

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        x, y = self.data[i]
        return x + ember.randn(4) * 0.1 + float(np.random.normal(0, 0.1)) + random.random() * 0.1, y


def _fit_with_workers(num_workers, callbacks=(), resume_from=None):
    model = make_model(seed=2, dropout=0.2)
    trainer = Trainer(model, nn.CrossEntropyLoss(), ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                      callbacks=list(callbacks), seed=4, progress=False)
    loader = DataLoader(Noisy(30), batch_size=6, shuffle=True, num_workers=num_workers)
    trainer.fit(loader, epochs=3, resume_from=resume_from)
    return _weights(trainer)


def test_worker_augmentation_resumes_mid_epoch(tmp_path):
    """Random augmentation in worker processes: each batch's draws come from the epoch's saved
    seed and the batch's position, so neither a resume nor the number of workers changes them."""
    reference = _fit_with_workers(2)
    for a, b in zip(reference, _fit_with_workers(3)):
        assert np.array_equal(a, b)
    with pytest.raises(KeyboardInterrupt):
        _fit_with_workers(2, [ModelCheckpoint(dirpath=tmp_path, monitor="loss", every_n_steps=1), Interrupt(8)])
    ember.manual_seed(999)
    np.random.seed(999)
    random.seed(999)
    for a, b in zip(_fit_with_workers(2, resume_from=tmp_path / "last.ckpt"), reference):
        assert np.array_equal(a, b)


def test_epoch_end_checkpoint_holds_every_callbacks_update(tmp_path):
    """ModelCheckpoint before EarlyStopping: the epoch's checkpoint is written once EarlyStopping
    has seen the epoch too, with its decision to stop; a resume from it trains no further."""
    early = EarlyStopping(monitor="loss", patience=0, min_delta=100.0)
    trainer = _trainer([ModelCheckpoint(dirpath=tmp_path, monitor="loss", save_best_only=False), early])
    trainer.fit(_loader(), epochs=5)
    assert early.stopped_epoch == 1 and trainer.global_step == 18
    state = load_checkpoint(tmp_path / "last.ckpt")
    assert state["stop_training"] and state["history"]["epochs"] == [0, 1]
    assert state["callbacks"][1] == {"type": "EarlyStopping", "state": early.state_dict()}
    resumed_early = EarlyStopping(monitor="loss", patience=0, min_delta=100.0)
    resumed = _trainer([resumed_early])
    history = resumed.fit(_loader(), epochs=5, resume_from=tmp_path / "last.ckpt")
    assert resumed.global_step == 18 and history.epochs == [0, 1]
    assert (resumed_early.stopped_epoch, resumed_early.wait, resumed_early.best) == (1, 1, early.best)


def test_state_dict_inside_a_batch_is_refused(tmp_path):
    peek = LambdaCallback(on_batch_end=lambda t, b, logs: t.state_dict())
    with pytest.raises(RuntimeError, match="Trainer.state_dict.*save_checkpoint"):
        _trainer([peek]).fit(_loader(), epochs=1)


def test_callback_states_follow_their_class(tmp_path):
    """A resume with callbacks added, removed or reordered gives each callback the state saved
    for the one of its class at the same place among those of its class."""
    first, second = EarlyStopping(monitor="loss", patience=9), EarlyStopping(monitor="acc", mode="max", patience=9)
    _trainer([ModelCheckpoint(dirpath=tmp_path, monitor="loss"), first, second]).fit(_loader(), epochs=2)
    again = [EarlyStopping(monitor="loss", patience=9), EarlyStopping(monitor="acc", mode="max", patience=9)]
    resumed = _trainer([LearningRateMonitor(), *again])
    resumed.fit(_loader(), epochs=2, resume_from=tmp_path / "last.ckpt")
    assert again[0].state_dict() == first.state_dict() and again[1].state_dict() == second.state_dict()
    assert first.best != second.best


def test_csv_log_resumes_without_repeated_rows(tmp_path):
    log = tmp_path / "log.csv"
    ckpt = ModelCheckpoint(filepath=str(tmp_path / "ckpt-{epoch}.ckpt"), monitor="loss", save_best_only=False)
    _trainer([CSVLogger(log), ckpt]).fit(_loader(), epochs=3)
    expected = log.read_text()
    resumed = _trainer([CSVLogger(log), ckpt])
    resumed.fit(_loader(), epochs=3, resume_from=tmp_path / "ckpt-0.ckpt")  # rows 1 and 2 written again
    assert log.read_text() == expected and expected.count("\n") == 4


def test_validation_split_is_resumed(tmp_path):
    """Without a seed the split is drawn from the default generator; a resume reuses it."""
    def run(default_seed, callbacks=(), resume_from=None):
        model = make_model(seed=3)
        trainer = Trainer(model, nn.CrossEntropyLoss(), ember.optim.SGD(model.parameters(), lr=0.1),
                          callbacks=list(callbacks), progress=False)
        ember.manual_seed(default_seed)  # what the split is drawn from
        trainer.fit(make_data(40), epochs=2, batch_size=8, validation_split=0.25, resume_from=resume_from)
        return trainer

    reference = run(0)
    with pytest.raises(KeyboardInterrupt):
        run(0, [ModelCheckpoint(dirpath=tmp_path, monitor="loss", every_n_steps=1), Interrupt(6)])
    resumed = run(999, resume_from=tmp_path / "last.ckpt")
    assert resumed.history.history == reference.history.history
    for a, b in zip(_weights(resumed), _weights(reference)):
        assert np.array_equal(a, b)
