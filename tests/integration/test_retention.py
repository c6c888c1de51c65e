"""Retention keeps fresh records produced without timestamps.

librdkafka's C++ API (its tests 0053, 0110, 0114) sends such records as a batch with
baseTimestamp -1, maxTimestamp 0 and timestamp deltas 0. Apache Kafka 4.4 stores maxTimestamp
-1 (recomputed from the records), so retention goes by the segment file's modification time;
kpy used to keep the 0 and deleted the records at the next retention check, as if written in
1970. The ListOffsets answers below are what Kafka 4.4 gave for the same batches.
"""

from __future__ import annotations

import time
import uuid

import pytest

from conformance.raw import create_topic, fetch, first_partition, produce
from conformance.wire import WireClient
from kpy.protocol import records
from kpy.protocol.messages.list_offsets import ListOffsetsRequest
from kpy.protocol.records import Record
from kpy.testing import BrokerProcess
from tests.integration.helpers import wait_for

CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
EARLIEST, MAX_TIMESTAMP = -2, -3


def list_offset(wire, topic, timestamp):
    req = ListOffsetsRequest(
        replica_id=-1,
        topics=[
            ListOffsetsRequest.ListOffsetsTopic(
                name=topic,
                partitions=[
                    ListOffsetsRequest.ListOffsetsPartition(partition_index=0, timestamp=timestamp)
                ],
            )
        ],
    )
    p = wire.send(req, 8).topics[0].partitions[0]
    assert p.error_code == 0
    return p.offset, p.timestamp


def untimed_batch(codec):
    recs = [Record(b"k%d" % i, b"v%d" % i, [], i, 0) for i in range(5)]
    return records.build_batch(recs, base_timestamp=-1, max_timestamp=0, compression=codec)


def retention_passes(wire, marker):
    """Return once a whole retention pass has run after this call. The marker topic gets a
    record two minutes old; seeing it deleted shows that a pass reached the marker; a second
    such record can only be deleted by a later pass, which starts after the first finished
    (passes run one after another), so that first pass has been over every log."""
    for _ in range(2):
        old = records.build_batch(
            [Record(b"k", b"old", [], 0, 0)], base_timestamp=int(time.time() * 1000) - 120_000
        )
        res = produce(wire, marker, old)
        assert res.error_code == 0
        wait_for(
            lambda res=res: list_offset(wire, marker, EARLIEST)[0] > res.base_offset,
            message="a retention pass to delete the marker's old record",
        )


def check_kept(wire, topic, codec):
    part = first_partition(fetch(wire, topic, 0))
    data = bytes(part.records or b"")
    assert part.error_code == 0 and part.log_start_offset == 0
    headers = [h for _, h in records.iter_batches(data)]
    assert [(h.base_offset, h.record_count) for h in headers] == [(0, 5)]
    h = headers[0]
    assert (h.compression, h.base_timestamp, h.max_timestamp) == (codec, -1, -1)
    assert records.check_crc(data)
    assert [r.value for r in records.decode_records(data)] == [b"v%d" % i for i in range(5)]
    assert list_offset(wire, topic, EARLIEST) == (0, -1)
    assert list_offset(wire, topic, MAX_TIMESTAMP) == (0, -1)
    assert list_offset(wire, topic, 0) == (-1, -1)


@pytest.mark.timeout(180)
def test_records_without_timestamps_survive_retention_for_every_codec(tmp_path):
    settings = {"log.retention.check.interval.ms": 200}
    with BrokerProcess(tmp_path / "data", overrides=settings) as broker:
        tag = uuid.uuid4().hex[:6]
        marker = f"marker-{tag}"
        topics = {codec: f"untimed-{name}-{tag}" for name, codec in CODECS.items()}
        with WireClient(broker.bootstrap) as wire:
            for name in [marker, *topics.values()]:
                assert create_topic(wire, name, 1, {"retention.ms": "60000"}).error_code == 0
            for codec, name in topics.items():
                assert produce(wire, name, untimed_batch(codec)).error_code == 0
            retention_passes(wire, marker)
            for codec, name in topics.items():
                check_kept(wire, name, codec)
        for crash in (False, True):  # the segment's max timestamp as loaded and as recovered
            broker.restart(crash=crash)
            with WireClient(broker.bootstrap) as wire:
                retention_passes(wire, marker)
                for codec, name in topics.items():
                    check_kept(wire, name, codec)
