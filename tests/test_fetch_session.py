"""Fetch sessions (KIP-227) as kpy keeps them: the cache on its own, then the Fetch handler's
use of it (full and incremental fetches, forgotten partitions, closing, the error codes),
requests given as bytes to dispatch over a fake broker; no sockets, trio's MockClock."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
import trio
import trio.testing

from kpy import fetch_session
from kpy.dispatch import RequestContext, dispatch
from kpy.fetch_session import FetchSessionCache
from kpy.handlers.api_01_fetch import SESSION_SHARD_IDS
from kpy.protocol import framing
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.protocol.messages.fetch import FetchRequest, FetchResponse

# -- the cache -----------------------------------------------------------------------------------


def refusal(cache: FetchSessionCache, session_id: int, epoch: int) -> int:
    """The error code with which ``cache`` refuses ``get(session_id, epoch)``."""
    with pytest.raises(KafkaError) as info:
        cache.get(session_id, epoch)
    return info.value.code


def test_a_new_session_has_an_id_and_expects_epoch_1():
    cache = FetchSessionCache(max_slots=10)
    session = cache.new_session()
    assert session is not None
    assert 1 <= session.id <= 2**31 - 1
    assert session.epoch == 1
    assert cache.get(session.id, 1) is session
    assert cache.statistics() == {"sessions": 1, "evictions": 0}


def test_session_ids_are_unique(monkeypatch):
    drawn = iter([5, 5, 5, 9])
    monkeypatch.setattr(fetch_session.random, "randint", lambda lo, hi: next(drawn))
    cache = FetchSessionCache(max_slots=10)
    first, second = cache.new_session(), cache.new_session()
    assert first is not None and second is not None
    assert (first.id, second.id) == (5, 9)  # the id already in use is drawn again


def test_unknown_id_and_wrong_epoch_are_kafkas_errors():
    cache = FetchSessionCache(max_slots=10)
    session = cache.new_session()
    assert session is not None
    assert refusal(cache, session.id + 1, 1) == ErrorCode.FETCH_SESSION_ID_NOT_FOUND
    for epoch in (0, 2, -1):
        assert refusal(cache, session.id, epoch) == ErrorCode.INVALID_FETCH_SESSION_EPOCH
    assert cache.get(session.id, 1) is session  # the failed attempts changed nothing


def test_removed_sessions_are_not_found():
    cache = FetchSessionCache(max_slots=10)
    session = cache.new_session()
    assert session is not None
    cache.remove(session.id)
    cache.remove(session.id)  # removing twice (or an unknown id) is no error
    assert refusal(cache, session.id, 1) == ErrorCode.FETCH_SESSION_ID_NOT_FOUND
    assert cache.statistics() == {"sessions": 0, "evictions": 0}


def test_a_full_cache_evicts_the_least_recently_used_session():
    cache = FetchSessionCache(max_slots=2)
    a, b = cache.new_session(), cache.new_session()
    assert a is not None and b is not None
    cache.get(a.id, 1)  # a is used: b is now the least recently used
    c = cache.new_session()
    assert c is not None
    assert cache.get(a.id, 1) is a and cache.get(c.id, 1) is c
    assert refusal(cache, b.id, 1) == ErrorCode.FETCH_SESSION_ID_NOT_FOUND
    assert cache.statistics() == {"sessions": 2, "evictions": 1}


def test_no_slots_means_no_sessions():
    cache = FetchSessionCache(max_slots=0)
    assert cache.new_session() is None
    assert cache.statistics() == {"sessions": 0, "evictions": 0}


# -- the Fetch handler's sessions, through dispatch -------------------------------------------


@dataclass
class FakeLog:
    """A partition with ``high_watermark`` offsets of 10-byte records."""

    high_watermark: int = 0
    log_start_offset: int = 0

    @property
    def last_stable_offset(self) -> int:
        return self.high_watermark

    @property
    def log_end_offset(self) -> int:
        return self.high_watermark

    def read(self, offset: int, limit: int, *, max_offset: int, min_one: bool) -> Any:
        return SimpleNamespace(records=b"r" * min(10 * (max_offset - offset), limit))

    def aborted_transactions(self, start: int, end: int, upper: int) -> list:
        return []


@dataclass
class FakeTopic:
    name: str
    partitions: int
    topic_id: uuid.UUID = field(default_factory=uuid.uuid4)

    @property
    def leader_epochs(self) -> list[int]:
        return [0] * self.partitions


class FakeMetadata:
    def __init__(self, topics: list[FakeTopic]) -> None:
        self.topics = {t.name: t for t in topics}

    def get(self, name: str) -> FakeTopic | None:
        return self.topics.get(name)

    def by_id(self, topic_id: uuid.UUID) -> FakeTopic | None:
        return next((t for t in self.topics.values() if t.topic_id == topic_id), None)


class FakeBroker:
    """What the Fetch handler reads: metadata, partition logs and the session cache."""

    def __init__(self, slots: int = 1000) -> None:
        self.metadata = FakeMetadata([FakeTopic("a", 2), FakeTopic("b", 1)])
        self.logs = {(t, p): FakeLog() for t, p in (("a", 0), ("a", 1), ("b", 0))}
        self.fetch_sessions = FetchSessionCache(slots)

    def partition_log(self, topic: str, partition: int) -> FakeLog:
        return self.logs[(topic, partition)]

    async def wait_for_append(self, partitions: list, timeout_s: float) -> None:
        await trio.sleep(timeout_s)


VERSION = 12  # topics by name


def wanted(*tps: tuple[str, int], offset: int = 0) -> list[FetchRequest.FetchTopic]:
    topics: dict[str, FetchRequest.FetchTopic] = {}
    for name, p in tps:
        topic = topics.setdefault(name, FetchRequest.FetchTopic(topic=name))
        topic.partitions.append(
            FetchRequest.FetchPartition(partition=p, fetch_offset=offset, partition_max_bytes=1000)
        )
    return list(topics.values())


def fetch(broker: FakeBroker, request: FetchRequest, version: int = VERSION) -> FetchResponse:
    """Send ``request`` through dispatch as the bytes a client sends; the decoded answer."""
    frame = framing.encode_request(1, version, 42, "test", request)[4:]

    def make_ctx(key: int, v: int, corr: int, client_id: str | None) -> RequestContext:
        return RequestContext(broker, key, v, corr, client_id, "127.0.0.1", "test", "conn-1")

    async def main() -> list:
        return await dispatch(memoryview(bytearray(frame)), make_ctx)

    chunks = trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    data = b"".join(bytes(c) for c in chunks)
    corr, response = framing.decode_response(1, version, data[4:])
    assert corr == 42
    return response


def listed(response: FetchResponse) -> list[tuple[str, int]]:
    return [(t.topic, p.partition_index) for t in response.responses for p in t.partitions]


def open_session(broker: FakeBroker, *tps: tuple[str, int]) -> int:
    response = fetch(broker, FetchRequest(session_id=0, session_epoch=0, topics=wanted(*tps)))
    assert response.error_code == 0
    assert response.session_id != 0
    return response.session_id


def test_epoch_0_opens_a_session_and_answers_every_partition():
    broker = FakeBroker()
    broker.logs[("a", 0)].high_watermark = 3
    response = fetch(
        broker, FetchRequest(session_id=0, session_epoch=0, topics=wanted(("a", 0), ("a", 1)))
    )
    assert response.error_code == 0 and response.session_id != 0
    assert listed(response) == [("a", 0), ("a", 1)]
    assert len(response.responses[0].partitions[0].records) == 30
    assert broker.fetch_sessions.statistics()["sessions"] == 1


def test_a_sessionless_fetch_opens_none():
    broker = FakeBroker()
    response = fetch(broker, FetchRequest(session_id=0, session_epoch=-1, topics=wanted(("a", 0))))
    assert response.error_code == 0 and response.session_id == 0
    assert listed(response) == [("a", 0)]
    assert broker.fetch_sessions.statistics()["sessions"] == 0


def test_incremental_fetches_list_only_partitions_with_news():
    broker = FakeBroker()
    sid = open_session(broker, ("a", 0), ("a", 1), ("b", 0))
    # Nothing changed: the session's partitions are fetched, none is listed.
    response = fetch(broker, FetchRequest(session_id=sid, session_epoch=1, topics=[]))
    assert response.error_code == 0 and response.session_id == sid
    assert listed(response) == []
    # An append to a-1 raises its high watermark: only a-1 is listed, with its records.
    broker.logs[("a", 1)].high_watermark = 2
    response = fetch(broker, FetchRequest(session_id=sid, session_epoch=2, topics=[]))
    assert listed(response) == [("a", 1)]
    data = response.responses[0].partitions[0]
    assert (data.high_watermark, len(data.records)) == (2, 20)
    # The client moved a-1's offset to the end (a partition listed again updates the session):
    # nothing new anywhere.
    response = fetch(
        broker, FetchRequest(session_id=sid, session_epoch=3, topics=wanted(("a", 1), offset=2))
    )
    assert listed(response) == []
    # A log start offset moving is news too.
    broker.logs[("a", 0)].log_start_offset = 1
    broker.logs[("a", 0)].high_watermark = 1
    response = fetch(
        broker, FetchRequest(session_id=sid, session_epoch=4, topics=wanted(("a", 0), offset=1))
    )
    assert listed(response) == [("a", 0)]
    assert response.responses[0].partitions[0].log_start_offset == 1


def test_forgotten_partitions_leave_the_session_and_new_ones_join_it():
    broker = FakeBroker()
    sid = open_session(broker, ("a", 0), ("a", 1))
    forget = [FetchRequest.ForgottenTopic(topic="a", partitions=[0])]
    response = fetch(
        broker,
        FetchRequest(
            session_id=sid, session_epoch=1, topics=wanted(("b", 0)), forgotten_topics_data=forget
        ),
    )
    assert listed(response) == [("b", 0)]  # new to the session: listed once
    for tp in (("a", 0), ("a", 1), ("b", 0)):
        broker.logs[tp].high_watermark = 1
    response = fetch(broker, FetchRequest(session_id=sid, session_epoch=2, topics=[]))
    assert sorted(listed(response)) == [("a", 1), ("b", 0)]  # a-0 was forgotten


def test_each_fetch_moves_the_epoch_on_and_an_old_epoch_is_refused():
    broker = FakeBroker()
    sid = open_session(broker, ("a", 0))
    assert fetch(broker, FetchRequest(session_id=sid, session_epoch=1)).error_code == 0
    for stale in (1, 3):
        response = fetch(
            broker, FetchRequest(session_id=sid, session_epoch=stale, topics=wanted(("a", 0)))
        )
        assert response.error_code == ErrorCode.INVALID_FETCH_SESSION_EPOCH
        assert response.session_id == 0 and response.responses == []
    assert fetch(broker, FetchRequest(session_id=sid, session_epoch=2)).error_code == 0


def test_unknown_session_ids_are_not_found():
    broker = FakeBroker()
    sid = open_session(broker, ("a", 0))
    for session_id in (sid + 1, 0):  # id 0 with an incremental epoch too
        response = fetch(broker, FetchRequest(session_id=session_id, session_epoch=1))
        assert response.error_code == ErrorCode.FETCH_SESSION_ID_NOT_FOUND
        assert response.session_id == 0 and response.responses == []


def test_epoch_minus_1_closes_the_session_and_epoch_0_replaces_it():
    broker = FakeBroker()
    sid = open_session(broker, ("a", 0))
    response = fetch(
        broker, FetchRequest(session_id=sid, session_epoch=-1, topics=wanted(("a", 0)))
    )
    assert response.error_code == 0 and response.session_id == 0
    assert listed(response) == [("a", 0)]  # a full, sessionless answer
    response = fetch(broker, FetchRequest(session_id=sid, session_epoch=1))
    assert response.error_code == ErrorCode.FETCH_SESSION_ID_NOT_FOUND
    # Epoch 0 with an id: that session (if any) closes and a new one opens.
    sid = open_session(broker, ("a", 0))
    response = fetch(broker, FetchRequest(session_id=sid, session_epoch=0, topics=wanted(("b", 0))))
    new = response.session_id
    assert response.error_code == 0 and new not in (0, sid)
    assert fetch(broker, FetchRequest(session_id=sid, session_epoch=1)).error_code == (
        ErrorCode.FETCH_SESSION_ID_NOT_FOUND
    )
    assert broker.fetch_sessions.statistics()["sessions"] == 1


def test_a_session_id_outside_kafkas_shards_fails_the_request():
    broker = FakeBroker()
    for session_id in (8 * SESSION_SHARD_IDS, -SESSION_SHARD_IDS):
        request = FetchRequest(session_id=session_id, session_epoch=1, topics=wanted(("a", 0)))
        response = fetch(broker, request)
        assert response.error_code == ErrorCode.UNKNOWN_SERVER_ERROR
        assert response.session_id == session_id  # echoed, unlike the session errors
        assert [
            (p.partition_index, p.error_code) for t in response.responses for p in t.partitions
        ] == [(0, ErrorCode.UNKNOWN_SERVER_ERROR)]


def test_an_evicted_session_is_not_found():
    broker = FakeBroker(slots=1)
    first = open_session(broker, ("a", 0))
    second = open_session(broker, ("b", 0))
    response = fetch(broker, FetchRequest(session_id=first, session_epoch=1))
    assert response.error_code == ErrorCode.FETCH_SESSION_ID_NOT_FOUND
    assert fetch(broker, FetchRequest(session_id=second, session_epoch=1)).error_code == 0
    assert broker.fetch_sessions.statistics() == {"sessions": 1, "evictions": 1}


def test_without_slots_a_full_fetch_is_answered_without_a_session():
    broker = FakeBroker(slots=0)
    response = fetch(broker, FetchRequest(session_id=0, session_epoch=0, topics=wanted(("a", 0))))
    assert response.error_code == 0 and response.session_id == 0
    assert listed(response) == [("a", 0)]


def test_sessions_by_topic_id_keep_the_ids():
    broker = FakeBroker()
    topic = broker.metadata.get("a")
    assert topic is not None
    request = FetchRequest(
        session_id=0,
        session_epoch=0,
        topics=[
            FetchRequest.FetchTopic(
                topic_id=topic.topic_id,
                partitions=[FetchRequest.FetchPartition(partition=0, partition_max_bytes=1000)],
            )
        ],
    )
    sid = fetch(broker, request, version=13).session_id
    assert sid != 0
    broker.logs[("a", 0)].high_watermark = 1
    response = fetch(broker, FetchRequest(session_id=sid, session_epoch=1), version=13)
    assert [
        (t.topic_id, [p.partition_index for p in t.partitions]) for t in response.responses
    ] == [(topic.topic_id, [0])]
