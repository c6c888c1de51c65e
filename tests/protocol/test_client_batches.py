"""Batches from real clients decode in kpy; batches kpy builds decode in kafka-python.

The fixtures are Produce payloads captured from kafka-python and confluent-kafka (librdkafka)
by tests/protocol/fixtures/capture.py; see fixtures/README.md.
"""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path

import pytest

from kpy.protocol import compression, legacy_records, records
from kpy.protocol.records import Record

FIXTURES = Path(__file__).parent / "fixtures"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())
CODEC_NAMES = ["none", "gzip", "snappy", "lz4", "zstd"]
CLIENTS = ["kafka-python", "confluent-kafka"]


def _b(v: str | None) -> bytes | None:
    return None if v is None else base64.b64decode(v)


@pytest.mark.parametrize("codec", CODEC_NAMES)
@pytest.mark.parametrize("client", CLIENTS)
def test_client_batches_decode_to_what_was_sent(client, codec):
    data = (FIXTURES / f"{client}-{codec}.bin").read_bytes()
    got = []
    batches = list(records.iter_batches(data))
    assert batches and sum(h.size for _, h in batches) == len(data)
    for pos, h in batches:
        assert records.validate_batch(data, pos) == h
        assert h.compression == compression.CODEC_IDS[codec]
        assert not h.is_control and not h.is_transactional and h.producer_id == -1
        for r in records.iter_records(data, pos):
            got.append((r.key, r.value, r.headers, r.absolute_timestamp(h)))
        # What the broker does to a client batch: reassign offsets, recompress.
        assert records.decode_records(records.recompress(data, compression.ZSTD, pos)) == (
            records.decode_records(data, pos)
        )
    want = [
        (_b(e["key"]), _b(e["value"]), [(k, _b(v)) for k, v in e["headers"]], e["timestamp"])
        for e in EXPECTED["records"][client]
    ]
    assert got == want


@pytest.mark.parametrize("codec", [0, 1, 2, 3, 4])
def test_kafka_python_decodes_kpy_batches(codec):
    from kafka.record.default_records import DefaultRecordBatch
    from kafka.record.memory_records import MemoryRecords

    recs = [
        Record(b"k0", b"v0", [("h", b"x")], 0, 0),
        Record(None, b"v1", [], 1, 10),
        Record(b"k2", None, [("a", b""), ("b", b"\xff")], 2, 20),
    ]
    base_ts = 1_700_000_000_000
    batch = records.build_batch(
        recs,
        base_timestamp=base_ts,
        compression=codec,
        base_offset=500,
        producer_id=42,
        producer_epoch=3,
        base_sequence=17,
        partition_leader_epoch=4,
    )
    kb = DefaultRecordBatch(bytes(batch))
    assert kb.validate_crc()
    assert (kb.base_offset, kb.producer_id, kb.producer_epoch, kb.base_sequence) == (
        500,
        42,
        3,
        17,
    )
    assert kb.compression_type == codec
    got = [(m.offset, m.key, m.value, m.headers, m.timestamp) for m in kb]
    assert got == [
        (500 + r.offset_delta, r.key, r.value, r.headers, base_ts + r.timestamp_delta) for r in recs
    ]
    # Two batches back to back, as a fetch response carries them.
    second = records.build_batch([Record(b"z", b"z", [])], base_offset=503, compression=codec)
    mr = MemoryRecords(bytes(batch + second))
    offsets = []
    while mr.has_next():
        offsets += [m.offset for m in mr.next_batch()]
    assert offsets == [500, 501, 502, 503]


@pytest.mark.parametrize("kind", [records.CONTROL_ABORT, records.CONTROL_COMMIT])
def test_kafka_python_sees_kpy_control_batches(kind):
    from kafka.record.default_records import DefaultRecordBatch

    batch = records.build_control_batch(kind, producer_id=5, producer_epoch=1, base_offset=9)
    kb = DefaultRecordBatch(bytes(batch))
    assert kb.validate_crc() and kb.is_control_batch and kb.is_transactional


@pytest.mark.parametrize("codec", [None, "gzip", "snappy", "lz4", "zstd"])
def test_kpy_decodes_kafka_python_builder_batches(codec):
    from kafka.record.default_records import DefaultRecordBatchBuilder

    builder = DefaultRecordBatchBuilder(
        magic=2,
        compression_type=compression.CODEC_IDS.get(codec or "none"),
        is_transactional=False,
        producer_id=-1,
        producer_epoch=-1,
        base_sequence=-1,
        batch_size=1 << 20,
    )
    for i in range(5):
        builder.append(
            i, timestamp=1000 + i, key=b"k%d" % i, value=b"v%d" % i, headers=[("a", b"b")]
        )
    batch = bytes(builder.build())
    h = records.validate_batch(batch)
    got = [
        (r.key, r.value, r.headers, r.absolute_timestamp(h)) for r in records.iter_records(batch)
    ]
    assert got == [(b"k%d" % i, b"v%d" % i, [("a", b"b")], 1000 + i) for i in range(5)]


# -- legacy message sets, built by kafka-python's own legacy builder --------------------------


def _legacy_set(magic: int, codec: int, n: int = 4, first_offset: int = 0) -> bytes:
    from kafka.record.legacy_records import LegacyRecordBatchBuilder

    builder = LegacyRecordBatchBuilder(magic=magic, compression_type=codec, batch_size=1 << 20)
    for i in range(n):
        key = None if i == 1 else b"k%d" % i
        builder.append(first_offset + i, timestamp=2000 + i, key=key, value=b"v%d" % i)
    return bytes(builder.build())


@pytest.mark.parametrize("codec", [0, 1, 2])  # lz4 for magic 0/1 needs xxhash in kafka-python
@pytest.mark.parametrize("magic", [0, 1])
def test_legacy_message_sets_are_read(magic, codec):
    data = _legacy_set(magic, codec)
    assert records.is_legacy(data)
    got = legacy_records.decode_legacy(data)
    want_ts = [2000 + i for i in range(4)] if magic == 1 else [-1] * 4
    # A producer leaves a magic 1 wrapper's offset at 0 and numbers inner messages from 0;
    # absolute offsets count back from the wrapper's, so they only mean something once a
    # broker has stamped the wrapper (next test).
    shift = -3 if magic == 1 and codec else 0
    assert [(r.offset, r.key, r.value, r.timestamp, r.magic) for r in got] == [
        (i + shift, None if i == 1 else b"k%d" % i, b"v%d" % i, want_ts[i], magic) for i in range(4)
    ]
    assert all(r.headers == [] for r in got)


def test_legacy_v1_wrapper_gives_absolute_offsets_and_log_append_time():
    data = bytearray(_legacy_set(1, 1))
    # Rewrite the wrapper as a broker would: offset of the last inner message, LogAppendTime.
    data[0:8] = (103).to_bytes(8, "big")
    data[17] |= 0x08
    data[18:26] = (9999).to_bytes(8, "big")
    data[12:16] = zlib.crc32(bytes(data[16:])).to_bytes(4, "big")
    got = legacy_records.decode_legacy(data)
    assert [r.offset for r in got] == [100, 101, 102, 103]
    assert all(r.timestamp == 9999 and r.log_append_time for r in got)


def test_legacy_crc_mismatch_and_truncation():
    data = bytearray(_legacy_set(1, 0))
    assert len(legacy_records.decode_legacy(data[:-3])) == 3  # partial tail ignored
    data[30] ^= 1
    with pytest.raises(records.CorruptBatch):
        legacy_records.decode_legacy(data)
    assert len(list(legacy_records.iter_legacy_records(data, verify_crc=False))) == 4


def test_legacy_set_is_not_a_v2_batch():
    data = _legacy_set(1, 0)
    with pytest.raises(records.InvalidBatch):
        records.validate_batch(data)
