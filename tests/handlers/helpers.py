"""Requests the handler tests share, sent through kpy.testing.RawClient to an in-process broker.

Each returns the part of the answer a test looks at (one topic's result, one partition's);
the whole response is the ``send`` of the client when a test needs more.
"""

from __future__ import annotations

import uuid
from typing import Any

from conformance import raw
from conformance.raw import fetch_request as fetch_request  # re-exported to the handler tests
from conformance.raw import now_ms as now_ms
from kpy.protocol import records
from kpy.protocol.messages.find_coordinator import FindCoordinatorRequest
from kpy.protocol.messages.produce import ProduceRequest
from kpy.testing import RawClient

ZERO_UUID = uuid.UUID(int=0)


def batch(n: int = 1, *, timestamp: int | None = None, key: bytes | None = b"k", **kw) -> bytes:
    """A v2 batch of ``n`` records (values v0, v1, ...) stamped ``timestamp`` (default now)."""
    return bytes(raw.batch(n, timestamp=timestamp, key=key, **kw))


async def create_topic(
    client: RawClient,
    name: str,
    partitions: int = 1,
    configs: dict[str, str] | None = None,
    *,
    replication_factor: int = 1,
    validate_only: bool = False,
    version: int = 7,
) -> Any:
    """CreateTopics of one topic; its result."""
    request = raw.create_topics_request(
        name,
        partitions,
        configs,
        replication_factor=replication_factor,
        validate_only=validate_only,
        timeout_ms=5000,
    )
    return (await client.send(request, version)).topics[0]


def produce_request(
    topic: str,
    data: Any,
    partition: int = 0,
    *,
    acks: int = -1,
    transactional_id: str | None = None,
) -> ProduceRequest:
    return raw.produce_request(
        topic, data, partition, acks=acks, transactional_id=transactional_id, timeout_ms=5000
    )


async def produce(
    client: RawClient,
    topic: str,
    data: Any,
    partition: int = 0,
    *,
    acks: int = -1,
    version: int = 11,
    transactional_id: str | None = None,
) -> Any:
    """Produce to one partition; its answer (None for acks=0)."""
    request = produce_request(topic, data, partition, acks=acks, transactional_id=transactional_id)
    answer = await client.send(request, version, expect_response=acks != 0)
    return None if answer is None else answer.responses[0].partition_responses[0]


async def fetch(
    client: RawClient, topic: str, offset: int, partition: int = 0, *, version: int = 12, **kw
) -> Any:
    """Fetch one partition (by name, v12; ``raw.fetch_request``'s options); its answer."""
    answer = await client.send(fetch_request(topic, offset, partition, **kw), version)
    assert answer.error_code == 0, answer
    return answer.responses[0].partitions[0]


def records_of(data: Any) -> list[tuple[int, bytes | None]]:
    """(offset, value) of every record in fetched ``data``, control batches left out."""
    out = []
    for pos, h in records.iter_batches(bytes(data)):
        if h.is_control:
            continue
        for r in records.iter_records(bytes(data), pos):
            out.append((r.absolute_offset(h), r.value))
    return out


async def list_offset(
    client: RawClient,
    topic: str,
    timestamp: int,
    partition: int = 0,
    *,
    version: int = 10,
    isolation_level: int = 0,
    current_leader_epoch: int = -1,
) -> Any:
    """ListOffsets of one partition; its answer."""
    request = raw.list_offsets_request(
        topic,
        {partition: timestamp},
        isolation_level=isolation_level,
        current_leader_epoch=current_leader_epoch,
    )
    return (await client.send(request, version)).topics[0].partitions[0]


async def find_coordinator(client: RawClient, key: str, key_type: int = 0) -> Any:
    """FindCoordinator (v4, batched) of one key; its coordinator entry."""
    request = FindCoordinatorRequest(key_type=key_type, coordinator_keys=[key])
    return (await client.send(request, 4)).coordinators[0]


# -- classic groups -----------------------------------------------------------------------------


def subscription(*topics: str) -> bytes:
    """ConsumerProtocolSubscription v1 bytes (version prefix included) naming ``topics``."""
    from kpy.protocol.messages.consumer_protocol_subscription import (
        ConsumerProtocolSubscription,
    )

    return b"\x00\x01" + ConsumerProtocolSubscription(topics=list(topics)).encode(1)


async def join(
    client: RawClient,
    group: str,
    member_id: str = "",
    *,
    topics: tuple[str, ...] = ("t",),
    protocol_type: str = "consumer",
    protocols: tuple[str, ...] = ("range",),
    session_timeout_ms: int = 10_000,
    rebalance_timeout_ms: int = 10_000,
    instance_id: str | None = None,
    version: int = 9,
) -> Any:
    """One JoinGroup; its answer."""
    from kpy.protocol.messages.join_group import JoinGroupRequest

    request = JoinGroupRequest(
        group_id=group,
        session_timeout_ms=session_timeout_ms,
        rebalance_timeout_ms=rebalance_timeout_ms,
        member_id=member_id,
        group_instance_id=instance_id,
        protocol_type=protocol_type,
        protocols=[
            JoinGroupRequest.JoinGroupRequestProtocol(name=p, metadata=subscription(*topics))
            for p in protocols
        ],
    )
    return await client.send(request, version)


async def join_as_new_member(client: RawClient, group: str, **kw: Any) -> Any:
    """JoinGroup as a new member does from v4: asked for a member id, then joined with it."""
    first = await join(client, group, **kw)
    if first.error_code != 79:  # MEMBER_ID_REQUIRED
        return first
    return await join(client, group, first.member_id, **kw)


async def sync(
    client: RawClient,
    group: str,
    generation: int,
    member_id: str,
    assignments: dict[str, bytes] | None = None,
    *,
    version: int = 5,
    protocol_type: str | None = "consumer",
    protocol_name: str | None = "range",
) -> Any:
    from kpy.protocol.messages.sync_group import SyncGroupRequest

    request = SyncGroupRequest(
        group_id=group,
        generation_id=generation,
        member_id=member_id,
        protocol_type=protocol_type,
        protocol_name=protocol_name,
        assignments=[
            SyncGroupRequest.SyncGroupRequestAssignment(member_id=m, assignment=a)
            for m, a in (assignments or {}).items()
        ],
    )
    return await client.send(request, version)


async def commit(
    client: RawClient,
    group: str,
    offsets: dict[tuple[str, int], int],
    *,
    generation: int = -1,
    member_id: str = "",
    metadata: str | None = None,
    version: int = 9,
) -> dict[tuple[str, int], int]:
    """OffsetCommit; the error code of each partition."""
    from kpy.protocol.messages.offset_commit import OffsetCommitRequest

    by_topic: dict[str, list[Any]] = {}
    for (topic, partition), offset in offsets.items():
        by_topic.setdefault(topic, []).append(
            OffsetCommitRequest.OffsetCommitRequestPartition(
                partition_index=partition,
                committed_offset=offset,
                committed_leader_epoch=0,
                committed_metadata=metadata,
            )
        )
    request = OffsetCommitRequest(
        group_id=group,
        generation_id_or_member_epoch=generation,
        member_id=member_id,
        topics=[
            OffsetCommitRequest.OffsetCommitRequestTopic(name=t, partitions=ps)
            for t, ps in by_topic.items()
        ],
    )
    answer = await client.send(request, version)
    return {(t.name, p.partition_index): p.error_code for t in answer.topics for p in t.partitions}


async def committed(
    client: RawClient, group: str, topics: dict[str, list[int]] | None = None
) -> dict[tuple[str, int], tuple[int, str | None]]:
    """OffsetFetch (v8, one group; ``None``: every topic); (offset, metadata) of each
    partition."""
    from kpy.protocol.messages.offset_fetch import OffsetFetchRequest

    request = OffsetFetchRequest(
        groups=[
            OffsetFetchRequest.OffsetFetchRequestGroup(
                group_id=group,
                topics=None
                if topics is None
                else [
                    OffsetFetchRequest.OffsetFetchRequestTopics(name=t, partition_indexes=ps)
                    for t, ps in topics.items()
                ],
            )
        ]
    )
    answer = (await client.send(request, 8)).groups[0]
    assert answer.error_code == 0
    return {
        (t.name, p.partition_index): (p.committed_offset, p.metadata)
        for t in answer.topics
        for p in t.partitions
    }
