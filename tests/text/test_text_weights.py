"""The character GPT ember trained on tiny-shakespeare and ships (float16 safetensors): the
weights= API (enum, DEFAULT, meta, transforms() = its tokenizer), loading (float32 model, tied
output layer, hash-checked, no code run), its stated validation loss on the real text and
generation through the tokenizer."""
import os
import pickle

import numpy as np
import pytest

import ember
from ember.text import GPT, CharGPT_Weights, CharTokenizer, char_gpt
from ember.vision.models import LeNet5_Weights
from shared_data import SHARED_DATA

SHAKESPEARE = os.path.join(SHARED_DATA, "tinyshakespeare", "input.txt")
W = CharGPT_Weights.TINY_SHAKESPEARE


pytestmark = pytest.mark.usefixtures("hub_cache")  # tests/conftest.py


def test_enum_default_meta_and_tokenizer():
    assert CharGPT_Weights.DEFAULT is W and CharGPT_Weights.verify("TINY_SHAKESPEARE") is W
    assert CharGPT_Weights.verify("CharGPT_Weights.TINY_SHAKESPEARE") is W
    tok = W.transforms()
    assert isinstance(tok, CharTokenizer) and "".join(tok.itos) == W.meta["vocab"]
    assert len(W.meta["vocab"]) == W.meta["config"]["vocab_size"]
    assert tok.decode(tok.encode("ROMEO:\nO, she doth teach the torches!")) == "ROMEO:\nO, she doth teach the torches!"
    assert {"config", "num_params", "recipe", "_metrics", "_docs"} <= set(W.meta)
    assert "--save" in W.meta["recipe"] and "examples/gpt.py" in W.meta["recipe"]
    with pytest.raises(TypeError, match="expected CharGPT_Weights"):
        char_gpt(weights=LeNet5_Weights.MNIST)


def test_loads_float16_file_into_a_float32_model_with_tied_output_layer():
    model = char_gpt(weights=W)
    assert isinstance(model, GPT) and model.config.__dict__ == W.meta["config"]
    assert model.lm_head.weight is model.transformer.wte.weight
    assert {p.dtype for p in model.parameters()} == {ember.float32}
    assert sum(p.numel() for p in model.parameters()) == W.meta["num_params"]
    stored = ember.io.load_safetensors(W.url.removeprefix("file://"))
    assert {v.dtype for v in stored.values()} == {ember.float16}
    for k, v in stored.items():
        np.testing.assert_array_equal(model.state_dict()[k].numpy(), v.numpy().astype(np.float32))
    by_name = char_gpt(weights="TINY_SHAKESPEARE", dropout=0.1)  # dropout changes no shape
    assert by_name.config.dropout == 0.1
    np.testing.assert_array_equal(by_name.lm_head.weight.detach().numpy(), model.lm_head.weight.detach().numpy())


def test_overrides_that_change_a_shape_are_refused():
    with pytest.raises(ValueError, match="char_gpt: the parameter 'n_embd' expected value"):
        char_gpt(weights=W, n_embd=128)
    assert char_gpt(n_embd=32, n_head=2).config.n_embd == 32  # without weights any shape goes


def test_loading_never_unpickles(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the shipped checkpoint went through pickle")

    for name in ("Unpickler", "load", "loads"):
        monkeypatch.setattr(pickle, name, refuse)
    monkeypatch.setattr(ember.hub, "_load", refuse)
    assert char_gpt(weights=W).lm_head.weight.shape == (W.meta["config"]["vocab_size"], W.meta["config"]["n_embd"])


def test_tampered_copy_is_refused(tmp_path):
    source = W.url.removeprefix("file://")
    assert os.path.getsize(source) < 1_000_000
    assert W.meta["_file_size"] == pytest.approx(os.path.getsize(source) / 1e6, abs=0.001)
    tampered = tmp_path / "src" / os.path.basename(source)
    tampered.parent.mkdir()
    data = bytearray(open(source, "rb").read())
    data[-1] ^= 1
    tampered.write_bytes(bytes(data))
    with pytest.raises(RuntimeError, match="invalid hash value"):
        ember.hub.load_state_dict_from_url(tampered.as_uri(), model_dir=str(tmp_path / "cache"), check_hash=True)


def test_generates_text_through_the_tokenizer():
    tok = W.transforms()
    model = char_gpt(weights=W).eval()
    ember.manual_seed(0)
    with ember.no_grad():
        ids = model.generate(ember.tensor([tok.encode("ROMEO:")]), max_new_tokens=80, temperature=0.8)
    text = tok.decode(ids[0])
    assert text.startswith("ROMEO:") and len(text) == 86 and set(text) <= set(W.meta["vocab"])
    ember.manual_seed(0)
    with ember.no_grad():
        again = model.generate(ember.tensor([tok.encode("ROMEO:")]), max_new_tokens=80, temperature=0.8)
    assert tok.decode(again[0]) == text


@pytest.mark.skipif(not os.path.exists(SHAKESPEARE), reason="tiny-shakespeare not in shared/data")
def test_stated_validation_loss_on_tiny_shakespeare():
    torch = pytest.importorskip("torch")
    with open(SHAKESPEARE, encoding="utf-8") as fh:
        text = fh.read()
    tok = W.transforms()
    ids = np.array(tok.encode(text[int(0.9 * len(text)):]), dtype=np.int64)  # the last 10%: validation
    block = W.meta["config"]["block_size"]
    n = (len(ids) - 1) // block
    x, y = ids[:n * block].reshape(n, block), ids[1:n * block + 1].reshape(n, block)
    model = char_gpt(weights=W).eval()
    total = 0.0
    with ember.no_grad():
        for i in range(0, n, 256):
            logits, _ = model(ember.tensor(x[i:i + 256]), ember.tensor(y[i:i + 256]))  # targets: all positions
            total += torch.nn.functional.cross_entropy(torch.from_numpy(logits.numpy()).flatten(0, 1),
                                                       torch.from_numpy(y[i:i + 256]).flatten(),
                                                       reduction="sum").item()
    loss = total / (n * block)
    assert loss == pytest.approx(W.meta["_metrics"]["tiny-shakespeare"]["val_loss"], abs=1e-3)


def test_example_save_writes_float16_tied_weights_char_gpt_can_load(tmp_path):
    import importlib.util
    root = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "gpt.py")
    spec = importlib.util.spec_from_file_location("example_gpt_save", root)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    (tmp_path / "input.txt").write_text("to be or not to be, that is the question.\n" * 200)
    path = tmp_path / "w.safetensors"
    result = example.main(["--data-dir", str(tmp_path), "--iters", "20", "--batch-size", "8", "--block-size", "16",
                           "--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--eval-interval", "20",
                           "--eval-iters", "2", "--max-new-tokens", "5", "--out", str(tmp_path), "--save", str(path)])
    stored = ember.io.load_safetensors(path)
    assert {v.dtype for v in stored.values()} == {ember.float16}
    assert stored["lm_head.weight"] is stored["transformer.wte.weight"]  # written once, tied on reading
    config = dict(block_size=16, vocab_size=len(set("to be or not to be, that is the question.\n")), n_layer=1,
                  n_head=2, n_embd=16, dropout=0.0, bias=False)
    model = char_gpt(**config)
    model.load_state_dict(stored)
    assert model.lm_head.weight is model.transformer.wte.weight and model.lm_head.weight.dtype == ember.float32
    # the printed whole-split figure is the trained float32 model's; the stored float16 copy is within rounding
    assert example.full_val_loss(model, ember.text.CharCorpus((tmp_path / "input.txt").read_text()), 16) == \
        pytest.approx(result["val_loss"], abs=1e-2)
