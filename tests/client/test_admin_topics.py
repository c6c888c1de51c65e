"""kpy.client.offsets and the topic and cluster functions of kpy.client.admin, over a socket
and through the in-process transport the console uses: both give the same answers."""

from __future__ import annotations

from contextlib import asynccontextmanager

import pytest

from kpy.client import Client, ClientError, admin
from kpy.client.offsets import list_offsets, watermarks
from kpy.client.sync import Admin
from kpy.protocol.messages.produce import ProduceRequest
from kpy.protocol.records import Record, build_batch
from kpy.testing import BrokerThread, in_process_broker

pytestmark = pytest.mark.timeout(30)

BASE_TIME = 1_700_000_000_000


@asynccontextmanager
async def _clients(tmp_path):
    async with (
        in_process_broker(tmp_path) as b,
        Client.connect(b.bootstrap) as remote,
        Client.local(b.broker) as local,
    ):
        yield remote, local


async def _produce(client: Client, topic: str, partition: int, count: int) -> None:
    """``count`` records, the i-th stamped BASE_TIME + 1000 * i."""
    records = [Record(None, f"v{i}".encode(), [], i, 1000 * i) for i in range(count)]
    request = ProduceRequest(
        acks=-1,
        timeout_ms=10_000,
        topic_data=[
            ProduceRequest.TopicProduceData(
                name=topic,
                partition_data=[
                    ProduceRequest.PartitionProduceData(
                        index=partition,
                        records=bytes(build_batch(records, base_timestamp=BASE_TIME)),
                    )
                ],
            )
        ],
    )
    answer = await client.send_to_leader(topic, partition, request, version=9)
    assert answer.responses[0].partition_responses[0].error_code == 0


async def test_offsets_by_spec(tmp_path):
    async with _clients(tmp_path) as (remote, local):
        await admin.create_topic(remote, "marks", 2)
        await _produce(remote, "marks", 0, 5)
        for c in (remote, local):
            assert await watermarks(c, ["marks"]) == {("marks", 0): (0, 5), ("marks", 1): (0, 0)}
            assert await list_offsets(c, {"marks": [0]}, "earliest") == {("marks", 0): 0}
            assert await list_offsets(c, [("marks", 0), ("marks", 1)]) == {
                ("marks", 0): 5,
                ("marks", 1): 0,
            }
            # The first record stamped at or after the time; -1 when none is.
            by_time = await list_offsets(c, {"marks": None}, BASE_TIME + 2500)
            assert by_time == {("marks", 0): 3, ("marks", 1): -1}
        await admin.delete_records(remote, "marks", {0: 2})
        assert await watermarks(local, {"marks": [0]}) == {("marks", 0): (2, 5)}


async def test_offsets_of_what_does_not_exist(tmp_path):
    async with _clients(tmp_path) as (remote, local):
        await admin.create_topic(remote, "one", 1)
        for c in (remote, local):
            for wanted in ({"none": None}, {"none": [0]}, {"one": [3]}):
                with pytest.raises(ClientError) as failed:
                    await list_offsets(c, wanted)
                assert failed.value.name == "UNKNOWN_TOPIC_OR_PARTITION"
        with pytest.raises(ValueError):
            await list_offsets(remote, {"one": [0]}, "soon")  # type: ignore[arg-type]


async def test_describe_alter_grow_and_trim(tmp_path):
    async with _clients(tmp_path) as (remote, local):
        await admin.create_topic(remote, "t", 1, {"retention.ms": "60000"})
        await _produce(remote, "t", 0, 3)
        await admin.alter_topic_config(local, "t", {"segment.bytes": "1048576"}, ["retention.ms"])
        grown = await admin.add_partitions(local, "t", 2)
        assert (grown.before, grown.after) == (1, 3)
        assert await admin.delete_records(local, "t", {0: admin.HIGH_WATERMARK}) == {0: 3}
        seen = [await admin.describe_topic(c, "t") for c in (remote, local)]
        assert seen[0] == seen[1]
        topic = seen[0]
        assert [(p.partition, p.log_start_offset, p.high_watermark) for p in topic.partitions] == [
            (0, 3, 3),
            (1, 0, 0),
            (2, 0, 0),
        ]
        assert topic.partitions[0].size_bytes > 0 and topic.partitions[1].size_bytes == 0
        assert topic.size_bytes == topic.partitions[0].size_bytes
        overrides = {c.name: (c.value, c.source) for c in topic.overrides()}
        assert overrides["segment.bytes"] == ("1048576", "DYNAMIC_TOPIC_CONFIG")
        assert "retention.ms" not in overrides
        configs = {c.name: c for c in topic.configs}
        assert configs["retention.ms"].is_default and configs["retention.ms"].value == "604800000"


async def test_dry_runs(tmp_path):
    async with _clients(tmp_path) as (remote, _):
        assert await admin.create_topic(remote, "maybe", 4, validate_only=True) == 4
        assert await admin.list_topics(remote) == []
        await admin.create_topic(remote, "real", 1)
        would = await admin.add_partitions(remote, "real", 5, validate_only=True)
        assert (would.before, would.after) == (1, 6)
        await admin.alter_topic_config(remote, "real", {"retention.ms": "1"}, validate_only=True)
        topic = await admin.describe_topic(remote, "real")
        assert len(topic.partitions) == 1 and not [
            c for c in topic.overrides() if c.name == "retention.ms"
        ]


async def test_describe_cluster(tmp_path):
    async with _clients(tmp_path) as (remote, local):
        seen = [await admin.describe_cluster(c) for c in (remote, local)]
        assert seen[0] == seen[1]
        cluster = seen[0]
        assert cluster.cluster_id and cluster.controller_id == cluster.brokers[0].id
        assert len(cluster.brokers) == 1
        names = {a.name: (a.key, a.min_version) for a in cluster.apis}
        assert names["ApiVersions"] == (18, 0) and names["Metadata"][0] == 3
        assert cluster.features == [] and cluster.features_epoch == -1  # kpy has no features


def test_the_sync_admin_has_the_new_operations(tmp_path):
    with BrokerThread(tmp_path) as b, Admin(b.bootstrap) as a:
        a.create_topic("synced", 1)
        assert a.describe_topic("synced").partitions[0].high_watermark == 0
        assert a.describe_cluster().brokers[0].port == int(b.bootstrap.rpartition(":")[2])


async def test_describe_topics_is_describe_topic_of_each_in_one_request_of_each_kind(tmp_path):
    async with _clients(tmp_path) as (remote, local):
        await admin.create_topic(remote, "many-a", 2, {"retention.ms": "60000"})
        await admin.create_topic(remote, "many-b", 1)
        await _produce(remote, "many-a", 1, 3)
        await _produce(remote, "many-b", 0, 2)
        for c in (remote, local):
            each = [await admin.describe_topic(c, n) for n in ("many-b", "many-a")]
            assert await admin.describe_topics(c, ["many-b", "many-a"]) == each
            bare = await admin.describe_topics(
                c, ["many-a", "absent", "many-b"], configs=False, missing_ok=True
            )
            assert [(t.name, t.configs) for t in bare] == [("many-a", []), ("many-b", [])]
            assert [t.partitions for t in bare] == [each[1].partitions, each[0].partitions]
            assert bare[0].size_bytes > 0 and bare[1].size_bytes > 0
            with pytest.raises(ClientError) as missing:
                await admin.describe_topics(c, ["many-a", "absent"])
            assert missing.value.code == 3
