"""The image examples hold a validation set out of the training images, report it each
epoch, evaluate the test set once at the end, and save a checkpoint and curves."""
import os
import subprocess
import sys

import pytest

import ember

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def test_cifar10_fake_run_reports_validation_then_test_once(tmp_path):
    """(In channels_last: the example's option, which lays the model out in that format.)"""
    pytest.importorskip("matplotlib")
    pytest.importorskip("PIL")
    run = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "cifar10.py"), "--fake", "--limit", "40",
                          "--epochs", "2", "--batch-size", "16", "--val-split", "0.2", "--out", str(tmp_path),
                          "--channels-last"],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.splitlines()
    epochs = [line for line in lines if line.startswith("epoch ") and "validation loss" in line]
    assert len(epochs) == 2 and all("train loss" in line for line in epochs)
    assert sum(line.startswith("test set (evaluated once, after training)") for line in lines) == 1
    state = ember.load(str(tmp_path / "cifar10_resnet20.ember"))
    assert len(state["history"]["val_loss"]) == 2 and set(state["test"]) == {"loss", "acc"}
    conv = next(v for k, v in state["model"].items() if v.ndim == 4)
    assert conv.is_contiguous(memory_format=ember.channels_last) and not conv.is_contiguous()
    assert (tmp_path / "cifar10_resnet20_curves.png").stat().st_size > 0


def test_hold_out_is_seeded_disjoint_and_reads_validation_unaugmented():
    sys.path.insert(0, os.path.join(ROOT, "examples"))
    from common import hold_out
    images, plain = list(range(50)), [f"plain {i}" for i in range(50)]
    train, val = hold_out(images, 0.2, seed=3, limit=40, eval_view=plain)
    assert len(train) == 32 and len(val) == 8
    assert set(train.indices).isdisjoint(val.indices) and set(train.indices) | set(val.indices) == set(range(40))
    assert val[0] == f"plain {val.indices[0]}"
    again, _ = hold_out(images, 0.2, seed=3, limit=40)
    assert again.indices == train.indices
    whole, none = hold_out(images, 0.0, seed=3)
    assert len(whole) == 50 and none is None


def test_transfer_learning_smoke_and_frozen_convolutions(tmp_path):
    sys.path.insert(0, os.path.join(ROOT, "examples"))
    import transfer_learning as tl
    result = tl.main(["--smoke", "--out", str(tmp_path)])
    assert 0 <= result["scratch"] <= 1 and 0 <= result["pretrained"] <= 1
    assert (tmp_path / "transfer_learning_curves.png").stat().st_size > 0

    model = ember.vision.models.lenet5(weights="MNIST")
    start = {n: p.detach().numpy().copy() for n, p in model.named_parameters()}

    class Snapshots(list):  # the conv weights at the end of each epoch
        def append(self, value):
            super().append(value)
            snaps.append(model.conv1.weight.detach().numpy().copy())
    snaps = []
    data = ember.utils.data.TensorDataset(ember.randn(16, 1, 28, 28), ember.randint(0, 10, (16,)))
    loader = ember.utils.data.DataLoader(data, batch_size=8)
    tl.train(model, loader, loader, epochs=2, unfreeze_epochs=1, lr=1e-2, curve=Snapshots(), name="t")
    assert (snaps[0] == start["conv1.weight"]).all()          # frozen in the first phase
    assert not (snaps[1] == start["conv1.weight"]).all()      # learning in the last
    assert not (model.fc3.weight.detach().numpy() == start["fc3.weight"]).all()


def test_mnist_example_trains_through_ember_compile(tmp_path):
    pytest.importorskip("matplotlib")
    pytest.importorskip("PIL")
    run = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "mnist.py"), "--fake", "--limit", "64",
                          "--epochs", "2", "--batch-size", "16", "--val-split", "0.25", "--compile",
                          "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "runs eagerly" not in run.stderr  # LeNet-5 compiles whole: no graph break
    assert sum(line.startswith("epoch ") for line in run.stdout.splitlines()) == 2
    state = ember.load(str(tmp_path / "mnist_lenet5.ember"))
    assert all(not key.startswith("_orig_mod") for key in state["model"])
