"""``kpy group list/describe/seek/delete`` against kpy and Apache Kafka, on groups made by
real consumers (librdkafka, with the classic and the KIP-848 consumer protocol)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
import trio
from confluent_kafka import Consumer, Producer, TopicPartition

from kpy import cli
from kpy.client import Client, ClientError
from kpy.client.groups import commit_offsets
from tests.integration.helpers import wait_for
from tests.integration.test_groups import make_topic

ROOT = Path(__file__).resolve().parents[2]
PER_PARTITION = 5  # records in each of the topic's 2 partitions
TS_BASE = 1_700_000_000_000  # record i of a partition is stamped TS_BASE + i seconds


def kpy(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def kpy_json(capsys, *argv: str):
    code, out, err = kpy(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.fixture
def topic(bootstrap, topic_name):
    """2 partitions of PER_PARTITION records each, with known timestamps."""
    make_topic(bootstrap, topic_name, 2)
    p = Producer({"bootstrap.servers": bootstrap})
    for i in range(PER_PARTITION):
        for partition in (0, 1):
            p.produce(topic_name, b"%d" % i, partition=partition, timestamp=TS_BASE + i * 1000)
    assert p.flush(15) == 0
    return topic_name


@pytest.fixture
def group(bootstrap, topic_name):
    name = f"g-{topic_name}"
    yield name
    # The reference broker outlives the test: leave no group behind.
    cli.main(["group", "delete", name, "-b", bootstrap])


@contextmanager
def member(bootstrap, group, topic, protocol="classic", commit=None, records=None):
    """A consumer of ``group`` holding ``topic``'s partitions (it commits ``commit``, a
    {partition: offset} map, once assigned; the records it polls meanwhile go to ``records``);
    closed on exit, which leaves the group."""
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "group.protocol": protocol,
            "client.id": f"cli-{protocol}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    try:
        c.subscribe([topic])

        def assigned():
            m = c.poll(0.2)
            if m is not None and not m.error() and records is not None:
                records.append(m)
            return len(c.assignment()) == 2

        wait_for(assigned, timeout=60, message=f"the {protocol} consumer holds both partitions")
        if commit:
            c.commit(
                offsets=[TopicPartition(topic, p, o) for p, o in commit.items()],
                asynchronous=False,
            )
        yield c
    finally:
        c.close()


def first_offsets(bootstrap, group, topic) -> dict[int, int]:
    """The offset of the first record a new member of ``group`` reads in each partition."""
    first: dict[int, int] = {}
    records: list = []
    with member(bootstrap, group, topic, records=records) as c:

        def both():
            m = c.poll(0.2)
            if m is not None and not m.error():
                records.append(m)
            for m in records:
                first.setdefault(m.partition(), m.offset())
            return len(first) == 2

        wait_for(both, timeout=30, message="a record from each partition")
    return first


def rows(described) -> dict[tuple[str, int], dict]:
    return {(r["topic"], r["partition"]): r for r in described["offsets"]}


@pytest.mark.parametrize("protocol", ["classic", "consumer"])
def test_list_shows_the_group_with_its_type_and_state(bootstrap, topic, group, protocol, capsys):
    b = ["-b", bootstrap]
    with member(bootstrap, group, topic, protocol):
        listed = {g["group_id"]: g for g in kpy_json(capsys, "group", "list", *b)}
        assert listed[group] == {
            "group_id": group,
            "type": protocol,
            "state": "Stable",
            "protocol_type": "consumer",
        }
        ours = [g["group_id"] for g in kpy_json(capsys, "group", "list", "--type", protocol, *b)]
        theirs = "consumer" if protocol == "classic" else "classic"
        others = [g["group_id"] for g in kpy_json(capsys, "group", "list", "--type", theirs, *b)]
        assert group in ours and group not in others
        stable = kpy_json(capsys, "group", "list", "--state", "Stable", *b)
        assert group in [g["group_id"] for g in stable]
        code, out, _ = kpy(capsys, "group", "list", *b)
        assert code == 0
        assert out.splitlines()[0].split() == ["GROUP", "TYPE", "STATE", "PROTOCOL-TYPE"]
        assert [group, protocol, "Stable", "consumer"] in [
            line.split() for line in out.splitlines()
        ]
    # A member that left leaves an Empty group, which a state filter can pick out.
    empty = kpy_json(capsys, "group", "list", "--state", "empty", *b)
    assert group in [g["group_id"] for g in empty]


@pytest.mark.parametrize("protocol", ["classic", "consumer"])
def test_describe_shows_members_offsets_and_lag(bootstrap, topic, group, protocol, capsys):
    b = ["-b", bootstrap]
    with member(bootstrap, group, topic, protocol, commit={0: 3, 1: 1}):
        (d,) = kpy_json(capsys, "group", "describe", group, *b)
        assert (d["group_id"], d["type"], d["state"]) == (group, protocol, "Stable")
        assert d["assignor"] == ("range" if protocol == "classic" else "uniform")
        assert d["coordinator"]["node_id"] >= 0 and d["coordinator"]["port"] > 0
        (m,) = d["members"]
        assert m["client_id"] == f"cli-{protocol}" and m["host"]
        assert m["assignment"] == {topic: [0, 1]}
        by_partition = rows(d)
        assert set(by_partition) == {(topic, 0), (topic, 1)}
        for p, committed in ((0, 3), (1, 1)):
            r = by_partition[(topic, p)]
            assert (r["current_offset"], r["log_end_offset"], r["lag"]) == (
                committed,
                PER_PARTITION,
                PER_PARTITION - committed,
            )
            assert (r["member_id"], r["client_id"]) == (m["member_id"], f"cli-{protocol}")
        assert d["total_lag"] == 2 * PER_PARTITION - 4

        code, out, _ = kpy(capsys, "group", "describe", group, *b)
        assert code == 0
        lines = out.splitlines()
        assert f"{group}: {protocol} group, Stable" in lines[0]
        header = "TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID"
        assert header.split() in [line.split() for line in lines]
        cells = [line.split() for line in lines]
        assert [topic, "0", "3", "5", "2", m["member_id"], m["host"], f"cli-{protocol}"] in cells
        assert ["TOTAL", "-", "-", "-", "6"] in cells
    # Gone: no members, the committed offsets stay.
    (d,) = kpy_json(capsys, "group", "describe", group, *b)
    assert d["state"] == "Empty" and d["members"] == []
    assert [(r["current_offset"], r["member_id"]) for r in d["offsets"]] == [(3, None), (1, None)]


def test_describe_unknown_group_fails_in_one_line(bootstrap, topic_name, capsys):
    code, out, err = kpy(capsys, "group", "describe", f"none-{topic_name}", "-b", bootstrap)
    assert code == 1 and out == ""
    assert err.strip() == f"kpy: GROUP_ID_NOT_FOUND: group 'none-{topic_name}' does not exist"


@pytest.mark.parametrize("protocol", ["classic", "consumer"])
def test_seek_moves_what_a_new_member_reads(bootstrap, topic, group, protocol, capsys):
    b = ["-b", bootstrap]
    with member(bootstrap, group, topic, protocol, commit={0: 3, 1: 1}):
        pass

    def seek(*argv):
        got = kpy_json(capsys, "group", "seek", group, *argv, *b)
        assert got["group_id"] == group
        return {
            (c["topic"], c["partition"]): (c["current_offset"], c["new_offset"])
            for c in got["offsets"]
        }

    # A dry run shows the move and commits nothing.
    assert seek("--to", "earliest", "--dry-run") == {(topic, 0): (3, 0), (topic, 1): (1, 0)}
    (d,) = kpy_json(capsys, "group", "describe", group, *b)
    assert [r["current_offset"] for r in d["offsets"]] == [3, 1]

    assert seek("--to", "earliest") == {(topic, 0): (3, 0), (topic, 1): (1, 0)}
    assert seek("--to", "latest") == {(topic, 0): (0, 5), (topic, 1): (0, 5)}
    # An offset past the end is kept at the end, as kafka-consumer-groups.sh does.
    assert seek("--to", "2", "--topic", topic, "--partitions", "0") == {(topic, 0): (5, 2)}
    assert seek("--to", "99", "--topic", f"{topic}:1") == {(topic, 1): (5, 5)}
    (d,) = kpy_json(capsys, "group", "describe", group, *b)
    assert [(r["current_offset"], r["lag"]) for r in d["offsets"]] == [(2, 3), (5, 0)]
    # The first record stamped at or after the time; the end where none is that late.
    assert seek("--to", f"@{TS_BASE + 3500}") == {(topic, 0): (2, 4), (topic, 1): (5, 4)}
    assert seek("--to", f"@{TS_BASE + 60_000}") == {(topic, 0): (4, 5), (topic, 1): (4, 5)}

    seek("--to", "1")
    assert first_offsets(bootstrap, group, topic) == {0: 1, 1: 1}

    code, out, _ = kpy(capsys, "group", "seek", group, "--to", "earliest", *b)
    assert code == 0
    cells = [line.split() for line in out.splitlines()]
    assert cells[0] == ["TOPIC", "PARTITION", "CURRENT-OFFSET", "NEW-OFFSET"]
    assert [topic, "0", "1", "0"] in cells


def test_seek_a_group_without_offsets_needs_a_topic(bootstrap, topic, group, capsys):
    code, _, err = kpy(capsys, "group", "seek", group, "--to", "earliest", "-b", bootstrap)
    assert code == 1
    assert err.strip() == f"kpy: group {group!r} has no committed offsets: name the topics"
    code, _, err = kpy(
        capsys, "group", "seek", group, "--to", "0", "--topic", f"no-{topic}", "-b", bootstrap
    )
    assert code == 1
    assert err.strip() == f"kpy: UNKNOWN_TOPIC_OR_PARTITION: topic 'no-{topic}'"
    # Named, the topic's partitions get offsets: the group is made by the commit.
    got = kpy_json(
        capsys, "group", "seek", group, "--to", "latest", "--topic", topic, "-b", bootstrap
    )
    assert [(c["partition"], c["current_offset"], c["new_offset"]) for c in got["offsets"]] == [
        (0, None, 5),
        (1, None, 5),
    ]
    assert group in [g["group_id"] for g in kpy_json(capsys, "group", "list", "-b", bootstrap)]


@pytest.mark.parametrize("protocol", ["classic", "consumer"])
def test_seek_and_delete_refuse_a_group_with_members(bootstrap, topic, group, protocol, capsys):
    b = ["-b", bootstrap]
    with member(bootstrap, group, topic, protocol, commit={0: 3, 1: 1}):
        code, out, err = kpy(capsys, "group", "seek", group, "--to", "earliest", *b)
        assert code == 1 and out == ""
        assert err.splitlines() == [
            f"kpy: NON_EMPTY_GROUP: assignments can only be reset if the group {group!r} is"
            " inactive, but the current state is Stable"
        ]
        # What the broker itself answers an outsider's commit (the check above is the tool's).
        with pytest.raises(ClientError) as raised:
            trio.run(_commit, bootstrap, group, topic)
        assert raised.value.name == "UNKNOWN_MEMBER_ID"

        code, out, err = kpy(capsys, "group", "delete", group, *b)
        assert code == 1 and out == ""
        assert err.splitlines() == [f"kpy: NON_EMPTY_GROUP: group {group!r} still has members"]
        (d,) = kpy_json(capsys, "group", "describe", group, *b)
        assert [r["current_offset"] for r in d["offsets"]] == [3, 1]


async def _commit(bootstrap, group, topic):
    async with Client.connect(bootstrap) as client:
        await commit_offsets(client, group, {(topic, 0): 0})


def test_delete_removes_empty_groups(bootstrap, topic, group, capsys):
    b = ["-b", bootstrap]
    second = f"{group}-2"
    for g in (group, second):
        with member(bootstrap, g, topic, commit={0: 1}):
            pass
    code, out, _ = kpy(capsys, "group", "delete", group, *b)
    assert code == 0
    assert out.splitlines()[1].split() == [group, "deleted"]
    assert kpy_json(capsys, "group", "delete", second, *b) == [{"group_id": second, "error": None}]
    listed = [g["group_id"] for g in kpy_json(capsys, "group", "list", *b)]
    assert group not in listed and second not in listed
    code, out, err = kpy(capsys, "group", "delete", group, *b)
    assert code == 1
    assert err.strip() == f"kpy: GROUP_ID_NOT_FOUND: group {group!r} does not exist"


def test_the_kpy_command(bootstrap, topic, group):
    with member(bootstrap, group, topic, commit={0: 2, 1: 2}):
        pass
    out = subprocess.run(
        [sys.executable, "-m", "kpy", "group", "describe", group, "--json", "-b", bootstrap],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=True,
    )
    (d,) = json.loads(out.stdout)
    assert (d["state"], d["total_lag"]) == ("Empty", 2 * PER_PARTITION - 4)
    seek = subprocess.run(
        [sys.executable, "-m", "kpy", "group", "seek", group, "--to", "latest", "-b", bootstrap],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert seek.returncode == 0, seek.stderr
    assert [topic, "1", "2", "5"] in [line.split() for line in seek.stdout.splitlines()]


def test_readme_session_runs(fresh_broker, tmp_path):
    """The README's ``kpy group`` session, as a user types it, after the consumer it
    describes: group ``dashboard`` of topic ``clicks`` committed 3 and 5, then stopped."""
    from tests.test_readme import README_GROUPS, _session, _shown_matches, block

    bootstrap = fresh_broker.bootstrap
    make_topic(bootstrap, "clicks", 2)
    p = Producer({"bootstrap.servers": bootstrap})
    for i in range(PER_PARTITION):
        for partition in (0, 1):
            p.produce("clicks", b"%d" % i, partition=partition)
    assert p.flush(15) == 0
    with member(bootstrap, "dashboard", "clicks", "consumer", commit={0: 3, 1: 5}):
        pass
    shim = tmp_path / "bin" / "kpy"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} -m kpy "$@"\n')
    shim.chmod(0o755)
    env = dict(os.environ, KPY_BROKERS=bootstrap, PYTHONPATH=str(ROOT))
    env["PATH"] = f"{shim.parent}{os.pathsep}{env['PATH']}"
    for command, shown in _session(block(README_GROUPS).replace("localhost:9092", bootstrap)):
        out = subprocess.run(
            ["bash", "-c", command], env=env, capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 0, f"{command}\n{out.stderr}"
        assert _shown_matches(shown, out.stdout.splitlines()), f"{command}\n{out.stdout}"
