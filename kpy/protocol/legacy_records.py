"""Legacy message sets (magic 0 and 1, Kafka before 0.11): read-only.

kpy never writes this format and refuses it on produce: Kafka 4 accepts only produce v3+,
whose records must be magic 2 batches, and answers anything else with INVALID_RECORD
(ProduceRequest.validateRecords raises InvalidRecordException). This module exists so old
data can still be read (a log copied from an old broker, a test fixture) and so a produce
carrying such bytes can be described precisely. A message set entry is::

    offset int64, message_size int32, crc uint32 (CRC-32 of the rest), magic int8,
    attributes int8 (bits 0-2 codec, bit 3 LogAppendTime in magic 1),
    [timestamp int64, magic 1 only], key bytes (int32 length, -1 null), value bytes

A compressed entry (codec != 0) is a wrapper whose value is a compressed message set of
inner messages. Inner offsets of magic 0 wrappers are absolute; those of magic 1 wrappers
are relative, and the wrapper's offset is that of the last inner message. A magic 1 wrapper
stamped with LogAppendTime gives its timestamp to every inner message.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from kpy.protocol.compression import LZ4, CorruptCompressedData, decompress
from kpy.protocol.records import (
    LOG_OVERHEAD,
    MAGIC_OFFSET,
    NO_TIMESTAMP,
    CorruptBatch,
    InvalidBatch,
)

Buffer = bytes | bytearray | memoryview

_ENTRY_HEAD = struct.Struct(">qiIbb")  # offset, size, crc, magic, attributes
_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")
_CODEC_MASK = 0x07
_LOG_APPEND_TIME = 0x08
_MIN_SIZE = {0: 14, 1: 22}  # crc .. value length with null key and value


@dataclass(slots=True)
class LegacyRecord:
    """One (inner, if compressed) message with absolute offset and timestamp.

    Shaped like a Record for consumers of key/value/headers; headers are always empty
    because the legacy formats have none.
    """

    offset: int
    timestamp: int  # NO_TIMESTAMP (-1) for magic 0
    key: bytes | None
    value: bytes | None
    magic: int
    log_append_time: bool = False
    headers: list[tuple[str, bytes | None]] = field(default_factory=list)


@dataclass(slots=True)
class _Entry:
    offset: int
    magic: int
    attributes: int
    timestamp: int
    key: bytes | None
    value: bytes | None


def _read_entry(buf: Buffer, pos: int, size: int, verify_crc: bool) -> _Entry:
    offset, _, crc, magic, attributes = _ENTRY_HEAD.unpack_from(buf, pos)
    end = pos + LOG_OVERHEAD + size
    if magic not in (0, 1):
        raise InvalidBatch(f"magic {magic} in a legacy message set at offset {offset}")
    if size < _MIN_SIZE[magic]:
        raise InvalidBatch(f"legacy message of {size} bytes at offset {offset}")
    if verify_crc and zlib.crc32(memoryview(buf)[pos + MAGIC_OFFSET : end]) != crc:
        raise CorruptBatch(f"CRC mismatch in legacy message at offset {offset}")
    p = pos + MAGIC_OFFSET + 2
    timestamp = NO_TIMESTAMP
    if magic == 1:
        timestamp = _I64.unpack_from(buf, p)[0]
        p += 8
    blobs: list[bytes | None] = []
    for name in ("key", "value"):
        if end - p < 4:
            raise InvalidBatch(f"legacy message {name} length truncated at offset {offset}")
        n = _I32.unpack_from(buf, p)[0]
        p += 4
        if n < 0:
            blobs.append(None)
            continue
        if p + n > end:
            raise InvalidBatch(f"legacy message {name} of {n} bytes overruns offset {offset}")
        blobs.append(bytes(buf[p : p + n]))
        p += n
    if p != end:
        raise InvalidBatch(f"legacy message at offset {offset} has {end - p} trailing bytes")
    return _Entry(offset, magic, attributes, timestamp, blobs[0], blobs[1])


def _entries(buf: Buffer, pos: int, end: int, verify_crc: bool) -> Iterator[_Entry]:
    """Whole entries of ``buf[pos:end]``; a partial trailing entry is ignored."""
    while end - pos >= LOG_OVERHEAD:
        size = _I32.unpack_from(buf, pos + 8)[0]
        if size < 0:
            raise InvalidBatch(f"legacy message size {size} at position {pos}")
        if pos + LOG_OVERHEAD + size > end:
            return
        if size < 6:
            raise InvalidBatch(f"legacy message of {size} bytes at position {pos}")
        yield _read_entry(buf, pos, size, verify_crc)
        pos += LOG_OVERHEAD + size


def iter_legacy_records(
    buf: Buffer, pos: int = 0, end: int | None = None, *, verify_crc: bool = True
) -> Iterator[LegacyRecord]:
    """Yield every message of the legacy message set in ``buf[pos:end]``, unwrapping
    compressed wrappers. Raises CorruptBatch on a CRC mismatch, InvalidBatch otherwise."""
    if end is None:
        end = len(buf)
    for outer in _entries(buf, pos, end, verify_crc):
        codec = outer.attributes & _CODEC_MASK
        log_append = outer.magic == 1 and bool(outer.attributes & _LOG_APPEND_TIME)
        if codec == 0:
            yield LegacyRecord(
                outer.offset, outer.timestamp, outer.key, outer.value, outer.magic, log_append
            )
            continue
        yield from _unwrap(outer, codec, log_append, verify_crc)


def _unwrap(
    outer: _Entry, codec: int, log_append: bool, verify_crc: bool
) -> Iterator[LegacyRecord]:
    if outer.value is None:
        raise InvalidBatch(f"compressed legacy wrapper at offset {outer.offset} has no value")
    try:
        # Kafka before 0.10 wrote a wrong LZ4 frame header checksum in magic 0 sets.
        data = decompress(
            codec, outer.value, lz4_ignore_header_checksum=outer.magic == 0 and codec == LZ4
        )
    except CorruptCompressedData as exc:
        raise InvalidBatch(f"legacy wrapper at offset {outer.offset}: {exc.message}") from exc
    inner = list(_entries(data, 0, len(data), verify_crc))
    if not inner:
        raise InvalidBatch(f"compressed legacy wrapper at offset {outer.offset} is empty")
    # Magic 1 inner offsets count from 0; the wrapper carries the last one's absolute offset.
    shift = outer.offset - inner[-1].offset if outer.magic > 0 else 0
    for e in inner:
        if e.attributes & _CODEC_MASK:
            raise InvalidBatch(f"nested compressed message inside wrapper at {outer.offset}")
        ts = outer.timestamp if log_append else e.timestamp
        yield LegacyRecord(e.offset + shift, ts, e.key, e.value, e.magic, log_append)


def decode_legacy(buf: Buffer, pos: int = 0, end: int | None = None) -> list[LegacyRecord]:
    """Every message of a legacy message set (see iter_legacy_records)."""
    return list(iter_legacy_records(buf, pos, end))
