"""ListOffsets and DeleteRecords answered as Apache Kafka 4.4 answers them, where the
differential harness found kpy answering otherwise; each test runs against kpy and the
reference Kafka (``kafka_reference``)."""

from __future__ import annotations

import pytest

from conformance.raw import batch, create_topic, produce
from conformance.wire import WireClient
from kpy.protocol.messages.delete_records import DeleteRecordsRequest
from kpy.protocol.messages.list_offsets import ListOffsetsRequest

UNKNOWN_SERVER_ERROR = -1
UNSUPPORTED_VERSION = 35
INVALID_REQUEST = 42
LO = ListOffsetsRequest
DR = DeleteRecordsRequest

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(params=["kpy", "kafka"])
def bootstrap(request, broker):
    if request.param == "kpy":
        return broker.bootstrap
    return request.getfixturevalue("kafka_reference")


def list_offsets(wire, topics, version, isolation_level=0):
    req = LO(
        replica_id=-1,
        isolation_level=isolation_level,
        topics=[
            LO.ListOffsetsTopic(
                name=name,
                partitions=[
                    LO.ListOffsetsPartition(partition_index=p, timestamp=ts) for p, ts in parts
                ],
            )
            for name, parts in topics
        ],
    )
    return wire.send(req, version).topics


def codes(topic):
    return sorted((p.partition_index, p.error_code, p.offset) for p in topic.partitions)


def test_list_offsets_unknown_isolation_level_fails_every_partition(bootstrap, topic_name):
    with WireClient(bootstrap) as wire:
        create_topic(wire, topic_name, 2)
        topics = list_offsets(
            wire, [(topic_name, [(0, -1), (1, -2)]), (f"{topic_name}-none", [])], 10, 2
        )
        assert [(t.name, codes(t)) for t in topics] == [
            (topic_name, [(0, UNKNOWN_SERVER_ERROR, -1), (1, UNKNOWN_SERVER_ERROR, -1)]),
            (f"{topic_name}-none", []),
        ]


@pytest.mark.parametrize(
    ("version", "timestamp"), [(6, -3), (7, -4), (8, -5), (10, -6), (10, -100)]
)
def test_list_offsets_special_timestamp_unknown_to_version(
    bootstrap, topic_name, version, timestamp
):
    with WireClient(bootstrap) as wire:
        create_topic(wire, topic_name, 2)
        (topic,) = list_offsets(wire, [(topic_name, [(0, timestamp), (1, -1)])], version)
        assert codes(topic) == [(0, UNSUPPORTED_VERSION, -1), (1, 0, 0)]


def test_list_offsets_partition_asked_twice_answered_once(bootstrap, topic_name):
    with WireClient(bootstrap) as wire:
        create_topic(wire, topic_name, 2)
        (topic,) = list_offsets(wire, [(topic_name, [(0, -1), (1, -1), (0, -2), (0, 5)])], 5)
        assert codes(topic) == [(0, INVALID_REQUEST, -1), (1, 0, 0)]


def test_delete_records_topic_and_partition_named_twice(bootstrap, topic_name):
    with WireClient(bootstrap) as wire:
        create_topic(wire, topic_name, 2)
        for p in (0, 1):
            assert produce(wire, topic_name, batch(3), partition=p).error_code == 0
        req = DR(
            timeout_ms=10000,
            topics=[
                DR.DeleteRecordsTopic(
                    name=topic_name,
                    partitions=[
                        DR.DeleteRecordsPartition(partition_index=0, offset=1),
                        DR.DeleteRecordsPartition(partition_index=0, offset=2),
                    ],
                ),
                DR.DeleteRecordsTopic(
                    name=topic_name,
                    partitions=[DR.DeleteRecordsPartition(partition_index=1, offset=1)],
                ),
            ],
        )
        (topic,) = wire.send(req, 2).topics
        assert topic.name == topic_name
        assert sorted(
            (p.partition_index, p.error_code, p.low_watermark) for p in topic.partitions
        ) == [
            (0, 0, 2),
            (1, 0, 1),
        ]


def test_list_offsets_topic_named_twice_answered_once(bootstrap, topic_name):
    with WireClient(bootstrap) as wire:
        create_topic(wire, topic_name, 2)
        topics = list_offsets(wire, [(topic_name, [(0, -1)]), (topic_name, [(1, -2), (0, -2)])], 7)
        assert [(t.name, codes(t)) for t in topics] == [
            (topic_name, [(0, INVALID_REQUEST, -1), (1, 0, 0)])
        ]
