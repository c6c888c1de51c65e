"""Admin requests answered as Apache Kafka 4.4 answers them, where the differential harness
found kpy answering otherwise; each test runs against kpy and the reference Kafka alike.
A timeout of 0 or below makes Kafka's controller answer CreateTopics, DeleteTopics,
CreatePartitions and ElectLeaders REQUEST_TIMED_OUT for everything asked, changing nothing;
CreateTopics says TOPIC_ALREADY_EXISTS before looking at the assignment; DeleteTopics refuses a
name with an id, or neither, and answers each with what it asked; ElectLeaders refuses an
unknown election type and lists every topic for null topic_partitions; DescribeTopicPartitions
refuses a cursor not asked for and an empty name whole, an illegal name per topic, and ends a
page at the next topic asked."""

from __future__ import annotations

import uuid

import pytest

from conformance.raw import create_topic
from conformance.wire import WireClient
from kpy.protocol.messages.create_partitions import CreatePartitionsRequest
from kpy.protocol.messages.create_topics import CreateTopicsRequest
from kpy.protocol.messages.delete_topics import DeleteTopicsRequest
from kpy.protocol.messages.describe_topic_partitions import DescribeTopicPartitionsRequest
from kpy.protocol.messages.elect_leaders import ElectLeadersRequest
from kpy.protocol.messages.metadata import MetadataRequest

UNKNOWN_SERVER_ERROR = -1
REQUEST_TIMED_OUT = 7
INVALID_TOPIC_EXCEPTION = 17
UNKNOWN_TOPIC_OR_PARTITION = 3
TOPIC_ALREADY_EXISTS = 36
INVALID_PARTITIONS = 37
INVALID_REPLICATION_FACTOR = 38
INVALID_REQUEST = 42
UNKNOWN_TOPIC_ID = 100
ZERO = uuid.UUID(int=0)
CT = CreateTopicsRequest.CreatableTopic
CP = CreatePartitionsRequest.CreatePartitionsTopic
DT = DeleteTopicsRequest.DeleteTopicState

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def name(topic_name):
    return f"{topic_name}-{uuid.uuid4().hex[:8]}"


def partitions_of(wire, name):
    md = wire.send(
        MetadataRequest(
            topics=[MetadataRequest.MetadataRequestTopic(name=name)],
            allow_auto_topic_creation=False,
        ),
        12,
    )
    topic = md.topics[0]
    return None if topic.error_code == UNKNOWN_TOPIC_OR_PARTITION else len(topic.partitions)


@pytest.mark.parametrize("timeout_ms", [0, -1])
def test_create_topics_without_time_creates_nothing(bootstrap, name, timeout_ms):
    topics = [
        CT(name=name, num_partitions=1, replication_factor=1),
        CT(name=f"{name}-twice", num_partitions=1, replication_factor=1),
        CT(name=f"{name}-twice", num_partitions=1, replication_factor=1),
        CT(name="bad name!", num_partitions=1, replication_factor=1),
    ]
    with WireClient(bootstrap) as wire:
        for validate_only in (True, False):
            req = CreateTopicsRequest(
                topics=topics, timeout_ms=timeout_ms, validate_only=validate_only
            )
            results = wire.send(req, 7).topics
            assert [(r.name, r.error_code, r.error_message, r.configs) for r in results] == [
                (t.name, REQUEST_TIMED_OUT, None, []) for t in topics
            ]
        assert partitions_of(wire, name) is None


@pytest.mark.parametrize(
    ("partitions", "replication", "code"),
    [
        ((-2, -2, INVALID_REPLICATION_FACTOR)),
        ((0, 0, INVALID_REPLICATION_FACTOR)),
        ((-2, 2, INVALID_PARTITIONS)),
        ((0, -1, INVALID_PARTITIONS)),
        ((3, 5, INVALID_REPLICATION_FACTOR)),
    ],
)
def test_create_topics_replication_factor_checked_first(
    bootstrap, name, partitions, replication, code
):
    """An invalid replication factor is refused before an invalid partition count; one that
    cannot be met (more replicas than brokers) only after it."""
    topic = CT(name=name, num_partitions=partitions, replication_factor=replication)
    with WireClient(bootstrap) as wire:
        for validate_only in (True, False):
            req = CreateTopicsRequest(topics=[topic], timeout_ms=10000, validate_only=validate_only)
            assert wire.send(req, 7).topics[0].error_code == code


def test_create_topics_existing_before_assignment(bootstrap, name):
    with WireClient(bootstrap) as wire:
        create_topic(wire, name)
        assignment = CreateTopicsRequest.CreatableReplicaAssignment
        for topic in (
            CT(
                name=name,
                num_partitions=-1,
                replication_factor=-1,
                assignments=[assignment(partition_index=0, broker_ids=[7, 7])],
            ),
            CT(
                name=name,
                num_partitions=2,
                replication_factor=1,
                assignments=[assignment(partition_index=0, broker_ids=[1])],
            ),
        ):
            req = CreateTopicsRequest(topics=[topic], timeout_ms=10000)
            assert wire.send(req, 7).topics[0].error_code == TOPIC_ALREADY_EXISTS


def test_create_partitions_without_time_adds_nothing(bootstrap, name):
    with WireClient(bootstrap) as wire:
        create_topic(wire, name)
        assignments = [CreatePartitionsRequest.CreatePartitionsAssignment(broker_ids=[9])]
        topics = [
            CP(name=name, count=3, assignments=assignments),
            CP(name=name, count=2),
            CP(name=f"{name}-none", count=2),
        ]
        results = wire.send(CreatePartitionsRequest(topics=topics, timeout_ms=0), 3).results
        assert [(r.name, r.error_code, r.error_message) for r in results] == [
            (t.name, REQUEST_TIMED_OUT, None) for t in topics
        ]
        assert partitions_of(wire, name) == 1


@pytest.mark.parametrize("version", [5, 6])
def test_delete_topics_without_time_deletes_nothing(bootstrap, name, version):
    with WireClient(bootstrap) as wire:
        create_topic(wire, name)
        names = [name, f"{name}-none"]
        if version >= 6:
            req = DeleteTopicsRequest(topics=[DT(name=n) for n in names], timeout_ms=0)
        else:
            req = DeleteTopicsRequest(topic_names=names, timeout_ms=-1)
        results = wire.send(req, version).responses
        assert [(r.name, r.error_code, r.error_message) for r in results] == [
            (n, REQUEST_TIMED_OUT, None) for n in names
        ]
        assert partitions_of(wire, name) == 1


def test_delete_topics_names_and_ids(bootstrap, name):
    asked_id = uuid.UUID("12345678-1234-1234-1234-123456789abc")
    with WireClient(bootstrap) as wire:
        create_topic(wire, name)
        req = DeleteTopicsRequest(
            topics=[
                DT(name=name, topic_id=asked_id),
                DT(name=None, topic_id=ZERO),
                DT(name=None, topic_id=asked_id),
                DT(name=f"{name}-x"),
                DT(name=f"{name}-x"),
            ],
            timeout_ms=10000,
        )
        results = wire.send(req, 6).responses
        assert sorted(
            ((r.name or "", r.topic_id, r.error_code) for r in results), key=str
        ) == sorted(
            [
                (name, asked_id, INVALID_REQUEST),
                ("", ZERO, INVALID_REQUEST),
                ("", asked_id, UNKNOWN_TOPIC_ID),
                (f"{name}-x", ZERO, INVALID_REQUEST),
            ],
            key=str,
        )
        assert [r.name for r in results if r.error_code == UNKNOWN_TOPIC_ID] == [None]
        assert partitions_of(wire, name) == 1


def test_delete_topics_name_of_an_id_asked(bootstrap, name):
    """A name whose topic's id is asked as well: the name is refused, the id not answered."""
    with WireClient(bootstrap) as wire:
        topic_id = create_topic(wire, name, version=7).topic_id
        req = DeleteTopicsRequest(
            topics=[DT(name=None, topic_id=topic_id), DT(name=name)], timeout_ms=10000
        )
        results = wire.send(req, 6).responses
        assert [(r.name, r.topic_id, r.error_code) for r in results] == [
            (name, topic_id, INVALID_REQUEST)
        ]
        assert partitions_of(wire, name) == 1


def test_elect_leaders_refusals(bootstrap, name):
    with WireClient(bootstrap) as wire:
        create_topic(wire, name)
        asked = [ElectLeadersRequest.TopicPartitions(topic=name, partitions=[0, 5])]
        for timeout_ms, election_type, code in (
            (0, 0, REQUEST_TIMED_OUT),
            (10000, 5, INVALID_REQUEST),
        ):
            req = ElectLeadersRequest(
                election_type=election_type, topic_partitions=asked, timeout_ms=timeout_ms
            )
            response = wire.send(req, 2)
            assert response.error_code == code
            assert [
                (r.topic, [(p.partition_id, p.error_code) for p in r.partition_result])
                for r in response.replica_election_results
            ] == [(name, [(0, code), (5, code)])]
        req = ElectLeadersRequest(election_type=5, topic_partitions=None, timeout_ms=10000)
        response = wire.send(req, 2)
        assert (response.error_code, response.replica_election_results) == (INVALID_REQUEST, [])


def test_elect_leaders_every_partition_lists_every_topic(bootstrap, name):
    with WireClient(bootstrap) as wire:
        create_topic(wire, name)
        req = ElectLeadersRequest(election_type=0, topic_partitions=None, timeout_ms=10000)
        response = wire.send(req, 2)
        assert response.error_code == 0
        listed = {r.topic: r.partition_result for r in response.replica_election_results}
        assert listed[name] == []
        assert all(not p for p in listed.values())


def describe_partitions(wire, names, *, limit=10, cursor=None):
    req = DescribeTopicPartitionsRequest(
        topics=[DescribeTopicPartitionsRequest.TopicRequest(name=n) for n in names],
        response_partition_limit=limit,
        cursor=None
        if cursor is None
        else DescribeTopicPartitionsRequest.Cursor(topic_name=cursor[0], partition_index=cursor[1]),
    )
    response = wire.send(req, 0)
    cursor = response.next_cursor
    return (
        None if cursor is None else (cursor.topic_name, cursor.partition_index),
        [(t.name, t.error_code, len(t.partitions)) for t in response.topics],
    )


def test_describe_topic_partitions_refusals(bootstrap, name):
    a, b = f"{name}-a", f"{name}-b"
    with WireClient(bootstrap) as wire:
        create_topic(wire, a, partitions=2)
        create_topic(wire, b)
        assert describe_partitions(wire, [a, "bad name!", "x" * 250]) == (
            None,
            [
                ("bad name!", INVALID_TOPIC_EXCEPTION, 0),
                (a, 0, 2),
                ("x" * 250, INVALID_TOPIC_EXCEPTION, 0),
            ],
        )
        # Refused whole: every topic asked, with the error and no partitions.
        for names, cursor, code in (
            ([a, b], (f"{name}-c", 0), INVALID_REQUEST),  # the cursor's topic is not asked
            ([a, b], (a, -1), INVALID_REQUEST),
            ([a, ""], None, UNKNOWN_SERVER_ERROR),
        ):
            assert describe_partitions(wire, names, cursor=cursor) == (
                None,
                [(n, code, 0) for n in names],  # as asked
            )


def test_describe_topic_partitions_cursor_at_next_topic_asked(bootstrap, name):
    a, b = f"{name}-a", f"{name}-b"
    with WireClient(bootstrap) as wire:
        create_topic(wire, a, partitions=2)
        create_topic(wire, b)
        # The page ends with a: the cursor names the next topic asked, existing or not.
        assert describe_partitions(wire, [a, f"{a}0", b], limit=2) == ((f"{a}0", 0), [(a, 0, 2)])
        assert describe_partitions(wire, [a, b], limit=1) == ((a, 1), [(a, 0, 1)])


def test_nothing_left_for_the_controller_is_answered_without_time(bootstrap, name):
    """What the broker refuses itself is answered even with a timeout of 0."""
    with WireClient(bootstrap) as wire:
        twice = [CT(name=name, num_partitions=1, replication_factor=1)] * 2
        results = wire.send(CreateTopicsRequest(topics=twice, timeout_ms=0), 7).topics
        assert [(r.name, r.error_code) for r in results] == [(name, INVALID_REQUEST)]
        refused = [DT(name=name, topic_id=uuid.uuid4()), DT(name=None, topic_id=ZERO)]
        results = wire.send(DeleteTopicsRequest(topics=refused, timeout_ms=0), 6).responses
        assert sorted((r.name or "", r.error_code) for r in results) == [
            ("", INVALID_REQUEST),
            (name, INVALID_REQUEST),
        ]
        req = ElectLeadersRequest(election_type=5, topic_partitions=[], timeout_ms=0)
        response = wire.send(req, 2)
        assert (response.error_code, response.replica_election_results) == (0, [])


def test_describe_topic_partitions_cursor_past_int_range(bootstrap, name):
    """Kafka adds the limit to the cursor's partition in Java int arithmetic: past 2**31 - 1
    the end wraps round, and the answer's cursor carries the wrapped index."""
    with WireClient(bootstrap) as wire:
        create_topic(wire, name)
        assert describe_partitions(wire, [name], limit=2, cursor=(name, 2**31 - 1)) == (
            (name, -(2**31) + 1),
            [(name, 0, 0)],
        )
