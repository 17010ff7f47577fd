"""The sequence examples (examples/*.py) learn: each main() runs with tiny settings on generated
data and must beat chance or the naive baseline by a margin; checkpoints load back."""
import numpy as np
import pytest

import ember
from example_modules import assert_png, load_example


@pytest.fixture(scope="module")
def text_dir(tmp_path_factory):
    """A folder with input.txt: 3,000 lines drawn from six sentences (24 characters, ln 24 = 3.18
    nats at initialisation, 2.84 for character frequencies alone), so a small character model
    gets well below that in a hundred steps."""
    sentences = ["the cat sat on the mat.", "a dog ran to the park.", "my friend reads a book.",
                 "we like warm tea.", "the sun is bright today.", "birds sing in the tree."]
    rng = np.random.default_rng(0)
    folder = tmp_path_factory.mktemp("text")
    (folder / "input.txt").write_text("\n".join(sentences[i] for i in rng.integers(len(sentences), size=3000)))
    return str(folder)


def test_sequence_classifier_learns(tmp_path):
    example = load_example("sequence_classifier")
    result = example.main(["--epochs", "4", "--train-size", "800", "--val-size", "200", "--test-size", "300",
                           "--embed-dim", "16", "--hidden-size", "32", "--lr", "1e-2", "--batch-size", "32",
                           "--out", str(tmp_path)])
    assert result["test_acc"] > 0.8, result  # chance is 0.5 (labels are balanced)
    ckpt = ember.load(str(tmp_path / "sequence_classifier.ember"))
    assert_png(tmp_path / "sequence_classifier_curves.png")
    model = example.ReviewClassifier(len(ckpt["vocab"]), 16, 32, 2, padding_idx=0)
    model.load_state_dict(ckpt["model"])


def test_sequence_classifier_data_is_deterministic_and_labelled_by_the_last_clause():
    example = load_example("sequence_classifier")
    a, b = example.make_splits((50, 10, 10), seed=3), example.make_splits((50, 10, 10), seed=3)
    assert a == b and a != example.make_splits((50, 10, 10), seed=4)
    texts = [text for split in a for text, _ in split]
    assert [len(split) for split in a] == [50, 10, 10] and len(set(texts)) == len(texts)
    rng = np.random.default_rng(0)
    reviews = [example.make_review(rng) for _ in range(2000)]
    labels = [y for _, y in reviews]
    assert 0.45 < np.mean(labels) < 0.55
    assert any(" but " in text for text, _ in reviews) and any(" not " in text for text, _ in reviews)
    # the label is the polarity of the last clause: its adjective's, flipped by "not"
    for text, y in reviews:
        last = text.split(" but ")[-1].split(" and ")[-1].split()
        positive = any(w in example.POSITIVE for w in last)
        assert y == int(positive != ("not" in last)), text


def test_time_series_beats_naive_forecast(tmp_path):
    example = load_example("time_series")
    result = example.main(["--epochs", "4", "--length", "1000", "--window", "24", "--hidden-size", "16",
                           "--batch-size", "32", "--lr", "2e-2", "--out", str(tmp_path)])
    assert result["val_mse"] < 0.5 * result["naive_mse"], result
    assert_png(tmp_path / "time_series_curves.png")
    with open(result["png"], "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"


def test_time_series_windows():
    example = load_example("time_series")
    series = np.arange(10, dtype=np.float32)
    x, y = example.windows(series, window=3, horizon=2)
    assert x.shape == (6, 3, 1) and y.shape == (6, 1)
    np.testing.assert_array_equal(x[0, :, 0], [0, 1, 2])
    np.testing.assert_array_equal(y[:, 0], [4, 5, 6, 7, 8, 9])


def test_gpt_loss_falls(text_dir, tmp_path):
    example = load_example("gpt")
    result = example.main(["--data-dir", text_dir, "--iters", "100", "--batch-size", "8", "--block-size", "32",
                           "--n-layer", "2", "--n-head", "2", "--n-embd", "32", "--lr", "1e-2", "--min-lr", "1e-3",
                           "--warmup-iters", "5", "--eval-interval", "100", "--eval-iters", "2",
                           "--max-new-tokens", "40", "--out", str(tmp_path)])
    val = result["history"]["val_loss"]
    assert val[0] > 2.5 and val[-1] < 1.5, val
    assert len(result["sample"]) == 41
    ckpt = ember.load(str(tmp_path / "gpt_shakespeare_char.ember"))
    assert_png(tmp_path / "gpt_curves.png")
    model = ember.text.GPT(ember.text.GPTConfig(**ckpt["config"]))
    model.load_state_dict(ckpt["model"])


def test_gpt_learning_rate_schedule():
    example = load_example("gpt")
    args = example.parse_args(["--iters", "100", "--warmup-iters", "10", "--lr", "1.0", "--min-lr", "0.1"])
    lrs = [example.get_lr(it, args) for it in range(101)]
    assert lrs[0] == pytest.approx(1 / 11) and lrs[9] == pytest.approx(10 / 11)
    assert lrs[10] == pytest.approx(1.0) and lrs[55] == pytest.approx(0.55) and lrs[100] == pytest.approx(0.1)
    assert all(a <= b for a, b in zip(lrs[:10], lrs[1:11])) and all(a >= b for a, b in zip(lrs[10:], lrs[11:]))


def test_char_rnn_loss_falls_and_samples(text_dir, tmp_path):
    example = load_example("char_rnn")
    result = example.main(["--data-dir", text_dir, "--iters", "60", "--batch-size", "16", "--seq-len", "32",
                           "--embed-size", "16", "--hidden-size", "64", "--lr", "1e-2", "--eval-interval", "60",
                           "--eval-iters", "2", "--sample-len", "40", "--top-k", "5", "--out", str(tmp_path)])
    val = result["history"]["val_loss"]
    assert val[0] > 2.5 and val[-1] < 1.5, val
    assert len(result["sample"]) == 41 and result["sample"][0] == "\n"
    ckpt = ember.load(str(tmp_path / "char_rnn.ember"))
    assert_png(tmp_path / "char_rnn_curves.png")
    tokenizer = ember.text.CharTokenizer(ckpt["chars"])
    model = example.CharRNN(len(tokenizer), 16, 64, 1, 0.0)
    model.load_state_dict(ckpt["model"])
    # top_k=1 always takes the most likely character: the same text whatever the seed
    ember.manual_seed(1)
    greedy = example.sample(model, tokenizer, 30, prime="the ", top_k=1)
    ember.manual_seed(2)
    assert example.sample(model, tokenizer, 30, prime="the ", top_k=1) == greedy
    assert greedy.startswith("the ") and len(greedy) == 34
