"""Request sequences for the differential harness, drawn by hypothesis from the schemas.

A generated sequence targets one API at one version: a fixed setup (two fresh topics holding a
few records and, where the API needs one, a classic group member, a transactional or an
idempotent producer, or a KIP-848 member), then one to four requests built from the request
class's FIELDS. Each field's values come from a pool picked by its name: the sequence's own
topics, groups and transactional ids (placeholders such as ``@t0``), names nobody created,
illegal names; partitions, counts, timeouts and epochs at and beyond their limits; the ids the
setup learned (``@t0.id``, ``@m0``, ``@pid0``) beside unknown ones; valid, corrupt and
idempotent record batches. Names are the same on both brokers and replaced when the sequence
is built; ids differ per broker and are bound when the runner sends (differential.Binding).
"""

from __future__ import annotations

import copy
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from kpy.protocol import records
from kpy.protocol.messages.add_offsets_to_txn import AddOffsetsToTxnRequest
from kpy.protocol.messages.add_partitions_to_txn import AddPartitionsToTxnRequest
from kpy.protocol.messages.consumer_group_heartbeat import ConsumerGroupHeartbeatRequest
from kpy.protocol.messages.consumer_protocol_assignment import ConsumerProtocolAssignment
from kpy.protocol.messages.consumer_protocol_subscription import ConsumerProtocolSubscription
from kpy.protocol.messages.create_topics import CreateTopicsRequest
from kpy.protocol.messages.init_producer_id import InitProducerIdRequest
from kpy.protocol.messages.join_group import JoinGroupRequest
from kpy.protocol.messages.produce import ProduceRequest
from kpy.protocol.messages.sync_group import SyncGroupRequest

# Record timestamps: fixed for the run and older than anything the brokers' clocks give later,
# so the normaliser can tell a timestamp the harness wrote from one a broker took from its clock.
RUN_TS = int(time.time()) * 1000

TOPIC_IDS = {f"@t{i}": uuid.UUID(int=(0xD1FF << 112) | (i + 1)) for i in range(3)}
UNKNOWN_ID = uuid.UUID("00000000-0000-4000-8000-00000000dead")
ZERO_ID = uuid.UUID(int=0)
UNKNOWN_PID = 999_999_999


@dataclass
class Step:
    """One request (or, when replaying a capture, one raw frame, read or close check)."""

    op: str  # "send", "raw", "recv", "is_closed"
    key: int = -1
    version: int = 0
    request: Any = None
    expect_response: bool = True
    conn: int = 0
    data: bytes = b""
    timeout: float = 5.0
    recorded: Any = None  # the response seen at capture time (replays learn ids from it)
    setup: bool = False
    learn: Any = None  # callable(response, binding): ids this step's response defines


@dataclass
class Sequence:
    """Steps run in order against both brokers; ``names`` maps placeholders to real names."""

    name: str
    steps: list[Step]
    names: dict[str, str] = field(default_factory=dict)
    topics: list[str] = field(default_factory=list)  # real names to delete afterwards


@dataclass(frozen=True)
class Batch:
    """A v2 record batch built when sent, since its producer id is bound per broker."""

    records: int = 1
    producer: str | None = None  # "@pid0" (transactional) or "@pid1" (idempotent)
    epoch: int = 0
    sequence: int = 0
    compression: int = 0
    corrupt: bool = False
    timestamp_delta: int = 0

    def build(self, pid: int) -> bytes:
        recs = [
            records.Record(b"k%d" % i, b"v%d" % i, [], i, i) for i in range(max(self.records, 1))
        ]
        data = records.build_batch(
            recs,
            base_timestamp=RUN_TS + self.timestamp_delta,
            compression=self.compression,
            producer_id=pid,
            producer_epoch=self.epoch if self.producer else -1,
            base_sequence=self.sequence if self.producer else -1,
            is_transactional=self.producer == "@pid0",
        )
        if self.corrupt:
            data[-1] ^= 0xFF
        return bytes(data)


@dataclass(frozen=True)
class Subscription:
    """Consumer-protocol subscription bytes naming placeholders, built with the real names."""

    topics: tuple[str, ...] = ("@t0", "@t1")

    def build(self, names: dict[str, str]) -> bytes:
        sub = ConsumerProtocolSubscription(topics=[names.get(t, t) for t in self.topics])
        return b"\x00\x01" + sub.encode(1)


@dataclass(frozen=True)
class Assignment:
    topics: tuple[str, ...] = ("@t0",)

    def build(self, names: dict[str, str]) -> bytes:
        tp = ConsumerProtocolAssignment.TopicPartition
        a = ConsumerProtocolAssignment(
            assigned_partitions=[tp(topic=names.get(t, t), partitions=[0]) for t in self.topics]
        )
        return b"\x00\x01" + a.encode(1)


def pick(*values: Any) -> st.SearchStrategy[Any]:
    return st.sampled_from(values)


TOPIC = pick("@t0", "@t0", "@t1", "@t1", "@t2", "", "bad name!", "x" * 250, "..")
GROUP = pick("@g0", "@g0", "@g1", "")
TXN = pick("@x0", "@x0", "@x1", "")
PARTITION = pick(0, 0, 1, 1, 2, -1, 2**31 - 1)
EPOCH = pick(-1, 0, 1, 7)
CONFIG_NAMES = (
    "retention.ms",
    "cleanup.policy",
    "max.message.bytes",
    "min.insync.replicas",
    "compression.type",
    "message.timestamp.type",
    "segment.bytes",
    "no.such.config",
    "",
)
CONFIG_VALUES = ("1000", "compact", "delete", "-1", "abc", "", "producer", "LogAppendTime", "2")

# Field name -> values. Chosen to reach both the valid path and each error Kafka checks for.
POOLS: dict[str, st.SearchStrategy[Any]] = {
    "acks": pick(-1, -1, 1, 0, 2, -2),
    "timeout_ms": pick(5000, 5000, 0, -1),
    "max_wait_ms": pick(0, 0, 10, 100, -1),
    "min_bytes": pick(0, 1, 1, 1000, -1),
    "max_bytes": pick(1 << 20, 1 << 20, 0, 1, 100, -1),
    "partition_max_bytes": pick(1 << 20, 1 << 20, 0, 1, 100, -1),
    "isolation_level": pick(0, 0, 1, 2, -1),
    "fetch_offset": pick(0, 0, 1, 2, 3, -1, 100, 2**63 - 1),
    "log_start_offset": pick(-1, 0, 1),
    "current_leader_epoch": EPOCH,
    "last_fetched_epoch": EPOCH,
    "leader_epoch": EPOCH,
    "committed_leader_epoch": EPOCH,
    "session_id": pick(0, 0, 0, 1, -1),
    "session_epoch": pick(-1, -1, 0, 1),
    "replica_id": pick(-1, -1, -1, 5),
    "replica_epoch": pick(-1),
    "replica_directory_id": pick(ZERO_ID),
    "timestamp": pick(-1, -2, -3, -4, -5, 0, RUN_TS, RUN_TS + 1, 2**62),
    "max_num_offsets": pick(1, 0, -1, 10),
    "num_partitions": pick(-1, 1, 2, 0, -2, 10_001),
    "replication_factor": pick(-1, 1, 1, 0, 2, -2),
    "count": pick(1, 2, 3, 4, 0, -1, 10_002),
    "broker_ids": st.lists(pick(1, 1, 0, 2, -1), max_size=2),
    "partition": PARTITION,
    "partition_index": PARTITION,
    "index": PARTITION,
    "partition_indexes": st.lists(PARTITION, max_size=3),
    "offset": pick(-1, 0, 1, 2, 3, 100),
    "committed_offset": pick(-1, 0, 1, 5, 2**63 - 1),
    "commit_timestamp": pick(-1, 0, RUN_TS),
    "retention_time_ms": pick(-1, 0, 1000),
    "committed_metadata": pick(None, "", "meta", "m" * 4097),
    "generation_id": pick(-1, 0, 1, 1, 2),
    "generation_id_or_member_epoch": pick(-1, 0, 1, 1, 2),
    "member_epoch": pick(-1, 0, 1, 2, -2),
    "session_timeout_ms": pick(10000, 10000, 6000, 5999, 0, -1, 1800001),
    "rebalance_timeout_ms": pick(-1, 0, 500, 1000),
    "protocol_type": pick("consumer", "consumer", "", "other"),
    "protocol_name": pick("range", "range", "roundrobin", ""),
    "metadata": pick(Subscription(), Subscription(("@t2",)), b"", b"\x00"),
    "assignment": pick(Assignment(), b"", b"\x00\x01"),
    "reason": pick(None, "", "why"),
    "key_type": pick(0, 0, 1, 1, 2, -1),
    "producer_id": pick("@pid0", "@pid0", "@pid1", -1, UNKNOWN_PID),
    "v3_and_below_producer_id": pick("@pid0", "@pid0", "@pid1", -1, UNKNOWN_PID),
    "producer_epoch": pick(0, 0, 1, -1, 32767),
    "v3_and_below_producer_epoch": pick(0, 0, 1, -1, 32767),
    "transaction_timeout_ms": pick(60000, 60000, 1000, 0, -1, 2**31 - 1),
    "resource_type": pick(2, 2, 4, 8, 0, 1, 99),
    "resource_name": pick("@t0", "@t0", "@t1", "@t2", "1", "", "bad name!"),
    "config_operation": pick(0, 0, 1, 2, 3, -1, 9),
    "election_type": pick(0, 1, 2, -1),
    "endpoint_type": pick(1, 1, 2, 0, 3),
    "states_filter": st.lists(pick("Empty", "Stable", "Dead", "bogus", "PreparingRebalance")),
    "types_filter": st.lists(pick("classic", "consumer", "share", "bogus"), max_size=2),
    "state_filters": st.lists(pick("Ongoing", "CompleteCommit", "bogus"), max_size=2),
    "producer_id_filters": st.lists(pick("@pid0", -1, UNKNOWN_PID), max_size=2),
    "duration_filter": pick(-1, 0, 1000, 2**62),
    "response_partition_limit": pick(2000, 1, 2, 0, -1),
    "server_assignor": pick(None, None, "uniform", "range", "bogus"),
    "subscribed_topic_regex": pick(None, None, "@re", "[unclosed"),
    "subscribed_topic_names": st.lists(TOPIC, max_size=3),
    "rack_id": pick(None, None, "", "r1"),
    "cluster_id": pick(None, None, "bogus"),
    "client_software_name": pick("kpy-differential", "", "bad name!", "-x"),
    "client_software_version": pick("1.0", "1.0", "", "bad version!"),
    "topic_id": pick(TOPIC_IDS["@t0"], TOPIC_IDS["@t1"], ZERO_ID, UNKNOWN_ID),
    "member_id": pick("@m0", "@m0", "", "unknown-member"),
    "group_instance_id": pick(None, None, "@i0"),
    "instance_id": pick(None, None, "@i0"),
    "group_id": GROUP,
    "key": pick("@g0", "@g1", "@x0", ""),
    "coordinator_keys": st.lists(pick("@g0", "@g1", "@x0", ""), max_size=3),
    "groups": st.lists(GROUP, max_size=3),
    "groups_names": st.lists(GROUP, max_size=3),
    "group_ids": st.lists(pick("@c0", "@c0", "@g0", "@g1", ""), max_size=3),
    "transactional_id": TXN,
    "v3_and_below_transactional_id": TXN,
    "transactional_ids": st.lists(TXN, max_size=3),
    "name": TOPIC,
    "topic": TOPIC,
    "topic_name": TOPIC,
    "topic_names": st.lists(TOPIC, max_size=3),
    "configuration_keys": st.lists(pick(*CONFIG_NAMES), max_size=3),
    "records": pick(
        Batch(),
        Batch(),
        Batch(records=3, compression=4),
        Batch(records=2, compression=3),
        Batch(corrupt=True),
        Batch(producer="@pid1", sequence=0),
        Batch(producer="@pid1", sequence=5),
        Batch(producer="@pid1", epoch=1),
        Batch(producer="@pid0"),
        Batch(timestamp_delta=2 * 86_400_000),
        None,
        b"",
        b"\x00" * 12,
    ),
}

# Per class: fields whose name means something else there (a config's name is not a topic).
OWNER_POOLS: dict[tuple[str, str], st.SearchStrategy[Any]] = {
    ("CreatableTopicConfig", "name"): pick(*CONFIG_NAMES),
    ("AlterableConfig", "name"): pick(*CONFIG_NAMES),
    ("CreatableTopicConfig", "value"): pick(*CONFIG_VALUES, None),
    ("AlterableConfig", "value"): pick(*CONFIG_VALUES, None),
    ("JoinGroupRequestProtocol", "name"): pick("range", "range", "roundrobin", ""),
    ("ConsumerGroupHeartbeatRequest", "member_id"): pick("@cm0", "@cm0", "", "unknown-member"),
    ("ConsumerGroupHeartbeatRequest", "group_id"): pick("@c0", "@c0", "@g0", "@c1", ""),
    ("ConsumerGroupHeartbeatRequest", "rebalance_timeout_ms"): pick(-1, 5000, 0),
}

_INTS = {"int8", "int16", "int32", "int64", "uint16"}
_GENERIC = {
    "bool": st.booleans(),
    "int8": pick(-1, 0, 1, 2, 127),
    "int16": pick(-1, 0, 1, 3, 32767),
    "uint16": pick(0, 1, 65535),
    "int32": pick(-1, 0, 1, 2, 100, 2**31 - 1),
    "int64": pick(-1, 0, 1, 2, 2**63 - 1),
    "float64": pick(0.0, 1.5),
    "uuid": pick(TOPIC_IDS["@t0"], ZERO_ID, UNKNOWN_ID),
    "string": pick("", "x", "@t0"),
    "bytes": pick(b"", b"\x00"),
    "records": pick(Batch(), b""),
}


def _owner(cls: type) -> str:
    return cls.__name__.rsplit("_", 1)[-1]


def _in(rng: tuple[int, int], version: int) -> bool:
    return rng[0] <= version <= rng[1]


def request_strategy(cls: type, version: int, flexible: bool, depth: int = 0) -> Any:
    """Instances of ``cls`` with every field that exists at ``version`` drawn from its pool."""
    module = sys.modules[cls.__module__]
    owner = _owner(cls)
    fields: dict[str, Any] = {}
    for attr, ftype, versions, nullable, tag, tagged, struct_name in cls.FIELDS:  # type: ignore[attr-defined]
        if tag is not None:
            if not (flexible and _in(tagged, version)):
                continue
        elif not _in(versions, version):
            continue
        is_array = ftype.startswith("[]")
        elem = ftype[2:] if is_array else ftype
        value: Any
        if (owner, attr) in OWNER_POOLS:
            value = OWNER_POOLS[(owner, attr)]
        elif struct_name is not None:
            inner = st.deferred(
                lambda n=struct_name: request_strategy(
                    getattr(module, n), version, flexible, depth + 1
                )
            )
            # At least one entry at the top, so that the simplest request drawn (hypothesis
            # tries it first) is a typical valid one: the sequence's own topic, partition 0.
            sizes = {"min_size": 1, "max_size": 3} if depth == 0 else {"max_size": 2}
            value = st.lists(inner, **sizes) if is_array else inner
        elif attr in POOLS:
            value = POOLS[attr]
        else:
            value = _GENERIC[elem]
            if is_array:
                value = st.lists(value, max_size=2)
        if _in(nullable, version):
            value = value | st.none()
        fields[attr] = value
    return st.builds(cls, **fields)


def _tame(request: Any) -> Any:
    """Keep a drawn request from changing what other sequences see (broker-wide config
    changes are only validated) or from costing a whole timeout (Kafka 4.4 never answers an
    AlterConfigs that names a resource twice, every unknown type counting as one, see
    differential_allow.toml; top level lists are never empty, so neither is a batched
    AddPartitionsToTxn, another), or from showing Kafka's own half-applied failure: a JoinGroup
    naming a protocol twice can leave no protocol to vote for, which both brokers answer
    UNKNOWN_SERVER_ERROR, but Kafka's group keeps the refused member's protocols, so its later
    joins differ (tests/integration/test_kafka_answers_epochs_and_votes.py covers the vote)."""
    if type(request).__name__ == "JoinGroupRequest":
        names: dict[str, Any] = {}
        for protocol in request.protocols:
            names.setdefault(protocol.name, protocol)
        request.protocols[:] = list(names.values())
    resources = getattr(request, "resources", None) or []
    if type(request).__name__ == "AlterConfigsRequest":
        seen: dict[tuple[int, str], Any] = {}
        for r in resources:
            known = r.resource_type if r.resource_type in (2, 4, 8, 16, 32) else -1
            seen.setdefault((known, r.resource_name), r)
        resources[:] = list(seen.values())
    broker_wide = any(getattr(r, "resource_type", 2) != 2 for r in resources)
    if broker_wide and hasattr(request, "validate_only"):
        request.validate_only = True
    return request


def requests_strategy(key: int, version: int, flexible: bool) -> Any:
    from kpy.protocol import api_keys

    cls = api_keys.API_KEYS[key].request_class
    return st.lists(request_strategy(cls, version, flexible).map(_tame), min_size=1, max_size=4)


# ---- setup ---------------------------------------------------------------------------------

# What each API needs besides the two topics, so that its valid path can be reached.
SETUP_NEEDS: dict[str, tuple[str, ...]] = {
    "Heartbeat": ("group",),
    "SyncGroup": ("group",),
    "LeaveGroup": ("group",),
    "JoinGroup": ("group",),
    "OffsetCommit": ("group",),
    "OffsetFetch": ("group", "commit"),
    "OffsetDelete": ("group", "commit"),
    "DescribeGroups": ("group",),
    "DeleteGroups": ("group",),
    "ListGroups": ("group", "consumer"),
    "FindCoordinator": ("group",),
    "InitProducerId": ("txn",),
    "AddPartitionsToTxn": ("txn",),
    "AddOffsetsToTxn": ("txn",),
    "EndTxn": ("txn", "open"),
    "TxnOffsetCommit": ("group", "txn", "open"),
    "DescribeTransactions": ("txn", "open"),
    "ListTransactions": ("txn", "open"),
    "DescribeProducers": ("idempotent",),
    "Produce": ("idempotent", "txn"),
    "ConsumerGroupHeartbeat": ("consumer",),
    "ConsumerGroupDescribe": ("consumer",),
}


def _learn_topic_ids(resp: Any, binding: Any) -> None:
    for t in resp.topics:
        placeholder = binding.labels.get(t.name)
        if t.error_code == 0 and placeholder in TOPIC_IDS:
            binding.bind(TOPIC_IDS[placeholder], t.topic_id, f"{placeholder}.id")


def _learn(placeholder: str, attr: str) -> Any:
    def learn(resp: Any, binding: Any) -> None:
        value = getattr(resp, attr)
        if value not in ("", None, -1):
            binding.bind(placeholder, value, placeholder)

    return learn


def setup_steps(api: str) -> list[Step]:
    """Requests every sequence for ``api`` starts with (compared too, but marked as setup)."""
    ct = CreateTopicsRequest.CreatableTopic
    steps = [
        Step(
            "send",
            19,
            7,
            CreateTopicsRequest(
                topics=[
                    ct(name="@t0", num_partitions=1, replication_factor=1),
                    ct(name="@t1", num_partitions=2, replication_factor=1),
                ],
                timeout_ms=30000,
            ),
            learn=_learn_topic_ids,
        ),
        Step("send", 0, 9, _produce([("@t0", 0, Batch(records=2)), ("@t1", 1, Batch())])),
    ]
    needs = SETUP_NEEDS.get(api, ())
    if "group" in needs:
        join = JoinGroupRequest(
            group_id="@g0",
            session_timeout_ms=10000,
            rebalance_timeout_ms=1000,
            member_id="",
            protocol_type="consumer",
            protocols=[
                JoinGroupRequest.JoinGroupRequestProtocol(name="range", metadata=Subscription())
            ],
        )
        rejoin = JoinGroupRequest(**{**_fields(join), "member_id": "@m0"})
        sync = SyncGroupRequest(
            group_id="@g0",
            generation_id=1,
            member_id="@m0",
            protocol_type="consumer",
            protocol_name="range",
            assignments=[
                SyncGroupRequest.SyncGroupRequestAssignment(
                    member_id="@m0", assignment=Assignment()
                )
            ],
        )
        steps += [
            Step("send", 11, 5, join, learn=_learn("@m0", "member_id")),
            Step("send", 11, 5, rejoin),
            Step("send", 14, 3, sync),
        ]
    if "commit" in needs:
        from kpy.protocol.messages.offset_commit import OffsetCommitRequest as OC

        steps.append(
            Step(
                "send",
                8,
                8,
                OC(
                    group_id="@g0",
                    generation_id_or_member_epoch=1,
                    member_id="@m0",
                    topics=[
                        OC.OffsetCommitRequestTopic(
                            name="@t0",
                            partitions=[
                                OC.OffsetCommitRequestPartition(
                                    partition_index=0, committed_offset=1
                                )
                            ],
                        )
                    ],
                ),
            )
        )
    if "txn" in needs:
        steps.append(
            Step(
                "send",
                22,
                4,
                InitProducerIdRequest(transactional_id="@x0", transaction_timeout_ms=60000),
                learn=_learn("@pid0", "producer_id"),
            )
        )
    if "open" in needs:
        txn = AddPartitionsToTxnRequest.AddPartitionsToTxnTopic(name="@t0", partitions=[0])
        steps += [
            Step(
                "send",
                24,
                3,
                AddPartitionsToTxnRequest(
                    v3_and_below_transactional_id="@x0",
                    v3_and_below_producer_id="@pid0",
                    v3_and_below_producer_epoch=0,
                    v3_and_below_topics=[txn],
                ),
            ),
            Step("send", 0, 9, _produce([("@t0", 0, Batch(producer="@pid0"))], "@x0")),
            Step(
                "send",
                25,
                3,
                AddOffsetsToTxnRequest(
                    transactional_id="@x0", producer_id="@pid0", producer_epoch=0, group_id="@g0"
                ),
            ),
        ]
    if "idempotent" in needs:
        steps += [
            Step(
                "send",
                22,
                4,
                InitProducerIdRequest(transactional_id=None, transaction_timeout_ms=60000),
                learn=_learn("@pid1", "producer_id"),
            ),
            Step("send", 0, 9, _produce([("@t1", 0, Batch(producer="@pid1", records=2))])),
        ]
    if "consumer" in needs:
        steps.append(
            Step(
                "send",
                68,
                0,
                ConsumerGroupHeartbeatRequest(
                    group_id="@c0",
                    member_id="",
                    member_epoch=0,
                    rebalance_timeout_ms=5000,
                    subscribed_topic_names=["@t0", "@t1"],
                    topic_partitions=[],
                ),
                learn=_learn("@cm0", "member_id"),
            )
        )
    for s in steps:
        s.setup = True
    return steps


def _fields(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__slots__ if name != "unknown_tagged_fields"}


def _produce(parts: list[tuple[str, int, Batch]], txn: str | None = None) -> ProduceRequest:
    return ProduceRequest(
        transactional_id=txn,
        acks=-1,
        timeout_ms=30000,
        topic_data=[
            ProduceRequest.TopicProduceData(
                name=name,
                partition_data=[ProduceRequest.PartitionProduceData(index=p, records=batch)],
            )
            for name, p, batch in parts
        ],
    )


def placeholder_names(prefix: str) -> dict[str, str]:
    """Placeholder -> real name for one sequence; ``prefix`` is unique to the sequence."""
    names = {f"@t{i}": f"{prefix}-t{i}" for i in range(3)}
    names.update({f"@g{i}": f"{prefix}-g{i}" for i in range(2)})
    names.update({f"@c{i}": f"{prefix}-c{i}" for i in range(2)})
    names.update({f"@x{i}": f"{prefix}-x{i}" for i in range(2)})
    names["@i0"] = f"{prefix}-i0"
    names["@re"] = f"{prefix}-t.*"
    return names


# ---- sequences -----------------------------------------------------------------------------


def generated(info: Any, version: int, examples: int, seed: int) -> list[list[Any]]:
    """Up to ``examples`` request lists for one API version, the same for the same seed."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as with_seed

    drawn: list[list[Any]] = []
    strategy = requests_strategy(info.key, version, info.is_flexible(version))

    @with_seed(seed)
    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def draw(requests: list[Any]) -> None:
        drawn.append(requests)

    draw()
    return drawn


def sequence(info: Any, version: int, requests: list[Any], prefix: str) -> Sequence:
    """Setup plus the drawn requests, with placeholders replaced by this sequence's names."""
    names = placeholder_names(prefix)
    steps = setup_steps(info.name) + [
        Step("send", info.key, version, r, expect_response=getattr(r, "acks", 1) != 0)
        for r in requests
    ]
    for s in steps:
        s.request = bind_names(s.request, names)
    topics = [names[f"@t{i}"] for i in range(3)]
    return Sequence(f"{info.name} v{version} {prefix}", steps, names, topics)


def map_leaves(obj: Any, leaf: Callable[[str, str, Any], Any]) -> Any:
    """A copy of message ``obj`` whose every field that is not a struct holds
    ``leaf(attr, type, value)`` (a list item by item, with the item's type); structs are walked
    the same way."""
    new = copy.copy(obj)
    for attr, ftype, *_rest, struct_name in type(obj).FIELDS:
        value = getattr(obj, attr)
        if struct_name is not None:
            if isinstance(value, list):
                value = [map_leaves(v, leaf) for v in value]
            elif value is not None:
                value = map_leaves(value, leaf)
        elif isinstance(value, list):
            item = ftype[2:] if ftype.startswith("[]") else ftype
            value = [leaf(attr, item, v) for v in value]
        else:
            value = leaf(attr, ftype, value)
        setattr(new, attr, value)
    return new


def bind_names(obj: Any, names: dict[str, str]) -> Any:
    """A copy of ``obj`` with placeholder names replaced and consumer-protocol bytes built."""
    return map_leaves(obj, lambda _attr, _type, value: _name(value, names))


def _name(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, (Subscription, Assignment)):
        return value.build(names)
    return value
