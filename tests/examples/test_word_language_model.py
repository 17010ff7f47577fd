"""examples/word_language_model.py: its models equal PyTorch's (state-dict keys, initial weights,
outputs), a training run follows PyTorch's loss for loss, and a short run learns."""
import os
import sys

import numpy as np
import pytest

import ember
from shared_data import SHARED_DATA

torch = pytest.importorskip("torch")

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
import word_language_model as wlm  # noqa: E402

PTB = os.path.join(SHARED_DATA, "ptb")
HAVE_PTB = os.path.exists(os.path.join(PTB, "ptb.train.txt"))
RNN_TYPES = ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"]
SMALL = ["--emsize", "16", "--nhid", "16", "--nlayers", "2", "--nhead", "2"]


def _args(*extra: str):
    return wlm.parse_args([*SMALL, *extra])


def _state(model) -> dict:
    return {k: np.asarray(v.detach().cpu().numpy()) for k, v in model.state_dict().items()}


def _synthetic_lines(words: int, vocab: int, seed: int) -> list[str]:
    """Lines of 20 words walking a sparse random bigram chain (3 successors per word): a corpus
    with structure to learn, its cross-entropy floor ln 3 ~ 1.1 against ln(vocab) for guessing."""
    rng = np.random.RandomState(seed)
    successors = rng.randint(0, vocab, (vocab, 3))
    ids, word = [], 0
    for _ in range(words):
        word = successors[word, rng.randint(3)]
        ids.append(word)
    return [" ".join(f"w{i}" for i in ids[k:k + 20]) + "\n" for k in range(0, len(ids), 20)]


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory):
    """The first ~44k words of Penn Treebank's training text (~5k distinct) with 200 lines of
    its valid and test texts, or, where the shared data is absent, a synthetic corpus of the
    same length over 50 words."""
    folder = tmp_path_factory.mktemp("lm_corpus")
    if HAVE_PTB:
        for split, count in (("train", 2000), ("valid", 200), ("test", 200)):
            with open(os.path.join(PTB, f"ptb.{split}.txt"), encoding="utf8") as fh:
                lines = [next(fh) for _ in range(count)]
            (folder / f"{split}.txt").write_text("".join(lines), encoding="utf8")
    else:
        lines = _synthetic_lines(50000, 50, 0)
        for split, part in (("train", lines[:2100]), ("valid", lines[2100:2300]), ("test", lines[2300:])):
            (folder / f"{split}.txt").write_text("".join(part), encoding="utf8")
    return str(folder)


@pytest.fixture
def torch_one_thread():
    """PyTorch on one thread for these tiny models: on a loaded 2-core machine its thread pool's
    waits cost seconds per step."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("model_type, tied", [(m, False) for m in RNN_TYPES + ["Transformer"]]
                         + [(m, True) for m in RNN_TYPES])
def test_same_state_dict_and_initial_weights_as_torch(model_type, tied):
    flags = ["--model", model_type] + (["--tied"] if tied else [])
    e_model = wlm.build_model(ember, _args(*flags, "--framework", "ember"), 50)
    t_model = wlm.build_model(torch, _args(*flags, "--framework", "torch"), 50)
    e, t = _state(e_model), _state(t_model)
    assert list(e) == list(t)
    params = [name for name, _ in t_model.named_parameters()]
    assert [name for name, _ in e_model.named_parameters()] == params
    for key in t:
        assert e[key].shape == t[key].shape, key
        if key in params:  # drawn from the same RandomState
            np.testing.assert_array_equal(e[key], t[key], err_msg=key)
        else:  # buffers each framework computes (the positional encoding)
            np.testing.assert_allclose(e[key], t[key], atol=1e-5, rtol=0, err_msg=key)


def test_tied_weights_share_one_parameter():
    model = wlm.build_model(ember, _args("--tied"), 50)
    assert model.decoder.weight is model.encoder.weight
    assert len(list(model.parameters())) == len(model.state_dict()) - 1


def test_tied_needs_equal_sizes():
    with pytest.raises(ValueError, match="nhid must be equal to emsize"):
        wlm.build_model(ember, wlm.parse_args(["--tied", "--emsize", "16", "--nhid", "8"]), 50)


def test_unknown_rnn_type_is_refused():
    RNNModel, _ = wlm.model_classes(ember)
    with pytest.raises(ValueError, match="'LSTMX'.*options are"):
        RNNModel("LSTMX", 50, 16, 16, 2)


@pytest.mark.parametrize("model_type", RNN_TYPES + ["Transformer"])
def test_forward_matches_torch(model_type):
    """Same weights, same tokens, evaluation mode: the same log-probabilities and final states."""
    models = {lib: wlm.build_model(lib, _args("--model", model_type), 50).eval() for lib in (ember, torch)}
    tokens = np.random.RandomState(0).randint(0, 50, (7, 3))
    outs = {}
    for lib, model in models.items():
        x = lib.tensor(tokens)
        outs[lib] = model(x) if model_type == "Transformer" else model(x, model.init_hidden(3))
    e, t = outs[ember], outs[torch]
    if model_type == "Transformer":
        assert tuple(e.shape) == (7, 3, 50)
        e, t = (e,), (t,)
    else:
        assert tuple(e[0].shape) == (21, 50)
        e = (e[0], *e[1]) if model_type == "LSTM" else e
        t = (t[0], *t[1]) if model_type == "LSTM" else t
    for a, b in zip(e, t):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-5, rtol=1e-4)


def _annealed(val_losses: list[float], lr: float) -> list[float]:
    """pytorch/examples' schedule: each epoch's lr, divided by 4 after an epoch whose validation
    loss is no better than the best before it."""
    lrs, best = [], None
    for loss in val_losses:
        lrs.append(lr)
        if best is None or loss < best:
            best = loss
        else:
            lr /= 4.0
    return lrs


@pytest.mark.parametrize("model_type", ["LSTM", "Transformer"])
def test_training_without_dropout_follows_torch(model_type, corpus_dir, tmp_path, torch_one_thread):
    """The whole script (batching, NLL loss, clipping, SGD updates, validation, the learning-rate
    schedule, the saved best model and its test loss) without dropout, so the two runs differ
    only by rounding. The Transformer's rounding differences (gradients agree to 1e-6) grow
    over its steps at learning rate 20 to ~1e-4 relative after a dozen; the LSTM's stay near
    1e-7."""
    common = ["--data", corpus_dir, "--model", model_type, *SMALL, "--dropout", "0", "--epochs", "4",
              "--max-batches", "3", "--log-interval", "2"]
    e = wlm.main([*common, "--framework", "ember", "--save", str(tmp_path / "e.pt")])
    t = wlm.main([*common, "--framework", "torch", "--save", str(tmp_path / "t.pt")])
    rtol = 1e-5 if model_type == "LSTM" else 1e-3
    for key in ("train_loss", "val_loss"):
        np.testing.assert_allclose(e[key], t[key], rtol=rtol, err_msg=key)
    assert e["test_loss"] == pytest.approx(t["test_loss"], rel=rtol)
    assert e["lr"] == t["lr"] == _annealed(e["val_loss"], 20.0)
    saved = ember.load(str(tmp_path / "e.pt"))
    assert list(saved) == list(torch.load(str(tmp_path / "t.pt")))


def test_learning_rate_is_cut_when_validation_stops_improving(corpus_dir, tmp_path):
    """At learning rate 100 the short epochs overshoot, the validation loss gets worse, and the
    learning rate is divided by 4 for the next epoch."""
    history = wlm.main(["--data", corpus_dir, *SMALL, "--dropout", "0", "--epochs", "4", "--max-batches", "3",
                        "--lr", "100", "--log-interval", "1000", "--save", str(tmp_path / "m.pt")])
    assert history["lr"] == _annealed(history["val_loss"], 100.0)
    assert min(history["lr"]) < 100.0
    assert (tmp_path / "m_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"  # beside the checkpoint


def test_default_checkpoint_goes_under_runs(corpus_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = wlm.parse_args(["--data-dir", corpus_dir, "--batch-size", "4"])
    assert args.data == corpus_dir and args.batch_size == 4
    assert args.save == os.path.join("runs", "word_language_model", "model_ember.pt")


def test_short_lstm_run_learns(corpus_dir, tmp_path):
    """A 2-layer LSTM (emsize and nhid 32, the script's other defaults) trained for two epochs of
    63 batches: from ln(vocabulary) (8.6 on the Penn Treebank slice, 3.8 on the synthetic
    corpus), the mean training loss of the second epoch falls below 7.0 (3.2) and the
    validation loss below 7.0 (2.6)."""
    history = wlm.main(["--data", corpus_dir, "--model", "LSTM", "--emsize", "32", "--nhid", "32",
                        "--epochs", "2", "--log-interval", "1000", "--save", str(tmp_path / "m.pt")])
    train_bound, val_bound = (7.0, 7.0) if HAVE_PTB else (3.2, 2.6)
    assert history["train_loss"][-1] < train_bound
    assert history["val_loss"][-1] < val_bound
