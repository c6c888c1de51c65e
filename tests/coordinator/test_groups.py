"""The group coordinator through its narrow interface (an in-memory CoordinatorContext) under
trio's MockClock: sessions, rebalances and offset expiry end at their deadlines; failures are
retried by the guard; records old kpy misplaced are kept."""

from __future__ import annotations

import logging

import pytest
import trio
import trio.testing

from kpy.coordinator import offsets
from kpy.coordinator.group import (
    DEAD,
    EMPTY,
    PREPARING_REBALANCE,
    IllegalTransition,
    member_host,
)
from kpy.coordinator.groups import GroupCoordinator
from kpy.coordinator.offsets import OFFSETS_TOPIC, CommittedOffset, partition_for
from kpy.coordinator.timers import Timers
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.protocol.messages.heartbeat import HeartbeatRequest
from kpy.protocol.messages.join_group import JoinGroupRequest
from kpy.protocol.messages.sync_group import SyncGroupRequest
from tests.coordinator.fakes import FakeContext

# Binary fractions, so that jumps of the mock clock add up exactly.
MS = 2**-10


def coordinator() -> GroupCoordinator:
    ctx = FakeContext({"offsets.topic.num.partitions": 1})
    ctx.add(OFFSETS_TOPIC, 1)
    return GroupCoordinator(ctx)


def join_request(member_id="", session_ms=6000, rebalance_ms=6000):
    return JoinGroupRequest(
        group_id="g",
        session_timeout_ms=session_ms,
        rebalance_timeout_ms=rebalance_ms,
        member_id=member_id,
        protocol_type="consumer",
        protocols=[JoinGroupRequest.JoinGroupRequestProtocol(name="range", metadata=b"")],
    )


async def join_and_sync(coord: GroupCoordinator, **kw) -> str:
    result = await coord.join(join_request(**kw), 3, "client", "/127.0.0.1")
    assert result.error == ErrorCode.NONE
    await coord.sync(
        SyncGroupRequest(
            group_id="g", generation_id=result.generation_id, member_id=result.member_id
        ),
        3,
    )
    return result.member_id


def run(fn) -> None:
    clock = trio.testing.MockClock()

    async def main():
        coord = coordinator()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(coord.run)
            await fn(coord, clock)
            nursery.cancel_scope.cancel()

    trio.run(main, clock=clock)


async def settle(clock: trio.testing.MockClock, seconds: float) -> None:
    clock.jump(seconds)
    await trio.testing.wait_all_tasks_blocked()


def test_a_member_expires_exactly_at_last_heartbeat_plus_session_timeout():
    async def scenario(coord, clock):
        member = await join_and_sync(coord, session_ms=6000)
        await settle(clock, 4.0)
        coord.heartbeat(HeartbeatRequest(group_id="g", generation_id=1, member_id=member))
        # The session now ends at 4 s + 6 s: not a moment earlier ...
        await settle(clock, 6.0 - MS)
        assert member in coord.groups["g"].members
        with pytest.raises(KafkaError) as err:
            coord.delete_group("g")
        assert err.value.code == ErrorCode.NON_EMPTY_GROUP
        # ... and not a moment later: DeleteGroups succeeds right at the deadline.
        await settle(clock, MS)
        assert trio.current_time() == 10.0
        assert not coord.groups["g"].members
        coord.delete_group("g")
        assert "g" not in coord.groups

    run(scenario)


def test_a_rebalance_ends_exactly_at_the_rebalance_timeout():
    async def scenario(coord, clock):
        stale = await join_and_sync(coord, session_ms=30_000, rebalance_ms=5000)
        async with trio.open_nursery() as nursery:
            results = []

            async def newcomer():
                result = await coord.join(
                    join_request(session_ms=30_000, rebalance_ms=5000), 3, "c2", "/127.0.0.1"
                )
                results.append((trio.current_time(), result))

            nursery.start_soon(newcomer)
            await settle(clock, 0)  # the newcomer's JoinGroup starts a rebalance at 0 s
            await settle(clock, 5.0 - MS)
            assert not results  # the old member still has time to rejoin
            await settle(clock, MS)
            assert results, "the rebalance did not end at its timeout"
        when, result = results[0]
        assert when == 5.0 and result.error == ErrorCode.NONE
        assert list(coord.groups["g"].members) == [result.member_id] != [stale]

    run(scenario)


def test_timers_fire_in_deadline_order_and_keys_replace():
    timers = Timers()
    fired = []
    timers.schedule("a", 3.0, lambda now: fired.append(("a", now)))
    timers.schedule("b", 1.0, lambda now: fired.append(("b", now)))
    timers.schedule("a", 2.0, lambda now: fired.append(("a2", now)))
    timers.schedule("c", 2.5, lambda now: fired.append(("c", now)))
    timers.cancel("c")
    assert timers.next_deadline() == 1.0
    assert timers.fire(0.5) == 0
    assert timers.fire(2.0) == 2
    assert fired == [("b", 2.0), ("a2", 2.0)]
    assert timers.fire(10.0) == 0 and timers.statistics()["timers"] == 0


def test_an_earlier_deadline_wakes_the_timer_task():
    clock = trio.testing.MockClock()

    async def main():
        timers = Timers()
        fired = []
        async with trio.open_nursery() as nursery:
            nursery.start_soon(timers.run)
            timers.schedule("late", 100.0, lambda now: fired.append(("late", now)))
            await settle(clock, 1.0)
            timers.schedule("soon", 1.5, lambda now: fired.append(("soon", now)))
            await settle(clock, 0.5)
            assert fired == [("soon", 1.5)]
            nursery.cancel_scope.cancel()

    trio.run(main, clock=clock)


# -- offsets: expiry, the guard, the topic, misplaced records ----------------------------------


def offset(ctx: FakeContext, value: int) -> CommittedOffset:
    return CommittedOffset(value, -1, None, ctx.now_ms())


def run_coordinator(ctx: FakeContext, fn) -> None:
    """``fn(coord)`` with the coordinator's task running, in virtual time that jumps ahead
    whenever every task waits."""

    async def main():
        coord = GroupCoordinator(ctx)
        await coord.load()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(coord.run)
            await fn(coord)
            nursery.cancel_scope.cancel()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


def test_offsets_of_an_empty_group_expire_at_retention_after_the_newest_commit():
    ctx = FakeContext({"offsets.retention.minutes": 1})
    ctx.add("t", 2)

    async def scenario(coord):
        await coord.commit("g", {("t", 0): offset(ctx, 5)})
        await trio.sleep(30)
        await coord.commit("g", {("t", 1): offset(ctx, 7)})  # puts the expiry off
        await trio.sleep(60)
        assert set(coord.committed("g")) == {("t", 0), ("t", 1)}
        await trio.sleep(0.002)  # 60 s after the newest commit, strictly
        assert coord.committed("g") == {}
        tombstones = [r for r in ctx.records(OFFSETS_TOPIC) if r.value is None]
        assert len(tombstones) == 2

    run_coordinator(ctx, scenario)


def test_a_group_with_members_keeps_its_offsets():
    ctx = FakeContext({"offsets.retention.minutes": 1})
    ctx.add("t", 1)

    async def scenario(coord):
        result = await coord.join(join_request(session_ms=600_000), 3, "c", "/h")
        await coord.commit("g", {("t", 0): offset(ctx, 5)})
        await trio.sleep(90)
        coord.heartbeat(
            HeartbeatRequest(
                group_id="g", generation_id=result.generation_id, member_id=result.member_id
            )
        )
        assert coord.committed("g")
        coord.leave("g", result.member_id, None)  # empty now, the offsets long past retention
        await trio.sleep(0.001)
        assert coord.committed("g") == {}

    run_coordinator(ctx, scenario)


def test_a_failing_offset_expiry_is_logged_retried_and_never_stops_the_coordinator(caplog):
    """A disk error during offset expiry: one error line (rate limited), retries with a
    backoff, the coordinator task keeps running, and the expiry succeeds once the disk works."""
    ctx = FakeContext({"offsets.retention.minutes": 1})
    ctx.add("t", 1)

    async def scenario(coord):
        await coord.commit("g", {("t", 0): offset(ctx, 5)})
        ctx.fail = OSError(28, "No space left on device")
        with caplog.at_level(logging.ERROR, logger="kpy.coordinator"):
            await trio.sleep(61)
            assert coord.committed("g"), "expired although nothing could be written"
            await trio.sleep(20)
        errors = [r for r in caplog.records if "No space left" in r.getMessage()]
        assert len(errors) == 1, "each retry was logged"
        assert coord.statistics()["failures"] >= 3  # retried: 0.5, 1, 2, 4 ... s apart
        ctx.fail = None
        await trio.sleep(30)  # the longest backoff
        assert coord.committed("g") == {}
        # Still running: new commits expire too.
        await coord.commit("g2", {("t", 0): offset(ctx, 1)})
        await trio.sleep(61)
        assert coord.committed("g2") == {}

    run_coordinator(ctx, scenario)


def test_the_offsets_topic_is_created_off_the_event_loop_on_first_use():
    ctx = FakeContext()
    ctx.add("t", 1)

    async def scenario(coord):
        assert ctx.created == []
        ctx.fail = OSError(5, "Input/output error")
        with pytest.raises(KafkaError) as err:
            await coord.commit("g", {("t", 0): offset(ctx, 5)})
        assert err.value.code == ErrorCode.COORDINATOR_NOT_AVAILABLE  # clients retry it
        assert coord.committed("g") == {}
        ctx.fail = None
        await coord.commit("g", {("t", 0): offset(ctx, 5)})
        assert ctx.created == [OFFSETS_TOPIC] and ctx.topics[OFFSETS_TOPIC].partitions == 50
        (rec,) = ctx.records(OFFSETS_TOPIC, partition_for("g", 50))
        assert rec.value is not None

    run_coordinator(ctx, scenario)


def test_deleting_a_group_is_a_transition_to_dead():
    ctx = FakeContext()
    ctx.add("t", 1)

    async def scenario(coord):
        await coord.commit("g", {("t", 0): offset(ctx, 5)})
        group = coord.describe_group("g")
        assert group is not None and group.state == EMPTY
        coord.delete_group("g")
        assert group.state == DEAD and coord.describe_group("g") is None
        with pytest.raises(IllegalTransition):
            group.transition(PREPARING_REBALANCE)
        with pytest.raises(KafkaError) as err:
            coord.delete_group("g")
        assert err.value.code == ErrorCode.GROUP_ID_NOT_FOUND

    run_coordinator(ctx, scenario)


def test_records_old_kpy_wrote_to_another_partition_are_replayed_and_moved():
    """kpy once placed ids with a negative hash by masking the sign bit. Such records are
    still read; a newer record of the same key in Kafka's partition wins, whatever order the
    partitions are read in; the old ones are copied over and tombstoned where they were."""
    ctx = FakeContext()
    ctx.add("t", 1)
    ctx.add(OFFSETS_TOPIC, 50)

    def put(partition: int, group: str, value: int | None) -> None:
        committed = None if value is None else CommittedOffset(value, -1, None, ctx.now_ms())
        rec = offsets.offset_record(group, "t", 0, committed)
        ctx.batches[(OFFSETS_TOPIC, partition)].append(bytes(offsets.batch_of([rec], 0)))

    async def main():
        put(2, "dae8e-02213-g0", 5)  # old kpy's partition; Kafka's is 46
        put(37, "group-100", 5)  # old kpy's partition, read after Kafka's (11) ...
        put(11, "group-100", 7)  # ... which holds the newer commit
        coord = GroupCoordinator(ctx)
        await coord.load()
        assert coord.committed("dae8e-02213-g0")[("t", 0)].offset == 5
        assert coord.committed("group-100")[("t", 0)].offset == 7
        (copied,) = ctx.records(OFFSETS_TOPIC, 46)
        assert offsets.group_of_key(copied.key) == "dae8e-02213-g0" and copied.value
        assert ctx.records(OFFSETS_TOPIC, 2)[-1].value is None
        assert ctx.records(OFFSETS_TOPIC, 37)[-1].value is None
        assert len(ctx.records(OFFSETS_TOPIC, 11)) == 1  # nothing copied over the newer one
        # New writes go to Kafka's partition, and a restart reads the same state.
        await coord.commit("dae8e-02213-g0", {("t", 0): offset(ctx, 9)})
        assert len(ctx.records(OFFSETS_TOPIC, 46)) == 2
        again = GroupCoordinator(ctx)
        await again.load()
        assert again.committed("dae8e-02213-g0")[("t", 0)].offset == 9
        assert again.committed("group-100")[("t", 0)].offset == 7
        assert len(ctx.records(OFFSETS_TOPIC, 2)) == 2  # moved once, not again

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


@pytest.mark.parametrize(
    "peer, host",
    [
        ("127.0.0.1", "/127.0.0.1"),
        ("::1", "/0:0:0:0:0:0:0:1"),
        ("fe80::a:0bc", "/fe80:0:0:0:0:0:a:bc"),
        ("unknown", "/unknown"),
    ],
)
def test_member_host_is_javas_inet_address_text(peer, host):
    # Kafka records a member's host as InetAddress.toString(); kafka-consumer-groups prints it.
    assert member_host(peer) == host
