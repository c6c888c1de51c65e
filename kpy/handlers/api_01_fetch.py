"""Fetch (key 1), versions 4-17 (Kafka 4 dropped 0-3, KIP-896).

Long-poll: when less than min_bytes is available the fetch waits for an append to one of
its partitions (no polling) or for max_wait_ms. Byte limits follow Kafka: partitions are
filled in request order within max_bytes and partition_max_bytes, and the first partition
with data returns at least one whole batch even if it is larger than the limits.
Topics are named (v4-12) or identified by id (v13+). Fetch sessions: kpy.fetch_session.
Records are returned as file regions of the segments and sent with sendfile.

As Kafka: a session id with epoch 0 or -1 starts a full fetch (closing that session), any
other epoch continues a session (id 0 included: FETCH_SESSION_ID_NOT_FOUND); session errors
come first. An isolation level other than 0/1 fails the whole request (UNKNOWN_SERVER_ERROR,
the session id echoed, every partition listed before v13), as does a session id outside
Kafka's session-cache shards (below). Partitions refused before reading have no offsets and
an empty list of aborted transactions; those refused by the read (an offset out of range, a
fenced epoch) have no offsets and a null list.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import trio

from kpy.dispatch import RequestContext, handles
from kpy.fetch_session import FINAL_EPOCH, INITIAL_EPOCH, CachedPartition
from kpy.handlers.errors import ItemError
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.protocol.messages.fetch import FetchRequest, FetchResponse

READ_COMMITTED = 1
ZERO_UUID = uuid.UUID(int=0)
PartitionData = FetchResponse.PartitionData


@dataclass(slots=True)
class Wanted:
    topic: str
    topic_id: uuid.UUID
    partition: int
    cached: CachedPartition
    error: int = 0


# Kafka 4.4 keeps fetch sessions in 8 shards of this many ids and finds an id's shard by
# division, so an id outside them (never handed out) fails the request with
# UNKNOWN_SERVER_ERROR instead of being not found.
SESSION_SHARD_IDS = (2**31 - 1) // 8
SESSION_ERRORS = (ErrorCode.FETCH_SESSION_ID_NOT_FOUND, ErrorCode.INVALID_FETCH_SESSION_EPOCH)


def fetch_error_response(req: FetchRequest, version: int, code: int) -> FetchResponse:
    """Kafka's answer to a failed fetch (the generated one), but a session error, which
    Kafka answers before it looks at the partitions: the code alone, session id 0."""
    if code in SESSION_ERRORS:
        return FetchResponse(error_code=code, session_id=0)
    return req.error_response(version, code)


@handles(1, 4, 17, error_response=fetch_error_response)
async def fetch(ctx: RequestContext, req: FetchRequest) -> FetchResponse:
    broker = ctx.broker
    version = ctx.api_version
    sessions = broker.fetch_sessions
    by_id = version >= 13

    session = None
    incremental = req.session_epoch not in (INITIAL_EPOCH, FINAL_EPOCH)
    if req.session_id != 0 and not -SESSION_SHARD_IDS < req.session_id < 8 * SESSION_SHARD_IDS:
        raise KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, f"No session shard for {req.session_id}")
    if incremental:
        session = sessions.get(req.session_id, req.session_epoch)  # raises on a bad id/epoch
    requested = _requested(broker, req, by_id)
    if req.isolation_level not in (0, READ_COMMITTED) and any(not w.error for w in requested):
        # Kafka parses the isolation level only to read a partition it knows.
        raise KafkaError(
            ErrorCode.UNKNOWN_SERVER_ERROR, f"Unknown isolation level {req.isolation_level}"
        )
    if not incremental:  # a full fetch closes the session it names
        if req.session_id != 0:
            sessions.remove(req.session_id)
        if req.session_epoch == INITIAL_EPOCH:
            session = sessions.new_session()

    if session is not None:
        if incremental:
            for key, _topic_id in _forgotten(broker, req, by_id):
                session.partitions.pop(key, None)
            for w in requested:
                if w.error:
                    continue
                old = session.partitions.get((w.topic, w.partition))
                if old is not None:
                    w.cached.high_watermark = old.high_watermark
                    w.cached.last_stable_offset = old.last_stable_offset
                    w.cached.log_start_offset = old.log_start_offset
                session.partitions[(w.topic, w.partition)] = w.cached
                session.topic_ids[w.topic] = w.topic_id
            errors = [w for w in requested if w.error]
            wanted = [
                Wanted(t, session.topic_ids.get(t, ZERO_UUID), p, c)
                for (t, p), c in session.partitions.items()
            ] + errors
        else:
            session.partitions = {
                (w.topic, w.partition): w.cached for w in requested if not w.error
            }
            session.topic_ids = {w.topic: w.topic_id for w in requested}
            wanted = _known_first(requested)
        session.epoch = session.epoch + 1 if incremental else 1
    else:
        wanted = _known_first(requested)

    read_committed = req.isolation_level == READ_COMMITTED
    max_wait = max(req.max_wait_ms, 0) / 1000
    deadline = trio.current_time() + max_wait
    tps = [(w.topic, w.partition) for w in wanted if not w.error]
    while True:
        parts, total, failed = _read(broker, wanted, req.max_bytes, read_committed)
        remaining = deadline - trio.current_time()
        if total >= req.min_bytes or failed or remaining <= 0 or not tps:
            break
        await broker.wait_for_append(tps, remaining)

    response = FetchResponse(session_id=session.id if session else 0)
    entry: Any = None
    for w, data in zip(wanted, parts, strict=True):
        if incremental and not _changed(w, data):
            continue
        if session is not None and not w.error:
            w.cached.high_watermark = data.high_watermark
            w.cached.last_stable_offset = data.last_stable_offset
            w.cached.log_start_offset = data.log_start_offset
        if entry is None or (entry.topic, entry.topic_id) != (w.topic, w.topic_id):
            # As Kafka: one entry per run of a topic's partitions.
            entry = FetchResponse.FetchableTopicResponse(topic=w.topic, topic_id=w.topic_id)
            response.responses.append(entry)
        entry.partitions.append(data)
    return response


def _requested(broker, req: FetchRequest, by_id: bool) -> list[Wanted]:
    """The partitions asked, each once (the last time asked, at the first place), as Kafka
    keys them."""
    out: dict[tuple[Any, int], Wanted] = {}
    for t in req.topics:
        if by_id:
            topic = broker.metadata.by_id(t.topic_id)
            name = topic.name if topic else ""
            topic_id = t.topic_id
            missing = ErrorCode.UNKNOWN_TOPIC_ID if topic is None else 0
        else:
            name = t.topic
            topic = broker.metadata.get(name)
            topic_id = topic.topic_id if topic else ZERO_UUID
            missing = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION if topic is None else 0
        for p in t.partitions:
            cached = CachedPartition(p.fetch_offset, p.partition_max_bytes, p.current_leader_epoch)
            error = missing
            if not error and not 0 <= p.partition < topic.partitions:
                error = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            key = (topic_id if by_id else name, p.partition)
            label = name or str(topic_id) if by_id else name  # an unknown id has no name
            out[key] = Wanted(label, topic_id, p.partition, cached, error)
    return list(out.values())


def _known_first(requested: list[Wanted]) -> list[Wanted]:
    """As Kafka answers: the partitions it reads, then those refused before reading."""
    return [w for w in requested if not w.error] + [w for w in requested if w.error]


def _forgotten(broker, req: FetchRequest, by_id: bool):
    for t in req.forgotten_topics_data:
        if by_id:
            topic = broker.metadata.by_id(t.topic_id)
            name = topic.name if topic else str(t.topic_id)
            topic_id = t.topic_id
        else:
            name, topic_id = t.topic, None
        for p in t.partitions:
            yield (name, p), topic_id


def _read(broker, wanted: list[Wanted], max_bytes: int, read_committed: bool):
    parts = []
    total = 0
    failed = False
    for w in wanted:
        if w.error:
            parts.append(_error_partition(w.partition, w.error, aborted=[]))
            failed = True
            continue
        with ItemError() as refused:
            data = _read_partition(broker, w, max(max_bytes - total, 0), total == 0, read_committed)
        if refused:
            data = _error_partition(w.partition, refused.code)
            failed = True
        total += len(data.records) if data.records is not None else 0
        parts.append(data)
    return parts, total, failed


def _read_partition(
    broker, w: Wanted, budget: int, first: bool, read_committed: bool
) -> PartitionData:
    log = broker.partition_log(w.topic, w.partition)
    epoch = broker.metadata.get(w.topic).leader_epochs[w.partition]
    requested_epoch = w.cached.current_leader_epoch
    if requested_epoch >= 0 and requested_epoch != epoch:
        raise KafkaError(
            ErrorCode.FENCED_LEADER_EPOCH
            if requested_epoch < epoch
            else ErrorCode.UNKNOWN_LEADER_EPOCH
        )
    hw = log.high_watermark
    lso = log.last_stable_offset
    upper = lso if read_committed else hw
    limit = min(w.cached.max_bytes, budget)
    aborted = None
    if w.cached.fetch_offset >= upper and w.cached.fetch_offset <= log.log_end_offset:
        records: Any = b""
    else:
        result = log.read(w.cached.fetch_offset, limit, max_offset=upper, min_one=first)
        records = result.records
        if read_committed:
            aborted = [
                FetchResponse.AbortedTransaction(producer_id=pid, first_offset=first_offset)
                for pid, first_offset in log.aborted_transactions(
                    w.cached.fetch_offset, w.cached.fetch_offset + max(len(records), 1), upper
                )
            ]
    if read_committed and aborted is None:
        aborted = []
    return PartitionData(
        partition_index=w.partition,
        high_watermark=hw,
        last_stable_offset=lso,
        log_start_offset=log.log_start_offset,
        aborted_transactions=aborted,
        records=records,
    )


def _error_partition(partition: int, code: int, aborted: list | None = None) -> PartitionData:
    """A refused partition: no offsets (-1), no records."""
    return PartitionData(
        partition_index=partition,
        error_code=code,
        high_watermark=-1,
        last_stable_offset=-1,
        log_start_offset=-1,
        aborted_transactions=aborted,
        records=b"",
    )


def _changed(w: Wanted, data: PartitionData) -> bool:
    return bool(
        w.error
        or data.error_code
        or (data.records is not None and len(data.records) > 0)
        or data.high_watermark != w.cached.high_watermark
        or data.last_stable_offset != w.cached.last_stable_offset
        or data.log_start_offset != w.cached.log_start_offset
    )
