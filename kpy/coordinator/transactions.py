"""The transaction coordinator (KIP-98): transactional ids, their producer ids and epochs,
the partitions and groups of each open transaction, and the end of a transaction.

State lives in ``__transaction_state`` as Kafka's TransactionLog records (key and value each
an int16 version followed by the struct), one record per transition, in partition
``abs(java_hash(transactional_id)) % transaction.state.log.num.partitions``; the last record
of each id wins on replay. The topic is created on first use, as Kafka does.

On one broker the markers of EndTxn are plain appends to local logs, so a transaction goes
from Ongoing through PrepareCommit/PrepareAbort to CompleteCommit/CompleteAbort within one
request; the Prepare states are only seen after a crash between the two records, and are
completed on start-up.

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
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import trio

from kpy.coordinator.offsets import OFFSETS_TOPIC, CommittedOffset, partition_for
from kpy.protocol import records
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.protocol.internal import (
    TransactionLogKey,
    TransactionLogValue,
    TransactionLogValue_PartitionsSchema,
)

if TYPE_CHECKING:
    from kpy.broker import Broker

log = logging.getLogger("kpy.coordinator")

TRANSACTION_TOPIC = "__transaction_state"
_VERSION = struct.Struct(">h")
KEY_VERSION = 0
VALUE_VERSION = 0
MAX_EPOCH = 32767 - 1  # an epoch of Short.MAX_VALUE is never handed out

# TransactionState ids as stored in TransactionLogValue.transaction_status.
EMPTY, ONGOING, PREPARE_COMMIT, PREPARE_ABORT, COMPLETE_COMMIT, COMPLETE_ABORT, DEAD = range(7)
PREPARE_EPOCH_FENCE = 7
STATE_NAMES = {
    EMPTY: "Empty",
    ONGOING: "Ongoing",
    PREPARE_COMMIT: "PrepareCommit",
    PREPARE_ABORT: "PrepareAbort",
    COMPLETE_COMMIT: "CompleteCommit",
    COMPLETE_ABORT: "CompleteAbort",
    DEAD: "Dead",
    PREPARE_EPOCH_FENCE: "PrepareEpochFence",
}
STATE_BY_NAME = {v.lower(): k for k, v in STATE_NAMES.items()}

TopicPartition = tuple[str, int]


@dataclass
class TxnMetadata:
    transactional_id: str
    producer_id: int
    producer_epoch: int
    timeout_ms: int
    state: int = EMPTY
    partitions: set[TopicPartition] = field(default_factory=set)
    start_ms: int = -1
    last_update_ms: int = -1
    # group id -> offsets of TxnOffsetCommit, applied to the group on commit
    pending_offsets: dict[str, dict[TopicPartition, CommittedOffset]] = field(default_factory=dict)


# Produce versions from which a client handles TRANSACTION_ABORTABLE (KIP-890); older ones get
# INVALID_TXN_STATE for a partition that is not in the transaction, as Kafka answers them.
ABORTABLE_PRODUCE_VERSION = 11


def fenced(version: int, first_version: int) -> int:
    """PRODUCER_FENCED for request versions that know it, INVALID_PRODUCER_EPOCH before."""
    return (
        ErrorCode.PRODUCER_FENCED if version >= first_version else ErrorCode.INVALID_PRODUCER_EPOCH
    )


class TransactionCoordinator:
    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        config = broker.config
        self.partitions = config.get("transaction.state.log.num.partitions")
        self.max_timeout_ms = config.get("transaction.max.timeout.ms")
        self.abort_interval_s = (
            config.get("transaction.abort.timed.out.transaction.cleanup.interval.ms") / 1000
        )
        self.expiration_ms = config.get("transactional.id.expiration.ms")
        self.expire_interval_s = (
            config.get("transaction.remove.expired.transaction.cleanup.interval.ms") / 1000
        )
        self.txns: dict[str, TxnMetadata] = {}
        self._topic_ready = False

    def statistics(self) -> dict[str, int]:
        return {
            "transactional_ids": len(self.txns),
            "ongoing": sum(1 for t in self.txns.values() if t.state == ONGOING),
        }

    def _now_ms(self) -> int:
        return int(self.broker.clock() * 1000)

    # -- the __transaction_state topic ------------------------------------------------------------

    async def load(self) -> None:
        topic = self.broker.metadata.get(TRANSACTION_TOPIC)
        if topic is None:
            return
        self.partitions = topic.partitions
        self._topic_ready = True
        await trio.to_thread.run_sync(self._replay)
        self._recover()
        log.info("loaded %d transactional ids from %s", len(self.txns), TRANSACTION_TOPIC)

    async def ensure_topic(self) -> None:
        """Create __transaction_state if it does not exist yet (its first use)."""
        if self._topic_ready:
            return
        topic = await self.broker.ensure_internal_topic(
            TRANSACTION_TOPIC,
            self.partitions,
            {
                "cleanup.policy": "compact",
                "compression.type": "uncompressed",
                "min.insync.replicas": "1",
                "segment.bytes": str(self.broker.config.get("transaction.state.log.segment.bytes")),
            },
        )
        self.partitions = topic.partitions
        self._topic_ready = True

    def _replay(self) -> None:
        for p in range(self.partitions):
            lg = self.broker.partition_log(TRANSACTION_TOPIC, p)
            for seg, pos, h in lg.batches(lg.log_start_offset):
                if h.is_control:
                    continue
                for rec in records.decode_records(lg.read_batch_bytes(seg, pos, h)):
                    self._apply(rec)

    def _apply(self, rec: records.Record) -> None:
        if rec.key is None or len(rec.key) < 2:
            return
        (kv,) = _VERSION.unpack_from(rec.key)
        if kv != 0:
            return
        key = TransactionLogKey.decode(rec.key[2:], kv)
        if rec.value is None:
            self.txns.pop(key.transactional_id, None)
            return
        (vv,) = _VERSION.unpack_from(rec.value)
        v = TransactionLogValue.decode(rec.value[2:], vv)
        self.txns[key.transactional_id] = TxnMetadata(
            key.transactional_id,
            v.producer_id,
            v.producer_epoch,
            v.transaction_timeout_ms,
            v.transaction_status,
            {(t.topic, p) for t in v.transaction_partitions or [] for p in t.partition_ids},
            v.transaction_start_timestamp_ms,
            v.transaction_last_update_timestamp_ms,
        )

    def _recover(self) -> None:
        """Finish what a crash interrupted (see the module docstring)."""
        for txn in list(self.txns.values()):
            if txn.state == PREPARE_COMMIT:
                self._complete(txn, commit=True)
            elif txn.state in (PREPARE_ABORT, PREPARE_EPOCH_FENCE):
                self._complete(txn, commit=False)
            elif txn.state == ONGOING and any(t == OFFSETS_TOPIC for t, _ in txn.partitions):
                log.info("aborting %s: its offsets did not survive the restart", txn)
                self._fence_and_abort(txn)

    def _write(self, txn: TxnMetadata) -> None:
        """Persist ``txn`` (before it is answered); raises KafkaError if the log is offline."""
        txn.last_update_ms = self._now_ms()
        by_topic: dict[str, list[int]] = {}
        for t, p in sorted(txn.partitions):
            by_topic.setdefault(t, []).append(p)
        value = TransactionLogValue(
            producer_id=txn.producer_id,
            producer_epoch=txn.producer_epoch,
            transaction_timeout_ms=txn.timeout_ms,
            transaction_status=txn.state,
            transaction_partitions=[
                TransactionLogValue_PartitionsSchema(topic=t, partition_ids=ps)
                for t, ps in by_topic.items()
            ],
            transaction_last_update_timestamp_ms=txn.last_update_ms,
            transaction_start_timestamp_ms=txn.start_ms,
        )
        key = _VERSION.pack(KEY_VERSION) + TransactionLogKey(
            transactional_id=txn.transactional_id
        ).encode(KEY_VERSION)
        rec = records.Record(key, _VERSION.pack(VALUE_VERSION) + value.encode(VALUE_VERSION), [])
        batch = records.build_batch([rec], base_timestamp=txn.last_update_ms)
        partition = partition_for(txn.transactional_id, self.partitions)
        self.broker.partition_log(TRANSACTION_TOPIC, partition).append(batch, leader_epoch=0)

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
            txn = TxnMetadata(tid, self.broker.producer_ids.next_id(), 0, 0)
        else:
            if txn.state in (PREPARE_COMMIT, PREPARE_ABORT, PREPARE_EPOCH_FENCE):
                raise KafkaError(ErrorCode.CONCURRENT_TRANSACTIONS, f"{tid!r} is completing")
            if expected_pid >= 0 and (
                expected_pid != txn.producer_id or expected_epoch != txn.producer_epoch
            ):
                raise KafkaError(
                    fenced(ctx.api_version, 4),
                    f"producer {expected_pid} epoch {expected_epoch} is not the current one "
                    f"of {tid!r}",
                )
            if txn.state == ONGOING:
                self._fence_and_abort(txn)
            self._bump_epoch(txn)
        txn.timeout_ms = req.transaction_timeout_ms
        txn.state = EMPTY
        txn.partitions = set()
        txn.pending_offsets = {}
        txn.start_ms = -1
        self._write(txn)
        self.txns[tid] = txn
        return txn.producer_id, txn.producer_epoch

    def _bump_epoch(self, txn: TxnMetadata) -> None:
        if txn.producer_epoch >= MAX_EPOCH - 1:
            # Epoch exhausted: a new producer id, as Kafka does.
            txn.producer_id = self.broker.producer_ids.next_id()
            txn.producer_epoch = 0
        else:
            txn.producer_epoch += 1

    def _fence_and_abort(self, txn: TxnMetadata) -> None:
        """Abort ``txn`` with a bumped epoch, so that its producer is fenced everywhere."""
        self._bump_epoch(txn)
        txn.state = PREPARE_ABORT
        self._write(txn)
        self._complete(txn, commit=False)

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
        if txn.state in (PREPARE_COMMIT, PREPARE_ABORT, PREPARE_EPOCH_FENCE):
            raise KafkaError(ErrorCode.CONCURRENT_TRANSACTIONS, f"{tid!r} is completing")
        return txn

    def _add(self, txn: TxnMetadata, partitions: set[TopicPartition]) -> None:
        changed = not partitions <= txn.partitions
        if txn.state != ONGOING:
            txn.state = ONGOING
            txn.start_ms = self._now_ms()
            txn.partitions = set()
            txn.pending_offsets = {}
            changed = True
        if changed:
            txn.partitions |= partitions
            self._write(txn)

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
            if (m := self.broker.metadata.get(t)) is None or not 0 <= p < m.partitions
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
        offsets_topic = self.broker.metadata.get(OFFSETS_TOPIC)
        return OFFSETS_TOPIC, partition_for(group, offsets_topic.partitions if offsets_topic else 1)

    def add_offsets(self, tid: str, producer_id: int, epoch: int, group: str, version: int) -> None:
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
        txn.state = PREPARE_COMMIT if commit else PREPARE_ABORT
        self._write(txn)
        self._complete(txn, commit=commit)

    def _complete(self, txn: TxnMetadata, *, commit: bool) -> None:
        """Write the markers, settle the groups' offsets and record the completed state."""
        now = self._now_ms()
        control = records.CONTROL_COMMIT if commit else records.CONTROL_ABORT
        for topic, partition in sorted(txn.partitions):
            lg = self.broker.logs.get_log(topic, partition)
            meta = self.broker.metadata.get(topic)
            if lg is None or meta is None:
                continue  # deleted since it joined the transaction
            marker = records.build_control_batch(
                control,
                producer_id=txn.producer_id,
                producer_epoch=txn.producer_epoch,
                timestamp=now,
            )
            lg.append(marker, leader_epoch=meta.leader_epochs[partition], origin="coordinator")
            self.broker.notify_append((topic, partition))
        if commit:
            for group, offsets in txn.pending_offsets.items():
                self.broker.groups.commit(group, offsets)
        txn.pending_offsets = {}
        txn.state = COMPLETE_COMMIT if commit else COMPLETE_ABORT
        txn.partitions = set()
        self._write(txn)

    # -- timeouts ---------------------------------------------------------------------------------------

    async def run(self) -> None:
        next_expiry = trio.current_time() + self.expire_interval_s
        while True:
            await trio.sleep(min(self.abort_interval_s, self.expire_interval_s))
            self.abort_timed_out()
            if trio.current_time() >= next_expiry:
                next_expiry = trio.current_time() + self.expire_interval_s
                self.expire_ids()

    def expire_ids(self) -> None:
        """Forget ids idle for transactional.id.expiration.ms with no open transaction
        (a tombstone in __transaction_state), as Kafka does."""
        now = self._now_ms()
        for txn in list(self.txns.values()):
            idle = txn.state in (EMPTY, COMPLETE_COMMIT, COMPLETE_ABORT)
            if idle and now - txn.last_update_ms > self.expiration_ms:
                key = _VERSION.pack(KEY_VERSION) + TransactionLogKey(
                    transactional_id=txn.transactional_id
                ).encode(KEY_VERSION)
                batch = records.build_batch([records.Record(key, None, [])], base_timestamp=now)
                partition = partition_for(txn.transactional_id, self.partitions)
                try:
                    self.broker.partition_log(TRANSACTION_TOPIC, partition).append(
                        batch, leader_epoch=0
                    )
                except (KafkaError, OSError):
                    log.exception("could not expire %s", txn.transactional_id)
                    continue
                del self.txns[txn.transactional_id]
                log.info("expired transactional id %s", txn.transactional_id)

    def abort_timed_out(self) -> None:
        now = self._now_ms()
        for txn in list(self.txns.values()):
            if txn.state == ONGOING and now - txn.start_ms > txn.timeout_ms:
                log.info("aborting timed-out transaction of %s", txn.transactional_id)
                try:
                    self._fence_and_abort(txn)
                except (KafkaError, OSError):
                    log.exception("could not abort %s", txn.transactional_id)

    # -- DescribeTransactions / ListTransactions --------------------------------------------------------

    def describe(self, tid: str) -> TxnMetadata | None:
        return self.txns.get(tid)

    def list(
        self, states: list[str], producer_ids: list[int], min_duration_ms: int
    ) -> list[TxnMetadata]:
        wanted = {STATE_BY_NAME.get(s.lower(), -1) for s in states}
        now = self._now_ms()
        return [
            t
            for t in self.txns.values()
            if (not states or t.state in wanted)
            and (not producer_ids or t.producer_id in producer_ids)
            and (
                min_duration_ms < 0 or (t.state == ONGOING and now - t.start_ms >= min_duration_ms)
            )
        ]
