"""The Broker object on its own (no sockets): topics and partitions, the topic-creation checks,
advertised addresses, the connection limit and fetch wake-ups; then its statistics after
traffic through the in-process harness."""

from __future__ import annotations

import pytest
import trio

from kpy.broker import Broker
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.protocol.messages.init_producer_id import InitProducerIdRequest
from kpy.testing import broker_config, in_process_broker
from tests.handlers.helpers import (
    batch,
    commit,
    create_topic,
    fetch,
    join_as_new_member,
    produce,
    sync,
)

pytestmark = pytest.mark.timeout(30)


async def loaded(data_dir, **settings) -> Broker:
    broker = Broker(broker_config(data_dir, **settings))
    await broker.load()
    return broker


def code_of(call, *args) -> int:
    with pytest.raises(KafkaError) as info:
        call(*args)
    return info.value.code


# -- topics -------------------------------------------------------------------------------------


async def test_a_created_topic_is_writable_and_outlives_the_broker(tmp_path):
    broker = await loaded(tmp_path)
    topic = await broker.create_topic("t", 3, 1, {"retention.ms": 1000})
    assert (topic.name, topic.partitions, topic.configs) == ("t", 3, {"retention.ms": "1000"})
    assert topic.leader_epochs == [0, 0, 0]
    for p in range(3):
        log = broker.partition_log("t", p)
        assert (log.log_end_offset, log.config.retention_ms) == (0, 1000)
    assert sorted(d.name for d in tmp_path.glob("t-*")) == ["t-0", "t-1", "t-2"]
    await broker.close()
    again = await loaded(tmp_path)
    assert again.metadata.get("t").topic_id == topic.topic_id
    assert again.partition_log("t", 2).config.retention_ms == 1000
    await again.close()


async def test_creation_checks_in_kafkas_order(tmp_path):
    broker = await loaded(tmp_path, num_partitions=4, default_replication_factor=1)
    check = broker.check_topic_request
    assert check("a", -1, -1, {}) == (4, {})
    assert check("a", 2, 1, {"retention.ms": 5}) == (2, {"retention.ms": "5"})
    assert code_of(check, "a", 0, 0, {}) == ErrorCode.INVALID_REPLICATION_FACTOR
    assert code_of(check, "a", 0, 2, {}) == ErrorCode.INVALID_PARTITIONS  # before reachability
    assert code_of(check, "a", 1, 2, {}) == ErrorCode.INVALID_REPLICATION_FACTOR
    assert code_of(check, "a", 1, 1, {"retention.ms": "x"}) == ErrorCode.INVALID_CONFIG
    assert code_of(check, "a b", 1, 1, {}) == ErrorCode.INVALID_TOPIC_EXCEPTION
    await broker.create_topic("a", 1, 1, {})
    assert code_of(check, "a", 1, 1, {}) == ErrorCode.TOPIC_ALREADY_EXISTS
    with pytest.raises(KafkaError) as info:
        await broker.create_topic("a", 1, 1, {})
    assert info.value.code == ErrorCode.TOPIC_ALREADY_EXISTS
    await broker.close()


async def test_delete_add_partitions_and_configs(tmp_path):
    broker = await loaded(tmp_path)
    await broker.create_topic("t", 1, 1, {})
    await broker.add_partitions("t", 3)
    assert broker.metadata.get("t").partitions == 3
    assert broker.partition_log("t", 2).log_end_offset == 0
    assert broker.topic_effective_config("t")["retention.ms"] == 7 * 24 * 3600 * 1000
    broker.set_topic_configs("t", {"retention.ms": "77"})
    assert broker.topic_effective_config("t")["retention.ms"] == 77
    assert broker.partition_log("t", 1).config.retention_ms == 77
    # A broker default changed dynamically reaches the cached effective config.
    broker.config.set_dynamic("log.retention.bytes", "1234", per_broker=False)
    assert broker.topic_effective_config("t")["retention.bytes"] == 1234
    deleted = await broker.delete_topic("t")
    assert deleted.partitions == 3 and broker.metadata.get("t") is None
    assert list(tmp_path.glob("t-*")) == []
    assert code_of(broker.partition_log, "t", 0) == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    with pytest.raises(KafkaError) as info:
        await broker.delete_topic("t")
    assert info.value.code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    await broker.close()


async def test_an_offline_partition_is_a_storage_error(tmp_path):
    broker = await loaded(tmp_path)
    await broker.create_topic("t", 1, 1, {})
    broker.logs.offline[("t", 7)] = "unreadable"
    assert code_of(broker.partition_log, "t", 7) == ErrorCode.KAFKA_STORAGE_ERROR
    await broker.close()


async def test_internal_topics_are_created_once(tmp_path):
    broker = await loaded(tmp_path)
    made = []

    async def ensure() -> None:
        made.append(await broker.ensure_internal_topic("__x", 2, {}))

    async with trio.open_nursery() as nursery:
        for _ in range(4):
            nursery.start_soon(ensure)
    assert len({t.topic_id for t in made}) == 1
    assert (await broker.ensure_internal_topic("__x", 5, {})).partitions == 2
    await broker.close()


# -- listeners and connections ------------------------------------------------------------------


async def test_advertised_addresses(tmp_path):
    overrides = {
        "listeners": "PLAINTEXT://127.0.0.1:0,INTERNAL://:0",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT",
        "advertised.listeners": "PLAINTEXT://public.example:0",
    }
    broker = Broker(broker_config(tmp_path, overrides))
    broker.set_bound_listeners([("PLAINTEXT", "127.0.0.1", 4001), ("INTERNAL", "", 4002)])
    # Port 0 advertised: the port bound; a listener not advertised: where it is bound, a
    # wildcard host as localhost.
    assert broker.advertised("PLAINTEXT") == ("public.example", 4001)
    assert broker.advertised("INTERNAL") == ("localhost", 4002)
    plain = Broker(broker_config(tmp_path / "plain"))
    plain.set_bound_listeners([("PLAINTEXT", "127.0.0.1", 4003)])
    assert plain.advertised("PLAINTEXT") == ("127.0.0.1", 4003)


def test_the_connection_limit(tmp_path):
    broker = Broker(broker_config(tmp_path, max_connections=2))
    assert [broker.admit_connection() for _ in range(3)] == [True, True, False]
    assert broker.statistics()["connections"] == 2
    broker.release_connection()
    assert broker.admit_connection() is True
    assert broker.admit_connection() is False
    # A dynamic change applies to the next connection.
    broker.config.set_dynamic("max.connections", "3")
    assert broker.admit_connection() is True
    unlimited = Broker(broker_config(tmp_path / "u", max_connections=0))
    assert all(unlimited.admit_connection() for _ in range(100))


# -- fetch wake-ups -----------------------------------------------------------------------------


async def test_an_append_wakes_the_waiters_of_its_partition_only(tmp_path, mock_clock):
    broker = Broker(broker_config(tmp_path))
    woke: list[str] = []

    async def wait(name: str, partitions, timeout: float) -> None:
        await broker.wait_for_append(partitions, timeout)
        woke.append(name)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(wait, "a", [("t", 0), ("t", 1)], 30)
        nursery.start_soon(wait, "b", [("t", 2)], 30)
        await trio.testing.wait_all_tasks_blocked()
        assert broker.statistics()["fetch_waiters"] == 3  # one per partition waited on
        broker.notify_append(("t", 1))
        await trio.testing.wait_all_tasks_blocked()
        assert woke == ["a"] and broker.statistics()["fetch_waiters"] == 1
        mock_clock.jump(30)
    assert woke == ["a", "b"] and broker.statistics()["fetch_waiters"] == 0


# -- statistics ---------------------------------------------------------------------------------


async def test_statistics_count_what_was_done(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c, b.connect() as other:
        await create_topic(c, "t", 2)
        await create_topic(c, "u", 1)
        await produce(c, "t", batch(3), 0)
        await produce(c, "t", batch(2), 1)
        joined = await join_as_new_member(c, "g")
        await sync(c, "g", joined.generation_id, joined.member_id, {joined.member_id: b"x"})
        await commit(
            c, "g", {("t", 0): 3}, generation=joined.generation_id, member_id=joined.member_id
        )
        await other.send(
            InitProducerIdRequest(transactional_id="tx", transaction_timeout_ms=5000), 5
        )
        await fetch(other, "t", 0, session_epoch=0)
        stats = b.broker.statistics()
    assert stats["connections"] == 2
    assert stats["metadata"]["topics"] == 4  # t, u and the two internal topics
    assert stats["metadata"]["partitions"] == 2 + 1 + 3 + 3
    assert stats["metadata"]["cluster_id"] == b.broker.metadata.cluster_id
    assert stats["logs"]["logs"] == 9
    assert stats["partitions"][("t", 0)]["log_end_offset"] == 3
    assert stats["partitions"][("t", 1)]["log_end_offset"] == 2
    assert stats["partitions"][("u", 0)]["size"] == 0
    assert stats["logs"]["bytes"] == sum(p["size"] for p in stats["partitions"].values()) > 0
    assert (stats["groups"]["groups"], stats["groups"]["members"]) == (1, 1)
    assert stats["group_timers"]["timers"] >= 1  # the member's session
    assert stats["consumer_groups"] == {"consumer_groups": 0, "consumer_members": 0}
    assert stats["transactions"] == {
        "transactional_ids": 1,
        "ongoing": 0,
        "failing": 0,
        "failures": 0,
    }
    assert stats["producer_ids"]["next"] >= 1
    assert stats["fetch_sessions"]["sessions"] == 1
    assert stats["fetch_waiters"] == 0
    assert stats["cleaner"] == {"passes": 0, "bytes_reclaimed": 0}
    assert stats["uptime_s"] > 0
