"""franz-go 1.22 (kgo) and kadm 1.20 (tests/go, pinned in go.sum) against kpy and against
Apache Kafka.

Each test runs one scenario of tests/go/main.go and asserts on the JSON it prints; the same
program answers the same against both brokers (topic names aside). The program is built once
per run (Go's build cache makes later runs quick); `make go` and .ci/run fetch its modules.
Without Go the tests are skipped, except in CI, where they fail.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

import pytest

from tests.test_readme import README_FRANZ_GO, block

GO = Path(__file__).resolve().parents[1] / "go"


@pytest.fixture(scope="session")
def franz_go(tmp_path_factory) -> Path:
    """The built program, shared by the xdist workers (the first build renamed into place)."""
    go = shutil.which("go")
    if go is None:
        if os.environ.get("CI"):
            pytest.fail("go is not installed; CI must run the franz-go tests")
        pytest.skip("go is not installed")
    digest = hashlib.sha256()
    for name in ("go.mod", "go.sum", "main.go"):
        digest.update((GO / name).read_bytes())
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    binary = root / f"franzgo-{digest.hexdigest()[:16]}"
    if not binary.exists():
        build = Path(tempfile.mkdtemp(prefix="franzgo-", dir=root)) / "franzgo"
        out = subprocess.run(
            [go, "build", "-o", str(build), "."],
            cwd=GO,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert out.returncode == 0, out.stderr
        build.rename(binary)  # atomic; a second worker's build replaces an identical file
    return binary


def run(program: Path, scenario: str, **args: str) -> dict:
    proc = subprocess.run(
        [str(program), scenario, json.dumps(args)], capture_output=True, text=True, timeout=120
    )
    lines = proc.stdout.splitlines()
    result = json.loads(lines[-1]) if lines else {}
    assert proc.returncode == 0 and "error" not in result, (result, proc.stderr[-4000:])
    return result


def test_produce_and_consume_in_classic_and_kip848_groups(franz_go, bootstrap, topic_name):
    out = run(franz_go, "round-trip", bootstrap=bootstrap, topic=topic_name, group=topic_name)
    produced = out["produced"]
    assert [r["value"] for r in produced] == [f"v{i}" for i in range(30)]
    # The key picks the partition (Kafka's murmur2); offsets are dense per partition, in the
    # order sent, the gzip-compressed half following the uncompressed one.
    by_key = {r["key"]: r["partition"] for r in produced}
    assert by_key == {"k2": 0, "k5": 0} | dict.fromkeys(
        ["k3", "k4", "k6", "k7"], 1
    ) | dict.fromkeys(["k0", "k1", "k8", "k9"], 2)
    assert all(by_key[r["key"]] == r["partition"] for r in produced)
    ends = Counter(str(r["partition"]) for r in produced)
    assert out["ends"] == {"0": 6, "1": 12, "2": 12} == ends
    in_log_order = sorted(produced, key=lambda r: (r["partition"], r["offset"]))
    for p, n in ends.items():
        assert [r["offset"] for r in in_log_order if str(r["partition"]) == p] == list(range(n))

    # Each group read every record once and committed the end of each partition.
    assert out["classic"] == in_log_order
    assert out["next"] == in_log_order
    assert out["committedClassic"] == out["ends"]
    assert out["committedNext"] == out["ends"]
    assert out["classicGroup"] == {"state": "Empty", "protocolType": "consumer", "members": 0}
    assert out["nextGroup"] == {"state": "Empty", "members": 0}


def test_transactions_and_a_consume_transform_produce_session(franz_go, bootstrap, topic_name):
    out = run(
        franz_go,
        "transactions",
        bootstrap=bootstrap,
        topic=topic_name,
        group=topic_name,
        txnId=topic_name,
    )
    # Three transactions of five records (committed, aborted, committed), each followed by its
    # marker: offsets 0-4, 6-10 and 12-16; markers at 5, 11 and 17.
    written = [(f"t{t}-{i}", t * 6 + i) for t in range(3) for i in range(5)]
    assert [(r["value"], r["offset"]) for r in out["uncommitted"]] == written
    assert [(r["value"], r["offset"]) for r in out["committed"]] == [
        w for w in written if not w[0].startswith("t1")
    ]
    assert out["ends"] == {"0": 18}
    assert out["described"] == {"state": "CompleteCommit", "topics": 0}
    # The session copied the committed records once and committed the group's offset past
    # the last marker it read (the commit marker at 17 is the next to read).
    assert out["copied"] == [r["value"].upper() for r in out["committed"]]
    assert out["groupCommitted"] == {"0": 17}


def test_kadm_topics_configs_partitions_and_records(franz_go, bootstrap, topic_name):
    out = run(franz_go, "admin", bootstrap=bootstrap, topic=topic_name)
    assert out == {
        "brokers": 1,
        "created": {"partitions": 2, "replicationFactor": 1},
        "createdAgain": "TOPIC_ALREADY_EXISTS",
        "partitions": 4,
        "deleteRecordsCompacted": "POLICY_VIOLATION",
        "configs": {
            "cleanup.policy": "compact DYNAMIC_TOPIC_CONFIG",
            "retention.ms": "604800000 DEFAULT_CONFIG",
        },
        "configsAltered": {
            "cleanup.policy": "compact,delete DYNAMIC_TOPIC_CONFIG",
            "retention.ms": "3600000 DYNAMIC_TOPIC_CONFIG",
        },
        "deleteRecords": "",
        "starts": {"0": 0, "1": 0, "2": 0, "3": 6},
        "ends": {"0": 0, "1": 0, "2": 0, "3": 10},
        "deleted": "",
    }


def test_readme_go_run_command(franz_go, broker):
    """The README's franz-go command (go run: the build the fixture made is in Go's cache)."""
    (line,) = block(README_FRANZ_GO).splitlines()
    line = line.replace("cd tests/go && ", "").replace("localhost:9092", broker.bootstrap)
    out = subprocess.run(line, shell=True, cwd=GO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["created"] == {"partitions": 2, "replicationFactor": 1}
    assert result["deleted"] == ""
