"""TensorBoard event files without TensorFlow or protobuf: TFRecord framing, CRC-32C and the
few protobuf messages written, encoded by hand.

An event file is a sequence of TFRecords (``uint64 length``, ``uint32 masked_crc32c(length)``,
``data``, ``uint32 masked_crc32c(data)``, little-endian), each holding one serialized ``Event``:
``wall_time`` (1, double), ``step`` (2, int64), ``file_version`` (3, string), ``summary``
(5, Summary), ``session_log`` (7). A ``Summary`` holds repeated ``Value`` (1): ``tag`` (1),
``simple_value`` (2, float), ``image`` (4), ``histo`` (5), ``tensor`` (8), ``metadata`` (9).
"""
from __future__ import annotations

import os
import struct
from typing import Iterable, Iterator

__all__ = ["crc32c", "record", "event", "read_events"]


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


def record(data: bytes) -> bytes:
    """``data`` framed as one TFRecord."""
    header = struct.pack("<Q", len(data))
    return header + struct.pack("<I", _masked_crc(header)) + data + struct.pack("<I", _masked_crc(data))


# ---- protobuf wire format: each helper returns one encoded field ---------------------


def varint(n: int) -> bytes:
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


def key(field: int, wire: int) -> bytes:
    return varint(field << 3 | wire)


def int_field(field: int, value: int) -> bytes:
    """An integer or enum field; proto3 leaves a zero out."""
    return key(field, 0) + varint(int(value)) if value else b""


def double_field(field: int, value: float) -> bytes:
    return key(field, 1) + struct.pack("<d", value)


def float_field(field: int, value: float) -> bytes:
    return key(field, 5) + struct.pack("<f", value)


def bytes_field(field: int, payload: bytes | str) -> bytes:
    """A string, bytes or embedded message field."""
    if isinstance(payload, str):
        payload = payload.encode()
    return key(field, 2) + varint(len(payload)) + payload


def packed_doubles(field: int, values: Iterable[float]) -> bytes:
    values = list(values)
    return bytes_field(field, struct.pack(f"<{len(values)}d", *values)) if values else b""


def event(wall_time: float, step: int, *, file_version: str | None = None, summary: bytes | None = None,
          session_log: bytes | None = None) -> bytes:
    """A serialized ``Event``; ``summary`` is a serialized ``Summary``."""
    out = double_field(1, wall_time) + key(2, 0) + varint(step)
    if file_version is not None:
        out += bytes_field(3, file_version)
    if summary is not None:
        out += bytes_field(5, summary)
    if session_log is not None:
        out += bytes_field(7, session_log)
    return out


# ---- reading back ----------------------------------------------------------------------


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
        k, pos = _read_varint(buf, pos)
        field, wire = k >> 3, k & 7
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
    decoded: dict = {"wall_time": 0.0, "step": 0, "scalars": {}}
    for field, value in _fields(buf):
        if field == 1:
            decoded["wall_time"] = struct.unpack("<d", value)[0]
        elif field == 2:
            decoded["step"] = value - (1 << 64) if value >= 1 << 63 else value
        elif field == 3:
            decoded["file_version"] = value.decode()
        elif field == 5:
            for vfield, vbuf in _fields(value):
                if vfield != 1:
                    continue
                parts = dict(_fields(vbuf))
                if 1 in parts and 2 in parts:
                    decoded["scalars"][parts[1].decode()] = struct.unpack("<f", parts[2])[0]
    return decoded


def read_events(path: str | os.PathLike) -> list[dict]:
    """Parse an event file: one dict per event with ``wall_time``, ``step``, ``scalars``
    (tag -> simple value) and, for the first event, ``file_version``.

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
