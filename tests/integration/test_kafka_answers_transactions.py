"""Transaction requests answered as Apache Kafka 4.4 answers them, where the differential
harness found kpy answering otherwise; each test runs against kpy and the reference Kafka.

InitProducerId v3+ with only one of producer id and epoch is INVALID_REQUEST; an empty
transactional id is INVALID_REQUEST for AddPartitionsToTxn, AddOffsetsToTxn, EndTxn,
TxnOffsetCommit and DescribeTransactions; AddPartitionsToTxn and TxnOffsetCommit check the
topics before the producer (and TxnOffsetCommit the group id, then the transaction, then the
member); DescribeProducers refuses an illegal topic name."""

from __future__ import annotations

import uuid

import pytest

from conformance import raw
from conformance.wire import WireClient
from kpy.protocol.messages.add_offsets_to_txn import AddOffsetsToTxnRequest
from kpy.protocol.messages.add_partitions_to_txn import AddPartitionsToTxnRequest as APR
from kpy.protocol.messages.describe_producers import DescribeProducersRequest
from kpy.protocol.messages.describe_transactions import DescribeTransactionsRequest
from kpy.protocol.messages.end_txn import EndTxnRequest
from kpy.protocol.messages.find_coordinator import FindCoordinatorRequest
from kpy.protocol.messages.txn_offset_commit import TxnOffsetCommitRequest as TOR

NONE = 0
UNKNOWN_TOPIC_OR_PARTITION = 3
INVALID_TOPIC_EXCEPTION = 17
ILLEGAL_GENERATION = 22
INVALID_GROUP_ID = 24
INVALID_REQUEST = 42
INVALID_PRODUCER_EPOCH = 47
INVALID_TXN_STATE = 48
INVALID_PRODUCER_ID_MAPPING = 49
OPERATION_NOT_ATTEMPTED = 55
TRANSACTIONAL_ID_NOT_FOUND = 105
TRANSACTION_ABORTABLE = 120

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def wire(bootstrap):
    with WireClient(bootstrap) as w:
        yield w


@pytest.fixture
def txn(wire):
    """A topic of two partitions and a transactional producer: (topic, tid, pid, epoch)."""
    sfx = uuid.uuid4().hex[:10]
    topic, tid = f"dtxn-t-{sfx}", f"dtxn-x-{sfx}"
    raw.create_topic(wire, topic, partitions=2)
    raw.ask_coordinator(wire, FindCoordinatorRequest(key=tid, key_type=1), 3)
    ids = raw.init_producer_id(wire, tid)
    assert ids.error_code == NONE
    return topic, tid, ids.producer_id, ids.producer_epoch


def add_partitions(wire, tid, pid, epoch, topics, version=3):
    req = APR(
        v3_and_below_transactional_id=tid,
        v3_and_below_producer_id=pid,
        v3_and_below_producer_epoch=epoch,
        v3_and_below_topics=[
            APR.AddPartitionsToTxnTopic(name=n, partitions=ps) for n, ps in topics
        ],
    )
    resp = raw.ask_coordinator(
        wire,
        req,
        version,
        codes=lambda r: [
            p.partition_error_code
            for t in r.results_by_topic_v3_and_below
            for p in t.results_by_partition
        ],
    )
    return [
        (
            t.name,
            sorted((p.partition_index, p.partition_error_code) for p in t.results_by_partition),
        )
        for t in resp.results_by_topic_v3_and_below
    ]


def txn_offset_commit(wire, version, tid, group, pid, epoch, topics, **member):
    req = TOR(
        transactional_id=tid,
        group_id=group,
        producer_id=pid,
        producer_epoch=epoch,
        topics=[
            TOR.TxnOffsetCommitRequestTopic(
                name=n,
                partitions=[
                    TOR.TxnOffsetCommitRequestPartition(partition_index=p, committed_offset=1)
                    for p in ps
                ],
            )
            for n, ps in topics
        ],
        **member,
    )
    resp = raw.ask_coordinator(
        wire, req, version, codes=lambda r: [p.error_code for t in r.topics for p in t.partitions]
    )
    return [
        (t.name, [(p.partition_index, p.error_code) for p in t.partitions]) for t in resp.topics
    ]


@pytest.mark.parametrize(
    ("tid", "producer_id", "producer_epoch"),
    [(None, -1, 0), (None, 5, -1), ("given", -1, 3), ("given", 5, -1)],
)
def test_init_producer_id_with_half_of_id_and_epoch_is_invalid_request(
    wire, tid, producer_id, producer_epoch
):
    tid = tid and f"dtxn-x-{uuid.uuid4().hex[:10]}"
    resp = raw.init_producer_id(
        wire, tid, version=3, producer_id=producer_id, producer_epoch=producer_epoch
    )
    assert (resp.error_code, resp.producer_id, resp.producer_epoch) == (INVALID_REQUEST, -1, -1)
    if tid:
        # Refused before the coordinator: the id starts afresh at epoch 0.
        assert raw.init_producer_id(wire, tid, version=3).producer_epoch == 0


def test_empty_transactional_id_is_invalid_request(wire, txn):
    topic, _, pid, epoch = txn
    assert add_partitions(wire, "", pid, epoch, [(topic, [0])]) == [(topic, [(0, INVALID_REQUEST)])]
    aot = AddOffsetsToTxnRequest(
        transactional_id="", producer_id=pid, producer_epoch=epoch, group_id="dtxn-g"
    )
    assert raw.ask_coordinator(wire, aot, 3).error_code == INVALID_REQUEST
    end = EndTxnRequest(transactional_id="", producer_id=pid, producer_epoch=epoch, committed=True)
    assert raw.ask_coordinator(wire, end, 3).error_code == INVALID_REQUEST
    assert txn_offset_commit(wire, 3, "", "dtxn-g", pid, epoch, [(topic, [0])]) == [
        (topic, [(0, INVALID_REQUEST)])
    ]


def test_describe_transactions_empty_and_unknown_ids(wire):
    unknown = f"dtxn-none-{uuid.uuid4().hex[:10]}"
    resp = wire.send(DescribeTransactionsRequest(transactional_ids=["", unknown]), 0)
    got = {
        s.transactional_id: (
            s.error_code,
            s.transaction_state,
            s.producer_id,
            s.producer_epoch,
            s.transaction_start_time_ms,
        )
        for s in resp.transaction_states
    }
    assert got == {
        "": (INVALID_REQUEST, "", 0, 0, 0),
        unknown: (TRANSACTIONAL_ID_NOT_FOUND, "", 0, 0, 0),
    }


def test_add_partitions_checks_partitions_before_the_producer(wire, txn):
    topic, tid, pid, epoch = txn
    # An unknown partition (and an illegal topic) fail the request whatever the producer.
    for producer_id in (pid, pid + 1000):
        got = add_partitions(wire, tid, producer_id, epoch, [(topic, [0, 7]), ("bad name!", [0])])
        assert sorted(got) == [
            ("bad name!", [(0, UNKNOWN_TOPIC_OR_PARTITION)]),
            (topic, [(0, OPERATION_NOT_ATTEMPTED), (7, UNKNOWN_TOPIC_OR_PARTITION)]),
        ]
    assert add_partitions(wire, tid, pid + 1000, epoch, [(topic, [0])]) == [
        (topic, [(0, INVALID_PRODUCER_ID_MAPPING)])
    ]
    # One code for the transaction: the topics as asked, a topic named twice twice.
    assert add_partitions(wire, tid, pid, epoch, [(topic, [0]), (topic, [0, 1])]) == [
        (topic, [(0, NONE)]),
        (topic, [(0, NONE), (1, NONE)]),
    ]


def test_txn_offset_commit_order_of_checks(wire, txn):
    topic, tid, pid, epoch = txn
    group = f"dtxn-g-{uuid.uuid4().hex[:10]}"
    member = {"generation_id": 1, "member_id": "m"}
    # Unknown topics and partitions first; a topic with nothing left to commit is left out.
    got = txn_offset_commit(
        wire,
        3,
        tid,
        group,
        pid,
        epoch,
        [(topic, [0, 5]), ("bad name!", [0]), (topic, []), ("..", [])],
    )
    assert sorted((t, sorted(ps)) for t, ps in got) == [
        ("..", []),
        ("bad name!", [(0, UNKNOWN_TOPIC_OR_PARTITION)]),
        (topic, [(0, INVALID_TXN_STATE), (5, UNKNOWN_TOPIC_OR_PARTITION)]),
    ]
    assert txn_offset_commit(wire, 3, tid, group, pid, epoch, [(topic, [])]) == []
    # The group id, then the transactional id.
    assert txn_offset_commit(wire, 3, "", "", pid, epoch, [(topic, [0])]) == [
        (topic, [(0, INVALID_GROUP_ID)])
    ]
    # The producer and its transaction before the member.
    assert txn_offset_commit(wire, 3, tid, group, pid, epoch + 1, [(topic, [0])], **member) == [
        (topic, [(0, INVALID_PRODUCER_EPOCH)])
    ]
    for version, code in ((3, INVALID_TXN_STATE), (4, TRANSACTION_ABORTABLE)):
        assert txn_offset_commit(
            wire, version, tid, group, pid, epoch, [(topic, [0])], **member
        ) == [(topic, [(0, code)])]
    aot = AddOffsetsToTxnRequest(
        transactional_id=tid, producer_id=pid, producer_epoch=epoch, group_id=group
    )
    assert raw.ask_coordinator(wire, aot, 3).error_code == NONE
    assert txn_offset_commit(wire, 3, tid, group, pid, epoch, [(topic, [0])], **member) == [
        (topic, [(0, ILLEGAL_GENERATION)])
    ]
    # Accepted: the topics as asked, a topic named twice twice.
    assert txn_offset_commit(wire, 4, tid, group, pid, epoch, [(topic, [0, 0]), (topic, [1])]) == [
        (topic, [(0, NONE), (0, NONE)]),
        (topic, [(1, NONE)]),
    ]


def test_describe_producers_illegal_topic_name(wire):
    req = DescribeProducersRequest(
        topics=[DescribeProducersRequest.TopicRequest(name="bad name!", partition_indexes=[0, 1])]
    )
    parts = wire.send(req, 0).topics[0].partitions
    assert [(p.partition_index, p.error_code) for p in parts] == [
        (0, INVALID_TOPIC_EXCEPTION),
        (1, INVALID_TOPIC_EXCEPTION),
    ]
