"""TensorBoard event files written without TensorFlow or protobuf.

An event file is a sequence of TFRecords (``uint64 length``, ``uint32 masked_crc32c(length)``,
``data``, ``uint32 masked_crc32c(data)``, little-endian), each holding one serialized ``Event``
protobuf. The few message fields needed for scalars are encoded by hand:

* ``Event``: ``wall_time`` (1, double), ``step`` (2, int64), ``file_version`` (3, string),
  ``summary`` (5, Summary);
* ``Summary``: ``value`` (1, repeated Value); ``Value``: ``tag`` (1, string),
  ``simple_value`` (2, float).
"""
from __future__ import annotations

import os
import socket
import struct
import time
from typing import Iterator

from .callbacks import Callback

__all__ = ["SummaryWriter", "TensorBoard", "read_events", "crc32c"]


def _crc32c_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """The CRC-32C (Castagnoli) checksum of ``data``."""
    crc = 0xFFFFFFFF
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _masked_crc(data: bytes) -> int:
    # TFRecord masks the CRC so that a CRC of data that itself holds CRCs stays well mixed.
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


# ---- protobuf wire format ------------------------------------------------------------


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # int64 fields encode negatives as ten-byte two's complement
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(field: int, wire: int) -> bytes:
    return _varint(field << 3 | wire)


def _bytes_field(field: int, payload: bytes) -> bytes:
    return _key(field, 2) + _varint(len(payload)) + payload


def _encode_event(wall_time: float, step: int, *, file_version: str | None = None,
                  scalars: dict[str, float] | None = None) -> bytes:
    out = _key(1, 1) + struct.pack("<d", wall_time) + _key(2, 0) + _varint(step)
    if file_version is not None:
        out += _bytes_field(3, file_version.encode())
    if scalars:
        values = b"".join(_bytes_field(1, _bytes_field(1, tag.encode()) + _key(2, 5) + struct.pack("<f", v))
                          for tag, v in scalars.items())
        out += _bytes_field(5, values)
    return out


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos


def _fields(buf: bytes) -> Iterator[tuple[int, int | float | bytes]]:
    """(field number, raw value) for each field of a serialized message."""
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            n, pos = _read_varint(buf, pos)
            value, pos = buf[pos:pos + n], pos + n
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"read_events: unsupported protobuf wire type {wire}")
        yield field, value


def _decode_event(buf: bytes) -> dict:
    event: dict = {"wall_time": 0.0, "step": 0, "scalars": {}}
    for field, value in _fields(buf):
        if field == 1:
            event["wall_time"] = struct.unpack("<d", value)[0]
        elif field == 2:
            event["step"] = value - (1 << 64) if value >= 1 << 63 else value
        elif field == 3:
            event["file_version"] = value.decode()
        elif field == 5:
            for vfield, vbuf in _fields(value):
                if vfield != 1:
                    continue
                parts = dict(_fields(vbuf))
                if 1 in parts and 2 in parts:
                    event["scalars"][parts[1].decode()] = struct.unpack("<f", parts[2])[0]
    return event


def read_events(path: str | os.PathLike) -> list[dict]:
    """Parse an event file: one dict per event with ``wall_time``, ``step``, ``scalars``
    (tag -> value) and, for the first event, ``file_version``.

    Raises:
        ValueError: a record is truncated or its checksum does not match.
    """
    with open(path, "rb") as fh:
        data = fh.read()
    events, pos = [], 0
    while pos < len(data):
        if pos + 12 > len(data):
            raise ValueError(f"read_events: truncated record header at byte {pos} of {path}")
        header = data[pos:pos + 8]
        (length,), (length_crc,) = struct.unpack("<Q", header), struct.unpack("<I", data[pos + 8:pos + 12])
        if _masked_crc(header) != length_crc:
            raise ValueError(f"read_events: corrupt record length at byte {pos} of {path}")
        body = data[pos + 12:pos + 12 + length]
        if len(body) != length or pos + 16 + length > len(data):
            raise ValueError(f"read_events: truncated record at byte {pos} of {path}")
        (body_crc,) = struct.unpack("<I", data[pos + 12 + length:pos + 16 + length])
        if _masked_crc(body) != body_crc:
            raise ValueError(f"read_events: corrupt record data at byte {pos} of {path}")
        events.append(_decode_event(body))
        pos += 16 + length
    return events


class SummaryWriter:
    """Write scalars to a TensorBoard event file in ``log_dir`` (``torch.utils.tensorboard``'s
    interface for scalars).

    Args:
        log_dir: the directory (created if missing); default ``runs/<time>_<host>``.
        filename_suffix: appended to the event file's name.
    """

    def __init__(self, log_dir: str | os.PathLike | None = None, filename_suffix: str = ""):
        host = socket.gethostname()
        if log_dir is None:
            log_dir = os.path.join("runs", time.strftime("%b%d_%H-%M-%S") + "_" + host)
        self.log_dir = os.fspath(log_dir)
        os.makedirs(self.log_dir, exist_ok=True)
        name = f"events.out.tfevents.{int(time.time()):010d}.{host}.{os.getpid()}{filename_suffix}"
        self.path = os.path.join(self.log_dir, name)
        self._fh = open(self.path, "wb")
        self._write(_encode_event(time.time(), 0, file_version="brain.Event:2"))
        self.flush()

    def _write(self, event: bytes) -> None:
        header = struct.pack("<Q", len(event))
        self._fh.write(header + struct.pack("<I", _masked_crc(header)) + event
                       + struct.pack("<I", _masked_crc(event)))

    def add_scalar(self, tag: str, scalar_value, global_step: int | None = None,
                   walltime: float | None = None) -> None:
        """Record ``scalar_value`` (a number or one-element tensor) under ``tag``."""
        self.add_scalars_flat({tag: scalar_value}, global_step, walltime)

    def add_scalars_flat(self, values: dict, global_step: int | None = None,
                         walltime: float | None = None) -> None:
        """Record several tags at one step in a single event."""
        scalars = {tag: float(v.item() if hasattr(v, "item") else v) for tag, v in values.items()}
        self._write(_encode_event(time.time() if walltime is None else walltime,
                                  0 if global_step is None else int(global_step), scalars=scalars))

    def flush(self) -> None:
        self._fh.flush()

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.flush()
            self._fh.close()

    def __enter__(self) -> "SummaryWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class TensorBoard(Callback):
    """Write every epoch's logs (losses, metrics, learning rate) as TensorBoard scalars,
    with the epoch as the step."""

    def __init__(self, log_dir: str | os.PathLike | None = None):
        self.log_dir = log_dir
        self.writer: SummaryWriter | None = None

    def on_fit_start(self, trainer) -> None:
        self.writer = SummaryWriter(self.log_dir)

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        numbers = {k: v for k, v in logs.items() if isinstance(v, (int, float))}
        self.writer.add_scalars_flat(numbers, epoch)
        self.writer.flush()

    def on_fit_end(self, trainer) -> None:
        self.writer.close()
