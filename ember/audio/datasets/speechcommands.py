"""Speech Commands (Warden, 2018): one-second 16 kHz clips of single spoken words, with
torchaudio's arguments, folder layout, subsets and items.

Layout under ``root``: ``SpeechCommands/speech_commands_v0.0X/<label>/<speaker>_nohash_<n>.wav``
plus ``validation_list.txt`` and ``testing_list.txt`` (paths relative to that folder).
"""
from __future__ import annotations

import os
from pathlib import Path

from ..._tensor import Tensor
from ...utils.data import Dataset
from .._io import load
from ._download import download_and_extract

__all__ = ["SPEECHCOMMANDS"]

SAMPLE_RATE = 16000
HASH_DIVIDER = "_nohash_"
EXCEPT_FOLDER = "_background_noise_"
_BASE_URL = "http://download.tensorflow.org/data/"
# The SHA-256 of each published archive (the values torchaudio verifies).
_CHECKSUMS = {
    "http://download.tensorflow.org/data/speech_commands_v0.01.tar.gz":
        "743935421bb51cccdb6bdd152e04c5c70274e935c82119ad7faeec31780d811d",
    "http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz":
        "af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58",
}
_SUBSETS = (None, "training", "validation", "testing")


def _load_list(root: str, *filenames: str) -> list[str]:
    """The normalized paths listed (relative to ``root``) in each of ``filenames``."""
    paths = []
    for name in filenames:
        with open(os.path.join(root, name)) as f:
            paths += [os.path.normpath(os.path.join(root, line.strip())) for line in f if line.strip()]
    return paths


class SPEECHCOMMANDS(Dataset):
    """Speech Commands v0.01 or v0.02.

    Args:
        root: the folder holding ``folder_in_archive`` (and the downloaded archive).
        url: ``"speech_commands_v0.01"``, ``"speech_commands_v0.02"`` or an archive URL.
        folder_in_archive: the folder under ``root`` the archive is unpacked into.
        download: fetch and unpack the archive when its folder is missing (verified by SHA-256).
        subset: ``None`` (every clip), ``"training"`` (clips in neither list), ``"validation"``
            (``validation_list.txt``) or ``"testing"`` (``testing_list.txt``). The
            ``_background_noise_`` recordings are never items.

    Items: ``(waveform (1, frames), sample_rate, label, speaker_id, utterance_number)``.
    """

    def __init__(self, root: str | Path, url: str = "speech_commands_v0.02", folder_in_archive: str = "SpeechCommands",
                 download: bool = False, subset: str | None = None) -> None:
        if subset not in _SUBSETS:
            raise ValueError(f"SPEECHCOMMANDS: subset must be one of {_SUBSETS}, got {subset!r}")
        if url in ("speech_commands_v0.01", "speech_commands_v0.02"):
            url = _BASE_URL + url + ".tar.gz"
        root = os.fspath(root)
        self._archive = os.path.join(root, folder_in_archive)
        archive_name = os.path.basename(url)
        self._path = os.path.join(self._archive, archive_name.rsplit(".", 2)[0])
        if download:
            if not os.path.isdir(self._path):
                download_and_extract(url, os.path.join(root, archive_name), self._path, _CHECKSUMS.get(url))
        elif not os.path.exists(self._path):
            raise RuntimeError(f"SPEECHCOMMANDS: the path {self._path} doesn't exist. Please check the ``root`` "
                               f"path or set `download=True` to download it")

        if subset == "validation":
            self._walker = _load_list(self._path, "validation_list.txt")
        elif subset == "testing":
            self._walker = _load_list(self._path, "testing_list.txt")
        else:
            excludes = set(_load_list(self._path, "validation_list.txt", "testing_list.txt")) if subset else set()
            walker = sorted(str(p) for p in Path(self._path).glob("*/*.wav"))
            self._walker = [w for w in walker if HASH_DIVIDER in w and EXCEPT_FOLDER not in w
                            and os.path.normpath(w) not in excludes]

    def get_metadata(self, n: int) -> tuple[str, int, str, str, int]:
        """``(relative path, sample_rate, label, speaker_id, utterance_number)`` of item ``n``
        without reading its audio; the path is relative to ``root/folder_in_archive``."""
        relpath = os.path.relpath(self._walker[n], self._archive)
        reldir, filename = os.path.split(relpath)
        label = os.path.basename(reldir)
        stem = os.path.splitext(filename)[0]
        speaker_id, utterance = stem.split(HASH_DIVIDER)
        return relpath, SAMPLE_RATE, label, speaker_id, int(utterance)

    def __getitem__(self, n: int) -> tuple[Tensor, int, str, str, int]:
        metadata = self.get_metadata(n)
        waveform, sample_rate = load(os.path.join(self._archive, metadata[0]))
        if sample_rate != metadata[1]:
            raise ValueError(f"SPEECHCOMMANDS: sample rate should be {metadata[1]}, but got {sample_rate} "
                             f"in {metadata[0]}")
        return (waveform,) + metadata[1:]

    def __len__(self) -> int:
        return len(self._walker)
