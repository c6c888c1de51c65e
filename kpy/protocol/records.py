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
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

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


# The crc32c package is imported on first use: at import it looks its own version up among
# the installed distributions (importlib.metadata), which cost ~30 ms of start-up.
_crc32c: Any = None


def crc32c(data: bytes | bytearray | memoryview) -> int:
    return (_crc32c or _import_crc32c())(data)


def _import_crc32c() -> Any:
    global _crc32c
    import crc32c as lib

    _crc32c = lib.crc32c
    return _crc32c


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
    h = BatchHeader(*_HEADER.unpack_from(buf, pos))  # one unpack serves every check
    if h.magic != 2:
        raise InvalidBatch(f"unsupported magic {h.magic}")
    if h.crc != compute_crc(buf, pos, size):
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


_OFFSET_LENGTH_EPOCH = struct.Struct(">qii")


def set_offset_and_epoch(
    buf: bytearray | memoryview, pos: int, base_offset: int, epoch: int
) -> None:
    """Both rewrites of an append in one call (batchLength, between them, is written back)."""
    length = _I32.unpack_from(buf, pos + 8)[0]
    _OFFSET_LENGTH_EPOCH.pack_into(buf, pos, base_offset, length, epoch)


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


def set_max_timestamp(buf: bytearray | memoryview, pos: int, timestamp_ms: int) -> None:
    """Rewrite a batch's maxTimestamp and its CRC, leaving the attributes alone (a CreateTime
    batch whose header disagrees with its records gets the records' maximum, as in Kafka)."""
    size = batch_size_at(buf, pos)
    _I64.pack_into(buf, pos + MAX_TIMESTAMP_OFFSET, timestamp_ms)
    _U32.pack_into(buf, pos + CRC_OFFSET, compute_crc(buf, pos, size))


# -- records inside a batch (only where a feature needs them) ------------------------------------
#
# Everything below reads or writes individual records, so it costs per record; the broker uses
# it only for compaction, recompression, control markers and its own internal topics.

CONTROL_ABORT = 0
CONTROL_COMMIT = 1
CONTROL_KEY_VERSION = 0
END_TXN_MARKER_VERSION = 0

_CONTROL_KEY = struct.Struct(">hh")  # version, type
_END_TXN_VALUE = struct.Struct(">hi")  # version, coordinator epoch

Buffer = bytes | bytearray | memoryview


@dataclass(slots=True)
class Record:
    """One record of a v2 batch; offset and timestamp are deltas from the batch's bases.

    Field order is (key, value, headers, offset_delta, timestamp_delta, attributes) because
    callers build records positionally as ``Record(key, value, headers)``.
    """

    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]]
    offset_delta: int = 0
    timestamp_delta: int = 0
    attributes: int = 0

    def absolute_offset(self, batch: BatchHeader | int) -> int:
        """This record's offset, given its batch header or the batch's base offset."""
        base = batch if isinstance(batch, int) else batch.base_offset
        return base + self.offset_delta

    def absolute_timestamp(self, batch: BatchHeader) -> int:
        """This record's timestamp as a consumer sees it: maxTimestamp for LogAppendTime."""
        if batch.is_log_append_time:
            return batch.max_timestamp
        return batch.base_timestamp + self.timestamp_delta


def _zigzag(v: int) -> int:
    return (v << 1) ^ (v >> 63)


def _put_varint(out: bytearray, v: int) -> None:
    u = _zigzag(v) & 0xFFFFFFFFFFFFFFFF
    while u >= 0x80:
        out.append((u & 0x7F) | 0x80)
        u >>= 7
    out.append(u)


def _get_varint(buf: Buffer, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return (result >> 1) ^ -(result & 1), pos
        shift += 7
        if shift > 63:
            raise InvalidBatch("varint longer than 10 bytes")


def encode_record(r: Record) -> bytes:
    """One record in its wire form, length prefix included."""
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


def _parse_records(data: Buffer, count: int) -> Iterator[Record]:
    """Parse ``count`` records filling ``data`` exactly; every length is bounds-checked."""
    end = len(data)
    pos = 0

    def blob(pos: int, stop: int) -> tuple[bytes | None, int]:
        n, pos = _get_varint(data, pos)
        if n < 0:
            return None, pos
        if pos + n > stop:
            raise InvalidBatch(f"field of {n} bytes runs past its record")
        return bytes(data[pos : pos + n]), pos + n

    try:
        for i in range(count):
            length, pos = _get_varint(data, pos)
            stop = pos + length
            if length <= 0 or stop > end:
                raise InvalidBatch(f"record {i} has length {length}; {end - pos} bytes remain")
            attributes = data[pos]
            ts_delta, pos = _get_varint(data, pos + 1)
            off_delta, pos = _get_varint(data, pos)
            key, pos = blob(pos, stop)
            value, pos = blob(pos, stop)
            nh, pos = _get_varint(data, pos)
            if nh < 0:
                raise InvalidBatch(f"record {i} has {nh} headers")
            headers: list[tuple[str, bytes | None]] = []
            for _ in range(nh):
                hk, pos = blob(pos, stop)
                if hk is None:
                    raise InvalidBatch(f"record {i} has a header with a null key")
                hv, pos = blob(pos, stop)
                headers.append((hk.decode(), hv))
            if pos != stop:
                raise InvalidBatch(f"record {i}: length {length} does not match its fields")
            yield Record(key, value, headers, off_delta, ts_delta, attributes)
    except IndexError as exc:
        raise InvalidBatch("record truncated") from exc
    except UnicodeDecodeError as exc:
        raise InvalidBatch(f"record header key is not UTF-8: {exc}") from exc
    if pos != end:
        raise InvalidBatch(f"{end - pos} bytes after the last of {count} records")


def records_payload(batch: Buffer, pos: int = 0) -> bytes | memoryview:
    """The uncompressed record bytes of the batch at ``pos``.

    Raises InvalidBatch when the compressed data does not decode, UnsupportedCodec (a
    KafkaError) for a codec id Kafka does not define.
    """
    from kpy.protocol.compression import CorruptCompressedData, decompress

    h = read_header(batch, pos)
    body = memoryview(batch)[pos + BATCH_OVERHEAD : pos + h.size]
    if len(body) != h.size - BATCH_OVERHEAD:
        raise InvalidBatch(f"batch of {h.size} bytes truncated to {len(body) + BATCH_OVERHEAD}")
    if h.compression:
        try:
            return decompress(h.compression, body)
        except CorruptCompressedData as exc:
            raise InvalidBatch(str(exc)) from exc
    return body


def iter_records(batch: Buffer, pos: int = 0) -> Iterator[Record]:
    """Yield the records of the batch at ``pos`` one by one (the payload is decompressed
    whole first). Stop early to skip parsing the rest."""
    h = read_header(batch, pos)
    return _parse_records(records_payload(batch, pos), h.record_count)


def record_timestamps(batch: Buffer, pos: int = 0) -> list[int]:
    """The CreateTime timestamp (baseTimestamp + timestampDelta) of each record of the batch at
    ``pos``, reading only each record's length and timestamp delta (keys, values and headers
    are skipped, not decoded). Raises InvalidBatch when the records do not fill the batch."""
    h = read_header(batch, pos)
    data = records_payload(batch, pos)
    end = len(data)
    base = h.base_timestamp
    stamps = []
    p = 0
    try:
        for i in range(h.record_count):
            length, p = _get_varint(data, p)
            stop = p + length
            if length <= 0 or stop > end:
                raise InvalidBatch(f"record {i} has length {length}; {end - p} bytes remain")
            delta, _ = _get_varint(data, p + 1)  # after the attributes byte
            stamps.append(base + delta)
            p = stop
    except IndexError as exc:
        raise InvalidBatch("record truncated") from exc
    if p != end:
        raise InvalidBatch(f"{end - p} bytes after the last of {h.record_count} records")
    return stamps


def decode_records(batch: Buffer, pos: int = 0) -> list[Record]:
    """Every record of the batch at ``pos`` (decompressing if needed)."""
    return list(iter_records(batch, pos))


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
    last_offset_delta: int | None = None,
) -> bytearray:
    """A complete v2 batch with a correct CRC (a bytearray, so header setters work in place).

    Record timestamps are ``base_timestamp + timestamp_delta`` (None means 0). With
    ``delete_horizon_ms`` the batch's baseTimestamp becomes the horizon, as Kafka's cleaner
    writes it, and the deltas are shifted so that record timestamps stay the same.
    maxTimestamp defaults to the largest record timestamp. ``last_offset_delta`` keeps a
    compacted batch's original last offset; only with it may ``recs`` be empty.
    """
    from kpy.protocol.compression import compress

    if not recs and last_offset_delta is None:
        raise ValueError("a batch needs at least one record (or an explicit last_offset_delta)")
    base_ts = base_timestamp if base_timestamp is not None else 0
    if delete_horizon_ms is not None and delete_horizon_ms != base_ts:
        shift = base_ts - delete_horizon_ms
        recs = [
            Record(
                r.key, r.value, r.headers, r.offset_delta, r.timestamp_delta + shift, r.attributes
            )
            for r in recs
        ]
        base_ts = delete_horizon_ms
    payload: bytes = b"".join([encode_record(r) for r in recs])
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
    if last_offset_delta is None:
        last_offset_delta = max(r.offset_delta for r in recs)
    if max_timestamp is None:
        max_timestamp = base_ts + max(r.timestamp_delta for r in recs) if recs else base_ts
    h = BatchHeader(
        base_offset,
        BATCH_OVERHEAD - LOG_OVERHEAD + len(payload),
        partition_leader_epoch,
        2,
        0,
        attrs,
        last_offset_delta,
        base_ts,
        max_timestamp,
        producer_id,
        producer_epoch,
        base_sequence,
        len(recs),
    )
    buf = bytearray(pack_header(h))
    buf += payload
    _U32.pack_into(buf, CRC_OFFSET, compute_crc(buf, 0, len(buf)))
    return buf


def recompress(batch: Buffer, codec: int, pos: int = 0) -> bytearray:
    """The batch at ``pos`` with its records recompressed by ``codec``.

    Every header field except compression, length and CRC is kept: base offset, last offset
    delta, timestamps (and a delete horizon), producer id/epoch/sequence, transactional and
    control flags, partition leader epoch.
    """
    h = read_header(batch, pos)
    return build_batch(
        decode_records(batch, pos),
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
        delete_horizon_ms=h.base_timestamp if h.has_delete_horizon else None,
        max_timestamp=h.max_timestamp,
        last_offset_delta=h.last_offset_delta,
    )


def null_key_indexes(batch: Buffer, pos: int = 0) -> list[int]:
    """Positions (0-based, within the batch) of records whose key is null.

    Kafka refuses such records on compacted topics and names each one in the produce
    response's record errors.
    """
    return [i for i, r in enumerate(iter_records(batch, pos)) if r.key is None]


def has_null_key(batch: Buffer, pos: int = 0) -> bool:
    """True if any record of the batch has a null key (stops at the first one)."""
    return any(r.key is None for r in iter_records(batch, pos))


# -- control records (transaction markers) --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EndTxnMarker:
    """A decoded COMMIT or ABORT control record."""

    control_type: int  # CONTROL_COMMIT or CONTROL_ABORT
    coordinator_epoch: int
    key_version: int = CONTROL_KEY_VERSION
    value_version: int = END_TXN_MARKER_VERSION

    @property
    def committed(self) -> bool:
        return self.control_type == CONTROL_COMMIT


def encode_control_key(control_type: int, version: int = CONTROL_KEY_VERSION) -> bytes:
    return _CONTROL_KEY.pack(version, control_type)


def decode_control_key(key: Buffer | None) -> tuple[int, int]:
    """(version, type) of a control record key; types other than 0/1 are KRaft records."""
    if key is None or len(key) < _CONTROL_KEY.size:
        raise InvalidBatch(f"control record key of {0 if key is None else len(key)} bytes")
    version, ctype = _CONTROL_KEY.unpack_from(key, 0)
    if version < 0:
        raise InvalidBatch(f"control record key version {version}")
    return version, ctype


def encode_end_txn_marker_value(
    coordinator_epoch: int, version: int = END_TXN_MARKER_VERSION
) -> bytes:
    return _END_TXN_VALUE.pack(version, coordinator_epoch)


def decode_end_txn_marker_value(value: Buffer | None) -> tuple[int, int]:
    """(version, coordinator epoch) of a commit/abort marker's value."""
    if value is None or len(value) < _END_TXN_VALUE.size:
        raise InvalidBatch(
            f"transaction marker value of {0 if value is None else len(value)} bytes"
        )
    version, epoch = _END_TXN_VALUE.unpack_from(value, 0)
    if version < 0:
        raise InvalidBatch(f"transaction marker value version {version}")
    return version, epoch


def build_control_batch(
    control_type: int,
    *,
    producer_id: int,
    producer_epoch: int,
    coordinator_epoch: int = 0,
    timestamp: int = 0,
    base_offset: int = 0,
    partition_leader_epoch: int = NO_PARTITION_LEADER_EPOCH,
) -> bytearray:
    """A transaction marker: a transactional control batch with one COMMIT or ABORT record."""
    if control_type not in (CONTROL_ABORT, CONTROL_COMMIT):
        raise ValueError(f"not a transaction marker type: {control_type}")
    record = Record(
        encode_control_key(control_type), encode_end_txn_marker_value(coordinator_epoch), []
    )
    return build_batch(
        [record],
        base_offset=base_offset,
        base_timestamp=timestamp,
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        is_transactional=True,
        is_control=True,
        partition_leader_epoch=partition_leader_epoch,
    )


def control_type(batch: Buffer, pos: int = 0) -> int | None:
    """The control record type of a control batch (1 COMMIT, 0 ABORT, ...), None for data."""
    if not read_header(batch, pos).is_control:
        return None
    first = next(iter_records(batch, pos), None)
    if first is None:
        raise InvalidBatch("control batch without a control record")
    return decode_control_key(first.key)[1]


def end_txn_marker(batch: Buffer, pos: int = 0) -> EndTxnMarker | None:
    """The COMMIT/ABORT marker carried by the batch at ``pos``, None for any other batch."""
    if not read_header(batch, pos).is_control:
        return None
    first = next(iter_records(batch, pos), None)
    if first is None:
        raise InvalidBatch("control batch without a control record")
    key_version, ctype = decode_control_key(first.key)
    if ctype not in (CONTROL_ABORT, CONTROL_COMMIT):
        return None
    value_version, epoch = decode_end_txn_marker_value(first.value)
    return EndTxnMarker(ctype, epoch, key_version, value_version)


# -- legacy message sets (magic 0 and 1) ------------------------------------------------------------


def is_legacy(buf: Buffer, pos: int = 0) -> bool:
    """True for a message set of magic 0 or 1 (pre-0.11 formats).

    The magic byte sits at the same position (16) in all three formats. kpy refuses these on
    produce with INVALID_RECORD, as Kafka 4 does (produce v3+ may only carry magic 2); it never
    writes them. kpy.protocol.legacy_records decodes them for reading old data.
    """
    return len(buf) - pos > MAGIC_OFFSET and buf[pos + MAGIC_OFFSET] in (0, 1)
