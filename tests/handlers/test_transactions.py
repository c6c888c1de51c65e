"""The producer and transaction APIs against an in-process broker: InitProducerId (22),
AddPartitionsToTxn (24), AddOffsetsToTxn (25), EndTxn (26), TxnOffsetCommit (28),
DescribeProducers (61), DescribeTransactions (65) and ListTransactions (66)."""

from __future__ import annotations

import pytest

from kpy.protocol.error_codes import ErrorCode
from kpy.protocol.messages.add_offsets_to_txn import AddOffsetsToTxnRequest
from kpy.protocol.messages.add_partitions_to_txn import AddPartitionsToTxnRequest
from kpy.protocol.messages.describe_producers import DescribeProducersRequest
from kpy.protocol.messages.describe_transactions import DescribeTransactionsRequest
from kpy.protocol.messages.end_txn import EndTxnRequest
from kpy.protocol.messages.init_producer_id import InitProducerIdRequest
from kpy.protocol.messages.list_transactions import ListTransactionsRequest
from kpy.protocol.messages.txn_offset_commit import TxnOffsetCommitRequest
from kpy.testing import RawClient, in_process_broker
from tests.handlers.helpers import (
    batch,
    committed,
    create_topic,
    fetch,
    list_offset,
    produce,
    records_of,
)

pytestmark = pytest.mark.timeout(30)

AddTopic = AddPartitionsToTxnRequest.AddPartitionsToTxnTopic


class Producer:
    """A transactional producer speaking raw requests: its id and epoch, and the next sequence
    of each partition."""

    def __init__(self, client: RawClient, tid: str) -> None:
        self.c, self.tid = client, tid
        self.pid, self.epoch = -1, -1
        self.sequences: dict[tuple[str, int], int] = {}

    async def init(self, timeout_ms: int = 60_000, version: int = 5) -> int:
        request = InitProducerIdRequest(
            transactional_id=self.tid, transaction_timeout_ms=timeout_ms
        )
        answer = await self.c.send(request, version)
        if answer.error_code == 0:
            self.pid, self.epoch = answer.producer_id, answer.producer_epoch
            self.sequences.clear()
        return answer.error_code

    async def add(self, topic: str, *partitions: int, version: int = 3, epoch=None) -> list[int]:
        request = AddPartitionsToTxnRequest(
            v3_and_below_transactional_id=self.tid,
            v3_and_below_producer_id=self.pid,
            v3_and_below_producer_epoch=self.epoch if epoch is None else epoch,
            v3_and_below_topics=[AddTopic(name=topic, partitions=list(partitions))],
        )
        answer = await self.c.send(request, version)
        return [
            p.partition_error_code
            for t in answer.results_by_topic_v3_and_below
            for p in t.results_by_partition
        ]

    async def produce(self, topic: str, n: int = 1, partition: int = 0, version: int = 11):
        sequence = self.sequences.get((topic, partition), 0)
        data = batch(
            n,
            producer_id=self.pid,
            producer_epoch=self.epoch,
            base_sequence=sequence,
            is_transactional=True,
        )
        answer = await produce(
            self.c, topic, data, partition, version=version, transactional_id=self.tid
        )
        if answer.error_code == 0:
            self.sequences[(topic, partition)] = sequence + n
        return answer

    async def add_offsets(self, group: str, version: int = 4) -> int:
        request = AddOffsetsToTxnRequest(
            transactional_id=self.tid,
            producer_id=self.pid,
            producer_epoch=self.epoch,
            group_id=group,
        )
        return (await self.c.send(request, version)).error_code

    async def commit_offsets(
        self, group: str, offsets: dict[tuple[str, int], int], version: int = 4
    ) -> dict[tuple[str, int], int]:
        by_topic: dict[str, list] = {}
        for (t, p), o in offsets.items():
            by_topic.setdefault(t, []).append(
                TxnOffsetCommitRequest.TxnOffsetCommitRequestPartition(
                    partition_index=p, committed_offset=o
                )
            )
        request = TxnOffsetCommitRequest(
            transactional_id=self.tid,
            group_id=group,
            producer_id=self.pid,
            producer_epoch=self.epoch,
            topics=[
                TxnOffsetCommitRequest.TxnOffsetCommitRequestTopic(name=t, partitions=ps)
                for t, ps in by_topic.items()
            ],
        )
        answer = await self.c.send(request, version)
        return {
            (t.name, p.partition_index): p.error_code for t in answer.topics for p in t.partitions
        }

    async def end(self, commit: bool, version: int = 4, epoch=None) -> int:
        request = EndTxnRequest(
            transactional_id=self.tid,
            producer_id=self.pid,
            producer_epoch=self.epoch if epoch is None else epoch,
            committed=commit,
        )
        return (await self.c.send(request, version)).error_code


async def describe_txn(c, *tids: str):
    request = DescribeTransactionsRequest(transactional_ids=list(tids))
    return (await c.send(request, 0)).transaction_states


# -- InitProducerId -----------------------------------------------------------------------------


async def test_idempotent_producers_get_fresh_ids(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        answers = [
            await c.send(InitProducerIdRequest(transaction_timeout_ms=1), 5) for _ in range(3)
        ]
        ids = [a.producer_id for a in answers]
        assert [a.producer_epoch for a in answers] == [0, 0, 0]
        assert len(set(ids)) == 3 and all(i >= 0 for i in ids)
        assert b.broker.statistics()["producer_ids"]["next"] > max(ids)
        half = await c.send(InitProducerIdRequest(producer_id=ids[0], producer_epoch=-1), 5)
        assert (half.error_code, half.producer_id, half.producer_epoch) == (
            ErrorCode.INVALID_REQUEST,
            -1,
            -1,
        )
    # Never handed out twice, across a restart.
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        again = await c.send(InitProducerIdRequest(transaction_timeout_ms=1), 5)
        assert again.producer_id > max(ids)


async def test_transactional_init_bumps_the_epoch_and_checks_the_timeout(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        p = Producer(c, "tx")
        assert await p.init() == 0
        assert b.broker.metadata.get("__transaction_state").partitions == 3
        first = (p.pid, p.epoch)
        assert await p.init() == 0
        assert (p.pid, p.epoch) == (first[0], first[1] + 1)
        max_ms = b.broker.config.get("transaction.max.timeout.ms")
        assert await p.init(timeout_ms=0) == ErrorCode.INVALID_TRANSACTION_TIMEOUT
        assert await p.init(timeout_ms=max_ms + 1) == ErrorCode.INVALID_TRANSACTION_TIMEOUT
        assert await Producer(c, "").init() == ErrorCode.INVALID_REQUEST
        # v3+ may say which producer it was; a stale one is fenced.
        stale = InitProducerIdRequest(
            transactional_id="tx", transaction_timeout_ms=1000, producer_id=p.pid, producer_epoch=0
        )
        assert (await c.send(stale, 4)).error_code == ErrorCode.PRODUCER_FENCED
        assert (await c.send(stale, 3)).error_code == ErrorCode.INVALID_PRODUCER_EPOCH


# -- a whole transaction ------------------------------------------------------------------------


async def test_committed_records_become_stable_aborted_ones_are_listed(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t")
        p = Producer(c, "tx")
        await p.init()
        assert await p.add("t", 0) == [0]
        assert (await p.produce("t", 2)).base_offset == 0
        # Open: read_committed sees nothing past the last stable offset.
        part = await fetch(c, "t", 0, isolation_level=1)
        assert (part.high_watermark, part.last_stable_offset, bytes(part.records)) == (2, 0, b"")
        assert (await list_offset(c, "t", -1, isolation_level=1)).offset == 0
        (state,) = await describe_txn(c, "tx")
        assert (state.transaction_state, state.producer_id) == ("Ongoing", p.pid)
        assert [(t.topic, t.partitions) for t in state.topics] == [("t", [0])]
        assert await p.end(commit=True) == 0
        part = await fetch(c, "t", 0, isolation_level=1)
        assert (part.high_watermark, part.last_stable_offset) == (3, 3)  # and a marker
        assert records_of(part.records) == [(0, b"v0"), (1, b"v1")]
        assert part.aborted_transactions == []
        # A retry of the EndTxn that completed it is answered the same.
        assert await p.end(commit=True) == 0
        # An aborted transaction is listed for read_committed consumers to skip.
        await p.add("t", 0)
        await p.produce("t", 1)
        assert await p.end(commit=False) == 0
        part = await fetch(c, "t", 3, isolation_level=1)
        assert [(a.producer_id, a.first_offset) for a in part.aborted_transactions] == [(p.pid, 3)]
        assert (await describe_txn(c, "tx"))[0].transaction_state == "CompleteAbort"


async def test_transactional_produce_needs_the_partition_in_the_transaction(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t", 2)
        p = Producer(c, "tx")
        await p.init()
        assert (await p.produce("t")).error_code == ErrorCode.TRANSACTION_ABORTABLE
        assert (await p.produce("t", version=10)).error_code == ErrorCode.INVALID_TXN_STATE
        await p.add("t", 0)
        assert (await p.produce("t", partition=1)).error_code == ErrorCode.TRANSACTION_ABORTABLE
        old = Producer(c, "tx")
        old.pid, old.epoch = p.pid, p.epoch
        await p.init()  # fences ``old``
        assert (await old.produce("t")).error_code == ErrorCode.INVALID_PRODUCER_EPOCH


async def test_add_partitions_refusals(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t")
        p = Producer(c, "tx")
        await p.init()
        # Unknown partitions first, before the producer is looked at.
        request = AddPartitionsToTxnRequest(
            v3_and_below_transactional_id="tx",
            v3_and_below_producer_id=p.pid + 100,
            v3_and_below_producer_epoch=p.epoch,
            v3_and_below_topics=[AddTopic(name="t", partitions=[0, 5])],
        )
        answer = await c.send(request, 3)
        assert [
            (r.partition_index, r.partition_error_code)
            for r in answer.results_by_topic_v3_and_below[0].results_by_partition
        ] == [(0, ErrorCode.OPERATION_NOT_ATTEMPTED), (5, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)]
        request.v3_and_below_topics[0].partitions = [0]
        answer = await c.send(request, 3)
        code = answer.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code
        assert code == ErrorCode.INVALID_PRODUCER_ID_MAPPING
        assert await p.add("t", 0, epoch=p.epoch + 1) == [ErrorCode.PRODUCER_FENCED]
        assert await p.add("t", 0, epoch=p.epoch + 1, version=1) == [
            ErrorCode.INVALID_PRODUCER_EPOCH
        ]
        assert await Producer(c, "unknown").add("t", 0) == [ErrorCode.INVALID_PRODUCER_ID_MAPPING]
        assert (await describe_txn(c, "tx"))[0].transaction_state == "Empty"


async def test_verify_only_batches_from_v4(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t", 2)
        p = Producer(c, "tx")
        await p.init()
        await p.add("t", 0)
        request = AddPartitionsToTxnRequest(
            transactions=[
                AddPartitionsToTxnRequest.AddPartitionsToTxnTransaction(
                    transactional_id="tx",
                    producer_id=p.pid,
                    producer_epoch=p.epoch,
                    verify_only=True,
                    topics=[AddTopic(name="t", partitions=[0, 1])],
                )
            ]
        )
        answer = await c.send(request, 5)
        (result,) = answer.results_by_transaction
        assert [
            (r.partition_index, r.partition_error_code)
            for t in result.topic_results
            for r in t.results_by_partition
        ] == [(0, 0), (1, ErrorCode.TRANSACTION_ABORTABLE)]
        # Verifying adds nothing.
        assert [t.partitions for t in (await describe_txn(c, "tx"))[0].topics] == [[0]]


async def test_end_txn_refusals(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t")
        p = Producer(c, "tx")
        await p.init()
        assert await p.end(commit=False) == ErrorCode.INVALID_TXN_STATE  # nothing open
        assert await p.end(commit=True) == ErrorCode.INVALID_TXN_STATE
        await p.add("t", 0)
        assert await p.end(commit=True, epoch=p.epoch + 1) == ErrorCode.PRODUCER_FENCED
        assert await p.end(commit=True, epoch=p.epoch + 1, version=1) == (
            ErrorCode.INVALID_PRODUCER_EPOCH
        )
        assert await Producer(c, "unknown").end(commit=True) == (
            ErrorCode.INVALID_PRODUCER_ID_MAPPING
        )
        assert (await describe_txn(c, "tx"))[0].transaction_state == "Ongoing"


# -- offsets in a transaction -------------------------------------------------------------------


async def test_transactional_offsets_reach_the_group_on_commit_only(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t")
        p = Producer(c, "tx")
        await p.init()
        # Without AddOffsetsToTxn first.
        assert await p.commit_offsets("g", {("t", 0): 5}) == {
            ("t", 0): ErrorCode.TRANSACTION_ABORTABLE
        }
        assert await p.commit_offsets("g", {("t", 0): 5}, version=3) == {
            ("t", 0): ErrorCode.INVALID_TXN_STATE
        }
        assert await p.add_offsets("g") == 0
        assert await p.commit_offsets("g", {("t", 0): 5, ("t", 4): 1}) == {
            ("t", 4): ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            ("t", 0): 0,
        }
        assert await p.commit_offsets("", {("t", 0): 5}) == {("t", 0): ErrorCode.INVALID_GROUP_ID}
        assert await committed(c, "g") == {}
        assert await p.end(commit=True) == 0
        assert await committed(c, "g") == {("t", 0): (5, "")}
        await p.add_offsets("g")
        await p.commit_offsets("g", {("t", 0): 9})
        assert await p.end(commit=False) == 0
        assert await committed(c, "g") == {("t", 0): (5, "")}


# -- DescribeTransactions / ListTransactions / DescribeProducers --------------------------------


async def test_describe_and_list_transactions(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t")
        open_, idle = Producer(c, "open"), Producer(c, "idle")
        await open_.init(timeout_ms=30_000)
        await idle.init()
        await open_.add("t", 0)
        states = await describe_txn(c, "open", "nope", "")
        assert [(s.transactional_id, s.error_code) for s in states] == [
            ("open", 0),
            ("nope", ErrorCode.TRANSACTIONAL_ID_NOT_FOUND),
            ("", ErrorCode.INVALID_REQUEST),
        ]
        assert (states[0].transaction_timeout_ms, states[0].producer_epoch) == (30_000, 0)
        assert states[0].transaction_start_time_ms > 0

        async def listed(version: int = 1, **filters) -> tuple[list, list]:
            answer = await c.send(ListTransactionsRequest(**filters), version)
            found = sorted(
                (s.transactional_id, s.transaction_state) for s in answer.transaction_states
            )
            return found, answer.unknown_state_filters

        assert await listed() == ([("idle", "Empty"), ("open", "Ongoing")], [])
        assert await listed(state_filters=["ongoing", "Bogus", "Bogus"]) == (
            [("open", "Ongoing")],
            ["Bogus"],
        )
        assert await listed(producer_id_filters=[idle.pid]) == ([("idle", "Empty")], [])
        assert await listed(duration_filter=0) == ([("open", "Ongoing")], [])
        assert await listed(duration_filter=3_600_000) == ([], [])
        assert (await listed(version=0, duration_filter=-1))[0] == [
            ("idle", "Empty"),
            ("open", "Ongoing"),
        ]


async def test_describe_producers_of_a_partition(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t")
        idem = await c.send(InitProducerIdRequest(transaction_timeout_ms=1), 5)
        data = batch(3, producer_id=idem.producer_id, producer_epoch=0, base_sequence=0)
        await produce(c, "t", data)
        p = Producer(c, "tx")
        await p.init()
        await p.add("t", 0)
        txn_start = (await p.produce("t")).base_offset
        request = DescribeProducersRequest(
            topics=[
                DescribeProducersRequest.TopicRequest(name="t", partition_indexes=[0, 3]),
                DescribeProducersRequest.TopicRequest(name="bad name", partition_indexes=[0]),
            ]
        )
        answer = await c.send(request, 0)
        part, missing = answer.topics[0].partitions
        states = {
            s.producer_id: (s.producer_epoch, s.last_sequence, s.current_txn_start_offset)
            for s in part.active_producers
        }
        assert states == {idem.producer_id: (0, 2, -1), p.pid: (p.epoch, 0, txn_start)}
        assert missing.error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        assert answer.topics[1].partitions[0].error_code == ErrorCode.INVALID_TOPIC_EXCEPTION
