"""Vocab: building (frequency order, ties, min_freq, max_tokens, specials), lookups, edits, files."""
import collections
import json
import os

import pytest

from ember.text import Vocab, build_vocab_from_iterator
from ember.text import _files
from ember.text.vocab import vocab as vocab_from_dict

LINES = [["b", "a", "c", "a"], ["d", "c", "b", "a"], ["e", "<unk>"]]
# counts: a 3, b 2, c 2, d 1, e 1, <unk> 1; b appears before c, d before e.


def test_frequency_order_with_first_appearance_ties():
    v = build_vocab_from_iterator(LINES)
    assert v.get_itos() == ["a", "b", "c", "d", "e", "<unk>"]
    assert v.get_stoi() == {t: i for i, t in enumerate(["a", "b", "c", "d", "e", "<unk>"])}


def test_counter_input_orders_like_the_iterator():
    counter = collections.Counter()
    for line in LINES:
        counter.update(line)
    assert build_vocab_from_iterator(counter) == build_vocab_from_iterator(LINES)
    # a plain mapping's iteration order breaks ties
    assert build_vocab_from_iterator({"x": 1, "y": 2, "z": 1}).get_itos() == ["y", "x", "z"]


@pytest.mark.parametrize("special_first", [True, False])
def test_specials_are_placed_once_whatever_their_frequency(special_first):
    v = build_vocab_from_iterator(LINES, specials=["<unk>", "<pad>"], special_first=special_first)
    rest = ["a", "b", "c", "d", "e"]
    assert v.get_itos() == (["<unk>", "<pad>"] + rest if special_first else rest + ["<unk>", "<pad>"])


def test_min_freq_and_max_tokens():
    assert build_vocab_from_iterator(LINES, min_freq=2).get_itos() == ["a", "b", "c"]
    assert build_vocab_from_iterator(LINES, min_freq=2, specials=["<unk>"]).get_itos() == ["<unk>", "a", "b", "c"]
    v = build_vocab_from_iterator(LINES, specials=["<unk>", "<pad>"], max_tokens=4)
    assert v.get_itos() == ["<unk>", "<pad>", "a", "b"]
    assert len(build_vocab_from_iterator(LINES, max_tokens=100)) == 6
    with pytest.raises(ValueError, match="max_tokens=2 leaves no room"):
        build_vocab_from_iterator(LINES, specials=["<unk>", "<pad>"], max_tokens=2)
    with pytest.raises(ValueError, match="min_freq must be at least 1"):
        build_vocab_from_iterator(LINES, min_freq=0)


def test_vocab_from_ordered_dict_keeps_its_order():
    v = vocab_from_dict(collections.OrderedDict([("z", 1), ("y", 5), ("x", 2)]), min_freq=2, specials=["<unk>"])
    assert v.get_itos() == ["<unk>", "y", "x"]


def test_lookups():
    v = build_vocab_from_iterator(LINES, specials=["<pad>"])
    assert len(v) == 7
    assert v["a"] == 1 and v["<pad>"] == 0
    assert "a" in v and "zzz" not in v
    assert v.lookup_token(2) == "b"
    assert v.lookup_tokens([3, 1]) == ["c", "a"]
    assert v.lookup_indices(["e", "a"]) == [5, 1]
    assert v(["e", "a"]) == [5, 1]
    with pytest.raises(RuntimeError, match="index 7 is out of bounds"):
        v.lookup_token(7)
    with pytest.raises(RuntimeError, match="index -1 is out of bounds"):
        v.lookup_token(-1)


def test_get_itos_and_get_stoi_are_copies():
    v = build_vocab_from_iterator(LINES)
    v.get_itos().append("new")
    v.get_stoi()["new"] = 99
    assert "new" not in v and len(v) == 6


def test_unknown_tokens():
    v = build_vocab_from_iterator(LINES, specials=["<unk>"])
    with pytest.raises(KeyError, match=r"'zzz' is not in the vocabulary.*set_default_index"):
        v["zzz"]
    with pytest.raises(KeyError, match="zzz"):
        v.lookup_indices(["a", "zzz"])
    assert v.get_default_index() is None
    v.set_default_index(v["<unk>"])
    assert v.get_default_index() == 0
    assert v["zzz"] == 0 and v(["a", "zzz"]) == [v["a"], 0]
    assert "zzz" not in v  # a default does not add the token
    v.set_default_index(None)
    with pytest.raises(KeyError):
        v["zzz"]
    with pytest.raises(TypeError, match="int or None"):
        v.set_default_index("0")


def test_append_and_insert_token():
    v = Vocab(["a", "b", "c"])
    v.append_token("d")
    assert v.get_itos() == ["a", "b", "c", "d"] and v["d"] == 3
    v.insert_token("x", 1)
    assert v.get_itos() == ["a", "x", "b", "c", "d"]
    assert [v[t] for t in "axbcd"] == [0, 1, 2, 3, 4]
    v.insert_token("first", 0)
    v.insert_token("last", len(v))
    assert v.get_itos() == ["first", "a", "x", "b", "c", "d", "last"]
    assert v.get_stoi() == {t: i for i, t in enumerate(v.get_itos())}
    with pytest.raises(RuntimeError, match="'a' already exists in the Vocab with index: 1"):
        v.append_token("a")
    with pytest.raises(RuntimeError, match="out of bounds"):
        v.insert_token("y", 9)
    with pytest.raises(TypeError, match="must be str"):
        v.append_token(3)
    with pytest.raises(RuntimeError, match="already exists"):
        Vocab(["a", "a"])


def test_save_and_load_round_trip(tmp_path):
    v = build_vocab_from_iterator([["héllo", "wörld", "👋", "a b", "\n"]], specials=["<unk>", "<pad>"])
    v.set_default_index(0)
    path = tmp_path / "vocab.json"
    v.save(path)
    w = Vocab.load(path)
    assert w == v and w.get_itos() == v.get_itos() and w.get_default_index() == 0
    assert w["never seen"] == 0
    assert json.loads(path.read_text(encoding="utf-8"))["format"] == "ember.text.Vocab"
    assert os.listdir(tmp_path) == ["vocab.json"]  # no temporary file left behind
    v.set_default_index(None)
    v.save(str(path))  # overwrite
    assert Vocab.load(str(path)).get_default_index() is None


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "vocab.json"
    Vocab(["old"]).save(path)
    before = path.read_bytes()

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(_files.json, "dumps", fail)
    with pytest.raises(OSError, match="disk full"):
        Vocab(["new"]).save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["vocab.json"]


def test_load_rejects_other_files(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(ValueError, match="is not a saved ember.text.Vocab"):
        Vocab.load(path)
