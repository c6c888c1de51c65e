"""Raw-request helpers shared by the checks (topic creation, produce, fetch)."""

from __future__ import annotations

import time
import uuid

from conformance.wire import WireClient
from kpy.protocol import records
from kpy.protocol.messages.create_topics import CreateTopicsRequest
from kpy.protocol.messages.fetch import FetchRequest
from kpy.protocol.messages.produce import ProduceRequest
from kpy.protocol.records import Record


def now_ms() -> int:
    return int(time.time() * 1000)


def create_topic(
    wire: WireClient,
    name: str,
    partitions: int = 1,
    configs: dict | None = None,
    replication_factor: int = 1,
    validate_only: bool = False,
    version: int = 5,
):
    topic = CreateTopicsRequest.CreatableTopic(
        name=name,
        num_partitions=partitions,
        replication_factor=replication_factor,
        configs=[
            CreateTopicsRequest.CreatableTopicConfig(name=k, value=v)
            for k, v in (configs or {}).items()
        ],
    )
    resp = wire.send(
        CreateTopicsRequest(topics=[topic], timeout_ms=10000, validate_only=validate_only), version
    )
    return resp.topics[0]


def batch(
    n: int = 1, *, key: bytes | None = b"k", timestamp: int | None = None, size: int = 0, **kw
) -> bytearray:
    recs = [Record(key, (b"v%d" % i) + b"x" * size, [], i, 0) for i in range(n)]
    return records.build_batch(
        recs, base_timestamp=timestamp if timestamp is not None else now_ms(), **kw
    )


def produce(
    wire: WireClient, topic: str, data, partition: int = 0, acks: int = -1, version: int = 9
):
    req = ProduceRequest(
        acks=acks,
        timeout_ms=10000,
        topic_data=[
            ProduceRequest.TopicProduceData(
                name=topic,
                partition_data=[ProduceRequest.PartitionProduceData(index=partition, records=data)],
            )
        ],
    )
    resp = wire.send(req, version, expect_response=acks != 0)
    return None if resp is None else resp.responses[0].partition_responses[0]


def fetch(
    wire: WireClient,
    topic: str,
    offset: int,
    *,
    version: int = 12,
    partition: int = 0,
    max_wait_ms: int = 0,
    min_bytes: int = 1,
    max_bytes: int = 1 << 20,
    partition_max_bytes: int = 1 << 20,
    isolation_level: int = 0,
    session_id: int = 0,
    session_epoch: int = -1,
    topic_id=None,
):
    req = FetchRequest(
        max_wait_ms=max_wait_ms,
        min_bytes=min_bytes,
        max_bytes=max_bytes,
        isolation_level=isolation_level,
        session_id=session_id,
        session_epoch=session_epoch,
        topics=[
            FetchRequest.FetchTopic(
                topic=topic,
                topic_id=topic_id or uuid.UUID(int=0),
                partitions=[
                    FetchRequest.FetchPartition(
                        partition=partition,
                        fetch_offset=offset,
                        partition_max_bytes=partition_max_bytes,
                    )
                ],
            )
        ],
    )
    return wire.send(req, version)


def unique(prefix: str) -> str:
    return f"conf-{prefix}-{uuid.uuid4().hex[:10]}"


def first_partition(resp):
    """The first partition of a Fetch response, with a readable failure if there is none."""
    parts = [p for t in resp.responses for p in t.partitions]
    assert parts, f"the Fetch response lists no partition (error_code={resp.error_code})"
    return parts[0]
