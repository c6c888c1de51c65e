"""Consumer groups through real clients."""

from __future__ import annotations

import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from tests.integration.helpers import wait_for


def make_topic(bootstrap, name, partitions):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(timeout=15)


def produce(bootstrap, topic, n, partitions):
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 2})
    for i in range(n):
        p.produce(topic, value=str(i).encode(), partition=i % partitions)
    assert p.flush(15) == 0


def consumer(bootstrap, group, **extra):
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 500,
            **extra,
        }
    )


def test_confluent_group_splits_partitions(broker, topic_name):
    make_topic(broker.bootstrap, topic_name, 6)
    group = f"g-{topic_name}"
    consumers = [consumer(broker.bootstrap, group) for _ in range(3)]
    try:
        for c in consumers:
            c.subscribe([topic_name])

        def balanced():
            for c in consumers:
                c.poll(0.1)
            sets = [{tp.partition for tp in c.assignment()} for c in consumers]
            return sets if all(sets) and sum(len(s) for s in sets) == 6 else None

        sets = wait_for(balanced, timeout=30, message="3 members sharing 6 partitions")
        assert set().union(*sets) == set(range(6))
        assert sum(len(s) for s in sets) == 6  # disjoint
    finally:
        for c in consumers:
            c.close()


def test_commit_and_resume(broker, topic_name):
    make_topic(broker.bootstrap, topic_name, 2)
    produce(broker.bootstrap, topic_name, 100, 2)
    group = f"g-{topic_name}"
    c = consumer(broker.bootstrap, group, **{"enable.auto.commit": False})
    c.subscribe([topic_name])
    seen = []
    try:
        deadline = time.monotonic() + 30
        while len(seen) < 60 and time.monotonic() < deadline:
            msg = c.poll(0.2)
            if msg is not None and not msg.error():
                seen.append(int(msg.value()))
        c.commit(asynchronous=False)
    finally:
        c.close()
    c2 = consumer(broker.bootstrap, group)
    c2.subscribe([topic_name])
    rest = []
    try:
        deadline = time.monotonic() + 30
        while len(seen) + len(rest) < 100 and time.monotonic() < deadline:
            msg = c2.poll(0.2)
            if msg is not None and not msg.error():
                rest.append(int(msg.value()))
    finally:
        c2.close()
    assert sorted(seen + rest) == list(range(100))  # nothing lost, nothing re-delivered


def test_kafka_python_group_and_commit(broker, topic_name):
    from kafka import KafkaConsumer

    make_topic(broker.bootstrap, topic_name, 3)
    produce(broker.bootstrap, topic_name, 30, 3)
    c = KafkaConsumer(
        topic_name,
        bootstrap_servers=broker.bootstrap,
        group_id=f"kp-{topic_name}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=15000,
    )
    got = []
    for msg in c:
        got.append(msg.value)
        if len(got) == 30:
            break
    c.commit()
    committed = {p: c.committed(TopicPartitionKP(topic_name, p)) for p in range(3)}
    c.close()
    assert len(got) == 30
    assert sum(committed.values()) == 30


def TopicPartitionKP(topic, partition):  # noqa: N802
    from kafka import TopicPartition as KTP

    return KTP(topic, partition)


def test_aiokafka_group(broker, topic_name):
    import asyncio

    from aiokafka import AIOKafkaConsumer

    make_topic(broker.bootstrap, topic_name, 2)
    produce(broker.bootstrap, topic_name, 20, 2)

    async def main():
        c = AIOKafkaConsumer(
            topic_name,
            bootstrap_servers=broker.bootstrap,
            group_id=f"aio-{topic_name}",
            auto_offset_reset="earliest",
        )
        await c.start()
        got = []
        try:
            async with asyncio.timeout(30):
                async for msg in c:
                    got.append(msg.value)
                    if len(got) == 20:
                        break
            await c.commit()
        finally:
            await c.stop()
        return got

    assert sorted(int(v) for v in asyncio.run(main())) == list(range(20))


def test_committed_offsets_survive_restart(fresh_broker, topic_name):
    make_topic(fresh_broker.bootstrap, topic_name, 1)
    group = f"g-{topic_name}"
    c = consumer(fresh_broker.bootstrap, group, **{"enable.auto.commit": False})
    c.assign([TopicPartition(topic_name, 0)])
    c.commit(offsets=[TopicPartition(topic_name, 0, 42)], asynchronous=False)
    c.close()
    fresh_broker.restart()
    c = consumer(fresh_broker.bootstrap, group)
    try:
        got = c.committed([TopicPartition(topic_name, 0)], timeout=10)
        assert got[0].offset == 42
    finally:
        c.close()
