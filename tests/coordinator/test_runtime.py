"""The guard coordinators' background work runs under, in virtual time."""

from __future__ import annotations

import logging

import trio
import trio.testing

from kpy.coordinator.runtime import Guard
from kpy.coordinator.timers import Timers


def run(fn) -> None:
    trio.run(fn, clock=trio.testing.MockClock(autojump_threshold=0))


def test_supervise_restarts_a_failing_task_with_a_growing_backoff(caplog):
    starts: list[float] = []

    async def flaky() -> None:
        starts.append(trio.current_time())
        if len(starts) <= 4:
            raise OSError(5, "Input/output error")

    async def main():
        guard = Guard("test", first_backoff_s=1.0, max_backoff_s=4.0)
        with caplog.at_level(logging.ERROR, logger="kpy.coordinator"):
            await guard.supervise("work", flaky)  # returns once flaky does
        assert starts == [0.0, 1.0, 3.0, 7.0, 11.0]  # 1, 2, 4, 4 s apart
        assert guard.statistics()["failures"] == 4

    run(main)
    lines = [r for r in caplog.records if "Input/output error" in r.getMessage()]
    assert len(lines) == 1  # the repeats within the minute are counted, not written


def test_a_failing_timer_is_retried_after_the_backoff_and_the_others_still_fire():
    async def main():
        guard = Guard("test", first_backoff_s=0.5, max_backoff_s=30.0)
        timers = Timers(guard)
        attempts: list[float] = []
        fired: list[float] = []

        def flaky(now: float) -> None:
            attempts.append(now)
            if len(attempts) < 3:
                raise OSError(28, "No space left on device")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(timers.run)
            timers.schedule(("flaky", 1), 1.0, flaky)
            timers.schedule(("other", 1), 1.25, fired.append)
            await trio.sleep(10)
            nursery.cancel_scope.cancel()
        assert attempts == [1.0, 1.5, 2.5] and fired == [1.25]
        assert guard.statistics() == {"failures": 2, "failing": 0}

    run(main)


def test_cancellation_passes_through_the_guard():
    async def forever() -> None:
        await trio.sleep_forever()

    async def main():
        guard = Guard("test")
        with trio.move_on_after(5) as scope:
            await guard.supervise("work", forever)
        assert scope.cancelled_caught and guard.statistics()["failures"] == 0

    run(main)
