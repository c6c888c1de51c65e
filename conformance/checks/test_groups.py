"""Consumer groups (classic protocol, KIP-848) and committed offsets."""

from __future__ import annotations

import time
import uuid

import pytest

from conformance import drivers
from conformance.raw import ask_coordinator, batch, create_topic, produce, unique
from kpy.protocol.messages.delete_groups import DeleteGroupsRequest
from kpy.protocol.messages.describe_groups import DescribeGroupsRequest
from kpy.protocol.messages.find_coordinator import FindCoordinatorRequest
from kpy.protocol.messages.heartbeat import HeartbeatRequest
from kpy.protocol.messages.join_group import JoinGroupRequest
from kpy.protocol.messages.leave_group import LeaveGroupRequest
from kpy.protocol.messages.list_groups import ListGroupsRequest
from kpy.protocol.messages.offset_commit import OffsetCommitRequest
from kpy.protocol.messages.offset_fetch import OffsetFetchRequest
from kpy.protocol.messages.sync_group import SyncGroupRequest

pytestmark = pytest.mark.area("groups")
PROTO = [
    JoinGroupRequest.JoinGroupRequestProtocol(name="range", metadata=b"\x00\x00\x00\x00\x00\x00")
]


def join(wire, group, member_id="", session=10000, version=9, instance=None):
    return ask_coordinator(
        wire,
        JoinGroupRequest(
            group_id=group,
            session_timeout_ms=session,
            rebalance_timeout_ms=5000,
            member_id=member_id,
            group_instance_id=instance,
            protocol_type="consumer",
            protocols=PROTO,
        ),
        version,
    )


def partition_codes(response):
    """The error codes of an OffsetCommit response's partitions."""
    return [p.error_code for t in response.topics for p in t.partitions]


def join_single(wire, group):
    first = join(wire, group)
    resp = join(wire, group, member_id=first.member_id)
    assert resp.error_code == 0
    sync = wire.send(
        SyncGroupRequest(
            group_id=group,
            generation_id=resp.generation_id,
            member_id=resp.member_id,
            protocol_type="consumer",
            protocol_name=resp.protocol_name,
            assignments=[
                SyncGroupRequest.SyncGroupRequestAssignment(
                    member_id=resp.member_id, assignment=b"\x00\x01"
                )
            ],
        ),
        5,
    )
    assert sync.error_code == 0 and sync.assignment == b"\x00\x01"
    return resp


@pytest.mark.kafka("KIP-699 FindCoordinator")
@pytest.mark.parametrize("version", list(range(0, 7)))
def test_find_coordinator(wire, version):
    """FindCoordinator names a broker for a group at every version (batched from v4)."""
    if version < 4:
        req = FindCoordinatorRequest(key="g", key_type=0)
    else:
        req = FindCoordinatorRequest(key_type=0, coordinator_keys=["g", "h"])
    if version < 4:
        resp = ask_coordinator(wire, req, version)
        assert resp.error_code == 0 and resp.port > 0
    else:
        resp = ask_coordinator(wire, req, version, lambda r: [c.error_code for c in r.coordinators])
        assert [c.key for c in resp.coordinators] == ["g", "h"] and all(
            c.error_code == 0 for c in resp.coordinators
        )


@pytest.mark.kafka("KIP-394")
def test_member_id_required(wire):
    """JoinGroup v4+ with no member id answers MEMBER_ID_REQUIRED with an id to use."""
    resp = join(wire, unique("g"))
    assert resp.error_code == 79 and resp.member_id


@pytest.mark.kafka("JoinGroup/SyncGroup")
def test_single_member_generation(wire):
    """A lone member becomes leader of generation 1 and gets the assignment it sent."""
    resp = join_single(wire, unique("g"))
    assert resp.leader == resp.member_id and resp.generation_id >= 1 and resp.members


@pytest.mark.kafka("group session timeouts")
def test_invalid_session_timeout(wire):
    """A session timeout outside the broker's bounds is INVALID_SESSION_TIMEOUT."""
    assert join(wire, unique("g"), session=1).error_code == 26


@pytest.mark.kafka("Heartbeat errors")
def test_heartbeat_errors(wire):
    """Unknown members are UNKNOWN_MEMBER_ID; wrong generations ILLEGAL_GENERATION."""
    group = unique("g")
    resp = join_single(wire, group)
    ok = wire.send(
        HeartbeatRequest(
            group_id=group, generation_id=resp.generation_id, member_id=resp.member_id
        ),
        4,
    )
    assert ok.error_code == 0
    assert (
        wire.send(
            HeartbeatRequest(group_id=group, generation_id=resp.generation_id, member_id="x"), 4
        ).error_code
        == 25
    )
    assert (
        wire.send(
            HeartbeatRequest(group_id=group, generation_id=99, member_id=resp.member_id), 4
        ).error_code
        == 22
    )


@pytest.mark.kafka("KIP-345 LeaveGroup batch")
def test_leave_group(wire):
    """LeaveGroup v3+ removes members; the group becomes Empty."""
    group = unique("g")
    resp = join_single(wire, group)
    out = wire.send(
        LeaveGroupRequest(
            group_id=group, members=[LeaveGroupRequest.MemberIdentity(member_id=resp.member_id)]
        ),
        5,
    )
    assert out.error_code == 0 and out.members[0].error_code == 0
    desc = wire.send(DescribeGroupsRequest(groups=[group]), 5).groups[0]
    assert desc.group_state == "Empty" and desc.members == []


@pytest.mark.kafka("DescribeGroups / ListGroups")
def test_describe_and_list(wire):
    """A stable group is described with its members and listed with its state."""
    group = unique("g")
    resp = join_single(wire, group)
    desc = wire.send(DescribeGroupsRequest(groups=[group]), 5).groups[0]
    assert desc.group_state == "Stable" and desc.protocol_type == "consumer"
    assert [m.member_id for m in desc.members] == [resp.member_id]
    assert desc.members[0].member_assignment == b"\x00\x01"
    listed = wire.send(ListGroupsRequest(states_filter=["Stable"]), 4)
    assert group in {g.group_id for g in listed.groups}


@pytest.mark.kafka("DeleteGroups")
def test_delete_groups(wire):
    """Groups with members are NON_EMPTY_GROUP; unknown ones GROUP_ID_NOT_FOUND."""
    group = unique("g")
    join_single(wire, group)
    unknown = unique("none")
    resp = ask_coordinator(
        wire,
        DeleteGroupsRequest(groups_names=[group, unknown]),
        2,
        lambda r: [g.error_code for g in r.results],
    )
    # Kafka answers per coordinator partition, so the results may come in another order.
    assert {r.group_id: r.error_code for r in resp.results} == {group: 68, unknown: 69}


@pytest.mark.area("committed-offsets")
@pytest.mark.kafka("OffsetCommit / OffsetFetch")
@pytest.mark.parametrize("version", [2, 5, 8, 9])
def test_standalone_commit_and_fetch(wire, version):
    """A consumer without a group membership commits offsets and reads them back."""
    name, group = unique("oc"), unique("g")
    create_topic(wire, name, 2)
    req = OffsetCommitRequest(
        group_id=group,
        generation_id_or_member_epoch=-1,
        member_id="",
        topics=[
            OffsetCommitRequest.OffsetCommitRequestTopic(
                name=name,
                partitions=[
                    OffsetCommitRequest.OffsetCommitRequestPartition(
                        partition_index=p, committed_offset=10 + p, committed_metadata="m"
                    )
                    for p in (0, 1)
                ],
            )
        ],
    )
    resp = ask_coordinator(wire, req, version, partition_codes)
    assert all(p.error_code == 0 for t in resp.topics for p in t.partitions)
    if version <= 7:
        got = (
            ask_coordinator(
                wire,
                OffsetFetchRequest(
                    group_id=group,
                    topics=[
                        OffsetFetchRequest.OffsetFetchRequestTopic(
                            name=name, partition_indexes=[0, 1]
                        )
                    ],
                ),
                7,
            )
            .topics[0]
            .partitions
        )
    else:
        got = (
            wire.send(
                OffsetFetchRequest(
                    groups=[OffsetFetchRequest.OffsetFetchRequestGroup(group_id=group, topics=None)]
                ),
                8,
            )
            .groups[0]
            .topics[0]
            .partitions
        )
    assert [(p.committed_offset, p.metadata) for p in got] == [(10, "m"), (11, "m")]


@pytest.mark.area("committed-offsets")
@pytest.mark.kafka("OffsetFetch")
def test_fetch_uncommitted_is_minus_one(wire):
    """A partition without a commit answers offset -1."""
    got = (
        ask_coordinator(
            wire,
            OffsetFetchRequest(
                group_id=unique("g"),
                topics=[
                    OffsetFetchRequest.OffsetFetchRequestTopic(
                        name=unique("t"), partition_indexes=[0]
                    )
                ],
            ),
            7,
        )
        .topics[0]
        .partitions[0]
    )
    assert got.committed_offset == -1


@pytest.mark.area("committed-offsets")
@pytest.mark.kafka("OffsetCommit generation checks")
def test_commit_with_wrong_generation(wire):
    """A member committing with another generation gets ILLEGAL_GENERATION."""
    name, group = unique("oc"), unique("g")
    create_topic(wire, name, 1)
    resp = join_single(wire, group)
    req = OffsetCommitRequest(
        group_id=group,
        generation_id_or_member_epoch=resp.generation_id + 5,
        member_id=resp.member_id,
        topics=[
            OffsetCommitRequest.OffsetCommitRequestTopic(
                name=name,
                partitions=[
                    OffsetCommitRequest.OffsetCommitRequestPartition(
                        partition_index=0, committed_offset=1
                    )
                ],
            )
        ],
    )
    assert wire.send(req, 8).topics[0].partitions[0].error_code == 22


@pytest.mark.kafka("consumer groups through clients")
@pytest.mark.parametrize("driver", ["confluent-kafka", "kafka-python", "aiokafka"])
def test_client_group_consumes_everything(bootstrap, wire, driver):
    """A client in a group consumes every record of a 3-partition topic."""
    name = unique("gc")
    create_topic(wire, name, 3)
    for p in range(3):
        produce(wire, name, batch(5), partition=p)
    got = drivers.consume(driver, bootstrap, name, 15, group=unique("g"))
    assert len(got) == 15


@pytest.mark.kafka("KIP-848 consumer protocol")
def test_kip848_consumer(bootstrap, wire):
    """A librdkafka consumer with group.protocol=consumer joins and consumes."""
    drivers.require("confluent-kafka")
    from confluent_kafka import Consumer

    name = unique("848")
    create_topic(wire, name, 2)
    produce(wire, name, batch(3))
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": unique("g"),
            "group.protocol": "consumer",
            "auto.offset.reset": "earliest",
        }
    )
    c.subscribe([name])
    got = []
    deadline = time.monotonic() + 15
    try:
        while len(got) < 3 and time.monotonic() < deadline:
            m = c.poll(0.3)
            if m is not None and not m.error():
                got.append(m)
    finally:
        c.close()
    assert len(got) == 3


def cg_heartbeat(wire, group, **fields):
    from kpy.protocol.messages.consumer_group_heartbeat import ConsumerGroupHeartbeatRequest

    return ask_coordinator(wire, ConsumerGroupHeartbeatRequest(group_id=group, **fields), 0)


def cg_join(wire, group, topics):
    """A new member's first ConsumerGroupHeartbeat (epoch 0), with the fields Kafka requires
    in it: the rebalance timeout, the subscription and an empty list of owned partitions."""
    return cg_heartbeat(
        wire,
        group,
        member_epoch=0,
        rebalance_timeout_ms=30000,
        subscribed_topic_names=topics,
        topic_partitions=[],
    )


@pytest.mark.kafka("KIP-848 ConsumerGroupHeartbeat join: member id, epoch 1, assignment")
def test_kip848_join_assigns_all_partitions(wire):
    name = unique("848j")
    create_topic(wire, name, 3)
    r = cg_join(wire, unique("g"), [name])
    assert r.error_code == 0 and r.member_id and r.member_epoch >= 1
    assert r.heartbeat_interval_ms > 0
    assert sorted(p for t in r.assignment.topic_partitions for p in t.partitions) == [0, 1, 2]


@pytest.mark.kafka("KIP-848 errors: invalid first heartbeat, unknown group or member, fenced epoch")
def test_kip848_member_errors(wire):
    """A first heartbeat without a rebalance timeout or with owned partitions is
    INVALID_REQUEST; a heartbeat past epoch 0 to a group that does not exist is
    GROUP_ID_NOT_FOUND, from a member the group does not know UNKNOWN_MEMBER_ID, with an
    epoch the member was never given FENCED_MEMBER_EPOCH; leaving (epoch -1) answers -1."""
    from kpy.protocol.error_codes import ErrorCode
    from kpy.protocol.messages.consumer_group_heartbeat import ConsumerGroupHeartbeatRequest

    name = unique("848e")
    create_topic(wire, name, 1)
    group = unique("g")
    r = cg_heartbeat(
        wire, group, member_epoch=0, subscribed_topic_names=[name], topic_partitions=[]
    )
    assert r.error_code == ErrorCode.INVALID_REQUEST
    owned = [ConsumerGroupHeartbeatRequest.TopicPartitions(topic_id=uuid.uuid4(), partitions=[0])]
    r = cg_heartbeat(
        wire,
        group,
        member_epoch=0,
        rebalance_timeout_ms=30000,
        subscribed_topic_names=[name],
        topic_partitions=owned,
    )
    assert r.error_code == ErrorCode.INVALID_REQUEST
    r = cg_heartbeat(wire, group, member_id="x", member_epoch=3)
    assert r.error_code == ErrorCode.GROUP_ID_NOT_FOUND
    r = cg_join(wire, group, [name])
    assert r.error_code == 0
    member = r.member_id
    r = cg_heartbeat(wire, group, member_id="x", member_epoch=3)
    assert r.error_code == ErrorCode.UNKNOWN_MEMBER_ID
    r = cg_heartbeat(wire, group, member_id=member, member_epoch=r.member_epoch + 5)
    assert r.error_code == ErrorCode.FENCED_MEMBER_EPOCH
    r = cg_heartbeat(wire, group, member_id=member, member_epoch=-1)
    assert r.error_code == 0 and r.member_epoch == -1


@pytest.mark.kafka("KIP-848 JoinGroup of another protocol type: INCONSISTENT_GROUP_PROTOCOL")
def test_kip848_classic_join_refused(wire):
    """A JoinGroup whose protocol type is not "consumer" cannot join a consumer group with
    members."""
    from kpy.protocol.error_codes import ErrorCode

    name = unique("848c")
    create_topic(wire, name, 1)
    group = unique("g")
    assert cg_join(wire, group, [name]).error_code == 0
    r = wire.send(
        JoinGroupRequest(
            group_id=group,
            session_timeout_ms=10000,
            rebalance_timeout_ms=5000,
            member_id="",
            protocol_type="connect",
            protocols=[JoinGroupRequest.JoinGroupRequestProtocol(name="default", metadata=b"")],
        ),
        9,
    )
    assert r.error_code == ErrorCode.INCONSISTENT_GROUP_PROTOCOL


@pytest.mark.kafka("KIP-848 ConsumerGroupDescribe and ListGroups type consumer")
def test_kip848_describe_and_list(wire):
    from kpy.protocol.messages.consumer_group_describe import ConsumerGroupDescribeRequest

    name = unique("848d")
    create_topic(wire, name, 2)
    group = unique("g")
    r = cg_join(wire, group, [name])
    assert r.error_code == 0
    d = wire.send(ConsumerGroupDescribeRequest(group_ids=[group]), 0).groups[0]
    assert d.error_code == 0 and [m.member_id for m in d.members] == [r.member_id]
    assert d.members[0].subscribed_topic_names == [name]
    listed = wire.send(ListGroupsRequest(types_filter=["consumer"]), 5).groups
    assert any(g.group_id == group and g.group_type == "consumer" for g in listed)


def _fetch_offsets(wire, group, topic=None):
    """{(topic, partition): offset} of one group from OffsetFetch v8: every committed offset,
    or those of ``topic``'s partitions 0 and 1."""
    topics = (
        None
        if topic is None
        else [OffsetFetchRequest.OffsetFetchRequestTopics(name=topic, partition_indexes=[0, 1])]
    )
    req = OffsetFetchRequest(
        groups=[OffsetFetchRequest.OffsetFetchRequestGroup(group_id=group, topics=topics)]
    )
    answer = wire.send(req, 8).groups[0]
    assert answer.error_code == 0
    return {
        (t.name, p.partition_index): p.committed_offset
        for t in answer.topics
        for p in t.partitions
        if p.error_code == 0
    }


@pytest.mark.area("committed-offsets")
@pytest.mark.kafka("deleting a topic removes its committed offsets from every group")
def test_deleted_topic_offsets_are_removed(wire):
    """After DeleteTopics, no group (empty, or with a member) keeps offsets of the topic: they
    are gone from the full OffsetFetch and an explicit one answers -1; other topics keep theirs
    and the groups stay."""
    from kpy.protocol.messages.delete_topics import DeleteTopicsRequest

    gone, kept = unique("del"), unique("keep")
    create_topic(wire, gone, 2)
    create_topic(wire, kept, 1)
    empty, active = unique("g"), unique("g")
    member = join_single(wire, active)
    for group, generation, member_id in (
        (empty, -1, ""),
        (active, member.generation_id, member.member_id),
    ):
        req = OffsetCommitRequest(
            group_id=group,
            generation_id_or_member_epoch=generation,
            member_id=member_id,
            topics=[
                OffsetCommitRequest.OffsetCommitRequestTopic(
                    name=name,
                    partitions=[
                        OffsetCommitRequest.OffsetCommitRequestPartition(
                            partition_index=p, committed_offset=5 + p
                        )
                        for p in partitions
                    ],
                )
                for name, partitions in ((gone, [0, 1]), (kept, [0]))
            ],
        )
        answer = ask_coordinator(wire, req, 8, partition_codes)
        assert all(p.error_code == 0 for t in answer.topics for p in t.partitions)
    resp = wire.send(DeleteTopicsRequest(topic_names=[gone], timeout_ms=10000), 5)
    assert resp.responses[0].error_code == 0
    # Kafka removes them once the deletion reaches its group coordinator, a moment later.
    deadline = time.monotonic() + 15
    while any((gone, 0) in _fetch_offsets(wire, g) for g in (empty, active)):
        assert time.monotonic() < deadline, "offsets of the deleted topic are still there"
        time.sleep(0.05)
    for group in (empty, active):
        assert _fetch_offsets(wire, group) == {(kept, 0): 5}
        assert _fetch_offsets(wire, group, gone) == {(gone, 0): -1, (gone, 1): -1}
    described = wire.send(DescribeGroupsRequest(groups=[empty, active]), 5).groups
    states = {g.group_id: (g.group_state, len(g.members)) for g in described}
    assert states == {empty: ("Empty", 0), active: ("Stable", 1)}
