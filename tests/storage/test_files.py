"""Small on-disk artifacts: checkpoints, atomic writes, TopicStore, the transaction index."""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid

import pytest

from kpy.storage.files import atomic_write, read_checkpoint, write_checkpoint
from kpy.storage.index import IndexCorrupt
from kpy.storage.manager import LogManager
from kpy.storage.topics import TopicEntry, TopicStore
from kpy.storage.txn_index import ENTRY_SIZE, AbortedTxn, TransactionIndex
from tests.storage.conftest import TOPIC_ID, make_batch, open_manager


def test_checkpoint_text_format(tmp_path):
    path = tmp_path / "recovery-point-offset-checkpoint"
    write_checkpoint(path, {("b-topic", 3): 17, ("a.topic-x", 0): 5})
    assert path.read_text() == "0\n2\na.topic-x 0 5\nb-topic 3 17\n"
    assert read_checkpoint(path) == {("b-topic", 3): 17, ("a.topic-x", 0): 5}
    assert read_checkpoint(tmp_path / "absent") == {}
    assert not list(tmp_path.glob("*.tmp"))


def test_atomic_write_replaces(tmp_path):
    p = tmp_path / "f"
    atomic_write(p, b"one")
    atomic_write(p, b"two")
    assert p.read_bytes() == b"two"
    assert os.listdir(tmp_path) == ["f"]


def test_manager_checkpoints_and_marker(tmp_path, config, clock):
    m = LogManager([str(tmp_path / "a"), str(tmp_path / "b")], default_config=config, clock=clock)
    m.load()
    for p in range(2):
        m.create_log("t", p, TOPIC_ID, config).append(make_batch(3), leader_epoch=0)
    m.get_log("t", 1).delete_records_before(2)
    m.close()
    texts = {d: (tmp_path / d / "log-start-offset-checkpoint").read_text() for d in ("a", "b")}
    assert texts == {"a": "0\n1\nt 0 0\n", "b": "0\n1\nt 1 2\n"}
    assert (tmp_path / "b" / "recovery-point-offset-checkpoint").read_text() == "0\n1\nt 1 3\n"
    assert (tmp_path / "a" / ".kafka_cleanshutdown").exists()
    m = LogManager([str(tmp_path / "a"), str(tmp_path / "b")], default_config=config, clock=clock)
    m.load()
    assert not (tmp_path / "a" / ".kafka_cleanshutdown").exists()  # removed while running
    assert m.get_log("t", 1).log_start_offset == 2
    m.delete_topic_logs("t")
    assert m.all_logs() == [] and not (tmp_path / "a" / "t-0").exists()


def test_topic_store_round_trip(tmp_path):
    store = TopicStore(tmp_path)
    assert store.load() == {}
    a = store.create("orders", 3, {"retention.ms": "1000"})
    tid = uuid.uuid4()
    store.put(TopicEntry("x", tid, 1, {}, {"leader_epochs": [4]}))
    store.set_partitions("orders", 5)
    store.set_configs("orders", {"cleanup.policy": "compact"})
    again = TopicStore(tmp_path)
    loaded = again.load()
    assert set(loaded) == {"orders", "x"}
    assert loaded["orders"].topic_id == a.topic_id
    assert loaded["orders"].partitions == 5
    assert loaded["orders"].configs == {"cleanup.policy": "compact"}
    assert loaded["x"].extra == {"leader_epochs": [4]}
    assert again.by_id(tid).name == "x"
    again.remove("x")
    assert set(TopicStore(tmp_path).load()) == {"orders"}
    raw = json.loads((tmp_path / "kpy-topics.json").read_text())
    assert raw["version"] == 1
    with pytest.raises(ValueError):
        again.create("orders", 1)


def test_topic_store_changes_from_many_threads_all_land(tmp_path):
    """Every change rewrites the file through one temp name; concurrent changes must neither
    fail nor lose each other."""
    store = TopicStore(tmp_path)
    store.load()
    store.create("grown", 1)
    barrier = threading.Barrier(16)
    errors = []

    def work(i):
        try:
            barrier.wait(10)
            store.create(f"t{i}", 1)
            store.set_configs("grown", {"retention.ms": str(i)})
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert set(TopicStore(tmp_path).load()) == {"grown"} | {f"t{i}" for i in range(16)}
    assert not list(tmp_path.glob("*.tmp"))


def test_topic_store_change_that_cannot_be_written_changes_nothing(tmp_path):
    store = TopicStore(tmp_path)
    store.load()
    store.create("kept", 2)
    (tmp_path / "kpy-topics.json.tmp").mkdir()  # the temp file cannot be created
    with pytest.raises(OSError):
        store.create("lost", 1)
    with pytest.raises(OSError):
        store.set_partitions("kept", 5)
    with pytest.raises(OSError):
        store.remove("kept")
    assert set(store.topics) == {"kept"} and store.get("kept").partitions == 2
    (tmp_path / "kpy-topics.json.tmp").rmdir()
    store.create("other", 1)  # a later write must not carry the failed changes with it
    loaded = TopicStore(tmp_path).load()
    assert set(loaded) == {"kept", "other"} and loaded["kept"].partitions == 2


def test_txn_index_round_trip_and_corruption(tmp_path):
    idx = TransactionIndex(tmp_path / "00000000000000000000.txnindex")
    idx.append(AbortedTxn(7, 10, 20, 10))
    idx.append(AbortedTxn(8, 15, 30, 10))
    assert idx.path.stat().st_size == 2 * ENTRY_SIZE
    again = TransactionIndex(idx.path)
    again.load()
    assert again.entries == idx.entries
    assert [t.producer_id for t in again.collect(21, 100)] == [8]
    assert [t.producer_id for t in again.collect(0, 12)] == [7]
    again.truncate_to(30)
    assert [t.producer_id for t in again.entries] == [7]
    with open(idx.path, "ab") as f:
        f.write(b"\x00")
    with pytest.raises(IndexCorrupt):
        TransactionIndex(idx.path).load()


@pytest.mark.parametrize("text", ["1\n1\nt 0 5\n", "0\nx\n", "0\n2\nt 0 5\n", "0\n1\nt zero 5\n"])
def test_malformed_checkpoint_reads_as_empty_and_logs(tmp_path, caplog, text):
    path = tmp_path / "recovery-point-offset-checkpoint"
    path.write_text(text)
    with caplog.at_level(logging.WARNING, logger="kpy.storage"):
        assert read_checkpoint(path) == {}
    assert "malformed checkpoint" in caplog.text


def test_partition_metadata_round_trip(tmp_path, config, clock, caplog):
    m = open_manager(tmp_path, config, clock)
    lg = m.create_log("t", 0, TOPIC_ID, config)
    assert lg.topic_id == TOPIC_ID
    m.close()
    m = open_manager(tmp_path, config, clock)
    assert m.get_log("t", 0).topic_id == TOPIC_ID
    m.close()
    (lg.dir / "partition.metadata").write_text("version: 9\ntopic_id: x\n")
    with caplog.at_level(logging.WARNING, logger="kpy.storage"):
        m = open_manager(tmp_path, config, clock)
    assert m.get_log("t", 0).topic_id is None
    assert "unreadable partition.metadata" in caplog.text
    m.close()
