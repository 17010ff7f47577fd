"""The file mechanics every ember reader and writer shares.

Writing: :func:`atomic_file` writes next to the target and renames over it, so a crash
leaves the old file or the new one; temporaries left by killed savers are removed by the
next save to the same path.

Reading: a file is never trusted to say how much memory to allocate. :class:`BoundedFile`
caps every read at the bytes really present, :class:`ZipArchive` checks every entry's
extent against the file before anything is read, and :func:`read_array` allocates an
array only after its caller has checked the size against those bytes, then fills it in
place in chunks (one copy of the data in memory, never two).
"""
from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
import struct
import time
import zipfile
from typing import BinaryIO, Callable, Iterator

import numpy as np

try:
    import fcntl
except ImportError:  # Windows: an open file cannot be deleted there, which protects it instead
    fcntl = None

__all__ = ["atomic_file", "atomic_write", "partial_name", "zip_info", "BoundedFile", "ZipArchive", "read_array",
           "CHUNK", "MAX_DIMS"]

CHUNK = 1 << 22  # bytes read or decompressed at a time: the only transient buffer of a load
MAX_DIMS = 64  # NumPy's limit (PyTorch's too, in practice)
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: the same object gives the same bytes
_PARTIAL = ".ember-partial-"
_STALE_AFTER_S = 3600.0  # an unlocked temporary untouched this long is abandoned even if its pid was reused


# ---- writing -------------------------------------------------------------------------


def partial_name(path: str) -> str:
    """The name of a temporary that a save of ``path`` writes first:
    ``.<name>.ember-partial-<pid>-<random>`` in the same folder."""
    directory, name = os.path.split(path)
    return os.path.join(directory, f".{name}{_PARTIAL}{os.getpid()}-{secrets.token_hex(4)}")


def _pid_alive(pid: int) -> bool:
    if os.name == "nt":
        return True  # os.kill would terminate it; Windows refuses to delete an open file instead
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def _remove_if_abandoned(path: str, pid: int) -> None:
    """Delete a temporary whose saver is gone. A live saver holds an exclusive lock on its
    temporary until the rename, and the kernel drops the lock when the saver dies (even by
    SIGKILL); the pid check covers the instant between a saver creating the file and locking it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return  # locked: a saver is writing it
            if _pid_alive(pid) and time.time() - os.fstat(fd).st_mtime < _STALE_AFTER_S:
                return
        with contextlib.suppress(OSError):
            os.unlink(path)
    finally:
        os.close(fd)


def _remove_stale_partials(path: str) -> None:
    directory, name = os.path.split(path)
    pattern = re.compile(re.escape(f".{name}{_PARTIAL}") + r"(\d+)-[0-9a-f]+")
    try:
        entries = list(os.scandir(directory or "."))
    except OSError:
        return
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match and entry.is_file(follow_symlinks=False):
            _remove_if_abandoned(entry.path, int(match.group(1)))


def _fsync_directory(path: str) -> None:
    # Makes the rename itself durable; directories cannot be opened this way on Windows.
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(os.path.dirname(path), os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A binary file whose contents replace ``path`` only when the block completes: a crash or
    an error leaves the old file (or none) and never a partial one.

    The semantics of ``open(path, "wb")`` are kept where they do not conflict with
    atomicity: through a symlink the link's target is replaced and the link stays; an
    existing file keeps its permission bits, and one that is not writable raises
    PermissionError; a new file gets ``0o666`` less the umask. The temporary
    (see :func:`partial_name`) is synced before the rename, and the folder after it.
    """
    target = os.path.realpath(os.fspath(path))
    try:
        existing = os.stat(target)
    except FileNotFoundError:
        existing = None
    if not os.path.isdir(os.path.dirname(target)):  # as open() says it: naming the path given
        raise FileNotFoundError(2, "No such file or directory (its folder does not exist)", os.fspath(path))
    if existing is not None and not os.access(target, os.W_OK):
        raise PermissionError(13, "Permission denied", os.fspath(path))
    _remove_stale_partials(target)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = partial_name(target)
        try:
            fd = os.open(tmp, flags, 0o666)
            break
        except FileExistsError:
            continue
    fh = None
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)  # held until closed: marks the temporary as in use
        if existing is not None and stat.S_ISREG(existing.st_mode) and hasattr(os, "fchmod"):
            os.fchmod(fd, stat.S_IMODE(existing.st_mode) & 0o777)
        fh = os.fdopen(fd, "wb")
        with fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
            os.replace(tmp, target)  # still locked, so no cleaner takes it in between
    except BaseException:
        if fh is None:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_directory(target)


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(fh)`` on an :func:`atomic_file` for ``path``."""
    with atomic_file(path) as fh:
        write(fh)


def zip_info(name: str) -> zipfile.ZipInfo:
    """A stored (uncompressed) zip entry with a fixed timestamp, as ember's archives use."""
    info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return info


# ---- reading -------------------------------------------------------------------------


class BoundedFile:
    """A seekable binary file whose reads never ask for more than the bytes left in it.

    ``read(n)`` with a size taken from the file itself (a pickle's string length, a zip
    directory's size) would otherwise allocate ``n`` bytes before finding out they are not
    there; here it returns what exists, and the parser reports the file as truncated.
    """

    def __init__(self, fh: BinaryIO):
        self.fh = fh
        self.start = fh.tell()
        self.size = fh.seek(0, os.SEEK_END)
        fh.seek(self.start)

    def left(self) -> int:
        return max(0, self.size - self.fh.tell())

    def read(self, n: int = -1) -> bytes:
        left = self.left()
        return self.fh.read(left if n is None or n < 0 or n > left else n)

    def readline(self, limit: int = -1) -> bytes:
        return self.fh.readline(limit)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self.fh.seek(offset, whence)

    def tell(self) -> int:
        return self.fh.tell()

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True


def read_array(read: Callable[[int], bytes], shape: tuple, stored: np.dtype, where: str) -> np.ndarray:
    """A native-endian array of ``shape`` filled from ``read(n)`` (little-endian elements of
    ``stored``). The caller has checked that the bytes exist; a short read still raises
    RuntimeError naming ``where``."""
    out = np.empty(shape, dtype=stored.newbyteorder("="))
    flat = out.reshape(-1)
    item = stored.itemsize
    per_chunk = max(1, CHUNK // item)
    for start in range(0, flat.size, per_chunk):
        count = min(per_chunk, flat.size - start)
        raw = read(count * item)
        if len(raw) != count * item:
            raise RuntimeError(f"{where} is truncated: it ends {(flat.size - start) * item - len(raw)} bytes early")
        flat[start:start + count] = np.frombuffer(raw, dtype=stored)
    return out


class ZipArchive:
    """A zip file checked as a whole before any entry is read.

    Refused, with a RuntimeError naming the file and the entry: an unreadable directory,
    duplicate names, encrypted entries, entries whose data lie outside the file or overlap
    another's (the trick that lets a few kilobytes expand to gigabytes), and, unless
    ``compressed`` names the allowed methods, any compressed entry. A deflated entry may
    not declare more than deflate can produce from its bytes (1032 to 1), and reads stop
    at the declared size, so memory and disk use stay in proportion to the file.
    """

    _DEFLATE_MAX_RATIO = 1032

    def __init__(self, fh: BinaryIO, name: str, who: str, compressed: tuple[int, ...] = ()):
        self.name, self.who = name, who
        self.file = BoundedFile(fh)
        try:
            self.zf = zipfile.ZipFile(self.file)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, struct.error,
                NotImplementedError) as e:
            raise self.error(f"is truncated or corrupted (its zip directory is unreadable: {e})") from None
        try:
            self._check(compressed)
        except BaseException:
            self.zf.close()
            raise

    def error(self, what: str) -> RuntimeError:
        return RuntimeError(f"{self.who}: {self.name} {what}")

    def _check(self, compressed: tuple[int, ...]) -> None:
        seen: set[str] = set()
        extents = []
        self._data_offsets: dict[str, int] = {}
        end = min(self.zf.start_dir, self.file.size)
        for info in self.zf.infolist():
            entry = info.filename
            if entry in seen:
                raise self.error(f"holds the entry {entry!r} twice; a zip archive names each entry once")
            seen.add(entry)
            if info.flag_bits & 0x1:
                raise self.error(f"entry {entry!r} is encrypted")
            if info.compress_type == zipfile.ZIP_STORED:
                if info.compress_size != info.file_size:
                    raise self.error(f"entry {entry!r} is stored uncompressed but declares {info.file_size} "
                                     f"bytes in {info.compress_size}")
            elif info.compress_type not in compressed:
                raise self.error(f"entry {entry!r} is compressed (method {info.compress_type}); this format "
                                 "stores entries uncompressed")
            elif info.file_size > self._DEFLATE_MAX_RATIO * info.compress_size + 64:
                raise self.error(f"entry {entry!r} declares {info.file_size} bytes, more than its "
                                 f"{info.compress_size} compressed bytes can hold")
            self.file.seek(info.header_offset)
            header = self.file.read(30)
            if len(header) != 30 or header[:4] != b"PK\x03\x04":
                raise self.error(f"is truncated or corrupted: entry {entry!r} has no local header at offset "
                                 f"{info.header_offset}")
            name_len, extra_len = struct.unpack("<HH", header[26:30])
            data_end = info.header_offset + 30 + name_len + extra_len + info.compress_size
            if data_end > end:
                raise self.error(f"is truncated or corrupted: entry {entry!r} declares {info.compress_size} "
                                 f"bytes, which reach past the {end} bytes of entry data in the file")
            extents.append((info.header_offset, data_end, entry))
            self._data_offsets[entry] = data_end - info.compress_size
        extents.sort()
        for (_, prev_end, prev), (start, _, entry) in zip(extents, extents[1:]):
            if start < prev_end:
                raise self.error(f"is corrupted: entries {prev!r} and {entry!r} overlap")

    def __enter__(self) -> "ZipArchive":
        return self

    def __exit__(self, *exc) -> None:
        self.zf.close()

    def names(self) -> list[str]:
        return self.zf.namelist()

    def size(self, entry: str) -> int:
        """The entry's size in bytes (checked against the file); RuntimeError when missing."""
        try:
            return self.zf.getinfo(entry).file_size
        except KeyError:
            raise self.error(f"is truncated or corrupted: {entry} is missing") from None

    def map_array(self, mapped, entry: str, count: int, stored: np.dtype) -> np.ndarray | None:
        """The stored entry's ``count`` elements as a view of ``mapped`` (the file mapped into
        memory), without a copy; None when the entry is compressed and must be read.
        Its size must be exactly ``count`` elements."""
        info = self.zf.getinfo(entry)
        if info.file_size != count * stored.itemsize:
            raise self.error(f"is truncated or corrupted: {entry} holds {info.file_size} bytes, expected "
                             f"{count * stored.itemsize}")
        if info.compress_type != zipfile.ZIP_STORED:
            return None
        return np.frombuffer(mapped, dtype=stored.newbyteorder("<"), count=count, offset=self._data_offsets[entry])

    def read(self, entry: str) -> bytes:
        """The whole entry (its size was checked against the file when the archive opened)."""
        self.size(entry)
        return self._reading(entry, lambda src: src.read())

    def read_array(self, entry: str, shape: tuple, stored: np.dtype) -> np.ndarray:
        """The entry's bytes as an array (see :func:`read_array`); its size must be exactly
        ``shape``'s, which is checked before allocating."""
        count = 1
        for n in shape:
            count *= n
        nbytes, size = count * stored.itemsize, self.size(entry)
        if size != nbytes:
            raise self.error(f"is truncated or corrupted: {entry} holds {size} bytes, expected {nbytes}")

        def fill(src):
            out = read_array(src.read, shape, stored, f"{self.who}: {self.name} entry {entry}")
            src.read(1)  # reaching the end makes zipfile verify the entry's checksum
            return out

        return self._reading(entry, fill)

    def _reading(self, entry: str, use):
        try:
            with self.zf.open(entry) as src:
                return use(src)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, struct.error, NotImplementedError) as e:
            raise self.error(f"is truncated or corrupted at entry {entry} ({type(e).__name__}: {e})") from None

