"""Admin operations on a ``Client``, shared by the ``kpy`` CLI, the console and the pytest
plugin: each sends the requests Kafka's AdminClient sends and returns plain data (dataclasses
of str/int, ready for a table or JSON). A failure raises ``ClientError`` with Kafka's error.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import trio

from kpy.client.client import Client, ClientError, check
from kpy.client.offsets import watermarks
from kpy.client.transport import api_versions_request
from kpy.protocol.api_keys import API_KEYS
from kpy.protocol.messages.create_partitions import CreatePartitionsRequest
from kpy.protocol.messages.create_topics import CreateTopicsRequest
from kpy.protocol.messages.delete_records import DeleteRecordsRequest
from kpy.protocol.messages.delete_topics import DeleteTopicsRequest
from kpy.protocol.messages.describe_cluster import DescribeClusterRequest
from kpy.protocol.messages.describe_configs import DescribeConfigsRequest
from kpy.protocol.messages.describe_log_dirs import DescribeLogDirsRequest
from kpy.protocol.messages.incremental_alter_configs import IncrementalAlterConfigsRequest

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
    validate_only: bool = False,
) -> int:
    """Create topic ``name`` (-1: the broker's default partitions / replication factor) and,
    with ``wait``, return once every partition has a leader in metadata (Kafka answers
    CreateTopics before its brokers serve the new partitions). Returns the partition count.
    With ``validate_only`` the broker only checks the request (nothing is created)."""
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
        CreateTopicsRequest(topics=[topic], timeout_ms=TIMEOUT_MS, validate_only=validate_only)
    )
    result = answer.topics[0]
    check(result.error_code, f"creating topic {name!r}", result.error_message)
    count = result.num_partitions if result.num_partitions > 0 else partitions
    if wait and not validate_only:
        await wait_for_leaders(client, name, count)
    return count


async def wait_for_leaders(
    client: Client, topic: str, partitions: int, timeout: float = 30.0
) -> None:
    """Poll metadata until ``topic`` shows ``partitions`` partitions (all when <= 0), each with
    a leader."""
    deadline = trio.current_time() + timeout
    while True:
        cluster = await client.refresh_metadata([topic])
        t = cluster.topics.get(topic)
        served = t is not None and t.partitions and all(p.leader_id >= 0 for p in t.partitions)
        if served and (partitions <= 0 or len(t.partitions) >= partitions):
            return
        if trio.current_time() > deadline:
            raise TimeoutError(
                f"topic {topic!r} has no leader for every partition after {timeout} s"
            )
        await trio.sleep(0.05)


async def delete_topics(client: Client, names: list[str]) -> None:
    """Delete topics by name; the first failure raises (after every name was tried)."""
    for error in (await delete_each_topic(client, names)).values():
        if error is not None:
            raise error


async def delete_each_topic(client: Client, names: list[str]) -> dict[str, ClientError | None]:
    """Delete topics by name (one request); each name's failure, or None where deleted."""
    if await client.version(DeleteTopicsRequest.API_KEY) >= 6:  # names or ids (KIP-516)
        states = [DeleteTopicsRequest.DeleteTopicState(name=n) for n in names]
        request = DeleteTopicsRequest(topics=states, timeout_ms=TIMEOUT_MS)
    else:
        request = DeleteTopicsRequest(topic_names=list(names), timeout_ms=TIMEOUT_MS)
    answer = await client.send_to_controller(request)
    out: dict[str, ClientError | None] = dict.fromkeys(names)
    for r in answer.responses:
        try:
            check(r.error_code, f"deleting topic {r.name!r}", getattr(r, "error_message", None))
        except ClientError as exc:
            out[r.name] = exc
    return out


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


# -- describing and changing one topic ----------------------------------------------------

TOPIC_RESOURCE, BROKER_RESOURCE = 2, 4
SET, DELETE = 0, 1  # IncrementalAlterConfigs operations
DEFAULT_CONFIG = 5
CONFIG_SOURCES = {
    0: "UNKNOWN",
    1: "DYNAMIC_TOPIC_CONFIG",
    2: "DYNAMIC_BROKER_CONFIG",
    3: "DYNAMIC_DEFAULT_BROKER_CONFIG",
    4: "STATIC_BROKER_CONFIG",
    5: "DEFAULT_CONFIG",
    6: "DYNAMIC_BROKER_LOGGER_CONFIG",
    7: "CLIENT_METRICS_CONFIG",
    8: "GROUP_CONFIG",
}


@dataclass(slots=True)
class PartitionDescription:
    partition: int
    leader: int | None  # None: no leader (offline)
    leader_epoch: int
    replicas: list[int]
    isr: list[int]
    offline_replicas: list[int]
    log_start_offset: int
    high_watermark: int
    size_bytes: int | None  # the leader's replica on disk; None when its broker did not say


@dataclass(slots=True)
class ConfigEntry:
    name: str
    value: str | None  # None for a sensitive value
    source: str  # Kafka's ConfigSource name, e.g. DYNAMIC_TOPIC_CONFIG, DEFAULT_CONFIG
    read_only: bool
    sensitive: bool
    is_default: bool  # source is DEFAULT_CONFIG: nothing set on the topic or the broker


@dataclass(slots=True)
class TopicDescription:
    name: str
    topic_id: str
    internal: bool
    replication_factor: int
    size_bytes: int  # the sum over partitions of what their leaders report
    partitions: list[PartitionDescription]
    configs: list[ConfigEntry]  # every config, by name

    def overrides(self) -> list[ConfigEntry]:
        """The configs set on the topic or the broker rather than left at Kafka's default."""
        return [c for c in self.configs if not c.is_default]


async def _topic_metadata(client: Client, name: str) -> Any:
    answer = await client.metadata([name])
    for t in answer.topics:
        if t.name == name:
            check(t.error_code, f"topic {name!r}")
            return t
    check(3, f"topic {name!r}")


async def describe_topic(client: Client, name: str) -> TopicDescription:
    """Partitions (leader, replicas, ISR, watermarks, size) and configs of topic ``name``."""
    (described,) = await describe_topics(client, [name])
    return described


async def describe_topics(
    client: Client, names: Iterable[str], *, configs: bool = True, missing_ok: bool = False
) -> list[TopicDescription]:
    """``describe_topic`` of each name, in the order asked, with one request of each kind
    for them all (Metadata, ListOffsets, DescribeLogDirs per leader, DescribeConfigs) rather
    than five per topic. Without ``configs`` their ``configs`` are empty (not asked). A topic
    that does not exist raises UNKNOWN_TOPIC_OR_PARTITION, or with ``missing_ok`` is left
    out."""
    names = list(dict.fromkeys(names))
    if not names:
        return []
    answer = await client.metadata(names)
    found = {}
    for t in answer.topics:
        if t.name in names and not (missing_ok and t.error_code == 3):
            check(t.error_code, f"topic {t.name!r}")
            found[t.name] = t
    if not missing_ok:
        for name in names:
            if name not in found:
                check(3, f"topic {name!r}")
    partitions = {
        name: sorted(t.partitions, key=lambda p: p.partition_index) for name, t in found.items()
    }
    marks = await watermarks(
        client, {name: [p.partition_index for p in ps] for name, ps in partitions.items()}
    )
    sizes = await _partition_sizes(client, partitions)
    topic_configs = await _topic_configs(client, list(found)) if configs else {}
    out = []
    for name in names:
        if name not in found:
            continue
        meta = found[name]
        described = [
            PartitionDescription(
                partition=p.partition_index,
                leader=p.leader_id if p.leader_id >= 0 else None,
                leader_epoch=p.leader_epoch,
                replicas=list(p.replica_nodes),
                isr=list(p.isr_nodes),
                offline_replicas=list(p.offline_replicas),
                log_start_offset=marks[(name, p.partition_index)][0],
                high_watermark=marks[(name, p.partition_index)][1],
                size_bytes=sizes.get((name, p.partition_index)),
            )
            for p in partitions[name]
        ]
        out.append(
            TopicDescription(
                name=name,
                topic_id=str(meta.topic_id),
                internal=bool(meta.is_internal),
                replication_factor=max((len(p.replicas) for p in described), default=0),
                size_bytes=sum(p.size_bytes or 0 for p in described),
                partitions=described,
                configs=topic_configs.get(name, []),
            )
        )
    return out


async def _partition_sizes(
    client: Client, partitions: dict[str, list[Any]]
) -> dict[tuple[str, int], int]:
    """(topic, partition) -> bytes on disk of its leader's replica (DescribeLogDirs goes to
    each broker, which answers for its own log dirs)."""
    by_leader: dict[int, dict[str, list[int]]] = {}
    for name, ps in partitions.items():
        for p in ps:
            if p.leader_id >= 0:
                by_leader.setdefault(p.leader_id, {}).setdefault(name, []).append(p.partition_index)
    sizes: dict[tuple[str, int], int] = {}
    for leader, topics in by_leader.items():
        request = DescribeLogDirsRequest(
            topics=[
                DescribeLogDirsRequest.DescribableLogDirTopic(topic=name, partitions=indexes)
                for name, indexes in topics.items()
            ]
        )
        answer = await client.send(request, node=leader)
        check(getattr(answer, "error_code", 0), "DescribeLogDirs")
        for result in answer.results:
            for t in result.topics if result.error_code == 0 else ():
                for p in t.partitions:
                    if p.partition_index in topics.get(t.name, ()) and not p.is_future_key:
                        key = (t.name, p.partition_index)
                        sizes[key] = sizes.get(key, 0) + p.partition_size
    return sizes


async def _topic_configs(client: Client, names: list[str]) -> dict[str, list[ConfigEntry]]:
    """``describe_topic_configs`` of each name, in one DescribeConfigs."""
    if not names:
        return {}
    request = DescribeConfigsRequest(
        resources=[
            DescribeConfigsRequest.DescribeConfigsResource(
                resource_type=TOPIC_RESOURCE, resource_name=name, configuration_keys=None
            )
            for name in names
        ]
    )
    answer = await client.send(request)
    out = {}
    for result in answer.results:
        name = result.resource_name
        check(result.error_code, f"describing configs of topic {name!r}", result.error_message)
        out[name] = _config_entries(result)
    return out


async def describe_topic_configs(client: Client, name: str) -> list[ConfigEntry]:
    """Every config of topic ``name`` with its value and where that value comes from."""
    return (await _topic_configs(client, [name]))[name]


async def describe_broker_configs(client: Client, node_id: int) -> list[ConfigEntry]:
    """Every config of broker ``node_id`` (asked of that broker, which alone knows its static
    configs) with its value and source; sensitive values are None."""
    request = DescribeConfigsRequest(
        resources=[
            DescribeConfigsRequest.DescribeConfigsResource(
                resource_type=BROKER_RESOURCE, resource_name=str(node_id), configuration_keys=None
            )
        ]
    )
    answer = await client.send(request, node=node_id)
    result = answer.results[0]
    check(result.error_code, f"describing configs of broker {node_id}", result.error_message)
    return _config_entries(result)


def _config_entries(result: Any) -> list[ConfigEntry]:
    entries = [
        ConfigEntry(
            name=c.name,
            value=None if c.is_sensitive else c.value,  # brokers send none; never show one
            source=CONFIG_SOURCES.get(c.config_source, CONFIG_SOURCES[0]),
            read_only=bool(c.read_only),
            sensitive=bool(c.is_sensitive),
            is_default=c.config_source == DEFAULT_CONFIG,
        )
        for c in result.configs
    ]
    return sorted(entries, key=lambda c: c.name)


async def alter_topic_config(
    client: Client,
    name: str,
    configs: dict[str, str] | None = None,
    delete: list[str] | None = None,
    *,
    validate_only: bool = False,
) -> None:
    """Set ``configs`` and delete (back to the default) configs ``delete`` of topic ``name``, leaving the others
    as they are (IncrementalAlterConfigs)."""
    changes = [
        IncrementalAlterConfigsRequest.AlterableConfig(name=k, config_operation=SET, value=v)
        for k, v in (configs or {}).items()
    ] + [
        IncrementalAlterConfigsRequest.AlterableConfig(name=k, config_operation=DELETE, value=None)
        for k in (delete or [])
    ]
    request = IncrementalAlterConfigsRequest(
        resources=[
            IncrementalAlterConfigsRequest.AlterConfigsResource(
                resource_type=TOPIC_RESOURCE, resource_name=name, configs=changes
            )
        ],
        validate_only=validate_only,
    )
    answer = await client.send_to_controller(request)
    result = answer.responses[0]
    check(result.error_code, f"altering configs of topic {name!r}", result.error_message)


@dataclass(slots=True)
class PartitionsAdded:
    name: str
    before: int
    after: int


async def add_partitions(
    client: Client, name: str, added: int, *, validate_only: bool = False, wait: bool = True
) -> PartitionsAdded:
    """Add ``added`` partitions to topic ``name`` (CreatePartitions asks for the new total;
    this reads the current count first). With ``wait``, return once they all have leaders;
    with ``validate_only`` the broker only checks (``after`` is then what it would be)."""
    before = len((await _topic_metadata(client, name)).partitions)
    request = CreatePartitionsRequest(
        topics=[CreatePartitionsRequest.CreatePartitionsTopic(name=name, count=before + added)],
        timeout_ms=TIMEOUT_MS,
        validate_only=validate_only,
    )
    answer = await client.send_to_controller(request)
    result = answer.results[0]
    check(result.error_code, f"adding partitions to topic {name!r}", result.error_message)
    if wait and not validate_only:
        await wait_for_leaders(client, name, before + added)
    return PartitionsAdded(name, before, before + added)


HIGH_WATERMARK = -1  # DeleteRecords: delete everything up to the high watermark


async def delete_records(client: Client, name: str, offsets: dict[int, int]) -> dict[int, int]:
    """Delete the records of topic ``name`` before ``offsets[partition]`` (HIGH_WATERMARK:
    all of them), each asked of its partition's leader; returns partition -> the new low
    watermark (log start offset)."""
    by_leader: dict[int, list[int]] = {}
    for partition in offsets:
        by_leader.setdefault(await client.leader_of(name, partition), []).append(partition)
    out: dict[int, int] = {}
    for leader, partitions in by_leader.items():
        request = DeleteRecordsRequest(
            topics=[
                DeleteRecordsRequest.DeleteRecordsTopic(
                    name=name,
                    partitions=[
                        DeleteRecordsRequest.DeleteRecordsPartition(
                            partition_index=p, offset=offsets[p]
                        )
                        for p in partitions
                    ],
                )
            ],
            timeout_ms=TIMEOUT_MS,
        )
        answer = await client.send(request, node=leader)
        for t in answer.topics:
            for p in t.partitions:
                check(
                    p.error_code,
                    f"deleting records of {t.name}-{p.partition_index} "
                    f"before offset {offsets.get(p.partition_index)}",
                )
                out[p.partition_index] = p.low_watermark
    return dict(sorted(out.items()))


# -- the cluster ----------------------------------------------------------------------------


@dataclass(slots=True)
class ClusterBroker:
    id: int
    host: str
    port: int
    rack: str | None


@dataclass(slots=True)
class Feature:
    """A feature the answering broker supports (``supported_min``..``supported_max``) and
    the level the cluster finalized (None: not finalized)."""

    name: str
    finalized_level: int | None
    supported_min: int | None
    supported_max: int | None


@dataclass(slots=True)
class ApiRange:
    key: int
    name: str
    min_version: int
    max_version: int


@dataclass(slots=True)
class ClusterDescription:
    cluster_id: str | None
    controller_id: int | None  # None when the cluster does not name one
    brokers: list[ClusterBroker]
    features_epoch: int  # -1: the broker reported no finalized features
    features: list[Feature]
    apis: list[ApiRange]  # the ApiVersions answer of the broker the client bootstrapped from


async def describe_cluster(client: Client) -> ClusterDescription:
    """Brokers, controller and cluster id (DescribeCluster, or Metadata where a broker lacks
    it), with the features and API versions of the broker the client talks to."""
    try:
        answer = await client.send(DescribeClusterRequest())
    except ClientError as exc:
        if exc.code != 35:  # UNSUPPORTED_VERSION: a broker older than Kafka 2.8
            raise
        answer = None
    if answer is not None:
        check(answer.error_code, "DescribeCluster", answer.error_message)
        cluster_id, controller = answer.cluster_id, answer.controller_id
        brokers = [ClusterBroker(b.broker_id, b.host, b.port, b.rack) for b in answer.brokers]
    else:
        meta = await client.metadata([])
        cluster_id, controller = meta.cluster_id, meta.controller_id
        brokers = [ClusterBroker(b.node_id, b.host, b.port, b.rack) for b in meta.brokers]
    # Asked afresh at the newest version: before v4 (KIP-1022) Kafka leaves out the
    # supported features whose range starts at 0, which is most of them.
    versions = await client.send(api_versions_request())
    finalized = {f.name: f.max_version_level for f in versions.finalized_features}
    supported = {f.name: (f.min_version, f.max_version) for f in versions.supported_features}
    features = [
        Feature(
            name,
            finalized.get(name),
            supported.get(name, (None, None))[0],
            supported.get(name, (None, None))[1],
        )
        for name in sorted(set(finalized) | set(supported))
    ]
    apis = [
        ApiRange(
            k.api_key,
            API_KEYS[k.api_key].name if k.api_key in API_KEYS else f"Unknown{k.api_key}",
            k.min_version,
            k.max_version,
        )
        for k in sorted(versions.api_keys, key=lambda k: k.api_key)
    ]
    return ClusterDescription(
        cluster_id=cluster_id,
        controller_id=controller if controller >= 0 else None,
        brokers=sorted(brokers, key=lambda b: b.id),
        features_epoch=versions.finalized_features_epoch,
        features=features,
        apis=apis,
    )
