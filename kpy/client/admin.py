"""Admin operations on a ``Client``, shared by the ``kpy`` CLI, the console and the pytest
plugin: each sends the requests Kafka's AdminClient sends and returns plain data (dataclasses
of str/int, ready for a table or JSON). A failure raises ``ClientError`` with Kafka's error.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import trio

from kpy.client.client import Client, check
from kpy.protocol.messages.create_topics import CreateTopicsRequest
from kpy.protocol.messages.delete_topics import DeleteTopicsRequest

TIMEOUT_MS = 30_000


@dataclass(slots=True)
class TopicSummary:
    name: str
    partitions: int
    replication_factor: int
    internal: bool
    topic_id: str


async def create_topic(
    client: Client,
    name: str,
    partitions: int = -1,
    configs: dict[str, str] | None = None,
    *,
    replication_factor: int = -1,
    wait: bool = True,
) -> int:
    """Create topic ``name`` (-1: the broker's default partitions / replication factor) and,
    with ``wait``, return once every partition has a leader in metadata (Kafka answers
    CreateTopics before its brokers serve the new partitions). Returns the partition count."""
    topic = CreateTopicsRequest.CreatableTopic(
        name=name,
        num_partitions=partitions,
        replication_factor=replication_factor,
        configs=[
            CreateTopicsRequest.CreatableTopicConfig(name=k, value=v)
            for k, v in (configs or {}).items()
        ],
    )
    answer = await client.send_to_controller(
        CreateTopicsRequest(topics=[topic], timeout_ms=TIMEOUT_MS)
    )
    result = answer.topics[0]
    check(result.error_code, f"creating topic {name!r}", result.error_message)
    count = result.num_partitions if result.num_partitions > 0 else partitions
    if wait:
        await wait_for_leaders(client, name, count)
    return count


async def wait_for_leaders(
    client: Client, topic: str, partitions: int, timeout: float = 30.0
) -> None:
    """Poll metadata until ``topic`` shows ``partitions`` partitions (all when <= 0), each with
    a leader."""
    deadline = time.monotonic() + timeout
    while True:
        cluster = await client.refresh_metadata([topic])
        t = cluster.topics.get(topic)
        served = t is not None and t.partitions and all(p.leader_id >= 0 for p in t.partitions)
        if served and (partitions <= 0 or len(t.partitions) >= partitions):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"topic {topic!r} has no leader for every partition after {timeout} s"
            )
        await trio.sleep(0.05)


async def delete_topics(client: Client, names: list[str]) -> None:
    """Delete topics by name; the first failure raises (after every name was tried)."""
    if await client.version(DeleteTopicsRequest.API_KEY) >= 6:  # names or ids (KIP-516)
        states = [DeleteTopicsRequest.DeleteTopicState(name=n) for n in names]
        request = DeleteTopicsRequest(topics=states, timeout_ms=TIMEOUT_MS)
    else:
        request = DeleteTopicsRequest(topic_names=list(names), timeout_ms=TIMEOUT_MS)
    answer = await client.send_to_controller(request)
    for r in answer.responses:
        check(r.error_code, f"deleting topic {r.name!r}", getattr(r, "error_message", None))


async def list_topics(client: Client, *, internal: bool = False) -> list[TopicSummary]:
    """Every topic (internal ones with ``internal``), by name."""
    answer = await client.metadata()
    out = []
    for t in answer.topics:
        if t.error_code or (t.is_internal and not internal):
            continue
        replicas = max((len(p.replica_nodes) for p in t.partitions), default=0)
        out.append(
            TopicSummary(t.name, len(t.partitions), replicas, bool(t.is_internal), str(t.topic_id))
        )
    return sorted(out, key=lambda s: s.name)
