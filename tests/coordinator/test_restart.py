"""The coordinators over a real data directory (the broker's adapter, real logs, no sockets):
offsets that kpy before the partition_for fix wrote to another __consumer_offsets partition
than Kafka's survive restarts, and newer commits win over them."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from kpy.broker import Broker
from kpy.config import Config
from kpy.coordinator import offsets
from kpy.coordinator.offsets import OFFSETS_TOPIC, CommittedOffset, partition_for
from kpy.protocol.error_codes import ErrorCode, KafkaError

NOW_S = 1_700_000_000.0


def offset(value: int) -> dict[tuple[str, int], CommittedOffset]:
    return {("t", 0): CommittedOffset(value, -1, f"v{value}", int(NOW_S * 1000))}


@pytest.mark.parametrize(
    ("group", "old_partition", "kafka_partition"),
    [
        ("dae8e-02213-g0", 2, 46),  # found by the differential run
        ("group-100", 37, 11),  # Kafka's partition is read first on replay
    ],
)
def test_offsets_in_old_kpys_partition_survive_restarts_and_newer_commits_win(
    tmp_path, group, old_partition, kafka_partition
):
    config = Config({"log.dirs": str(tmp_path / "data"), "offsets.topic.num.partitions": 50})
    assert partition_for(group, 50) == kafka_partition

    async def start() -> Broker:
        broker = Broker(config, clock=lambda: NOW_S)
        await broker.load()
        return broker

    async def main():
        broker = await start()
        await broker.create_topic("t", 1, 1, {})
        await broker.groups.ensure_topic()
        # What kpy wrote before the fix: the commit in the partition of the masked hash.
        old = offsets.offset_record(group, "t", 0, offset(5)[("t", 0)])
        broker.partition_log(OFFSETS_TOPIC, old_partition).append(
            offsets.batch_of([old], int(NOW_S * 1000)), leader_epoch=0
        )
        await broker.close()

        broker = await start()
        assert broker.groups.committed(group)[("t", 0)].offset == 5
        await broker.groups.commit(group, offset(7))
        await broker.close()

        broker = await start()
        committed = broker.groups.committed(group)[("t", 0)]
        assert (committed.offset, committed.metadata) == (7, "v7")
        assert broker.partition_log(OFFSETS_TOPIC, kafka_partition).high_watermark == 2
        await broker.close()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


def test_a_commit_to_an_offline_offsets_partition_is_not_coordinator(tmp_path):
    """Kafka's group coordinator answers a failed write of its log NOT_COORDINATOR, so the
    client finds the coordinator again; kpy's storage error must not reach it as 56."""
    config = Config({"log.dirs": str(tmp_path / "data"), "offsets.topic.num.partitions": 3})

    async def main():
        broker = Broker(config, clock=lambda: NOW_S)
        await broker.load()
        await broker.create_topic("t", 1, 1, {})
        await broker.groups.ensure_topic()
        partition = partition_for("g", 3)
        log_dir = broker.partition_log(OFFSETS_TOPIC, partition).log_dir
        broker.logs.failures.fail(str(log_dir), "a test", OSError(5, "Input/output error"))
        with pytest.raises(KafkaError) as failed:
            await broker.groups.commit("g", offset(3))
        assert failed.value.code == ErrorCode.NOT_COORDINATOR
        assert broker.groups.committed("g") == {}  # write-then-apply: nothing applied
        await broker.close()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
