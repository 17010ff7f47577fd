"""Character and word tokenizers, and the ``basic_english`` normalizer."""
from __future__ import annotations

import re
from typing import Callable, Iterable

__all__ = ["CharTokenizer", "WordTokenizer", "basic_english_normalize", "get_tokenizer"]

# basic_english: lowercase, then these substitutions in order, then split on whitespace.
# Quotes go, apostrophes become their own token, and . , ( ) ! ? are split off as tokens.
_BASIC_ENGLISH = [(re.compile(p), r) for p, r in [
    (r"'", " '  "), (r'"', ""), (r"\.", " . "), (r"<br \/>", " "), (r",", " , "), (r"\(", " ( "),
    (r"\)", " ) "), (r"!", " ! "), (r"\?", " ? "), (r";", " "), (r":", " "), (r"\s+", " "),
]]


def basic_english_normalize(line: str) -> list[str]:
    """Lowercase ``line``, split off punctuation, drop quotes and ``<br />``, split on whitespace.

    >>> basic_english_normalize('He said: "Hi, you!"')
    ['he', 'said', 'hi', ',', 'you', '!']
    """
    line = line.lower()
    for pattern, replacement in _BASIC_ENGLISH:
        line = pattern.sub(replacement, line)
    return line.split()


def _split(line: str) -> list[str]:
    return line.split()


def get_tokenizer(tokenizer: str | Callable[[str], list[str]] | None, language: str = "en"):
    """A function from a string to its list of tokens.

    Args:
        tokenizer: None (split on whitespace), ``"basic_english"`` (see
            ``basic_english_normalize``) or a callable, returned as it is.
        language: only ``"en"`` is supported by ``"basic_english"``.
    """
    if tokenizer is None:
        return _split
    if callable(tokenizer):
        return tokenizer
    if tokenizer == "basic_english":
        if language != "en":
            raise ValueError(f"get_tokenizer: basic_english supports only language='en', got {language!r}")
        return basic_english_normalize
    raise ValueError(f"get_tokenizer: unknown tokenizer {tokenizer!r}; use None (whitespace), "
                     f"'basic_english' or a callable")


class WordTokenizer:
    """Split text into words on whitespace, optionally lowercased with punctuation split off.

    Args:
        lower: lowercase the text first.
        split_punctuation: make each punctuation character its own token (``"end."`` ->
            ``["end", "."]``); apostrophes inside words stay (``"don't"``).

    ``detokenize`` joins tokens with single spaces, so ``detokenize(tokenize(s)) == s`` for text
    whose words are separated by single spaces (and, with ``split_punctuation``, whose
    punctuation is already surrounded by spaces).
    """

    _PUNCT = re.compile(r"\w+(?:'\w+)*|[^\w\s]")

    def __init__(self, lower: bool = False, split_punctuation: bool = False):
        self.lower = lower
        self.split_punctuation = split_punctuation

    def __call__(self, text: str) -> list[str]:
        return self.tokenize(text)

    def tokenize(self, text: str) -> list[str]:
        if self.lower:
            text = text.lower()
        return self._PUNCT.findall(text) if self.split_punctuation else text.split()

    @staticmethod
    def detokenize(tokens: Iterable[str]) -> str:
        return " ".join(tokens)

    def __repr__(self) -> str:
        return f"WordTokenizer(lower={self.lower}, split_punctuation={self.split_punctuation})"


class CharTokenizer:
    """Characters <-> indices, each character its own token (as char-rnn and nanoGPT's shakespeare_char).

    Args:
        chars: the alphabet; duplicates are ignored, and indices follow sorted order, so
            ``CharTokenizer(text)`` numbers the characters of ``text`` like ``sorted(set(text))``.

    ``decode(encode(s)) == s`` for any string made of the alphabet's characters.
    """

    def __init__(self, chars: Iterable[str]):
        self.itos: list[str] = sorted(set(chars))
        if any(len(c) != 1 for c in self.itos):
            bad = next(c for c in self.itos if len(c) != 1)
            raise ValueError(f"CharTokenizer: the alphabet must hold single characters, got {bad!r}")
        self.stoi: dict[str, int] = {c: i for i, c in enumerate(self.itos)}

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, text: str) -> list[int]:
        """The index of each character of ``text``."""
        try:
            return [self.stoi[c] for c in text]
        except KeyError as exc:
            raise KeyError(f"CharTokenizer.encode: character {exc.args[0]!r} is not in the alphabet of "
                           f"{len(self.itos)} characters this tokenizer was built with") from None

    def decode(self, ids: Iterable[int]) -> str:
        """The text of the character indices ``ids`` (ints or a 1-D integer tensor)."""
        ids = ids.tolist() if hasattr(ids, "tolist") else list(ids)
        bad = next((i for i in ids if not 0 <= i < len(self.itos)), None)
        if bad is not None:
            raise IndexError(f"CharTokenizer.decode: {bad!r} is not a character index "
                             f"(0 to {len(self.itos) - 1})")
        return "".join([self.itos[i] for i in ids])

    def __repr__(self) -> str:
        return f"CharTokenizer(vocab_size={self.vocab_size})"
