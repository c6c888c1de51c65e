"""CreateTopics (19), DeleteTopics (20), DeleteRecords (21) and CreatePartitions (37) against an
in-process broker: what each creates or removes, and the refusals, as Kafka answers them."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import trio

from kpy.protocol.error_codes import ErrorCode
from kpy.protocol.messages.create_partitions import CreatePartitionsRequest
from kpy.protocol.messages.create_topics import CreateTopicsRequest
from kpy.protocol.messages.delete_records import DeleteRecordsRequest
from kpy.protocol.messages.delete_topics import DeleteTopicsRequest
from kpy.testing import in_process_broker, wait_until
from tests.handlers.helpers import (
    ZERO_UUID,
    batch,
    create_topic,
    fetch,
    fetch_request,
    list_offset,
    produce,
)

pytestmark = pytest.mark.timeout(30)

DYNAMIC_TOPIC_CONFIG = 1  # config_source of a topic's own override
DEFAULT_CONFIG = 5


def partition_dirs(data: Path, topic: str) -> list[str]:
    return sorted(p.name for p in data.iterdir() if p.name.startswith(topic + "-"))


# -- CreateTopics -------------------------------------------------------------------------------


async def test_create_topics_answers_the_topic_as_made_and_it_is_writable(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        result = await create_topic(c, "t", 3, {"retention.ms": "1000"})
        topic = b.broker.metadata.get("t")
        assert (result.error_code, result.num_partitions, result.replication_factor) == (0, 3, 1)
        assert result.topic_id == topic.topic_id != ZERO_UUID
        configs = {e.name: (e.value, e.config_source) for e in result.configs}
        assert configs["retention.ms"] == ("1000", DYNAMIC_TOPIC_CONFIG)
        assert configs["cleanup.policy"] == ("delete", DEFAULT_CONFIG)
        assert partition_dirs(tmp_path, "t") == ["t-0", "t-1", "t-2"]
        for p in range(3):  # no LEADER_NOT_AVAILABLE: served at once
            assert (await produce(c, "t", batch(), p)).error_code == 0
        # Before v5 the answer has no counts or configs.
        old = await create_topic(c, "old", 1, version=4)
        assert (old.error_code, old.num_partitions, old.configs) == (0, -1, None)


@pytest.mark.parametrize("version", [2, 3, 7])
async def test_minus_one_takes_the_broker_defaults_at_every_version(tmp_path, version):
    async with in_process_broker(tmp_path, num_partitions=4) as b, b.connect() as c:
        result = await create_topic(c, "t", -1, replication_factor=-1, version=version)
        assert result.error_code == 0
        assert b.broker.metadata.get("t").partitions == 4


async def test_validate_only_creates_nothing(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        result = await create_topic(c, "t", 2, {"cleanup.policy": "compact"}, validate_only=True)
        assert (result.error_code, result.num_partitions, result.topic_id) == (0, 2, ZERO_UUID)
        assert {e.name: e.value for e in result.configs}["cleanup.policy"] == "compact"
        assert b.broker.metadata.get("t") is None and partition_dirs(tmp_path, "t") == []
        refused = await create_topic(c, "u", 0, validate_only=True)
        assert refused.error_code == ErrorCode.INVALID_PARTITIONS


@pytest.mark.parametrize(
    ("partitions", "replication", "configs", "code"),
    [
        (1, 2, {}, ErrorCode.INVALID_REPLICATION_FACTOR),
        (0, 0, {}, ErrorCode.INVALID_REPLICATION_FACTOR),  # replication is checked first
        (0, 1, {}, ErrorCode.INVALID_PARTITIONS),
        (-2, 1, {}, ErrorCode.INVALID_PARTITIONS),
        (1, 1, {"no.such.config": "1"}, ErrorCode.INVALID_CONFIG),
        (1, 1, {"retention.ms": "soon"}, ErrorCode.INVALID_CONFIG),
        (1, 1, {"cleanup.policy": "shred"}, ErrorCode.INVALID_CONFIG),
    ],
)
async def test_create_topics_refusals(tmp_path, partitions, replication, configs, code):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        result = await create_topic(c, "t", partitions, configs, replication_factor=replication)
        assert (result.error_code, result.configs, result.num_partitions) == (code, [], -1)
        assert result.error_message
        assert b.broker.metadata.get("t") is None and partition_dirs(tmp_path, "t") == []


async def test_names_taken_illegal_or_colliding(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "a.b")
        existing = await create_topic(c, "a.b", 0)  # the name is checked before the count
        assert existing.error_code == ErrorCode.TOPIC_ALREADY_EXISTS
        colliding = await create_topic(c, "a_b")
        assert colliding.error_code == ErrorCode.INVALID_TOPIC_EXCEPTION
        assert "collides" in colliding.error_message
        for name in ("", "..", "x" * 250, "white space"):
            assert (await create_topic(c, name)).error_code == ErrorCode.INVALID_TOPIC_EXCEPTION
        assert sorted(b.broker.metadata.topics) == ["a.b"]


async def test_replica_assignments(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        Assignment = CreateTopicsRequest.CreatableReplicaAssignment

        async def create(name: str, assignments: list, partitions: int = -1) -> object:
            topic = CreateTopicsRequest.CreatableTopic(
                name=name,
                num_partitions=partitions,
                replication_factor=-1,
                assignments=assignments,
            )
            answer = await c.send(CreateTopicsRequest(topics=[topic], timeout_ms=5000), 7)
            return answer.topics[0]

        ok = await create("t", [Assignment(partition_index=i, broker_ids=[1]) for i in range(2)])
        assert (ok.error_code, ok.num_partitions) == (0, 2)
        other = await create("u", [Assignment(partition_index=0, broker_ids=[2])])
        assert other.error_code == ErrorCode.INVALID_REPLICA_ASSIGNMENT
        both = await create("v", [Assignment(partition_index=0, broker_ids=[1])], partitions=1)
        assert both.error_code == ErrorCode.INVALID_REQUEST
        assert sorted(b.broker.metadata.topics) == ["t"]


async def test_no_time_or_a_name_twice(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        topics = [
            CreateTopicsRequest.CreatableTopic(name=n, num_partitions=1, replication_factor=1)
            for n in ("a", "b", "a")
        ]
        timed_out = await c.send(CreateTopicsRequest(topics=topics, timeout_ms=0), 7)
        assert [(t.name, t.error_code) for t in timed_out.topics] == [
            ("a", ErrorCode.REQUEST_TIMED_OUT),
            ("b", ErrorCode.REQUEST_TIMED_OUT),
            ("a", ErrorCode.REQUEST_TIMED_OUT),
        ]
        assert b.broker.metadata.topics == {}
        answer = await c.send(CreateTopicsRequest(topics=topics, timeout_ms=5000), 7)
        assert [(t.name, t.error_code) for t in answer.topics] == [
            ("a", ErrorCode.INVALID_REQUEST),
            ("b", 0),
        ]
        assert sorted(b.broker.metadata.topics) == ["b"]


# -- DeleteTopics -------------------------------------------------------------------------------


async def test_delete_by_name_removes_the_logs_and_a_new_topic_starts_empty(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t", 2)
        old_id = b.broker.metadata.get("t").topic_id
        await produce(c, "t", batch(3))
        answer = await c.send(DeleteTopicsRequest(topic_names=["t"], timeout_ms=5000), 5)
        assert [(r.name, r.error_code) for r in answer.responses] == [("t", 0)]
        assert b.broker.metadata.get("t") is None and partition_dirs(tmp_path, "t") == []
        assert (await fetch(c, "t", 0)).error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        again = await create_topic(c, "t", 1)
        assert again.topic_id != old_id
        assert (await list_offset(c, "t", -1)).offset == 0


async def test_delete_by_id_at_v6_and_the_refusals(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t")
        await create_topic(c, "u")
        t_id = b.broker.metadata.get("t").topic_id
        unknown_id = uuid.uuid4()
        State = DeleteTopicsRequest.DeleteTopicState
        request = DeleteTopicsRequest(
            topics=[
                State(name=None, topic_id=t_id),
                State(name=None, topic_id=unknown_id),
                State(name="missing"),
                State(name="u", topic_id=uuid.uuid4()),  # both: refused, nothing deleted
                State(name=None),  # neither
            ],
            timeout_ms=5000,
        )
        answer = await c.send(request, 6)
        assert [(r.name, r.topic_id, r.error_code) for r in answer.responses] == [
            ("t", t_id, 0),
            (None, unknown_id, ErrorCode.UNKNOWN_TOPIC_ID),
            ("missing", ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
            ("u", request.topics[3].topic_id, ErrorCode.INVALID_REQUEST),
            (None, ZERO_UUID, ErrorCode.INVALID_REQUEST),
        ]
        assert sorted(b.broker.metadata.topics) == ["u"]


async def test_internal_topics_and_disabled_deletion_are_refused(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await b.broker.groups.ensure_topic()
        request = DeleteTopicsRequest(topic_names=["__consumer_offsets"], timeout_ms=5000)
        answer = await c.send(request, 5)
        assert [r.error_code for r in answer.responses] == [ErrorCode.INVALID_REQUEST]
        assert b.broker.metadata.get("__consumer_offsets") is not None
    async with (
        in_process_broker(tmp_path / "off", delete_topic_enable="false") as b,
        b.connect() as c,
    ):
        await create_topic(c, "t")
        request = DeleteTopicsRequest(topic_names=["t"], timeout_ms=5000)
        disabled = await c.send(request, 3)
        assert [r.error_code for r in disabled.responses] == [ErrorCode.TOPIC_DELETION_DISABLED]
        older = await c.send(request, 2)
        assert [r.error_code for r in older.responses] == [ErrorCode.INVALID_REQUEST]
        assert b.broker.metadata.get("t") is not None


async def test_deletion_ends_a_fetch_waiting_on_the_topic(tmp_path, mock_clock):
    async with in_process_broker(tmp_path) as b, b.connect() as c, b.connect() as admin:
        await create_topic(c, "t")
        answers: list = []

        async def wait_for_data() -> None:
            answers.append(await c.send(fetch_request("t", 0, max_wait_ms=60_000), 12))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(wait_for_data)
            await wait_until(lambda: b.broker.statistics()["fetch_waiters"] == 1)
            await admin.send(DeleteTopicsRequest(topic_names=["t"], timeout_ms=5000), 5)
        # Answered with no time passing on the (frozen) clock.
        part = answers[0].responses[0].partitions[0]
        assert part.error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION


# -- CreatePartitions ---------------------------------------------------------------------------


def grow(name: str, count: int, assignments: list[list[int]] | None = None) -> object:
    return CreatePartitionsRequest.CreatePartitionsTopic(
        name=name,
        count=count,
        assignments=None
        if assignments is None
        else [
            CreatePartitionsRequest.CreatePartitionsAssignment(broker_ids=a) for a in assignments
        ],
    )


async def test_create_partitions_adds_writable_partitions(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t", 1)
        await produce(c, "t", batch(2))
        answer = await c.send(CreatePartitionsRequest(topics=[grow("t", 3)], timeout_ms=5000), 3)
        assert [(r.name, r.error_code) for r in answer.results] == [("t", 0)]
        assert partition_dirs(tmp_path, "t") == ["t-0", "t-1", "t-2"]
        assert b.broker.metadata.get("t").leader_epochs == [0, 0, 0]
        assert (await produce(c, "t", batch(), 2)).base_offset == 0
        assert (await list_offset(c, "t", -1, 0)).offset == 2


async def test_create_partitions_refusals(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t", 2)
        await create_topic(c, "u", 1)
        request = CreatePartitionsRequest(
            topics=[
                grow("t", 2),
                grow("u", 3, [[1]]),  # two partitions added, one assignment
                grow("missing", 2),
                grow("w", 3),
                grow("w", 4),
            ],
            timeout_ms=5000,
        )
        await create_topic(c, "w", 1)
        answer = await c.send(request, 3)
        assert [(r.name, r.error_code) for r in answer.results] == [
            ("t", ErrorCode.INVALID_PARTITIONS),
            ("u", ErrorCode.INVALID_REPLICA_ASSIGNMENT),
            ("missing", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
            ("w", ErrorCode.INVALID_REQUEST),
        ]
        assert answer.results[0].error_message == "Topic already has 2 partitions."
        shrink = await c.send(CreatePartitionsRequest(topics=[grow("t", 1)], timeout_ms=5000), 3)
        assert shrink.results[0].error_code == ErrorCode.INVALID_PARTITIONS
        elsewhere = CreatePartitionsRequest(topics=[grow("u", 2, [[2]])], timeout_ms=5000)
        assert (await c.send(elsewhere, 3)).results[0].error_code == (
            ErrorCode.INVALID_REPLICA_ASSIGNMENT
        )
        counts = {n: b.broker.metadata.get(n).partitions for n in ("t", "u", "w")}
        assert counts == {"t": 2, "u": 1, "w": 1}


async def test_create_partitions_validate_only_or_without_time_adds_nothing(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t", 1)
        check = CreatePartitionsRequest(topics=[grow("t", 4)], timeout_ms=5000, validate_only=True)
        assert (await c.send(check, 3)).results[0].error_code == 0
        late = CreatePartitionsRequest(topics=[grow("t", 4)], timeout_ms=0)
        assert (await c.send(late, 3)).results[0].error_code == ErrorCode.REQUEST_TIMED_OUT
        assert b.broker.metadata.get("t").partitions == 1
        assert partition_dirs(tmp_path, "t") == ["t-0"]


# -- DeleteRecords ------------------------------------------------------------------------------


def delete_records(name: str, offsets: dict[int, int]) -> DeleteRecordsRequest:
    return DeleteRecordsRequest(
        topics=[
            DeleteRecordsRequest.DeleteRecordsTopic(
                name=name,
                partitions=[
                    DeleteRecordsRequest.DeleteRecordsPartition(partition_index=p, offset=o)
                    for p, o in offsets.items()
                ],
            )
        ],
        timeout_ms=5000,
    )


async def test_delete_records_moves_the_log_start(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t", 2)
        await produce(c, "t", batch(5), 0)
        await produce(c, "t", batch(2), 1)
        answer = await c.send(delete_records("t", {0: 3, 1: -1}), 2)
        assert [
            (p.partition_index, p.error_code, p.low_watermark) for p in answer.topics[0].partitions
        ] == [
            (0, 0, 3),
            (1, 0, 2),  # -1: the high watermark
        ]
        assert (await list_offset(c, "t", -2, 0)).offset == 3
        assert (await fetch(c, "t", 2, 0)).error_code == ErrorCode.OFFSET_OUT_OF_RANGE
        assert (await fetch(c, "t", 3, 0)).log_start_offset == 3
        # Below the log start: nothing moves back.
        answer = await c.send(delete_records("t", {0: 1}), 2)
        assert answer.topics[0].partitions[0].low_watermark == 3


async def test_delete_records_refusals(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t")
        await produce(c, "t", batch(2))
        answer = await c.send(delete_records("t", {0: 3, 7: 0}), 2)
        assert [
            (p.partition_index, p.error_code, p.low_watermark) for p in answer.topics[0].partitions
        ] == [
            (0, ErrorCode.OFFSET_OUT_OF_RANGE, -1),
            (7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1),
        ]
        assert b.broker.partition_log("t", 0).log_start_offset == 0
