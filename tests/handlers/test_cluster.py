"""DescribeCluster (60), DescribeLogDirs (35), ElectLeaders (43) and DescribeTopicPartitions
(75) against an in-process broker."""

from __future__ import annotations

import os

import pytest

from kpy.protocol.error_codes import ErrorCode
from kpy.protocol.messages.describe_cluster import DescribeClusterRequest
from kpy.protocol.messages.describe_log_dirs import DescribeLogDirsRequest
from kpy.protocol.messages.describe_topic_partitions import DescribeTopicPartitionsRequest
from kpy.protocol.messages.elect_leaders import ElectLeadersRequest
from kpy.testing import in_process_broker
from tests.handlers.helpers import batch, create_topic, produce

pytestmark = pytest.mark.timeout(30)


# -- DescribeCluster ----------------------------------------------------------------------------


async def test_describe_cluster_names_this_broker_as_everything(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        host, port = b.bootstrap.rsplit(":", 1)
        for version in (0, 1):
            answer = await c.send(DescribeClusterRequest(), version)
            assert (answer.error_code, answer.cluster_id, answer.controller_id) == (
                0,
                b.broker.metadata.cluster_id,
                1,
            )
            assert [(n.broker_id, n.host, n.port, n.rack) for n in answer.brokers] == [
                (1, host, int(port), None)
            ]
            assert answer.cluster_authorized_operations == -(2**31)
        asked = await c.send(DescribeClusterRequest(include_cluster_authorized_operations=True), 1)
        assert asked.cluster_authorized_operations == 8096


async def test_describe_cluster_endpoint_types(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        controller = await c.send(DescribeClusterRequest(endpoint_type=2), 1)
        assert (controller.error_code, controller.cluster_id, controller.brokers) == (
            ErrorCode.MISMATCHED_ENDPOINT_TYPE,
            "",
            [],
        )
        other = await c.send(DescribeClusterRequest(endpoint_type=9), 1)
        assert other.error_code == ErrorCode.UNSUPPORTED_ENDPOINT_TYPE
        assert "9" in other.error_message


# -- DescribeLogDirs ----------------------------------------------------------------------------


async def test_describe_log_dirs_sizes_partitions_where_they_are(tmp_path):
    dirs = [tmp_path / "a", tmp_path / "b"]
    async with (
        in_process_broker(tmp_path, log_dirs=",".join(map(str, dirs))) as b,
        b.connect() as c,
    ):
        await create_topic(c, "t", 4)
        await produce(c, "t", batch(5), 0)
        answer = await c.send(DescribeLogDirsRequest(topics=None), 4)
        assert sorted(r.log_dir for r in answer.results) == sorted(map(str, dirs))
        sizes = {}
        for result in answer.results:
            assert result.error_code == 0 and result.total_bytes >= result.usable_bytes > 0
            for topic in result.topics:
                for p in topic.partitions:
                    sizes[(topic.name, p.partition_index)] = (result.log_dir, p.partition_size)
        assert sorted(k for k in sizes if k[0] == "t") == [("t", p) for p in range(4)]
        for (name, p), (log_dir, size) in sizes.items():
            log = b.broker.partition_log(name, p)
            assert os.path.isdir(os.path.join(log_dir, f"{name}-{p}"))
            assert size == log.size_in_bytes()
        assert sizes[("t", 0)][1] > 0 and sizes[("t", 1)][1] == 0
        # Only what is asked; before v4 no disk space.
        only = DescribeLogDirsRequest(
            topics=[DescribeLogDirsRequest.DescribableLogDirTopic(topic="t", partitions=[2, 9])]
        )
        answer = await c.send(only, 3)
        listed = [
            (t.name, p.partition_index)
            for r in answer.results
            for t in r.topics
            for p in t.partitions
        ]
        assert listed == [("t", 2)]
        assert {r.total_bytes for r in answer.results} == {-1}


# -- ElectLeaders -------------------------------------------------------------------------------


def elect(partitions: dict[str, list[int]] | None, election_type: int = 0, timeout_ms: int = 5000):
    return ElectLeadersRequest(
        election_type=election_type,
        timeout_ms=timeout_ms,
        topic_partitions=None
        if partitions is None
        else [
            ElectLeadersRequest.TopicPartitions(topic=t, partitions=ps)
            for t, ps in partitions.items()
        ],
    )


def results(answer) -> list[tuple[str, int, int]]:
    return [
        (r.topic, p.partition_id, p.error_code)
        for r in answer.replica_election_results
        for p in r.partition_result
    ]


async def test_elect_leaders_is_never_needed(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t", 2)
        answer = await c.send(elect({"t": [0, 1, 2], "missing": [0]}), 2)
        assert answer.error_code == 0
        assert results(answer) == [
            ("t", 0, ErrorCode.ELECTION_NOT_NEEDED),
            ("t", 1, ErrorCode.ELECTION_NOT_NEEDED),
            ("t", 2, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
            ("missing", 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
        ]
        every = await c.send(elect(None), 2)
        assert [(r.topic, r.partition_result) for r in every.replica_election_results] == [
            ("t", [])
        ]
        assert b.broker.metadata.get("t").leader_epochs == [0, 0]


async def test_elect_leaders_refusals(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t")
        late = await c.send(elect({"t": [0]}, timeout_ms=0), 2)
        assert (late.error_code, results(late)) == (
            ErrorCode.REQUEST_TIMED_OUT,
            [("t", 0, ErrorCode.REQUEST_TIMED_OUT)],
        )
        odd = await c.send(elect({"t": [0]}, election_type=5), 2)
        assert (odd.error_code, results(odd)) == (
            ErrorCode.INVALID_REQUEST,
            [("t", 0, ErrorCode.INVALID_REQUEST)],
        )
        # Nothing asked: nothing checked.
        empty = await c.send(elect({}, election_type=5, timeout_ms=0), 2)
        assert (empty.error_code, empty.replica_election_results) == (0, [])


# -- DescribeTopicPartitions --------------------------------------------------------------------


def describe(*names: str, limit: int = 2000, cursor: tuple[str, int] | None = None):
    return DescribeTopicPartitionsRequest(
        topics=[DescribeTopicPartitionsRequest.TopicRequest(name=n) for n in names],
        response_partition_limit=limit,
        cursor=None
        if cursor is None
        else DescribeTopicPartitionsRequest.Cursor(topic_name=cursor[0], partition_index=cursor[1]),
    )


async def test_describe_topic_partitions_pages_through_partitions(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "a", 3)
        await create_topic(c, "b", 2)
        seen: list[tuple[str, int]] = []
        request = describe("b", "a", "zz-missing", limit=2)
        pages = 0
        while True:
            answer = await c.send(request, 0)
            pages += 1
            for t in answer.topics:
                seen += [(t.name, p.partition_index) for p in t.partitions]
                if t.name == "zz-missing":
                    assert t.error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            if answer.next_cursor is None:
                break
            request.cursor = DescribeTopicPartitionsRequest.Cursor(
                topic_name=answer.next_cursor.topic_name,
                partition_index=answer.next_cursor.partition_index,
            )
        assert seen == [("a", 0), ("a", 1), ("a", 2), ("b", 0), ("b", 1)]
        assert pages == 3
        first = (await c.send(describe("a"), 0)).topics[0]
        assert first.topic_id == b.broker.metadata.get("a").topic_id
        assert first.topic_authorized_operations == 3576
        p = first.partitions[0]
        assert (
            p.leader_id,
            p.leader_epoch,
            p.replica_nodes,
            p.isr_nodes,
            p.eligible_leader_replicas,
        ) == (
            1,
            0,
            [1],
            [1],
            [],
        )


async def test_describe_topic_partitions_lists_every_topic_when_none_is_named(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "b")
        await create_topic(c, "a")
        answer = await c.send(describe(), 0)
        assert [t.name for t in answer.topics] == ["a", "b"]


async def test_describe_topic_partitions_refusals(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "a")
        not_asked = await c.send(describe("a", cursor=("b", 0)), 0)
        assert [(t.name, t.error_code) for t in not_asked.topics] == [
            ("a", ErrorCode.INVALID_REQUEST)
        ]
        negative = await c.send(describe("a", cursor=("a", -1)), 0)
        assert [t.error_code for t in negative.topics] == [ErrorCode.INVALID_REQUEST]
        empty = await c.send(describe("a", ""), 0)
        assert {t.error_code for t in empty.topics} == {ErrorCode.UNKNOWN_SERVER_ERROR}
        illegal = await c.send(describe("bad name"), 0)
        assert [t.error_code for t in illegal.topics] == [ErrorCode.INVALID_TOPIC_EXCEPTION]
