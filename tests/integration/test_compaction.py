"""Log compaction through a real broker: compacted user topics read while being cleaned, and
__consumer_offsets staying small under a commit loop."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from kpy.testing import BrokerProcess
from tests.integration.helpers import wait_for

COMMITS = 6000
FAST_CLEANER = {"log.cleaner.backoff.ms": 100, "offsets.topic.num.partitions": 1}


def log_bytes(data_dir: Path, partition_dir: str) -> int:
    d = data_dir / partition_dir
    return sum(p.stat().st_size for p in d.glob("*.log")) if d.exists() else 0


def active_base(data_dir: Path, partition_dir: str) -> int:
    """Base offset of the partition's active segment (the newest; the cleaner only ever
    rewrites older ones)."""
    return max(int(p.name[:-4]) for p in (data_dir / partition_dir).glob("*.log"))


def test_compacted_topic_read_while_cleaning(tmp_path, topic_name):
    data = tmp_path / "data"
    with BrokerProcess(data, overrides=FAST_CLEANER) as broker:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        configs = {
            "cleanup.policy": "compact",
            "segment.ms": "150",
            "min.cleanable.dirty.ratio": "0.01",
            "delete.retention.ms": "500",
        }
        admin.create_topics([NewTopic(topic_name, 1, 1, config=configs)])[topic_name].result(15)
        keys = [b"key-%d" % i for i in range(20)]
        latest: dict[bytes, bytes | None] = {}
        producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 1})
        stop = threading.Event()
        problems: list[str] = []
        reads = {"passes": 0}

        def reader() -> None:
            # Full reads from offset 0 over and over while the cleaner rewrites segments.
            while not stop.is_set():
                c = Consumer(
                    {
                        "bootstrap.servers": broker.bootstrap,
                        "group.id": f"r-{topic_name}",
                        "enable.auto.commit": False,
                    }
                )
                c.assign([TopicPartition(topic_name, 0, 0)])
                last = -1
                idle = 0
                while idle < 3 and not stop.is_set():
                    msgs = c.consume(500, 0.2)
                    idle = 0 if msgs else idle + 1
                    for m in msgs:
                        if m.error():
                            continue
                        if m.offset() <= last:
                            problems.append(f"offset {m.offset()} after {last}")
                        last = m.offset()
                c.close()
                reads["passes"] += 1

        t = threading.Thread(target=reader)
        t.start()
        try:
            n = 0
            deadline = time.monotonic() + 4
            while time.monotonic() < deadline:
                for k in keys:
                    value = None if n % 13 == 0 else b"v%d" % n
                    producer.produce(topic_name, key=k, value=value)
                    latest[k] = value
                    n += 1
                producer.flush(10)
                time.sleep(0.02)
            # A last record rolls the final full segment out of the active position, once
            # segment.ms has passed since it was started: send it until a segment starts at it.
            part = f"{topic_name}-0"
            latest[b"last"] = b"x"
            last_offsets: list[int] = []

            def rolled() -> bool:
                producer.produce(
                    topic_name,
                    key=b"last",
                    value=b"x",
                    on_delivery=lambda _err, msg: last_offsets.append(msg.offset()),
                )
                producer.flush(10)
                return bool(last_offsets) and active_base(data, part) >= last_offsets[0]

            wait_for(rolled, timeout=10, interval=0.05, message="the last segment to roll")

            def compacted() -> bool:
                return log_bytes(data, part) < n * 20

            wait_for(compacted, timeout=20, message="the topic to be compacted")
        finally:
            stop.set()
            t.join(30)
        assert not problems, problems[:5]
        assert reads["passes"] >= 1
        # A full read yields every key's latest value (tombstones may still be there).
        c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": f"f-{topic_name}"})
        c.assign([TopicPartition(topic_name, 0, 0)])
        seen: dict[bytes, bytes | None] = {}
        offsets: list[int] = []

        def done() -> bool:
            for m in c.consume(1000, 0.2):
                if not m.error():
                    seen[m.key()] = m.value()
                    offsets.append(m.offset())
            return seen == latest

        wait_for(done, timeout=20, message="a full read with the latest values")
        c.close()
        assert offsets == sorted(set(offsets))
        assert len(offsets) < n / 2, "most superseded records are gone"


def test_consumer_offsets_stays_bounded(tmp_path, topic_name):
    data = tmp_path / "data"
    # segment.bytes cannot go below 1 MiB, so segments roll by time (log.roll.ms).
    overrides = {**FAST_CLEANER, "log.roll.ms": 200}
    with BrokerProcess(data, overrides=overrides) as broker:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        admin.create_topics([NewTopic(topic_name, 4, 1)])[topic_name].result(15)
        started = time.monotonic()
        c = Consumer(
            {
                "bootstrap.servers": broker.bootstrap,
                "group.id": f"g-{topic_name}",
                "enable.auto.commit": False,
            }
        )
        sizes = []
        commits = 0
        try:
            for i in range(COMMITS):
                tps = [TopicPartition(topic_name, p, i + 1) for p in range(4)]
                c.commit(offsets=tps, asynchronous=False)
                commits += 1
                if i % 1000 == 999:
                    sizes.append(log_bytes(data, "__consumer_offsets-0"))
            # The active segment is never cleaned: commit again until log.roll.ms has passed
            # and a commit rolls it.
            before = active_base(data, "__consumer_offsets-0")

            def rolled() -> bool:
                c.commit(offsets=tps, asynchronous=False)
                return active_base(data, "__consumer_offsets-0") > before

            wait_for(rolled, timeout=10, interval=0.05, message="__consumer_offsets to roll")
            final = wait_for(
                lambda: (s := log_bytes(data, "__consumer_offsets-0")) < 64 * 1024 and s,
                timeout=20,
                message="__consumer_offsets to be compacted",
            )
            _, records_written = c.get_watermark_offsets(
                TopicPartition("__consumer_offsets", 0), timeout=10
            )
        finally:
            c.close()
        print(
            f"\n__consumer_offsets-0 after {commits} commits of 4 partitions "
            f"in {time.monotonic() - started:.1f} s: {final} bytes on disk "
            f"(every 1000 commits: {sizes}); {records_written} offset records written"
        )
        # Between passes the dirty tail holds what arrived in about one roll + backoff; at
        # rest only the latest commit of each partition (and the group's metadata) is left.
        assert records_written >= 4 * COMMITS
        assert max(sizes) < 2 * 1024 * 1024
        assert final < 64 * 1024
    # The compacted topic still carries the last commit through a restart.
    with BrokerProcess(data, overrides=overrides) as broker:
        c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": f"g-{topic_name}"})
        try:
            got = c.committed([TopicPartition(topic_name, p) for p in range(4)], timeout=15)
            assert [tp.offset for tp in got] == [COMMITS] * 4
        finally:
            c.close()
