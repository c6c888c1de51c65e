"""The transaction coordinator through its narrow interface (an in-memory CoordinatorContext)
under trio's MockClock: timeouts abort, idle ids expire, failed writes are retried, the state
table holds, and records old kpy misplaced are kept."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
import trio
import trio.testing

from kpy.coordinator import txn_state
from kpy.coordinator.offsets import OFFSETS_TOPIC, CommittedOffset, partition_for
from kpy.coordinator.transactions import TRANSACTION_TOPIC, TransactionCoordinator
from kpy.coordinator.txn_state import (
    COMPLETE_ABORT,
    COMPLETE_COMMIT,
    EMPTY,
    ONGOING,
    PREPARE_COMMIT,
    IllegalTransition,
    TxnMetadata,
)
from kpy.protocol import records
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.protocol.messages.init_producer_id import InitProducerIdRequest
from tests.coordinator.fakes import FakeContext, coordinators


async def init(txns: TransactionCoordinator, tid: str, timeout_ms: int = 60_000) -> tuple[int, int]:
    req = InitProducerIdRequest(transactional_id=tid, transaction_timeout_ms=timeout_ms)
    return await txns.init_producer_id(SimpleNamespace(api_version=4), req)


def run(ctx: FakeContext, fn) -> None:
    """``fn(groups, txns)`` with both coordinators' tasks running, in virtual time."""

    async def main():
        groups, txns = coordinators(ctx)
        await groups.load()
        await txns.load()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(groups.run)
            nursery.start_soon(txns.run)
            await fn(groups, txns)
            nursery.cancel_scope.cancel()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


def context() -> FakeContext:
    ctx = FakeContext()
    ctx.add("t", 2)
    return ctx


def test_a_transaction_open_past_its_timeout_is_aborted_at_that_moment():
    ctx = context()

    async def scenario(groups, txns):
        pid, epoch = await init(txns, "tx", timeout_ms=1000)
        assert txns.add_partitions("tx", pid, epoch, [("t", 0), ("t", 1)], 3) is None
        await trio.sleep(1.0)
        assert txns.describe("tx").state == ONGOING and ctx.markers == []
        await trio.sleep(0.002)  # Kafka aborts once the timeout has strictly passed
        assert ctx.markers == [("t", 0, records.CONTROL_ABORT), ("t", 1, records.CONTROL_ABORT)]
        txn = txns.describe("tx")
        assert txn.state == COMPLETE_ABORT and txn.producer_epoch == epoch + 1
        with pytest.raises(KafkaError) as err:  # the producer is fenced
            txns.end_txn("tx", pid, epoch, True, 3)
        assert err.value.code == ErrorCode.PRODUCER_FENCED

    run(ctx, scenario)


def test_a_committed_transaction_is_not_aborted_later():
    ctx = context()

    async def scenario(groups, txns):
        pid, epoch = await init(txns, "tx", timeout_ms=1000)
        txns.add_partitions("tx", pid, epoch, [("t", 0)], 3)
        txns.end_txn("tx", pid, epoch, True, 3)
        await trio.sleep(5)
        assert ctx.markers == [("t", 0, records.CONTROL_COMMIT)]
        assert txns.describe("tx").state == COMPLETE_COMMIT

    run(ctx, scenario)


def test_an_idle_transactional_id_expires_at_its_deadline():
    ctx = context()
    ctx.configs["transactional.id.expiration.ms"] = 60_000

    async def scenario(groups, txns):
        pid, epoch = await init(txns, "tx")
        txns.add_partitions("tx", pid, epoch, [("t", 0)], 3)
        txns.end_txn("tx", pid, epoch, False, 3)  # idle from here
        await trio.sleep(60)
        assert txns.describe("tx") is not None
        await trio.sleep(0.002)
        assert txns.describe("tx") is None
        last = ctx.records(TRANSACTION_TOPIC, partition_for("tx", 50))[-1]
        assert last.value is None  # the tombstone
        # An open transaction does not expire.
        pid, epoch = await init(txns, "open", timeout_ms=900_000)
        txns.add_partitions("open", pid, epoch, [("t", 0)], 3)
        await trio.sleep(120)
        assert txns.describe("open").state == ONGOING

    run(ctx, scenario)


def test_a_failing_abort_is_logged_and_retried_until_it_succeeds(caplog):
    ctx = context()

    async def scenario(groups, txns):
        pid, epoch = await init(txns, "tx", timeout_ms=1000)
        txns.add_partitions("tx", pid, epoch, [("t", 0)], 3)
        ctx.fail = OSError(28, "No space left on device")
        with caplog.at_level(logging.ERROR, logger="kpy.coordinator"):
            await trio.sleep(10)
        assert txns.describe("tx").state == ONGOING  # nothing could be written
        assert len([r for r in caplog.records if "No space left" in r.getMessage()]) == 1
        ctx.fail = None
        await trio.sleep(30)
        assert txns.describe("tx").state == COMPLETE_ABORT
        assert ctx.markers == [("t", 0, records.CONTROL_ABORT)]

    run(ctx, scenario)


def test_end_txn_answers_once_prepared_and_the_markers_are_retried():
    """As in Kafka, EndTxn is answered once PrepareCommit is stored; markers that cannot be
    written yet are retried, and until then the id answers CONCURRENT_TRANSACTIONS."""
    ctx = context()

    async def scenario(groups, txns):
        pid, epoch = await init(txns, "tx")
        txns.add_partitions("tx", pid, epoch, [("t", 0)], 3)
        ctx.fail_markers = OSError(5, "Input/output error")
        txns.end_txn("tx", pid, epoch, True, 3)
        assert txns.describe("tx").state == PREPARE_COMMIT
        for request in (
            lambda: txns.add_partitions("tx", pid, epoch, [("t", 1)], 3),
            lambda: txns.end_txn("tx", pid, epoch, False, 3),
        ):
            with pytest.raises(KafkaError) as err:
                request()
            assert err.value.code == ErrorCode.CONCURRENT_TRANSACTIONS
        ctx.fail_markers = None
        await trio.sleep(2)
        assert txns.describe("tx").state == COMPLETE_COMMIT
        assert ctx.markers == [("t", 0, records.CONTROL_COMMIT)]
        txns.end_txn("tx", pid, epoch, True, 3)  # the client's retry succeeds

    run(ctx, scenario)


def test_a_failed_write_changes_nothing():
    ctx = context()

    async def scenario(groups, txns):
        pid, epoch = await init(txns, "tx")
        ctx.fail = OSError(5, "Input/output error")
        with pytest.raises(OSError):
            txns.add_partitions("tx", pid, epoch, [("t", 0)], 3)
        with pytest.raises(OSError):
            await init(txns, "tx")
        txn = txns.describe("tx")
        assert (txn.state, txn.partitions, txn.producer_epoch) == (EMPTY, set(), epoch)

    run(ctx, scenario)


def test_committed_transactional_offsets_reach_the_group():
    ctx = context()

    async def scenario(groups, txns):
        pid, epoch = await init(txns, "tx")
        await txns.add_offsets("tx", pid, epoch, "g", 3)
        assert OFFSETS_TOPIC in ctx.topics  # created for the group's partition
        txn = txns.check_offsets("tx", pid, epoch, "g", 3)
        txns.txn_offset_commit(txn, "g", {("t", 0): CommittedOffset(4, -1, None, ctx.now_ms())})
        assert groups.committed("g") == {}
        txns.end_txn("tx", pid, epoch, True, 3)
        assert groups.committed("g")[("t", 0)].offset == 4
        assert ctx.markers == [(OFFSETS_TOPIC, partition_for("g", 50), records.CONTROL_COMMIT)]

    run(ctx, scenario)


def test_transaction_records_old_kpy_misplaced_are_replayed():
    ctx = context()
    ctx.add(TRANSACTION_TOPIC, 50)

    async def old_kpy():
        # Written by a coordinator that put "txn-10" where masking the sign bit does: 10.
        groups, txns = coordinators(ctx)
        await txns.load()
        await init(txns, "txn-10")
        assert len(ctx.records(TRANSACTION_TOPIC)) == len(ctx.records(TRANSACTION_TOPIC, 38)) == 1
        ctx.batches[(TRANSACTION_TOPIC, 10)] = ctx.batches.pop((TRANSACTION_TOPIC, 38))

    async def restart():
        groups, txns = coordinators(ctx)
        await txns.load()
        txn = txns.describe("txn-10")
        assert txn is not None and txn.state == EMPTY
        assert len(ctx.records(TRANSACTION_TOPIC, 38)) == 1  # copied to Kafka's partition
        assert ctx.records(TRANSACTION_TOPIC, 10)[-1].value is None

    trio.run(old_kpy, clock=trio.testing.MockClock())
    trio.run(restart, clock=trio.testing.MockClock())


# -- the state table ------------------------------------------------------------------------------

KAFKA_TRANSITIONS = {  # (from, to) pairs Kafka 4.4's TransactionState allows
    (a, b) for b, previous in txn_state.TRANSITIONS.items() for a in previous
}


@pytest.mark.parametrize("old", sorted(txn_state.STATE_NAMES))
@pytest.mark.parametrize("new", sorted(txn_state.STATE_NAMES))
def test_only_the_tables_transitions_are_allowed(old, new):
    txn = TxnMetadata("tx", 1, 0, 1000, state=old)
    if (old, new) in KAFKA_TRANSITIONS:
        assert txn.transitioned(new).state == new and txn.state == old
    else:
        with pytest.raises(IllegalTransition):
            txn.transitioned(new)


def test_the_table_is_kafkas():
    t = txn_state
    assert t.TRANSITIONS[t.PREPARE_COMMIT] == {t.ONGOING}
    assert t.TRANSITIONS[t.COMPLETE_COMMIT] == {t.PREPARE_COMMIT}
    assert t.TRANSITIONS[t.COMPLETE_ABORT] == {t.PREPARE_ABORT}
    assert t.TRANSITIONS[t.DEAD] == {t.EMPTY, t.COMPLETE_COMMIT, t.COMPLETE_ABORT}
    assert t.TRANSITIONS[t.PREPARE_EPOCH_FENCE] == {t.ONGOING}
    assert t.TRANSITIONS[t.PREPARE_ABORT] == {
        t.ONGOING,
        t.PREPARE_EPOCH_FENCE,
        t.EMPTY,
        t.COMPLETE_COMMIT,
        t.COMPLETE_ABORT,
    }
    assert not any(t.DEAD in previous for previous in t.TRANSITIONS.values())
