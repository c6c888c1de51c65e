"""The classic group APIs answered as Apache Kafka 4.4 answers them, where the differential
harness (conformance/differential.py) found kpy answering otherwise. Each test runs against
kpy and the reference broker (``kafka_reference``)."""

from __future__ import annotations

import uuid

import pytest

from conformance.raw import ask_coordinator, create_topic
from conformance.wire import WireClient
from kpy.protocol.messages.describe_groups import DescribeGroupsRequest
from kpy.protocol.messages.heartbeat import HeartbeatRequest
from kpy.protocol.messages.join_group import JoinGroupRequest
from kpy.protocol.messages.leave_group import LeaveGroupRequest
from kpy.protocol.messages.offset_commit import OffsetCommitRequest
from kpy.protocol.messages.offset_delete import OffsetDeleteRequest
from kpy.protocol.messages.offset_fetch import OffsetFetchRequest as OF
from kpy.protocol.messages.sync_group import SyncGroupRequest

NONE = 0
UNKNOWN_TOPIC_OR_PARTITION = 3
ILLEGAL_GENERATION = 22
INCONSISTENT_GROUP_PROTOCOL = 23
INVALID_GROUP_ID = 24
UNKNOWN_MEMBER_ID = 25
GROUP_ID_NOT_FOUND = 69

OC = OffsetCommitRequest
OCT = OC.OffsetCommitRequestTopic
OCP = OC.OffsetCommitRequestPartition

pytestmark = pytest.mark.timeout(60)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def commit(wire, group, generation, topics, version, member_id=""):
    req = OC(
        group_id=group,
        generation_id_or_member_epoch=generation,
        member_id=member_id,
        topics=topics,
    )
    answer = ask_coordinator(
        wire, req, version, codes=lambda a: [p.error_code for t in a.topics for p in t.partitions]
    )
    return [
        (t.name, [(p.partition_index, p.error_code) for p in t.partitions]) for t in answer.topics
    ]


def join_single(wire, group):
    """Join ``group`` as its only member (v9: asked for a member id first) and sync."""
    protocols = [JoinGroupRequest.JoinGroupRequestProtocol(name="range", metadata=b"\x00\x00" * 3)]

    def join(member_id):
        req = JoinGroupRequest(
            group_id=group,
            session_timeout_ms=10000,
            rebalance_timeout_ms=5000,
            member_id=member_id,
            protocol_type="consumer",
            protocols=protocols,
        )
        return ask_coordinator(wire, req, 9)

    joined = join(join("").member_id)
    assert joined.error_code == NONE
    sync = SyncGroupRequest(
        group_id=group,
        generation_id=joined.generation_id,
        member_id=joined.member_id,
        protocol_type="consumer",
        protocol_name=joined.protocol_name,
        assignments=[],
    )
    assert wire.send(sync, 5).error_code == NONE
    return joined


def parts(*indexes):
    return [OCP(partition_index=i, committed_offset=1) for i in indexes]


@pytest.mark.parametrize("version", [2, 8, 9])
def test_offset_commit_checks_topics_before_the_group(bootstrap, version):
    """Unknown topics and partitions are UNKNOWN_TOPIC_OR_PARTITION whatever the group, listed
    first; the group's error goes only to the partitions that exist; an existing topic named
    without partitions is left out, an unknown one listed."""
    with WireClient(bootstrap) as wire:
        topic, missing, group = unique("dg-t"), unique("dg-missing"), unique("dg-g")
        create_topic(wire, topic, 2)
        group_error = ILLEGAL_GENERATION if version < 9 else GROUP_ID_NOT_FOUND
        assert commit(
            wire,
            group,
            3,
            [OCT(name=topic, partitions=parts(0, 5)), OCT(name=missing, partitions=parts(0))],
            version,
        ) == [(topic, [(5, UNKNOWN_TOPIC_OR_PARTITION), (0, group_error)]), (missing, [(0, 3)])]
        # Nothing left for the group: it is not asked.
        assert commit(wire, group, 3, [OCT(name=missing, partitions=parts(0))], version) == [
            (missing, [(0, UNKNOWN_TOPIC_OR_PARTITION)])
        ]
        assert commit(
            wire,
            group,
            -1,
            [
                OCT(name=topic, partitions=parts(0, 7)),
                OCT(name="bad name!", partitions=parts(0)),
                OCT(name=topic, partitions=[]),
                OCT(name=missing, partitions=[]),
            ],
            version,
        ) == [
            (topic, [(7, UNKNOWN_TOPIC_OR_PARTITION), (0, NONE)]),
            ("bad name!", [(0, UNKNOWN_TOPIC_OR_PARTITION)]),
            (missing, []),
        ]


def test_offset_commit_topic_named_twice(bootstrap):
    """With every partition known the group's answer is sent as is (a topic named twice is
    answered twice); with an unknown one, the answers of a topic are merged into one."""
    with WireClient(bootstrap) as wire:
        topic, group = unique("dg-t"), unique("dg-g")
        create_topic(wire, topic, 2)
        twice = [OCT(name=topic, partitions=parts(0)), OCT(name=topic, partitions=parts(1))]
        assert commit(wire, group, -1, twice, 8) == [(topic, [(0, NONE)]), (topic, [(1, NONE)])]
        twice.append(OCT(name=topic, partitions=parts(4)))
        assert commit(wire, group, -1, twice, 8) == [
            (topic, [(4, UNKNOWN_TOPIC_OR_PARTITION), (0, NONE), (1, NONE)])
        ]


@pytest.mark.parametrize("version", [2, 9])
def test_offset_commit_to_group_id_empty(bootstrap, version):
    """Kafka takes commits to the group id '' (kept for old clients) like any other group's:
    a simple commit is accepted, a member's is checked against the group."""
    with WireClient(bootstrap) as wire:
        topic = unique("dg-t")
        create_topic(wire, topic, 1)
        assert commit(wire, "", -1, [OCT(name=topic, partitions=parts(0))], version) == [
            (topic, [(0, NONE)])
        ]
        assert commit(wire, "", 3, [OCT(name=topic, partitions=parts(0))], version) == [
            (topic, [(0, UNKNOWN_MEMBER_ID)])
        ]


def test_offset_fetch_group_id_empty(bootstrap):
    """OffsetFetch v8+ answers the group id '' like any other group (Kafka keeps it for old
    clients), with what was committed to it."""
    with WireClient(bootstrap) as wire:
        topic = unique("dg-t")
        create_topic(wire, topic, 2)
        assert commit(wire, "", -1, [OCT(name=topic, partitions=parts(0))], 8) == [
            (topic, [(0, NONE)])
        ]
        group = OF.OffsetFetchRequestGroup(
            group_id="", topics=[OF.OffsetFetchRequestTopics(name=topic, partition_indexes=[0, 1])]
        )
        answer = wire.send(OF(groups=[group]), 8).groups
        assert [(g.group_id, g.error_code) for g in answer] == [("", NONE)]
        assert [
            (t.name, [(p.partition_index, p.committed_offset) for p in t.partitions])
            for t in answer[0].topics
        ] == [(topic, [(0, 1), (1, -1)])]


def test_group_requests_refuse_group_id_empty(bootstrap):
    """Heartbeat, SyncGroup, LeaveGroup (one member or many) and OffsetDelete refuse the group
    id '' with INVALID_GROUP_ID, whatever was committed to it."""
    with WireClient(bootstrap) as wire:
        hb = wire.send(HeartbeatRequest(group_id="", generation_id=1, member_id="m"), 4)
        assert hb.error_code == INVALID_GROUP_ID
        sync = wire.send(
            SyncGroupRequest(
                group_id="",
                generation_id=1,
                member_id="m",
                protocol_type="consumer",
                protocol_name="range",
            ),
            5,
        )
        assert (sync.error_code, sync.assignment) == (INVALID_GROUP_ID, b"")
        leave = wire.send(LeaveGroupRequest(group_id="", member_id="m"), 0)
        assert leave.error_code == INVALID_GROUP_ID
        leave = wire.send(
            LeaveGroupRequest(
                group_id="", members=[LeaveGroupRequest.MemberIdentity(member_id="m")]
            ),
            5,
        )
        assert (leave.error_code, leave.members) == (INVALID_GROUP_ID, [])
        gone = wire.send(OffsetDeleteRequest(group_id="", topics=[]), 0)
        assert (gone.error_code, gone.topics) == (INVALID_GROUP_ID, [])


def test_sync_group_v5_needs_protocol_type_and_name(bootstrap):
    """SyncGroup v5 without a protocol type or name is INCONSISTENT_GROUP_PROTOCOL before the
    group is looked at (the group id '' too)."""
    with WireClient(bootstrap) as wire:
        for group, protocol_type, protocol_name in (
            ("", None, "range"),
            (unique("dg-g"), "consumer", None),
        ):
            sync = wire.send(
                SyncGroupRequest(
                    group_id=group,
                    generation_id=1,
                    member_id="m",
                    protocol_type=protocol_type,
                    protocol_name=protocol_name,
                ),
                5,
            )
            assert sync.error_code == INCONSISTENT_GROUP_PROTOCOL
            assert (sync.protocol_type, sync.protocol_name, sync.assignment) == (None, None, b"")


@pytest.mark.parametrize("version", [3, 5])
def test_leave_group_unknown_group_answers_each_member(bootstrap, version):
    with WireClient(bootstrap) as wire:
        members = [
            LeaveGroupRequest.MemberIdentity(member_id="m1"),
            LeaveGroupRequest.MemberIdentity(member_id="m1"),
            LeaveGroupRequest.MemberIdentity(member_id="", group_instance_id="i1"),
        ]
        leave = wire.send(LeaveGroupRequest(group_id=unique("dg-g"), members=members), version)
        assert leave.error_code == NONE
        assert [(m.member_id, m.group_instance_id, m.error_code) for m in leave.members] == [
            ("m1", None, UNKNOWN_MEMBER_ID),
            ("m1", None, UNKNOWN_MEMBER_ID),
            ("", "i1", UNKNOWN_MEMBER_ID),
        ]


def test_instance_id_the_member_did_not_join_with(bootstrap):
    """A member's Heartbeat and SyncGroup naming a group.instance.id that is not in the group is
    UNKNOWN_MEMBER_ID (the member itself is known)."""
    with WireClient(bootstrap) as wire:
        group = unique("dg-g")
        member = join_single(wire, group)
        hb = wire.send(
            HeartbeatRequest(
                group_id=group,
                generation_id=member.generation_id,
                member_id=member.member_id,
                group_instance_id="not-joined",
            ),
            4,
        )
        assert hb.error_code == UNKNOWN_MEMBER_ID
        sync = wire.send(
            SyncGroupRequest(
                group_id=group,
                generation_id=member.generation_id,
                member_id=member.member_id,
                group_instance_id="not-joined",
                protocol_type="consumer",
                protocol_name=member.protocol_name,
            ),
            5,
        )
        assert sync.error_code == UNKNOWN_MEMBER_ID


def test_describe_groups_authorized_operations_and_group_id_empty(bootstrap):
    """Every group answered without error carries the operations that apply to a group (3400,
    as Kafka reports them without an authorizer); '' is a group's name, not an error."""
    with WireClient(bootstrap) as wire:
        unknown = unique("dg-g")
        answer = wire.send(
            DescribeGroupsRequest(groups=[unknown, ""], include_authorized_operations=True), 5
        ).groups
        by_id = {g.group_id: g for g in answer}
        assert by_id[unknown].group_state == "Dead"
        assert [(by_id[g].error_code, by_id[g].authorized_operations) for g in (unknown, "")] == [
            (NONE, 3400),
            (NONE, 3400),
        ]


def test_offset_delete_checks_topics_before_the_group(bootstrap):
    """Unknown topics and partitions are UNKNOWN_TOPIC_OR_PARTITION before the group's
    GROUP_SUBSCRIBED_TO_TOPIC; an existing topic without partitions is left out; a group error
    replaces the whole answer."""
    with WireClient(bootstrap) as wire:
        topic, missing, group = unique("dg-t"), unique("dg-missing"), unique("dg-g")
        create_topic(wire, topic, 2)
        assert commit(wire, group, -1, [OCT(name=topic, partitions=parts(0, 1))], 8) == [
            (topic, [(0, NONE), (1, NONE)])
        ]
        ODT, ODP = (
            OffsetDeleteRequest.OffsetDeleteRequestTopic,
            OffsetDeleteRequest.OffsetDeleteRequestPartition,
        )
        req = OffsetDeleteRequest(
            group_id=group,
            topics=[
                ODT(name=topic, partitions=[ODP(partition_index=9), ODP(partition_index=0)]),
                ODT(name=missing, partitions=[ODP(partition_index=0)]),
                ODT(name=topic, partitions=[]),
            ],
        )
        answer = wire.send(req, 0)
        assert answer.error_code == NONE
        assert [
            (t.name, [(p.partition_index, p.error_code) for p in t.partitions])
            for t in answer.topics
        ] == [
            (topic, [(9, UNKNOWN_TOPIC_OR_PARTITION), (0, NONE)]),
            (missing, [(0, UNKNOWN_TOPIC_OR_PARTITION)]),
        ]
        req.group_id = unique("dg-none")
        answer = wire.send(req, 0)
        assert (answer.error_code, answer.topics) == (GROUP_ID_NOT_FOUND, [])


@pytest.mark.parametrize("version", [5, 9])
def test_join_group_checks_protocols_before_the_member(bootstrap, version):
    """An unknown member joining an existing group with protocols it does not share is
    INCONSISTENT_GROUP_PROTOCOL; with the group's protocols, UNKNOWN_MEMBER_ID."""
    with WireClient(bootstrap) as wire:
        group = unique("dg-g")
        join_single(wire, group)
        for protocol_type, error in (
            ("", INCONSISTENT_GROUP_PROTOCOL),
            ("consumer", UNKNOWN_MEMBER_ID),
        ):
            req = JoinGroupRequest(
                group_id=group,
                session_timeout_ms=10000,
                rebalance_timeout_ms=5000,
                member_id="unknown-member",
                protocol_type=protocol_type,
                protocols=[JoinGroupRequest.JoinGroupRequestProtocol(name="range", metadata=b"")],
            )
            assert wire.send(req, version).error_code == error
