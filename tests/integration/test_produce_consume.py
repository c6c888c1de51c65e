"""Produce and consume through real clients: confluent-kafka, kafka-python, aiokafka, kcat."""

from __future__ import annotations

import asyncio
import subprocess
import time

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from kpy.protocol import compression, records
from tests.integration.helpers import kcat_path, requires_kcat, wait_for

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


def create_topic(
    bootstrap: str, name: str, partitions: int = 1, config: dict | None = None
) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(name, partitions, 1, config=config or {})])
    futures[name].result(timeout=15)


def consume_all(
    bootstrap: str, topic: str, count: int, *, partitions: int = 1, timeout: float = 20.0, **extra
):
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"g-{topic}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            **extra,
        }
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    out = []
    deadline = time.monotonic() + timeout
    try:
        while len(out) < count and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise AssertionError(f"consumer error: {msg.error()}")
            out.append(msg)
    finally:
        consumer.close()
    return out


def test_confluent_keyed_round_trip_three_partitions(broker, topic_name):
    create_topic(broker.bootstrap, topic_name, partitions=3)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5})
    sent = {}
    for i in range(300):
        key = f"key-{i % 17}".encode()
        value = f"value-{i}".encode()
        ts = 1_700_000_000_000 + i
        producer.produce(
            topic_name, value=value, key=key, headers=[("h", f"{i}".encode())], timestamp=ts
        )
        sent[value] = (key, ts, f"{i}".encode())
    assert producer.flush(15) == 0
    got = consume_all(broker.bootstrap, topic_name, 300, partitions=3)
    assert len(got) == 300
    by_partition: dict[int, list] = {}
    for msg in got:
        key, ts, header = sent[msg.value()]
        assert msg.key() == key
        assert msg.timestamp()[1] == ts
        assert msg.headers() == [("h", header)]
        by_partition.setdefault(msg.partition(), []).append(msg)
    # Same key -> same partition; offsets dense and ordered within a partition.
    for msgs in by_partition.values():
        assert [m.offset() for m in msgs] == list(range(len(msgs)))
    keys_to_partitions: dict[bytes, set[int]] = {}
    for msg in got:
        keys_to_partitions.setdefault(msg.key(), set()).add(msg.partition())
    assert all(len(p) == 1 for p in keys_to_partitions.values())
    assert len(by_partition) == 3


@pytest.mark.parametrize("codec", CODECS)
def test_confluent_compression_codecs(broker, topic_name, codec):
    create_topic(broker.bootstrap, topic_name)
    producer = Producer(
        {"bootstrap.servers": broker.bootstrap, "compression.type": codec, "linger.ms": 20}
    )
    values = [(f"{codec}-{i}-" + "x" * (i % 50)).encode() for i in range(200)]
    for v in values:
        producer.produce(topic_name, value=v, key=b"k")
    assert producer.flush(15) == 0
    got = consume_all(broker.bootstrap, topic_name, len(values))
    assert [m.value() for m in got] == values


@pytest.mark.parametrize("codec", [None, "gzip", "snappy", "lz4", "zstd"])
def test_kafka_python_compression_codecs(broker, topic_name, codec):
    from kafka import KafkaConsumer, KafkaProducer

    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, compression_type=codec)
    values = [f"kp-{codec}-{i}".encode() for i in range(100)]
    for v in values:
        producer.send(topic_name, value=v, key=b"k", headers=[("a", b"b")])
    producer.flush(15)
    producer.close()
    consumer = KafkaConsumer(
        topic_name,
        bootstrap_servers=broker.bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=10000,
        enable_auto_commit=False,
    )
    got = []
    for msg in consumer:
        got.append(msg)
        if len(got) == len(values):
            break
    consumer.close()
    assert [m.value for m in got] == values
    assert got[0].headers == [("a", b"b")]


def test_one_megabyte_messages(broker, topic_name):
    create_topic(broker.bootstrap, topic_name, config={"max.message.bytes": str(3 * 1024 * 1024)})
    producer = Producer(
        {"bootstrap.servers": broker.bootstrap, "message.max.bytes": 3 * 1024 * 1024}
    )
    payloads = [bytes([i]) * (1024 * 1024) for i in range(3)]
    for p in payloads:
        producer.produce(topic_name, value=p)
    assert producer.flush(20) == 0
    got = consume_all(broker.bootstrap, topic_name, 3, **{"fetch.max.bytes": 1024 * 1024})
    assert [m.value() for m in got] == payloads


def test_message_too_large_rejected(broker, topic_name):
    create_topic(broker.bootstrap, topic_name, config={"max.message.bytes": "2000"})
    errors = []
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    producer.produce(topic_name, value=b"x" * 5000, on_delivery=lambda err, msg: errors.append(err))
    producer.flush(15)
    assert errors and errors[0] is not None
    assert errors[0].code() == KafkaError.MSG_SIZE_TOO_LARGE


def test_idempotent_producer(broker, topic_name):
    create_topic(broker.bootstrap, topic_name, partitions=2)
    producer = Producer(
        {"bootstrap.servers": broker.bootstrap, "enable.idempotence": True, "linger.ms": 2}
    )
    for i in range(500):
        producer.produce(topic_name, value=str(i).encode(), partition=i % 2)
    assert producer.flush(15) == 0
    got = consume_all(broker.bootstrap, topic_name, 500, partitions=2)
    assert sorted(int(m.value()) for m in got) == list(range(500))


def test_aiokafka_round_trip(broker, topic_name):
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    async def main():
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
        await producer.start()
        try:
            for i in range(50):
                await producer.send_and_wait(topic_name, f"a{i}".encode(), key=b"k")
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            topic_name, bootstrap_servers=broker.bootstrap, auto_offset_reset="earliest"
        )
        await consumer.start()
        got = []
        try:
            async with asyncio.timeout(20):
                async for msg in consumer:
                    got.append(msg.value)
                    if len(got) == 50:
                        break
        finally:
            await consumer.stop()
        return got

    assert asyncio.run(main()) == [f"a{i}".encode() for i in range(50)]


@requires_kcat
def test_kcat_metadata_produce_consume(broker, topic_name):
    kcat = kcat_path()
    out = subprocess.run(
        [kcat, "-b", broker.bootstrap, "-L"], capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    assert "1 brokers:" in out.stdout
    lines = "\n".join(f"k{i}:v{i}" for i in range(20)) + "\n"
    prod = subprocess.run(
        [kcat, "-b", broker.bootstrap, "-P", "-t", topic_name, "-K:"],
        input=lines,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert prod.returncode == 0, prod.stderr
    cons = subprocess.run(
        [
            kcat,
            "-b",
            broker.bootstrap,
            "-C",
            "-t",
            topic_name,
            "-o",
            "beginning",
            "-e",
            "-f",
            "%k=%s\n",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert cons.returncode == 0, cons.stderr
    assert cons.stdout.splitlines() == [f"k{i}=v{i}" for i in range(20)]


def segment_codecs(log_dir) -> list[int]:
    """The compression codec (attributes & 7) of every batch in a partition's first segment."""
    data = (log_dir / "00000000000000000000.log").read_bytes()
    return [h.compression for _, h in records.iter_batches(data)]


@requires_kcat
@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_kcat_compresses(broker, topic_name, codec):
    # librdkafka before 2.11.1 (Debian 12's kcat: 2.0.2) sends gzip, snappy and lz4 batches
    # only when ApiVersions lists Produce v0; otherwise it logs a NOTICE and writes them
    # uncompressed (zstd is not affected).
    kcat = kcat_path()
    lines = "".join(f"k{i}:{codec}-value-{i}-{'x' * 40}\n" for i in range(50))
    prod = subprocess.run(
        [kcat, "-b", broker.bootstrap, "-P", "-t", topic_name, "-K:", "-z", codec],
        input=lines,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert prod.returncode == 0, prod.stderr
    codecs = segment_codecs(broker.data_dir / f"{topic_name}-0")
    assert codecs and set(codecs) == {compression.CODEC_IDS[codec]}, prod.stderr
    cons = subprocess.run(
        [kcat, "-b", broker.bootstrap, "-C", "-t", topic_name, "-o", "beginning", "-e"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert cons.returncode == 0, cons.stderr
    assert cons.stdout.splitlines() == [line.split(":", 1)[1] for line in lines.splitlines()]


def test_auto_create_on_produce(broker, topic_name):
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    producer.produce(topic_name, value=b"auto")
    assert producer.flush(15) == 0
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    topics = admin.list_topics(timeout=10).topics
    assert topic_name in topics
    assert len(topics[topic_name].partitions) == 1


def test_long_poll_wakes_on_append(broker, topic_name):
    create_topic(broker.bootstrap, topic_name)
    consumer = Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": f"g-{topic_name}",
            "fetch.wait.max.ms": 10000,
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition(topic_name, 0, 0)])
    try:
        assert consumer.poll(1.0) is None  # the fetch is now parked on the broker
        producer = Producer({"bootstrap.servers": broker.bootstrap})
        producer.produce(topic_name, value=b"wake")
        producer.flush(10)
        sent = time.monotonic()
        msg = wait_for(lambda: consumer.poll(0.1), timeout=8, message="long-poll wake-up")
        # Well inside fetch.wait.max.ms: the append woke the parked fetch.
        assert time.monotonic() - sent < 8
        assert msg.value() == b"wake"
    finally:
        consumer.close()


def test_offset_out_of_range_resets(broker, topic_name):
    create_topic(broker.bootstrap, topic_name)
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(5):
        producer.produce(topic_name, value=str(i).encode())
    producer.flush(10)
    for reset, expected in (("earliest", b"0"), ("latest", None)):
        consumer = Consumer(
            {
                "bootstrap.servers": broker.bootstrap,
                "group.id": f"g-{topic_name}-{reset}",
                "auto.offset.reset": reset,
                "enable.auto.commit": False,
            }
        )
        consumer.assign([TopicPartition(topic_name, 0, 1000)])
        try:
            if expected is not None:
                msg = wait_for(lambda c=consumer: c.poll(0.2), timeout=10, message="reset")
                assert msg.value() == expected
            else:
                # Reset to the end: none of the old records is ever delivered, only ones
                # produced after the reset (keep producing until one arrives).
                def next_new(c=consumer):
                    producer.produce(topic_name, value=b"after-reset")
                    producer.flush(10)
                    return c.poll(0.3)

                msg = wait_for(next_new, timeout=15, message="reset to latest")
                assert msg.value() == b"after-reset"
        finally:
            consumer.close()
