"""Raw-request helpers shared by the checks (topic creation, produce, fetch).

Apache Kafka answers CreateTopics once the controller has committed the topic; the broker
serves the partitions a moment later, and until then answers NOT_LEADER_OR_FOLLOWER or
UNKNOWN_TOPIC_OR_PARTITION, which real clients retry. ``create_topic`` therefore waits, with a
deadline, until every partition answers ListOffsets, as a client's retries would.
"""

from __future__ import annotations

import time
import uuid

from conformance.wire import WireClient
from kpy.protocol import records
from kpy.protocol.messages.create_topics import CreateTopicsRequest
from kpy.protocol.messages.fetch import FetchRequest
from kpy.protocol.messages.init_producer_id import InitProducerIdRequest
from kpy.protocol.messages.list_offsets import ListOffsetsRequest
from kpy.protocol.messages.metadata import MetadataRequest
from kpy.protocol.messages.produce import ProduceRequest
from kpy.protocol.records import Record

# Errors a client retries while a new topic's partitions come up: UNKNOWN_TOPIC_OR_PARTITION,
# LEADER_NOT_AVAILABLE, NOT_LEADER_OR_FOLLOWER.
NOT_READY = frozenset({3, 5, 6})

# Errors a client retries while a coordinator (or the producer id manager) is loading:
# COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR. A fresh Kafka answers
# InitProducerId with the first of these for a moment after start-up.
COORDINATOR_NOT_READY = frozenset({14, 15, 16})

# How long a new topic may take to be served; far above what Kafka needs on a busy machine.
READY_TIMEOUT = 30.0


def now_ms() -> int:
    return int(time.time() * 1000)


def wait_for(condition, what: str, timeout: float = READY_TIMEOUT, interval: float = 0.05):
    """Poll ``condition()`` until it returns something truthy, and return that; fail naming
    ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        got = condition()
        if got:
            return got
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


def retry(
    call, timeout: float = READY_TIMEOUT, interval: float = 0.05, errors=NOT_READY, codes=None
):
    """Call ``call()`` again while one of its error codes is one of ``errors``, as a client
    retries, for at most ``timeout`` seconds; return the last answer. The error codes are
    ``codes(answer)``, by default the answer's ``error_code``."""
    deadline = time.monotonic() + timeout
    while True:
        answer = call()
        found = codes(answer) if codes is not None else (answer.error_code,)
        if not errors.intersection(found) or time.monotonic() >= deadline:
            return answer
        time.sleep(interval)


def ask_coordinator(wire: WireClient, request, version: int, codes=None):
    """Send a group or transaction request, again while its coordinator is not ready
    (COORDINATOR_NOT_READY, in ``codes(answer)`` or the answer's ``error_code``), as a client
    asks again: a fresh Kafka loads each coordinator partition on first use."""
    return retry(lambda: wire.send(request, version), errors=COORDINATOR_NOT_READY, codes=codes)


def coordinators_ready(wire: WireClient) -> None:
    """FindCoordinator for a group and for a transactional id until both answer, so that
    __consumer_offsets and __transaction_state exist and are loaded, as on a cluster that has
    served clients before: a request sent straight to a coordinator then finds one."""
    from kpy.protocol.messages.find_coordinator import FindCoordinatorRequest

    for key_type in (0, 1):
        req = FindCoordinatorRequest(key_type=key_type, coordinator_keys=["kpy-ready"])
        retry(
            lambda req=req: wire.send(req, 4),
            errors=COORDINATOR_NOT_READY,
            codes=lambda answer: [c.error_code for c in answer.coordinators],
        )


def init_producer_id(
    wire: WireClient,
    transactional_id: str | None = None,
    transaction_timeout_ms: int = 60000,
    version: int = 4,
    **fields,
):
    """InitProducerId, asked again while the broker answers COORDINATOR_NOT_READY errors."""
    req = InitProducerIdRequest(
        transactional_id=transactional_id, transaction_timeout_ms=transaction_timeout_ms, **fields
    )
    return retry(lambda: wire.send(req, version), errors=COORDINATOR_NOT_READY)


def list_offsets_request(
    topic: str,
    timestamps: dict[int, int],
    *,
    isolation_level: int = 0,
    current_leader_epoch: int = -1,
) -> ListOffsetsRequest:
    """ListOffsets of ``topic``'s partitions, each asked at its timestamp in ``timestamps``."""
    return ListOffsetsRequest(
        replica_id=-1,
        isolation_level=isolation_level,
        topics=[
            ListOffsetsRequest.ListOffsetsTopic(
                name=topic,
                partitions=[
                    ListOffsetsRequest.ListOffsetsPartition(
                        partition_index=p,
                        timestamp=ts,
                        current_leader_epoch=current_leader_epoch,
                    )
                    for p, ts in timestamps.items()
                ],
            )
        ],
    )


def wait_until_served(wire: WireClient, name: str, partitions: int) -> None:
    """Wait until each of the first ``partitions`` partitions of ``name`` answers ListOffsets."""
    req = list_offsets_request(name, dict.fromkeys(range(partitions), -1))

    def served():
        parts = wire.send(req, 7).topics[0].partitions
        errors = {p.error_code for p in parts}
        assert errors <= NOT_READY | {0}, f"ListOffsets of new topic {name}: errors {errors}"
        return errors == {0}

    wait_for(served, f"every partition of {name} to be served")


def create_topics_request(
    name: str,
    partitions: int = 1,
    configs: dict[str, str] | None = None,
    *,
    replication_factor: int = 1,
    validate_only: bool = False,
    timeout_ms: int = 10000,
) -> CreateTopicsRequest:
    """CreateTopics of one topic."""
    topic = CreateTopicsRequest.CreatableTopic(
        name=name,
        num_partitions=partitions,
        replication_factor=replication_factor,
        configs=[
            CreateTopicsRequest.CreatableTopicConfig(name=k, value=v)
            for k, v in (configs or {}).items()
        ],
    )
    return CreateTopicsRequest(topics=[topic], timeout_ms=timeout_ms, validate_only=validate_only)


def create_topic(
    wire: WireClient,
    name: str,
    partitions: int = 1,
    configs: dict | None = None,
    replication_factor: int = 1,
    validate_only: bool = False,
    version: int = 5,
    wait: bool = True,
):
    """Create one topic; when created (and ``wait``), return once every partition is served."""
    request = create_topics_request(
        name,
        partitions,
        configs,
        replication_factor=replication_factor,
        validate_only=validate_only,
    )
    resp = wire.send(request, version)
    result = resp.topics[0]
    if wait and result.error_code == 0 and not validate_only:
        # v5+ answers the count (-1 asked means the broker's default); before, ask Metadata.
        if version >= 5:
            count = result.num_partitions
        else:
            count = partitions if partitions > 0 else partition_count(wire, name)
        if count > 0:
            wait_until_served(wire, name, count)
    return result


def partition_count(wire: WireClient, name: str) -> int:
    """The number of partitions Metadata lists for ``name``, once it lists them."""
    req = MetadataRequest(
        topics=[MetadataRequest.MetadataRequestTopic(name=name)], allow_auto_topic_creation=False
    )

    def listed():
        t = wire.send(req, 12).topics[0]
        return t if t.error_code == 0 else None

    return len(wait_for(listed, f"Metadata to list the partitions of {name}").partitions)


def batch(
    n: int = 1, *, key: bytes | None = b"k", timestamp: int | None = None, size: int = 0, **kw
) -> bytearray:
    recs = [Record(key, (b"v%d" % i) + b"x" * size, [], i, 0) for i in range(n)]
    return records.build_batch(
        recs, base_timestamp=timestamp if timestamp is not None else now_ms(), **kw
    )


def produce_request(
    topic: str,
    data,
    partition: int = 0,
    *,
    acks: int = -1,
    transactional_id: str | None = None,
    timeout_ms: int = 10000,
) -> ProduceRequest:
    """Produce of ``data`` (a batch, or None) to one partition."""
    return ProduceRequest(
        transactional_id=transactional_id,
        acks=acks,
        timeout_ms=timeout_ms,
        topic_data=[
            ProduceRequest.TopicProduceData(
                name=topic,
                partition_data=[ProduceRequest.PartitionProduceData(index=partition, records=data)],
            )
        ],
    )


def produce(
    wire: WireClient,
    topic: str,
    data,
    partition: int = 0,
    acks: int = -1,
    version: int = 9,
    transactional_id: str | None = None,
):
    req = produce_request(topic, data, partition, acks=acks, transactional_id=transactional_id)
    resp = wire.send(req, version, expect_response=acks != 0)
    return None if resp is None else resp.responses[0].partition_responses[0]


def fetch_request(
    topic: str,
    offset: int,
    partition: int = 0,
    *,
    topic_id: uuid.UUID | None = None,
    max_wait_ms: int = 0,
    min_bytes: int = 1,
    max_bytes: int = 1 << 20,
    partition_max_bytes: int = 1 << 20,
    isolation_level: int = 0,
    session_id: int = 0,
    session_epoch: int = -1,
    current_leader_epoch: int = -1,
) -> FetchRequest:
    """Fetch of one partition from ``offset`` (by name before v13, by ``topic_id`` from v13)."""
    return FetchRequest(
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
                        current_leader_epoch=current_leader_epoch,
                    )
                ],
            )
        ],
    )


def fetch(
    wire: WireClient, topic: str, offset: int, *, version: int = 12, partition: int = 0, **kw
):
    """Fetch one partition (``fetch_request``'s options); the whole answer."""
    return wire.send(fetch_request(topic, offset, partition, **kw), version)


def unique(prefix: str) -> str:
    return f"conf-{prefix}-{uuid.uuid4().hex[:10]}"


def first_partition(resp):
    """The first partition of a Fetch response, with a readable failure if there is none."""
    parts = [p for t in resp.responses for p in t.partitions]
    assert parts, f"the Fetch response lists no partition (error_code={resp.error_code})"
    return parts[0]
