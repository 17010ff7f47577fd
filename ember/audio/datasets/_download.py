"""Fetching a published archive once, checked against its SHA-256, and unpacking it.

The transfer is ``ember.hub.download_url_to_file`` (written beside the target and renamed only
when complete and matching the checksum, so a failed or corrupt download leaves no archive);
unpacking is ``ember.utils.data.fetch.extract_archive``, which refuses members that would land
outside the target folder.
"""
from __future__ import annotations

import os

from ...hub import download_url_to_file
from ...utils.data.fetch import extract_archive


def download_and_extract(url: str, archive: str, to_path: str, sha256: str | None) -> None:
    """Download ``url`` to ``archive`` unless that file is already there (an archive only ever
    appears whole and verified), then unpack it into ``to_path``.

    Raises:
        RuntimeError: the download failed, or its SHA-256 is not ``sha256`` (nothing is kept).
    """
    if not os.path.isfile(archive):
        os.makedirs(os.path.dirname(archive) or ".", exist_ok=True)
        download_url_to_file(url, archive, hash_prefix=sha256)
    extract_archive(archive, to_path)
