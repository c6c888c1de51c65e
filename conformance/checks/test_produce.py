"""Produce: acks, validation, codecs through every client, timestamps, idempotence."""

from __future__ import annotations

import struct

import pytest

from conformance import drivers
from conformance.raw import (
    batch,
    create_topic,
    fetch,
    first_partition,
    init_producer_id,
    now_ms,
    produce,
    unique,
)
from kpy.protocol import records
from kpy.protocol.records import Record

pytestmark = pytest.mark.area("produce")


@pytest.fixture
def topic(wire):
    name = unique("p")
    assert create_topic(wire, name, 2).error_code == 0
    return name


@pytest.mark.kafka("protocol guide: Produce")
@pytest.mark.parametrize("version", list(range(3, 12)))
def test_produce_every_version(wire, topic, version):
    """Produce answers at each version with dense base offsets."""
    first = produce(wire, topic, batch(2), version=version)
    second = produce(wire, topic, batch(3), version=version)
    assert first.error_code == second.error_code == 0
    assert second.base_offset == first.base_offset + 2


@pytest.mark.kafka("producer config acks")
@pytest.mark.parametrize("acks", [1, -1])
def test_acks(wire, topic, acks):
    """acks=1 and acks=all are acknowledged with the assigned offset."""
    assert produce(wire, topic, batch(1), acks=acks).base_offset == 0


@pytest.mark.kafka("producer config acks=0")
def test_acks_zero_no_response(wire, topic):
    """acks=0 gets no response; the record is written anyway."""
    assert produce(wire, topic, batch(1), acks=0) is None
    resp = fetch(wire, topic, 0)
    assert len(resp.responses[0].partitions[0].records) > 0


@pytest.mark.kafka("producer config acks")
def test_invalid_acks(wire, topic):
    """acks other than 0, 1, -1 is INVALID_REQUIRED_ACKS."""
    assert produce(wire, topic, batch(1), acks=5).error_code == 21


@pytest.mark.kafka("record batch CRC")
def test_corrupt_batch(wire, topic):
    """A batch whose CRC does not match is CORRUPT_MESSAGE."""
    data = batch(2)
    data[-1] ^= 0x55
    assert produce(wire, topic, data).error_code == 2


@pytest.mark.kafka("topic config max.message.bytes")
def test_message_too_large(wire):
    """A batch larger than max.message.bytes is MESSAGE_TOO_LARGE."""
    name = unique("big")
    create_topic(wire, name, 1, {"max.message.bytes": "1000"})
    assert produce(wire, name, batch(1, size=5000)).error_code == 10


@pytest.mark.kafka("KIP-251 message.timestamp.after.max.ms")
def test_timestamp_too_far_in_future(wire, topic):
    """A record an hour and more in the future is INVALID_TIMESTAMP by default."""
    assert produce(wire, topic, batch(1, timestamp=now_ms() + 3 * 3600_000)).error_code == 32


@pytest.mark.kafka("KIP-32 LogAppendTime")
def test_log_append_time(wire):
    """A LogAppendTime topic stamps the batch and reports the time in the response."""
    name = unique("lat")
    create_topic(wire, name, 1, {"message.timestamp.type": "LogAppendTime"})
    res = produce(wire, name, batch(1, timestamp=1))
    assert res.error_code == 0 and res.log_append_time_ms > now_ms() - 600_000
    data = bytes(first_partition(fetch(wire, name, 0)).records)
    h = records.read_header(data)
    assert h.is_log_append_time and h.max_timestamp == res.log_append_time_ms


@pytest.mark.kafka("KIP-32 CreateTime")
def test_create_time_kept(wire, topic):
    """CreateTime timestamps come back as the producer set them."""
    produce(wire, topic, batch(1, timestamp=1_600_000_000_123))
    data = bytes(first_partition(fetch(wire, topic, 0)).records)
    assert records.read_header(data).max_timestamp == 1_600_000_000_123


@pytest.mark.kafka("produce v3+: one batch per partition")
def test_two_batches_rejected(wire, topic):
    """Produce v3+ carries exactly one batch per partition, else INVALID_RECORD."""
    assert produce(wire, topic, batch(1) + batch(1)).error_code == 87


@pytest.mark.kafka("KIP-896 magic 2 only")
def test_legacy_magic_rejected(wire, topic):
    """Message sets of magic 0/1 are refused with INVALID_RECORD."""
    data = batch(1)
    data[records.MAGIC_OFFSET] = 1
    assert produce(wire, topic, data).error_code == 87


@pytest.mark.kafka("record batch lastOffsetDelta")
def test_record_count_mismatch(wire, topic):
    """A record count that disagrees with lastOffsetDelta is INVALID_RECORD."""
    data = batch(2)
    struct.pack_into(">i", data, 57, 9)
    struct.pack_into(">I", data, 17, records.compute_crc(data, 0, len(data)))
    assert produce(wire, topic, data).error_code == 87


@pytest.mark.kafka("compacted topics need keys")
def test_keyless_on_compacted(wire):
    """A record without key on a compacted topic is INVALID_RECORD."""
    name = unique("cmp")
    create_topic(wire, name, 1, {"cleanup.policy": "compact"})
    assert produce(wire, name, batch(1, key=None)).error_code == 87


@pytest.mark.kafka("protocol guide: error codes")
def test_unknown_partition(wire, topic):
    """A partition that does not exist is UNKNOWN_TOPIC_OR_PARTITION."""
    assert produce(wire, topic, batch(1), partition=99).error_code == 3


@pytest.mark.kafka("topic config compression.type")
def test_topic_compression_recompresses(wire):
    """compression.type=gzip on the topic stores batches gzip-compressed."""
    name = unique("gz")
    create_topic(wire, name, 1, {"compression.type": "gzip"})
    produce(wire, name, batch(3))
    data = bytes(first_partition(fetch(wire, name, 0)).records)
    assert records.read_header(data).compression == 1
    assert [r.value for r in records.decode_records(data)] == [b"v0", b"v1", b"v2"]


@pytest.mark.kafka("KIP-98 idempotence")
def test_idempotent_duplicate_and_gap(wire, topic):
    """A retried batch returns its first offset; a sequence gap is OUT_OF_ORDER_SEQUENCE_NUMBER."""
    init = init_producer_id(wire)
    assert init.error_code == 0 and init.producer_id >= 0
    pid = init.producer_id
    first = produce(
        wire, topic, batch(2, producer_id=pid, producer_epoch=init.producer_epoch, base_sequence=0)
    )
    dup = produce(
        wire, topic, batch(2, producer_id=pid, producer_epoch=init.producer_epoch, base_sequence=0)
    )
    assert dup.error_code == 0 and dup.base_offset == first.base_offset
    gap = produce(
        wire, topic, batch(1, producer_id=pid, producer_epoch=init.producer_epoch, base_sequence=7)
    )
    assert gap.error_code == 45


@pytest.mark.kafka("KIP-98 idempotence")
def test_producer_ids_unique(wire):
    """Each InitProducerId without transactional id gets a new producer id."""
    ids = {init_producer_id(wire, transaction_timeout_ms=1000).producer_id for _ in range(5)}
    assert len(ids) == 5


@pytest.mark.kafka("record batch v2")
def test_headers_and_null_values(wire, topic):
    """Record headers, null keys and null values are stored as sent."""
    data = records.build_batch(
        [Record(None, None, [("a", b"1"), ("b", None)]), Record(b"k", b"", [], 1)],
        base_timestamp=now_ms(),
    )
    assert produce(wire, topic, data).error_code == 0
    got = bytes(first_partition(fetch(wire, topic, 0)).records)
    recs = records.decode_records(got)
    assert (recs[0].key, recs[0].value, recs[0].headers) == (None, None, [("a", b"1"), ("b", None)])
    assert (recs[1].key, recs[1].value) == (b"k", b"")


@pytest.mark.kafka("compression codecs")
@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
@pytest.mark.parametrize("driver", drivers.DRIVERS)
def test_client_round_trip(bootstrap, wire, driver, codec):
    """Records produced by the client with this codec come back to the same client intact."""
    name = unique(f"{driver}-{codec}")
    create_topic(wire, name, 1)
    headers = [] if driver == "kcat" else [("h", b"x")]
    sent = [(b"key%d" % i, b"value-%d" % i, headers) for i in range(20)]
    drivers.produce(driver, bootstrap, name, sent, codec)
    got = drivers.consume(driver, bootstrap, name, len(sent))
    assert [(k, v) for k, v, _ in got] == [(k, v) for k, v, _ in sent]
    if headers:
        assert [list(h) for _, _, h in got] == [headers] * len(sent)
