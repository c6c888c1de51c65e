"""Transaction markers in a log: the LSO, the aborted-transaction index, restarts."""

from __future__ import annotations

import uuid

from kpy.protocol import records
from kpy.protocol.records import Record
from kpy.storage.log import Log, LogConfig
from kpy.storage.txn_index import AbortedTxn
from tests.storage.helpers import Clock


def new_log(tmp_path) -> Log:
    lg = Log(tmp_path / "t-0", "t", 0, LogConfig(), clock=Clock())
    lg.create(uuid.uuid4())
    return lg


def txn_batch(pid: int, n: int = 2, seq: int = 0) -> bytearray:
    recs = [Record(b"k", b"v%d" % i, [], i, i) for i in range(n)]
    return records.build_batch(
        recs,
        base_timestamp=1_700_000_000_000,
        producer_id=pid,
        producer_epoch=0,
        base_sequence=seq,
        is_transactional=True,
    )


def marker(pid: int, commit: bool) -> bytearray:
    kind = records.CONTROL_COMMIT if commit else records.CONTROL_ABORT
    return records.build_control_batch(kind, producer_id=pid, producer_epoch=0)


def test_abort_marker_is_indexed_and_releases_the_lso(tmp_path):
    lg = new_log(tmp_path)
    lg.append(txn_batch(7), leader_epoch=0)  # 0-1
    lg.append(txn_batch(8), leader_epoch=0)  # 2-3
    assert lg.last_stable_offset == 0
    lg.append(marker(7, commit=False), leader_epoch=0, origin="coordinator")  # 4
    # Producer 8 is still open from offset 2.
    assert lg.last_stable_offset == 2
    assert lg.active.txn_index.entries == [AbortedTxn(7, 0, 4, 2)]
    lg.append(marker(8, commit=True), leader_epoch=0, origin="coordinator")  # 5
    assert lg.last_stable_offset == lg.high_watermark == 6
    assert lg.aborted_transactions(0, 6, 6) == [(7, 0)]
    assert lg.aborted_transactions(5, 6, 6) == []


def test_commit_and_empty_abort_are_not_indexed(tmp_path):
    lg = new_log(tmp_path)
    lg.append(txn_batch(1), leader_epoch=0)
    lg.append(marker(1, commit=True), leader_epoch=0, origin="coordinator")
    lg.append(marker(2, commit=False), leader_epoch=0, origin="coordinator")
    assert lg.active.txn_index.entries == []
    assert lg.last_stable_offset == lg.high_watermark


def test_index_and_open_transaction_survive_a_restart(tmp_path):
    lg = new_log(tmp_path)
    lg.append(txn_batch(3), leader_epoch=0)
    lg.append(marker(3, commit=False), leader_epoch=0, origin="coordinator")
    lg.append(txn_batch(4), leader_epoch=0)  # 3-4, left open
    lg.close()
    again = Log(tmp_path / "t-0", "t", 0, LogConfig(), clock=Clock())
    again.load(recovery_point=0, log_start_offset=0, clean=False)
    assert again.last_stable_offset == 3
    assert again.aborted_transactions(0, 5, 5) == [(3, 0)]
