"""kafka-dump-log (Kafka 4.4's DumpLogSegments) reads kpy's own files: the proof that kpy
keeps Kafka's log layout. A kpy broker writes keyed records with headers from an idempotent
producer and committed and aborted transactions into small segments (an index entry per
batch, a roll whenever the index is full), stops cleanly, and Kafka's tool dumps every
``.log``, ``.index``, ``.timeindex``, ``.txnindex`` and producer ``.snapshot``: what it prints
must be what was written, and it must find no mismatch in the indexes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from kpy.testing import BrokerProcess

pytestmark = pytest.mark.timeout(180)

TOPIC = "dumped"
T0 = 1_700_000_000_000


def fields(line: str) -> dict[str, str]:
    """``name: value`` pairs of one line of DumpLogSegments' output."""
    return dict(re.findall(r"(\w+): (\S*)", line))


def write(bootstrap: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    # An index entry after every batch but the first; a roll once three are there.
    configs = {"index.interval.bytes": "0", "segment.index.bytes": "24"}
    admin.create_topics([NewTopic(TOPIC, 1, 1, config=configs)])[TOPIC].result(30)
    idempotent = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for i in range(12):  # six batches of two records
        idempotent.produce(
            TOPIC, key=f"k{i}", value=f"v{i}", headers=[("n", str(i))], timestamp=T0 + i
        )
        if i % 2:
            assert idempotent.flush(30) == 0
    txn = Producer({"bootstrap.servers": bootstrap, "transactional.id": "dump-txn"})
    txn.init_transactions(30)
    for values, commit in ((["c0", "c1"], True), (["a0"], False)):
        txn.begin_transaction()
        for n, value in enumerate(values):
            txn.produce(TOPIC, key=f"t{n}", value=value, timestamp=T0 + 100)
        assert txn.flush(30) == 0
        if commit:
            txn.commit_transaction(30)
        else:
            txn.abort_transaction(30)


def test_kafka_dump_log_reads_kpys_files(tmp_path, jvm):
    data = tmp_path / "data"
    with BrokerProcess(data) as broker:
        write(broker.bootstrap)
    partition = data / f"{TOPIC}-0"
    files = sorted(partition.iterdir())
    logs = [p for p in files if p.suffix == ".log"]
    assert len(logs) > 1, "the index limit rolled the log"
    kinds = {".log", ".index", ".timeindex", ".txnindex", ".snapshot"}
    dumped = [str(p) for p in files if p.suffix in kinds]
    out = jvm.tool("kafka-dump-log", "--files", ",".join(dumped), "--print-data-log").stdout
    assert not re.search(r"mismatch|corrupt|not valid|out of order", out, re.I), out

    sections: dict[str, list[str]] = {}
    for line in out.splitlines():
        if line.startswith("Dumping "):
            current = sections.setdefault(Path(line.split(" ", 1)[1]).name, [])
        else:
            current.append(line)
    assert set(sections) == {Path(p).name for p in dumped}

    # The logs: every batch valid, offsets dense from 0, the records as written.
    batches: dict[str, dict[int, dict[str, str]]] = {}  # segment -> position -> batch
    records: list[dict] = []
    batch: dict[str, str] = {}
    for log in logs:
        lines = sections[log.name]
        assert lines[0] == f"Log starting offset: {int(log.stem)}"
        for line in lines[1:]:
            if line.startswith("| "):
                records.append({**fields(line), "batch": batch})
            else:
                batch = fields(line)
                assert batch["isvalid"] == "true" and batch["magic"] == "2", line
                batches.setdefault(log.stem, {})[int(batch["position"])] = batch
    assert [int(r["offset"]) for r in records] == list(range(len(records)))
    data_records = [r for r in records if "payload" in r]
    assert [(r["key"], r["payload"]) for r in data_records] == [
        *((f"k{i}", f"v{i}") for i in range(12)),
        ("t0", "c0"),
        ("t1", "c1"),
        ("t0", "a0"),
    ]
    idempotent = data_records[:12]
    assert [int(r["sequence"]) for r in idempotent] == list(range(12))
    assert [int(r["CreateTime"]) for r in idempotent] == [T0 + i for i in range(12)]
    assert all(r["headerKeys"] == "[n]" for r in idempotent)
    assert {r["batch"]["isTransactional"] for r in idempotent} == {"false"}
    producer_ids = {r["batch"]["producerId"] for r in idempotent}
    txn_ids = {r["batch"]["producerId"] for r in data_records[12:]}
    assert len(producer_ids) == len(txn_ids) == 1 and producer_ids != txn_ids
    markers = [(int(r["offset"]), r["endTxnMarker"]) for r in records if "endTxnMarker" in r]
    assert markers == [(14, "COMMIT"), (16, "ABORT")]

    # The offset index: each entry the last offset of the batch at its position.
    entries = 0
    for log in logs:
        for line in sections[log.with_suffix(".index").name]:
            if line.endswith("is empty."):
                continue
            entry = fields(line)
            batch = batches[log.stem][int(entry["position"])]
            assert entry["offset"] == batch["lastOffset"], line
            entries += 1
    assert entries >= len(logs)
    # The time index: each entry the largest timestamp up to a batch's last offset.
    for log in logs:
        seen = sorted(batches[log.stem].values(), key=lambda b: int(b["lastOffset"]))
        for line in sections[log.with_suffix(".timeindex").name]:
            entry = fields(line)
            upto = [b for b in seen if int(b["lastOffset"]) <= int(entry["offset"])]
            assert int(entry["timestamp"]) == max(int(b["CreateTime"]) for b in upto), line

    # The aborted transaction, in the transaction index of its segment.
    (aborted,) = [
        fields(line)
        for name, lines in sections.items()
        if name.endswith(".txnindex")
        for line in lines
    ]
    assert aborted["producerId"] in txn_ids
    assert (aborted["firstOffset"], aborted["lastOffset"]) == ("15", "16")

    # The producer snapshot written at shutdown (named by the log end offset) has both.
    snapshot = partition / f"{len(records):020d}.snapshot"
    states = {fields(line)["producerId"]: fields(line) for line in sections[snapshot.name]}
    assert set(states) == producer_ids | txn_ids
    (pid,) = producer_ids
    assert (states[pid]["lastSequence"], states[pid]["lastOffset"]) == ("11", "11")
    assert states[pid]["currentTxnFirstOffset"] == "OptionalLong.empty"

    verified = jvm.tool(
        "kafka-dump-log",
        "--verify-index-only",
        "--files",
        ",".join(p for p in dumped if p.endswith((".index", ".timeindex"))),
    ).stdout
    assert all(line.startswith("Dumping ") for line in verified.splitlines()), verified
