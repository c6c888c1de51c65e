"""Crash loop: SIGKILL the broker again and again under an idempotent acks=all producer.

Every acknowledged record must be present exactly once, in order, per partition; committed
offsets survive; no segment ends in a partial batch.
"""

from __future__ import annotations

import os
import random
import time

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from kpy.protocol import records

RESTARTS = int(os.environ.get("KPY_CRASH_RESTARTS", "20"))


@pytest.mark.timeout(600)
def test_crash_loop_loses_and_duplicates_nothing(fresh_broker, topic_name):
    rng = random.Random(7)
    broker = fresh_broker
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(topic_name, 3, 1)])[topic_name].result(15)
    acked: dict[int, list[int]] = {0: [], 1: [], 2: []}

    def on_delivery(err, msg):
        if err is None:
            acked[msg.partition()].append(int(msg.value()))

    producer = Producer(
        {
            "bootstrap.servers": broker.bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 2,
            "message.timeout.ms": 60000,
            "retry.backoff.ms": 50,
            "reconnect.backoff.ms": 20,
            "reconnect.backoff.max.ms": 200,
        }
    )
    group = f"g-{topic_name}"
    committer = Consumer(
        {"bootstrap.servers": broker.bootstrap, "group.id": group, "enable.auto.commit": False}
    )
    committer.assign([TopicPartition(topic_name, p) for p in range(3)])
    seq = 0
    recovery_times = []
    committed_expect = {}
    for restart in range(RESTARTS):
        deadline = time.monotonic() + rng.uniform(0.2, 0.8)
        while time.monotonic() < deadline:
            try:
                producer.produce(
                    topic_name, value=str(seq).encode(), partition=seq % 3, on_delivery=on_delivery
                )
            except BufferError:  # the client's queue is full while the broker is down
                producer.poll(0.05)
                continue
            seq += 1
            producer.poll(0)
        producer.poll(0.05)
        if restart % 5 == 0 and all(acked.values()):
            offsets = [TopicPartition(topic_name, p, len(acked[p])) for p in range(3)]
            try:
                committer.commit(offsets=offsets, asynchronous=False)
                committed_expect = {p: len(acked[p]) for p in range(3)}
            except Exception:
                pass
        broker.kill()
        started = time.monotonic()
        broker.start()
        recovery_times.append(time.monotonic() - started)
    assert producer.flush(60) == 0
    committer.close()

    consumer = Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": group + "-check",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )
    consumer.assign([TopicPartition(topic_name, p, 0) for p in range(3)])
    stored: dict[int, list[int]] = {0: [], 1: [], 2: []}
    eof: set[int] = set()
    deadline = time.monotonic() + 60
    while len(eof) < 3 and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() == KafkaError._PARTITION_EOF:
                eof.add(msg.partition())
            continue
        stored[msg.partition()].append(int(msg.value()))
    consumer.close()
    total = sum(len(v) for v in acked.values())
    for p in range(3):
        assert len(stored[p]) == len(set(stored[p])), f"duplicates in partition {p}"
        assert stored[p] == sorted(stored[p]), f"partition {p} out of order"
        assert set(acked[p]) <= set(stored[p]), (
            f"lost {len(set(acked[p]) - set(stored[p]))} acked records"
        )
    print(
        f"acked={total} restarts={RESTARTS} lost=0 duplicated=0 "
        f"recovery median={sorted(recovery_times)[len(recovery_times) // 2]:.2f}s"
    )

    # Committed offsets are intact after all the crashes.
    if committed_expect:
        c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group})
        got = c.committed([TopicPartition(topic_name, p) for p in range(3)], timeout=15)
        c.close()
        assert {tp.partition: tp.offset for tp in got} == committed_expect

    # No segment holds a partial batch.
    broker.stop()
    for d in broker.data_dir.iterdir():
        if d.name.startswith(topic_name):
            for seg in d.glob("*.log"):
                data = seg.read_bytes()
                end = 0
                for pos, h in records.iter_batches(data):
                    records.validate_batch(data, pos)
                    end = pos + h.size
                assert end == len(data), f"{seg} ends in a partial batch"
