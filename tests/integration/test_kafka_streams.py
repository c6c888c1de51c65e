"""Kafka Streams 4.4 (tests/java/streams/WordCount.java) against kpy and against Apache Kafka.

A stateful word count (a repartition topic and a changelog topic) with
``processing.guarantee=exactly_once_v2`` is SIGKILLed while it has a transaction open, then
started again with the same application.id and an empty state dir, so that it rebuilds its
counts from the changelog; every input line must be counted exactly once in what a
read_committed consumer sees of the output.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import struct
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from tests.integration.helpers import kcat_path, requires_kcat, wait_for
from tests.integration.jvm_apps import JAVA_SOURCES, JavaApp, compile_java, kafka_jars
from tests.test_readme import README_STREAMS, block

WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india")
PARTITIONS = 2


@pytest.fixture(scope="session")
def word_count_classes(tmp_path_factory) -> Path:
    return compile_java(tmp_path_factory, [JAVA_SOURCES / "streams" / "WordCount.java"])


def create_topics(bootstrap: str, *names: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(n, PARTITIONS, 1) for n in names])
    for future in futures.values():
        future.result(30)


def lines(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choices(WORDS, k=rng.randint(1, 6))) for _ in range(n)]


def produce(bootstrap: str, topic: str, batch: list[str]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for i, line in enumerate(batch):
        producer.produce(topic, key=str(i).encode(), value=line.encode())
        producer.poll(0)
    assert producer.flush(30) == 0


class Ends:
    """A topic's end offsets: each partition's high watermark or its last stable offset."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self.consumers = [
            Consumer({"bootstrap.servers": bootstrap, "group.id": "ends", "isolation.level": level})
            for level in ("read_uncommitted", "read_committed")
        ]

    def get(self, stable: bool = False) -> list[int]:
        consumer = self.consumers[stable]
        return [
            consumer.get_watermark_offsets(TopicPartition(self.topic, p), timeout=10)[1]
            for p in range(PARTITIONS)
        ]

    def transaction_open(self) -> bool:
        return self.get(stable=True) != self.get()

    def close(self) -> None:
        for consumer in self.consumers:
            consumer.close()


def end_offsets(bootstrap: str, topic: str, stable: bool = False) -> list[int]:
    ends = Ends(bootstrap, topic)
    try:
        return ends.get(stable)
    finally:
        ends.close()


def committed_counts(bootstrap: str, topic: str) -> dict[str, list[int]]:
    """Every count a read_committed consumer reads from the output up to its LSO, by word."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "unused",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
        }
    )
    ends = end_offsets(bootstrap, topic, stable=True)
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    counts: dict[str, list[int]] = {}

    def behind() -> bool:
        positions = consumer.position([TopicPartition(topic, p) for p in range(PARTITIONS)])
        return any(end > 0 and tp.offset < end for tp, end in zip(positions, ends))

    try:
        deadline = time.monotonic() + 30
        while behind():
            assert time.monotonic() < deadline, f"the output could not be read up to {ends}"
            for message in consumer.consume(500, timeout=0.5):
                assert message.error() is None, message.error()
                count = struct.unpack(">q", message.value())[0]
                counts.setdefault(message.key().decode(), []).append(count)
    finally:
        consumer.close()
    return counts


def latest(counts: dict[str, list[int]]) -> dict[str, int]:
    return {word: values[-1] for word, values in counts.items()}


def group_committed(bootstrap: str, group: str, topic: str) -> list[int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        parts = consumer.committed([TopicPartition(topic, p) for p in range(PARTITIONS)], 10)
        return [tp.offset for tp in parts]
    finally:
        consumer.close()


def assert_closed(streams: JavaApp) -> None:
    """SIGTERM: the shutdown hook closes the app, without an error. (Its NOT_RUNNING line may
    not come: the JVM can halt once close() returns, before the listener has printed it.)"""
    streams.stop()
    assert "state PENDING_SHUTDOWN" in streams.lines, streams.tail_log()
    assert "state ERROR" not in streams.lines, streams.tail_log()


def word_count_across_restart(
    bootstrap: str, work: Path, classes: Path, app_id: str, *, end: str, protocol: str = ""
) -> None:
    """Run the word count, SIGKILL (``end="kill"``) or SIGTERM it while a transaction is
    open on its output, start it again with an empty state dir; the counts must be exact."""
    source, sink = f"{app_id}-in", f"{app_id}-out"
    create_topics(bootstrap, source, sink)
    first, second = lines(300, seed=1), lines(1200, seed=2)
    expected = dict(Counter(w for line in first + second for w in line.split()))

    def app(state: str) -> JavaApp:
        args = [
            bootstrap,
            app_id,
            source,
            sink,
            str(work / state),
            *([protocol] if protocol else []),
        ]
        return JavaApp(work, f"wordcount-{state}", "WordCount", args, classes=classes)

    ends = Ends(bootstrap, sink)
    try:
        with app("state1") as streams:
            streams.wait_for_line("state RUNNING")
            produce(bootstrap, source, first)
            wait_for(lambda: sum(ends.get(stable=True)) > 0, 60, message="a committed output")
            # More input while the app runs; it is stopped with a transaction open (records
            # past the LSO): what it wrote in that transaction must never be seen.
            feeder = threading.Thread(target=produce, args=(bootstrap, source, second))
            feeder.start()
            wait_for(ends.transaction_open, 60, 0.005, "an open transaction on the output")
            if end == "kill":
                streams.kill()
            else:
                assert_closed(streams)
            feeder.join(60)
    finally:
        ends.close()
    before = latest(committed_counts(bootstrap, sink))
    assert before, "nothing committed before the stop"
    if end == "kill":  # what the open transaction counted is not in the committed counts
        assert before != expected

    # An empty state dir: the counts so far come back from the changelog topic.
    with app("state2") as streams:
        restored = [
            int(streams.wait_for_line(f"restored {app_id}-counts-changelog-{p} ").split()[-1])
            for p in range(PARTITIONS)
        ]
        assert sum(restored) > 0, streams.lines
        wait_for(
            lambda: latest(committed_counts(bootstrap, sink)) == expected,
            90,
            0.5,
            "the final counts",
        )
        # Every input record has been consumed and its offset committed.
        assert group_committed(bootstrap, app_id, source) == end_offsets(bootstrap, source)
        assert_closed(streams)
    counts = committed_counts(bootstrap, sink)
    assert latest(counts) == expected
    # Each count seen is larger than the one before: none went back after the restart, and
    # none was counted twice.
    for word, values in counts.items():
        assert values == sorted(set(values)), (word, values)


@pytest.mark.timeout(240)
def test_word_count_exactly_once_across_sigkill(
    bootstrap, tmp_path, word_count_classes, topic_name
):
    word_count_across_restart(bootstrap, tmp_path, word_count_classes, topic_name, end="kill")


@pytest.mark.timeout(240)
def test_word_count_with_the_streams_group_protocol(
    request, bootstrap, tmp_path, word_count_classes, topic_name
):
    """``group.protocol=streams`` (KIP-1071), which Kafka 4.4 offers by default. The app is
    stopped cleanly (it leaves the group): a killed member is replaced only after its session
    timeout, at least 45 s (``group.streams.min.session.timeout.ms``)."""
    if request.node.callspec.params["bootstrap"] == "kpy":
        pytest.skip("kpy has no streams groups (KIP-1071) yet: a later issue than #21")
    word_count_across_restart(
        bootstrap, tmp_path, word_count_classes, topic_name, end="stop", protocol="streams"
    )


@requires_kcat
@pytest.mark.timeout(180)
def stop_group(leader: subprocess.Popen, grace: float = 20.0) -> None:
    """End every process of ``leader``'s group (the shell and the JVM it started): SIGTERM,
    then SIGKILL for what is left after ``grace`` s (a Streams shutdown hook can wait forever
    for a broker that is gone; CI once found that JVM still running after the suite)."""
    pgid = leader.pid
    os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        leader.poll()  # reaped, or the group never looks empty
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    leader.wait(10)


def test_readme_word_count_commands(fresh_broker, tmp_path):
    """The README's Kafka Streams commands, against a kpy of the test's own."""
    lines = block(README_STREAMS).splitlines()
    assert len(lines) == 4 and lines[2].endswith(" &")

    def command(line: str) -> str:
        line = line.replace("localhost:9092", fresh_broker.bootstrap).replace(
            "/tmp/", f"{tmp_path}/"
        )
        line = line.replace(".cache/kafka-4.4.0", str(kafka_jars()))
        return line.replace("kcat ", f"{kcat_path()} ", 1)

    def sh(line: str, retry: bool = False) -> str:
        deadline = time.monotonic() + 90
        while True:
            out = subprocess.run(
                command(line), shell=True, capture_output=True, text=True, timeout=90
            )
            if out.returncode == 0 or not retry or time.monotonic() > deadline:
                break
            time.sleep(0.5)  # until the app has created its output topic
        assert out.returncode == 0, (line, out.stderr)
        return out.stdout

    sh(lines[0])
    sh(lines[1])
    with open(tmp_path / "wordcount.out", "w") as out:
        app = subprocess.Popen(
            command(lines[2].removesuffix(" &")), shell=True, stdout=out, start_new_session=True
        )
    try:
        counts = sh(lines[3], retry=True)
    finally:
        stop_group(app)
    assert sorted(counts.splitlines()) == ["brown 1", "fox 1", "quick 1", "the 1"]
