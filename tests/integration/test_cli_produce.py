"""``kpy produce`` against kpy and Apache Kafka: what it writes is read back by confluent-kafka
(a third party), keys land where the Java client's partitioner puts them, and lines are sent
in batches."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import trio
from confluent_kafka import Consumer, Producer, TopicPartition

from kpy.cli import main
from kpy.client import Client
from kpy.client.partitioner import partition_for_key
from kpy.client.sync import Admin
from kpy.protocol.compression import CODEC_IDS
from kpy.protocol.messages.fetch import FetchRequest
from kpy.protocol.records import iter_batches
from kpy.testing import BrokerThread
from tests.integration.helpers import wait_for

ROOT = Path(__file__).resolve().parents[2]


def kpy(monkeypatch, capsys, argv: list[str], stdin: bytes = b"") -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def read_back(bootstrap: str, topic: str, partitions: int, count: int) -> list:
    """Every record of ``topic`` as confluent-kafka reads it (``count`` expected)."""
    c = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "unused", "enable.auto.commit": False}
    )
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got: list = []
    try:
        wait_for(
            lambda: (
                got.extend(m for m in c.consume(count, 0.2) if not m.error()) or len(got) >= count
            ),
            timeout=30,
            message=f"{count} records",
        )
    finally:
        c.close()
    return sorted(got, key=lambda m: (m.partition(), m.offset()))


def test_keys_headers_and_json_output(bootstrap, topic_name, monkeypatch, capsys):
    Admin(bootstrap).create_topic(topic_name, 3)
    lines = b"alpha:one\nbeta:two:2\nno key here\ngamma:\n"
    code, out, err = kpy(
        monkeypatch,
        capsys,
        ["produce", topic_name, "-b", bootstrap, "-k", ":", "-H", "a=1", "-H", "b=x=y", "--json"],
        lines,
    )
    assert (code, err) == (0, "")
    produced = [json.loads(line) for line in out.splitlines()]
    assert [set(p) for p in produced] == [{"topic", "partition", "offset"}] * 4
    got = read_back(bootstrap, topic_name, 3, 4)
    by_value = {m.value(): m for m in got}
    expected = [(b"alpha", b"one"), (b"beta", b"two:2"), (None, b"no key here"), (b"gamma", b"")]
    for (key, value), shown in zip(expected, produced):
        m = by_value[value]
        assert m.key() == key
        assert m.headers() == [("a", b"1"), ("b", b"x=y")]
        assert (shown["topic"], shown["partition"], shown["offset"]) == (
            topic_name,
            m.partition(),
            m.offset(),
        )
        if key is not None:
            assert m.partition() == partition_for_key(key, 3)


def test_keyed_partitions_match_the_java_partitioner(bootstrap, topic_name, monkeypatch, capsys):
    """librdkafka's murmur2_random is the Java client's default partitioner: the same keys
    written by it and by kpy land in the same partitions."""
    Admin(bootstrap).create_topic(topic_name, 5)
    keys = [f"user-{i}".encode() for i in range(20)]
    code, _, err = kpy(
        monkeypatch,
        capsys,
        ["produce", topic_name, "-b", bootstrap, "-k", "="],
        b"".join(k + b"=kpy\n" for k in keys),
    )
    assert (code, err) == (0, "")
    p = Producer({"bootstrap.servers": bootstrap, "partitioner": "murmur2_random"})
    for k in keys:
        p.produce(topic_name, key=k, value=b"librdkafka")
    assert p.flush(30) == 0
    got = read_back(bootstrap, topic_name, 5, 40)
    placed: dict[bytes, set[int]] = {}
    for m in got:
        placed.setdefault(m.key(), set()).add(m.partition())
    assert all(len(placed[k]) == 1 for k in keys)  # both writers agree on every key
    assert len({next(iter(placed[k])) for k in keys}) > 1


@pytest.mark.parametrize("codec", list(CODEC_IDS))
def test_partition_and_compression(bootstrap, topic_name, codec, monkeypatch, capsys):
    Admin(bootstrap).create_topic(topic_name, 2)
    values = [f"{codec} record {i} ".encode() * 20 for i in range(50)]
    code, _, err = kpy(
        monkeypatch,
        capsys,
        ["produce", topic_name, "-b", bootstrap, "-p", "1", "-z", codec, "--acks", "1"],
        b"\n".join(values) + b"\n",
    )
    assert (code, err) == (0, "")
    got = read_back(bootstrap, topic_name, 2, 50)
    assert [(m.partition(), m.offset(), m.value()) for m in got] == [
        (1, i, v) for i, v in enumerate(values)
    ]
    batches = raw_batches(bootstrap, topic_name, 1)
    assert {h.compression for h in batches} == {CODEC_IDS[codec]}


def raw_batches(bootstrap: str, topic: str, partition: int) -> list:
    """The batch headers of a partition as the broker stores them."""

    async def fetch():
        async with Client.connect(bootstrap) as client:
            await client.refresh_metadata([topic])
            t = client.cluster.topics[topic]
            request = FetchRequest(
                replica_id=-1,
                max_wait_ms=0,
                min_bytes=1,
                max_bytes=10 << 20,
                session_epoch=-1,
                topics=[
                    FetchRequest.FetchTopic(
                        topic=topic,
                        topic_id=t.topic_id,
                        partitions=[
                            FetchRequest.FetchPartition(
                                partition=partition, fetch_offset=0, partition_max_bytes=10 << 20
                            )
                        ],
                    )
                ],
            )
            answer = await client.send_to_leader(topic, partition, request)
            return bytes(answer.responses[0].partitions[0].records)

    return [h for _, h in iter_batches(trio.run(fetch))]


def test_lines_from_a_file_go_in_batches(bootstrap, topic_name, monkeypatch, capsys):
    Admin(bootstrap).create_topic(topic_name, 1)
    lines = b"".join(b"line %d\n" % i for i in range(3000))
    code, _, err = kpy(monkeypatch, capsys, ["produce", topic_name, "-b", bootstrap], lines)
    assert (code, err) == (0, "")
    batches = raw_batches(bootstrap, topic_name, 0)
    assert sum(h.record_count for h in batches) == 3000
    assert len(batches) <= 2  # one read of 64 KiB, then the rest at the end of the input


def test_acks_zero_prints_no_offsets(bootstrap, topic_name, monkeypatch, capsys):
    Admin(bootstrap).create_topic(topic_name, 1)
    code, out, err = kpy(
        monkeypatch,
        capsys,
        ["produce", topic_name, "-b", bootstrap, "--acks", "0", "--json"],
        b"fire\nforget\n",
    )
    assert (code, err) == (0, "")
    assert [json.loads(line) for line in out.splitlines()] == [
        {"topic": topic_name, "partition": 0, "offset": None}
    ] * 2
    assert [m.value() for m in read_back(bootstrap, topic_name, 1, 2)] == [b"fire", b"forget"]


def test_a_missing_topic_is_created_by_the_broker(bootstrap, topic_name, monkeypatch, capsys):
    # auto.create.topics.enable (on by default in kpy and Kafka), as for kcat -P.
    code, out, err = kpy(monkeypatch, capsys, ["produce", topic_name, "-b", bootstrap], b"x\n")
    assert (code, out, err) == (0, "", "")
    assert [m.value() for m in read_back(bootstrap, topic_name, 1, 1)] == [b"x"]


def test_unknown_topic_fails_with_one_line(tmp_path, topic_name, monkeypatch, capsys):
    # A broker that creates no topic on request: the producer gives up after a few seconds.
    with BrokerThread(tmp_path, {"auto.create.topics.enable": "false"}) as b:
        argv = ["produce", topic_name, "-b", b.bootstrap]
        code, out, err = kpy(monkeypatch, capsys, argv, b"x\n")
    assert code == 1 and out == ""
    assert err == f"kpy: UNKNOWN_TOPIC_OR_PARTITION: topic {topic_name!r} does not exist\n"


def test_a_refused_batch_is_one_line_and_exit_1(bootstrap, topic_name, monkeypatch, capsys):
    Admin(bootstrap).create_topic(topic_name, 1, {"max.message.bytes": "1000"})
    code, out, err = kpy(
        monkeypatch, capsys, ["produce", topic_name, "-b", bootstrap], b"x" * 2000 + b"\ny\n"
    )
    assert (code, out) == (1, "")
    assert err.startswith("kpy: MESSAGE_TOO_LARGE") and err.count("\n") == 1
    assert err.endswith("(2 records for partition 0)\n")


def test_partition_out_of_range_fails(bootstrap, topic_name, monkeypatch, capsys):
    Admin(bootstrap).create_topic(topic_name, 2)
    code, _, err = kpy(
        monkeypatch, capsys, ["produce", topic_name, "-b", bootstrap, "-p", "7"], b"x\n"
    )
    assert code == 1
    assert err.startswith("kpy: UNKNOWN_TOPIC_OR_PARTITION: ") and err.count("\n") == 1


def test_the_kpy_command_reads_a_pipe(bootstrap, topic_name):
    Admin(bootstrap).create_topic(topic_name, 1)
    env = dict(os.environ, PYTHONPATH=str(ROOT), KPY_BROKERS=bootstrap)
    done = subprocess.run(
        [sys.executable, "-m", "kpy", "produce", topic_name, "-k", "\t", "--json"],
        input=b"k1\tv1\nk2\tv2",  # the last line has no newline
        capture_output=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["offset"] for line in done.stdout.splitlines()] == [0, 1]
    got = read_back(bootstrap, topic_name, 1, 2)
    assert [(m.key(), m.value()) for m in got] == [(b"k1", b"v1"), (b"k2", b"v2")]


def test_a_terminal_line_is_sent_when_typed(bootstrap, topic_name):
    """At a terminal each line is sent as it is typed, not at the end of the input."""
    import pty

    Admin(bootstrap).create_topic(topic_name, 1)
    main_fd, terminal = pty.openpty()
    env = dict(os.environ, PYTHONPATH=str(ROOT), KPY_BROKERS=bootstrap)
    proc = subprocess.Popen(
        [sys.executable, "-m", "kpy", "produce", topic_name],
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    os.close(terminal)
    c = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "unused", "enable.auto.commit": False}
    )
    c.assign([TopicPartition(topic_name, 0, 0)])
    try:
        got: list = []
        for line in (b"typed first\n", b"then this\n"):
            os.write(main_fd, line)
            want = line.rstrip()
            wait_for(
                lambda want=want: (
                    got.extend(m.value() for m in c.consume(1, 0.2) if not m.error())
                    or got[-1:] == [want]
                ),
                timeout=30,
                message=f"{line!r} while the input is still open",
            )
        os.write(main_fd, b"\x04")  # Ctrl-D: the end of the input
        assert proc.wait(timeout=30) == 0, proc.stderr.read()
    finally:
        c.close()
        proc.kill()
        proc.wait()
        os.close(main_fd)
    assert got == [b"typed first", b"then this"]
