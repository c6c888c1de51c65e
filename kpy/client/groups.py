"""Consumer groups on a ``Client``: list, describe (members, committed offsets and lag), seek
(reset committed offsets) and delete, as Kafka's AdminClient and kafka-consumer-groups.sh do
them. Shared by the ``kpy group`` commands and the console; nothing here prints.

Describing asks ConsumerGroupDescribe (KIP-848 groups) first and falls back to DescribeGroups
for the groups it does not know (classic groups, which Kafka answers GROUP_ID_NOT_FOUND), as
Kafka's AdminClient does. Lag is the log end offset (ListOffsets latest, read_uncommitted,
as kafka-consumer-groups.sh shows it) minus the committed offset.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from kpy.client.client import Client, ClientError, check, error_name
from kpy.client.offsets import list_offsets, watermarks
from kpy.protocol.error_codes import ErrorCode
from kpy.protocol.messages.consumer_group_describe import ConsumerGroupDescribeRequest
from kpy.protocol.messages.consumer_protocol_assignment import ConsumerProtocolAssignment
from kpy.protocol.messages.delete_groups import DeleteGroupsRequest
from kpy.protocol.messages.describe_groups import DescribeGroupsRequest
from kpy.protocol.messages.list_groups import ListGroupsRequest
from kpy.protocol.messages.offset_commit import OffsetCommitRequest
from kpy.protocol.messages.offset_fetch import OffsetFetchRequest
from kpy.protocol.primitives import ProtocolError

TopicPartition = tuple[str, int]
# States in which a group has no members, so an outsider may commit offsets for it (Kafka
# answers UNKNOWN_MEMBER_ID otherwise, for classic and consumer groups alike).
INACTIVE_STATES = ("Empty", "Dead")


@dataclass(slots=True)
class GroupListing:
    group_id: str
    type: str  # classic, consumer, share, streams
    state: str
    protocol_type: str


@dataclass(slots=True)
class Coordinator:
    node_id: int
    host: str
    port: int


@dataclass(slots=True)
class Member:
    member_id: str
    client_id: str
    host: str
    instance_id: str | None
    assignment: dict[str, list[int]]  # topic -> partitions, sorted


@dataclass(slots=True)
class PartitionOffset:
    """One row of kafka-consumer-groups.sh --describe: a partition a member holds or the
    group committed an offset for. None where there is nothing to show (no commit yet, no
    member holding it, a topic that no longer exists)."""

    topic: str
    partition: int
    current_offset: int | None
    log_end_offset: int | None
    lag: int | None
    member_id: str | None = None
    host: str | None = None
    client_id: str | None = None


@dataclass(slots=True)
class GroupDescription:
    group_id: str
    type: str  # "consumer" (KIP-848, from ConsumerGroupDescribe) or "classic"
    state: str
    protocol_type: str
    assignor: str
    coordinator: Coordinator
    members: list[Member] = field(default_factory=list)
    offsets: list[PartitionOffset] = field(default_factory=list)
    total_lag: int = 0


@dataclass(slots=True)
class OffsetChange:
    topic: str
    partition: int
    current_offset: int | None  # what the group had committed, None if nothing
    new_offset: int


@dataclass(slots=True)
class GroupDeletion:
    group_id: str
    error: str | None  # Kafka's error name, None when deleted


@dataclass(frozen=True, slots=True)
class SeekTarget:
    """Where ``seek`` moves a group: "earliest", "latest", "offset" (``value``, clamped to the
    partition's range as kafka-consumer-groups.sh does) or "timestamp" (``value`` in ms: the
    first offset at or after it, the end where there is none)."""

    kind: str
    value: int | None = None

    @classmethod
    def parse(cls, text: str) -> SeekTarget:
        """``earliest``, ``latest``, an offset, ``@MILLIS`` or ``@ISO-DATETIME`` (without a
        zone: local time, as kafka-consumer-groups.sh --to-datetime reads it)."""
        text = text.strip()
        if text in ("earliest", "latest"):
            return cls(text)
        if text.startswith("@"):
            stamp = text[1:]
            if stamp.isdigit():
                return cls("timestamp", int(stamp))
            try:
                when = dt.datetime.fromisoformat(stamp)
            except ValueError:
                raise ValueError(
                    f"timestamp {stamp!r} is neither milliseconds nor an ISO date-time"
                ) from None
            return cls("timestamp", int(when.timestamp() * 1000))
        if text.isdigit():
            return cls("offset", int(text))
        raise ValueError(f"seek target {text!r} is not earliest, latest, an offset or @TIMESTAMP")


# -- listing -------------------------------------------------------------------------------


async def list_groups(
    client: Client, *, states: Iterable[str] = (), types: Iterable[str] = ()
) -> list[GroupListing]:
    """Every group of every broker (each answers for the groups it coordinates), by id;
    ``states`` / ``types`` keep those in one of the states / types (any case)."""
    states = [s.lower() for s in states]
    types = [t.lower() for t in types]
    await client.refresh_metadata([])
    found: dict[str, GroupListing] = {}
    for node in sorted(client.cluster.brokers):
        version = await client.version(ListGroupsRequest.API_KEY, node)
        request = ListGroupsRequest(
            states_filter=states if version >= 4 else [],
            types_filter=types if version >= 5 else [],
        )
        answer = await client.send(request, node=node, version=version)
        check(answer.error_code, f"ListGroups on broker {node}")
        for g in answer.groups:
            found[g.group_id] = GroupListing(
                g.group_id, g.group_type or "classic", g.group_state, g.protocol_type
            )
    # Brokers older than ListGroups v4/v5 ignore the filters: apply them here as well.
    return sorted(
        (
            g
            for g in found.values()
            if (not states or g.state.lower() in states) and (not types or g.type in types)
        ),
        key=lambda g: g.group_id,
    )


# -- describing ----------------------------------------------------------------------------


async def describe_groups(
    client: Client, group_ids: Iterable[str], *, offsets: bool = True
) -> list[GroupDescription]:
    """Each group's state, assignor, coordinator and members with their assignments, in the
    order asked; with ``offsets`` also the committed offset, log end offset and lag of every
    partition a member holds or the group committed. A group that does not exist raises
    GROUP_ID_NOT_FOUND."""
    group_ids = list(dict.fromkeys(group_ids))
    described: dict[str, GroupDescription] = {}
    for node, ids in (await _by_coordinator(client, group_ids)).items():
        broker = client.cluster.brokers[node]
        coordinator = Coordinator(node, broker.host, broker.port)
        classic = await _describe_consumer_groups(client, node, ids, coordinator, described)
        if classic:
            await _describe_classic_groups(client, node, classic, coordinator, described)
    out = [described[g] for g in group_ids]
    if offsets:
        for d in out:
            await _fill_offsets(client, d)
    return out


async def _by_coordinator(client: Client, group_ids: list[str]) -> dict[int, list[str]]:
    """The groups each coordinator answers for (requests about groups go there)."""
    out: dict[int, list[str]] = {}
    for g in group_ids:
        out.setdefault(await client.coordinator(g), []).append(g)
    return out


async def describe_group(client: Client, group_id: str) -> GroupDescription:
    """One group, as ``describe_groups`` describes it (with its offsets and lag)."""
    (described,) = await describe_groups(client, [group_id])
    return described


async def _describe_consumer_groups(
    client: Client,
    node: int,
    ids: list[str],
    coordinator: Coordinator,
    into: dict[str, GroupDescription],
) -> list[str]:
    """Describe KIP-848 groups into ``into``; return the ids to ask DescribeGroups about."""
    try:
        answer = await client.send(ConsumerGroupDescribeRequest(group_ids=ids), node=node)
    except ClientError as exc:
        if exc.code == ErrorCode.UNSUPPORTED_VERSION:  # a broker without KIP-848
            return ids
        raise
    rest = []
    for g in answer.groups:
        if g.error_code == ErrorCode.GROUP_ID_NOT_FOUND:
            rest.append(g.group_id)
            continue
        check(g.error_code, f"describing group {g.group_id!r}", g.error_message)
        members = [
            Member(
                m.member_id,
                m.client_id,
                m.client_host,
                m.instance_id,
                _sorted_assignment(
                    (tp.topic_name, tp.partitions) for tp in m.assignment.topic_partitions
                ),
            )
            for m in g.members
        ]
        into[g.group_id] = GroupDescription(
            g.group_id, "consumer", g.group_state, "consumer", g.assignor_name, coordinator, members
        )
    return rest


async def _describe_classic_groups(
    client: Client,
    node: int,
    ids: list[str],
    coordinator: Coordinator,
    into: dict[str, GroupDescription],
) -> None:
    answer = await client.send(DescribeGroupsRequest(groups=ids), node=node)
    for g in answer.groups:
        check(g.error_code, f"describing group {g.group_id!r}")
        if g.group_state == "Dead":
            raise ClientError(ErrorCode.GROUP_ID_NOT_FOUND, await _missing(client, g.group_id))
        members = [
            Member(
                m.member_id,
                m.client_id,
                m.client_host,
                m.group_instance_id,
                decode_assignment(m.member_assignment) if g.protocol_type == "consumer" else {},
            )
            for m in g.members
        ]
        into[g.group_id] = GroupDescription(
            g.group_id,
            "classic",
            g.group_state,
            g.protocol_type,
            g.protocol_data,
            coordinator,
            members,
        )


async def _missing(client: Client, group_id: str) -> str:
    """Why a group neither describe request knows is missing: share and streams groups
    answer both as unknown, but ListGroups names them."""
    for g in await list_groups(client):
        if g.group_id == group_id:
            return f"group {group_id!r} is a {g.type} group: only consumer groups are described"
    return f"group {group_id!r} does not exist"


def decode_assignment(data: bytes | None) -> dict[str, list[int]]:
    """The partitions of a classic consumer's ConsumerProtocolAssignment (an int16 version,
    then the v0 layout that later versions only extend); empty if it cannot be read."""
    if not data or len(data) < 2:
        return {}
    version = min(int.from_bytes(data[:2], "big", signed=True), 3)
    try:
        assignment, _ = ConsumerProtocolAssignment.read(memoryview(data), 2, max(version, 0))
    except (ProtocolError, ValueError, IndexError):
        return {}
    return _sorted_assignment((tp.topic, tp.partitions) for tp in assignment.assigned_partitions)


def _sorted_assignment(pairs: Iterable[tuple[str, list[int]]]) -> dict[str, list[int]]:
    out: dict[str, set[int]] = {}
    for topic, partitions in pairs:
        out.setdefault(topic, set()).update(partitions)
    return {t: sorted(ps) for t, ps in sorted(out.items())}


async def committed_offsets(
    client: Client,
    group_id: str,
    partitions: Mapping[str, list[int]] | None = None,
    *,
    member_id: str | None = None,
    member_epoch: int = -1,
) -> dict[TopicPartition, int]:
    """The offsets ``group_id`` committed (OffsetFetch of ``partitions`` by topic, else of
    every topic), by partition; partitions without one are left out. A KIP-848 member passes
    its id and epoch (OffsetFetch v9+), which the coordinator checks."""
    node = await client.coordinator(group_id)
    version = await client.version(OffsetFetchRequest.API_KEY, node)
    R = OffsetFetchRequest
    if version >= 8:  # batched by group; no topics: every topic
        topics = None
        if partitions is not None:
            topics = [
                R.OffsetFetchRequestTopics(name=t, partition_indexes=list(ps))
                for t, ps in partitions.items()
            ]
        member = {}
        if member_id and version >= 9:  # KIP-848's member check
            member = {"member_id": member_id, "member_epoch": member_epoch}
        request = R(groups=[R.OffsetFetchRequestGroup(group_id=group_id, topics=topics, **member)])
    else:
        topics = None
        if partitions is not None:
            topics = [
                R.OffsetFetchRequestTopic(name=t, partition_indexes=list(ps))
                for t, ps in partitions.items()
            ]
        request = R(group_id=group_id, topics=topics)
    answer = await client.send(request, node=node, version=version)
    if answer.groups:  # v8+: one entry per group asked
        entry = answer.groups[0]
        check(entry.error_code, f"fetching offsets of group {group_id!r}")
        answered = entry.topics
    else:
        check(answer.error_code, f"fetching offsets of group {group_id!r}")
        answered = answer.topics
    out = {}
    for t in answered:
        for p in t.partitions:
            check(
                p.error_code,
                f"fetching offsets of group {group_id!r} for {t.name}-{p.partition_index}",
            )
            if p.committed_offset >= 0:
                out[(t.name, p.partition_index)] = p.committed_offset
    return dict(sorted(out.items()))


async def _existing(client: Client, topics: Iterable[str]) -> set[str]:
    """Those of ``topics`` that metadata knows (committed offsets outlive their topic)."""
    names = sorted(set(topics))
    if not names:
        return set()
    answer = await client.metadata(names)
    return {t.name for t in answer.topics if t.error_code == 0}


async def _end_offsets(client: Client, tps: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
    """Log end offsets (read_uncommitted) of those partitions whose topic still exists."""
    tps = list(tps)
    existing = await _existing(client, (t for t, _ in tps))
    wanted = [tp for tp in tps if tp[0] in existing]
    return await list_offsets(client, wanted, "latest") if wanted else {}


async def _fill_offsets(client: Client, group: GroupDescription) -> None:
    committed = await committed_offsets(client, group.group_id)
    holder: dict[TopicPartition, Member] = {}
    for m in group.members:
        for topic, partitions in m.assignment.items():
            for p in partitions:
                holder[(topic, p)] = m
    rows = sorted(set(committed) | set(holder))
    ends = await _end_offsets(client, rows)
    group.offsets = []
    for tp in rows:
        current, end, member = committed.get(tp), ends.get(tp), holder.get(tp)
        lag = end - current if current is not None and end is not None else None
        group.offsets.append(
            PartitionOffset(
                tp[0],
                tp[1],
                current,
                end,
                lag,
                member.member_id if member else None,
                member.host if member else None,
                member.client_id if member else None,
            )
        )
    group.total_lag = sum(r.lag for r in group.offsets if r.lag is not None)


# -- seeking -------------------------------------------------------------------------------


async def plan_seek(
    client: Client,
    group_id: str,
    target: SeekTarget,
    topics: Mapping[str, Iterable[int] | None] | None = None,
) -> list[OffsetChange]:
    """The offsets ``seek_offsets`` would commit: for ``topics`` (topic -> partitions, None
    for all of its partitions), by default every partition the group committed an offset
    for."""
    committed = await committed_offsets(client, group_id)
    if topics is None:
        if not committed:
            raise ValueError(f"group {group_id!r} has no committed offsets: name the topics")
        wanted = list(committed)
    else:
        wanted = await _partitions(client, topics)
    if target.kind in ("earliest", "latest"):
        new = await list_offsets(client, wanted, target.kind)
    elif target.kind == "offset":
        assert target.value is not None
        marks = await watermarks(client, wanted)
        new = {tp: min(max(target.value, low), high) for tp, (low, high) in marks.items()}
    elif target.kind == "timestamp":
        assert target.value is not None
        found = await list_offsets(client, wanted, target.value)
        missing = [tp for tp, o in found.items() if o < 0]  # nothing that late: the end
        high = await list_offsets(client, missing, "latest") if missing else {}
        new = {tp: found[tp] if found[tp] >= 0 else high[tp] for tp in wanted}
    else:
        raise ValueError(f"unknown seek target {target.kind!r}")
    return [OffsetChange(t, p, committed.get((t, p)), new[(t, p)]) for t, p in sorted(wanted)]


async def _partitions(
    client: Client, topics: Mapping[str, Iterable[int] | None]
) -> list[TopicPartition]:
    answer = await client.metadata(sorted(topics))
    known = {t.name: t for t in answer.topics}
    out = []
    for name, partitions in topics.items():
        t = known.get(name)
        check(
            ErrorCode.UNKNOWN_TOPIC_OR_PARTITION if t is None else t.error_code, f"topic {name!r}"
        )
        present = {p.partition_index for p in t.partitions}
        chosen = sorted(present) if partitions is None else sorted(set(partitions))
        for p in chosen:
            if p not in present:
                raise ClientError(
                    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"topic {name!r} has no partition {p}"
                )
            out.append((name, p))
    return out


async def seek_offsets(
    client: Client,
    group_id: str,
    target: SeekTarget,
    topics: Mapping[str, Iterable[int] | None] | None = None,
    *,
    dry_run: bool = False,
) -> list[OffsetChange]:
    """Commit the offsets ``plan_seek`` gives (unless ``dry_run``) and return them. Only a
    group without members can be moved: otherwise NON_EMPTY_GROUP naming its state, before
    anything is committed (kafka-consumer-groups.sh refuses the same way)."""
    state = await group_state(client, group_id)
    if state not in INACTIVE_STATES:
        raise ClientError(
            ErrorCode.NON_EMPTY_GROUP,
            # kafka-consumer-groups.sh's words for it
            f"assignments can only be reset if the group {group_id!r} is inactive,"
            f" but the current state is {state}",
        )
    changes = await plan_seek(client, group_id, target, topics)
    if not dry_run and changes:
        await commit_offsets(
            client, group_id, {(c.topic, c.partition): c.new_offset for c in changes}
        )
    return changes


async def group_state(client: Client, group_id: str) -> str:
    """The group's state; "Dead" for a group that does not exist."""
    try:
        (d,) = await describe_groups(client, [group_id], offsets=False)
    except ClientError as exc:
        if exc.code == ErrorCode.GROUP_ID_NOT_FOUND:
            return "Dead"
        raise
    return d.state


async def commit_offsets(
    client: Client, group_id: str, offsets: Mapping[TopicPartition, int]
) -> None:
    """A simple commit (generation -1, no member id), as an admin client makes it: accepted
    only while the group has no members (UNKNOWN_MEMBER_ID otherwise)."""
    topics: dict[str, list[OffsetCommitRequest.OffsetCommitRequestPartition]] = {}
    for (topic, partition), offset in sorted(offsets.items()):
        topics.setdefault(topic, []).append(
            OffsetCommitRequest.OffsetCommitRequestPartition(
                partition_index=partition, committed_offset=offset
            )
        )
    request = OffsetCommitRequest(
        group_id=group_id,
        generation_id_or_member_epoch=-1,
        member_id="",
        topics=[
            OffsetCommitRequest.OffsetCommitRequestTopic(name=t, partitions=ps)
            for t, ps in topics.items()
        ],
    )
    answer = await client.send_to_coordinator(group_id, request)
    for t in answer.topics:
        for p in t.partitions:
            check(
                p.error_code,
                f"committing group {group_id!r} offset for {t.name}-{p.partition_index}",
            )


# -- deleting ------------------------------------------------------------------------------


async def delete_groups(client: Client, group_ids: Iterable[str]) -> list[GroupDeletion]:
    """Delete each group at its coordinator; every group is tried, and each result names the
    error (NON_EMPTY_GROUP for a group with members, GROUP_ID_NOT_FOUND) or None."""
    group_ids = list(dict.fromkeys(group_ids))
    errors: dict[str, int] = {}
    for node, ids in (await _by_coordinator(client, group_ids)).items():
        answer = await client.send(DeleteGroupsRequest(groups_names=ids), node=node)
        for r in answer.results:
            errors[r.group_id] = r.error_code
    return [GroupDeletion(g, error_name(errors[g]) if errors.get(g) else None) for g in group_ids]
