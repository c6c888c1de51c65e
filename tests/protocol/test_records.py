"""Record batches: build/decode round trips, CRC checks, control records, codecs."""

from __future__ import annotations

from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpy.protocol import compression, records
from kpy.protocol.error_codes import ErrorCode
from kpy.protocol.records import Record

CODECS = [0, 1, 2, 3, 4]
blob = st.none() | st.binary(max_size=40)
record = st.builds(
    Record,
    key=blob,
    value=blob,
    headers=st.lists(st.tuples(st.text(max_size=5), blob), max_size=3),
    attributes=st.just(0),
)
header_fields = {
    "base_offset": st.integers(0, 2**62),
    "base_timestamp": st.integers(0, 2**42),
    "producer_id": st.integers(-1, 2**62),
    "producer_epoch": st.integers(-1, 2**15 - 1),
    "base_sequence": st.integers(-1, 2**31 - 1),
    "is_transactional": st.booleans(),
    "partition_leader_epoch": st.integers(-1, 2**31 - 1),
    "timestamp_type": st.integers(0, 1),
}


def _number(recs: list[Record], ts_step: int = 3) -> list[Record]:
    for i, r in enumerate(recs):
        r.offset_delta = i
        r.timestamp_delta = i * ts_step
    return recs


@settings(max_examples=150, deadline=None)
@given(
    recs=st.lists(record, min_size=1, max_size=8),
    codec=st.sampled_from(CODECS),
    fields=st.fixed_dictionaries(header_fields),
)
def test_build_decode_round_trip(recs, codec, fields):
    _number(recs)
    batch = records.build_batch(recs, compression=codec, **fields)
    h = records.validate_batch(batch)
    assert h.size == len(batch)
    assert h.base_offset == fields["base_offset"]
    assert h.record_count == len(recs) == h.last_offset_delta + 1
    assert h.compression == codec
    assert h.base_timestamp == fields["base_timestamp"]
    assert h.max_timestamp == fields["base_timestamp"] + (len(recs) - 1) * 3
    assert (h.producer_id, h.producer_epoch, h.base_sequence) == (
        fields["producer_id"],
        fields["producer_epoch"],
        fields["base_sequence"],
    )
    assert h.is_transactional == fields["is_transactional"]
    assert h.is_log_append_time == bool(fields["timestamp_type"])
    assert h.partition_leader_epoch == fields["partition_leader_epoch"]
    assert records.decode_records(batch) == recs
    assert list(records.iter_records(batch)) == recs


def test_absolute_offset_and_timestamp():
    recs = _number([Record(b"k", b"v", []) for _ in range(3)], ts_step=10)
    batch = records.build_batch(recs, base_offset=100, base_timestamp=5000)
    h = records.read_header(batch)
    got = [(r.absolute_offset(h), r.absolute_timestamp(h)) for r in records.iter_records(batch)]
    assert got == [(100, 5000), (101, 5010), (102, 5020)]
    assert recs[2].absolute_offset(7) == 9
    records.set_log_append_time(batch, 0, 9999)
    h = records.read_header(batch)
    assert [r.absolute_timestamp(h) for r in records.iter_records(batch)] == [9999] * 3


def test_delete_horizon_keeps_record_timestamps():
    recs = _number([Record(b"k", None, []) for _ in range(3)], ts_step=10)
    batch = records.build_batch(recs, base_timestamp=5000, delete_horizon_ms=90_000)
    h = records.validate_batch(batch)
    assert h.has_delete_horizon and h.base_timestamp == 90_000
    assert [r.absolute_timestamp(h) for r in records.iter_records(batch)] == [5000, 5010, 5020]
    assert h.max_timestamp == 5020


def test_empty_batch_keeps_last_offset_delta():
    # What compaction leaves when it drops every record but must keep producer state.
    batch = records.build_batch(
        [], last_offset_delta=9, base_timestamp=77, producer_id=3, base_sequence=10
    )
    h = records.validate_batch(batch)
    assert (h.record_count, h.last_offset_delta, h.last_sequence) == (0, 9, 19)
    assert records.decode_records(batch) == []
    with pytest.raises(ValueError):
        records.build_batch([])


def test_corruption_anywhere_in_the_crc_range_is_detected():
    batch = records.build_batch(
        _number([Record(b"key", b"value" * 20, [("h", b"v")]), Record(None, b"x", [])]),
        base_timestamp=5,
        compression=compression.LZ4,
    )
    records.validate_batch(batch)
    for i in range(records.ATTRIBUTES_OFFSET, len(batch)):
        for bit in (0x01, 0x80):
            broken = bytearray(batch)
            broken[i] ^= bit
            assert not records.check_crc(broken), i
            with pytest.raises(records.CorruptBatch):
                records.validate_batch(broken)


@settings(max_examples=200, deadline=None)
@given(
    recs=st.lists(record, min_size=1, max_size=4),
    codec=st.sampled_from(CODECS),
    where=st.floats(0, 1, exclude_max=True),
    flip=st.integers(1, 255),
)
def test_any_flipped_byte_is_caught_without_decoding(recs, codec, where, flip):
    batch = records.build_batch(_number(recs), compression=codec, base_timestamp=1)
    i = records.CRC_OFFSET + int(where * (len(batch) - records.CRC_OFFSET))
    broken = bytearray(batch)
    broken[i] ^= flip
    # Validation must not look at the records: parsing or decompressing would fail loudly.
    with (
        mock.patch.object(records, "_parse_records", None),
        mock.patch.object(compression, "decompress", None),
        pytest.raises(records.CorruptBatch),
    ):
        records.validate_batch(broken)


def test_header_rewrites_outside_the_crc_keep_it_valid():
    batch = records.build_batch([Record(b"k", b"v", [])])
    records.set_offset_and_epoch(batch, 0, 123456, 7)
    h = records.validate_batch(batch)
    assert (h.base_offset, h.partition_leader_epoch) == (123456, 7)


def test_log_append_time_stamps_batch():
    batch = records.build_batch([Record(b"k", b"v", [])], base_timestamp=10)
    records.set_log_append_time(batch, 0, 99999)
    h = records.validate_batch(batch)
    assert h.is_log_append_time and h.max_timestamp == 99999


@pytest.mark.parametrize("kind", [records.CONTROL_ABORT, records.CONTROL_COMMIT])
def test_control_batches(kind):
    batch = records.build_control_batch(
        kind, producer_id=7, producer_epoch=2, coordinator_epoch=3, timestamp=55, base_offset=9
    )
    h = records.validate_batch(batch)
    assert h.is_control and h.is_transactional and h.producer_id == 7 and h.producer_epoch == 2
    assert (h.base_offset, h.record_count, h.base_timestamp) == (9, 1, 55)
    assert records.control_type(batch) == kind
    marker = records.end_txn_marker(batch)
    assert marker == records.EndTxnMarker(kind, 3)
    assert marker.committed == (kind == records.CONTROL_COMMIT)
    (rec,) = records.decode_records(batch)
    assert rec.key == b"\x00\x00\x00" + bytes([kind])
    assert rec.value == b"\x00\x00\x00\x00\x00\x03"


@given(ctype=st.integers(-(2**15), 2**15 - 1), epoch=st.integers(-(2**31), 2**31 - 1))
def test_control_key_and_marker_value_round_trip(ctype, epoch):
    assert records.decode_control_key(records.encode_control_key(ctype)) == (0, ctype)
    value = records.encode_end_txn_marker_value(epoch)
    assert records.decode_end_txn_marker_value(value) == (0, epoch)


def test_control_record_errors():
    with pytest.raises(records.InvalidBatch):
        records.decode_control_key(b"\x00")
    with pytest.raises(records.InvalidBatch):
        records.decode_control_key(b"\xff\xff\x00\x01")  # negative version
    with pytest.raises(records.InvalidBatch):
        records.decode_end_txn_marker_value(None)
    with pytest.raises(ValueError):
        records.build_control_batch(2, producer_id=1, producer_epoch=0)
    data = records.build_batch([Record(b"k", b"v", [])])
    assert records.control_type(data) is None and records.end_txn_marker(data) is None
    # A KRaft-style control record (type 2) is a control batch but not a transaction marker.
    kraft = records.build_batch([Record(records.encode_control_key(2), b"", [])], is_control=True)
    assert records.control_type(kraft) == 2 and records.end_txn_marker(kraft) is None


@pytest.mark.parametrize("target", CODECS)
@pytest.mark.parametrize("source", CODECS)
def test_recompress_keeps_records_and_header_fields(source, target):
    recs = _number([Record(b"k%d" % i, b"v" * i, [("h", None)]) for i in range(5)])
    batch = records.build_batch(
        recs,
        compression=source,
        base_offset=40,
        producer_id=9,
        producer_epoch=1,
        base_sequence=4,
        base_timestamp=7,
        is_transactional=True,
        partition_leader_epoch=3,
        delete_horizon_ms=1000,
    )
    before = records.read_header(batch)
    again = records.recompress(batch, target)
    h = records.validate_batch(again)
    assert h.compression == target
    for name in (
        "base_offset",
        "last_offset_delta",
        "base_timestamp",
        "max_timestamp",
        "producer_id",
        "producer_epoch",
        "base_sequence",
        "partition_leader_epoch",
        "record_count",
    ):
        assert getattr(h, name) == getattr(before, name), name
    assert h.attributes & ~7 == before.attributes & ~7
    assert records.decode_records(again) == records.decode_records(batch)


def test_null_key_detection():
    recs = _number([Record(b"a", b"1", []), Record(None, b"2", []), Record(None, None, [])])
    batch = records.build_batch(recs, compression=compression.GZIP)
    assert records.has_null_key(batch)
    assert records.null_key_indexes(batch) == [1, 2]
    assert not records.has_null_key(records.build_batch([Record(b"k", None, [])]))


def test_iter_batches_stops_at_partial_tail():
    a = records.build_batch([Record(b"a", b"1", [])])
    b = records.build_batch([Record(b"b", b"2", [])])
    buf = a + b + b[:30]
    assert [pos for pos, _ in records.iter_batches(buf)] == [0, len(a)]


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda p: p[:-1], id="truncated"),
        pytest.param(lambda p: p + b"\x00", id="trailing-byte"),
        pytest.param(lambda p: b"\x7f" + p[1:], id="record-length-too-long"),
        pytest.param(lambda p: p[:1] + b"\x00" + p[2:], id="changed-attributes-ok"),
    ],
)
def test_malformed_records_raise_invalid_batch(mutate):
    rec = Record(b"key", b"value", [("h", b"v")])
    payload = records.encode_record(rec)
    body = mutate(payload)
    h = records.read_header(records.build_batch([rec]))
    h.batch_length = records.BATCH_OVERHEAD - records.LOG_OVERHEAD + len(body)
    batch = bytearray(records.pack_header(h)) + body
    if body[1:2] == b"\x00" and len(body) == len(payload) and body[0] == payload[0]:
        assert records.decode_records(batch) == [rec]
        return
    with pytest.raises(records.InvalidBatch):
        records.decode_records(batch)


def test_bad_compressed_payload_is_invalid_batch():
    batch = records.build_batch([Record(b"k", b"v" * 100, [])], compression=compression.ZSTD)
    broken = bytearray(batch)
    broken[records.BATCH_OVERHEAD + 2] ^= 0xFF
    with pytest.raises(records.InvalidBatch):
        records.decode_records(broken)


def test_unknown_codec_in_attributes_is_unsupported():
    batch = records.build_batch([Record(b"k", b"v", [])])
    batch[records.ATTRIBUTES_OFFSET + 1] |= 5
    with pytest.raises(compression.UnsupportedCodec) as err:
        records.decode_records(batch)
    assert err.value.code == ErrorCode.UNSUPPORTED_COMPRESSION_TYPE


def test_legacy_magic_detected():
    batch = bytearray(records.build_batch([Record(b"a", b"1", [])]))
    assert not records.is_legacy(batch)
    batch[records.MAGIC_OFFSET] = 1
    assert records.is_legacy(batch)
    with pytest.raises(records.InvalidBatch):
        records.validate_batch(batch)
