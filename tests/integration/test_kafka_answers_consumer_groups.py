"""KIP-848 consumer groups answered as Apache Kafka 4.4 answers them, where the differential
harness found kpy answering otherwise: a new group takes epoch 1 and a subscription bumps it
again, a member joining without topics does not; a heartbeat carries the assignment only when
it is a full request or the assignment changed; a leave has no heartbeat interval; a static
leave finds the member by its instance id; ConsumerGroupDescribe lists subscribed names in
Kafka's order, an absent regex as '', the group's authorized operations when asked, and empty
group ids first. Each test runs against kpy and the Apache Kafka reference broker."""

from __future__ import annotations

import time
import uuid

import pytest

from conformance.raw import coordinators_ready, create_topic
from conformance.wire import WireClient
from kpy.coordinator.consumer_group import subscription_order
from kpy.protocol.messages.consumer_group_describe import ConsumerGroupDescribeRequest
from kpy.protocol.messages.consumer_group_heartbeat import ConsumerGroupHeartbeatRequest
from kpy.protocol.messages.metadata import MetadataRequest

HB = ConsumerGroupHeartbeatRequest
UNKNOWN_MEMBER_ID = 25
INVALID_GROUP_ID = 24
GROUP_ID_NOT_FOUND = 69
NO_OPERATIONS = -(2**31)
GROUP_OPERATIONS = 3400  # READ, DELETE, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS
OFFSETS = "__consumer_offsets"

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def name():
    return f"kip848-{uuid.uuid4().hex[:10]}"


def join(wire, group, topics, member_id="", version=0, **extra):
    req = HB(
        group_id=group,
        member_id=member_id,
        member_epoch=0,
        rebalance_timeout_ms=5000,
        subscribed_topic_names=topics,
        topic_partitions=[],
        **extra,
    )
    return wire.send(req, version)


def heartbeat(wire, group, member_id, epoch, **extra):
    extra.setdefault("rebalance_timeout_ms", -1)
    return wire.send(HB(group_id=group, member_id=member_id, member_epoch=epoch, **extra), 0)


def describe(wire, *groups, operations=False):
    req = ConsumerGroupDescribeRequest(
        group_ids=list(groups), include_authorized_operations=operations
    )
    return wire.send(req, 0).groups


def test_group_epochs_follow_subscriptions(bootstrap, name):
    with WireClient(bootstrap) as wire:
        create_topic(wire, f"{name}-t", 2)
        # A new group takes epoch 1 even when its first member subscribes to nothing.
        empty = join(wire, f"{name}-a", [])
        assert (empty.error_code, empty.member_epoch) == (0, 1)
        # A member joining without topics leaves the epoch alone.
        other = join(wire, f"{name}-a", [])
        assert other.member_epoch == 1
        # A subscription bumps it: to 2 on a new group's first heartbeat.
        first = join(wire, f"{name}-b", [f"{name}-t"])
        assert first.member_epoch == 2
        assert sum(len(t.partitions) for t in first.assignment.topic_partitions) == 2
        (group,) = describe(wire, f"{name}-b")
        assert (group.group_epoch, group.assignment_epoch) == (2, 2)
        assert [m.member_epoch for m in group.members] == [2]
        # Leaving bumps it and is answered without a heartbeat interval.
        left = heartbeat(wire, f"{name}-b", first.member_id, -1)
        assert (left.error_code, left.member_id, left.member_epoch) == (0, first.member_id, -1)
        assert left.heartbeat_interval_ms == 0
        (group,) = describe(wire, f"{name}-b")
        assert (group.group_state, group.group_epoch, group.members) == ("Empty", 3, [])


def test_assignment_only_in_full_requests_or_when_changed(bootstrap, name):
    with WireClient(bootstrap) as wire:
        create_topic(wire, f"{name}-t", 1)
        group = f"{name}-g"
        joined = join(wire, group, [f"{name}-t"])
        member_id = joined.member_id
        # Kafka's coordinator may take a moment to see the new topic: heartbeat as a client
        # does until the partition is assigned.
        deadline = time.monotonic() + 30
        while not (joined.assignment and joined.assignment.topic_partitions):
            assert time.monotonic() < deadline, "no assignment within 30 s"
            joined = heartbeat(wire, group, member_id, joined.member_epoch)
        owned = [
            HB.TopicPartitions(topic_id=t.topic_id, partitions=t.partitions)
            for t in joined.assignment.topic_partitions
        ]
        # Owned partitions alone do not make a full request: no assignment.
        again = heartbeat(wire, group, member_id, joined.member_epoch, topic_partitions=owned)
        assert (again.error_code, again.member_epoch, again.assignment) == (
            0,
            joined.member_epoch,
            None,
        )
        # With the rebalance timeout and the subscription too, it is a full request.
        full = heartbeat(
            wire,
            group,
            member_id,
            joined.member_epoch,
            rebalance_timeout_ms=5000,
            subscribed_topic_names=[f"{name}-t"],
            topic_partitions=owned,
        )
        assert full.assignment is not None
        assert [t.partitions for t in full.assignment.topic_partitions] == [[0]]


def test_static_leave_finds_the_member_by_instance_id(bootstrap, name):
    with WireClient(bootstrap) as wire:
        group = f"{name}-g"
        joined = join(wire, group, [])
        # The member joined without an instance id: no static member has this one.
        static = heartbeat(wire, group, joined.member_id, -2, instance_id=f"{name}-i")
        assert (static.error_code, static.member_id, static.member_epoch) == (
            UNKNOWN_MEMBER_ID,
            None,
            0,
        )
        assert static.heartbeat_interval_ms == 0
        # The member is still there, and leaves by its member id.
        left = heartbeat(wire, group, joined.member_id, -1)
        assert (left.error_code, left.member_epoch) == (0, -1)


def test_describe_members_as_kafka(bootstrap, name):
    with WireClient(bootstrap) as wire:
        topics = [f"{name}-t{i}" for i in range(12)] + [f"{name}-t"]
        group = f"{name}-g"
        joined = join(wire, group, list(reversed(topics)))
        assert joined.error_code == 0
        described = describe(wire, group, "", f"{name}-none", operations=True)
        assert [(g.group_id, g.error_code) for g in described[:1]] == [("", INVALID_GROUP_ID)]
        by_id = {g.group_id: g for g in described}
        assert by_id[f"{name}-none"].error_code == GROUP_ID_NOT_FOUND
        assert by_id[f"{name}-none"].authorized_operations == NO_OPERATIONS
        assert by_id[group].authorized_operations == GROUP_OPERATIONS
        (member,) = by_id[group].members
        assert member.subscribed_topic_regex == ""
        # Kafka's order: its HashSet of the names, filled in name order (the rule kpy follows
        # is checked against Kafka too, on names whose hashes vary from run to run).
        assert member.subscribed_topic_names == subscription_order(topics)
        assert member.subscribed_topic_names != sorted(topics)
        (plain,) = describe(wire, group)
        assert plain.authorized_operations == NO_OPERATIONS


def test_regex_subscription_matches_internal_topics(bootstrap, name):
    # Kafka resolves a subscribed regex against every topic, __consumer_offsets included (found
    # by franz-go's Test848RegexBrokerResolves); a regex matches a whole name.
    with WireClient(bootstrap) as wire:
        coordinators_ready(wire)  # __consumer_offsets exists
        create_topic(wire, f"{name}-t", 2)
        create_topic(wire, f"{name}-t-v2", 1)
        asked = [MetadataRequest.MetadataRequestTopic(name=n) for n in (f"{name}-t", OFFSETS)]
        topics = wire.send(MetadataRequest(topics=asked), 12).topics
        partitions = {t.topic_id: len(t.partitions) for t in topics}
        joined = join(
            wire,
            f"{name}-g",
            None,
            member_id=str(uuid.uuid4()),
            version=1,
            subscribed_topic_regex=f"{name}-t|{OFFSETS}",
        )
        assigned: dict = {}
        deadline = time.monotonic() + 30
        while assigned != partitions:  # Kafka resolves regexes in the background
            assert time.monotonic() < deadline, f"assigned {assigned}, not {partitions}"
            if joined.assignment is not None:
                assigned = {
                    t.topic_id: len(t.partitions) for t in joined.assignment.topic_partitions
                }
            joined = heartbeat(wire, f"{name}-g", joined.member_id, joined.member_epoch)
            assert joined.error_code == 0


def test_describe_names_a_classic_group_as_not_a_consumer_group(bootstrap, name):
    from kpy.protocol.messages.offset_commit import OffsetCommitRequest

    OC = OffsetCommitRequest
    with WireClient(bootstrap) as wire:
        coordinators_ready(wire)
        create_topic(wire, f"{name}-t", 1)
        group = f"{name}-classic"
        commit = OC(
            group_id=group,
            generation_id_or_member_epoch=-1,
            member_id="",
            topics=[
                OC.OffsetCommitRequestTopic(
                    name=f"{name}-t",
                    partitions=[
                        OC.OffsetCommitRequestPartition(partition_index=0, committed_offset=0)
                    ],
                )
            ],
        )
        assert wire.send(commit, 8).topics[0].partitions[0].error_code == 0
        # (Kafka answers these two in no fixed order: by group id.)
        by_id = {g.group_id: g for g in describe(wire, group, f"{name}-none")}
        assert (by_id[group].error_code, by_id[group].error_message) == (
            GROUP_ID_NOT_FOUND,
            f"Group {group} is not a consumer group.",
        )
        assert by_id[f"{name}-none"].error_message == f"Group {name}-none not found."
