"""Answers of Apache Kafka 4.4 that the differential harness found kpy giving otherwise, for
DescribeProducers, AddPartitionsToTxn and JoinGroup; run against kpy and the reference Kafka
where the test needs no restart.

DescribeProducers lists the coordinator epoch of the last transaction marker a producer's
transaction ended with (kept across a restart, from the snapshot or replayed from the log)."""

from __future__ import annotations

import pytest

from conformance import raw
from conformance.raw import batch, create_topic, unique, wait_for
from conformance.wire import WireClient
from kpy.protocol.messages.add_partitions_to_txn import AddPartitionsToTxnRequest as APR
from kpy.protocol.messages.describe_producers import DescribeProducersRequest
from kpy.protocol.messages.describe_transactions import DescribeTransactionsRequest
from kpy.protocol.messages.end_txn import EndTxnRequest
from kpy.protocol.messages.join_group import JoinGroupRequest

INVALID_PRODUCER_ID_MAPPING = 49
CONCURRENT_TRANSACTIONS = 51
MEMBER_ID_REQUIRED = 79
UNKNOWN_SERVER_ERROR = -1

pytestmark = pytest.mark.timeout(90)


def producers(wire, topic):
    req = DescribeProducersRequest(
        topics=[DescribeProducersRequest.TopicRequest(name=topic, partition_indexes=[0])]
    )
    resp = wire.send(req, 0)
    return {
        s.producer_id: (s.coordinator_epoch, s.current_txn_start_offset)
        for s in resp.topics[0].partitions[0].active_producers
    }


def committed_transaction(wire):
    """A topic with one committed transaction: (topic, producer id)."""
    topic, tid = unique("dlo-t"), unique("dlo-x")
    create_topic(wire, topic, 1)
    ids = raw.init_producer_id(wire, tid, version=3)
    pid, epoch = ids.producer_id, ids.producer_epoch
    add = APR(
        v3_and_below_transactional_id=tid,
        v3_and_below_producer_id=pid,
        v3_and_below_producer_epoch=epoch,
        v3_and_below_topics=[APR.AddPartitionsToTxnTopic(name=topic, partitions=[0])],
    )

    def codes(r):
        return [
            p.partition_error_code
            for t in r.results_by_topic_v3_and_below
            for p in t.results_by_partition
        ]

    assert codes(raw.ask_coordinator(wire, add, 3, codes=codes)) == [0]
    data = batch(2, producer_id=pid, producer_epoch=epoch, base_sequence=0, is_transactional=True)
    assert raw.produce(wire, topic, data, transactional_id=tid).error_code == 0
    assert producers(wire, topic) == {pid: (-1, 0)}
    end = EndTxnRequest(transactional_id=tid, producer_id=pid, producer_epoch=epoch, committed=True)
    assert raw.retry(lambda: wire.send(end, 3), errors={CONCURRENT_TRANSACTIONS}).error_code == 0
    # Kafka writes the marker after it answers EndTxn.
    wait_for(lambda: producers(wire, topic)[pid][1] == -1, "the commit marker")
    return topic, pid


def test_describe_producers_lists_the_markers_coordinator_epoch(bootstrap):
    with WireClient(bootstrap) as wire:
        topic, pid = committed_transaction(wire)
        assert producers(wire, topic) == {pid: (0, -1)}


def test_markers_coordinator_epoch_survives_restart(fresh_broker):
    with WireClient(fresh_broker.bootstrap) as wire:
        topic, pid = committed_transaction(wire)
    # A crash replays the marker from the log; a clean stop keeps it in the snapshot.
    for crash in (True, False):
        fresh_broker.restart(crash=crash)
        with WireClient(fresh_broker.bootstrap) as wire:
            assert producers(wire, topic) == {pid: (0, -1)}


def test_add_partitions_batch_naming_an_id_twice(bootstrap):
    """v4+ (broker to broker): each entry is answered with its own producer, but on the
    partitions of the id's last entry; one code repeats the topics of the id's first entry."""
    with WireClient(bootstrap) as wire:
        topic, tid = unique("dlo-t"), unique("dlo-x")
        create_topic(wire, topic, 3)
        ids = raw.init_producer_id(wire, tid, version=3)

        def entry(partitions, pid=ids.producer_id):
            return APR.AddPartitionsToTxnTransaction(
                transactional_id=tid,
                producer_id=pid,
                producer_epoch=ids.producer_epoch,
                topics=[APR.AddPartitionsToTxnTopic(name=topic, partitions=partitions)],
            )

        def add(*entries):
            resp = raw.ask_coordinator(wire, APR(transactions=list(entries)), 4)
            assert resp.error_code == 0
            return [
                (
                    r.transactional_id,
                    [
                        (p.partition_index, p.partition_error_code)
                        for t in r.topic_results
                        for p in t.results_by_partition
                    ],
                )
                for r in resp.results_by_transaction
            ]

        def in_transaction():
            resp = wire.send(DescribeTransactionsRequest(transactional_ids=[tid]), 0)
            return sorted(p for t in resp.transaction_states[0].topics for p in t.partitions)

        assert add(entry([0]), entry([1, 2])) == [(tid, [(0, 0)]), (tid, [(0, 0)])]
        assert in_transaction() == [1, 2]
        stranger = ids.producer_id + 1000
        assert add(entry([1]), entry([0], stranger)) == [
            (tid, [(1, 0)]),
            (tid, [(1, INVALID_PRODUCER_ID_MAPPING)]),
        ]
        assert in_transaction() == [0, 1, 2]


def join(wire, group, member_id, names):
    """A v5 JoinGroup of `group` listing the protocol `names`, asked again while the
    coordinator loads."""
    req = JoinGroupRequest(
        group_id=group,
        session_timeout_ms=10000,
        rebalance_timeout_ms=10000,
        member_id=member_id,
        protocol_type="consumer",
        protocols=[JoinGroupRequest.JoinGroupRequestProtocol(name=n) for n in names],
    )
    return raw.ask_coordinator(wire, req, 5)


def test_join_group_counts_a_protocol_listed_twice_twice(bootstrap):
    """Kafka counts the members' protocol names: one member listing 'range' twice makes its
    count 2 in a group of one, so 'range' is no candidate and 'roundrobin' is chosen."""
    names = ["range", "roundrobin", "range"]
    group = unique("dlo-g")
    with WireClient(bootstrap) as wire:
        first = join(wire, group, "", names)
        assert first.error_code == MEMBER_ID_REQUIRED
        joined = join(wire, group, first.member_id, names)
        assert (joined.error_code, joined.protocol_name) == (0, "roundrobin")


def test_join_group_rejoin_leaving_no_protocol_to_vote_for(bootstrap):
    """A member of a group of one rejoining with 'range' listed twice leaves no candidate:
    Kafka's vote fails inside the join, which it answers UNKNOWN_SERVER_ERROR (no member id)."""
    group = unique("dlo-g")
    with WireClient(bootstrap) as wire:
        member = join(wire, group, "", ["range"]).member_id
        joined = join(wire, group, member, ["range"])
        assert (joined.error_code, joined.generation_id) == (0, 1)
        refused = join(wire, group, member, ["range", "range"])
        assert (refused.error_code, refused.member_id, refused.generation_id) == (
            UNKNOWN_SERVER_ERROR,
            "",
            -1,
        )
