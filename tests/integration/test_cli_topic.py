"""``kpy topic``: every command, for people and with --json, against kpy and Apache Kafka."""

from __future__ import annotations

import re
import subprocess

from confluent_kafka import Producer

from tests.integration.cli_helpers import kpy, kpy_script, one_error_line, script_command


def _produce(bootstrap: str, topic: str, partition: int, count: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    for i in range(count):
        producer.produce(topic, value=f"record {i}".encode(), partition=partition)
    assert producer.flush(15) == 0


def _rows(text: str, first: str) -> list[list[str]]:
    """The rows (split on white space) of the table whose header starts with ``first``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(first))
    rows = []
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        rows.append(line.split())
    return rows


def _names(capsys, bootstrap: str) -> list[str]:
    return [t["name"] for t in kpy(capsys, "topic list --json -b", bootstrap).json()]


def test_create_list_describe_delete(bootstrap, topic_name, capsys):
    t, other = topic_name, topic_name + "-2"
    made = kpy(
        capsys, f"topic create {t} {other} -p 3 -r 1 -c retention.ms=86400000 --json -b", bootstrap
    ).json()
    assert made == [
        {"name": t, "partitions": 3, "dry_run": False},
        {"name": other, "partitions": 3, "dry_run": False},
    ]

    listed = kpy(capsys, "topic list -b", bootstrap)
    assert listed.code == 0
    assert [t, "3", "1"] in _rows(listed.out, "NAME")
    assert {t, other} <= set(_names(capsys, bootstrap))

    shown = kpy(capsys, f"topic describe {t} -b", bootstrap)
    assert shown.code == 0, shown.err
    assert re.search(rf"^NAME\s+{t}$", shown.out, re.M)
    assert re.search(r"^PARTITIONS\s+3$", shown.out, re.M)
    rows = _rows(shown.out, "PARTITION ")
    assert [r[0] for r in rows] == ["0", "1", "2"]
    for r in rows:  # partition leader epoch replicas isr log-start high-watermark bytes
        assert r[1] in r[3].split(",") and r[4] == r[3] and r[5:8] == ["0", "0", "0"]
    configs = _rows(shown.out, "CONFIG ")
    assert ["retention.ms", "86400000", "DYNAMIC_TOPIC_CONFIG"] in configs
    assert "cleanup.policy" not in [c[0] for c in configs]  # left at Kafka's default
    every = _rows(kpy(capsys, f"topic describe {t} -a -b", bootstrap).out, "CONFIG ")
    assert ["cleanup.policy", "delete", "DEFAULT_CONFIG"] in every

    described = kpy(capsys, f"topic describe {t} --json -b", bootstrap).json()
    assert described["name"] == t
    assert described["internal"] is False and described["replication_factor"] == 1
    assert len(described["topic_id"]) == 36 and described["size_bytes"] == 0
    assert [p["partition"] for p in described["partitions"]] == [0, 1, 2]
    for p in described["partitions"]:
        assert p["leader"] in p["replicas"] and p["isr"] == p["replicas"]
        assert p["offline_replicas"] == [] and p["leader_epoch"] >= 0
        assert (p["log_start_offset"], p["high_watermark"], p["size_bytes"]) == (0, 0, 0)
    by_name = {c["name"]: c for c in described["configs"]}
    assert by_name["retention.ms"] == {
        "name": "retention.ms",
        "value": "86400000",
        "source": "DYNAMIC_TOPIC_CONFIG",
        "read_only": False,
        "sensitive": False,
        "is_default": False,
    }
    assert by_name["cleanup.policy"]["source"] == "DEFAULT_CONFIG"
    assert by_name["cleanup.policy"]["is_default"] is True

    gone = kpy(capsys, f"topic delete {t} {other} --json -b", bootstrap).json()
    assert gone == [
        {"name": t, "deleted": True, "error": None},
        {"name": other, "deleted": True, "error": None},
    ]
    assert not {t, other} & set(_names(capsys, bootstrap))


def test_delete_tries_every_topic(bootstrap, topic_name, capsys):
    # As kafka-topics: one request; what exists goes, each missing name is a line and exit 1.
    t, missing = topic_name, topic_name + "-missing"
    assert kpy(capsys, f"topic create {t} -b", bootstrap).code == 0
    ran = kpy(capsys, f"topic delete {missing} {t} -b", bootstrap)
    one_error_line(ran, "UNKNOWN_TOPIC_OR_PARTITION")
    assert _rows(ran.out, "TOPIC") == [[t, "deleted"]]
    assert t not in _names(capsys, bootstrap)


def test_create_tries_every_topic(bootstrap, topic_name, capsys):
    # As rpk (and `topic delete`): a name that fails does not stop the others.
    t, taken = topic_name, topic_name + "-taken"
    assert kpy(capsys, f"topic create {taken} -b", bootstrap).code == 0
    ran = kpy(capsys, f"topic create {taken} {t} -p 2 -b", bootstrap)
    one_error_line(ran, "TOPIC_ALREADY_EXISTS")
    assert repr(taken) in ran.err
    assert _rows(ran.out, "TOPIC") == [[t, "2", "created"]]
    assert {t, taken} <= set(_names(capsys, bootstrap))


def test_dry_runs_change_nothing(bootstrap, topic_name, capsys):
    t = topic_name
    checked = kpy(capsys, f"topic create {t} -p 2 --dry-run -b", bootstrap)
    assert checked.code == 0, checked.err
    assert _rows(checked.out, "TOPIC") == [[t, "2", "valid", "(dry", "run)"]]
    assert t not in _names(capsys, bootstrap)
    one_error_line(kpy(capsys, f"topic describe {t} -b", bootstrap), "UNKNOWN_TOPIC_OR_PARTITION")

    assert kpy(capsys, f"topic create {t} -p 1 -b", bootstrap).code == 0
    added = kpy(capsys, f"topic add-partitions {t} -n 2 --dry-run --json -b", bootstrap).json()
    assert added == {"name": t, "before": 1, "after": 3, "dry_run": True}
    altered = kpy(capsys, f"topic alter-config {t} -c retention.ms=1000 --dry-run -b", bootstrap)
    assert altered.code == 0, altered.err
    assert "(dry run)" in altered.out
    described = kpy(capsys, f"topic describe {t} --json -b", bootstrap).json()
    assert len(described["partitions"]) == 1
    assert "retention.ms" not in [c["name"] for c in described["configs"] if not c["is_default"]]


def test_alter_config(bootstrap, topic_name, capsys):
    t = topic_name
    assert kpy(capsys, f"topic create {t} -p 1 -c retention.ms=3600000 -b", bootstrap).code == 0
    changed = kpy(
        capsys,
        f"topic alter-config {t} -c segment.bytes=1048576 "
        "-c cleanup.policy=compact,delete --delete retention.ms -b",
        bootstrap,
    )
    assert changed.code == 0, changed.err
    assert _rows(changed.out, "CONFIG") == [
        ["segment.bytes", "1048576", "set"],
        ["cleanup.policy", "compact,delete", "set"],
        ["retention.ms", "-", "deleted"],
    ]
    described = kpy(capsys, f"topic describe {t} --json -b", bootstrap).json()
    configs = {c["name"]: c for c in described["configs"]}
    assert configs["segment.bytes"]["value"] == "1048576"
    assert configs["cleanup.policy"]["value"] == "compact,delete"
    assert configs["cleanup.policy"]["source"] == "DYNAMIC_TOPIC_CONFIG"
    assert configs["retention.ms"]["source"] == "DEFAULT_CONFIG"
    assert configs["retention.ms"]["value"] == "604800000"

    as_json = kpy(capsys, f"topic alter-config {t} --delete segment.bytes --json -b", bootstrap)
    assert as_json.json() == {"name": t, "set": {}, "deleted": ["segment.bytes"], "dry_run": False}

    bad = kpy(capsys, f"topic alter-config {t} -c retention.ms=soon -b", bootstrap)
    one_error_line(bad, "INVALID_CONFIG")


def test_add_partitions_adds_n(bootstrap, topic_name, capsys):
    t = topic_name
    assert kpy(capsys, f"topic create {t} -p 2 -b", bootstrap).code == 0
    added = kpy(capsys, f"topic add-partitions {t} -n 3 -b", bootstrap)
    assert added.code == 0, added.err
    assert _rows(added.out, "TOPIC") == [[t, "2", "5", "added"]]
    described = kpy(capsys, f"topic describe {t} --json -b", bootstrap).json()
    assert [p["partition"] for p in described["partitions"]] == [0, 1, 2, 3, 4]
    assert all(p["leader"] is not None for p in described["partitions"])
    again = kpy(capsys, f"topic add-partitions {t} -n 1 --json -b", bootstrap).json()
    assert again == {"name": t, "before": 5, "after": 6, "dry_run": False}


def test_describe_and_trim_records_written_by_a_client(bootstrap, topic_name, capsys):
    t = topic_name
    assert kpy(capsys, f"topic create {t} -p 2 -b", bootstrap).code == 0
    _produce(bootstrap, t, 0, 10)
    _produce(bootstrap, t, 1, 4)
    described = kpy(capsys, f"topic describe {t} --json -b", bootstrap).json()
    marks = [(p["log_start_offset"], p["high_watermark"]) for p in described["partitions"]]
    assert marks == [(0, 10), (0, 4)]
    sizes = [p["size_bytes"] for p in described["partitions"]]
    assert all(s > 0 for s in sizes) and described["size_bytes"] == sum(sizes)

    trimmed = kpy(capsys, f"topic trim {t} -p 0 -o 6 -b", bootstrap)
    assert trimmed.code == 0, trimmed.err
    assert _rows(trimmed.out, "PARTITION") == [["0", "6"]]
    both = kpy(capsys, f"topic trim {t} -p 0 -p 1 -o end --json -b", bootstrap).json()
    assert both == {
        "name": t,
        "partitions": [
            {"partition": 0, "low_watermark": 10},
            {"partition": 1, "low_watermark": 4},
        ],
    }
    rows = _rows(kpy(capsys, f"topic describe {t} -b", bootstrap).out, "PARTITION ")
    assert [r[5:7] for r in rows] == [["10", "10"], ["4", "4"]]

    beyond = kpy(capsys, f"topic trim {t} -p 1 -o 99 -b", bootstrap)
    one_error_line(beyond, "OFFSET_OUT_OF_RANGE")


def test_unknown_topic_is_one_line_and_exit_1(bootstrap, topic_name, capsys):
    missing = topic_name + "-missing"
    for command in (
        f"describe {missing}",
        f"alter-config {missing} -c retention.ms=1000",
        f"add-partitions {missing} -n 1",
        f"trim {missing} -p 0 -o 0",
        f"delete {missing}",
    ):
        ran = kpy(capsys, f"topic {command} -b", bootstrap)
        one_error_line(ran, "UNKNOWN_TOPIC_OR_PARTITION")
    assert kpy(capsys, f"topic create {topic_name} -p 1 -b", bootstrap).code == 0
    one_error_line(kpy(capsys, f"topic create {topic_name} -b", bootstrap), "TOPIC_ALREADY_EXISTS")


def test_bad_usage_exits_2(capsys):
    for command in (
        "describe",
        "alter-config t",
        "alter-config t -c no-equals-sign",
        "add-partitions t",
        "add-partitions t -n 0",
        "trim t -p 0",
        "trim t -p 0 -o start",
        "trim t -p 0 -o -3",
        "frobnicate",
    ):
        ran = kpy(capsys, f"topic {command} -b 127.0.0.1:1")
        assert ran.code == 2, command
        assert "usage: kpy topic" in ran.err


def test_help_says_add_partitions_adds(capsys):
    ran = kpy(capsys, "topic add-partitions --help")
    assert ran.code == 0
    assert "how many to add" in " ".join(ran.out.split())


def test_the_kpy_script(bootstrap, topic_name):
    t = topic_name
    created = kpy_script(f"topic create {t} -p 2 -b", bootstrap)
    assert created.code == 0, created.err
    shown = kpy_script(f"topic describe {t} --json -b", bootstrap)
    assert [p["partition"] for p in shown.json()["partitions"]] == [0, 1]
    one_error_line(
        kpy_script(f"topic describe {t}-missing -b", bootstrap), "UNKNOWN_TOPIC_OR_PARTITION"
    )
    assert kpy_script(f"topic trim {t} -b", bootstrap).code == 2


def test_a_closed_pipe_ends_quietly(bootstrap, topic_name):
    """``kpy topic describe T | head -1``: no traceback, SIGPIPE's exit status."""
    assert kpy_script(f"topic create {topic_name} -b", bootstrap).code == 0
    args, env = script_command(f"topic describe {topic_name} -b", bootstrap)
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # before kpy writes: its first write fails
    _, err = proc.communicate(timeout=60)
    assert (proc.returncode, err) == (141, b"")
