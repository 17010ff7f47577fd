"""Fetching, verifying and unpacking data set files.

Downloads are written to a temporary file next to the target (ember's atomic writer),
checked against their md5, and only then renamed into place: an interrupted or corrupt
download never leaves a file under the final name. Zip archives are checked whole
before extraction (see ``ember.io._files.ZipArchive``).
"""
from __future__ import annotations

import bz2
import contextlib
import gzip
import hashlib
import lzma
import os
import shutil
import tarfile
import urllib.error
import urllib.request
import zipfile
from http.client import HTTPException
from pathlib import Path
from typing import Callable, Iterable, Sequence

from ...io._files import ZipArchive
from ...io._files import atomic_file as _atomic_file

__all__ = ["ChecksumError", "calculate_md5", "check_md5", "check_integrity", "require_md5", "download_url",
           "download_from_mirrors", "extract_archive", "download_and_extract_archive", "verify_str_arg"]

USER_AGENT = "ember"
_TIMEOUT_S = 60.0
_CHUNK = 1024 * 1024

_COMPRESSIONS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
_TAR_SUFFIXES = {".tar": "", ".tgz": "gz", ".tbz": "bz2", ".tbz2": "bz2", ".txz": "xz",
                 ".tar.gz": "gz", ".tar.bz2": "bz2", ".tar.xz": "xz"}


class ChecksumError(RuntimeError):
    """A file's md5 differs from the published one."""


def calculate_md5(fpath: str | Path, chunk_size: int = _CHUNK) -> str:
    """The hex md5 digest of a file's bytes."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(fpath, "rb") as f:
        while chunk := f.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def check_md5(fpath: str | Path, md5: str, **kwargs) -> bool:
    """Whether the file's md5 is ``md5``."""
    return md5 == calculate_md5(fpath, **kwargs)


def check_integrity(fpath: str | Path, md5: str | None = None) -> bool:
    """Whether the file exists and (when ``md5`` is given) has that md5."""
    if not os.path.isfile(fpath):
        return False
    return md5 is None or check_md5(fpath, md5)


def require_md5(fpath: str | Path, md5: str | None) -> None:
    """Raise :class:`ChecksumError` (a RuntimeError) naming the file and both digests when
    the file's md5 is not ``md5``; ``md5=None`` accepts any file."""
    if md5 is None:
        return
    actual = calculate_md5(fpath)
    if actual != md5:
        raise ChecksumError(f"Checksum mismatch for {fpath}: expected md5 {md5}, got {actual}. The file is "
                            f"corrupt or incomplete: delete it and use download=True to fetch it again.")


def _opener(max_redirect_hops: int) -> urllib.request.OpenerDirector:
    """A URL opener that follows at most ``max_redirect_hops`` redirects."""

    class LimitedRedirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req, fp, code, msg, headers, newurl):
            hops = getattr(req, "redirect_hops", 0)
            if hops >= max_redirect_hops:
                raise urllib.error.HTTPError(req.full_url, code, f"too many redirects (the limit is "
                                             f"{max_redirect_hops}), last to {newurl}", headers, fp)
            new = super().redirect_request(req, fp, code, msg, headers, newurl)
            if new is not None:
                new.redirect_hops = hops + 1
            return new

    return urllib.request.build_opener(LimitedRedirects)


def download_url(url: str, root: str | Path, filename: str | None = None, md5: str | None = None,
                 max_redirect_hops: int = 3) -> None:
    """Download ``url`` to ``root/filename`` unless a file with the right md5 is already there.

    Args:
        url: the address to fetch.
        root: the folder to put the file in (created when missing).
        filename: the name to save it under; defaults to the last part of the URL.
        md5: the expected checksum; a download that does not match raises
            :class:`ChecksumError` and leaves no file behind.
        max_redirect_hops: how many HTTP redirects to follow.
    """
    root = os.path.expanduser(root)
    fpath = os.path.join(root, filename or os.path.basename(url))
    os.makedirs(root, exist_ok=True)
    if check_integrity(fpath, md5):
        print(f"Using downloaded and verified file: {fpath}")
        return
    print(f"Downloading {url} to {fpath}")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with _opener(max_redirect_hops).open(request, timeout=_TIMEOUT_S) as response, _atomic_file(fpath) as out:
        digest = hashlib.md5(usedforsecurity=False)
        while chunk := response.read(_CHUNK):
            out.write(chunk)
            digest.update(chunk)
        if md5 is not None and digest.hexdigest() != md5:
            raise ChecksumError(f"Checksum mismatch for {url}: expected md5 {md5}, got {digest.hexdigest()}")


# What a failing mirror can raise: network and HTTP errors (URLError and HTTPError are
# OSErrors), a broken HTTP response, or a corrupt file.
_DOWNLOAD_ERRORS = (OSError, HTTPException, ChecksumError)


@contextlib.contextmanager
def new_folder(path: str | Path, explain: Callable[[], str] | None = None):
    """Create ``path`` (and its missing parents) for a download. If the body fails, the
    folders it created that are still empty are removed (a failed or offline download
    leaves no empty tree), and with ``explain`` the error is raised as a RuntimeError that
    starts with ``explain()`` (where the files were looked for, how to point at them)."""
    created, p = [], os.path.abspath(os.path.expanduser(path))
    while not os.path.exists(p):
        created.append(p)
        p = os.path.dirname(p)
    os.makedirs(path, exist_ok=True)
    try:
        yield
    except Exception as error:
        for folder in created:  # deepest first
            try:
                os.rmdir(folder)
            except OSError:
                break
        if explain is None:
            raise
        raise RuntimeError(f"{explain()} Downloading failed: {error}") from error


def download_from_mirrors(mirrors: Sequence[str], filename: str, root: str | Path,
                          md5: str | None = None) -> str:
    """Download ``filename`` into ``root`` from the first of ``mirrors`` (base URLs) that
    serves it intact, unless a verified copy is already there. Returns the file's path.

    Raises:
        RuntimeError: every mirror failed; the message lists each URL and its error.
    """
    fpath = os.path.join(os.path.expanduser(root), filename)
    if check_integrity(fpath, md5):
        return fpath
    errors = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + filename
        try:
            download_url(url, root, filename, md5)
            return fpath
        except _DOWNLOAD_ERRORS as error:
            print(f"Failed to download {url} (trying the next mirror): {error}")
            errors.append(f"{url}: {error}")
    raise RuntimeError(f"Error downloading {filename}: no mirror served it intact.\n  " + "\n  ".join(errors))


def _suffixes(path: str) -> tuple[str, str]:
    """The archive suffix (``.tar.gz``, ``.zip``, ``.gz``, ...) of ``path``, lower-cased, and
    its kind: "tar", "zip" or "compressed" (one compressed file)."""
    name = os.path.basename(path).lower()
    for suffix in sorted(_TAR_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix, "tar"
    if name.endswith(".zip"):
        return ".zip", "zip"
    for suffix in _COMPRESSIONS:
        if name.endswith(suffix):
            return suffix, "compressed"
    known = ", ".join(sorted([*_TAR_SUFFIXES, ".zip", *_COMPRESSIONS]))
    raise RuntimeError(f"Unknown compression or archive type of {path!r}. Known suffixes are: {known}.")


def _safe_tar_members(tar: tarfile.TarFile, path: str) -> Iterable[tarfile.TarInfo]:
    # An archive from the network may try to write outside the target folder.
    for member in tar.getmembers():
        parts = Path(member.name).parts
        if os.path.isabs(member.name) or ".." in parts or not (member.isfile() or member.isdir()):
            raise RuntimeError(f"Refusing to extract {member.name!r} from {path}: archives may only hold "
                               f"regular files and folders inside the target folder.")
        yield member


def extract_archive(from_path: str | Path, to_path: str | Path | None = None,
                    remove_finished: bool = False) -> str:
    """Unpack a .tar(.gz/.bz2/.xz), .tgz or .zip archive into ``to_path``, or decompress a single
    .gz/.bz2/.xz file into ``to_path`` under its name without the suffix.

    Args:
        from_path: the archive.
        to_path: the destination folder; defaults to the archive's folder.
        remove_finished: delete the archive afterwards.

    Returns:
        The destination folder, or the decompressed file's path for a single file.
    """
    from_path = os.fspath(from_path)
    to_path = os.path.dirname(from_path) if to_path is None else os.fspath(to_path)
    suffix, kind = _suffixes(from_path)
    result = to_path
    if kind == "tar":
        with tarfile.open(from_path, f"r:{_TAR_SUFFIXES[suffix]}") as tar:
            members = list(_safe_tar_members(tar, from_path))
            if hasattr(tarfile, "data_filter"):
                tar.extractall(to_path, members=members, filter="data")
            else:
                tar.extractall(to_path, members=members)
    elif kind == "zip":
        # Duplicate, overlapping or over-declared entries are refused first; extraction then
        # stops at each entry's declared size. ZipFile.extractall drops absolute prefixes
        # and ".." from member names.
        with open(from_path, "rb") as fh, ZipArchive(fh, repr(from_path), "extract_archive",
                                                     compressed=(zipfile.ZIP_DEFLATED,)) as archive:
            archive.zf.extractall(to_path)
    else:
        os.makedirs(to_path, exist_ok=True)
        result = os.path.join(to_path, os.path.basename(from_path)[:-len(suffix)])
        with _COMPRESSIONS[suffix](from_path, "rb") as src, _atomic_file(result) as dst:
            shutil.copyfileobj(src, dst, _CHUNK)
    if remove_finished:
        os.remove(from_path)
    return result


def download_and_extract_archive(url: str, download_root: str | Path, extract_root: str | Path | None = None,
                                 filename: str | None = None, md5: str | None = None,
                                 remove_finished: bool = False) -> None:
    """:func:`download_url` into ``download_root``, then :func:`extract_archive` into
    ``extract_root`` (default: ``download_root``)."""
    download_root = os.path.expanduser(download_root)
    filename = filename or os.path.basename(url)
    download_url(url, download_root, filename, md5)
    extract_archive(os.path.join(download_root, filename), extract_root or download_root, remove_finished)


def verify_str_arg(value: str, arg: str | None = None, valid_values: Iterable[str] | None = None,
                   custom_msg: str | None = None) -> str:
    """Return ``value`` if it is one of ``valid_values``; raise ValueError otherwise."""
    if not isinstance(value, str):
        where = "" if arg is None else f" for argument {arg}"
        raise ValueError(f"Expected type str{where}, but got type {type(value).__name__}.")
    if valid_values is None or value in valid_values:
        return value
    if custom_msg is None:
        choices = ", ".join(repr(v) for v in valid_values)
        custom_msg = f"Unknown value '{value}' for argument {arg}. Valid values are {{{choices}}}."
    raise ValueError(custom_msg)
