"""An in-memory CoordinatorContext: what the coordinators see of the broker, without one.

Internal partitions are lists of batches; ``fail`` makes every append raise it (a disk that
refuses writes) until it is cleared, ``fail_markers`` only the transaction markers. The wall clock is trio's (a MockClock in the tests)
plus a fixed epoch, so that virtual time moves both.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import trio

from kpy.coordinator.groups import GroupCoordinator
from kpy.coordinator.transactions import TransactionCoordinator
from kpy.metadata import Topic
from kpy.protocol import records

DEFAULTS: dict[str, Any] = {
    "offsets.topic.num.partitions": 50,
    "offsets.topic.segment.bytes": 104_857_600,
    "group.min.session.timeout.ms": 1000,
    "group.max.session.timeout.ms": 1_800_000,
    "group.max.size": 100,
    "group.initial.rebalance.delay.ms": 0,
    "offsets.retention.minutes": 10_080,
    "offset.metadata.max.bytes": 4096,
    "group.consumer.session.timeout.ms": 45_000,
    "group.consumer.heartbeat.interval.ms": 5000,
    "group.consumer.max.size": 10,
    "transaction.state.log.num.partitions": 50,
    "transaction.state.log.segment.bytes": 104_857_600,
    "transaction.max.timeout.ms": 900_000,
    "transactional.id.expiration.ms": 604_800_000,
}
EPOCH_MS = 1_700_000_000_000


class FakeContext:
    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.configs = {**DEFAULTS, **(config or {})}
        self.topics: dict[str, Topic] = {}
        self.batches: dict[tuple[str, int], list[bytes]] = defaultdict(list)
        self.markers: list[tuple[str, int, int]] = []  # (topic, partition, control type)
        self.fail: BaseException | None = None
        self.fail_markers: BaseException | None = None  # markers only
        self.created: list[str] = []
        self._next_pid = 1000

    # -- test helpers

    def add(self, name: str, partitions: int) -> Topic:
        topic = Topic(name, uuid.uuid4(), partitions, {}, [0] * partitions)
        self.topics[name] = topic
        return topic

    def records(self, topic: str, partition: int | None = None) -> list[records.Record]:
        keys = sorted(k for k in self.batches if k[0] == topic)
        return [
            r
            for k in keys
            if partition is None or k[1] == partition
            for batch in self.batches[k]
            for r in records.decode_records(batch)
        ]

    # -- CoordinatorContext

    def config(self, name: str) -> Any:
        return self.configs[name]

    def now_ms(self) -> int:
        return EPOCH_MS + round(trio.current_time() * 1000)

    def topic(self, name: str) -> Topic | None:
        return self.topics.get(name)

    def topic_by_id(self, topic_id: uuid.UUID) -> Topic | None:
        return next((t for t in self.topics.values() if t.topic_id == topic_id), None)

    def topic_names(self) -> list[str]:
        return list(self.topics)

    async def ensure_internal_topic(
        self, name: str, partitions: int, configs: dict[str, str]
    ) -> int:
        await trio.sleep(0)  # the broker's creation runs in a worker thread
        if self.fail is not None:
            raise self.fail
        if name not in self.topics:
            self.add(name, partitions)
            self.created.append(name)
        return self.topics[name].partitions

    def read_internal(self, topic: str, partition: int) -> Iterator[records.Record]:
        for batch in self.batches.get((topic, partition), []):
            yield from records.decode_records(batch)

    def append_internal(self, topic: str, partition: int, batch: bytearray) -> None:
        if self.fail is not None:
            raise self.fail
        assert topic in self.topics and 0 <= partition < self.topics[topic].partitions
        self.batches[(topic, partition)].append(bytes(batch))

    def append_marker(self, topic: str, partition: int, batch: bytearray) -> bool:
        if self.fail is not None or self.fail_markers is not None:
            raise self.fail or self.fail_markers  # type: ignore[misc]
        if topic not in self.topics:
            return False
        control = records.decode_records(bytes(batch))[0]
        assert control.key is not None
        self.markers.append((topic, partition, int.from_bytes(control.key[2:4], "big")))
        return True

    def next_producer_id(self) -> int:
        self._next_pid += 1
        return self._next_pid


def coordinators(ctx: FakeContext) -> tuple[GroupCoordinator, TransactionCoordinator]:
    groups = GroupCoordinator(ctx)
    return groups, TransactionCoordinator(ctx, groups)
