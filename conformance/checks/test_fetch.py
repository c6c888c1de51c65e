"""Fetch: long-poll, limits, sessions, offsets out of range, topic ids."""

from __future__ import annotations

import threading
import time

import pytest

from conformance.raw import batch, create_topic, fetch, first_partition, produce, unique
from conformance.wire import WireClient
from kpy.protocol import records
from kpy.protocol.messages.fetch import FetchRequest

pytestmark = pytest.mark.area("fetch")


@pytest.fixture
def topic(wire):
    name = unique("f")
    assert create_topic(wire, name, 2).error_code == 0
    return name


def both_partitions(topic):
    """The FetchTopic list asking for partitions 0 and 1 of ``topic`` from offset 0."""
    parts = [
        FetchRequest.FetchPartition(partition=p, fetch_offset=0, partition_max_bytes=1 << 20)
        for p in (0, 1)
    ]
    return [FetchRequest.FetchTopic(topic=topic, partitions=parts)]


@pytest.mark.kafka("protocol guide: Fetch")
@pytest.mark.parametrize("version", list(range(4, 18)))
def test_fetch_every_version(wire, topic, version):
    """Fetch answers at each version with the high watermark and the records."""
    produce(wire, topic, batch(3))
    if version >= 13:
        from kpy.protocol.messages.metadata import MetadataRequest

        md = wire.send(
            MetadataRequest(topics=[MetadataRequest.MetadataRequestTopic(name=topic)]), 12
        )
        resp = fetch(wire, "", 0, version=version, topic_id=md.topics[0].topic_id)
    else:
        resp = fetch(wire, topic, 0, version=version)
    part = first_partition(resp)
    assert part.error_code == 0 and part.high_watermark == 3
    assert records.read_header(bytes(part.records)).record_count == 3


@pytest.mark.kafka("KIP-227 / max_wait_ms long-poll")
def test_long_poll_wakes_on_produce(bootstrap, wire, topic):
    """A fetch waiting for data returns soon after a produce, well before max_wait_ms."""

    def later():
        time.sleep(0.5)
        with WireClient(bootstrap) as other:
            produce(other, topic, batch(1))

    t = threading.Thread(target=later)
    started = time.monotonic()
    t.start()
    resp = fetch(wire, topic, 0, max_wait_ms=20000, min_bytes=1)
    t.join()
    assert len(first_partition(resp).records) > 0
    assert time.monotonic() - started < 15


@pytest.mark.kafka("protocol guide: Fetch max_wait_ms")
def test_max_wait_returns_empty(wire, topic):
    """With no data a fetch returns empty after about max_wait_ms."""
    started = time.monotonic()
    resp = fetch(wire, topic, 0, max_wait_ms=300, min_bytes=1)
    elapsed = time.monotonic() - started
    part = first_partition(resp)
    # An error is answered at once; only an error-free empty answer shows the wait.
    assert part.error_code == 0 and len(part.records or b"") == 0
    assert 0.25 <= elapsed < 10


@pytest.mark.kafka("protocol guide: Fetch min_bytes")
def test_min_bytes_waits_for_enough(wire, topic):
    """A fetch with min_bytes larger than what exists waits until max_wait_ms."""
    produce(wire, topic, batch(1))
    started = time.monotonic()
    resp = fetch(wire, topic, 0, max_wait_ms=300, min_bytes=1_000_000)
    assert time.monotonic() - started >= 0.25
    assert len(first_partition(resp).records) > 0


@pytest.mark.kafka("KIP-74")
def test_first_batch_even_if_too_large(wire, topic):
    """The first batch is returned whole even when larger than max_bytes and partition_max_bytes."""
    produce(wire, topic, batch(1, size=10_000))
    resp = fetch(wire, topic, 0, max_bytes=100, partition_max_bytes=100)
    data = bytes(first_partition(resp).records)
    assert len(data) > 10_000 and records.validate_batch(data)


@pytest.mark.kafka("KIP-74")
def test_partition_max_bytes_limits(wire, topic):
    """partition_max_bytes limits a partition's data (after the first batch)."""
    for _ in range(5):
        produce(wire, topic, batch(1, size=2000))
    resp = fetch(wire, topic, 0, partition_max_bytes=5000)
    assert len(first_partition(resp).records) <= 5000


@pytest.mark.kafka("KIP-74")
def test_max_bytes_limits_response(wire, topic):
    """max_bytes limits the whole response across partitions."""
    for p in (0, 1):
        for _ in range(4):
            produce(wire, topic, batch(1, size=3000), partition=p)
    req = FetchRequest(max_wait_ms=0, min_bytes=1, max_bytes=8000, topics=both_partitions(topic))
    resp = wire.send(req, 12)
    total = sum(len(p.records or b"") for t in resp.responses for p in t.partitions)
    assert 0 < total <= 8000


@pytest.mark.kafka("protocol guide: OFFSET_OUT_OF_RANGE")
def test_offset_out_of_range(wire, topic):
    """Fetching past the log end is OFFSET_OUT_OF_RANGE with the high watermark."""
    produce(wire, topic, batch(2))
    part = first_partition(fetch(wire, topic, 50))
    assert part.error_code == 1


@pytest.mark.kafka("protocol guide: Fetch at the log end")
def test_fetch_at_log_end_is_empty(wire, topic):
    """Fetching exactly at the log end is not an error: empty records."""
    produce(wire, topic, batch(2))
    part = first_partition(fetch(wire, topic, 2))
    assert part.error_code == 0 and len(part.records or b"") == 0


@pytest.mark.kafka("protocol guide: Fetch mid-batch")
def test_fetch_from_middle_of_batch(wire, topic):
    """A fetch offset inside a batch returns that whole batch (clients skip earlier records)."""
    produce(wire, topic, batch(5))
    data = bytes(first_partition(fetch(wire, topic, 3)).records)
    assert records.read_header(data).base_offset == 0


@pytest.mark.kafka("KIP-227")
def test_fetch_session_lifecycle(wire, topic):
    """A session is created with epoch 0, continued with the next epoch; wrong epochs and ids are errors."""
    produce(wire, topic, batch(1))
    full = fetch(wire, topic, 0, session_epoch=0)
    assert full.error_code == 0 and full.session_id > 0
    inc = FetchRequest(
        max_wait_ms=0, min_bytes=0, max_bytes=1 << 20, session_id=full.session_id, session_epoch=1
    )
    assert wire.send(inc, 12).error_code == 0
    inc.session_epoch = 5
    assert wire.send(inc, 12).error_code == 71
    # An id no session has. Kafka 4.4 routes an id to a cache shard by its value and answers
    # UNKNOWN_SERVER_ERROR for ids beyond its shards (2147483640 and up), so a small one.
    missing = FetchRequest(
        max_wait_ms=0,
        min_bytes=0,
        max_bytes=1 << 20,
        session_id=1 if full.session_id != 1 else 2,
        session_epoch=1,
    )
    assert wire.send(missing, 12).error_code == 70


@pytest.mark.kafka("KIP-227")
def test_incremental_fetch_lists_only_changes(wire, topic):
    """An incremental fetch lists only partitions with new data or new offsets."""
    # The session holds both partitions, so there is an unchanged one to leave out.
    full = FetchRequest(
        max_wait_ms=0,
        min_bytes=0,
        max_bytes=1 << 20,
        session_id=0,
        session_epoch=0,
        topics=both_partitions(topic),
    )
    sid = wire.send(full, 12).session_id
    produce(wire, topic, batch(1))
    inc = FetchRequest(
        max_wait_ms=0, min_bytes=0, max_bytes=1 << 20, session_id=sid, session_epoch=1
    )
    resp = wire.send(inc, 12)
    parts = [(p.partition_index, p.high_watermark) for t in resp.responses for p in t.partitions]
    assert parts == [(0, 1)]


@pytest.mark.kafka("KIP-516")
def test_unknown_topic_id(wire):
    """Fetch v13+ by an unknown topic id is UNKNOWN_TOPIC_ID."""
    import uuid

    resp = fetch(wire, "", 0, version=13, topic_id=uuid.uuid4())
    assert first_partition(resp).error_code == 100


@pytest.mark.area("transactions")
@pytest.mark.kafka("KIP-98 read_committed")
def test_read_committed_without_transactions(wire, topic):
    """read_committed sees non-transactional data up to the last stable offset."""
    produce(wire, topic, batch(2))
    part = first_partition(fetch(wire, topic, 0, isolation_level=1))
    assert part.error_code == 0 and part.last_stable_offset == 2 and part.aborted_transactions == []
