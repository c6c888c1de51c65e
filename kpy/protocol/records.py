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


# -- records inside a batch (only where a feature needs them) ------------------------------------

CONTROL_ABORT = 0
CONTROL_COMMIT = 1
# Produce v3+ must carry magic 2 batches; Kafka answers older message formats (magic 0/1)
# with INVALID_RECORD. kpy rejects them on produce and does not convert them.


@dataclass(slots=True)
class Record:
    """One record of a v2 batch; offset and timestamp are deltas from the batch's bases."""

    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]]
    offset_delta: int = 0
    timestamp_delta: int = 0
    attributes: int = 0


def _zigzag(v: int) -> int:
    return (v << 1) ^ (v >> 63)


def _put_varint(out: bytearray, v: int) -> None:
    u = _zigzag(v) & 0xFFFFFFFFFFFFFFFF
    while u >= 0x80:
        out.append((u & 0x7F) | 0x80)
        u >>= 7
    out.append(u)


def _get_varint(buf: bytes | memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return (result >> 1) ^ -(result & 1), pos
        shift += 7
        if shift > 63:
            raise InvalidBatch("varint too long")


def encode_record(r: Record) -> bytes:
    body = bytearray()
    body.append(r.attributes & 0xFF)
    _put_varint(body, r.timestamp_delta)
    _put_varint(body, r.offset_delta)
    for blob in (r.key, r.value):
        if blob is None:
            _put_varint(body, -1)
        else:
            _put_varint(body, len(blob))
            body += blob
    _put_varint(body, len(r.headers))
    for hk, hv in r.headers:
        kb = hk.encode()
        _put_varint(body, len(kb))
        body += kb
        if hv is None:
            _put_varint(body, -1)
        else:
            _put_varint(body, len(hv))
            body += hv
    out = bytearray()
    _put_varint(out, len(body))
    return bytes(out + body)


def _parse_records(data: bytes | memoryview, count: int) -> list[Record]:
    out = []
    pos = 0
    end = len(data)
    try:
        for _ in range(count):
            length, pos = _get_varint(data, pos)
            stop = pos + length
            if length < 0 or stop > end:
                raise InvalidBatch("record length past the end of the batch")
            attributes = data[pos]
            pos += 1
            ts_delta, pos = _get_varint(data, pos)
            off_delta, pos = _get_varint(data, pos)
            blobs: list[bytes | None] = []
            for _ in range(2):
                n, pos = _get_varint(data, pos)
                if n < 0:
                    blobs.append(None)
                else:
                    blobs.append(bytes(data[pos : pos + n]))
                    pos += n
            nh, pos = _get_varint(data, pos)
            headers: list[tuple[str, bytes | None]] = []
            for _ in range(nh):
                n, pos = _get_varint(data, pos)
                hk = bytes(data[pos : pos + n]).decode()
                pos += n
                n, pos = _get_varint(data, pos)
                if n < 0:
                    headers.append((hk, None))
                else:
                    headers.append((hk, bytes(data[pos : pos + n])))
                    pos += n
            if pos != stop:
                raise InvalidBatch("record length does not match its contents")
            out.append(Record(blobs[0], blobs[1], headers, off_delta, ts_delta, attributes))
    except IndexError as exc:
        raise InvalidBatch("record truncated") from exc
    return out


def records_payload(batch: bytes | bytearray | memoryview, pos: int = 0) -> bytes | memoryview:
    """The uncompressed record bytes of the batch at ``pos``."""
    from kpy.protocol.compression import decompress

    h = read_header(batch, pos)
    body = memoryview(batch)[pos + BATCH_OVERHEAD : pos + h.size]
    if h.compression:
        return decompress(h.compression, body)
    return body


def decode_records(batch: bytes | bytearray | memoryview, pos: int = 0) -> list[Record]:
    """Every record of the batch at ``pos`` (decompressing if needed)."""
    h = read_header(batch, pos)
    return _parse_records(records_payload(batch, pos), h.record_count)


def build_batch(
    recs: list[Record],
    *,
    base_offset: int = 0,
    base_timestamp: int | None = None,
    compression: int = 0,
    producer_id: int = NO_PRODUCER_ID,
    producer_epoch: int = NO_PRODUCER_EPOCH,
    base_sequence: int = NO_SEQUENCE,
    is_transactional: bool = False,
    is_control: bool = False,
    partition_leader_epoch: int = NO_PARTITION_LEADER_EPOCH,
    timestamp_type: int = 0,
    delete_horizon_ms: int | None = None,
    max_timestamp: int | None = None,
) -> bytearray:
    """A complete v2 batch with a correct CRC."""
    from kpy.protocol.compression import compress

    if not recs:
        raise ValueError("a batch needs at least one record")
    base_ts = base_timestamp if base_timestamp is not None else 0
    if delete_horizon_ms is not None:
        base_ts = delete_horizon_ms
    payload = b"".join(encode_record(r) for r in recs)
    if compression:
        payload = compress(compression, payload)
    attrs = compression & COMPRESSION_MASK
    if timestamp_type:
        attrs |= TIMESTAMP_TYPE_MASK
    if is_transactional:
        attrs |= TRANSACTIONAL_FLAG
    if is_control:
        attrs |= CONTROL_FLAG
    if delete_horizon_ms is not None:
        attrs |= DELETE_HORIZON_FLAG
    last_delta = max(r.offset_delta for r in recs)
    max_ts = (
        max_timestamp
        if max_timestamp is not None
        else base_ts + max(r.timestamp_delta for r in recs)
    )
    h = BatchHeader(
        base_offset,
        BATCH_OVERHEAD - LOG_OVERHEAD + len(payload),
        partition_leader_epoch,
        2,
        0,
        attrs,
        last_delta,
        base_ts,
        max_ts,
        producer_id,
        producer_epoch,
        base_sequence,
        len(recs),
    )
    buf = bytearray(pack_header(h))
    buf += payload
    _U32.pack_into(buf, CRC_OFFSET, compute_crc(buf, 0, len(buf)))
    return buf


def build_control_batch(
    control_type: int,
    *,
    producer_id: int,
    producer_epoch: int,
    coordinator_epoch: int = 0,
    timestamp: int = 0,
    base_offset: int = 0,
) -> bytearray:
    """A transaction marker: a control batch with one COMMIT or ABORT record."""
    key = struct.pack(">hh", 0, control_type)
    value = struct.pack(">hi", 0, coordinator_epoch)
    return build_batch(
        [Record(key, value, [])],
        base_offset=base_offset,
        base_timestamp=timestamp,
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        is_transactional=True,
        is_control=True,
    )


def control_type(batch: bytes | bytearray | memoryview, pos: int = 0) -> int | None:
    """COMMIT (1) or ABORT (0) for a control batch, None for a data batch."""
    h = read_header(batch, pos)
    if not h.is_control:
        return None
    recs = decode_records(batch, pos)
    if not recs or recs[0].key is None or len(recs[0].key) < 4:
        raise InvalidBatch("control batch without a control record key")
    return struct.unpack_from(">h", recs[0].key, 2)[0]


def has_null_key(batch: bytes | bytearray | memoryview, pos: int = 0) -> bool:
    return any(r.key is None for r in decode_records(batch, pos))


def recompress(batch: bytes | bytearray | memoryview, codec: int, pos: int = 0) -> bytearray:
    """The same batch with its records compressed by ``codec``; header fields kept."""
    h = read_header(batch, pos)
    recs = decode_records(batch, pos)
    return build_batch(
        recs,
        base_offset=h.base_offset,
        base_timestamp=h.base_timestamp,
        compression=codec,
        producer_id=h.producer_id,
        producer_epoch=h.producer_epoch,
        base_sequence=h.base_sequence,
        is_transactional=h.is_transactional,
        is_control=h.is_control,
        partition_leader_epoch=h.partition_leader_epoch,
        timestamp_type=1 if h.is_log_append_time else 0,
        max_timestamp=h.max_timestamp,
    )


def is_legacy(buf: bytes | bytearray | memoryview, pos: int = 0) -> bool:
    """True for a message set of magic 0 or 1 (pre-0.11 formats)."""
    return len(buf) - pos > MAGIC_OFFSET and buf[pos + MAGIC_OFFSET] in (0, 1)
