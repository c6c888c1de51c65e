"""The classic group APIs against an in-process broker: JoinGroup (11), Heartbeat (12),
LeaveGroup (13), SyncGroup (14), DescribeGroups (15), ListGroups (16), DeleteGroups (42),
OffsetCommit (8), OffsetFetch (9) and OffsetDelete (47). Session and rebalance timeouts run on
a frozen MockClock, moved by the test."""

from __future__ import annotations

import pytest
import trio

from kpy.protocol.error_codes import ErrorCode
from kpy.protocol.messages.delete_groups import DeleteGroupsRequest
from kpy.protocol.messages.describe_groups import DescribeGroupsRequest
from kpy.protocol.messages.heartbeat import HeartbeatRequest
from kpy.protocol.messages.leave_group import LeaveGroupRequest
from kpy.protocol.messages.list_groups import ListGroupsRequest
from kpy.protocol.messages.offset_delete import OffsetDeleteRequest
from kpy.protocol.messages.offset_fetch import OffsetFetchRequest
from kpy.testing import in_process_broker, wait_until
from tests.handlers.helpers import (
    commit,
    committed,
    create_topic,
    join,
    join_as_new_member,
    subscription,
    sync,
)

pytestmark = pytest.mark.timeout(30)


async def heartbeat(c, group: str, generation: int, member_id: str, instance_id=None) -> int:
    request = HeartbeatRequest(
        group_id=group,
        generation_id=generation,
        member_id=member_id,
        group_instance_id=instance_id,
    )
    return (await c.send(request, 4)).error_code


async def describe(c, group: str, version: int = 5, operations: bool = False):
    request = DescribeGroupsRequest(groups=[group], include_authorized_operations=operations)
    return (await c.send(request, version)).groups[0]


async def leave(c, group: str, *member_ids: str) -> list[int]:
    request = LeaveGroupRequest(
        group_id=group,
        members=[LeaveGroupRequest.MemberIdentity(member_id=m) for m in member_ids],
    )
    return [m.error_code for m in (await c.send(request, 5)).members]


async def stable_member(c, group: str, assignment: bytes = b"a", **kw):
    """A member of a one-member group that has synced: (member id, generation)."""
    joined = await join_as_new_member(c, group, **kw)
    assert joined.error_code == 0, joined
    synced = await sync(
        c, group, joined.generation_id, joined.member_id, {joined.member_id: assignment}
    )
    assert (synced.error_code, synced.assignment) == (0, assignment)
    return joined.member_id, joined.generation_id


# -- JoinGroup / SyncGroup / Heartbeat ----------------------------------------------------------


async def test_a_new_member_is_asked_for_its_id_then_leads(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect(client_id="app") as c:
        first = await join(c, "g")
        assert first.error_code == ErrorCode.MEMBER_ID_REQUIRED
        assert first.member_id.startswith("app-") and first.generation_id == -1
        joined = await join(c, "g", first.member_id)
        assert (joined.error_code, joined.generation_id, joined.leader) == (
            0,
            1,
            first.member_id,
        )
        assert (joined.protocol_type, joined.protocol_name) == ("consumer", "range")
        assert [(m.member_id, bytes(m.metadata)) for m in joined.members] == [
            (first.member_id, subscription("t"))
        ]
        described = await describe(c, "g")
        assert (described.group_state, described.protocol_data) == ("CompletingRebalance", "")
        synced = await sync(c, "g", 1, first.member_id, {first.member_id: b"mine"})
        assert (synced.error_code, synced.assignment, synced.protocol_name) == (0, b"mine", "range")
        described = await describe(c, "g", operations=True)
        assert (described.group_state, described.protocol_type, described.protocol_data) == (
            "Stable",
            "consumer",
            "range",
        )
        member = described.members[0]
        assert (member.client_id, member.client_host, bytes(member.member_assignment)) == (
            "app",
            "/127.0.0.1",  # Kafka records InetAddress.toString()
            b"mine",
        )
        assert described.authorized_operations == 3400
        assert await heartbeat(c, "g", 1, first.member_id) == 0
        assert await heartbeat(c, "g", 0, first.member_id) == ErrorCode.ILLEGAL_GENERATION
        assert await heartbeat(c, "g", 1, "ghost") == ErrorCode.UNKNOWN_MEMBER_ID
        # Before v4 a new member joins at once.
        old = await join(c, "old", version=3)
        assert (old.error_code, old.generation_id) == (0, 1)


async def test_a_second_member_rebalances_the_group(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c1, b.connect() as c2:
        a, gen = await stable_member(c1, "g")
        joins: dict[str, object] = {}

        async def second() -> None:
            joins["b"] = await join_as_new_member(c2, "g")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(second)
            await wait_until(
                lambda: b.broker.groups.groups["g"].state == "PreparingRebalance",
                what="the rebalance",
            )
            assert await heartbeat(c1, "g", gen, a) == ErrorCode.REBALANCE_IN_PROGRESS
            joins["a"] = await join(c1, "g", a)
        ja, jb = joins["a"], joins["b"]
        assert ja.generation_id == jb.generation_id == gen + 1
        assert ja.leader == jb.leader == a
        assert sorted(m.member_id for m in ja.members) == sorted([a, jb.member_id])
        assert jb.members == []  # only the leader gets the members
        syncs: dict[str, object] = {}

        async def follower_sync() -> None:
            syncs["b"] = await sync(c2, "g", jb.generation_id, jb.member_id)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(follower_sync)
            await wait_until(
                lambda: b.broker.groups.groups["g"].members[jb.member_id].sync_waiter is not None,
                what="the follower to wait for its assignment",
            )
            assignments = {a: b"for-a", jb.member_id: b"for-b"}
            syncs["a"] = await sync(c1, "g", ja.generation_id, a, assignments)
        assert (syncs["a"].assignment, syncs["b"].assignment) == (b"for-a", b"for-b")
        assert await heartbeat(c1, "g", gen, a) == ErrorCode.ILLEGAL_GENERATION


async def test_an_idle_member_expires_after_its_session(tmp_path, mock_clock):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        member, gen = await stable_member(c, "g", session_timeout_ms=6000)
        mock_clock.jump(5.9)
        assert await heartbeat(c, "g", gen, member) == 0  # the session starts again
        mock_clock.jump(5.9)
        assert b.broker.statistics()["groups"]["members"] == 1
        mock_clock.jump(0.2)
        # The timer task removes it, with no request to prompt it.
        await wait_until(lambda: b.broker.statistics()["groups"]["members"] == 0)
        described = await describe(c, "g")
        assert (described.group_state, described.members) == ("Empty", [])
        assert await heartbeat(c, "g", gen, member) == ErrorCode.UNKNOWN_MEMBER_ID


async def test_a_member_that_does_not_rejoin_in_time_is_dropped(tmp_path, mock_clock):
    async with in_process_broker(tmp_path) as b, b.connect() as c1, b.connect() as c2:
        a, gen = await stable_member(
            c1, "g", rebalance_timeout_ms=20_000, session_timeout_ms=30_000
        )
        joins = []

        async def second() -> None:
            joins.append(await join_as_new_member(c2, "g", rebalance_timeout_ms=5000))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(second)
            await wait_until(lambda: b.broker.groups.groups["g"].state == "PreparingRebalance")
            mock_clock.jump(19.9)
            await trio.testing.wait_all_tasks_blocked()
            assert joins == []  # the rebalance waits for the longest rebalance timeout
            mock_clock.jump(0.1)
        (jb,) = joins
        assert (jb.error_code, jb.generation_id, jb.leader) == (0, gen + 1, jb.member_id)
        assert [m.member_id for m in jb.members] == [jb.member_id]
        assert await heartbeat(c1, "g", gen, a) == ErrorCode.UNKNOWN_MEMBER_ID


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"session_timeout_ms": 5999}, ErrorCode.INVALID_SESSION_TIMEOUT),
        ({"session_timeout_ms": 1_800_001}, ErrorCode.INVALID_SESSION_TIMEOUT),
        ({"group": ""}, ErrorCode.INVALID_GROUP_ID),
        ({"member_id": "made-up"}, ErrorCode.UNKNOWN_MEMBER_ID),
        ({"protocol_type": "connect"}, ErrorCode.INCONSISTENT_GROUP_PROTOCOL),
        ({"protocols": ("roundrobin",)}, ErrorCode.INCONSISTENT_GROUP_PROTOCOL),
    ],
)
async def test_join_refusals(tmp_path, kw, code):
    async with in_process_broker(tmp_path) as b, b.connect() as c, b.connect() as other:
        await stable_member(other, "existing")
        group = kw.pop("group", "existing")
        answer = await join(c, group, **kw)
        assert (answer.error_code, answer.generation_id, answer.protocol_name) == (code, -1, None)
        older = await join(c, group, version=6, **kw)
        assert (older.error_code, older.protocol_name) == (code, "")
        assert len(b.broker.groups.groups["existing"].members) == 1


async def test_a_full_group_refuses_a_new_member(tmp_path):
    async with in_process_broker(tmp_path, group_max_size=1) as b, b.connect() as c:
        await stable_member(c, "g")
        assert (await join(c, "g")).error_code == ErrorCode.GROUP_MAX_SIZE_REACHED


async def test_sync_refusals(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        member, gen = await stable_member(c, "g")
        no_type = await sync(c, "g", gen, member, protocol_type=None)
        assert (no_type.error_code, no_type.assignment) == (
            ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
            b"",
        )
        assert (await sync(c, "g", gen, member, version=4, protocol_type=None)).error_code == 0
        wrong = await sync(c, "g", gen, member, protocol_name="roundrobin")
        assert wrong.error_code == ErrorCode.INCONSISTENT_GROUP_PROTOCOL
        assert (await sync(c, "g", gen + 1, member)).error_code == ErrorCode.ILLEGAL_GENERATION
        assert (await sync(c, "g", gen, "ghost")).error_code == ErrorCode.UNKNOWN_MEMBER_ID
        assert (await sync(c, "nope", 1, member)).error_code == ErrorCode.UNKNOWN_MEMBER_ID
        # A stable group answers the assignment it has.
        again = await sync(c, "g", gen, member, {member: b"other"})
        assert (again.error_code, again.assignment) == (0, b"a")


async def test_static_member_takes_over_its_instance(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        first = await join(c, "g", instance_id="i-1")
        assert first.error_code == 0  # no MEMBER_ID_REQUIRED step for a static member
        await sync(c, "g", first.generation_id, first.member_id, {first.member_id: b"kept"})
        again = await join(c, "g", instance_id="i-1")
        assert again.member_id != first.member_id
        assert again.generation_id == first.generation_id  # no rebalance
        code = await heartbeat(c, "g", first.generation_id, first.member_id, "i-1")
        assert code == ErrorCode.FENCED_INSTANCE_ID
        synced = await sync(c, "g", again.generation_id, again.member_id)
        assert synced.assignment == b"kept"


# -- LeaveGroup ---------------------------------------------------------------------------------


async def test_leave_group_answers_each_member(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        member, _ = await stable_member(c, "g")
        assert await leave(c, "g", member, "ghost") == [0, ErrorCode.UNKNOWN_MEMBER_ID]
        assert (await describe(c, "g")).group_state == "Empty"
        assert await leave(c, "nope", "x") == [ErrorCode.UNKNOWN_MEMBER_ID]
        refused = await c.send(LeaveGroupRequest(group_id="", members=[]), 5)
        assert refused.error_code == ErrorCode.INVALID_GROUP_ID
        old = await c.send(LeaveGroupRequest(group_id="g", member_id=member), 2)
        assert old.error_code == ErrorCode.UNKNOWN_MEMBER_ID


# -- DescribeGroups / ListGroups / DeleteGroups -------------------------------------------------


async def test_describe_and_list_groups(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await stable_member(c, "stable")
        member, _ = await stable_member(c, "empty")
        await leave(c, "empty", member)
        unknown = await describe(c, "nope", operations=True)
        assert (unknown.error_code, unknown.group_state, unknown.members) == (0, "Dead", [])
        assert unknown.authorized_operations == 3400
        assert (await describe(c, "nope", version=2)).authorized_operations == -(2**31)

        async def listed(version: int = 5, states=(), types=()) -> list[tuple[str, str, str]]:
            request = ListGroupsRequest(states_filter=list(states), types_filter=list(types))
            answer = await c.send(request, version)
            return sorted((g.group_id, g.group_state, g.group_type) for g in answer.groups)

        assert await listed() == [("empty", "Empty", "classic"), ("stable", "Stable", "classic")]
        assert await listed(states=["STABLE"]) == [("stable", "Stable", "classic")]
        assert await listed(types=["consumer"]) == []
        assert await listed(types=["Classic"], states=["empty"]) == [("empty", "Empty", "classic")]


async def test_delete_groups(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t")
        member, gen = await stable_member(c, "g")
        assert await commit(c, "g", {("t", 0): 5}, generation=gen, member_id=member) == {
            ("t", 0): 0
        }
        request = DeleteGroupsRequest(groups_names=["g", "nope", "g"])
        answer = await c.send(request, 2)
        assert [(r.group_id, r.error_code) for r in answer.results] == [
            ("g", ErrorCode.NON_EMPTY_GROUP),
            ("nope", ErrorCode.GROUP_ID_NOT_FOUND),
        ]
        await leave(c, "g", member)
        answer = await c.send(DeleteGroupsRequest(groups_names=["g"]), 2)
        assert [r.error_code for r in answer.results] == [0]
        assert "g" not in b.broker.groups.groups
        assert await committed(c, "g", {"t": [0]}) == {("t", 0): (-1, "")}


# -- OffsetCommit / OffsetFetch / OffsetDelete --------------------------------------------------


async def test_offsets_of_a_group_without_members_and_their_survival(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t", 2)
        await create_topic(c, "u")
        errors = await commit(
            c, "g", {("t", 0): 5, ("t", 1): 7, ("t", 9): 1, ("x", 0): 1}, metadata="m"
        )
        assert errors == {
            ("t", 9): ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            ("x", 0): ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            ("t", 0): 0,
            ("t", 1): 0,
        }
        expected = {("t", 0): (5, "m"), ("t", 1): (7, "m")}
        assert await committed(c, "g") == expected
        assert await committed(c, "g", {"t": [0], "u": [0]}) == {
            ("t", 0): (5, "m"),
            ("u", 0): (-1, ""),
        }
        old = await c.send(
            OffsetFetchRequest(
                group_id="g",
                topics=[
                    OffsetFetchRequest.OffsetFetchRequestTopic(name="t", partition_indexes=[1])
                ],
            ),
            7,
        )
        part = old.topics[0].partitions[0]
        assert (part.committed_offset, part.committed_leader_epoch, part.metadata) == (7, 0, "m")
    # Replayed from __consumer_offsets at start-up.
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        assert await committed(c, "g") == expected


async def test_commit_refusals(tmp_path):
    async with in_process_broker(tmp_path, offset_metadata_max_bytes=4) as b, b.connect() as c:
        await create_topic(c, "t")
        too_long = await commit(c, "g", {("t", 0): 1}, metadata="12345")
        assert too_long == {("t", 0): ErrorCode.OFFSET_METADATA_TOO_LARGE}
        assert await commit(c, "nope", {("t", 0): 1}, generation=1, member_id="m") == {
            ("t", 0): ErrorCode.GROUP_ID_NOT_FOUND
        }
        assert await commit(c, "nope", {("t", 0): 1}, generation=1, version=8) == {
            ("t", 0): ErrorCode.ILLEGAL_GENERATION
        }
        member, gen = await stable_member(c, "g")
        assert await commit(c, "g", {("t", 0): 1}, generation=gen + 1, member_id=member) == {
            ("t", 0): ErrorCode.ILLEGAL_GENERATION
        }
        assert await commit(c, "g", {("t", 0): 1}, generation=gen, member_id="ghost") == {
            ("t", 0): ErrorCode.UNKNOWN_MEMBER_ID
        }
        # Once the group has members, a commit without a generation is refused.
        assert await commit(c, "g", {("t", 0): 1}) == {("t", 0): ErrorCode.UNKNOWN_MEMBER_ID}
        assert await committed(c, "g") == {}


async def test_offset_delete_spares_subscribed_topics(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t")
        await create_topic(c, "u")
        member, gen = await stable_member(c, "g", topics=("t",))
        await commit(c, "g", {("t", 0): 1, ("u", 0): 2}, generation=gen, member_id=member)

        async def delete(group: str, *topics: tuple[str, int]):
            request = OffsetDeleteRequest(
                group_id=group,
                topics=[
                    OffsetDeleteRequest.OffsetDeleteRequestTopic(
                        name=t,
                        partitions=[
                            OffsetDeleteRequest.OffsetDeleteRequestPartition(partition_index=p)
                        ],
                    )
                    for t, p in topics
                ],
            )
            return await c.send(request, 0)

        answer = await delete("g", ("t", 0), ("u", 0), ("u", 3))
        assert answer.error_code == 0
        assert sorted(
            (t.name, p.partition_index, p.error_code) for t in answer.topics for p in t.partitions
        ) == [
            ("t", 0, ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC),
            ("u", 0, 0),
            ("u", 3, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
        ]
        assert await committed(c, "g") == {("t", 0): (1, "")}
        await leave(c, "g", member)
        assert (await delete("g", ("t", 0))).error_code == 0
        assert await committed(c, "g") == {}
        assert (await delete("nope", ("t", 0))).error_code == ErrorCode.GROUP_ID_NOT_FOUND
        assert (await delete("", ("t", 0))).error_code == ErrorCode.INVALID_GROUP_ID
