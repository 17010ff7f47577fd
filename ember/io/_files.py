"""Atomic file writes shared by ember's exporters (the same scheme as ``ember.save``)."""
from __future__ import annotations

import contextlib
import os
from typing import BinaryIO, Callable

from ..serialization import _create_temp, _fsync_directory


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(fh)`` on a temporary file next to ``path``, sync it and rename it over
    ``path``: a crash leaves either the old file or the complete new one."""
    path = os.fspath(path)
    fd, tmp = _create_temp(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_directory(path)
