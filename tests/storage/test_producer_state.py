"""Idempotent producer state on the append path: duplicates, gaps, epochs, reopen, truncation."""

from __future__ import annotations

import pytest

from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.storage.manager import LogManager
from tests.storage.conftest import TOPIC_ID, make_batch


def idem(n: int, seq: int, *, pid: int = 42, epoch: int = 0) -> bytearray:
    return make_batch(n, producer_id=pid, epoch=epoch, seq=seq)


def code_of(lg, data) -> ErrorCode:
    with pytest.raises(KafkaError) as e:
        lg.append(data, leader_epoch=0)
    return e.value.code


def test_duplicates_of_last_five_batches(new_log):
    _, lg = new_log()
    results = [lg.append(idem(2, 2 * i), leader_epoch=0) for i in range(6)]
    leo = lg.log_end_offset
    # Any of the last five is a duplicate and gets its original offsets back.
    for i in range(1, 6):
        dup = lg.append(idem(2, 2 * i), leader_epoch=0)
        assert dup.duplicate
        assert (dup.base_offset, dup.last_offset) == (
            results[i].base_offset,
            results[i].last_offset,
        )
    assert lg.log_end_offset == leo
    # The sixth-newest is forgotten: a retry of it is out of order.
    assert code_of(lg, idem(2, 0)) == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER


def test_gap_and_overlap_are_out_of_order(new_log):
    _, lg = new_log()
    lg.append(idem(3, 0), leader_epoch=0)
    assert code_of(lg, idem(1, 4)) == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    assert code_of(lg, idem(2, 2)) == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    assert lg.append(idem(1, 3), leader_epoch=0).base_offset == 3


def test_epochs(new_log):
    _, lg = new_log()
    lg.append(idem(1, 0, epoch=1), leader_epoch=0)
    # A newer epoch must start at sequence 0.
    assert code_of(lg, idem(1, 5, epoch=2)) == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    lg.append(idem(1, 0, epoch=2), leader_epoch=0)
    # The old epoch is fenced.
    assert code_of(lg, idem(1, 1, epoch=1)) == ErrorCode.INVALID_PRODUCER_EPOCH
    assert lg.producer_state.producers[42].producer_epoch == 2


def test_unknown_producer_any_sequence_is_accepted(new_log):
    _, lg = new_log()
    assert lg.append(idem(1, 17, pid=9), leader_epoch=0).base_offset == 0
    assert lg.append(idem(1, 18, pid=9), leader_epoch=0).base_offset == 1


def test_non_idempotent_batches_are_never_checked(new_log):
    _, lg = new_log()
    lg.append(make_batch(1), leader_epoch=0)
    assert not lg.append(make_batch(1), leader_epoch=0).duplicate
    assert lg.log_end_offset == 2


def test_sequence_wraps_at_int32_max(new_log):
    _, lg = new_log()
    lg.append(idem(1, 2**31 - 1), leader_epoch=0)
    assert lg.append(idem(1, 0), leader_epoch=0).base_offset == 1


@pytest.mark.parametrize("clean", [True, False])
def test_state_survives_reopen_and_snapshot_files(tmp_path, config, clock, clean):
    m = LogManager([str(tmp_path)], default_config=config, clock=clock)
    lg = m.create_log("t", 0, TOPIC_ID, config)
    for i in range(40):
        lg.append(
            make_batch(2, value=b"p" * 100, producer_id=5, epoch=3, seq=2 * i), leader_epoch=0
        )
    assert len(lg.segments) > 1
    snaps = sorted(p.name for p in lg.dir.iterdir() if p.suffix == ".snapshot")
    assert snaps and all(len(n) == len("00000000000000000000.snapshot") for n in snaps)
    if clean:
        m.close()
        assert f"{80:020d}.snapshot" in {p.name for p in lg.dir.iterdir()}
    else:
        m.close(clean=False)
    m = LogManager([str(tmp_path)], default_config=config, clock=clock)
    m.load()
    lg = m.get_log("t", 0)
    dup = lg.append(make_batch(2, producer_id=5, epoch=3, seq=78), leader_epoch=0)
    assert dup.duplicate and dup.base_offset == 78
    assert code_of(lg, make_batch(1, producer_id=5, epoch=3, seq=81)) == (
        ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    )
    assert code_of(lg, make_batch(1, producer_id=5, epoch=2, seq=80)) == (
        ErrorCode.INVALID_PRODUCER_EPOCH
    )
    assert (
        lg.append(make_batch(1, producer_id=5, epoch=3, seq=80), leader_epoch=0).base_offset == 80
    )
    m.close()


def test_truncation_rewinds_producer_state(new_log):
    _, lg = new_log()
    for i in range(5):
        lg.append(idem(1, i), leader_epoch=0)
    lg.truncate_to(3)
    # Sequences 3 and 4 are gone, so 3 is the next expected one again.
    assert not lg.append(idem(1, 3), leader_epoch=0).duplicate
    assert lg.log_end_offset == 4


def test_open_transaction_holds_last_stable_offset(new_log):
    _, lg = new_log()
    lg.append(make_batch(1), leader_epoch=0)
    lg.append(make_batch(2, producer_id=8, epoch=0, seq=0, transactional=True), leader_epoch=0)
    lg.append(make_batch(1), leader_epoch=0)
    assert lg.high_watermark == 4
    assert lg.last_stable_offset == 1
    assert lg.producer_state.producers[8].current_txn_first_offset == 1
