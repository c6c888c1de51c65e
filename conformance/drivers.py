"""Client drivers: produce and consume the same records through each real client.

Each driver offers ``produce(bootstrap, topic, records, codec)`` and
``consume(bootstrap, topic, count, group=None)``; records are (key, value, headers) tuples.
A driver whose client is not installed is skipped with the reason.
"""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import subprocess
import time

import pytest

Rec = tuple[bytes | None, bytes, list[tuple[str, bytes]]]
DRIVERS = ["confluent-kafka", "kafka-python", "aiokafka", "kcat"]


def require(driver: str) -> None:
    module = {
        "confluent-kafka": "confluent_kafka",
        "kafka-python": "kafka",
        "aiokafka": "aiokafka",
    }.get(driver)
    if module and importlib.util.find_spec(module) is None:
        pytest.skip(f"{driver} is not installed")
    if driver == "kcat" and not (shutil.which("kcat") or shutil.which("kafkacat")):
        pytest.skip("kcat is not installed")


def produce(driver: str, bootstrap: str, topic: str, recs: list[Rec], codec: str = "none") -> None:
    require(driver)
    if driver == "confluent-kafka":
        from confluent_kafka import Producer

        p = Producer({"bootstrap.servers": bootstrap, "compression.type": codec, "linger.ms": 5})
        errors: list = []
        for k, v, h in recs:
            p.produce(
                topic, key=k, value=v, headers=h, on_delivery=lambda e, m: e and errors.append(e)
            )
        assert p.flush(20) == 0 and not errors, errors
    elif driver == "kafka-python":
        from kafka import KafkaProducer

        p = KafkaProducer(
            bootstrap_servers=bootstrap, compression_type=None if codec == "none" else codec
        )
        futures = [p.send(topic, key=k, value=v, headers=h) for k, v, h in recs]
        for f in futures:
            f.get(timeout=20)
        p.close()
    elif driver == "aiokafka":
        from aiokafka import AIOKafkaProducer

        async def run() -> None:
            p = AIOKafkaProducer(
                bootstrap_servers=bootstrap, compression_type=None if codec == "none" else codec
            )
            await p.start()
            try:
                for k, v, h in recs:
                    await p.send_and_wait(topic, v, key=k, headers=h)
            finally:
                await p.stop()

        asyncio.run(run())
    elif driver == "kcat":
        kcat = shutil.which("kcat") or "kafkacat"
        lines = "".join(f"{(k or b'').decode()}\t{v.decode()}\n" for k, v, _ in recs)
        out = subprocess.run(
            [kcat, "-b", bootstrap, "-P", "-t", topic, "-K", "\t", "-z", codec],
            input=lines,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr


def consume(
    driver: str,
    bootstrap: str,
    topic: str,
    count: int,
    group: str | None = None,
    timeout: float = 30.0,
) -> list[Rec]:
    require(driver)
    if driver == "confluent-kafka":
        from confluent_kafka import Consumer, TopicPartition

        c = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": group or f"conf-{topic}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            }
        )
        if group:
            c.subscribe([topic])
        else:
            c.assign([TopicPartition(topic, 0, 0)])
        out: list[Rec] = []
        deadline = time.monotonic() + timeout
        try:
            while len(out) < count and time.monotonic() < deadline:
                m = c.poll(0.3)
                if m is not None and not m.error():
                    out.append((m.key(), m.value(), m.headers() or []))
        finally:
            c.close()
        return out
    if driver == "kafka-python":
        from kafka import KafkaConsumer

        c = KafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=group,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            consumer_timeout_ms=int(timeout * 1000),
        )
        out = []
        for m in c:
            out.append((m.key, m.value, list(m.headers or [])))
            if len(out) >= count:
                break
        c.close()
        return out
    if driver == "aiokafka":
        from aiokafka import AIOKafkaConsumer

        async def run() -> list[Rec]:
            c = AIOKafkaConsumer(
                topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest"
            )
            await c.start()
            got: list[Rec] = []
            try:
                async with asyncio.timeout(timeout):
                    async for m in c:
                        got.append((m.key, m.value, list(m.headers or [])))
                        if len(got) >= count:
                            break
            finally:
                await c.stop()
            return got

        return asyncio.run(run())
    kcat = shutil.which("kcat") or "kafkacat"
    out_p = subprocess.run(
        [
            kcat,
            "-b",
            bootstrap,
            "-C",
            "-t",
            topic,
            "-o",
            "beginning",
            "-c",
            str(count),
            "-e",
            "-f",
            "%k\t%s\n",
        ],
        capture_output=True,
        text=True,
        timeout=timeout + 30,
    )
    assert out_p.returncode == 0, out_p.stderr
    result: list[Rec] = []
    for line in out_p.stdout.splitlines():
        k, _, v = line.partition("\t")
        result.append((k.encode() or None, v.encode(), []))
    return result
