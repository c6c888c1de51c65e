"""Record batches: build/decode round trips, CRC checks, control records, codecs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpy.protocol import compression, records
from kpy.protocol.records import Record

blob = st.none() | st.binary(max_size=40)
record = st.builds(
    Record,
    key=blob,
    value=blob,
    headers=st.lists(st.tuples(st.text(max_size=5), blob), max_size=3),
)


@settings(max_examples=60, deadline=None)
@given(
    recs=st.lists(record, min_size=1, max_size=8),
    codec=st.sampled_from([0, 1, 2, 3, 4]),
    base_ts=st.integers(0, 2**40),
)
def test_build_decode_round_trip(recs, codec, base_ts):
    for i, r in enumerate(recs):
        r.offset_delta = i
        r.timestamp_delta = i * 3
    batch = records.build_batch(recs, base_timestamp=base_ts, compression=codec, base_offset=42)
    h = records.validate_batch(batch)
    assert h.base_offset == 42
    assert h.record_count == len(recs) == h.last_offset_delta + 1
    assert h.compression == codec
    assert h.max_timestamp == base_ts + (len(recs) - 1) * 3
    assert records.decode_records(batch) == recs


def test_corruption_anywhere_in_the_crc_range_is_detected():
    batch = records.build_batch([Record(b"key", b"value" * 20, [("h", b"v")])], base_timestamp=5)
    records.validate_batch(batch)
    for i in range(records.ATTRIBUTES_OFFSET, len(batch)):
        broken = bytearray(batch)
        broken[i] ^= 0x01
        assert not records.check_crc(broken), i
        with pytest.raises(records.InvalidBatch):
            records.validate_batch(broken)


def test_base_offset_rewrite_keeps_crc_valid():
    batch = records.build_batch([Record(b"k", b"v", [])])
    records.set_base_offset(batch, 0, 123456)
    records.set_partition_leader_epoch(batch, 0, 7)
    h = records.validate_batch(batch)
    assert (h.base_offset, h.partition_leader_epoch) == (123456, 7)


def test_log_append_time_stamps_batch():
    batch = records.build_batch([Record(b"k", b"v", [])], base_timestamp=10)
    records.set_log_append_time(batch, 0, 99999)
    h = records.validate_batch(batch)
    assert h.is_log_append_time and h.max_timestamp == 99999


def test_control_records():
    for kind in (records.CONTROL_ABORT, records.CONTROL_COMMIT):
        batch = records.build_control_batch(
            kind, producer_id=7, producer_epoch=2, coordinator_epoch=3
        )
        h = records.validate_batch(batch)
        assert h.is_control and h.is_transactional and h.producer_id == 7
        assert records.control_type(batch) == kind
    assert records.control_type(records.build_batch([Record(b"k", b"v", [])])) is None


def test_recompress_keeps_records_and_producer_fields():
    recs = [Record(b"k%d" % i, b"v" * i, [], i, i) for i in range(5)]
    batch = records.build_batch(
        recs, producer_id=9, producer_epoch=1, base_sequence=4, base_timestamp=7
    )
    again = records.recompress(batch, compression.ZSTD)
    h = records.validate_batch(again)
    assert h.compression == compression.ZSTD
    assert (h.producer_id, h.producer_epoch, h.base_sequence) == (9, 1, 4)
    assert records.decode_records(again) == recs


def test_null_key_detection():
    assert records.has_null_key(records.build_batch([Record(None, b"v", [])]))
    assert not records.has_null_key(records.build_batch([Record(b"k", None, [])]))


def test_iter_batches_stops_at_partial_tail():
    a = records.build_batch([Record(b"a", b"1", [])])
    b = records.build_batch([Record(b"b", b"2", [])])
    buf = a + b + b[:30]
    assert [pos for pos, _ in records.iter_batches(buf)] == [0, len(a)]


def test_legacy_magic_detected():
    batch = bytearray(records.build_batch([Record(b"a", b"1", [])]))
    batch[records.MAGIC_OFFSET] = 1
    assert records.is_legacy(batch)
    with pytest.raises(records.InvalidBatch):
        records.validate_batch(batch)


@pytest.mark.parametrize("codec", [1, 2, 3, 4])
def test_codecs_round_trip(codec):
    data = bytes(range(256)) * 1000
    assert compression.decompress(codec, compression.compress(codec, data)) == data


def test_snappy_reads_raw_and_xerial_framing():
    import cramjam

    data = b"abc" * 50000
    raw = bytes(cramjam.snappy.compress_raw(data))
    assert compression.decompress(compression.SNAPPY, raw) == data
    framed = compression.compress(compression.SNAPPY, data)
    assert framed.startswith(b"\x82SNAPPY\x00")
    assert compression.decompress(compression.SNAPPY, framed) == data


def test_unknown_codec_is_an_error():
    with pytest.raises(compression.UnsupportedCodec):
        compression.compress(5, b"x")


@pytest.mark.parametrize("codec", [0, 1, 2, 3, 4])
def test_kafka_python_decodes_kpy_batches(codec):
    from kafka.record.default_records import DefaultRecordBatch

    recs = [Record(b"k%d" % i, b"v%d" % i, [("h", b"x")], i, i * 10) for i in range(4)]
    batch = records.build_batch(recs, base_timestamp=1_700_000_000_000, compression=codec)
    got = [(m.key, m.value, m.headers, m.timestamp) for m in DefaultRecordBatch(bytes(batch))]
    assert got == [
        (r.key, r.value, [("h", b"x")], 1_700_000_000_000 + r.timestamp_delta) for r in recs
    ]


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd", None])
def test_kpy_decodes_kafka_python_batches(codec):
    from kafka.record.default_records import DefaultRecordBatchBuilder

    ids = {None: 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
    builder = DefaultRecordBatchBuilder(
        magic=2,
        compression_type=ids[codec],
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
    records.validate_batch(batch)
    got = records.decode_records(batch)
    assert [(r.key, r.value, r.headers) for r in got] == [
        (b"k%d" % i, b"v%d" % i, [("a", b"b")]) for i in range(5)
    ]
    assert [r.timestamp_delta for r in got] == list(range(5))
