"""Validation of a produce request's records for one partition, like Kafka's LogValidator.

A pure function: bytes and a topic configuration in, a ValidatedBatch (possibly rewritten
bytes) out, or a KafkaError with the code Kafka gives. Only the batch header is read unless
a feature needs the records: keyless records on compacted topics, recompression when the
topic's compression.type is not ``producer``, and a CreateTime header that cannot be right.

Max timestamp. Kafka recomputes a CreateTime batch's maxTimestamp from its records (the
largest baseTimestamp + timestampDelta, and NO_TIMESTAMP (-1) when none is larger) and writes
that into the header. kpy trusts a header that is consistent, 0 <= baseTimestamp <=
maxTimestamp (what every client writes), and otherwise reads the records' timestamp deltas
and rewrites maxTimestamp and the CRC. Some clients (librdkafka's C++ API) send records
without timestamps as baseTimestamp -1, maxTimestamp 0: kept as sent, the segment would look
as old as 1970 and retention would delete it at once; corrected, its max timestamp is -1 and
retention judges it by the segment file's modification time, as Kafka does. A consistent
header whose maxTimestamp exceeds every record is kept where Kafka would lower it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kpy.protocol import records
from kpy.protocol.error_codes import ErrorCode, KafkaError

CODECS = {"uncompressed": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


@dataclass(slots=True)
class ValidatedBatch:
    """One client batch ready to append: its (possibly rewritten) bytes and header."""

    buffer: bytearray | memoryview
    header: records.BatchHeader
    log_append_time_ms: int | None  # set when the topic uses LogAppendTime


def validate_produce_records(
    data: memoryview | bytes | bytearray | None,
    config: dict[str, Any],
    now_ms: int,
) -> ValidatedBatch:
    """Check the records of one partition of a produce request (v3+: exactly one v2 batch)."""
    if data is None or len(data) == 0:
        raise KafkaError(ErrorCode.INVALID_RECORD, "Produce request has no record batch")
    if len(data) < records.LOG_OVERHEAD + 5:
        raise KafkaError(
            ErrorCode.CORRUPT_MESSAGE, f"Record batch of {len(data)} bytes is too short"
        )
    magic = data[records.MAGIC_OFFSET]
    if magic != 2:
        raise KafkaError(
            ErrorCode.INVALID_RECORD,
            f"Produce requests with version 3 and above are only allowed to contain record "
            f"batches with magic version 2, not {magic}",
        )
    size = records.batch_size_at(data, 0)
    if size != len(data):
        if size < len(data) and size >= records.BATCH_OVERHEAD:
            raise KafkaError(
                ErrorCode.INVALID_RECORD,
                "Produce requests with version 3 and above must contain exactly one record batch",
            )
        raise KafkaError(
            ErrorCode.CORRUPT_MESSAGE,
            f"Record batch length {size} does not match {len(data)} bytes",
        )
    try:
        header = records.validate_batch(data, 0)
    except records.CorruptBatch as exc:
        raise KafkaError(ErrorCode.CORRUPT_MESSAGE, str(exc)) from exc
    except records.InvalidBatch as exc:
        raise KafkaError(ErrorCode.CORRUPT_MESSAGE, str(exc)) from exc
    max_bytes = config["max.message.bytes"]
    if size > max_bytes:
        raise KafkaError(
            ErrorCode.MESSAGE_TOO_LARGE,
            f"The record batch size {size} bytes exceeds max.message.bytes={max_bytes}",
        )
    if header.base_offset != 0:
        raise KafkaError(
            ErrorCode.INVALID_RECORD,
            f"The baseOffset of the record batch should be 0, but it is {header.base_offset}",
        )
    if header.record_count != header.last_offset_delta + 1 or header.record_count == 0:
        raise KafkaError(
            ErrorCode.INVALID_RECORD,
            f"Record count {header.record_count} does not match lastOffsetDelta "
            f"{header.last_offset_delta}",
        )
    if header.is_control:
        raise KafkaError(ErrorCode.INVALID_RECORD, "Clients cannot write control batches")
    if header.is_transactional and header.producer_id < 0:
        raise KafkaError(ErrorCode.INVALID_RECORD, "Transactional batch without a producer id")

    buffer: bytearray | memoryview = data if not isinstance(data, bytes) else bytearray(data)
    log_append = config["message.timestamp.type"] == "LogAppendTime"
    if not log_append:
        _check_create_time(buffer, header, config, now_ms)

    try:
        if "compact" in config["cleanup.policy"] and records.has_null_key(buffer):
            raise KafkaError(
                ErrorCode.INVALID_RECORD,
                "Compacted topic cannot accept message without key",
            )
        target = config["compression.type"]
        if target != "producer" and CODECS[target] != header.compression:
            buffer = bytearray(records.recompress(buffer, CODECS[target]))
            header = records.read_header(buffer, 0)
    except records.InvalidBatch as exc:
        # The CRC matched but the records inside do not decode.
        raise KafkaError(ErrorCode.CORRUPT_MESSAGE, str(exc)) from exc
    if log_append:
        return ValidatedBatch(buffer, header, now_ms)
    return ValidatedBatch(buffer, header, None)


def _check_create_time(
    buffer: bytearray | memoryview,
    header: records.BatchHeader,
    config: dict[str, Any],
    now_ms: int,
) -> None:
    """Check a CreateTime batch's timestamps against message.timestamp.{before,after}.max.ms
    and correct its maxTimestamp in place (and in ``header``) when the header cannot be right."""
    if 0 <= header.base_timestamp <= header.max_timestamp:
        _check_range((header.base_timestamp, header.max_timestamp), config, now_ms)
        return
    try:
        stamps = records.record_timestamps(buffer)
    except records.InvalidBatch as exc:
        raise KafkaError(ErrorCode.CORRUPT_MESSAGE, str(exc)) from exc
    present = [ts for ts in stamps if ts != records.NO_TIMESTAMP]
    if present:
        _check_range((min(present), max(present)), config, now_ms)
    max_timestamp = max(max(stamps, default=records.NO_TIMESTAMP), records.NO_TIMESTAMP)
    if max_timestamp != header.max_timestamp:
        records.set_max_timestamp(buffer, 0, max_timestamp)
        header.max_timestamp = max_timestamp
        header.crc = records.read_header(buffer).crc


def _check_range(timestamps: tuple[int, int], config: dict[str, Any], now_ms: int) -> None:
    before = config["message.timestamp.before.max.ms"]
    after = config["message.timestamp.after.max.ms"]
    for ts in timestamps:
        if ts == records.NO_TIMESTAMP:
            continue
        if ts < now_ms - before or ts > now_ms + after:
            raise KafkaError(
                ErrorCode.INVALID_TIMESTAMP,
                f"Timestamp {ts} of a record is out of range: it must be within "
                f"[{now_ms - before}, {now_ms + after}] (before.max.ms={before}, "
                f"after.max.ms={after})",
            )
