"""Leader epoch cache: Kafka's end-offset rules, its checkpoint file, and how retention,
DeleteRecords, truncation and restarts move it."""

from __future__ import annotations

import logging

from kpy.storage.leader_epoch import LeaderEpochCache
from tests.storage.conftest import TOPIC_ID, make_batch, open_manager


def cache_with(tmp_path, entries):
    c = LeaderEpochCache(tmp_path)
    for e, o in entries:
        assert c.assign(e, o)
    return c


def test_end_offset_rules(tmp_path):
    c = cache_with(tmp_path, [(2, 10), (5, 30), (7, 50)])
    assert c.end_offset_for(7, 80) == (7, 80)  # latest epoch: the log end offset
    assert c.end_offset_for(5, 80) == (5, 50)
    assert c.end_offset_for(6, 80) == (5, 50)  # unknown epoch between: the one below
    assert c.end_offset_for(1, 80) == (1, 10)  # older than all: start of the first one
    assert c.end_offset_for(8, 80) == (-1, -1)  # newer than all
    assert c.end_offset_for(-1, 80) == (-1, -1)
    assert LeaderEpochCache(tmp_path / "x").end_offset_for(0, 5) == (-1, -1)


def test_assign_only_newer_epochs(tmp_path):
    c = cache_with(tmp_path, [(1, 0)])
    assert not c.assign(1, 5)
    assert not c.assign(0, 5)
    assert c.assign(4, 5)
    assert (tmp_path / "leader-epoch-checkpoint").read_text() == "0\n2\n1 0\n4 5\n"


def test_truncate_from_start_and_end(tmp_path):
    c = cache_with(tmp_path, [(1, 0), (2, 10), (3, 20)])
    c.truncate_from_start(15)
    assert c.entries == [(2, 15), (3, 20)]
    c.truncate_from_start(15)
    assert c.entries == [(2, 15), (3, 20)]
    c.truncate_from_end(20)
    assert c.entries == [(2, 15)]
    reread = LeaderEpochCache(tmp_path)
    reread.load()
    assert reread.entries == [(2, 15)]


def test_malformed_checkpoint_is_dropped_with_a_warning(tmp_path, caplog):
    (tmp_path / "leader-epoch-checkpoint").write_text("0\n3\n1 0\n")
    c = LeaderEpochCache(tmp_path)
    with caplog.at_level(logging.WARNING, logger="kpy.storage"):
        c.load()
    assert c.entries == []
    assert "unreadable leader epoch checkpoint" in caplog.text


def test_log_keeps_the_cache_in_step(tmp_path, config, clock):
    m = open_manager(tmp_path, config, clock)
    lg = m.create_log("t", 0, TOPIC_ID, config)
    for epoch in (0, 0, 1, 1, 2, 2):
        lg.append(make_batch(2, value=b"e" * 300), leader_epoch=epoch)
    assert lg.epochs == [(0, 0), (1, 4), (2, 8)]
    assert lg.epoch_for_offset(5) == 1
    lg.delete_records_before(6)
    assert lg.epochs == [(1, 6), (2, 8)]
    lg.truncate_to(8)
    assert lg.epochs == [(1, 6)]
    assert lg.end_offset_for_epoch(1) == (1, 8)
    lg.append(make_batch(1), leader_epoch=3)
    m.close()
    m = open_manager(tmp_path, config, clock)
    lg = m.get_log("t", 0)
    assert lg.epochs == [(1, 6), (3, 8)]
    assert lg.end_offset_for_epoch(2) == (1, 8)
    m.close()


def test_epoch_started_at_the_log_end_survives_restart(tmp_path, config, clock):
    m = open_manager(tmp_path, config, clock)
    lg = m.create_log("t", 0, TOPIC_ID, config)
    assert lg.epochs == [(0, 0)]
    m.close(clean=False)
    m = open_manager(tmp_path, config, clock)
    assert m.get_log("t", 0).end_offset_for_epoch(0) == (0, 0)
    m.close()


def test_assign_leader_epoch_without_appends(tmp_path, config, clock):
    m = open_manager(tmp_path, config, clock)
    lg = m.create_log("t", 0, TOPIC_ID, config)
    lg.append(make_batch(3), leader_epoch=0)
    lg.assign_leader_epoch(4)
    lg.assign_leader_epoch(2)
    assert lg.epochs == [(0, 0), (4, 3)]
    assert lg.end_offset_for_epoch(4) == (4, 3)
    assert lg.end_offset_for_epoch(0) == (0, 3)
    m.close()
