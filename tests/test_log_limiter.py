"""LogLimiter: a key's line at most once per interval, the repeats counted and told."""

from __future__ import annotations

import logging

import pytest

from kpy.log_limiter import LogLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def limited(caplog):
    caplog.set_level(logging.INFO, logger="kpy.test.limiter")
    clock = Clock()
    limiter = LogLimiter(
        logging.getLogger("kpy.test.limiter"), interval=10, max_keys=3, clock=clock, register=False
    )

    def messages() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == "kpy.test.limiter"]

    return limiter, clock, messages


def test_repeats_within_the_interval_are_counted_then_told(limited):
    limiter, clock, messages = limited
    for i in range(100):
        limiter.log(logging.INFO, ("refused", "h"), "refused conn-%d", i)
        clock.now += 0.01
    assert messages() == ["refused conn-0"]
    limiter.flush()  # the interval has not passed yet
    assert messages() == ["refused conn-0"]
    clock.now += 10
    limiter.flush()
    assert messages() == ["refused conn-0", "refused conn-99 (repeated 99 times)"]
    limiter.flush()
    clock.now += 10
    limiter.flush()  # nothing new: nothing written, and the key is forgotten
    assert limiter.statistics() == {"keys": 0, "held_back": 0}
    limiter.log(logging.INFO, ("refused", "h"), "refused conn-%d", 100)
    assert messages()[-1] == "refused conn-100"


def test_the_next_line_after_the_interval_carries_the_count(limited):
    limiter, clock, messages = limited
    for i in range(3):
        limiter.log(logging.INFO, "k", "line %d", i)
    clock.now += 10
    assert limiter.log(logging.INFO, "k", "line %d", 3)
    assert messages() == ["line 0", "line 3 (repeated 3 times)"]


def test_keys_are_limited_separately(limited):
    limiter, _, messages = limited
    for key in ("a", "b", "a", "b", "c"):
        limiter.log(logging.INFO, key, "key %s", key)
    assert messages() == ["key a", "key b", "key c"]
    assert limiter.statistics() == {"keys": 3, "held_back": 2}


def test_the_oldest_key_makes_room_and_tells_its_repeats(limited):
    limiter, _, messages = limited
    for key in ("a", "a", "b", "c", "d"):
        limiter.log(logging.INFO, key, "key %s", key)
    assert messages() == ["key a", "key b", "key c", "key a (repeated 1 times)", "key d"]
    assert limiter.statistics()["keys"] == 3


def test_disabled_levels_cost_no_state(limited):
    limiter, _, messages = limited
    assert not limiter.log(logging.DEBUG, "k", "hidden")
    assert messages() == [] and limiter.statistics()["keys"] == 0


def test_a_final_flush_tells_the_repeats_held_back(limited):
    limiter, clock, messages = limited
    for i in range(5):
        limiter.log(logging.INFO, "k", "line %d", i)
    limiter.log(logging.INFO, "quiet", "once")
    clock.now += 1  # well within the interval
    limiter.flush(final=True)
    assert messages() == ["line 0", "once", "line 4 (repeated 4 times)"]
    limiter.flush(final=True)  # told once
    assert len(messages()) == 3
