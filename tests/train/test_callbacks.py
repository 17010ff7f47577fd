"""Callbacks: early stopping, checkpoints, learning-rate monitor, NaN termination, CSV log."""
import csv
import math
import warnings

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.train import (
    CSVLogger, Callback, EarlyStopping, LambdaCallback, LearningRateMonitor, ModelCheckpoint,
    TerminateOnNaN, Trainer, load_checkpoint,
)
from trainutil import make_data, make_model


class Scripted(Callback):
    """Overwrites the monitored value with a scripted sequence, one per epoch."""

    def __init__(self, key, values):
        self.key, self.values = key, list(values)

    def on_epoch_end(self, trainer, epoch, logs):
        logs[self.key] = self.values[epoch]


def _trainer(callbacks, lr=0.1):
    model = make_model()
    return Trainer(model, nn.CrossEntropyLoss(), ember.optim.SGD(model.parameters(), lr=lr),
                   callbacks=callbacks, progress=False)


@pytest.mark.parametrize("mode,values,patience,min_delta,stop_epoch,best_epoch", [
    ("min", [5, 4, 3, 3.5, 3.2, 3.1, 1], 2, 0.0, 4, 2),
    ("min", [5, 4, 3.95, 3.9, 3.85, 1, 1], 1, 0.1, 2, 1),  # improvements under min_delta count as none
    ("max", [1, 2, 2, 2, 3, 3, 3], 2, 0.0, 3, 1),
    ("max", [1, 2, 3, 4, 5, 6, 7], 0, 0.0, None, 6),
])
def test_early_stopping_stops_at_the_right_epoch(mode, values, patience, min_delta, stop_epoch, best_epoch):
    es = EarlyStopping(monitor="score", patience=patience, min_delta=min_delta, mode=mode)
    history = _trainer([Scripted("score", values), es]).fit(make_data(8), epochs=len(values))
    assert es.stopped_epoch == stop_epoch and es.best_epoch == best_epoch
    assert history.epochs == list(range(len(values) if stop_epoch is None else stop_epoch + 1))
    assert history["score"] == values[:len(history.epochs)]


def test_early_stopping_restores_best_weights():
    snapshots = []
    es = EarlyStopping(monitor="score", patience=2, restore_best_weights=True)
    trainer = _trainer([Scripted("score", [3, 1, 2, 2, 0]), es,
                        LambdaCallback(on_epoch_end=lambda t, e, logs: snapshots.append(
                            [p.detach().numpy().copy() for p in t.model.parameters()]))])
    trainer.fit(make_data(8), epochs=5)
    assert es.stopped_epoch == 3 and len(snapshots) == 4
    assert not np.array_equal(snapshots[1][0], snapshots[3][0])
    for p, best in zip(trainer.model.parameters(), snapshots[1]):
        assert np.array_equal(p.detach().numpy(), best)


@pytest.mark.parametrize("monitor,mode", [
    ("val_accuracy", "max"), ("val_acc", "max"), ("top5_accuracy", "max"), ("val_f1", "max"),
    ("val_r2", "max"), ("val_loss", "min"), ("loss", "min"), ("val_mae", "min"),
    ("val_perplexity", "min"), ("score", "min"),
])
def test_auto_mode_reads_the_metric_name(monitor, mode):
    assert EarlyStopping(monitor=monitor)._monitor.mode == mode
    assert ModelCheckpoint(dirpath="unused", monitor=monitor)._monitor.mode == mode


def test_a_mode_the_name_contradicts_warns():
    with pytest.warns(UserWarning, match="mode='min' treats lower 'val_accuracy' as better.*mode='max'"):
        EarlyStopping(monitor="val_accuracy", mode="min")
    with pytest.warns(UserWarning, match="mode='max' treats higher 'val_loss' as better.*mode='min'"):
        ModelCheckpoint(dirpath="unused", monitor="val_loss", mode="max")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        EarlyStopping(monitor="score", mode="max")  # a name that says nothing: no warning


def test_early_stopping_says_when_it_stops_and_restores(capsys):
    es = EarlyStopping(monitor="score", patience=1, restore_best_weights=True)
    _trainer([Scripted("score", [3, 1, 2, 2]), es]).fit(make_data(8), epochs=4)
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["EarlyStopping: stopping after epoch 3: score has not improved for 1 epoch (best 1 at epoch 2)",
                     "EarlyStopping: restored the weights of epoch 2 (score 1)"]
    quiet = EarlyStopping(monitor="score", patience=1, verbose=False)
    _trainer([Scripted("score", [3, 1, 2, 2]), quiet]).fit(make_data(8), epochs=4)
    assert capsys.readouterr().out == ""


def test_monitor_errors():
    with pytest.raises(ValueError, match="mode must be 'min', 'max' or 'auto'"):
        EarlyStopping(mode="lowest")
    with pytest.raises(KeyError, match="'val_loss' is not in the logs.*validation data"):
        _trainer([EarlyStopping()]).fit(make_data(8))
    with pytest.raises(ValueError, match="exactly one of dirpath and filepath"):
        ModelCheckpoint()


def test_model_checkpoint_best_and_last(tmp_path):
    saved = {}
    ckpt = ModelCheckpoint(filepath=str(tmp_path / "ckpt-{epoch}-{score:.1f}.ckpt"), monitor="score")
    record = LambdaCallback(on_epoch_end=lambda t, e, logs: saved.__setitem__(
        e, [p.detach().numpy().copy() for p in t.model.parameters()]))
    _trainer([Scripted("score", [3, 1, 2, 0.5, 4]), record, ckpt]).fit(make_data(8), epochs=5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt-0-3.0.ckpt", "ckpt-1-1.0.ckpt",
                                                          "ckpt-3-0.5.ckpt", "last.ckpt"]
    assert ckpt.best_path == str(tmp_path / "ckpt-3-0.5.ckpt")
    best = load_checkpoint(ckpt.best_path)
    assert best["epoch"] == 4 and best["batch"] == 0 and best["history"]["history"]["score"] == [3, 1, 2, 0.5]
    for p, w in zip(best["model"].values(), saved[3]):
        assert np.array_equal(p.numpy(), w)
    last = load_checkpoint(tmp_path / "last.ckpt")
    for p, w in zip(last["model"].values(), saved[4]):
        assert np.array_equal(p.numpy(), w)
    assert not [p for p in tmp_path.iterdir() if "tmp" in p.name]  # atomic writes leave no temporaries


def test_learning_rate_monitor_logs_into_history():
    model = nn.Linear(4, 2)
    opt = ember.optim.SGD([{"params": [model.weight], "lr": 1.0}, {"params": [model.bias], "lr": 0.5}])
    sched = ember.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    trainer = Trainer(model, nn.CrossEntropyLoss(), opt, scheduler=sched, callbacks=[LearningRateMonitor()],
                      progress=False)
    history = trainer.fit(make_data(8), epochs=3)
    assert history["lr/group0"] == [0.5, 0.25, 0.125]
    assert history["lr/group1"] == [0.25, 0.125, 0.0625]
    single = _trainer([LearningRateMonitor()], lr=0.3).fit(make_data(8), epochs=2)
    assert single["lr"] == [0.3, 0.3]


@pytest.mark.parametrize("where,expected", [
    ("loss", "non-finite value at step 3 (epoch 1, batch 0): loss = nan"),
    ("param", "non-finite value at step 3 (epoch 1, batch 0): parameter '2.weight'"),
])
def test_terminate_on_nan_names_step_and_tensor(where, expected, capsys):
    class Poison(Callback):
        def on_batch_start(self, trainer, batch, logs):
            if where == "loss" and trainer.global_step == 2:
                trainer.loss_fn = lambda out, target: (out * math.nan).sum()

        def on_batch_end(self, trainer, batch, logs):
            if where == "param" and trainer.global_step == 3:  # after a finite loss
                with ember.no_grad():
                    trainer.model[2].weight[0, 0] = math.inf

    stop = TerminateOnNaN()
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.Linear(8, 2))
    trainer = Trainer(model, nn.CrossEntropyLoss(), ember.optim.SGD(model.parameters(), lr=0.1),
                      callbacks=[Poison(), stop], progress=False)
    history = trainer.fit(ember.utils.data.DataLoader(make_data(8), batch_size=4), epochs=3)
    assert stop.reason == "TerminateOnNaN: " + expected
    assert expected in capsys.readouterr().out
    assert trainer.global_step == 3 and history.epochs == [0]


def test_terminate_on_nan_names_gradient():
    stop = TerminateOnNaN()
    model = nn.Linear(4, 2)
    grad_only = LambdaCallback(on_batch_end=lambda t, b, logs: t.model.weight.__setattr__(
        "grad", ember.full((2, 4), math.nan)))
    trainer = Trainer(model, nn.CrossEntropyLoss(), ember.optim.SGD(model.parameters(), lr=0.1),
                      callbacks=[grad_only, stop], progress=False)
    trainer.fit(make_data(8), epochs=2)
    assert stop.reason.endswith("step 1 (epoch 0, batch 0): gradient of 'weight'")


def test_csv_logger(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("stale\n")
    _trainer([LearningRateMonitor(), CSVLogger(path)]).fit(make_data(8), make_data(8), epochs=3)
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["epoch"] for r in rows] == ["0", "1", "2"]
    assert set(rows[0]) == {"epoch", "loss", "val_loss", "lr"}
    assert float(rows[2]["lr"]) == 0.1 and math.isfinite(float(rows[2]["val_loss"]))
    _trainer([CSVLogger(path, append=True)]).fit(make_data(8), make_data(8), epochs=1)
    with open(path, newline="") as fh:
        assert len(list(csv.DictReader(fh))) == 4


def test_lambda_callback_rejects_unknown_hooks():
    with pytest.raises(TypeError, match="unknown hook.*on_step"):
        LambdaCallback(on_step=print)
