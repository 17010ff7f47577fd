"""The ``ember`` command: summary tables, errors naming the valid choices, train then eval, demo."""
import os
import subprocess
import sys
import urllib.error

import numpy as np
import pytest
import torch

import ember
from ember.cli import main
from ember.cli.zoo import DATASETS, MODELS
from ember.train import load_checkpoint

from shared_data import SHARED_DATA

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_main(argv, capsys):
    """``main(argv)``'s exit code (0, or a SystemExit's) with its stdout and stderr."""
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    out = capsys.readouterr()
    return code, out.out, out.err


def torch_lenet5(in_channels=1, num_classes=10):
    """LeNet-5's layers in PyTorch, for an independent parameter count."""
    return torch.nn.Sequential(torch.nn.Conv2d(in_channels, 6, 5, padding=2), torch.nn.Conv2d(6, 16, 5),
                               torch.nn.Linear(400, 120), torch.nn.Linear(120, 84), torch.nn.Linear(84, num_classes))


def test_run_is_the_distributed_launcher(capsys):
    code, out, _ = run_main(["run", "--help"], capsys)
    assert code == 0 and "--nproc-per-node" in out and "--master-port" in out


def test_version(capsys):
    assert run_main(["--version"], capsys) == (0, f"ember {ember.__version__}\n", "")


def test_summary_lenet5_lists_layers_and_total(capsys):
    code, out, _ = run_main(["summary", "lenet5"], capsys)
    total = sum(p.numel() for p in torch_lenet5().parameters())
    assert code == 0 and total == 61706
    assert f"Total params: {total:,}" in out and "Trainable params: 61,706" in out
    assert "Non-trainable params: 0" in out
    rows = {line.split()[0].lstrip("├─"): line.split("(", 1)[1] for line in out.splitlines() if "─" in line}
    assert rows["conv1"].split() == ["Conv2d)", "[1,", "6,", "28,", "28]", "156"]
    assert rows["conv2"].split() == ["Conv2d)", "[1,", "16,", "10,", "10]", "2,416"]
    assert rows["fc3"].split() == ["Linear)", "[1,", "10]", "850"]


def test_summary_options_change_the_model(capsys):
    code, out, _ = run_main(["summary", "lenet5", "--input-size", "3", "32", "32", "--num-classes", "5"], capsys)
    model = torch_lenet5(in_channels=3, num_classes=5)
    assert code == 0 and f"Total params: {sum(p.numel() for p in model.parameters()):,}" in out
    assert "(1, 3, 32, 32)" in out and "[1, 5]" in out


def test_summary_counts_buffers_apart_from_parameters(capsys):
    code, out, _ = run_main(["summary", "resnet20"], capsys)
    # CIFAR ResNet-20 (shortcut A): 0.27M parameters (He et al., table 6).
    model = ember.vision.models.resnet20()
    total = sum(p.numel() for p in model.parameters())
    assert code == 0 and 269_000 < total < 271_000 and f"Total params: {total:,}" in out
    assert "BatchNorm2d" in out and "[1, 10]" in out


def test_summary_rejects_input_size_the_model_cannot_take(capsys):
    code, _, err = run_main(["summary", "vgg11", "--input-size", "1", "28", "28"], capsys)
    assert code == 2 and "vgg11 does not take inputs of shape (1, 28, 28)" in err and "--input-size 3 32 32" in err


@pytest.mark.parametrize("argv", [["summary", "resnet1000"], ["train", "--model", "resnet1000"]])
def test_unknown_model_lists_valid_names(argv, capsys):
    code, _, err = run_main(argv, capsys)
    assert code == 2 and "resnet1000" in err
    assert all(name in err for name in MODELS)


@pytest.mark.parametrize("argv", [["train", "--dataset", "imagenet"], ["eval", "x.ember", "--dataset", "imagenet"]])
def test_unknown_dataset_lists_valid_names(argv, capsys):
    code, _, err = run_main(argv, capsys)
    assert code == 2 and "imagenet" in err
    assert all(name in err for name in DATASETS)


def test_unknown_command_and_extra_arguments_are_errors(capsys):
    assert run_main(["fly"], capsys)[0] == 2
    code, _, err = run_main(["summary", "lenet5", "--bogus"], capsys)
    assert code == 2 and "unrecognized arguments: --bogus" in err


def test_eval_missing_or_foreign_checkpoint(tmp_path, capsys):
    missing = str(tmp_path / "missing.ember")
    code, _, err = run_main(["eval", missing], capsys)
    assert code == 2 and f"checkpoint not found: {missing}" in err
    foreign = str(tmp_path / "weights.ember")
    ember.save({"weight": ember.zeros(2)}, foreign)
    code, _, err = run_main(["eval", foreign], capsys)
    assert code == 2 and "not a checkpoint written by ember train" in err


def test_train_then_eval_in_process(tmp_path, capsys):
    out_dir = str(tmp_path / "run")
    code, out, _ = run_main(["train", "--dataset", "fake", "--model", "lenet5", "--epochs", "1", "--limit", "64",
                             "--batch-size", "32", "--optimizer", "sgd", "--lr", "0.01", "--out", out_dir], capsys)
    assert code == 0 and "58 train / 6 validation (held out of the training set) / 128 test images" in out
    assert "epoch 1/1 loss=" in out and "val_loss=" in out
    test_line = next(line for line in out.splitlines() if line.startswith("test set (evaluated once, after training)"))
    checkpoint = os.path.join(out_dir, "checkpoint.ember")
    with open(os.path.join(out_dir, "curves.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"

    state = load_checkpoint(checkpoint)   # a whole Trainer state, resumable
    assert state["epoch"] == 1 and state["config"]["model"] == "lenet5"
    assert state["config"]["input_size"] == [1, 28, 28] and state["config"]["optimizer"] == "sgd"
    assert set(state["model"]) == set(ember.vision.models.lenet5().state_dict())
    assert "momentum_buffer" in str(state["optimizer"]["state"][0].keys())

    # The rebuilt model reproduces the test loss and accuracy measured after training.
    code, out, _ = run_main(["eval", checkpoint], capsys)
    assert code == 0
    assert test_line.split(": ", 1)[1].split(";")[0] in out
    assert "lenet5 on fake test set (128 images)" in out


def test_training_is_reproducible_with_a_seed(tmp_path, capsys):
    weights = []
    for name in ("a", "b"):
        argv = ["train", "--dataset", "digits", "--model", "mlp", "--epochs", "1", "--limit", "96",
                "--batch-size", "32", "--seed", "3", "--out", str(tmp_path / name)]
        assert run_main(argv, capsys)[0] == 0
        weights.append(ember.load(str(tmp_path / name / "checkpoint.ember"))["model"])
    for key in weights[0]:
        np.testing.assert_array_equal(weights[0][key].numpy(), weights[1][key].numpy())


def test_module_entry_point_runs_train_and_eval(tmp_path):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out_dir = str(tmp_path / "run")
    train = subprocess.run([sys.executable, "-m", "ember.cli", "train", "--dataset", "fake", "--model", "lenet5",
                            "--epochs", "1", "--limit", "64", "--out", out_dir],
                           capture_output=True, text=True, env=env, timeout=120)
    assert train.returncode == 0, train.stderr
    assert "checkpoint" in train.stdout and os.path.exists(os.path.join(out_dir, "curves.png"))
    evaluate = subprocess.run([sys.executable, "-m", "ember.cli", "eval", os.path.join(out_dir, "checkpoint.ember"),
                               "--dataset", "fake"], capture_output=True, text=True, env=env, timeout=120)
    assert evaluate.returncode == 0, evaluate.stderr
    assert "lenet5 on fake test set" in evaluate.stdout
    unknown = subprocess.run([sys.executable, "-m", "ember.cli", "summary", "nope"],
                             capture_output=True, text=True, env=env, timeout=120)
    assert unknown.returncode == 2 and "lenet5" in unknown.stderr


def test_console_script_is_declared():
    with open(os.path.join(REPO, "pyproject.toml")) as f:
        assert 'ember = "ember.cli.main:main"' in f.read()


def test_demo_runs(capsys):
    pytest.importorskip("sklearn")
    code, out, _ = run_main(["demo", "--epochs", "2"], capsys)
    assert code == 0 and "epoch   2/2" in out and "reloaded weights: test accuracy" in out


@pytest.mark.skipif(not os.path.exists(os.path.join(SHARED_DATA, "mnist", "train-images-idx3-ubyte.gz")),
                    reason="MNIST files not in shared/data")
def test_train_and_eval_on_mnist_raw_files(tmp_path, monkeypatch, capsys):
    """A flat folder of the published files is read as it is; eval finds the data again from
    the checkpoint, refuses another data set, and each run gets a folder of its own."""
    monkeypatch.chdir(tmp_path)
    data_dir = os.path.join(SHARED_DATA, "mnist")
    argv = ["train", "--dataset", "mnist", "--data-dir", data_dir, "--epochs", "1", "--limit", "64"]
    code, out, _ = run_main(argv, capsys)
    assert code == 0 and "58 train / 6 validation (held out of the training set) / 10000 test images" in out
    (run,) = os.listdir(tmp_path / "runs")
    assert run.startswith("lenet5-mnist-")
    checkpoint = str(tmp_path / "runs" / run / "checkpoint.ember")
    code, out, _ = run_main(["eval", checkpoint, "--limit", "500"], capsys)
    assert code == 0 and "lenet5 on mnist test set (500 images)" in out
    code, _, err = run_main(["eval", checkpoint, "--dataset", "fashion-mnist"], capsys)
    assert code == 2 and err.count("\n") == 1 and "was trained on mnist" in err and "fashion-mnist" in err


def test_a_data_folder_without_the_data_is_one_line_and_leaves_nothing(tmp_path, monkeypatch, capsys):
    """A misspelt --data-dir: a short error that says where it looked and how to point at the
    files, no traceback, and no empty folders left behind (the download fails offline here)."""
    import ember.utils.data.fetch as fetch
    monkeypatch.setattr(fetch, "download_url", _offline)
    typo = tmp_path / "dta"
    code, _, err = run_main(["train", "--data-dir", str(typo), "--limit", "8"], capsys)
    assert code == 2 and err.startswith("ember train: error: MNIST: the training split's files are not here.")
    assert f"Looked in {typo}/MNIST/raw and {typo}" in err and "--data-dir" in err and "Traceback" not in err
    assert not typo.exists()


def _offline(url, *args, **kwargs):
    raise urllib.error.URLError("no network in this test")


def test_device_that_cannot_run_is_one_line(capsys, monkeypatch):
    monkeypatch.setattr(ember.cuda, "is_available", lambda: False)
    for device in ("cuda", "gpu", "cuda:1"):
        code, _, err = run_main(["train", "--dataset", "digits", "--device", device], capsys)
        assert code == 2 and err.count("\n") == 1 and "no CUDA GPU can be used here" in err
    code, _, err = run_main(["train", "--dataset", "digits", "--device", "tpu"], capsys)
    assert code == 2 and "expected cpu, cuda, cuda:N or gpu" in err
