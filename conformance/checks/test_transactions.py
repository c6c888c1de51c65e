"""Transactions (KIP-98): transactional producers and read_committed consumers."""

from __future__ import annotations

import pytest

from conformance import drivers
from conformance.raw import (
    ask_coordinator,
    batch,
    create_topic,
    fetch,
    first_partition,
    init_producer_id,
    list_offsets_request,
    produce,
    unique,
    wait_for,
)
from kpy.protocol.messages.add_partitions_to_txn import AddPartitionsToTxnRequest
from kpy.protocol.messages.describe_transactions import DescribeTransactionsRequest
from kpy.protocol.messages.end_txn import EndTxnRequest
from kpy.protocol.messages.list_transactions import ListTransactionsRequest

pytestmark = pytest.mark.area("transactions")


@pytest.mark.kafka("KIP-98 transactions")
def test_committed_transaction_visible(bootstrap, wire):
    """Records of a committed transaction reach read_committed consumers."""
    drivers.require("confluent-kafka")
    from confluent_kafka import Producer

    name = unique("txn")
    create_topic(wire, name, 1)
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": unique("tid")})
    p.init_transactions(10)
    p.begin_transaction()
    p.produce(name, value=b"in-txn")
    p.commit_transaction(10)
    got = drivers.consume("confluent-kafka", bootstrap, name, 1, timeout=10)
    assert [v for _, v, _ in got] == [b"in-txn"]


@pytest.mark.kafka("KIP-98 transactions")
def test_aborted_transaction_invisible(bootstrap, wire):
    """Records of an aborted transaction never reach read_committed consumers."""
    drivers.require("confluent-kafka")
    from confluent_kafka import Consumer, Producer, TopicPartition

    name = unique("txn")
    create_topic(wire, name, 1)
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": unique("tid")})
    p.init_transactions(10)
    p.begin_transaction()
    p.produce(name, value=b"aborted")
    p.flush(10)  # abort_transaction drops records not yet sent; these must reach the log
    p.abort_transaction(10)
    p.begin_transaction()
    p.produce(name, value=b"kept")
    p.commit_transaction(10)
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": unique("g"),
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest",
        }
    )
    c.assign([TopicPartition(name, 0, 0)])
    msg = c.poll(10)
    c.close()
    assert msg is not None and msg.value() == b"kept"


# -- raw requests ---------------------------------------------------------------------------------

INVALID_PRODUCER_EPOCH = 47
INVALID_TXN_STATE = 48
INVALID_TRANSACTION_TIMEOUT = 50
CONCURRENT_TRANSACTIONS = 51
PRODUCER_FENCED = 90
TRANSACTION_ABORTABLE = 120


def init_pid(wire, tid, timeout_ms=60_000, version=3):
    return init_producer_id(wire, tid, timeout_ms, version)


def add_partitions(wire, tid, pid, epoch, topic, partitions=(0,), version=3):
    req = AddPartitionsToTxnRequest(
        v3_and_below_transactional_id=tid,
        v3_and_below_producer_id=pid,
        v3_and_below_producer_epoch=epoch,
        v3_and_below_topics=[
            AddPartitionsToTxnRequest.AddPartitionsToTxnTopic(name=topic, partitions=partitions)
        ],
    )
    resp = wire.send(req, version)
    return [
        r.partition_error_code
        for t in resp.results_by_topic_v3_and_below
        for r in t.results_by_partition
    ]


def end_txn(wire, tid, pid, epoch, commit, version=3):
    req = EndTxnRequest(
        transactional_id=tid, producer_id=pid, producer_epoch=epoch, committed=commit
    )
    return wire.send(req, version).error_code


def end_txn_settled(wire, tid, pid, epoch, commit):
    """EndTxn, retried while the coordinator is still completing the previous EndTxn
    (CONCURRENT_TRANSACTIONS: Kafka writes the markers after answering), as clients retry."""
    codes = []

    def answered():
        codes.append(end_txn(wire, tid, pid, epoch, commit))
        return codes[-1] != CONCURRENT_TRANSACTIONS

    wait_for(answered, f"EndTxn of {tid} to be answered without CONCURRENT_TRANSACTIONS")
    return codes[-1]


def txn_batch(pid, epoch, seq=0, n=2):
    return batch(n, producer_id=pid, producer_epoch=epoch, base_sequence=seq, is_transactional=True)


def latest(wire, topic, isolation):
    req = list_offsets_request(topic, {0: -1}, isolation_level=isolation)
    return wire.send(req, 7).topics[0].partitions[0].offset


@pytest.mark.kafka("KIP-98 InitProducerId")
def test_init_producer_id_bumps_epoch(wire):
    """Each InitProducerId for a transactional id keeps the producer id and bumps the epoch."""
    tid = unique("tid")
    first = init_pid(wire, tid)
    second = init_pid(wire, tid)
    assert first.error_code == second.error_code == 0
    assert second.producer_id == first.producer_id
    assert second.producer_epoch == first.producer_epoch + 1


@pytest.mark.kafka("KIP-98 transaction.max.timeout.ms")
def test_transaction_timeout_above_max(wire):
    """A transaction timeout above transaction.max.timeout.ms is INVALID_TRANSACTION_TIMEOUT."""
    resp = init_pid(wire, unique("tid"), timeout_ms=900_001)
    assert resp.error_code == INVALID_TRANSACTION_TIMEOUT


@pytest.mark.kafka("KIP-98 / KIP-588 producer fencing")
@pytest.mark.parametrize("version,code", [(1, INVALID_PRODUCER_EPOCH), (3, PRODUCER_FENCED)])
def test_old_epoch_is_fenced(wire, version, code):
    """After a newer InitProducerId the old epoch is fenced (PRODUCER_FENCED from v2)."""
    name = unique("txn")
    create_topic(wire, name, 1)
    tid = unique("tid")
    old = init_pid(wire, tid)
    init_pid(wire, tid)
    assert add_partitions(
        wire, tid, old.producer_id, old.producer_epoch, name, version=version
    ) == [code]


@pytest.mark.kafka("KIP-98 transactional produce, KIP-890 TRANSACTION_ABORTABLE")
@pytest.mark.parametrize(
    "version,code", [(9, INVALID_TXN_STATE), (11, TRANSACTION_ABORTABLE)], ids=["v9", "v11"]
)
def test_produce_outside_transaction_partitions(wire, version, code):
    """A transactional batch for a partition not added to the transaction is refused:
    INVALID_TXN_STATE before Produce v11, TRANSACTION_ABORTABLE from it."""
    name = unique("txn")
    create_topic(wire, name, 1)
    tid = unique("tid")
    ids = init_pid(wire, tid)
    data = txn_batch(ids.producer_id, ids.producer_epoch)
    assert produce_txn(wire, name, tid, data, version).error_code == code


def produce_txn(wire, topic, tid, data, version=9):
    return produce(wire, topic, data, version=version, transactional_id=tid)


@pytest.mark.kafka("KIP-98 EndTxn")
def test_end_txn_without_transaction(wire):
    """EndTxn when no transaction is open is INVALID_TXN_STATE."""
    tid = unique("tid")
    ids = init_pid(wire, tid)
    assert end_txn(wire, tid, ids.producer_id, ids.producer_epoch, True) == INVALID_TXN_STATE


@pytest.mark.kafka("KIP-98 last stable offset, aborted transactions")
def test_raw_abort_lso_and_aborted_list(wire):
    """An open transaction holds the LSO (Fetch and ListOffsets); after the abort,
    read_committed Fetch lists the aborted transaction and the LSO passes the marker."""
    name = unique("txn")
    create_topic(wire, name, 1)
    tid = unique("tid")
    ids = init_pid(wire, tid)
    pid, epoch = ids.producer_id, ids.producer_epoch
    assert add_partitions(wire, tid, pid, epoch, name) == [0]
    assert produce_txn(wire, name, tid, txn_batch(pid, epoch)).error_code == 0
    part = first_partition(fetch(wire, name, 0, isolation_level=1))
    assert (part.high_watermark, part.last_stable_offset) == (2, 0)
    assert len(part.records) == 0
    assert (latest(wire, name, 1), latest(wire, name, 0)) == (0, 2)
    assert end_txn(wire, tid, pid, epoch, False) == 0

    # Kafka writes the marker after it answers EndTxn; readers see it a moment later.
    def marked():
        part = first_partition(fetch(wire, name, 0, isolation_level=1))
        return part if part.high_watermark > 2 else None

    part = wait_for(marked, "the abort marker")
    assert (part.high_watermark, part.last_stable_offset) == (3, 3)
    assert [(a.producer_id, a.first_offset) for a in part.aborted_transactions] == [(pid, 0)]
    assert latest(wire, name, 1) == 3
    # A retried EndTxn of the same outcome succeeds; the other outcome does not.
    assert end_txn_settled(wire, tid, pid, epoch, False) == 0
    assert end_txn_settled(wire, tid, pid, epoch, True) == INVALID_TXN_STATE


@pytest.mark.kafka("KIP-890 AddPartitionsToTxn v4 batched, verify_only")
def test_add_partitions_batched_verify_only(wire):
    """v4+ carries several transactions; verify_only reports whether partitions are in them
    (TRANSACTION_ABORTABLE for those that are not)."""
    name = unique("txn")
    create_topic(wire, name, 2)
    tid = unique("tid")
    ids = init_pid(wire, tid)
    assert add_partitions(wire, tid, ids.producer_id, ids.producer_epoch, name) == [0]
    T = AddPartitionsToTxnRequest
    req = T(
        transactions=[
            T.AddPartitionsToTxnTransaction(
                transactional_id=tid,
                producer_id=ids.producer_id,
                producer_epoch=ids.producer_epoch,
                verify_only=True,
                topics=[T.AddPartitionsToTxnTopic(name=name, partitions=[0, 1])],
            )
        ]
    )
    resp = wire.send(req, 4)
    assert resp.error_code == 0
    (result,) = resp.results_by_transaction
    codes = {
        r.partition_index: r.partition_error_code
        for r in result.topic_results[0].results_by_partition
    }
    assert codes == {0: 0, 1: TRANSACTION_ABORTABLE}


@pytest.mark.kafka("KIP-664 DescribeTransactions / ListTransactions")
def test_describe_and_list_transactions(wire):
    """An open transaction is described as Ongoing with its partitions and listed by state."""
    name = unique("txn")
    create_topic(wire, name, 1)
    tid = unique("tid")
    ids = init_pid(wire, tid)
    add_partitions(wire, tid, ids.producer_id, ids.producer_epoch, name)
    resp = ask_coordinator(
        wire,
        DescribeTransactionsRequest(transactional_ids=[tid, unique("none")]),
        0,
        lambda r: [t.error_code for t in r.transaction_states],
    )
    found, missing = resp.transaction_states
    assert (found.error_code, found.transaction_state, found.producer_id) == (
        0,
        "Ongoing",
        ids.producer_id,
    )
    assert [(t.topic, list(t.partitions)) for t in found.topics] == [(name, [0])]
    assert missing.error_code == 105  # TRANSACTIONAL_ID_NOT_FOUND
    listed = wire.send(ListTransactionsRequest(state_filters=["Ongoing", "Bogus"]), 1)
    assert tid in {t.transactional_id for t in listed.transaction_states}
    assert list(listed.unknown_state_filters) == ["Bogus"]
    end_txn(wire, tid, ids.producer_id, ids.producer_epoch, False)


@pytest.mark.kafka("KIP-664 DescribeProducers")
def test_describe_producers_shows_open_transaction(wire):
    """A producer with an open transaction on a partition shows where it started; the
    marker clears it."""
    from kpy.protocol.messages.describe_producers import DescribeProducersRequest as R

    name = unique("txn")
    create_topic(wire, name, 1)
    tid = unique("tid")
    ids = init_pid(wire, tid)
    pid, epoch = ids.producer_id, ids.producer_epoch
    add_partitions(wire, tid, pid, epoch, name)
    produce_txn(wire, name, tid, txn_batch(pid, epoch))

    def start_offsets():
        resp = wire.send(R(topics=[R.TopicRequest(name=name, partition_indexes=[0])]), 0)
        return {
            s.producer_id: s.current_txn_start_offset
            for s in resp.topics[0].partitions[0].active_producers
        }

    assert start_offsets() == {pid: 0}
    assert end_txn(wire, tid, pid, epoch, True) == 0
    # Kafka writes the marker after it answers EndTxn.
    wait_for(lambda: start_offsets() == {pid: -1}, "the commit marker to close the transaction")
