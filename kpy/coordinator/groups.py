"""The group coordinator: classic and KIP-848 groups, and their committed offsets.

It owns ``__consumer_offsets``: committed offsets, classic group metadata and KIP-848 group
epochs are written there before they are applied or answered (write, then apply), and
replayed from it on start-up. The topic is created on first use (FindCoordinator, or the
first request that writes to it), in a worker thread; until it exists nothing is written.
Membership lives in classic_groups.py (JoinGroup/SyncGroup/Heartbeat/LeaveGroup) and
consumer_group.py (ConsumerGroupHeartbeat); both share this coordinator's timers.

Offsets of a group without members expire offsets.retention.minutes after their newest
commit. That is a timer per group, fired at its deadline (Kafka scans every
offsets.retention.check.interval.ms instead); a write that fails there is retried by the
guard (runtime.py), never raised into the broker.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import trio

from kpy.coordinator import offsets as store
from kpy.coordinator.classic_groups import ClassicGroups, JoinResult, require_group_id
from kpy.coordinator.consumer_group import ConsumerGroup, ConsumerGroups
from kpy.coordinator.group import COMPLETING_REBALANCE, DEAD, EMPTY, Group
from kpy.coordinator.offsets import CommittedOffset
from kpy.coordinator.runtime import Guard, create_internal, load_internal, trio_deadline
from kpy.coordinator.timers import Timers
from kpy.protocol import records
from kpy.protocol.error_codes import ErrorCode, KafkaError

if TYPE_CHECKING:
    from kpy.coordinator.assignors import Assignment
    from kpy.coordinator.runtime import CoordinatorContext

__all__ = ["GroupCoordinator", "GroupListing", "JoinResult", "require_group_id"]

log = logging.getLogger("kpy.coordinator")


@dataclass(frozen=True, slots=True)
class GroupListing:
    """A group as ListGroups shows it."""

    group_id: str
    protocol_type: str
    state: str
    group_type: str  # "classic" or "consumer"


class GroupCoordinator:
    def __init__(self, ctx: CoordinatorContext) -> None:
        self.ctx = ctx
        self.partitions = ctx.config("offsets.topic.num.partitions")
        self.segment_bytes = ctx.config("offsets.topic.segment.bytes")
        self.retention_ms = ctx.config("offsets.retention.minutes") * 60_000
        self.metadata_max = ctx.config("offset.metadata.max.bytes")
        self._topic_ready = False
        self.guard = Guard("group coordinator")
        self.timers = Timers(self.guard)
        self.classic = ClassicGroups(ctx.config, self.timers, self._store_group)
        # KIP-848 groups, see consumer_group.py; they share the timers and this topic.
        self.consumer = ConsumerGroups(ctx, self.timers, self._store_consumer_group)
        # Every group with offsets, classic or not, is a Group here (the classic groups').
        self.groups = self.classic.groups

    def statistics(self) -> dict[str, int]:
        return {**self.classic.statistics(), **self.guard.statistics()}

    # -- __consumer_offsets: creation and replay ------------------------------------------------

    async def load(self) -> None:
        """Replay __consumer_offsets if it exists; like Kafka, the topic itself is created
        on first use (FindCoordinator or the first write), which keeps start-up fast."""
        topic = self.ctx.topic(store.OFFSETS_TOPIC)
        if topic is None:
            return
        self.partitions = topic.partitions
        self._topic_ready = True
        await load_internal(
            self.ctx, store.OFFSETS_TOPIC, self.partitions, store.group_of_key, self._apply
        )
        log.info("loaded %d groups from %s", len(self.groups), store.OFFSETS_TOPIC)
        # Offsets of topics that no longer exist can only be left over from a deletion the
        # broker did not finish (a crash between the topic and its tombstones), or from data
        # written before kpy removed them: commits of unknown topics are refused.
        for name in sorted({t for g in self.groups.values() for t, _ in g.offsets}):
            if self.ctx.topic(name) is None:
                self.forget_topic(name)
        for group in self.groups.values():
            self._schedule_expiry(group)

    async def ensure_topic(self) -> None:
        """Create __consumer_offsets unless it exists, in a worker thread; until it does the
        coordinator is not available (COORDINATOR_NOT_AVAILABLE, which clients retry)."""
        if self._topic_ready:
            return
        configs = {
            "cleanup.policy": "compact",
            "compression.type": "producer",
            "segment.bytes": str(self.segment_bytes),
        }
        self.partitions = await create_internal(
            self.ctx, store.OFFSETS_TOPIC, self.partitions, configs
        )
        self._topic_ready = True

    def _apply(self, r: records.Record) -> None:
        rec = store.decode_record(r)
        if rec is None:
            return
        if rec.kind == "consumer-group":
            self.consumer.restore(rec.group, rec.group_value)
        elif rec.kind == "offset":
            if rec.offset is None:
                group = self.groups.get(rec.group)
                if group is not None:
                    group.offsets.pop((rec.topic, rec.partition), None)
            else:
                self.classic.get_or_create(rec.group).offsets[(rec.topic, rec.partition)] = (
                    rec.offset
                )
        elif rec.group_value is None:
            group = self.groups.get(rec.group)
            if group is not None and not group.offsets:
                del self.groups[rec.group]
        else:
            group = self.classic.get_or_create(rec.group)
            v = rec.group_value
            # Members must rejoin after a restart; the generation carries on.
            group.generation_id = v.generation
            group.protocol_type = v.protocol_type or None
            group.protocol_name = v.protocol or None

    def offsets_partition(self, group_id: str) -> int:
        """The __consumer_offsets partition of ``group_id``."""
        return store.partition_for(group_id, self.partitions)

    def _write(self, group_id: str, recs: list[records.Record]) -> None:
        """Append ``recs`` to the group's partition; raises KafkaError or OSError."""
        if not self._topic_ready:
            raise KafkaError(
                ErrorCode.COORDINATOR_NOT_AVAILABLE, f"{store.OFFSETS_TOPIC} does not exist yet"
            )
        self.ctx.append_internal(
            store.OFFSETS_TOPIC,
            self.offsets_partition(group_id),
            store.batch_of(recs, self.ctx.now_ms()),
        )

    # -- deadlines -------------------------------------------------------------------------------

    async def run(self) -> None:
        """Fire the deadlines (for the broker's lifetime); failures are retried, never raised."""
        await self.guard.supervise("timers", self.timers.run)

    def expire_due(self) -> None:
        self.classic.expire_due()

    def _schedule_expiry(self, group: Group) -> None:
        """Expire the group's offsets retention after their newest commit (checked again
        then: a member or a newer commit puts it off)."""
        if not group.offsets:
            self.timers.cancel(("offset expiry", group.group_id))
            return
        newest = max(o.commit_timestamp for o in group.offsets.values())
        group_id = group.group_id
        self.timers.schedule(
            ("offset expiry", group_id),
            trio_deadline(self.ctx, newest + self.retention_ms + 1),
            lambda now: self._expire_offsets(group_id),
        )

    def _has_members(self, group_id: str) -> bool:
        group = self.groups.get(group_id)
        return bool(group is not None and group.members) or self.consumer.has_members(group_id)

    def _expire_offsets(self, group_id: str) -> None:
        group = self.groups.get(group_id)
        if group is None or not group.offsets:
            return
        newest = max(o.commit_timestamp for o in group.offsets.values())
        if self._has_members(group_id) or group.state not in (EMPTY, DEAD):
            # Looked at again a retention period from now (or when it empties, see
            # _store_group), as long as it has members.
            self.timers.schedule(
                ("offset expiry", group_id),
                trio.current_time() + self.retention_ms / 1000,
                lambda now: self._expire_offsets(group_id),
            )
            return
        if self.ctx.now_ms() - newest <= self.retention_ms:
            self._schedule_expiry(group)
            return
        # Raises if the tombstones cannot be written: the guard retries after a backoff.
        self._write(group_id, [store.offset_record(group_id, t, p, None) for t, p in group.offsets])
        log.info("group %s: %d committed offset(s) expired", group_id, len(group.offsets))
        group.offsets.clear()

    # -- JoinGroup / SyncGroup / Heartbeat / LeaveGroup / ConsumerGroupHeartbeat ----------------

    async def join(self, req: Any, version: int, client_id: str, client_host: str) -> JoinResult:
        await self.ensure_topic()
        self.expire_due()
        group_id = req.group_id
        require_group_id(group_id)
        consumer_group = self.consumer.groups.get(group_id)
        if consumer_group is not None:
            if consumer_group.members:
                raise KafkaError(
                    ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
                    f"group {group_id} is a consumer group with members",
                )
            # An empty consumer group gives way to the classic group, as in Kafka.
            self.consumer.delete(group_id)
        return await self.classic.join(req, version, client_id, client_host)

    async def sync(self, req: Any, version: int) -> tuple[int, bytes, Group | None]:
        await self.ensure_topic()
        return await self.classic.sync(req, version)

    def heartbeat(self, req: Any) -> None:
        self.classic.heartbeat(req)

    def leave(self, group_id: str, member_id: str, instance_id: str | None) -> None:
        self.classic.leave(group_id, member_id, instance_id)

    async def consumer_heartbeat(
        self, req: Any, client_id: str, client_host: str, version: int
    ) -> tuple[str, int, list[tuple[Any, list[int]]] | None]:
        """ConsumerGroupHeartbeat: (member id, member epoch, assignment or None)."""
        await self.ensure_topic()
        self.expire_due()
        classic = self.groups.get(req.group_id)
        return self.consumer.heartbeat(
            req,
            client_id,
            client_host,
            trio.current_time(),
            classic_busy=classic is not None and bool(classic.members),
            version=version,
        )

    @property
    def consumer_heartbeat_interval_ms(self) -> int:
        return self.consumer.heartbeat_ms

    # -- queries (ListGroups, DescribeGroups, ConsumerGroupDescribe) ----------------------------

    def list_groups(self) -> list[GroupListing]:
        """Every group: classic ones (and groups that only hold offsets), then KIP-848 ones."""
        self.expire_due()
        listed = [
            GroupListing(g.group_id, g.protocol_type or "", g.state, "classic")
            for g in self.groups.values()
            if g.group_id not in self.consumer.groups  # offsets of a consumer group
        ]
        for cg in self.consumer.all():
            listed.append(
                GroupListing(
                    group_id=cg.group_id,
                    protocol_type="consumer",
                    state=cg.state,
                    group_type="consumer",
                )
            )
        return listed

    def describe_group(self, group_id: str) -> Group | None:
        """The classic group ``group_id`` (to read, not to change); None if there is none
        (a KIP-848 group is none here)."""
        self.expire_due()
        if self.consumer.describe(group_id) is not None:
            return None
        return self.groups.get(group_id)

    def describe_consumer_group(self, group_id: str) -> ConsumerGroup | None:
        """The KIP-848 group ``group_id`` (to read, not to change), or None."""
        self.expire_due()
        return self.consumer.describe(group_id)

    def describe_assignment(self, a: Assignment) -> list[tuple[Any, str, list[int]]]:
        """(topic id, name, partitions) of an assignment, by name, existing topics only."""
        return self.consumer.describe_assignment(a)

    # -- offsets ---------------------------------------------------------------------------------

    def check_commit(
        self,
        group_id: str,
        generation: int,
        member_id: str,
        instance_id: str | None,
        *,
        version: int | None = None,
    ) -> None:
        """May this member commit offsets to the group? ``version`` is OffsetCommit's; None
        for TxnOffsetCommit, which refuses the group id '' (OffsetCommit takes it, as Kafka
        does for old clients)."""
        self.expire_due()
        if version is None:
            require_group_id(group_id)
        if self.consumer.check_commit(group_id, member_id, generation):
            return
        group = self.groups.get(group_id)
        if group is None or (generation < 0 and not group.members):
            if generation >= 0 and group is None:
                # OffsetCommit v9 says so for both protocols; older versions as before.
                if version is not None and version >= 9:
                    raise KafkaError(
                        ErrorCode.GROUP_ID_NOT_FOUND, f"group {group_id} does not exist"
                    )
                raise KafkaError(
                    ErrorCode.ILLEGAL_GENERATION, f"group {group_id} has no generation {generation}"
                )
            return
        self.classic.known_member(group, member_id, instance_id)
        if generation != group.generation_id:
            raise KafkaError(
                ErrorCode.ILLEGAL_GENERATION,
                f"generation {generation} is not {group.generation_id}",
            )
        if group.state == COMPLETING_REBALANCE:
            raise KafkaError(ErrorCode.REBALANCE_IN_PROGRESS, "the group is rebalancing")
        self.classic.touch(group, group.members[member_id])

    def check_partition(self, topic: str, partition: int, metadata: str | None) -> None:
        t = self.ctx.topic(topic)
        if t is None or not 0 <= partition < t.partitions:
            raise KafkaError(
                ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"{topic}-{partition} does not exist"
            )
        self.check_metadata(metadata)

    def check_metadata(self, metadata: str | None) -> None:
        if metadata is not None and len(metadata.encode()) > self.metadata_max:
            raise KafkaError(ErrorCode.OFFSET_METADATA_TOO_LARGE, "offset metadata too large")

    def known_partitions(self, topics: list[Any]) -> tuple[list[Any], list[Any]]:
        """Split the topics of an offset commit as Kafka does before the group is asked:
        (name, partition indexes) that do not exist, in the order asked (an unknown topic
        even without partitions), and (name, partitions) of the rest (a known topic only when
        one of its partitions exists)."""
        refused: list[tuple[str, list[int]]] = []
        known: list[tuple[str, list[Any]]] = []
        for t in topics:
            topic = self.ctx.topic(t.name)
            if topic is None:
                refused.append((t.name, [p.partition_index for p in t.partitions]))
                continue
            ok, bad = [], []
            for p in t.partitions:
                if 0 <= p.partition_index < topic.partitions:
                    ok.append(p)
                else:
                    bad.append(p.partition_index)
            if bad:
                refused.append((t.name, bad))
            if ok:
                known.append((t.name, ok))
        return refused, known

    async def commit(self, group_id: str, offsets: dict[tuple[str, int], CommittedOffset]) -> None:
        """Store offsets durably (in __consumer_offsets), then make them visible."""
        if offsets:
            await self.ensure_topic()
            self.apply_commit(group_id, offsets)

    def apply_commit(self, group_id: str, offsets: dict[tuple[str, int], CommittedOffset]) -> None:
        """``commit`` once the topic exists (the transaction coordinator's, at a commit)."""
        if not offsets:
            return
        self._write(
            group_id, [store.offset_record(group_id, t, p, o) for (t, p), o in offsets.items()]
        )
        group = self.classic.get_or_create(group_id)
        group.offsets.update(offsets)
        self._schedule_expiry(group)

    def committed(self, group_id: str) -> dict[tuple[str, int], CommittedOffset]:
        group = self.groups.get(group_id)
        return group.offsets if group is not None else {}

    def committed_offsets(self) -> dict[str, dict[tuple[str, int], int]]:
        """{group id: {(topic, partition): committed offset}} of every group holding offsets,
        classic or KIP-848 (for metrics: read as they are, nothing expires here)."""
        return {
            group_id: {tp: c.offset for tp, c in group.offsets.items()}
            for group_id, group in self.groups.items()
            if group.offsets
        }

    def _store_group(self, group: Group) -> None:
        from kpy.protocol.internal import GroupMetadataValue

        value = GroupMetadataValue(
            protocol_type=group.protocol_type or "",
            generation=group.generation_id,
            protocol=group.protocol_name,
            leader=group.leader_id,
            current_state_timestamp=self.ctx.now_ms(),
            members=[
                GroupMetadataValue.MemberMetadata(
                    member_id=m.member_id,
                    group_instance_id=m.group_instance_id,
                    client_id=m.client_id,
                    client_host=m.client_host,
                    rebalance_timeout=m.rebalance_timeout_ms,
                    session_timeout=m.session_timeout_ms,
                    subscription=m.metadata_for(group.protocol_name or ""),
                    assignment=m.assignment,
                )
                for m in group.members.values()
            ],
        )
        if not group.members:
            self._schedule_expiry(group)  # it just became empty
        try:
            self._write(group.group_id, [store.group_record(group.group_id, value)])
        except (KafkaError, OSError) as exc:
            # Best effort, as before a restart members rejoin anyway.
            self.guard.report(f"storing the metadata of group {group.group_id}", exc)

    def _store_consumer_group(self, group_id: str, epoch: int | None) -> None:
        try:
            self._write(group_id, [store.consumer_group_record(group_id, epoch)])
        except (KafkaError, OSError) as exc:
            self.guard.report(f"storing the epoch of consumer group {group_id}", exc)

    # -- admin -------------------------------------------------------------------------------------------

    def delete_group(self, group_id: str) -> None:
        self.expire_due()
        consumer_group = self.consumer.delete(group_id)  # NON_EMPTY_GROUP while it has members
        group = self.groups.get(group_id)
        if group is None or group.state == DEAD:
            if consumer_group:
                return
            raise KafkaError(ErrorCode.GROUP_ID_NOT_FOUND, f"group {group_id} does not exist")
        if group.members:
            raise KafkaError(ErrorCode.NON_EMPTY_GROUP, f"group {group_id} has members")
        tombstones = [store.offset_record(group_id, t, p, None) for t, p in group.offsets]
        tombstones.append(store.group_record(group_id, None))
        self._write(group_id, tombstones)
        group.transition(DEAD)
        del self.groups[group_id]
        self.timers.cancel(("offset expiry", group_id))

    def forget_topic(self, topic: str) -> int:
        """Remove every group's committed offsets of ``topic``, which was deleted, so that a
        topic created again under its name starts without them (Kafka does the same). The
        tombstones make the removal survive a restart; if one cannot be written, the offsets
        are gone from memory anyway and ``load`` removes them at the next start.
        Returns how many offsets were removed."""
        removed = 0
        for group in list(self.groups.values()):
            gone = [tp for tp in group.offsets if tp[0] == topic]
            if not gone:
                continue
            for tp in gone:
                del group.offsets[tp]
            removed += len(gone)
            self._schedule_expiry(group)
            try:
                self._write(
                    group.group_id,
                    [store.offset_record(group.group_id, t, p, None) for t, p in gone],
                )
            except (KafkaError, OSError) as exc:
                self.guard.report(
                    f"storing the removal of group {group.group_id}'s offsets of {topic}", exc
                )
        if removed:
            log.info("removed %d committed offset(s) of deleted topic %s", removed, topic)
        return removed

    def delete_offsets(
        self, group_id: str, partitions: list[tuple[str, int]]
    ) -> dict[tuple[str, int], int]:
        """Remove committed offsets of existing partitions (Kafka answers unknown ones before
        asking the coordinator); the error of each, GROUP_SUBSCRIBED_TO_TOPIC for the topics
        the members consume (all of them while their subscriptions are unknown)."""
        self.expire_due()
        require_group_id(group_id)
        group = self.groups.get(group_id)
        if group is None:
            raise KafkaError(ErrorCode.GROUP_ID_NOT_FOUND, f"group {group_id} does not exist")
        if group.members and group.protocol_type != "consumer":
            raise KafkaError(ErrorCode.NON_EMPTY_GROUP, f"group {group_id} has members")
        subscribed = group.subscribed_topics() if group.members else set()
        errors: dict[tuple[str, int], int] = {}
        gone = []
        for tp in partitions:
            if subscribed is None or tp[0] in subscribed:
                errors[tp] = ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC
            else:
                errors[tp] = ErrorCode.NONE
                if tp in group.offsets:
                    gone.append(tp)
        if gone:
            self._write(group_id, [store.offset_record(group_id, t, p, None) for t, p in gone])
            for tp in gone:
                group.offsets.pop(tp, None)
            self._schedule_expiry(group)
        return errors
