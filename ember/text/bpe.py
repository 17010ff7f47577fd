"""Byte-level byte-pair encoding (GPT-2's scheme): train, encode, decode, save and load.

Text is UTF-8 encoded and every byte starts as its own token, so any string encodes and
decodes back exactly. Training repeatedly merges the most frequent adjacent pair of
tokens into a new token; encoding applies the learned merges in the order they were learned.
"""
from __future__ import annotations

import collections
import heapq
import os
import re
from typing import Iterable, Mapping, Sequence

from ._files import load_json, save_json

__all__ = ["BPETokenizer", "GPT2_PATTERN"]

_FORMAT = "ember.text.BPETokenizer"

# GPT-2's pre-tokenization with the standard `re` module: \p{L} is spelled [^\W\d_] and
# \p{N} \d. Text is cut into contractions, words with an optional leading space, numbers,
# punctuation runs and whitespace; merges never cross these pieces. Every character falls
# in one of the classes, so the pieces always concatenate back to the text.
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+"""

_CACHE_LIMIT = 1 << 17
_NO_MERGE = (float("inf"), -1)


def _byte_symbols() -> list[str]:
    """One printable character per byte value, for readable token strings in saved files:
    printable Latin-1 bytes stand for themselves, the others take characters from U+0100 on
    (so a space is 'Ġ' and a newline 'Ċ', as in GPT-2's files)."""
    printable = {*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)}
    symbols, extra = [], 0
    for b in range(256):
        if b in printable:
            symbols.append(chr(b))
        else:
            symbols.append(chr(256 + extra))
            extra += 1
    return symbols


_SYMBOLS = _byte_symbols()
_SYMBOL_BYTE = {s: b for b, s in enumerate(_SYMBOLS)}


def _symbol(token: bytes) -> str:
    return "".join(_SYMBOLS[b] for b in token)


def _merge(ids: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """``ids`` with each occurrence of ``pair``, left to right and not overlapping, replaced by ``new_id``."""
    a, b = pair
    out, i, n = [], 0, len(ids)
    while i < n:
        if ids[i] == a and i + 1 < n and ids[i + 1] == b:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def _special_splitter(specials: Iterable[str]) -> re.Pattern | None:
    specials = sorted(specials, key=len, reverse=True)  # the longest special wins where they overlap
    return re.compile("(" + "|".join(map(re.escape, specials)) + ")") if specials else None


class BPETokenizer:
    """A byte-level BPE tokenizer: ``encode(text) -> list[int]``, ``decode(ids) -> str``.

    Usually made by ``BPETokenizer.train(text, vocab_size)`` or ``BPETokenizer.load(path)``;
    ``BPETokenizer()`` has no merges (one token per byte).

    Args:
        vocab: token -> id for the byte-level tokens, each token written with one character
            per byte (GPT-2's readable byte alphabet: 'Ġ' for a space, ...). Must hold all 256
            single bytes. Default: byte ``b`` has id ``b``.
        merges: the merges in the order they apply, each ``"left right"`` or ``(left, right)``;
            ``left + right`` must be in ``vocab``.
        special_tokens: token string -> id, for tokens such as ``'<|endoftext|>'`` that encode
            to one id wherever they appear in a text and are never split or merged.
        pattern: the pre-tokenization regular expression (see ``GPT2_PATTERN``).

    The ids of ``vocab`` and ``special_tokens`` together must be 0 to ``vocab_size - 1``.
    """

    def __init__(self, vocab: Mapping[str, int] | None = None,
                 merges: Sequence[str | tuple[str, str]] = (),
                 special_tokens: Mapping[str, int] | None = None, pattern: str = GPT2_PATTERN):
        vocab = dict(vocab) if vocab is not None else {s: b for b, s in enumerate(_SYMBOLS)}
        special_tokens = dict(special_tokens or {})
        ids = sorted([*vocab.values(), *special_tokens.values()])
        if ids != list(range(len(ids))):
            raise ValueError(f"BPETokenizer: the ids of vocab and special_tokens must be 0 to {len(ids) - 1}, "
                             f"each once; got {len(set(ids))} distinct ids from {ids[0] if ids else None} "
                             f"to {ids[-1] if ids else None}")
        if "" in special_tokens:
            raise ValueError("BPETokenizer: a special token cannot be the empty string")
        self._id_bytes: list[bytes] = [b""] * len(ids)
        for token, i in vocab.items():
            unknown = [c for c in token if c not in _SYMBOL_BYTE]
            if unknown or not token:
                raise ValueError(f"BPETokenizer: vocab token {token!r} is not written in the byte alphabet "
                                 f"(bad characters {unknown}); see BPETokenizer.save for the format")
            self._id_bytes[i] = bytes(_SYMBOL_BYTE[c] for c in token)
        missing = [s for s in _SYMBOLS if s not in vocab]
        if missing:
            raise ValueError(f"BPETokenizer: vocab lacks {len(missing)} of the 256 single-byte tokens, "
                             f"e.g. {missing[:5]}")
        self._byte_ids = [vocab[s] for s in _SYMBOLS]
        self._merges: dict[tuple[int, int], tuple[int, int]] = {}  # pair -> (rank, merged id)
        self._merge_list: list[tuple[str, str]] = []
        for rank, merge in enumerate(merges):
            parts = merge.split(" ") if isinstance(merge, str) else list(merge)
            if len(parts) != 2:
                raise ValueError(f"BPETokenizer: merge {rank} ({merge!r}) is not a pair of tokens")
            left, right = parts
            for part in (left, right, left + right):
                if part not in vocab:
                    raise ValueError(f"BPETokenizer: merge {rank} ({left!r}, {right!r}) uses {part!r}, "
                                     f"which is not in vocab")
            self._merges.setdefault((vocab[left], vocab[right]), (rank, vocab[left + right]))
            self._merge_list.append((left, right))
        for token, i in special_tokens.items():
            self._id_bytes[i] = token.encode("utf-8")
        self._vocab = vocab
        self._special_tokens = special_tokens
        self._special_re = _special_splitter(special_tokens)
        self.pattern = pattern
        self._pattern = re.compile(pattern)
        self._cache: dict[str, list[int]] = {}

    @property
    def vocab_size(self) -> int:
        return len(self._id_bytes)

    def __len__(self) -> int:
        return len(self._id_bytes)

    @property
    def special_tokens(self) -> dict[str, int]:
        return dict(self._special_tokens)

    @property
    def merges(self) -> list[tuple[str, str]]:
        """The merges in rank order, as pairs of tokens in the byte alphabet."""
        return list(self._merge_list)

    def get_vocab(self) -> dict[str, int]:
        """Every token -> id: byte-level tokens in the byte alphabet, then the special tokens."""
        return {**self._vocab, **self._special_tokens}

    def __repr__(self) -> str:
        return (f"BPETokenizer(vocab_size={self.vocab_size}, merges={len(self._merge_list)}, "
                f"special_tokens={list(self._special_tokens)})")

    # ---- encoding --------------------------------------------------------------------

    def _encode_piece(self, piece: str) -> list[int]:
        """The ids of one pre-tokenized piece: repeatedly apply the lowest-ranked merge present."""
        ids = self._cache.get(piece)
        if ids is not None:
            return ids
        ids = [self._byte_ids[b] for b in piece.encode("utf-8")]
        merges = self._merges
        while len(ids) > 1:
            pair = min(zip(ids, ids[1:]), key=lambda p: merges.get(p, _NO_MERGE))
            if pair not in merges:
                break
            ids = _merge(ids, pair, merges[pair][1])
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[piece] = ids
        return ids

    def _encode_ordinary(self, text: str, out: list[int]) -> None:
        for piece in self._pattern.findall(text):
            out.extend(self._encode_piece(piece))

    def encode(self, text: str) -> list[int]:
        """The token ids of ``text``; each special token in it becomes its single id."""
        if not isinstance(text, str):
            raise TypeError(f"BPETokenizer.encode: expected a str, got {type(text).__name__}")
        out: list[int] = []
        if self._special_re is None:
            self._encode_ordinary(text, out)
            return out
        for k, part in enumerate(self._special_re.split(text)):
            if k % 2:  # re.split puts the captured special tokens at odd positions
                out.append(self._special_tokens[part])
            else:
                self._encode_ordinary(part, out)
        return out

    def decode(self, ids: Iterable[int]) -> str:
        """The text of ``ids`` (ints or a 1-D integer tensor). Byte sequences that are not valid
        UTF-8 (possible when ``ids`` is a slice of an encoding) decode to U+FFFD."""
        ids = ids.tolist() if hasattr(ids, "tolist") else list(ids)
        bad = next((i for i in ids if not 0 <= i < len(self._id_bytes)), None)
        if bad is not None:
            raise IndexError(f"BPETokenizer.decode: {bad!r} is not a token id (0 to {len(self._id_bytes) - 1})")
        return b"".join([self._id_bytes[i] for i in ids]).decode("utf-8", errors="replace")

    # ---- training --------------------------------------------------------------------

    @classmethod
    def train(cls, corpus: str | Iterable[str], vocab_size: int, min_frequency: int = 2,
              special_tokens: Sequence[str] = (), pattern: str = GPT2_PATTERN) -> "BPETokenizer":
        """Learn merges from ``corpus`` until the vocabulary has ``vocab_size`` tokens.

        Args:
            corpus: a text, or an iterable of texts (lines, documents, files' contents).
            vocab_size: the vocabulary size to reach: 256 bytes + specials + merges.
            min_frequency: stop early when the most frequent pair occurs fewer times.
            special_tokens: tokens given ids 256, 257, ... (removed from the corpus before counting).
            pattern: the pre-tokenization regular expression.

        Each step merges the most frequent adjacent pair of tokens, counted over the unique
        pre-tokenized pieces weighted by how often they occur; ties go to the pair with the
        smaller ids, so training is deterministic.
        """
        special_tokens = list(dict.fromkeys(special_tokens))
        if not isinstance(vocab_size, int) or vocab_size < 256 + len(special_tokens):
            raise ValueError(f"BPETokenizer.train: vocab_size must be at least 256 (bytes) + "
                             f"{len(special_tokens)} (special tokens), got {vocab_size}")
        splitter, regex = _special_splitter(special_tokens), re.compile(pattern)
        counts: collections.Counter[str] = collections.Counter()
        for text in [corpus] if isinstance(corpus, str) else corpus:
            for k, part in enumerate(splitter.split(text) if splitter else [text]):
                if k % 2 == 0:
                    counts.update(regex.findall(part))
        words = [list(piece.encode("utf-8")) for piece in counts]
        freqs = list(counts.values())

        id_bytes = [bytes([b]) for b in range(256)] + [b""] * len(special_tokens)
        bytes_id = {t: i for i, t in enumerate(id_bytes[:256])}
        merges = []
        pair_counts: dict[tuple[int, int], int] = collections.defaultdict(int)
        where: dict[tuple[int, int], set[int]] = collections.defaultdict(set)  # pair -> words (a superset)
        for wi, (w, f) in enumerate(zip(words, freqs)):
            for pair in zip(w, w[1:]):
                pair_counts[pair] += f
                where[pair].add(wi)
        # A max-heap with lazy deletion: every count change pushes a fresh entry, and a popped
        # entry whose count is no longer current is skipped.
        heap = [(-c, pair) for pair, c in pair_counts.items()]
        heapq.heapify(heap)
        while len(id_bytes) < vocab_size and heap:
            neg, pair = heapq.heappop(heap)
            if pair_counts.get(pair) != -neg:
                continue
            if -neg < min_frequency:
                break
            merged = id_bytes[pair[0]] + id_bytes[pair[1]]
            new_id = bytes_id.get(merged)
            if new_id is None:  # the same bytes can arise from two different pairs
                new_id = bytes_id[merged] = len(id_bytes)
                id_bytes.append(merged)
            merges.append(pair)
            for wi in where.pop(pair):
                w = words[wi]
                new_w = _merge(w, pair, new_id)
                if len(new_w) == len(w):
                    continue
                f, delta = freqs[wi], {}
                for p in zip(w, w[1:]):
                    delta[p] = delta.get(p, 0) - f
                for p in zip(new_w, new_w[1:]):
                    delta[p] = delta.get(p, 0) + f
                for p, d in delta.items():
                    if d:
                        c = pair_counts[p] = pair_counts[p] + d
                        if c:
                            heapq.heappush(heap, (-c, p))
                        else:
                            del pair_counts[p]
                        if d > 0:
                            where[p].add(wi)
                words[wi] = new_w

        vocab = {_symbol(t): i for i, t in enumerate(id_bytes) if not 256 <= i < 256 + len(special_tokens)}
        return cls(vocab, [(_symbol(id_bytes[a]), _symbol(id_bytes[b])) for a, b in merges],
                   {s: 256 + k for k, s in enumerate(special_tokens)}, pattern)

    # ---- files -----------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> None:
        """Write the tokenizer to ``path`` as JSON, atomically.

        The file holds ``{"format": "ember.text.BPETokenizer", "version": 1, "pattern": ...,
        "vocab": {token: id}, "merges": ["left right", ...], "special_tokens": {token: id}}``;
        byte-level tokens are written in the byte alphabet (one character per byte, 'Ġ' for a space).
        """
        save_json({"format": _FORMAT, "version": 1, "pattern": self.pattern, "vocab": self._vocab,
                   "merges": [f"{a} {b}" for a, b in self._merge_list],
                   "special_tokens": self._special_tokens}, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "BPETokenizer":
        """Read a tokenizer written by ``save``."""
        obj = load_json(path, _FORMAT)
        return cls(obj["vocab"], obj["merges"], obj["special_tokens"], obj["pattern"])
