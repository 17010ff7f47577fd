"""Byte-level BPE: training against a direct (recount-everything) implementation, rank-order
encoding, lossless round trips of any text, special tokens, files and speed."""
import collections
import json
import os
import random
import re
import time

import pytest
from shared_data import SHARED_DATA
from hypothesis import given, settings
from hypothesis import strategies as st

import ember
from ember.text import GPT2_PATTERN, BPETokenizer

SHAKESPEARE = os.path.join(SHARED_DATA, "tinyshakespeare", "input.txt")

ENGLISH = """The quick brown fox jumps over the lazy dog. The dog was not amused, and the fox
ran into the forest where the other foxes were waiting. They talked about the weather, the
river and the farmer's hens, which they thought were the finest hens in the whole country.
In the morning the farmer counted his hens again and found that three of them were missing.
He searched the barn, the field and the forest, but he did not find the hens or the foxes.
"Where are they?" he asked his neighbour, who only shrugged and went back to his work.
Numbers like 1234 and 56.78 appear too, as do tabs\tand  double  spaces and newlines.
""" * 3

HARD_TEXTS = ["", " ", "a", "héllo wörld", "naïve café — déjà vu", "emoji 👋🏽👨‍👩‍👧 ok 🎉🎉",
              "日本語のテキストと中文", "line one\nline two\r\n\ttabbed\n\n\n", "e\u0301\u0301 combining",
              "null\x00byte \x7f\x80", "mixed123numbers456 and_underscores__", "   leading and trailing   ",
              "The quick brown fox, don't you'll we've I'm they'd it's."]


def gpt2_byte_alphabet():
    """Byte -> character: printable Latin-1 bytes stand for themselves, the rest count up from U+0100."""
    keep = [*range(33, 127), *range(161, 173), *range(174, 256)]
    others = [b for b in range(256) if b not in keep]
    return {**{b: chr(b) for b in keep}, **{b: chr(256 + k) for k, b in enumerate(others)}}


ALPHABET = gpt2_byte_alphabet()
CHAR_BYTE = {c: b for b, c in ALPHABET.items()}


def token_bytes(token):
    return bytes(CHAR_BYTE[c] for c in token)


def byte_merges(tok):
    """The tokenizer's merges as pairs of bytes."""
    return [(token_bytes(a), token_bytes(b)) for a, b in tok.merges]


def pieces(text, specials=()):
    if specials:
        text = re.sub("|".join(map(re.escape, specials)), "\x00SPLIT\x00", text)
        return [p for part in text.split("\x00SPLIT\x00") for p in re.findall(GPT2_PATTERN, part)]
    return re.findall(GPT2_PATTERN, text)


def merge_once(word, pair, new):
    out, i = [], 0
    while i < len(word):
        if i + 1 < len(word) and (word[i], word[i + 1]) == pair:
            out.append(new)
            i += 2
        else:
            out.append(word[i])
            i += 1
    return tuple(out)


def reference_train(text, vocab_size, min_frequency, specials=()):
    """BPE training by recounting every pair at every step; ties go to the smaller pair of ids."""
    words = collections.Counter(tuple(p.encode("utf-8")) for p in pieces(text, specials))
    id_bytes = [bytes([b]) for b in range(256)] + [b""] * len(specials)
    merges = []
    while len(id_bytes) < vocab_size:
        counts = collections.Counter()
        for w, c in words.items():
            for pair in zip(w, w[1:]):
                counts[pair] += c
        if not counts:
            break
        best = min(counts, key=lambda p: (-counts[p], p))
        if counts[best] < min_frequency:
            break
        merged = id_bytes[best[0]] + id_bytes[best[1]]
        if merged in id_bytes:
            new = id_bytes.index(merged)
        else:
            new = len(id_bytes)
            id_bytes.append(merged)
        merges.append((id_bytes[best[0]], id_bytes[best[1]]))
        words = collections.Counter({merge_once(w, best, new): c for w, c in words.items()})
    return merges


def reference_encode(tok, text):
    """Apply the merges one after another in rank order to every piece of ``text``."""
    vocab = tok.get_vocab()
    out = []
    for piece in pieces(text):
        word = tuple(vocab[ALPHABET[b]] for b in piece.encode("utf-8"))
        for left, right in tok.merges:
            word = merge_once(word, (vocab[left], vocab[right]), vocab[left + right])
        out.extend(word)
    return out


@pytest.fixture(scope="module")
def english_tok():
    return BPETokenizer.train(ENGLISH, vocab_size=400, min_frequency=2)


@pytest.mark.parametrize("vocab_size, min_frequency", [(330, 2), (400, 1), (600, 4)])
def test_training_matches_the_direct_definition(vocab_size, min_frequency):
    tok = BPETokenizer.train(ENGLISH, vocab_size=vocab_size, min_frequency=min_frequency)
    expected = reference_train(ENGLISH, vocab_size, min_frequency)
    assert byte_merges(tok) == expected
    assert len(expected) > 50
    if min_frequency == 4:
        assert tok.vocab_size < vocab_size  # stopped early: no pair occurs 4 times any more
    else:
        assert tok.vocab_size == vocab_size


def test_training_with_repeated_characters_matches_the_direct_definition():
    text = "aaaa aaa aa a " * 5 + "abab ababab aab " * 3 + "x" * 9
    tok = BPETokenizer.train(text, vocab_size=300, min_frequency=1)
    assert byte_merges(tok) == reference_train(text, 300, 1)


def test_encoding_applies_merges_in_rank_order(english_tok):
    for text in [ENGLISH, "The farmers counted the foxes in the forests.", *HARD_TEXTS]:
        assert english_tok.encode(text) == reference_encode(english_tok, text), text


def test_training_is_deterministic():
    lines = ENGLISH.splitlines(keepends=True)
    a = BPETokenizer.train(lines, vocab_size=350)
    b = BPETokenizer.train(lines, vocab_size=350)
    random.Random(0).shuffle(lines)
    c = BPETokenizer.train(lines, vocab_size=350)  # counts do not depend on order
    assert a.merges == b.merges == c.merges
    assert a.get_vocab() == c.get_vocab()


def test_fewer_tokens_than_bytes_on_english(english_tok):
    held_out = "The farmer and his neighbour searched the forest for the missing hens and the foxes."
    assert len(english_tok.encode(held_out)) < 0.6 * len(held_out.encode("utf-8"))
    assert len(english_tok.encode(ENGLISH)) < 0.4 * len(ENGLISH.encode("utf-8"))


def test_untrained_tokenizer_is_one_token_per_byte():
    assert BPETokenizer().get_vocab() == {c: b for b, c in ALPHABET.items()}
    assert BPETokenizer().vocab_size == 256 and BPETokenizer().merges == []


@pytest.mark.parametrize("text", HARD_TEXTS)
def test_round_trip(english_tok, text):
    assert english_tok.decode(english_tok.encode(text)) == text
    assert BPETokenizer().encode(text) == list(text.encode("utf-8"))  # no merges: one id per byte


@settings(max_examples=150, deadline=None)
@given(st.text())
def test_round_trip_any_text(english_tok, text):
    assert "".join(re.findall(GPT2_PATTERN, text)) == text  # pre-tokenization loses nothing
    ids = english_tok.encode(text)
    assert english_tok.decode(ids) == text
    assert english_tok.decode(ember.tensor(ids, dtype=ember.int64)) == text


def test_pre_tokenization_is_gpt2_like():
    assert re.findall(GPT2_PATTERN, "Hello world's 123 !!  x\n\n y") == \
        ["Hello", " world", "'s", " 123", " !!", " ", " x", "\n\n", " y"]
    assert re.findall(GPT2_PATTERN, "we'll café_au_lait") == ["we", "'ll", " café", "_", "au", "_", "lait"]


def test_partial_decodes_replace_broken_characters(english_tok):
    ids = BPETokenizer().encode("é")  # two bytes
    assert BPETokenizer().decode(ids[:1]) == "\ufffd"
    assert english_tok.decode([]) == ""


def test_special_tokens():
    specials = ["<|endoftext|>", "<pad>"]
    text = ("<|endoftext|>".join([ENGLISH[:300], ENGLISH[300:600], ""])) * 4
    tok = BPETokenizer.train(text, vocab_size=320, special_tokens=specials)
    assert tok.special_tokens == {"<|endoftext|>": 256, "<pad>": 257}
    assert tok.vocab_size == 320
    assert byte_merges(tok) == reference_train(text, 320, 2, specials)
    ids = tok.encode("hi<|endoftext|>there<pad><pad>")
    assert ids.count(256) == 1 and ids.count(257) == 2
    assert ids[-2:] == [257, 257]
    assert tok.decode(ids) == "hi<|endoftext|>there<pad><pad>"
    for t in HARD_TEXTS:
        assert tok.decode(tok.encode(t + "<pad>" + t)) == t + "<pad>" + t
    merged_tokens = {tok.decode([tok.get_vocab()[a + b]]) for a, b in tok.merges}
    assert not any("<|" in t or "|>" in t for t in merged_tokens)  # specials were not trained on


def test_save_and_load_preserve_encodings(tmp_path, english_tok):
    tok = BPETokenizer.train(ENGLISH, vocab_size=380, special_tokens=["<|endoftext|>"])
    path = tmp_path / "bpe.json"
    tok.save(path)
    assert os.listdir(tmp_path) == ["bpe.json"]
    obj = json.loads(path.read_text(encoding="utf-8"))
    assert obj["format"] == "ember.text.BPETokenizer" and obj["version"] == 1
    assert obj["vocab"]["Ġ"] == 32 and obj["vocab"]["a"] == 97  # GPT-2's readable byte alphabet
    assert all(len(m.split(" ")) == 2 for m in obj["merges"])
    loaded = BPETokenizer.load(str(path))
    assert loaded.get_vocab() == tok.get_vocab() and loaded.merges == tok.merges
    assert loaded.special_tokens == tok.special_tokens
    for text in [ENGLISH, *HARD_TEXTS, "a<|endoftext|>b"]:
        assert loaded.encode(text) == tok.encode(text)
        assert loaded.decode(tok.encode(text)) == text
    english_tok.save(path)  # overwrite
    assert BPETokenizer.load(path).encode(ENGLISH) == english_tok.encode(ENGLISH)


def test_constructor_validates(english_tok):
    vocab = english_tok.get_vocab()
    with pytest.raises(ValueError, match="must be 0 to"):
        BPETokenizer({**vocab, "zz": 10_000}, english_tok.merges)
    with pytest.raises(ValueError, match="lacks 1 of the 256 single-byte tokens"):
        BPETokenizer({s: i if i < 97 else i - 1 for s, i in vocab.items() if s != "a"})
    with pytest.raises(ValueError, match="merge 0 .* not in vocab"):
        BPETokenizer(None, ["a b"])
    with pytest.raises(ValueError, match="not written in the byte alphabet"):
        BPETokenizer({**{s: i for s, i in vocab.items() if i < 256}, "a b": 256})
    with pytest.raises(ValueError, match="merge 0 .* is not a pair of tokens"):
        BPETokenizer(None, ["a b c"])
    with pytest.raises(ValueError, match="empty string"):
        BPETokenizer(None, (), {"": 256})


def test_errors(english_tok):
    with pytest.raises(ValueError, match=r"vocab_size must be at least 256 \(bytes\) \+ 1"):
        BPETokenizer.train("abc", vocab_size=256, special_tokens=["<s>"])
    with pytest.raises(TypeError, match="expected a str, got bytes"):
        english_tok.encode(b"abc")
    with pytest.raises(IndexError, match="400 is not a token id"):
        english_tok.decode([1, 400])
    with pytest.raises(IndexError, match="-1 is not a token id"):
        english_tok.decode([-1])


def test_repr(english_tok):
    assert repr(english_tok) == "BPETokenizer(vocab_size=400, merges=144, special_tokens=[])"


@pytest.mark.skipif(not os.path.exists(SHAKESPEARE), reason="tiny-shakespeare not in shared/data")
def test_trains_a_1000_token_vocabulary_on_tiny_shakespeare_quickly():
    with open(SHAKESPEARE, encoding="utf-8") as fh:
        text = fh.read()
    start = time.perf_counter()
    tok = BPETokenizer.train(text, vocab_size=1000)
    assert time.perf_counter() - start < 20
    assert tok.vocab_size == 1000
    sample = text[:20000]
    ids = tok.encode(sample)
    assert tok.decode(ids) == sample
    assert len(ids) < 0.5 * len(sample.encode("utf-8"))
