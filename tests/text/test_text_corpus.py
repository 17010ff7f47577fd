"""Corpus (pytorch/examples' word_language_model data.py) and CharCorpus (nanoGPT's char split)."""
import os

import numpy as np
import pytest
from shared_data import SHARED_DATA

import ember
from ember.text import CharCorpus, Corpus, Dictionary

torch = pytest.importorskip("torch")

PTB = os.path.join(SHARED_DATA, "ptb")
SHAKESPEARE = os.path.join(SHARED_DATA, "tinyshakespeare")
needs_ptb = pytest.mark.skipif(not os.path.exists(os.path.join(PTB, "ptb.train.txt")), reason="PTB not in shared/data")
needs_shakespeare = pytest.mark.skipif(not os.path.exists(os.path.join(SHAKESPEARE, "input.txt")),
                                       reason="tiny-shakespeare not in shared/data")


class ReferenceCorpus:
    """pytorch/examples' word_language_model data.py, as it defines Dictionary and Corpus."""

    def __init__(self, train, valid, test):
        self.word2idx, self.idx2word = {}, []
        self.train, self.valid, self.test = self.tokenize(train), self.tokenize(valid), self.tokenize(test)

    def add_word(self, word):
        if word not in self.word2idx:
            self.idx2word.append(word)
            self.word2idx[word] = len(self.idx2word) - 1
        return self.word2idx[word]

    def tokenize(self, path):
        assert os.path.exists(path)
        with open(path, "r", encoding="utf8") as f:
            for line in f:
                for word in line.split() + ["<eos>"]:
                    self.add_word(word)
        with open(path, "r", encoding="utf8") as f:
            idss = []
            for line in f:
                ids = [self.word2idx[word] for word in line.split() + ["<eos>"]]
                idss.append(torch.tensor(ids).type(torch.int64))
        return torch.cat(idss)


def assert_same_corpus(corpus, ref):
    assert corpus.dictionary.idx2word == ref.idx2word
    assert corpus.dictionary.word2idx == ref.word2idx
    for name in ("train", "valid", "test"):
        ours = getattr(corpus, name)
        assert ours.dtype == ember.int64 and ours.dim() == 1
        np.testing.assert_array_equal(ours.numpy(), getattr(ref, name).numpy(), err_msg=name)


@pytest.fixture(scope="module")
def ptb():
    return Corpus(PTB)


@needs_ptb
def test_ptb_counts(ptb):
    assert len(ptb.dictionary) == 10000
    assert "<eos>" in ptb.dictionary.word2idx
    train = ptb.train.numpy()
    assert len(train) == 929589
    assert int((train == ptb.dictionary.word2idx["<eos>"]).sum()) == 42068  # one per line
    assert len(ptb.valid) == 70390 + 3370 and len(ptb.test) == 78669 + 3761
    assert repr(ptb) == "Corpus(vocabulary=10000, train=929589, valid=73760, test=82430)"


@needs_ptb
def test_ptb_matches_the_reference_data_py(ptb):
    ref = ReferenceCorpus(*(os.path.join(PTB, f"ptb.{s}.txt") for s in ("train", "valid", "test")))
    assert_same_corpus(ptb, ref)


def write_folder(folder, names, texts):
    folder.mkdir()
    for name, text in zip(names, texts):
        (folder / name).write_text(text, encoding="utf8")
    return folder


TEXTS = ["the cat sat\n on  the mat \n\nthe end\n", "a new cat\n", "the dog\nwithout newline at the end"]


@pytest.mark.parametrize("names", [("train.txt", "valid.txt", "test.txt"),
                                   ("ptb.train.txt", "ptb.valid.txt", "ptb.test.txt")])
def test_small_folder_matches_the_reference_data_py(tmp_path, names):
    folder = write_folder(tmp_path / "data", names, TEXTS)
    corpus = Corpus(str(folder))
    assert_same_corpus(corpus, ReferenceCorpus(*(os.path.join(folder, n) for n in names)))
    words = corpus.dictionary.idx2word
    assert words[:6] == ["the", "cat", "sat", "<eos>", "on", "mat"]
    # blank lines give a lone <eos>; the last line gets one without a trailing newline
    assert [words[i] for i in corpus.train.tolist()] == \
        ["the", "cat", "sat", "<eos>", "on", "the", "mat", "<eos>", "<eos>", "the", "end", "<eos>"]
    assert [words[i] for i in corpus.test.tolist()][-2:] == ["end", "<eos>"]


def test_corpus_accepts_path_objects_and_reports_missing_files(tmp_path):
    folder = write_folder(tmp_path / "data", ("train.txt", "valid.txt", "test.txt"), TEXTS)
    assert len(Corpus(folder).dictionary) == len(Corpus(str(folder)).dictionary)
    with pytest.raises(FileNotFoundError, match="holds neither train.txt"):
        Corpus(tmp_path / "nowhere")
    os.remove(folder / "test.txt")
    with pytest.raises(FileNotFoundError, match="test.txt"):
        Corpus(folder)


def test_dictionary():
    d = Dictionary()
    assert [d.add_word(w) for w in ["b", "a", "b", "c"]] == [0, 1, 0, 2]
    assert d.idx2word == ["b", "a", "c"] and d.word2idx == {"b": 0, "a": 1, "c": 2}
    assert len(d) == 3


def test_char_corpus_split_and_round_trip():
    text = "hello wörld 👋\nsecond line\n" * 10
    c = CharCorpus(text)
    assert c.vocab_size == len(set(text))
    assert c.tokenizer.itos == sorted(set(text))
    n = int(len(text) * 0.9)
    assert len(c.train) == n and len(c.val) == len(text) - n
    assert c.train.dtype == ember.int64 and c.val.dtype == ember.int64
    assert c.tokenizer.decode(c.train) + c.tokenizer.decode(c.val) == text
    assert len(CharCorpus(text, train_fraction=0.5).train) == len(text) // 2
    with pytest.raises(ValueError, match="train_fraction"):
        CharCorpus(text, train_fraction=1.5)


def test_char_corpus_get_batch_follows_its_definition():
    text = "".join(chr(ord("a") + i % 26) for i in range(500))
    c = CharCorpus(text)
    g = ember.Generator().manual_seed(3)
    x, y = c.get_batch("train", 6, 8, generator=g)
    starts = ember.randint(len(c.train) - 8, (6,), generator=ember.Generator().manual_seed(3)).tolist()
    data = c.train.numpy()
    assert x.shape == (6, 8) and y.shape == (6, 8) and x.dtype == ember.int64
    for row, s in enumerate(starts):
        np.testing.assert_array_equal(x[row].numpy(), data[s:s + 8])
        np.testing.assert_array_equal(y[row].numpy(), data[s + 1:s + 9])
    xv, yv = c.get_batch("val", 2, 4)
    assert xv.shape == (2, 4)
    np.testing.assert_array_equal(xv[:, 1:].numpy(), yv[:, :-1].numpy())
    with pytest.raises(ValueError, match="'train' or 'val'"):
        c.get_batch("test", 2, 4)
    with pytest.raises(ValueError, match="block_size=50 needs more than 50 tokens"):
        c.get_batch("val", 2, 50)


@needs_shakespeare
def test_tiny_shakespeare_char_corpus():
    with open(os.path.join(SHAKESPEARE, "input.txt"), encoding="utf-8") as fh:
        text = fh.read()
    c = CharCorpus(text)
    assert c.vocab_size == 65
    assert len(c.train) + len(c.val) == 1115394
    assert len(c.train) == int(1115394 * 0.9)
    assert c.tokenizer.decode(c.train[:14]) == "First Citizen:"
    x, y = c.get_batch("train", 4, 16)
    np.testing.assert_array_equal(x[:, 1:].numpy(), y[:, :-1].numpy())
