"""Files for ember.text: atomic writes, md5 checks and checksum-verified downloads."""
from __future__ import annotations

import hashlib
import json
import os
import urllib.request
from typing import Any, Iterable

# Writes replace their file only when complete (see ember.io._files.atomic_file).
from ..io._files import atomic_file as _atomic_file

_CHUNK = 1 << 20


def save_json(obj: Any, path: str | os.PathLike) -> None:
    """Write ``obj`` as UTF-8 JSON to ``path`` atomically."""
    with _atomic_file(os.fspath(path)) as fh:
        fh.write(json.dumps(obj, ensure_ascii=False, indent=1).encode("utf-8"))


def load_json(path: str | os.PathLike, kind: str) -> dict:
    """Read a JSON file written by ``save_json`` for an object of ``kind`` (checked)."""
    with open(path, encoding="utf-8") as fh:
        obj = json.load(fh)
    if not isinstance(obj, dict) or obj.get("format") != kind:
        raise ValueError(f"{os.fspath(path)!r} is not a saved {kind} (its 'format' field is "
                         f"{obj.get('format') if isinstance(obj, dict) else None!r})")
    return obj


def md5(path: str | os.PathLike) -> str:
    """The md5 hex digest of a file's bytes."""
    h = hashlib.md5()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def download(urls: Iterable[str], path: str, expected_md5: str, timeout: float = 60.0) -> None:
    """Fetch a file from the first of ``urls`` that serves bytes with ``expected_md5``.

    The bytes go to a temporary file next to ``path`` that replaces it only once the
    checksum matches, so ``path`` never holds a partial or corrupt download.

    Raises:
        RuntimeError: no URL gave the expected file (each URL's failure is listed).
    """
    failures = []
    for url in urls:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, _atomic_file(path) as fh:
                h = hashlib.md5()
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    h.update(chunk)
                    fh.write(chunk)
                if h.hexdigest() != expected_md5:
                    raise ValueError(f"md5 {h.hexdigest()}, expected {expected_md5}")
            return
        except (OSError, ValueError) as exc:
            failures.append(f"  {url}: {exc}")
    raise RuntimeError(f"could not download {os.path.basename(path)} to {os.path.dirname(path) or '.'}:\n"
                       + "\n".join(failures))

