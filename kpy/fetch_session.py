"""Fetch sessions (KIP-227): the broker remembers a consumer's partitions between fetches.

Session id 0 with epoch -1 is a sessionless full fetch; epoch 0 asks for a new session (the
response carries its id); an existing id with the next epoch is an incremental fetch that
only lists changed partitions, and the response only lists partitions with news. Epoch -1
with an id closes that session. The cache is bounded
(``max.incremental.fetch.session.cache.slots``); the least recently used session is evicted.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from dataclasses import dataclass, field

from kpy.protocol.error_codes import ErrorCode, KafkaError

FINAL_EPOCH = -1
INITIAL_EPOCH = 0

TopicPartition = tuple[str, int]


@dataclass(slots=True)
class CachedPartition:
    fetch_offset: int
    max_bytes: int
    current_leader_epoch: int = -1
    # What the client was last told, so an incremental response can skip unchanged ones.
    high_watermark: int = -1
    last_stable_offset: int = -1
    log_start_offset: int = -1


@dataclass(slots=True)
class FetchSession:
    id: int
    epoch: int  # the epoch the next request must carry
    partitions: dict[TopicPartition, CachedPartition] = field(default_factory=dict)
    topic_ids: dict[str, object] = field(default_factory=dict)


class FetchSessionCache:
    def __init__(self, max_slots: int = 1000) -> None:
        self.max_slots = max_slots
        self._sessions: OrderedDict[int, FetchSession] = OrderedDict()
        self.evictions = 0

    def statistics(self) -> dict[str, int]:
        return {"sessions": len(self._sessions), "evictions": self.evictions}

    def new_session(self) -> FetchSession | None:
        """A new session with a fresh id, or None when the cache has no room."""
        if self.max_slots <= 0:
            return None
        while len(self._sessions) >= self.max_slots:
            self._sessions.popitem(last=False)
            self.evictions += 1
        while True:
            session_id = random.randint(1, 2**31 - 1)
            if session_id not in self._sessions:
                break
        session = FetchSession(session_id, epoch=1)
        self._sessions[session_id] = session
        return session

    def remove(self, session_id: int) -> None:
        self._sessions.pop(session_id, None)

    def get(self, session_id: int, epoch: int) -> FetchSession:
        """The session an incremental fetch continues; errors as Kafka reports them."""
        session = self._sessions.get(session_id)
        if session is None:
            raise KafkaError(
                ErrorCode.FETCH_SESSION_ID_NOT_FOUND, f"Fetch session {session_id} not found"
            )
        if epoch != session.epoch:
            raise KafkaError(
                ErrorCode.INVALID_FETCH_SESSION_EPOCH,
                f"Fetch session {session_id} expected epoch {session.epoch}, got {epoch}",
            )
        self._sessions.move_to_end(session_id)
        return session
