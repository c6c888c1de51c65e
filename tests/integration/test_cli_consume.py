"""``kpy consume`` against kpy and Apache Kafka, reading what confluent-kafka (a third party)
wrote: every ``-o`` form, ``-n``, ``-e``, ``-p``, kcat's format tokens, ``--json``,
``--read-committed``, consumer groups whose commits confluent-kafka sees, and Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import trio
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from kpy.cli import main
from kpy.client.sync import Admin
from tests.integration.helpers import wait_for

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_700_000_000_000  # record i of partition 0 has timestamp T0 + 1000 * i


def kpy(capsysbinary, argv: list[str]) -> tuple[int, bytes, str]:
    code = main(argv)
    out, err = capsysbinary.readouterr()
    return code, out, err.decode()


@pytest.fixture
def topic(bootstrap, topic_name):
    """Two partitions written by confluent-kafka: p0 holds k0..k4 = v0..v4 (headers h=i,
    timestamps T0 + 1000 i), p1 holds three unkeyed records, the first with a non-UTF-8
    value."""
    Admin(bootstrap).create_topic(topic_name, 2)
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    for i in range(5):
        p.produce(
            topic_name,
            key=f"k{i}",
            value=f"v{i}",
            partition=0,
            headers=[("h", str(i).encode()), ("n", None)],
            timestamp=T0 + 1000 * i,
        )
    for value in (b"\xff\xfe", b"w1", b""):
        p.produce(topic_name, value=value, partition=1, timestamp=T0)
    assert p.flush(30) == 0
    return topic_name


def test_default_format_prints_values(bootstrap, topic, capsysbinary):
    code, out, err = kpy(capsysbinary, ["consume", topic, "-b", bootstrap, "-o", "beginning", "-e"])
    assert (code, err) == (0, "")
    assert out == b"v0\nv1\nv2\nv3\nv4\n\xff\xfe\nw1\n\n"


def test_format_tokens(bootstrap, topic, capsysbinary):
    fmt = r"%t|%p|%o|%k|%s|%v|%h|%T|%S|%K|%%\t\\\n"
    code, out, _ = kpy(
        capsysbinary,
        ["consume", topic, "-b", bootstrap, "-o", "beginning", "-e", "-p", "0", "-f", fmt],
    )
    assert code == 0
    assert out.decode().splitlines() == [
        f"{topic}|0|{i}|k{i}|v{i}|v{i}|h={i},n=|{T0 + 1000 * i}|2|2|%\t\\" for i in range(5)
    ]


def test_json_lines(bootstrap, topic, capsysbinary):
    code, out, _ = kpy(
        capsysbinary, ["consume", topic, "-b", bootstrap, "-o", "beginning", "-e", "--json"]
    )
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows[0] == {
        "topic": topic,
        "partition": 0,
        "offset": 0,
        "timestamp": T0,
        "timestamp_type": "CreateTime",
        "key": "k0",
        "value": "v0",
        "headers": [{"key": "h", "value": "0"}, {"key": "n", "value": None}],
    }
    p1 = [r for r in rows if r["partition"] == 1]
    assert [(r["key"], r["value"]) for r in p1] == [
        (None, {"base64": "//4="}),
        (None, "w1"),
        (None, ""),
    ]


def test_log_append_time(bootstrap, topic_name, capsysbinary):
    Admin(bootstrap).create_topic(topic_name, 1, {"message.timestamp.type": "LogAppendTime"})
    p = Producer({"bootstrap.servers": bootstrap})
    p.produce(topic_name, value=b"stamped by the broker", timestamp=T0)
    assert p.flush(30) == 0
    code, out, _ = kpy(
        capsysbinary, ["consume", topic_name, "-b", bootstrap, "-o", "beginning", "-e", "--json"]
    )
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert row["timestamp_type"] == "LogAppendTime"
    assert row["timestamp"] > T0


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("beginning", {0: [0, 1, 2, 3, 4], 1: [0, 1, 2]}),
        ("end", {}),
        ("3", {0: [3, 4]}),  # partition 1 has three records: offset 3 is its end
        ("-2", {0: [3, 4], 1: [1, 2]}),
        (f"@{T0 + 2500}", {0: [3, 4]}),  # p1's records are all older
        (f"@{T0}", {0: [0, 1, 2, 3, 4], 1: [0, 1, 2]}),
    ],
)
def test_start_offsets(bootstrap, topic, start, expected, capsysbinary):
    code, out, err = kpy(
        capsysbinary, ["consume", topic, "-b", bootstrap, "-o", start, "-e", "-f", r"%p %o\n"]
    )
    assert (code, err) == (0, "")
    got: dict[int, list[int]] = {}
    for line in out.decode().splitlines():
        p, o = map(int, line.split())
        got.setdefault(p, []).append(o)
    assert got == expected


def test_count_and_partition(bootstrap, topic, capsysbinary):
    code, out, _ = kpy(
        capsysbinary, ["consume", topic, "-b", bootstrap, "-o", "1", "-p", "0", "-n", "3"]
    )
    assert (code, out) == (0, b"v1\nv2\nv3\n")
    code, out, _ = kpy(
        capsysbinary, ["consume", topic, "-b", bootstrap, "-p", "1", "-o", "beginning", "-e"]
    )
    assert (code, out) == (0, b"\xff\xfe\nw1\n\n")


def test_follows_the_log_until_count(bootstrap, topic_name, capsysbinary):
    """Without -e it waits for records: started on an empty topic, it prints what is
    produced after it started."""
    Admin(bootstrap).create_topic(topic_name, 1)

    def produce_later():
        p = Producer({"bootstrap.servers": bootstrap})
        for i in range(3):
            p.produce(topic_name, value=f"late{i}")
        p.flush(30)

    thread = threading.Timer(0.5, produce_later)
    thread.start()
    try:
        code, out, _ = kpy(
            capsysbinary, ["consume", topic_name, "-b", bootstrap, "-o", "beginning", "-n", "3"]
        )
    finally:
        thread.join()
    assert (code, out) == (0, b"late0\nlate1\nlate2\n")


def test_read_committed_skips_aborted_transactions(bootstrap, topic_name, capsysbinary):
    Admin(bootstrap).create_topic(topic_name, 1)
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": f"tx-{uuid.uuid4()}"})
    p.init_transactions(30)
    for outcome in ("kept", "dropped", "kept"):
        p.begin_transaction()
        p.produce(topic_name, value=f"{outcome}-1")
        p.produce(topic_name, value=f"{outcome}-2")
        p.flush(30)
        if outcome == "kept":
            p.commit_transaction(30)
        else:
            p.abort_transaction(30)
    argv = ["consume", topic_name, "-b", bootstrap, "-o", "beginning", "-e", "-f", r"%o %s\n"]
    code, out, _ = kpy(capsysbinary, [*argv, "--read-committed"])
    # Offsets skip the aborted records and each transaction's marker.
    assert out.decode().splitlines() == ["0 kept-1", "1 kept-2", "6 kept-1", "7 kept-2"]
    code, out, _ = kpy(capsysbinary, argv)
    assert [line.split()[1] for line in out.decode().splitlines()] == [
        "kept-1",
        "kept-2",
        "dropped-1",
        "dropped-2",
        "kept-1",
        "kept-2",
    ]


def committed(bootstrap: str, group: str, topic: str, partitions: int) -> list[int]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        got = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=30)
    finally:
        c.close()
    return [tp.offset for tp in got]


def test_group_commits_and_a_second_run_continues(bootstrap, topic, capsysbinary):
    group = f"g-{topic}"
    argv = ["consume", topic, "-b", bootstrap, "-g", group, "-f", r"%p %o\n"]
    code, out, _ = kpy(capsysbinary, [*argv, "-o", "beginning", "-n", "6"])
    assert code == 0
    first = [tuple(map(int, line.split())) for line in out.decode().splitlines()]
    assert len(first) == 6
    # What the group committed is where each partition's printed records stop.
    ends = [max((o + 1 for p, o in first if p == q), default=None) for q in (0, 1)]
    shown = committed(bootstrap, group, topic, 2)
    assert [s for s, e in zip(shown, ends) if e is not None] == [e for e in ends if e is not None]
    # A second member of the group starts at the committed offsets (-o only applies to
    # partitions without one) and reads the rest.
    code, out, _ = kpy(capsysbinary, [*argv, "-o", "end", "-e"])
    second = [tuple(map(int, line.split())) for line in out.decode().splitlines()]
    assert sorted(first + second) == [(0, i) for i in range(5)] + [(1, i) for i in range(3)]
    assert committed(bootstrap, group, topic, 2) == [5, 3]
    # kpy's own group command sees the same: a consumer-protocol group, left, nothing to lag.
    code, out, _ = kpy(capsysbinary, ["group", "describe", group, "-b", bootstrap, "--json"])
    (described,) = json.loads(out)
    assert (code, described["type"], described["members"]) == (0, "consumer", [])
    assert [(o["partition"], o["current_offset"], o["lag"]) for o in described["offsets"]] == [
        (0, 5, 0),
        (1, 3, 0),
    ]


def test_group_without_commits_starts_at_the_end(bootstrap, topic, capsysbinary):
    group = f"g-{topic}"
    code, out, _ = kpy(capsysbinary, ["consume", topic, "-b", bootstrap, "-g", group, "-e"])
    assert (code, out) == (0, b"")
    assert committed(bootstrap, group, topic, 2) == [5, 3]


def test_a_committed_offset_deleted_since_is_reset_per_o(bootstrap, topic, capsysbinary):
    """OFFSET_OUT_OF_RANGE (the group's offset was deleted by DeleteRecords) restarts the
    partition where -o says: here the new log start."""
    group = f"g-{topic}"
    argv = ["consume", topic, "-b", bootstrap, "-g", group, "-f", r"%p %o\n"]
    code, out, _ = kpy(capsysbinary, [*argv, "-o", "beginning", "-n", "2"])
    assert (code, out) == (0, b"0 0\n0 1\n")
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.delete_records([TopicPartition(topic, 0, 4)]).values():
        future.result(30)
    code, out, _ = kpy(capsysbinary, [*argv, "-o", "beginning", "-e"])
    assert code == 0
    assert sorted(out.splitlines()) == [b"0 4", b"1 0", b"1 1", b"1 2"]


def test_a_group_on_a_topic_just_created_ends_with_e(bootstrap, topic_name, capsysbinary):
    """Kafka's coordinator may answer the first heartbeat before it knows a new topic (no
    partitions yet): -e waits for the assignment, then ends at the (empty) end."""
    Admin(bootstrap).create_topic(topic_name, 2)
    group = f"g-{topic_name}"
    code, out, err = kpy(capsysbinary, ["consume", topic_name, "-b", bootstrap, "-g", group, "-e"])
    assert (code, out, err) == (0, b"", "")
    assert committed(bootstrap, group, topic_name, 2) == [0, 0]


def test_usage_and_unknown_topic(bootstrap, topic_name, capsysbinary):
    code, out, err = kpy(capsysbinary, ["consume", topic_name, "-b", bootstrap, "-e"])
    assert (code, out) == (1, b"")
    assert err == f"kpy: UNKNOWN_TOPIC_OR_PARTITION: topic {topic_name!r} does not exist\n"
    with pytest.raises(SystemExit) as exc:
        main(["consume", topic_name, "-b", bootstrap, "-o", "soon"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["consume", topic_name, "-b", bootstrap, "-g", "g", "-p", "0"])
    assert exc.value.code == 2


def test_the_kpy_command_follows_until_ctrl_c(bootstrap, topic):
    """Through the real command: a group member following the log prints records as they
    come, and Ctrl-C ends it with exit code 0 after committing what it printed."""
    group = f"g-{topic}"
    env = dict(os.environ, PYTHONPATH=str(ROOT), KPY_BROKERS=bootstrap, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kpy", "consume", topic, "-g", group, "-o", "beginning"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        lines: list[bytes] = []
        wait_for(lambda: lines.append(proc.stdout.readline()) or len(lines) == 8, timeout=60)
        assert sorted(lines) == sorted(
            [f"v{i}\n".encode() for i in range(5)] + [b"\xff\xfe\n", b"w1\n", b"\n"]
        )
        deadline = time.monotonic() + 30
        while committed(bootstrap, group, topic, 2) != [5, 3]:
            assert time.monotonic() < deadline, "offsets were not committed"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0, proc.stderr.read()
    finally:
        proc.kill()
        proc.wait()
    assert committed(bootstrap, group, topic, 2) == [5, 3]


def test_readme_session(bootstrap, topic_name, tmp_path):
    """The README's "Producing and consuming" session prints what it shows, through the
    ``kpy`` command (on PATH, as a user has it); tests/test_readme.py runs it against kpy
    only, with the README's names."""
    from tests.test_readme import _session, _shown_matches, block

    shim = tmp_path / "bin" / "kpy"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} -m kpy "$@"\n')
    shim.chmod(0o755)
    env = dict(os.environ, PYTHONPATH=str(ROOT), KPY_BROKERS=bootstrap)
    env["PATH"] = f"{shim.parent}{os.pathsep}{env['PATH']}"
    text = block("$ kpy topic create prices ")
    text = text.replace("prices", topic_name).replace("pricing", f"g-{topic_name}")
    for command, shown in _session(text):
        out = subprocess.run(
            ["bash", "-c", command],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, f"{command}\n{out.stderr}"
        assert _shown_matches(shown, out.stdout.splitlines()), f"{command}\n{out.stdout}"


def test_a_reader_that_goes_away_ends_it_quietly(bootstrap, topic_name):
    """``kpy consume ... | head -1``: the closed pipe stops it without a traceback, with
    the exit status of a process killed by SIGPIPE (as every kpy command)."""
    Admin(bootstrap).create_topic(topic_name, 1)
    p = Producer({"bootstrap.servers": bootstrap})
    for i in range(20000):
        p.produce(topic_name, value=f"record {i}")
    assert p.flush(30) == 0
    env = dict(os.environ, PYTHONPATH=str(ROOT), KPY_BROKERS=bootstrap)
    done = subprocess.run(
        [
            "bash",
            "-c",
            f"{sys.executable} -m kpy consume {topic_name} -o beginning -e | head -1;"
            " exit ${PIPESTATUS[0]}",
        ],
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout, done.stderr) == (141, b"record 0\n", b"")


def test_the_broker_shares_partitions_between_two_members(bootstrap, topic_name):
    """Two members of one group: the second joins with nothing, the coordinator takes
    partitions from the first (which gives them up) and hands them over."""
    from kpy.client import Client
    from kpy.client.consumer import Consumer, StartPosition

    Admin(bootstrap).create_topic(topic_name, 4)
    group = f"g-{topic_name}"

    async def members() -> tuple[list[int], list[int]]:
        async def follow(consumer: Consumer) -> None:
            async for _ in consumer.batches():
                pass

        async with (
            Client.connect(bootstrap) as c1,
            Client.connect(bootstrap) as c2,
            Consumer(c1, topic_name, group=group, start=StartPosition("beginning")) as one,
            Consumer(c2, topic_name, group=group) as two,
            trio.open_nursery() as nursery,
        ):
            nursery.start_soon(follow, one)
            nursery.start_soon(follow, two)
            with trio.fail_after(60):
                while not (one.assigned and two.assigned):
                    await trio.sleep(0.1)
            one.stop()
            two.stop()
        return one.assigned, two.assigned

    first, second = trio.run(members)
    assert sorted(first + second) == [0, 1, 2, 3]
