"""The transaction coordinator (KIP-98): transactional ids, their producer ids and epochs,
the partitions and groups of each open transaction, and the end of a transaction.

State lives in ``__transaction_state`` as Kafka's TransactionLog records (txn_log.py), one
record per transition; the last record of each id wins on replay. The topic is created on
first use (InitProducerId or FindCoordinator), in a worker thread, as Kafka does.

On one broker the markers of EndTxn are plain appends to local logs, so a transaction goes
from Ongoing through PrepareCommit/PrepareAbort to CompleteCommit/CompleteAbort within one
request; the Prepare states are only seen after a crash between the two records (completed
on start-up) or while a marker cannot be written (retried with the guard's backoff, see
runtime.py). States change as txn_state.py's table allows, each stored before it is applied.

Deadlines are timers, not periodic scans: a transaction open past its timeout is aborted at
that moment, an id idle for transactional.id.expiration.ms is forgotten at that moment (Kafka
checks every transaction.abort.timed.out.transaction.cleanup.interval.ms and
transaction.remove.expired.transaction.cleanup.interval.ms, so it may act up to an interval
later; kpy does not use those two settings).

Differences from Kafka, on purpose:
- Offsets of TxnOffsetCommit are held in memory until the commit (Kafka writes them as
  transactional records to ``__consumer_offsets``). An open transaction that includes a
  group is therefore aborted (with an epoch bump, fencing its producer) when the broker
  restarts, since its offsets are gone; other open transactions carry on.
- InitProducerId for an id whose transaction is still open aborts that transaction and
  answers in the same request, rather than answering CONCURRENT_TRANSACTIONS and waiting
  for the retry.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import trio

from kpy.coordinator import txn_log
from kpy.coordinator.offsets import OFFSETS_TOPIC, CommittedOffset, partition_for
from kpy.coordinator.runtime import Guard, create_internal, load_internal, trio_deadline
from kpy.coordinator.timers import Timers
from kpy.coordinator.txn_log import TRANSACTION_TOPIC
from kpy.coordinator.txn_state import (
    COMPLETE_ABORT,
    COMPLETE_COMMIT,
    COMPLETING,
    DEAD,
    EMPTY,
    IDLE,
    ONGOING,
    PREPARE_ABORT,
    PREPARE_COMMIT,
    PREPARE_EPOCH_FENCE,
    STATE_BY_NAME,
    STATE_NAMES,
    TxnMetadata,
)
from kpy.protocol import records
from kpy.protocol.error_codes import ErrorCode, KafkaError

if TYPE_CHECKING:
    from kpy.coordinator.runtime import CoordinatorContext, GroupOffsets

__all__ = ["TRANSACTION_TOPIC", "TransactionCoordinator", "TxnMetadata"]

log = logging.getLogger("kpy.coordinator")

MAX_EPOCH = 32767 - 1  # an epoch of Short.MAX_VALUE is never handed out

TopicPartition = tuple[str, int]


# Produce versions from which a client handles TRANSACTION_ABORTABLE (KIP-890); older ones get
# INVALID_TXN_STATE for a partition that is not in the transaction, as Kafka answers them.
ABORTABLE_PRODUCE_VERSION = 11


def fenced(version: int, first_version: int) -> int:
    """PRODUCER_FENCED for request versions that know it, INVALID_PRODUCER_EPOCH before."""
    return (
        ErrorCode.PRODUCER_FENCED if version >= first_version else ErrorCode.INVALID_PRODUCER_EPOCH
    )


class TransactionCoordinator:
    def __init__(self, ctx: CoordinatorContext, group_offsets: GroupOffsets) -> None:
        self.ctx = ctx
        self.group_offsets = group_offsets
        self.partitions = ctx.config("transaction.state.log.num.partitions")
        self.segment_bytes = ctx.config("transaction.state.log.segment.bytes")
        self.max_timeout_ms = ctx.config("transaction.max.timeout.ms")
        self.expiration_ms = ctx.config("transactional.id.expiration.ms")
        self.txns: dict[str, TxnMetadata] = {}
        self._topic_ready = False
        # Partitions whose marker is written, of transactions being completed (a retry
        # after a failure writes the others).
        self._marked: dict[str, set[TopicPartition]] = {}
        self.guard = Guard("transaction coordinator")
        self.timers = Timers(self.guard)

    def statistics(self) -> dict[str, int]:
        return {
            "transactional_ids": len(self.txns),
            "ongoing": sum(1 for t in self.txns.values() if t.state == ONGOING),
            **self.guard.statistics(),
        }

    # -- the __transaction_state topic ------------------------------------------------------------

    async def load(self) -> None:
        topic = self.ctx.topic(TRANSACTION_TOPIC)
        if topic is None:
            return
        self.partitions = topic.partitions
        self._topic_ready = True
        await load_internal(
            self.ctx, TRANSACTION_TOPIC, self.partitions, txn_log.transactional_id_of, self._apply
        )
        self._recover()
        for txn in self.txns.values():
            self._schedule(txn)
        log.info("loaded %d transactional ids from %s", len(self.txns), TRANSACTION_TOPIC)

    async def ensure_topic(self) -> None:
        """Create __transaction_state if it does not exist yet (its first use), in a worker
        thread; COORDINATOR_NOT_AVAILABLE (clients retry) if it cannot be created."""
        if self._topic_ready:
            return
        configs = {
            "cleanup.policy": "compact",
            "compression.type": "uncompressed",
            "min.insync.replicas": "1",
            "segment.bytes": str(self.segment_bytes),
        }
        self.partitions = await create_internal(
            self.ctx, TRANSACTION_TOPIC, self.partitions, configs
        )
        self._topic_ready = True

    def _apply(self, rec: records.Record) -> None:
        decoded = txn_log.decode(rec)
        if decoded is None:
            return
        tid, txn = decoded
        if txn is None:
            self.txns.pop(tid, None)
        else:
            self.txns[tid] = txn

    def _recover(self) -> None:
        """Finish what a crash interrupted (see the module docstring)."""
        for txn in list(self.txns.values()):
            try:
                if txn.state == PREPARE_EPOCH_FENCE:
                    self._transition(txn, PREPARE_ABORT)
                if txn.state in COMPLETING:
                    self._complete_or_retry(txn)
                elif txn.state == ONGOING and any(t == OFFSETS_TOPIC for t, _ in txn.partitions):
                    log.info("aborting %s: its offsets did not survive the restart", txn)
                    self._fence_and_abort(txn)
            except (KafkaError, OSError) as exc:
                # Still open: its timeout aborts it (a retry of the abort, with a backoff).
                self.guard.failed("recovering transactions", exc)

    def _store(self, txn: TxnMetadata) -> None:
        """Write ``txn`` to its partition (before it is applied or answered); raises
        KafkaError or OSError if it cannot be stored."""
        if not self._topic_ready:
            raise KafkaError(
                ErrorCode.COORDINATOR_NOT_AVAILABLE, f"{TRANSACTION_TOPIC} does not exist yet"
            )
        rec = txn_log.record_of(txn)
        batch = records.build_batch([rec], base_timestamp=txn.last_update_ms)
        partition = partition_for(txn.transactional_id, self.partitions)
        self.ctx.append_internal(TRANSACTION_TOPIC, partition, batch)

    def _transition(self, txn: TxnMetadata, state: int, **changes: Any) -> None:
        """Move ``txn`` to ``state`` as the table allows: stored first, then applied, so a
        failed write leaves it as it was."""
        new = txn.transitioned(state, last_update_ms=self.ctx.now_ms(), **changes)
        self._store(new)
        txn.apply(new)
        self._schedule(txn)

    # -- InitProducerId -----------------------------------------------------------------------------

    async def init_producer_id(self, ctx: Any, req: Any) -> tuple[int, int]:
        """The producer id and epoch for ``req`` (with a transactional id); raises the
        KafkaError Kafka answers with."""
        tid = req.transactional_id
        if not tid:
            raise KafkaError(ErrorCode.INVALID_REQUEST, "the transactional id is empty")
        if not 0 < req.transaction_timeout_ms <= self.max_timeout_ms:
            raise KafkaError(
                ErrorCode.INVALID_TRANSACTION_TIMEOUT,
                f"transaction timeout {req.transaction_timeout_ms} ms is outside "
                f"1-{self.max_timeout_ms} ms",
            )
        await self.ensure_topic()
        txn = self.txns.get(tid)
        expected_pid = getattr(req, "producer_id", -1)
        expected_epoch = getattr(req, "producer_epoch", -1)
        if txn is None:
            txn = TxnMetadata(tid, self.ctx.next_producer_id(), 0, 0)
            producer_id, epoch = txn.producer_id, 0
        else:
            if txn.state in COMPLETING:
                raise KafkaError(ErrorCode.CONCURRENT_TRANSACTIONS, f"{tid!r} is completing")
            if expected_pid >= 0 and (
                expected_pid != txn.producer_id or expected_epoch != txn.producer_epoch
            ):
                raise KafkaError(
                    fenced(ctx.api_version, 4),
                    f"producer {expected_pid} epoch {expected_epoch} is not the current one "
                    f"of {tid!r}",
                )
            if txn.state == ONGOING and not self._fence_and_abort(txn):
                # The abort is retried; so is this request, by the client.
                raise KafkaError(ErrorCode.CONCURRENT_TRANSACTIONS, f"{tid!r} is completing")
            producer_id, epoch = self._bumped(txn)
        self._transition(
            txn,
            EMPTY,
            producer_id=producer_id,
            producer_epoch=epoch,
            timeout_ms=req.transaction_timeout_ms,
            partitions=set(),
            pending_offsets={},
            start_ms=-1,
        )
        self.txns[tid] = txn
        return txn.producer_id, txn.producer_epoch

    def _bumped(self, txn: TxnMetadata) -> tuple[int, int]:
        """The producer id and epoch after an epoch bump."""
        if txn.producer_epoch >= MAX_EPOCH - 1:
            # Epoch exhausted: a new producer id, as Kafka does.
            return self.ctx.next_producer_id(), 0
        return txn.producer_id, txn.producer_epoch + 1

    def _fence_and_abort(self, txn: TxnMetadata) -> bool:
        """Abort ``txn`` with a bumped epoch, so that its producer is fenced everywhere;
        whether the abort completed (if not, it is retried)."""
        producer_id, epoch = self._bumped(txn)
        self._transition(txn, PREPARE_ABORT, producer_id=producer_id, producer_epoch=epoch)
        return self._complete_or_retry(txn)

    # -- checks shared by the transactional requests ------------------------------------------------

    def _check(self, tid: str, producer_id: int, epoch: int, version: int, fence_from: int):
        if not tid:
            raise KafkaError(ErrorCode.INVALID_REQUEST, "the transactional id is empty")
        txn = self.txns.get(tid)
        if txn is None:
            raise KafkaError(
                ErrorCode.INVALID_PRODUCER_ID_MAPPING, f"unknown transactional id {tid!r}"
            )
        if producer_id != txn.producer_id:
            raise KafkaError(
                ErrorCode.INVALID_PRODUCER_ID_MAPPING,
                f"producer id {producer_id} is not the id of {tid!r}",
            )
        if epoch != txn.producer_epoch:
            raise KafkaError(
                fenced(version, fence_from),
                f"epoch {epoch} of {tid!r} is not the current epoch {txn.producer_epoch}",
            )
        if txn.state in COMPLETING:
            raise KafkaError(ErrorCode.CONCURRENT_TRANSACTIONS, f"{tid!r} is completing")
        return txn

    def _add(self, txn: TxnMetadata, partitions: set[TopicPartition]) -> None:
        if txn.state != ONGOING:
            self._transition(
                txn,
                ONGOING,
                start_ms=self.ctx.now_ms(),
                partitions=set(partitions),
                pending_offsets={},
            )
        elif not partitions <= txn.partitions:
            self._transition(txn, ONGOING, partitions=txn.partitions | partitions)

    def check_produce(
        self, tid: str, topic: str, partition: int, header: Any, version: int
    ) -> None:
        """Produce (at ``version``) of a transactional batch: the partition must be in the open
        transaction."""
        if not header.is_transactional:
            return
        txn = self.txns.get(tid)
        if txn is None or txn.producer_id != header.producer_id:
            raise KafkaError(
                ErrorCode.INVALID_PRODUCER_ID_MAPPING,
                f"producer id {header.producer_id} is not the id of {tid!r}",
            )
        if header.producer_epoch < txn.producer_epoch:
            raise KafkaError(
                ErrorCode.INVALID_PRODUCER_EPOCH,
                f"epoch {header.producer_epoch} of {tid!r} is older than {txn.producer_epoch}",
            )
        if txn.state != ONGOING or (topic, partition) not in txn.partitions:
            raise KafkaError(
                ErrorCode.TRANSACTION_ABORTABLE
                if version >= ABORTABLE_PRODUCE_VERSION
                else ErrorCode.INVALID_TXN_STATE,
                f"{topic}-{partition} is not part of an ongoing transaction of {tid!r}",
            )

    # -- AddPartitionsToTxn / AddOffsetsToTxn / TxnOffsetCommit -------------------------------------

    def add_partitions(
        self,
        tid: str,
        producer_id: int,
        epoch: int,
        partitions: list[TopicPartition],
        version: int,
        verify_only: bool = False,
    ) -> dict[TopicPartition, int] | None:
        """None once the partitions are in the transaction; a code per distinct partition when
        some partition does not exist (UNKNOWN_TOPIC_OR_PARTITION, the others
        OPERATION_NOT_ATTEMPTED; before the producer is checked) or when ``verify_only``.
        Raises the KafkaError of a producer or transaction that refuses them."""
        unknown = {
            (t, p)
            for t, p in partitions
            if (m := self.ctx.topic(t)) is None or not 0 <= p < m.partitions
        }
        if unknown:
            return {
                tp: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                if tp in unknown
                else ErrorCode.OPERATION_NOT_ATTEMPTED
                for tp in partitions
            }
        txn = self._check(tid, producer_id, epoch, version, 2)
        if verify_only:
            # A partition outside the transaction means the producer must abort it.
            ok = txn.state == ONGOING
            return {
                tp: ErrorCode.NONE
                if ok and tp in txn.partitions
                else ErrorCode.TRANSACTION_ABORTABLE
                for tp in partitions
            }
        self._add(txn, set(partitions))
        return None

    def _offsets_partition(self, group: str) -> TopicPartition:
        return OFFSETS_TOPIC, self.group_offsets.offsets_partition(group)

    async def add_offsets(
        self, tid: str, producer_id: int, epoch: int, group: str, version: int
    ) -> None:
        # The group's offsets partition joins the transaction: __consumer_offsets must exist
        # (with its final partition count) before that partition is named.
        await self.group_offsets.ensure_topic()
        txn = self._check(tid, producer_id, epoch, version, 2)
        self._add(txn, {self._offsets_partition(group)})
        txn.pending_offsets.setdefault(group, {})

    def check_offsets(
        self, tid: str, producer_id: int, epoch: int, group: str, version: int
    ) -> TxnMetadata:
        """TxnOffsetCommit: the group's ``__consumer_offsets`` partition must be in the open
        transaction, as Kafka verifies a transactional write to it (before the group's own
        checks). TRANSACTION_ABORTABLE from v4, INVALID_TXN_STATE before."""
        # No version of TxnOffsetCommit knows PRODUCER_FENCED: an old epoch is
        # INVALID_PRODUCER_EPOCH, as the offsets partition would answer in Kafka.
        txn = self._check(tid, producer_id, epoch, version, 1 << 15)
        if txn.state != ONGOING or self._offsets_partition(group) not in txn.partitions:
            raise KafkaError(
                ErrorCode.TRANSACTION_ABORTABLE if version >= 4 else ErrorCode.INVALID_TXN_STATE,
                f"group {group} was not added to the transaction",
            )
        return txn

    def txn_offset_commit(
        self, txn: TxnMetadata, group: str, offsets: dict[TopicPartition, CommittedOffset]
    ) -> None:
        """Hold offsets of ``txn`` (checked by check_offsets) until it commits."""
        txn.pending_offsets.setdefault(group, {}).update(offsets)

    def forget_topic(self, topic: str) -> None:
        """Drop the pending offsets of a deleted topic from open transactions, so that
        committing them later cannot give the topic's next incarnation stale offsets."""
        for txn in self.txns.values():
            for offsets in txn.pending_offsets.values():
                for tp in [tp for tp in offsets if tp[0] == topic]:
                    del offsets[tp]

    # -- EndTxn ---------------------------------------------------------------------------------------

    def end_txn(self, tid: str, producer_id: int, epoch: int, commit: bool, version: int) -> None:
        txn = self.txns.get(tid)
        done = COMPLETE_COMMIT if commit else COMPLETE_ABORT
        if (
            txn is not None
            and txn.state == done
            and txn.producer_id == producer_id
            and txn.producer_epoch == epoch
        ):
            return  # a retry of the request that completed it
        txn = self._check(tid, producer_id, epoch, version, 2)
        if txn.state != ONGOING:
            if not commit and txn.state == EMPTY:
                raise KafkaError(ErrorCode.INVALID_TXN_STATE, f"{tid!r} has no transaction")
            raise KafkaError(
                ErrorCode.INVALID_TXN_STATE,
                f"cannot {'commit' if commit else 'abort'} {tid!r} in state "
                f"{STATE_NAMES[txn.state]}",
            )
        self._transition(txn, PREPARE_COMMIT if commit else PREPARE_ABORT)
        # Answered once the prepare record is stored, as in Kafka; markers that cannot be
        # written yet are retried.
        self._complete_or_retry(txn)

    def _complete(self, txn: TxnMetadata) -> None:
        """Write the markers, settle the groups' offsets and record the completed state;
        raises if part of it cannot be written (what was written is not written again)."""
        commit = txn.state == PREPARE_COMMIT
        now = self.ctx.now_ms()
        control = records.CONTROL_COMMIT if commit else records.CONTROL_ABORT
        marked = self._marked.setdefault(txn.transactional_id, set())
        for topic, partition in sorted(txn.partitions - marked):
            marker = records.build_control_batch(
                control,
                producer_id=txn.producer_id,
                producer_epoch=txn.producer_epoch,
                timestamp=now,
            )
            # False: deleted since it joined the transaction.
            self.ctx.append_marker(topic, partition, marker)
            marked.add((topic, partition))
        if commit:
            for group, offsets in txn.pending_offsets.items():
                self.group_offsets.apply_commit(group, offsets)
        self._transition(
            txn,
            COMPLETE_COMMIT if commit else COMPLETE_ABORT,
            pending_offsets={},
            partitions=set(),
        )
        del self._marked[txn.transactional_id]

    def _complete_or_retry(self, txn: TxnMetadata) -> bool:
        """Complete ``txn`` (in a Prepare state) now if possible, else on a timer with the
        guard's backoff; whether it completed now."""
        try:
            self._complete(txn)
            return True
        except (KafkaError, OSError) as exc:
            delay = self.guard.failed("completing transactions", exc)
        tid = txn.transactional_id
        self.timers.schedule(
            ("completing transactions", tid),
            trio.current_time() + delay,
            lambda now: self._retry_complete(tid),
        )
        return False

    def _retry_complete(self, tid: str) -> None:
        txn = self.txns.get(tid)
        if txn is not None and txn.state in COMPLETING:
            if txn.state == PREPARE_EPOCH_FENCE:
                self._transition(txn, PREPARE_ABORT)
            self._complete(txn)  # raises: the timer retries it after a backoff

    # -- deadlines: transaction timeouts and idle transactional ids -------------------------------

    async def run(self) -> None:
        """Fire the deadlines (for the broker's lifetime); failures are retried, never raised."""
        await self.guard.supervise("timers", self.timers.run)

    def _schedule(self, txn: TxnMetadata) -> None:
        """Keep the one deadline of ``txn``'s state: its timeout while it is open, its
        expiration while it is idle (each checked 1 ms past, as Kafka compares strictly)."""
        tid = txn.transactional_id
        if txn.state == ONGOING:
            self.timers.cancel(("transactional id expiration", tid))
            self.timers.schedule(
                ("transaction timeout", tid),
                trio_deadline(self.ctx, txn.start_ms + txn.timeout_ms + 1),
                lambda now: self._timed_out(tid),
            )
        elif txn.state in IDLE:
            self.timers.cancel(("transaction timeout", tid))
            self.timers.schedule(
                ("transactional id expiration", tid),
                trio_deadline(self.ctx, txn.last_update_ms + self.expiration_ms + 1),
                lambda now: self._expire(tid),
            )
        else:
            self.timers.cancel(("transaction timeout", tid))
            self.timers.cancel(("transactional id expiration", tid))

    def _timed_out(self, tid: str) -> None:
        txn = self.txns.get(tid)
        if txn is None or txn.state != ONGOING:
            return
        if self.ctx.now_ms() - txn.start_ms <= txn.timeout_ms:
            self._schedule(txn)  # the clocks drifted apart: not yet
            return
        log.info("aborting timed-out transaction of %s", tid)
        self._fence_and_abort(txn)  # raises if the prepare record cannot be stored: retried

    def _expire(self, tid: str) -> None:
        """Forget an id idle for transactional.id.expiration.ms (a tombstone in
        __transaction_state), as Kafka does."""
        txn = self.txns.get(tid)
        if txn is None or txn.state not in IDLE:
            return
        now = self.ctx.now_ms()
        if now - txn.last_update_ms <= self.expiration_ms:
            self._schedule(txn)
            return
        txn.transitioned(DEAD)  # checks the table
        batch = records.build_batch([txn_log.tombstone(tid)], base_timestamp=now)
        self.ctx.append_internal(TRANSACTION_TOPIC, partition_for(tid, self.partitions), batch)
        del self.txns[tid]
        log.info("expired transactional id %s", tid)

    # -- DescribeTransactions / ListTransactions --------------------------------------------------------

    def describe(self, tid: str) -> TxnMetadata | None:
        return self.txns.get(tid)

    def list(
        self, states: list[str], producer_ids: list[int], min_duration_ms: int
    ) -> list[TxnMetadata]:
        wanted = {STATE_BY_NAME.get(s.lower(), -1) for s in states}
        now = self.ctx.now_ms()
        return [
            t
            for t in self.txns.values()
            if (not states or t.state in wanted)
            and (not producer_ids or t.producer_id in producer_ids)
            and (
                min_duration_ms < 0 or (t.state == ONGOING and now - t.start_ms >= min_duration_ms)
            )
        ]
