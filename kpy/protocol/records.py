"""Kafka record batches (magic v2), as described in Kafka's implementation docs.

A batch on the wire and on disk is::

    offset  field                   type
    0       baseOffset              int64
    8       batchLength             int32   bytes after this field
    12      partitionLeaderEpoch    int32
    16      magic                   int8    (2)
    17      crc                     uint32  CRC-32C of bytes [21, end)
    21      attributes              int16
    23      lastOffsetDelta         int32
    27      baseTimestamp           int64
    35      maxTimestamp            int64
    43      producerId              int64
    51      producerEpoch           int16
    53      baseSequence            int32
    57      recordCount             int32
    61      records...

The header helpers here never touch the records, so the produce and fetch paths stay
per-batch, not per-record.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import crc32c as _crc32c

BATCH_OVERHEAD = 61  # bytes of header before the first record
LOG_OVERHEAD = 12  # baseOffset + batchLength: the part not counted by batchLength
MAGIC_OFFSET = 16
CRC_OFFSET = 17
ATTRIBUTES_OFFSET = 21
MAX_TIMESTAMP_OFFSET = 35
PRODUCER_ID_OFFSET = 43

NO_PRODUCER_ID = -1
NO_PRODUCER_EPOCH = -1
NO_SEQUENCE = -1
NO_PARTITION_LEADER_EPOCH = -1
NO_TIMESTAMP = -1

# attribute bits
COMPRESSION_MASK = 0x07
TIMESTAMP_TYPE_MASK = 0x08  # 1 = LogAppendTime
TRANSACTIONAL_FLAG = 0x10
CONTROL_FLAG = 0x20
DELETE_HORIZON_FLAG = 0x40

_HEADER = struct.Struct(">qiibIhiqqqhii")
_I64 = struct.Struct(">q")
_I32 = struct.Struct(">i")
_U32 = struct.Struct(">I")


class InvalidBatch(ValueError):
    """A batch whose framing, magic or checksum is wrong."""


class CorruptBatch(InvalidBatch):
    """A batch whose stored CRC does not match its contents."""


def crc32c(data: bytes | bytearray | memoryview) -> int:
    return _crc32c.crc32c(data)


@dataclass(slots=True)
class BatchHeader:
    """The fixed 61-byte header of a v2 batch, decoded."""

    base_offset: int
    batch_length: int
    partition_leader_epoch: int
    magic: int
    crc: int
    attributes: int
    last_offset_delta: int
    base_timestamp: int
    max_timestamp: int
    producer_id: int
    producer_epoch: int
    base_sequence: int
    record_count: int

    @property
    def size(self) -> int:
        """Bytes the whole batch occupies, including baseOffset and batchLength."""
        return self.batch_length + LOG_OVERHEAD

    @property
    def last_offset(self) -> int:
        return self.base_offset + self.last_offset_delta

    @property
    def next_offset(self) -> int:
        return self.base_offset + self.last_offset_delta + 1

    @property
    def compression(self) -> int:
        return self.attributes & COMPRESSION_MASK

    @property
    def is_log_append_time(self) -> bool:
        return bool(self.attributes & TIMESTAMP_TYPE_MASK)

    @property
    def is_transactional(self) -> bool:
        return bool(self.attributes & TRANSACTIONAL_FLAG)

    @property
    def is_control(self) -> bool:
        return bool(self.attributes & CONTROL_FLAG)

    @property
    def has_delete_horizon(self) -> bool:
        return bool(self.attributes & DELETE_HORIZON_FLAG)

    @property
    def last_sequence(self) -> int:
        if self.base_sequence == NO_SEQUENCE:
            return NO_SEQUENCE
        return (self.base_sequence + self.last_offset_delta) & 0x7FFFFFFF


def read_header(buf: bytes | bytearray | memoryview, pos: int = 0) -> BatchHeader:
    """Decode the header of the batch at ``pos``; checks only that 61 bytes are there."""
    if len(buf) - pos < BATCH_OVERHEAD:
        raise InvalidBatch(f"batch header truncated: {len(buf) - pos} bytes at position {pos}")
    return BatchHeader(*_HEADER.unpack_from(buf, pos))


def pack_header(h: BatchHeader) -> bytes:
    return _HEADER.pack(
        h.base_offset,
        h.batch_length,
        h.partition_leader_epoch,
        h.magic,
        h.crc,
        h.attributes,
        h.last_offset_delta,
        h.base_timestamp,
        h.max_timestamp,
        h.producer_id,
        h.producer_epoch,
        h.base_sequence,
        h.record_count,
    )


def batch_size_at(buf: bytes | bytearray | memoryview, pos: int = 0) -> int:
    """Total size of the batch at ``pos`` (from its length field), or -1 if not enough bytes."""
    if len(buf) - pos < LOG_OVERHEAD:
        return -1
    return _I32.unpack_from(buf, pos + 8)[0] + LOG_OVERHEAD


def magic_at(buf: bytes | bytearray | memoryview, pos: int = 0) -> int:
    return buf[pos + MAGIC_OFFSET]


def compute_crc(buf: bytes | bytearray | memoryview, pos: int, size: int) -> int:
    return crc32c(memoryview(buf)[pos + ATTRIBUTES_OFFSET : pos + size])


def check_crc(buf: bytes | bytearray | memoryview, pos: int = 0, size: int | None = None) -> bool:
    """True if the stored CRC of the batch at ``pos`` matches its bytes."""
    if size is None:
        size = batch_size_at(buf, pos)
    stored = _U32.unpack_from(buf, pos + CRC_OFFSET)[0]
    return stored == compute_crc(buf, pos, size)


def validate_batch(buf: bytes | bytearray | memoryview, pos: int = 0) -> BatchHeader:
    """Cheap structural check of one v2 batch: sizes, magic and CRC; records untouched.

    Raises InvalidBatch (or CorruptBatch for a checksum mismatch).
    """
    size = batch_size_at(buf, pos)
    if size < BATCH_OVERHEAD:
        raise InvalidBatch(f"batch length {size - LOG_OVERHEAD} is below the v2 header size")
    if len(buf) - pos < size:
        raise InvalidBatch(f"batch of {size} bytes truncated to {len(buf) - pos}")
    magic = buf[pos + MAGIC_OFFSET]
    if magic != 2:
        raise InvalidBatch(f"unsupported magic {magic}")
    h = read_header(buf, pos)
    if not check_crc(buf, pos, size):
        raise CorruptBatch(f"CRC mismatch in batch at base offset {h.base_offset}")
    if h.last_offset_delta < 0 or h.record_count < 0:
        raise InvalidBatch("negative lastOffsetDelta or record count")
    return h


def iter_batches(buf: bytes | bytearray | memoryview, pos: int = 0, end: int | None = None):
    """Yield (position, header) for each whole batch in ``buf[pos:end]``.

    Stops at the first incomplete batch; never validates CRCs (use validate_batch for that).
    """
    if end is None:
        end = len(buf)
    while end - pos >= BATCH_OVERHEAD:
        size = _I32.unpack_from(buf, pos + 8)[0] + LOG_OVERHEAD
        if size < BATCH_OVERHEAD or pos + size > end:
            return
        yield pos, read_header(buf, pos)
        pos += size


def set_base_offset(buf: bytearray | memoryview, pos: int, base_offset: int) -> None:
    """Rewrite baseOffset in place; baseOffset is outside the CRC, so nothing else changes."""
    _I64.pack_into(buf, pos, base_offset)


def set_partition_leader_epoch(buf: bytearray | memoryview, pos: int, epoch: int) -> None:
    """partitionLeaderEpoch is outside the CRC too."""
    _I32.pack_into(buf, pos + 12, epoch)


def set_log_append_time(buf: bytearray | memoryview, pos: int, timestamp_ms: int) -> None:
    """Stamp a batch with LogAppendTime: set the timestamp-type bit and maxTimestamp, redo the CRC.

    Kafka leaves baseTimestamp and the per-record deltas alone; consumers use maxTimestamp
    for every record of a LogAppendTime batch.
    """
    size = batch_size_at(buf, pos)
    attrs = struct.unpack_from(">h", buf, pos + ATTRIBUTES_OFFSET)[0]
    struct.pack_into(">h", buf, pos + ATTRIBUTES_OFFSET, attrs | TIMESTAMP_TYPE_MASK)
    _I64.pack_into(buf, pos + MAX_TIMESTAMP_OFFSET, timestamp_ms)
    _U32.pack_into(buf, pos + CRC_OFFSET, compute_crc(buf, pos, size))
