"""Character and word tokenizers, basic_english normalization, get_tokenizer."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ember
from ember.text import CharTokenizer, WordTokenizer, basic_english_normalize, get_tokenizer

SAMPLES = ["", "a", "héllo wörld", "naïve café — déjà vu", "emoji 👋🏽👨‍👩‍👧 ok",
           "日本語のテキスト", "line one\nline two\r\n\ttabbed\n\n", "e\u0301 combining accent", "null\x00byte"]


@pytest.mark.parametrize("line, expected", [
    ('He said: "Hi, you!"', ["he", "said", "hi", ",", "you", "!"]),
    ("Hello, World! It's (really) fine; ok: <br />yes.",
     ["hello", ",", "world", "!", "it", "'", "s", "(", "really", ")", "fine", "ok", "yes", "."]),
    ("Why?No.", ["why", "?", "no", "."]),
    ("  MANY \t spaces\n", ["many", "spaces"]),
    ("", []),
])
def test_basic_english(line, expected):
    assert basic_english_normalize(line) == expected
    assert get_tokenizer("basic_english")(line) == expected


def test_get_tokenizer():
    assert get_tokenizer(None)("a  b\tc\n") == ["a", "b", "c"]
    fn = str.split
    assert get_tokenizer(fn) is fn
    with pytest.raises(ValueError, match="unknown tokenizer 'spacy'.*'basic_english'"):
        get_tokenizer("spacy")
    with pytest.raises(ValueError, match="language='en'"):
        get_tokenizer("basic_english", language="de")


def test_word_tokenizer():
    assert WordTokenizer()("The cat, sat.") == ["The", "cat,", "sat."]
    assert WordTokenizer(lower=True)("The CAT") == ["the", "cat"]
    tok = WordTokenizer(lower=True, split_punctuation=True)
    assert tok("Don't stop: it's 3.5 (ok)!") == ["don't", "stop", ":", "it's", "3", ".", "5", "(", "ok", ")", "!"]
    assert tok("") == []
    assert repr(tok) == "WordTokenizer(lower=True, split_punctuation=True)"


@pytest.mark.parametrize("text", ["the cat sat on the mat", "héllo wörld 👋 日本語", "a", ""])
def test_word_tokenizer_round_trip_on_single_spaced_text(text):
    tok = WordTokenizer()
    assert tok.detokenize(tok.tokenize(text)) == text


def test_word_tokenizer_round_trip_with_split_punctuation():
    text = "hello , world ! don't stop . 3 ( ok )"
    tok = WordTokenizer(split_punctuation=True)
    assert tok.detokenize(tok(text)) == text


@pytest.mark.parametrize("text", SAMPLES)
def test_char_tokenizer_round_trip(text):
    tok = CharTokenizer(text)
    ids = tok.encode(text)
    assert len(ids) == len(text)
    assert tok.decode(ids) == text
    assert tok.decode(ember.tensor(ids, dtype=ember.int64)) == text


@settings(max_examples=60, deadline=None)
@given(st.text())
def test_char_tokenizer_round_trip_any_text(text):
    tok = CharTokenizer(text + "x")
    assert tok.decode(tok.encode(text)) == text


def test_char_tokenizer_numbers_characters_in_sorted_order():
    tok = CharTokenizer("hello world")
    assert tok.itos == [" ", "d", "e", "h", "l", "o", "r", "w"]
    assert tok.vocab_size == len(tok) == 8
    assert tok.encode("hold") == [3, 5, 4, 1]
    assert tok.stoi == {c: i for i, c in enumerate(tok.itos)}
    assert repr(tok) == "CharTokenizer(vocab_size=8)"


def test_char_tokenizer_errors():
    tok = CharTokenizer("abc")
    with pytest.raises(KeyError, match="'z' is not in the alphabet of 3 characters"):
        tok.encode("abz")
    with pytest.raises(IndexError, match="3 is not a character index"):
        tok.decode([0, 3])
    with pytest.raises(IndexError, match="-1 is not a character index"):
        tok.decode([-1])
    with pytest.raises(ValueError, match="single characters"):
        CharTokenizer(["ab", "c"])
