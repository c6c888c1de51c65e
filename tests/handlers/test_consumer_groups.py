"""Consumer groups of the new protocol (KIP-848) against an in-process broker:
ConsumerGroupHeartbeat (68) and ConsumerGroupDescribe (69), with the classic APIs where they
meet (ListGroups, JoinGroup, OffsetCommit). Session expiry runs on a frozen MockClock."""

from __future__ import annotations

import uuid

import pytest

from kpy.protocol.error_codes import ErrorCode
from kpy.protocol.messages.consumer_group_describe import ConsumerGroupDescribeRequest
from kpy.protocol.messages.consumer_group_heartbeat import ConsumerGroupHeartbeatRequest
from kpy.protocol.messages.list_groups import ListGroupsRequest
from kpy.testing import in_process_broker, wait_until
from tests.handlers.helpers import commit, create_topic, join, join_as_new_member

pytestmark = pytest.mark.timeout(30)

HB = ConsumerGroupHeartbeatRequest


def owned(topic_id: uuid.UUID, *partitions: int) -> list:
    return (
        [HB.TopicPartitions(topic_id=topic_id, partitions=list(partitions))] if partitions else []
    )


async def heartbeat(c, group: str, member_id: str = "", epoch: int = 0, *, version=1, **fields):
    """A ConsumerGroupHeartbeat; a join (epoch 0) subscribes to "t" unless told otherwise."""
    if epoch == 0:
        fields.setdefault("subscribed_topic_names", ["t"])
        fields.setdefault("rebalance_timeout_ms", 10_000)
        fields.setdefault("topic_partitions", [])
    request = HB(group_id=group, member_id=member_id, member_epoch=epoch, **fields)
    return await c.send(request, version)


def assigned(answer) -> dict[uuid.UUID, list[int]]:
    if answer.assignment is None:
        return {}
    return {t.topic_id: sorted(t.partitions) for t in answer.assignment.topic_partitions}


async def describe(c, *groups: str, operations: bool = False):
    request = ConsumerGroupDescribeRequest(
        group_ids=list(groups), include_authorized_operations=operations
    )
    return (await c.send(request, 0)).groups


async def test_a_first_heartbeat_creates_the_group_and_assigns_everything(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect(client_id="app") as c:
        await create_topic(c, "t", 2)
        topic_id = b.broker.metadata.get("t").topic_id
        member = str(uuid.uuid4())
        answer = await heartbeat(c, "g", member)
        assert (answer.error_code, answer.member_id) == (0, member)  # v1: the client's id
        assert answer.member_epoch >= 1
        assert answer.heartbeat_interval_ms == b.broker.config.get(
            "group.consumer.heartbeat.interval.ms"
        )
        assert assigned(answer) == {topic_id: [0, 1]}
        # v0: the broker picks the id.
        chosen = await heartbeat(c, "g0", version=0)
        assert chosen.error_code == 0 and uuid.UUID(chosen.member_id)
        # Nothing changed: no assignment in the answer to a plain heartbeat.
        again = await heartbeat(c, "g", member, answer.member_epoch)
        assert (again.error_code, again.member_epoch, again.assignment) == (
            0,
            answer.member_epoch,
            None,
        )
        (described,) = await describe(c, "g", operations=True)
        assert (described.group_state, described.assignor_name) == ("Stable", "uniform")
        assert described.group_epoch == described.assignment_epoch == answer.member_epoch
        assert described.authorized_operations == 3400
        (m,) = described.members
        assert (m.member_id, m.client_id, m.client_host, m.member_epoch) == (
            member,
            "app",
            "/127.0.0.1",  # Kafka records InetAddress.toString()
            answer.member_epoch,
        )
        assert (m.subscribed_topic_names, m.subscribed_topic_regex) == (["t"], "")
        assert [(p.topic_name, p.partitions) for p in m.assignment.topic_partitions] == [
            ("t", [0, 1])
        ]


async def test_partitions_move_only_after_their_owner_revokes_them(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t", 2)
        tid = b.broker.metadata.get("t").topic_id
        first = await heartbeat(c, "g", "m1")
        e1 = first.member_epoch
        second = await heartbeat(c, "g", "m2")
        assert second.member_epoch > e1 and assigned(second) == {}  # nothing free yet
        # m1 is told to give one partition up, keeping its epoch until it has.
        revoke = await heartbeat(c, "g", "m1", e1, topic_partitions=owned(tid, 0, 1))
        keep = assigned(revoke)[tid]
        assert revoke.member_epoch == e1 and len(keep) == 1
        done = await heartbeat(c, "g", "m1", e1, topic_partitions=owned(tid, *keep))
        assert done.member_epoch == second.member_epoch
        taken = await heartbeat(c, "g", "m2", second.member_epoch, topic_partitions=[])
        assert assigned(taken) == {tid: [1 - keep[0]]}


async def test_heartbeat_refusals(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t")
        joined = await heartbeat(c, "g", "m1")
        epoch = joined.member_epoch
        for answer, code in (
            (await heartbeat(c, "nope", "m1", 1), ErrorCode.GROUP_ID_NOT_FOUND),
            (await heartbeat(c, "g", "ghost", epoch), ErrorCode.UNKNOWN_MEMBER_ID),
            (await heartbeat(c, "g", "m1", epoch + 5), ErrorCode.FENCED_MEMBER_EPOCH),
            (await heartbeat(c, "g", "m2", rebalance_timeout_ms=-1), ErrorCode.INVALID_REQUEST),
            (
                await heartbeat(c, "g", "m2", subscribed_topic_names=None),
                ErrorCode.INVALID_REQUEST,
            ),
            (await heartbeat(c, "g", "", 0), ErrorCode.INVALID_REQUEST),
            (await heartbeat(c, "g", "m2", -3), ErrorCode.INVALID_REQUEST),
            (
                await heartbeat(c, "g", "m2", server_assignor="sticky"),
                ErrorCode.UNSUPPORTED_ASSIGNOR,
            ),
        ):
            assert answer.error_code == code, answer
            # Errors carry neither a member id nor an interval.
            assert (answer.member_id, answer.heartbeat_interval_ms) == (None, 0)
        (described,) = await describe(c, "g")
        assert [m.member_id for m in described.members] == ["m1"]


async def test_leaving_and_session_expiry(tmp_path, mock_clock):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t")
        await heartbeat(c, "g", "m1")
        m2 = await heartbeat(c, "g", "m2")
        left = await heartbeat(c, "g", "m2", -1)
        assert (left.error_code, left.member_id, left.member_epoch) == (0, "m2", -1)
        assert left.heartbeat_interval_ms == 0
        assert b.broker.statistics()["consumer_groups"]["consumer_members"] == 1
        assert m2.member_epoch > 0
        session = b.broker.config.get("group.consumer.session.timeout.ms") / 1000
        mock_clock.jump(session - 0.1)
        assert b.broker.statistics()["consumer_groups"]["consumer_members"] == 1
        mock_clock.jump(0.2)
        await wait_until(
            lambda: b.broker.statistics()["consumer_groups"]["consumer_members"] == 0,
            what="the session to expire",
        )
        (described,) = await describe(c, "g")
        assert (described.group_state, described.members) == ("Empty", [])


async def test_describe_refusals_and_listing(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c, b.connect() as classic:
        await create_topic(c, "t")
        await heartbeat(c, "g", "m1")
        joined = await join_as_new_member(classic, "classic")
        assert joined.error_code == 0
        answers = await describe(c, "nope", "", "classic", "g")
        assert [(g.group_id, g.error_code) for g in answers] == [
            ("", ErrorCode.INVALID_GROUP_ID),
            ("nope", ErrorCode.GROUP_ID_NOT_FOUND),
            ("classic", ErrorCode.GROUP_ID_NOT_FOUND),
            ("g", 0),
        ]
        assert answers[1].error_message == "Group nope not found."
        listing = await c.send(ListGroupsRequest(types_filter=["consumer"]), 5)
        assert [(g.group_id, g.protocol_type, g.group_type) for g in listing.groups] == [
            ("g", "consumer", "consumer")
        ]
        # A classic group with members is not a consumer group; joining it as one is refused.
        refused = await heartbeat(c, "classic", "m9")
        assert refused.error_code == ErrorCode.GROUP_ID_NOT_FOUND
        # ... and a classic join of a consumer group with members is refused too.
        assert (await join(classic, "g")).error_code == ErrorCode.INCONSISTENT_GROUP_PROTOCOL


async def test_an_empty_consumer_group_gives_way_to_a_classic_join(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t")
        await heartbeat(c, "g", "m1")
        await heartbeat(c, "g", "m1", -1)
        joined = await join_as_new_member(c, "g")
        assert joined.error_code == 0
        assert [g.error_code for g in await describe(c, "g")] == [ErrorCode.GROUP_ID_NOT_FOUND]


async def test_members_commit_with_their_epoch(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t")
        joined = await heartbeat(c, "g", "m1")
        epoch = joined.member_epoch
        assert await commit(c, "g", {("t", 0): 3}, generation=epoch, member_id="m1") == {
            ("t", 0): 0
        }
        assert await commit(c, "g", {("t", 0): 4}, generation=epoch - 1, member_id="m1") == {
            ("t", 0): ErrorCode.STALE_MEMBER_EPOCH
        }
        assert await commit(c, "g", {("t", 0): 4}, generation=epoch, member_id="m9") == {
            ("t", 0): ErrorCode.UNKNOWN_MEMBER_ID
        }
        assert await commit(c, "g", {("t", 0): 4}) == {("t", 0): ErrorCode.UNKNOWN_MEMBER_ID}
