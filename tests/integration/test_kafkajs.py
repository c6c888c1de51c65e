"""kafkajs 2.2.4 (tests/js, pinned in package-lock.json) against a kpy broker.

Each test runs one scenario of tests/js/kafkajs_client.js with node and asserts on the JSON it
prints. Both scenarios print the same results against Apache Kafka 4.4 (topic names aside).
`make test` and .ci/run install the npm modules; without node the tests are skipped, except
in CI, where a missing node or kafkajs is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

JS = Path(__file__).resolve().parents[1] / "js"


def node_or_skip() -> str:
    node = shutil.which("node")
    installed = (JS / "node_modules" / "kafkajs" / "package.json").exists()
    if node and installed:
        return node
    missing = "node" if not node else f"kafkajs (npm ci --prefix {JS})"
    if os.environ.get("CI"):
        pytest.fail(f"{missing} is not installed; CI must run the kafkajs tests")
    pytest.skip(f"{missing} is not installed")


def run(scenario: str, **args) -> dict:
    node = node_or_skip()
    env = dict(os.environ, KAFKAJS_NO_PARTITIONER_WARNING="1")
    proc = subprocess.run(
        [node, str(JS / "kafkajs_client.js"), scenario, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
    )
    lines = proc.stdout.splitlines()
    result = json.loads(lines[-1]) if lines else {}
    assert proc.returncode == 0 and "error" not in result, (result, proc.stderr[-4000:])
    return result


def test_kafkajs_admin_topics_with_documented_defaults(broker, topic_name):
    # No replicationFactor (and for the second topic no numPartitions): CreateTopics v3
    # carries -1, which the broker reads as default.replication.factor / num.partitions.
    a, b = f"{topic_name}-a", f"{topic_name}-b"
    out = run("admin", bootstrap=broker.bootstrap, topics=[a, b])
    assert out == {
        "created": True,
        "createdAgain": False,  # TOPIC_ALREADY_EXISTS, which kafkajs reports as false
        "described": [
            {"name": a, "partitions": [0, 1, 2], "replicas": [1, 1, 1]},
            {"name": b, "partitions": [0], "replicas": [1]},
        ],
        "cleanupPolicy": ["delete"],
        "listedBefore": [a, b],
        "listedAfter": [b],
    }


def test_kafkajs_produce_group_consume_and_offsets(broker, topic_name):
    out = run("round-trip", bootstrap=broker.bootstrap, topic=topic_name, groupId=f"g-{topic_name}")
    assert out["created"] is True
    sent = [(m["key"], m["value"]) for m in out["sent"]]
    assert len(sent) == 40  # 20 uncompressed, then 20 gzip
    ends = [w["high"] for w in out["watermarks"]]
    assert [w["low"] for w in out["watermarks"]] == [0, 0, 0] and sum(ends) == 40

    # Every record once; per partition dense offsets in the order sent; a key keeps its
    # partition.
    consumed = out["consumed"]
    assert Counter((m["key"], m["value"]) for m in consumed) == Counter(sent)
    order = {value: i for i, (_, value) in enumerate(sent)}
    for p, end in enumerate(ends):
        mine = [m for m in consumed if m["partition"] == p]
        assert [m["offset"] for m in mine] == list(range(end))
        assert [order[m["value"]] for m in mine] == sorted(order[m["value"]] for m in mine)
    assert all(len(ps) == 1 for ps in _partitions_by_key(consumed).values())

    # Auto-committed offsets reach the end; the group is empty once the consumer has left.
    assert out["afterConsume"] == [{"partition": p, "offset": e} for p, e in enumerate(ends)]
    assert out["group"] == {"state": "Empty", "protocolType": "consumer", "members": 0}

    # setOffsets moves the group back one record per partition; the next member of the group
    # starts there and reads exactly those records.
    assert out["afterSet"] == [{"partition": p, "offset": e - 1} for p, e in enumerate(ends)]
    assert [(m["partition"], m["offset"]) for m in out["consumedAgain"]] == [
        (p, e - 1) for p, e in enumerate(ends)
    ]

    # resetOffsets(earliest) commits kafkajs' sentinel -2 as the offset; Kafka 4.4 stores and
    # returns it as it is.
    assert out["afterReset"] == [{"partition": p, "offset": -2} for p in range(3)]


def _partitions_by_key(messages: list[dict]) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for m in messages:
        out.setdefault(m["key"], set()).add(m["partition"])
    return out
