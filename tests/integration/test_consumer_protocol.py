"""The new consumer group protocol (KIP-848): librdkafka with group.protocol=consumer, and
raw ConsumerGroupHeartbeat / ConsumerGroupDescribe error paths."""

from __future__ import annotations

import time

from confluent_kafka import Consumer

from conformance.wire import WireClient
from kpy.protocol.error_codes import ErrorCode
from kpy.protocol.messages.consumer_group_describe import ConsumerGroupDescribeRequest
from kpy.protocol.messages.consumer_group_heartbeat import ConsumerGroupHeartbeatRequest
from kpy.protocol.messages.delete_groups import DeleteGroupsRequest
from kpy.protocol.messages.join_group import JoinGroupRequest
from kpy.protocol.messages.list_groups import ListGroupsRequest
from kpy.protocol.messages.offset_commit import OffsetCommitRequest
from tests.integration.helpers import wait_for
from tests.integration.test_groups import make_topic, produce


def consumer(bootstrap, group, **extra):
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "group.protocol": "consumer",
            "auto.offset.reset": "earliest",
            **extra,
        }
    )


def poll_all(consumers, seconds=0.2):
    for c in consumers:
        c.poll(seconds)


def assignments(consumers):
    return [{(tp.topic, tp.partition) for tp in c.assignment()} for c in consumers]


def covers(consumers, topic, n):
    got = assignments(consumers)
    union = set().union(*got)
    disjoint = sum(len(a) for a in got) == len(union)
    return disjoint and union == {(topic, p) for p in range(n)} and all(got)


def test_members_split_partitions_and_rebalance(broker, topic_name):
    make_topic(broker.bootstrap, topic_name, 6)
    group = f"g-{topic_name}"
    members = [consumer(broker.bootstrap, group) for _ in range(3)]
    try:
        for c in members:
            c.subscribe([topic_name])

        def settled(cs):
            poll_all(cs)
            return covers(cs, topic_name, 6)

        wait_for(lambda: settled(members), timeout=30, message="3 members cover 6 partitions")
        assert sorted(len(a) for a in assignments(members)) == [2, 2, 2]
        # A graceful leave hands the partitions to the others.
        members.pop().close()
        wait_for(lambda: settled(members), timeout=30, message="2 members cover 6 partitions")
        # A new member takes its share.
        members.append(consumer(broker.bootstrap, group))
        members[-1].subscribe([topic_name])
        wait_for(lambda: settled(members), timeout=30, message="3 members again")
    finally:
        for c in members:
            c.close()


def test_commit_and_resume(broker, topic_name):
    make_topic(broker.bootstrap, topic_name, 2)
    produce(broker.bootstrap, topic_name, 40, 2)
    group = f"g-{topic_name}"
    c = consumer(broker.bootstrap, group, **{"enable.auto.commit": False})
    c.subscribe([topic_name])
    seen = []
    deadline = time.monotonic() + 30
    while len(seen) < 20 and time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is not None and not m.error():
            seen.append(m.value())
            c.commit(message=m, asynchronous=False)
    c.close()
    assert len(seen) == 20
    produce(broker.bootstrap, topic_name, 0, 2)
    c2 = consumer(broker.bootstrap, group)
    c2.subscribe([topic_name])
    rest = []
    deadline = time.monotonic() + 30
    while len(rest) < 20 and time.monotonic() < deadline:
        m = c2.poll(0.2)
        if m is not None and not m.error():
            rest.append(m.value())
    c2.close()
    assert sorted(seen + rest, key=int) == [str(i).encode() for i in range(40)]


def hb(wire, group, **fields):
    if fields.get("member_epoch") == 0:
        # What Kafka requires of a (re-)join, unless the test says otherwise.
        fields.setdefault("rebalance_timeout_ms", 30_000)
        fields.setdefault("topic_partitions", [])
    req = ConsumerGroupHeartbeatRequest(group_id=group, **fields)
    return wire.send(req, 0)


def test_heartbeat_error_paths(broker, topic_name):
    make_topic(broker.bootstrap, topic_name, 3)
    group = f"g-{topic_name}"
    with WireClient(broker.bootstrap) as wire:
        r = hb(wire, group, member_id="nobody", member_epoch=5)
        assert r.error_code == ErrorCode.GROUP_ID_NOT_FOUND
        r = hb(wire, group, member_epoch=0, subscribed_topic_names=None)
        assert r.error_code == ErrorCode.INVALID_REQUEST
        r = hb(
            wire,
            group,
            member_epoch=0,
            subscribed_topic_names=[topic_name],
            rebalance_timeout_ms=5000,
            topic_partitions=[],
            server_assignor="sticky",
        )
        assert r.error_code == ErrorCode.UNSUPPORTED_ASSIGNOR
        r = hb(
            wire,
            group,
            member_epoch=0,
            subscribed_topic_names=[topic_name],
            rebalance_timeout_ms=5000,
            topic_partitions=[],
        )
        assert r.error_code == 0 and r.member_id and r.member_epoch == 2
        assert r.heartbeat_interval_ms == 5000
        assert sorted(r.assignment.topic_partitions[0].partitions) == [0, 1, 2]
        member, epoch = r.member_id, r.member_epoch
        r = hb(wire, group, member_id="nobody", member_epoch=5)
        assert r.error_code == ErrorCode.UNKNOWN_MEMBER_ID
        r = hb(wire, group, member_id=member, member_epoch=epoch + 7)
        assert r.error_code == ErrorCode.FENCED_MEMBER_EPOCH
        # OffsetCommit checks the member epoch.
        commit = OffsetCommitRequest(
            group_id=group,
            generation_id_or_member_epoch=epoch + 1,
            member_id=member,
            topics=[
                OffsetCommitRequest.OffsetCommitRequestTopic(
                    name=topic_name,
                    partitions=[
                        OffsetCommitRequest.OffsetCommitRequestPartition(
                            partition_index=0, committed_offset=0
                        )
                    ],
                )
            ],
        )
        r = wire.send(commit, 9)
        assert r.topics[0].partitions[0].error_code == ErrorCode.STALE_MEMBER_EPOCH
        commit.generation_id_or_member_epoch = epoch
        r = wire.send(commit, 9)
        assert r.topics[0].partitions[0].error_code == 0
        # A JoinGroup of another protocol type than "consumer" is refused by a consumer group.
        join = JoinGroupRequest(
            group_id=group,
            session_timeout_ms=10000,
            rebalance_timeout_ms=10000,
            member_id="",
            protocol_type="connect",
            protocols=[JoinGroupRequest.JoinGroupRequestProtocol(name="default", metadata=b"")],
        )
        r = wire.send(join, 9)
        assert r.error_code == ErrorCode.INCONSISTENT_GROUP_PROTOCOL
        # Listed as a consumer group, described by ConsumerGroupDescribe.
        r = wire.send(ListGroupsRequest(types_filter=["consumer"]), 5)
        listed = {g.group_id: g for g in r.groups}
        assert listed[group].group_type == "consumer"
        r = wire.send(ConsumerGroupDescribeRequest(group_ids=[group, "no-such-group"]), 0)
        described, missing = r.groups
        assert described.error_code == 0 and described.group_epoch == 2
        assert described.assignor_name == "uniform"
        assert [m.member_id for m in described.members] == [member]
        assert missing.error_code == ErrorCode.GROUP_ID_NOT_FOUND
        # Leaving with epoch -1 empties the group.
        r = hb(wire, group, member_id=member, member_epoch=-1)
        assert r.error_code == 0 and r.member_epoch == -1
        r = wire.send(ConsumerGroupDescribeRequest(group_ids=[group]), 0)
        assert r.groups[0].group_state == "Empty" and not r.groups[0].members


def test_revocation_before_reassignment(broker, topic_name):
    make_topic(broker.bootstrap, topic_name, 2)
    group = f"g-{topic_name}"
    with WireClient(broker.bootstrap) as wire:
        a = hb(
            wire, group, member_epoch=0, subscribed_topic_names=[topic_name], topic_partitions=[]
        )
        tid = a.assignment.topic_partitions[0].topic_id
        owned = [ConsumerGroupHeartbeatRequest.TopicPartitions(topic_id=tid, partitions=[0, 1])]
        hb(wire, group, member_id=a.member_id, member_epoch=2, topic_partitions=owned)
        b = hb(
            wire, group, member_epoch=0, subscribed_topic_names=[topic_name], topic_partitions=[]
        )
        # B waits: A still owns both partitions.
        assert b.member_epoch == 3 and b.assignment.topic_partitions == []
        r = hb(wire, group, member_id=a.member_id, member_epoch=2, topic_partitions=owned)
        assert r.member_epoch == 2
        assert [tp.partitions for tp in r.assignment.topic_partitions] == [[0]]
        # A acknowledges the revocation; then B gets partition 1.
        owned[0].partitions = [0]
        r = hb(wire, group, member_id=a.member_id, member_epoch=2, topic_partitions=owned)
        assert r.member_epoch == 3
        r = hb(wire, group, member_id=b.member_id, member_epoch=3, topic_partitions=[])
        assert [tp.partitions for tp in r.assignment.topic_partitions] == [[1]]


def test_classic_group_with_members_refuses_heartbeat(broker, topic_name):
    make_topic(broker.bootstrap, topic_name, 1)
    group = f"g-{topic_name}"
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group})
    c.subscribe([topic_name])
    try:
        with WireClient(broker.bootstrap) as wire:

            def classic_stable():
                c.poll(0.2)
                return bool(c.assignment())

            wait_for(classic_stable, timeout=30, message="classic member assigned")
            r = hb(wire, group, member_epoch=0, subscribed_topic_names=[topic_name])
            assert r.error_code == ErrorCode.GROUP_ID_NOT_FOUND
    finally:
        c.close()


def test_group_outlives_a_restart_without_its_members(fresh_broker, topic_name):
    """The group and its epoch are stored; members are not: after a restart a member's
    heartbeat is UNKNOWN_MEMBER_ID (it rejoins), not GROUP_ID_NOT_FOUND (fatal to clients)."""
    make_topic(fresh_broker.bootstrap, topic_name, 2)
    group = f"g-{topic_name}"
    with WireClient(fresh_broker.bootstrap) as wire:
        a = hb(wire, group, member_epoch=0, subscribed_topic_names=[topic_name])
        b = hb(wire, group, member_epoch=0, subscribed_topic_names=[topic_name])
        assert (a.error_code, b.error_code, b.member_epoch) == (0, 0, 3)
    fresh_broker.restart()
    with WireClient(fresh_broker.bootstrap) as wire:
        described = wire.send(ConsumerGroupDescribeRequest(group_ids=[group]), 0).groups[0]
        assert (described.error_code, described.group_state) == (0, "Empty")
        assert described.group_epoch == 3 and not described.members
        r = hb(wire, group, member_id=a.member_id, member_epoch=a.member_epoch)
        assert r.error_code == ErrorCode.UNKNOWN_MEMBER_ID
        r = hb(wire, group, member_epoch=0, subscribed_topic_names=[topic_name])
        assert r.error_code == 0 and r.member_epoch == 4
        # Deleted once empty: gone after the next restart too.
        assert hb(wire, group, member_id=r.member_id, member_epoch=-1).error_code == 0
        assert wire.send(DeleteGroupsRequest(groups_names=[group]), 2).results[0].error_code == 0
    fresh_broker.restart()
    with WireClient(fresh_broker.bootstrap) as wire:
        r = hb(wire, group, member_id=a.member_id, member_epoch=a.member_epoch)
        assert r.error_code == ErrorCode.GROUP_ID_NOT_FOUND


def test_consumer_keeps_consuming_across_a_restart(fresh_broker, topic_name):
    make_topic(fresh_broker.bootstrap, topic_name, 2)
    produce(fresh_broker.bootstrap, topic_name, 10, 2)
    c = consumer(fresh_broker.bootstrap, f"g-{topic_name}")
    c.subscribe([topic_name])
    seen, errors = [], []

    def consumed(n):
        m = c.poll(0.2)
        if m is not None and m.error():
            errors.append(m.error())
        elif m is not None:
            seen.append(m.value())
        return len(seen) >= n

    try:
        wait_for(lambda: consumed(10), timeout=30, message="the first 10 records")
        c.commit(asynchronous=False)
        fresh_broker.restart()
        produce(fresh_broker.bootstrap, topic_name, 10, 2)
        wait_for(lambda: consumed(20), timeout=60, message="the 10 records after the restart")
    finally:
        c.close()
    assert not [e for e in errors if e.fatal()]
    assert sorted(seen, key=int) == sorted([str(i).encode() for i in range(10)] * 2, key=int)


def test_classic_join_takes_over_an_empty_consumer_group(broker, topic_name):
    make_topic(broker.bootstrap, topic_name, 1)
    group = f"g-{topic_name}"
    with WireClient(broker.bootstrap) as wire:
        r = hb(wire, group, member_epoch=0, subscribed_topic_names=[topic_name])
        assert hb(wire, group, member_id=r.member_id, member_epoch=-1).error_code == 0
        join = JoinGroupRequest(
            group_id=group,
            session_timeout_ms=10000,
            rebalance_timeout_ms=10000,
            member_id="",
            protocol_type="consumer",
            protocols=[JoinGroupRequest.JoinGroupRequestProtocol(name="range", metadata=b"")],
        )
        assert wire.send(join, 9).error_code == ErrorCode.MEMBER_ID_REQUIRED
        listed = {g.group_id: g.group_type for g in wire.send(ListGroupsRequest(), 5).groups}
        assert listed[group] == "classic"
