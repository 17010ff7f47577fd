"""Vocabularies: a two-way mapping between tokens and indices (torchtext's ``Vocab``)."""
from __future__ import annotations

import collections
import os
from typing import Iterable, Mapping, Sequence

from ._files import load_json, save_json

__all__ = ["Vocab", "build_vocab_from_iterator", "vocab"]

_FORMAT = "ember.text.Vocab"


class Vocab:
    """Tokens and their indices: ``vocab[token] -> index``, ``vocab.lookup_token(index) -> token``.

    Args:
        tokens: the tokens in index order (no duplicates).

    A token that is not in the vocabulary raises ``KeyError`` unless a default index was
    set with ``set_default_index`` (typically the index of ``'<unk>'``).
    """

    def __init__(self, tokens: Iterable[str] = ()):
        self._itos: list[str] = []
        self._stoi: dict[str, int] = {}
        self._default_index: int | None = None
        for token in tokens:
            self.append_token(token)

    def __len__(self) -> int:
        return len(self._itos)

    def __contains__(self, token: str) -> bool:
        return token in self._stoi

    def __getitem__(self, token: str) -> int:
        index = self._stoi.get(token)
        if index is not None:
            return index
        if self._default_index is None:
            raise KeyError(f"Token {token!r} is not in the vocabulary ({len(self)} tokens) and no "
                           f"default index is set; call vocab.set_default_index(vocab['<unk>']) "
                           f"to map unknown tokens to an index")
        return self._default_index

    def __call__(self, tokens: Iterable[str]) -> list[int]:
        """The indices of ``tokens`` (same as ``lookup_indices``)."""
        return self.lookup_indices(tokens)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Vocab):
            return NotImplemented
        return self._itos == other._itos and self._default_index == other._default_index

    def __repr__(self) -> str:
        return f"Vocab(num_tokens={len(self)}, default_index={self._default_index})"

    def set_default_index(self, index: int | None) -> None:
        """Map tokens that are not in the vocabulary to ``index`` (None: raise KeyError again)."""
        if index is not None and not isinstance(index, int):
            raise TypeError(f"set_default_index: index must be an int or None, got {type(index).__name__}")
        self._default_index = index

    def get_default_index(self) -> int | None:
        return self._default_index

    def append_token(self, token: str) -> None:
        """Add ``token`` with the next index, ``len(vocab)``."""
        self.insert_token(token, len(self._itos))

    def insert_token(self, token: str, index: int) -> None:
        """Add ``token`` at ``index`` (0 <= index <= len(vocab)); tokens from there on move up one."""
        if not isinstance(token, str):
            raise TypeError(f"Vocab tokens must be str, got {type(token).__name__} ({token!r})")
        if token in self._stoi:
            raise RuntimeError(f"Token {token!r} already exists in the Vocab with index: {self._stoi[token]}")
        if not 0 <= index <= len(self._itos):
            raise RuntimeError(f"Specified index {index} is out of bounds for a Vocab of size "
                               f"{len(self._itos)} (valid: 0 to {len(self._itos)})")
        self._itos.insert(index, token)
        if index == len(self._itos) - 1:
            self._stoi[token] = index
        else:
            for i in range(index, len(self._itos)):
                self._stoi[self._itos[i]] = i

    def lookup_token(self, index: int) -> str:
        """The token at ``index``."""
        if not 0 <= index < len(self._itos):
            raise RuntimeError(f"Specified index {index} is out of bounds of the size of the Vocab "
                               f"({len(self._itos)} tokens)")
        return self._itos[index]

    def lookup_tokens(self, indices: Iterable[int]) -> list[str]:
        return [self.lookup_token(int(i)) for i in indices]

    def lookup_indices(self, tokens: Iterable[str]) -> list[int]:
        return [self[t] for t in tokens]

    def get_itos(self) -> list[str]:
        """The tokens in index order (a copy)."""
        return list(self._itos)

    def get_stoi(self) -> dict[str, int]:
        """The token -> index mapping (a copy)."""
        return dict(self._stoi)

    def save(self, path: str | os.PathLike) -> None:
        """Write the vocabulary to ``path`` as JSON (atomically: the old file or the new one, never half)."""
        save_json({"format": _FORMAT, "version": 1, "itos": self._itos,
                   "default_index": self._default_index}, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Vocab":
        """Read a vocabulary written by ``save``."""
        obj = load_json(path, _FORMAT)
        v = cls(obj["itos"])
        v.set_default_index(obj["default_index"])
        return v


def vocab(ordered_dict: Mapping[str, int], min_freq: int = 1, specials: Sequence[str] | None = None,
          special_first: bool = True) -> Vocab:
    """A Vocab of the tokens of ``ordered_dict`` (token -> frequency) in the mapping's order.

    Args:
        ordered_dict: token frequencies, in the order the indices should follow.
        min_freq: tokens seen fewer times are left out.
        specials: tokens such as ``'<unk>'`` and ``'<pad>'`` placed first (or last), whatever
            their frequency.
        special_first: put ``specials`` before (True) or after the other tokens.
    """
    if min_freq < 1:
        raise ValueError(f"vocab: min_freq must be at least 1, got {min_freq}")
    specials = list(specials or [])
    special_set = set(specials)
    tokens = [t for t, n in ordered_dict.items() if n >= min_freq and t not in special_set]
    return Vocab(specials + tokens if special_first else tokens + specials)


def build_vocab_from_iterator(iterator: Iterable[Iterable[str]] | Mapping[str, int], min_freq: int = 1,
                              specials: Sequence[str] | None = None, special_first: bool = True,
                              max_tokens: int | None = None) -> Vocab:
    """A Vocab of the tokens in ``iterator``, the most frequent first.

    Args:
        iterator: token lists (one per sentence or document), or a ``Counter``/mapping of token
            frequencies.
        min_freq: tokens seen fewer times are left out.
        specials: tokens such as ``'<unk>'`` and ``'<pad>'`` included whatever their frequency.
        special_first: put ``specials`` before (True) or after the other tokens.
        max_tokens: the largest vocabulary size, specials included; the most frequent tokens are kept.

    Tokens are ordered by decreasing frequency; tokens of equal frequency keep the order in
    which they first appear in ``iterator`` (for a mapping: its iteration order).
    """
    if isinstance(iterator, Mapping):
        counter = collections.Counter(dict(iterator))
    else:
        counter = collections.Counter()
        for tokens in iterator:
            counter.update(tokens)
    specials = list(specials or [])
    if max_tokens is not None and max_tokens <= len(specials):
        raise ValueError(f"build_vocab_from_iterator: max_tokens={max_tokens} leaves no room for tokens "
                         f"besides the {len(specials)} specials {specials}")
    special_set = set(specials)
    # sorted() is stable, so equal counts keep the Counter's (first-appearance) order.
    ranked = sorted(((t, n) for t, n in counter.items() if n >= min_freq and t not in special_set),
                    key=lambda item: -item[1])
    if max_tokens is not None:
        ranked = ranked[:max_tokens - len(specials)]
    return vocab(dict(ranked), min_freq=min_freq, specials=specials, special_first=special_first)
