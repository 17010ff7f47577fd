"""Language-model corpora: a word-level folder reader (pytorch/examples' word_language_model
``data.py``) and a character-level corpus (char-rnn / nanoGPT's shakespeare_char)."""
from __future__ import annotations

import os

import numpy as np

from .._tensor import Tensor
from ..backend.random import Generator
from ..ops.creation import from_numpy
from .batching import random_blocks
from .tokenizers import CharTokenizer

__all__ = ["CharCorpus", "Corpus", "Dictionary"]

# (train, valid, test) file names a Corpus folder may use: pytorch/examples' and Mikolov's PTB.
_SPLIT_NAMES = (("train.txt", "valid.txt", "test.txt"), ("ptb.train.txt", "ptb.valid.txt", "ptb.test.txt"))


class Dictionary:
    """Words numbered in order of first appearance: ``word2idx``, ``idx2word`` and ``add_word``."""

    def __init__(self):
        self.word2idx: dict[str, int] = {}
        self.idx2word: list[str] = []

    def add_word(self, word: str) -> int:
        """The index of ``word``, added with the next index if it is new."""
        index = self.word2idx.get(word)
        if index is None:
            index = self.word2idx[word] = len(self.idx2word)
            self.idx2word.append(word)
        return index

    def __len__(self) -> int:
        return len(self.idx2word)


class Corpus:
    """A word-level language-model corpus read from a folder, as pytorch/examples' word_language_model.

    Args:
        path: a folder with ``train.txt``, ``valid.txt`` and ``test.txt``, or with Penn
            Treebank's ``ptb.train.txt``, ``ptb.valid.txt`` and ``ptb.test.txt``.

    Each line is split on whitespace and ends with an ``'<eos>'`` token. One ``dictionary``
    numbers the words of train, then valid, then test in order of first appearance, and
    ``train``, ``valid`` and ``test`` are 1-D int64 tensors of word indices.
    """

    def __init__(self, path: str | os.PathLike):
        path = os.fspath(path)
        self._read(*(os.path.join(path, name) for name in self._names(path)))

    def _read(self, train: str, valid: str, test: str) -> None:
        self.dictionary = Dictionary()
        self.train = self.tokenize(train)
        self.valid = self.tokenize(valid)
        self.test = self.tokenize(test)

    @staticmethod
    def _names(path: str) -> tuple[str, str, str]:
        for names in _SPLIT_NAMES:
            if os.path.exists(os.path.join(path, names[0])):
                return names
        raise FileNotFoundError(f"Corpus: {path!r} holds neither train.txt/valid.txt/test.txt nor "
                                f"ptb.train.txt/ptb.valid.txt/ptb.test.txt")

    def tokenize(self, path: str | os.PathLike) -> Tensor:
        """Add the words of the text file ``path`` to the dictionary; return its word indices."""
        if not os.path.exists(path):
            raise FileNotFoundError(f"Corpus: no file {os.fspath(path)!r}")
        add = self.dictionary.add_word
        ids: list[int] = []
        with open(path, encoding="utf8") as fh:
            for line in fh:
                ids.extend(add(word) for word in line.split())
                ids.append(add("<eos>"))
        return from_numpy(np.array(ids, dtype=np.int64))

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(vocabulary={len(self.dictionary)}, train={self.train.numel()}, "
                f"valid={self.valid.numel()}, test={self.test.numel()})")


class CharCorpus:
    """A character-level corpus: the text encoded with a ``CharTokenizer`` of its characters,
    the first ``train_fraction`` for training and the rest for validation (nanoGPT's split).

    Args:
        text: the whole text.
        train_fraction: the share of characters in ``train``; ``val`` gets the rest.

    Attributes:
        tokenizer: the ``CharTokenizer`` built on ``text`` (characters in sorted order).
        train, val: 1-D int64 tensors of character indices.
    """

    def __init__(self, text: str, train_fraction: float = 0.9):
        if not 0.0 <= train_fraction <= 1.0:
            raise ValueError(f"CharCorpus: train_fraction must be in [0, 1], got {train_fraction}")
        self.tokenizer = CharTokenizer(text)
        data = np.array(self.tokenizer.encode(text), dtype=np.int64)
        n = int(len(data) * train_fraction)
        self.train = from_numpy(data[:n])
        self.val = from_numpy(data[n:])

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.vocab_size

    def get_batch(self, split: str, batch_size: int, block_size: int,
                  generator: Generator | None = None) -> tuple[Tensor, Tensor]:
        """``batch_size`` random blocks of ``split`` ("train" or "val") and the blocks one
        character later, each ``(batch_size, block_size)`` int64, as nanoGPT's ``get_batch``."""
        if split not in ("train", "val"):
            raise ValueError(f"CharCorpus.get_batch: split must be 'train' or 'val', got {split!r}")
        return random_blocks(self.train if split == "train" else self.val, batch_size, block_size, generator)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(vocab_size={self.vocab_size}, train={self.train.numel()}, "
                f"val={self.val.numel()})")

