"""The produce validator's CreateTime max timestamp: a consistent header is trusted as sent,
an inconsistent one is recomputed from the records as Kafka's LogValidator does (the answers
below are what Apache Kafka 4.4 stored for the same batches)."""

from __future__ import annotations

import pytest

from kpy.protocol import records
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.protocol.records import Record
from kpy.storage.validator import validate_produce_records

NOW = 1_700_000_000_000
CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


def topic_config(**changes):
    config = {
        "max.message.bytes": 1_048_588,
        "message.timestamp.type": "CreateTime",
        "message.timestamp.before.max.ms": 2**63 - 1,
        "message.timestamp.after.max.ms": 2**63 - 1,
        "cleanup.policy": "delete",
        "compression.type": "producer",
    }
    config.update({k.replace("_", "."): v for k, v in changes.items()})
    return config


def batch(base, deltas, max_ts, codec=0):
    recs = [Record(b"k%d" % i, b"v%d" % i, [], i, d) for i, d in enumerate(deltas)]
    return records.build_batch(recs, base_timestamp=base, max_timestamp=max_ts, compression=codec)


def validate(data, **config):
    return validate_produce_records(memoryview(bytearray(data)), topic_config(**config), NOW)


@pytest.mark.parametrize("codec", CODECS.values(), ids=CODECS.keys())
def test_records_without_timestamps_get_max_timestamp_minus_one(codec):
    """librdkafka's C++ API: baseTimestamp -1, maxTimestamp 0, every delta 0."""
    sent = batch(-1, [0] * 5, 0, codec)
    v = validate(sent)
    stored = bytes(v.buffer)
    h = records.read_header(stored)
    assert v.header.max_timestamp == h.max_timestamp == -1
    assert records.check_crc(stored) and v.header.crc == h.crc
    assert h.base_timestamp == -1 and h.attributes == codec
    # Only maxTimestamp and the CRC changed; the records are the producer's bytes.
    assert stored[records.BATCH_OVERHEAD :] == sent[records.BATCH_OVERHEAD :]
    assert records.record_timestamps(stored) == [-1] * 5


@pytest.mark.parametrize(
    ("base", "deltas", "max_ts", "expected"),
    [
        (-1, [0, 5, 10], 0, 9),  # base -1 still adds up: records at -1, 4, 9
        (-1, [0, 0], NOW, -1),  # a header max with no record behind it
        (-1, [-3, -2], 0, -1),  # nothing above NO_TIMESTAMP
        (NOW, [0, -5, 3], NOW - 100, NOW + 3),  # maxTimestamp below baseTimestamp
        (NOW, [0, 2], -1, NOW + 2),
    ],
)
def test_inconsistent_header_gets_the_records_max(base, deltas, max_ts, expected):
    v = validate(batch(base, deltas, max_ts))
    assert v.header.max_timestamp == records.read_header(v.buffer).max_timestamp == expected
    assert records.check_crc(v.buffer)


def with_records(sent, body, base, max_ts):
    """``sent``'s header with ``body`` as its records and the given timestamps, CRC valid."""
    h = records.read_header(sent)
    h.batch_length = records.BATCH_OVERHEAD - records.LOG_OVERHEAD + len(body)
    h.base_timestamp, h.max_timestamp = base, max_ts
    buf = bytearray(records.pack_header(h)) + body
    buf[records.CRC_OFFSET : records.CRC_OFFSET + 4] = records.compute_crc(
        buf, 0, len(buf)
    ).to_bytes(4, "big")
    return buf


def test_consistent_header_is_trusted_without_reading_the_records():
    """0 <= baseTimestamp <= maxTimestamp: the bytes go through untouched, records unread
    (garbage records with a valid CRC pass, which a record scan would refuse)."""
    good = batch(NOW, [0, 1], NOW + 1)
    assert bytes(validate(good).buffer) == bytes(good)
    garbage = with_records(good, b"\xff" * 8, NOW, NOW + 1)
    assert validate(garbage).header.max_timestamp == NOW + 1
    # The same garbage behind an inconsistent header is read, and refused.
    with pytest.raises(KafkaError) as err:
        validate(with_records(good, b"\xff" * 8, -1, 0))
    assert err.value.code == ErrorCode.CORRUPT_MESSAGE


def test_recomputed_timestamps_are_range_checked():
    """Records found by the scan are checked against message.timestamp.*.max.ms; records
    without a timestamp (-1) never are."""
    with pytest.raises(KafkaError) as err:
        validate(batch(-1, [0, NOW + 10_002], 0), message_timestamp_after_max_ms=10_000)
    assert err.value.code == ErrorCode.INVALID_TIMESTAMP
    v = validate(batch(-1, [0, 0], 0), message_timestamp_before_max_ms=1)
    assert v.header.max_timestamp == -1


def test_recompressed_batch_keeps_the_corrected_max_timestamp():
    v = validate(batch(-1, [0] * 3, 0), compression_type="zstd")
    h = records.read_header(v.buffer)
    assert (h.compression, h.max_timestamp) == (4, -1) and records.check_crc(v.buffer)


def test_log_append_time_topic_is_not_scanned():
    v = validate(batch(-1, [0] * 3, 0), message_timestamp_type="LogAppendTime")
    assert v.log_append_time_ms == NOW  # the log stamps maxTimestamp on append
