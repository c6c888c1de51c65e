"""ListOffsets, DeleteRecords, Fetch and Produce answered as Apache Kafka 4.4 answers them, where the
differential harness found kpy answering otherwise; each test runs against kpy and the
reference Kafka (``kafka_reference``)."""

from __future__ import annotations

import pytest

from conformance.raw import batch, create_topic, init_producer_id, produce
from conformance.wire import WireClient
from kpy.protocol.messages.delete_records import DeleteRecordsRequest
from kpy.protocol.messages.fetch import FetchRequest
from kpy.protocol.messages.list_offsets import ListOffsetsRequest
from kpy.protocol.messages.produce import ProduceRequest

UNKNOWN_SERVER_ERROR = -1
OFFSET_OUT_OF_RANGE = 1
UNKNOWN_TOPIC_OR_PARTITION = 3
INVALID_REQUIRED_ACKS = 21
INVALID_TIMESTAMP = 32
UNSUPPORTED_VERSION = 35
FETCH_SESSION_ID_NOT_FOUND = 70
INVALID_REQUEST = 42
POLICY_VIOLATION = 44
LO = ListOffsetsRequest
DR = DeleteRecordsRequest

pytestmark = pytest.mark.timeout(90)


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


@pytest.mark.parametrize(
    ("policy", "answer"),
    [("compact", (POLICY_VIOLATION, -1)), ("compact,delete", (0, 2)), ("", (0, 2))],
)
def test_delete_records_refused_on_compacted_only_topic(bootstrap, topic_name, policy, answer):
    # Kafka refuses to move the log start offset of a topic compacted and not deleted, before
    # it looks at the offset asked (found by franz-go's kadm DeleteRecords, tests/go).
    with WireClient(bootstrap) as wire:
        create_topic(wire, topic_name, 1, {"cleanup.policy": policy})
        assert produce(wire, topic_name, batch(3)).error_code == 0
        for offset, expected in ((2, answer), (10, answer if policy == "compact" else None)):
            req = DR(
                timeout_ms=10000,
                topics=[
                    DR.DeleteRecordsTopic(
                        name=topic_name,
                        partitions=[DR.DeleteRecordsPartition(partition_index=0, offset=offset)],
                    )
                ],
            )
            (part,) = wire.send(req, 2).topics[0].partitions
            assert (part.error_code, part.low_watermark) == (expected or (OFFSET_OUT_OF_RANGE, -1))


def test_list_offsets_topic_named_twice_answered_once(bootstrap, topic_name):
    with WireClient(bootstrap) as wire:
        create_topic(wire, topic_name, 2)
        topics = list_offsets(wire, [(topic_name, [(0, -1)]), (topic_name, [(1, -2), (0, -2)])], 7)
        assert [(t.name, codes(t)) for t in topics] == [
            (topic_name, [(0, INVALID_REQUEST, -1), (1, 0, 0)])
        ]


def fetch(wire, topics, version=12, isolation_level=0, session_id=0, session_epoch=-1):
    req = FetchRequest(
        replica_id=-1,
        max_wait_ms=0,
        min_bytes=0,
        max_bytes=1 << 20,
        isolation_level=isolation_level,
        session_id=session_id,
        session_epoch=session_epoch,
        topics=[
            FetchRequest.FetchTopic(
                topic=name,
                partitions=[
                    FetchRequest.FetchPartition(
                        partition=p, fetch_offset=offset, partition_max_bytes=1 << 20
                    )
                    for p, offset in parts
                ],
            )
            for name, parts in topics
        ],
    )
    return wire.send(req, version)


def outline(resp):
    """(top-level error, whether a session id is given, [(topic, [(partition, error, high
    watermark, last stable offset, log start offset, aborted transactions)])])."""
    return (
        resp.error_code,
        resp.session_id != 0,
        [
            (
                t.topic,
                [
                    (
                        p.partition_index,
                        p.error_code,
                        p.high_watermark,
                        p.last_stable_offset,
                        p.log_start_offset,
                        p.aborted_transactions,
                    )
                    for p in t.partitions
                ],
            )
            for t in resp.responses
        ],
    )


def test_fetch_sessions_as_kafka(bootstrap, topic_name):
    with WireClient(bootstrap) as wire:
        create_topic(wire, topic_name, 1)
        asked = [(topic_name, [(0, 0)])]
        # Session 0 with an epoch other than 0/-1 continues a session nobody has.
        assert outline(fetch(wire, asked, session_epoch=1)) == (
            FETCH_SESSION_ID_NOT_FOUND,
            False,
            [],
        )
        # A session id with epoch 0 is a full fetch that opens a new session.
        resp = fetch(wire, asked, session_id=12345, session_epoch=0)
        assert resp.error_code == 0 and resp.session_id not in (0, 12345)
        assert fetch(wire, asked, session_id=resp.session_id, session_epoch=1).error_code == 0
        # Kafka's session cache has no shard for this id: the request fails whole.
        assert outline(fetch(wire, asked, session_id=2147483645, session_epoch=1)) == (
            UNKNOWN_SERVER_ERROR,
            True,
            [(topic_name, [(0, UNKNOWN_SERVER_ERROR, -1, -1, -1, [])])],
        )


@pytest.mark.parametrize("version", [4, 12])
def test_fetch_unknown_isolation_level_fails_the_request(bootstrap, topic_name, version):
    with WireClient(bootstrap) as wire:
        create_topic(wire, topic_name, 1)
        resp = fetch(wire, [(topic_name, [(0, 0)])], version, isolation_level=2, session_id=7)
        expected = [(topic_name, [(0, UNKNOWN_SERVER_ERROR, -1, -1, -1, [])])]
        assert outline(resp)[2] == expected
        if version >= 7:
            assert outline(resp)[:2] == (UNKNOWN_SERVER_ERROR, True)
        # Nothing to read, nothing fails: the isolation level is not looked at.
        resp = fetch(wire, [(topic_name, [(5, 0)])], version, isolation_level=2)
        unknown = [(topic_name, [(5, UNKNOWN_TOPIC_OR_PARTITION, -1, -1, -1, [])])]
        assert outline(resp)[2] == unknown


def test_fetch_refused_partitions(bootstrap, topic_name):
    with WireClient(bootstrap) as wire:
        create_topic(wire, topic_name, 2)
        assert produce(wire, topic_name, batch(2)).error_code == 0
        asked = [
            (topic_name, [(5, 0), (0, 100), (1, 3), (1, 0)]),
            (f"{topic_name}-none", [(0, 0)]),
        ]
        assert outline(fetch(wire, asked, isolation_level=1)) == (
            0,
            False,
            [
                # Read first (a refused read: offsets -1, no list of aborted transactions),
                # then refused before reading (offsets -1, an empty list); each asked once.
                (
                    topic_name,
                    [
                        (0, OFFSET_OUT_OF_RANGE, -1, -1, -1, None),
                        (1, 0, 0, 0, 0, []),
                        (5, UNKNOWN_TOPIC_OR_PARTITION, -1, -1, -1, []),
                    ],
                ),
                (f"{topic_name}-none", [(0, UNKNOWN_TOPIC_OR_PARTITION, -1, -1, -1, [])]),
            ],
        )


def produce_to(wire, topics, acks=-1):
    req = ProduceRequest(
        acks=acks,
        timeout_ms=5000,
        topic_data=[
            ProduceRequest.TopicProduceData(
                name=name,
                partition_data=[
                    ProduceRequest.PartitionProduceData(index=i, records=r) for i, r in parts
                ],
            )
            for name, parts in topics
        ],
    )
    resp = wire.send(req, 9)
    return [
        (
            t.name,
            [
                (p.index, p.error_code, p.base_offset, p.log_start_offset)
                for p in t.partition_responses
            ],
        )
        for t in resp.responses
    ]


def test_produce_topic_without_partitions_left_out(bootstrap, topic_name):
    with WireClient(bootstrap) as wire:
        create_topic(wire, topic_name, 1)
        asked = [(f"{topic_name}-none", []), (topic_name, [(0, batch(1))])]
        assert produce_to(wire, asked) == [(topic_name, [(0, 0, 0, 0)])]


def test_produce_invalid_acks_after_unknown_partitions(bootstrap, topic_name):
    with WireClient(bootstrap) as wire:
        create_topic(wire, topic_name, 1)
        asked = [
            (f"{topic_name}-none", []),
            (topic_name, [(0, batch(1)), (7, batch(1))]),
            (f"{topic_name}-nope", [(0, batch(1))]),
        ]
        assert produce_to(wire, asked, acks=2) == [
            (
                topic_name,
                [(0, INVALID_REQUIRED_ACKS, -1, -1), (7, UNKNOWN_TOPIC_OR_PARTITION, -1, -1)],
            ),
            (f"{topic_name}-nope", [(0, UNKNOWN_TOPIC_OR_PARTITION, -1, -1)]),
        ]


def test_produce_refused_timestamp_has_log_start_offset(bootstrap, topic_name):
    with WireClient(bootstrap) as wire:
        create_topic(wire, topic_name, 1)
        asked = [(topic_name, [(0, batch(1, timestamp=10**13))])]
        assert produce_to(wire, asked) == [(topic_name, [(0, INVALID_TIMESTAMP, -1, 0)])]


def test_produce_duplicate_answers_the_original_batch(bootstrap, topic_name):
    """A retried idempotent batch is answered with the first one's offset, the log start
    offset and, as log_append_time_ms, the first batch's max timestamp (Kafka's duplicate
    batch metadata), even on a CreateTime topic."""
    with WireClient(bootstrap) as wire:
        create_topic(wire, topic_name, 1)
        pid = init_producer_id(wire)
        data = bytes(
            batch(
                3,
                timestamp=1_700_000_000_000,
                producer_id=pid.producer_id,
                producer_epoch=pid.producer_epoch,
                base_sequence=0,
            )
        )
        first = produce(wire, topic_name, data)
        again = produce(wire, topic_name, data)
        answer = (again.error_code, again.base_offset, again.log_append_time_ms)
        assert (first.error_code, first.base_offset, first.log_append_time_ms) == (0, 0, -1)
        assert answer == (0, 0, 1_700_000_000_000)
        assert again.log_start_offset == 0


def test_acks_zero_produce_with_a_failed_partition_closes_the_connection(bootstrap, topic_name):
    """No answer can carry the error, so Kafka closes the connection (the producer then
    refreshes its metadata); a produce that succeeds keeps it open."""
    with WireClient(bootstrap) as wire:
        create_topic(wire, topic_name, 1)
        assert produce(wire, topic_name, batch(1), acks=0) is None
        assert not wire.is_closed(timeout=0.5)
        assert produce(wire, topic_name, batch(1), partition=5, acks=0) is None
        assert wire.is_closed()
