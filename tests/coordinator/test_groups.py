"""Classic group timers under trio's MockClock: sessions and rebalances end at their deadlines."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from kpy.coordinator.groups import GroupCoordinator
from kpy.coordinator.offsets import OFFSETS_TOPIC
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
