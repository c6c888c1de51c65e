"""ListOffsets and OffsetForLeaderEpoch."""

from __future__ import annotations

import pytest

from conformance.raw import batch, create_topic, list_offsets_request, now_ms, produce, unique
from kpy.protocol.messages.list_offsets import ListOffsetsRequest
from kpy.protocol.messages.offset_for_leader_epoch import OffsetForLeaderEpochRequest

pytestmark = pytest.mark.area("offsets")


@pytest.fixture
def topic(wire):
    name = unique("o")
    create_topic(wire, name, 1)
    base = now_ms() - 60_000
    for i in range(4):
        produce(wire, name, batch(2, timestamp=base + i * 1000))
    return name, base


def lookup(wire, topic, ts, version=8, isolation=0):
    req = list_offsets_request(topic, {0: ts}, isolation_level=isolation)
    return wire.send(req, version).topics[0].partitions[0]


@pytest.mark.kafka("ListOffsets EARLIEST (-2)")
def test_earliest(wire, topic):
    """-2 gives the log start offset."""
    assert lookup(wire, topic[0], -2).offset == 0


@pytest.mark.kafka("ListOffsets LATEST (-1)")
def test_latest(wire, topic):
    """-1 gives the high watermark."""
    assert lookup(wire, topic[0], -1).offset == 8


@pytest.mark.kafka("KIP-734 MAX_TIMESTAMP (-3)")
def test_max_timestamp(wire, topic):
    """-3 (v7+) gives the offset and timestamp of the newest record."""
    got = lookup(wire, topic[0], -3)
    assert got.timestamp == topic[1] + 3000 and got.offset in (6, 7)


@pytest.mark.kafka("KIP-79 offsets by timestamp")
def test_by_timestamp(wire, topic):
    """A timestamp finds the first offset at or after it."""
    got = lookup(wire, topic[0], topic[1] + 1500)
    assert (got.offset, got.timestamp) == (4, topic[1] + 2000)


@pytest.mark.kafka("KIP-79 offsets by timestamp")
def test_by_timestamp_after_all(wire, topic):
    """A timestamp after every record gives offset -1."""
    assert lookup(wire, topic[0], now_ms() + 10_000_000).offset == -1


@pytest.mark.kafka("ListOffsets versions")
@pytest.mark.parametrize("version", list(range(1, 11)))
def test_every_version(wire, topic, version):
    """ListOffsets answers at each version."""
    assert lookup(wire, topic[0], -1, version=version).offset == 8


@pytest.mark.kafka("KIP-320 OffsetForLeaderEpoch")
def test_offset_for_leader_epoch(wire, topic):
    """The current leader epoch ends at the log end offset."""
    from kpy.protocol.messages.metadata import MetadataRequest

    md = wire.send(
        MetadataRequest(topics=[MetadataRequest.MetadataRequestTopic(name=topic[0])]), 12
    )
    epoch = md.topics[0].partitions[0].leader_epoch
    req = OffsetForLeaderEpochRequest(
        replica_id=-1,
        topics=[
            OffsetForLeaderEpochRequest.OffsetForLeaderTopic(
                topic=topic[0],
                partitions=[
                    OffsetForLeaderEpochRequest.OffsetForLeaderPartition(
                        partition=0, current_leader_epoch=epoch, leader_epoch=epoch
                    )
                ],
            )
        ],
    )
    res = wire.send(req, 4).topics[0].partitions[0]
    assert res.error_code == 0 and (res.leader_epoch, res.end_offset) == (epoch, 8)


@pytest.mark.kafka("KIP-320 fencing")
def test_fenced_leader_epoch(wire, topic):
    """A current_leader_epoch newer than the leader's is UNKNOWN_LEADER_EPOCH."""
    req = ListOffsetsRequest(
        replica_id=-1,
        topics=[
            ListOffsetsRequest.ListOffsetsTopic(
                name=topic[0],
                partitions=[
                    ListOffsetsRequest.ListOffsetsPartition(
                        partition_index=0, timestamp=-1, current_leader_epoch=1000
                    )
                ],
            )
        ],
    )
    assert wire.send(req, 8).topics[0].partitions[0].error_code == 75


@pytest.mark.kafka("protocol guide: error codes")
def test_unknown_partition(wire):
    """ListOffsets on a missing topic is UNKNOWN_TOPIC_OR_PARTITION."""
    assert lookup(wire, unique("missing"), -1).error_code == 3
