"""Trainer: the loop's semantics against hand-written PyTorch-style loops."""
import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.metrics import Accuracy
from ember.train import Callback, LambdaCallback, Trainer, fit
from ember.utils.data import DataLoader, TensorDataset
from trainutil import accuracy, make_data, make_model


def _weights(model):
    return [p.detach().numpy().copy() for p in model.parameters()]


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_gradient_accumulation_equals_bigger_batch(reduction):
    x, y = ember.randn(32, 3), ember.randn(32, 2)
    big, small = nn.Linear(3, 2), nn.Linear(3, 2)
    small.load_state_dict(big.state_dict())
    loss = nn.MSELoss(reduction=reduction)
    Trainer(big, loss, ember.optim.SGD(big.parameters(), lr=0.01), progress=False).fit(
        DataLoader(TensorDataset(x, y), batch_size=16))
    accumulated = Trainer(small, loss, ember.optim.SGD(small.parameters(), lr=0.01),
                          accumulate_grad_batches=2, progress=False)
    accumulated.fit(DataLoader(TensorDataset(x, y), batch_size=8))
    for a, b in zip(_weights(big), _weights(small)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert accumulated.global_step == 4


def test_matches_a_plain_loop():
    """Two epochs of clipped SGD with a per-batch scheduler equal the hand-written loop."""
    data = make_data(20)
    model = make_model(seed=1)
    opt = ember.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    sched = ember.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)
    Trainer(model, nn.CrossEntropyLoss(), opt, scheduler=sched, scheduler_interval="batch",
            grad_clip=0.1, progress=False).fit(DataLoader(data, batch_size=8), epochs=2)

    ref = make_model(seed=1)
    ref_opt = ember.optim.SGD(ref.parameters(), lr=0.5, momentum=0.9)
    ref_sched = ember.optim.lr_scheduler.ExponentialLR(ref_opt, gamma=0.9)
    for _ in range(2):
        for xb, yb in DataLoader(data, batch_size=8):
            nn.functional.cross_entropy(ref(xb), yb).backward()
            total = nn.utils.clip_grad_norm_(ref.parameters(), 0.1)
            assert total.item() > 0.1  # the clipping is active
            ref_opt.step()
            ref_opt.zero_grad()
            ref_sched.step()
    for a, b in zip(_weights(model), _weights(ref)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.5 * 0.9 ** 6)


def test_epoch_scheduler_and_plateau_gets_validation_metric():
    model = make_model()
    opt = ember.optim.SGD(model.parameters(), lr=1.0)
    sched = ember.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    Trainer(model, nn.CrossEntropyLoss(), opt, scheduler=sched, progress=False).fit(make_data(), epochs=3)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.125)

    seen = []

    class Plateau(ember.optim.lr_scheduler.ReduceLROnPlateau):
        def step(self, metrics, epoch=None):
            seen.append(metrics)
            super().step(metrics, epoch)

    opt = ember.optim.SGD(model.parameters(), lr=0.1)
    trainer = Trainer(model, nn.CrossEntropyLoss(), opt, scheduler=Plateau(opt, mode="max"),
                      scheduler_monitor="val_acc", metrics={"acc": accuracy}, progress=False)
    history = trainer.fit(make_data(), make_data(16), epochs=2)
    assert seen == history["val_acc"]


def test_modes_and_no_grad():
    events = []

    class Probe(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 2)

        def forward(self, x):
            events.append((self.training, ember.is_grad_enabled()))
            return self.lin(x)

    model = Probe()
    trainer = Trainer(model, nn.CrossEntropyLoss(), ember.optim.SGD(model.parameters(), lr=0.1), progress=False)
    trainer.fit(DataLoader(make_data(8), batch_size=8), DataLoader(make_data(8), batch_size=8), epochs=2)
    assert events == [(True, True), (False, False)] * 2
    events.clear()
    model.eval()
    trainer.evaluate(make_data(8), batch_size=8)
    model.train()
    out = trainer.predict(make_data(8), batch_size=8)
    assert events == [(False, False)] * 2 and model.training
    assert out.shape == (8, 2) and not out.requires_grad


def test_seed_reproducible_and_validation_split():
    def run(seed):
        model = make_model(dropout=0.5, seed=seed)
        trainer = Trainer(model, nn.CrossEntropyLoss(), ember.optim.Adam(model.parameters()), seed=seed,
                          metrics={"acc": accuracy}, progress=False)
        return trainer.fit(make_data(40), validation_split=0.25, batch_size=6, epochs=2), _weights(model)

    (h1, w1), (h2, w2), (_, w3) = run(4), run(4), run(5)
    assert h1.history == h2.history and set(h1.keys()) == {"loss", "acc", "val_loss", "val_acc"}
    assert all(np.array_equal(a, b) for a, b in zip(w1, w2))
    assert not all(np.array_equal(a, b) for a, b in zip(w1, w3))


def test_validation_split_sizes_and_errors():
    sizes = []
    model = make_model()
    trainer = Trainer(model, nn.CrossEntropyLoss(), ember.optim.SGD(model.parameters(), lr=0.1), seed=0,
                      callbacks=[LambdaCallback(on_validation_end=lambda t, e, logs: sizes.append(logs["val_loss"]))],
                      progress=False)
    trainer.fit(make_data(40), validation_split=0.25, epochs=1)
    assert len(sizes) == 1
    with pytest.raises(ValueError, match="validation_split must be in"):
        trainer.fit(make_data(40), validation_split=1.5)
    with pytest.raises(ValueError, match="validation_split needs"):
        trainer.fit(DataLoader(make_data(40)), validation_split=0.5)
    with pytest.raises(ValueError, match="scheduler_interval"):
        Trainer(model, nn.CrossEntropyLoss(), None, scheduler_interval="step")
    with pytest.raises(ValueError, match="accumulate_grad_batches"):
        Trainer(model, nn.CrossEntropyLoss(), None, accumulate_grad_batches=0)
    with pytest.raises(TypeError, match="metric 'bad'"):
        Trainer(model, nn.CrossEntropyLoss(), None, metrics={"bad": 3})
    with pytest.raises(TypeError, match="data must be"):
        trainer.fit(42)


class StreamingAccuracy:
    """A streaming metric with the update/compute/reset interface."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.correct = self.total = 0

    def update(self, preds, target):
        self.correct += int((preds.argmax(1) == target).sum().item())
        self.total += int(target.shape[0])

    def compute(self):
        return ember.tensor(self.correct / self.total)


def test_metrics_streaming_and_callable_agree_with_evaluate():
    model = make_model()
    trainer = Trainer(model, nn.CrossEntropyLoss(), ember.optim.SGD(model.parameters(), lr=0.1),
                      metrics={"acc": accuracy, "sacc": StreamingAccuracy(), "macc": Accuracy()},
                      progress=False)
    history = trainer.fit(make_data(48), make_data(20), batch_size=10, epochs=2)
    result = trainer.evaluate(make_data(20), batch_size=20)
    x, y = make_data(20).tensors
    with ember.no_grad():
        model.eval()
        expected_loss = nn.functional.cross_entropy(model(x), y).item()
    assert result["loss"] == pytest.approx(expected_loss, rel=1e-6)
    assert result["acc"] == result["sacc"] == pytest.approx(accuracy(model(x), y))
    assert result["macc"] == pytest.approx(result["acc"])
    assert history["val_loss"][-1] == pytest.approx(expected_loss, rel=1e-6)
    assert history["val_acc"][-1] == pytest.approx(history["val_sacc"][-1])


def test_metrics_as_a_list_are_named_after_their_class_or_function():
    model = make_model()
    trainer = Trainer(model, nn.CrossEntropyLoss(), ember.optim.SGD(model.parameters(), lr=0.1),
                      metrics=[Accuracy(), StreamingAccuracy()], progress=False)
    history = trainer.fit(make_data(48), make_data(20), batch_size=10, epochs=1)
    assert {"accuracy", "streaming_accuracy", "val_accuracy", "val_streaming_accuracy"} <= set(history.keys())
    assert len(history) == 1
    assert list(Trainer(model, nn.CrossEntropyLoss(), ember.optim.SGD(model.parameters(), lr=0.1),
                        metrics=[accuracy]).metrics.metrics) == ["accuracy"]
    with pytest.raises(ValueError, match="two metrics are both named 'accuracy'.*pass a dict"):
        Trainer(model, nn.CrossEntropyLoss(), ember.optim.SGD(model.parameters(), lr=0.1),
                metrics=[Accuracy(), Accuracy(top_k=2)])


def test_optimizer_given_a_model_says_to_pass_its_parameters():
    with pytest.raises(TypeError, match=r"'Sequential' object is not iterable.*SGD\(model.parameters\(\), ...\)"):
        ember.optim.SGD(make_model(), lr=0.1)


def test_hooks_order_and_stop_training():
    calls = []

    class Recorder(Callback):
        def on_fit_start(self, trainer):
            calls.append("fit_start")

        def on_epoch_start(self, trainer, epoch, logs):
            calls.append(f"epoch_start{epoch}")

        def on_batch_start(self, trainer, batch, logs):
            calls.append(f"batch_start{batch}")

        def on_batch_end(self, trainer, batch, logs):
            calls.append(f"batch_end{batch}")
            assert isinstance(logs["loss"], float)

        def on_validation_end(self, trainer, epoch, logs):
            calls.append(f"val_end{epoch}")

        def on_epoch_end(self, trainer, epoch, logs):
            calls.append(f"epoch_end{epoch}")
            trainer.stop_training = epoch == 1

        def on_fit_end(self, trainer):
            calls.append("fit_end")

    model = make_model()
    history = fit(model, DataLoader(make_data(8), batch_size=4), make_data(8),
                  loss=nn.CrossEntropyLoss(), optimizer=ember.optim.SGD(model.parameters(), lr=0.1),
                  epochs=5, callbacks=[Recorder()], progress=False)
    epoch = ["batch_start0", "batch_end0", "batch_start1", "batch_end1"]
    assert calls == (["fit_start", "epoch_start0", *epoch, "val_end0", "epoch_end0",
                      "epoch_start1", *epoch, "val_end1", "epoch_end1", "fit_end"])
    assert history.epochs == [0, 1]
    with pytest.raises(TypeError, match="loss and optimizer are required"):
        fit(model, make_data(8))


def test_multiple_inputs_and_tensor_tuples():
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(3, 1), nn.Linear(2, 1)

        def forward(self, x1, x2):
            return self.a(x1) + self.b(x2)

    x1, x2, y = ember.randn(12, 3), ember.randn(12, 2), ember.randn(12, 1)
    model = Two()
    trainer = Trainer(model, nn.MSELoss(), ember.optim.SGD(model.parameters(), lr=0.1), progress=False)
    history = trainer.fit((x1, x2, y), epochs=3, batch_size=4)
    assert history["loss"][-1] < history["loss"][0]
    assert trainer.predict((x1, x2, y)).shape == (12, 1)
