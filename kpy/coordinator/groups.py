"""The group coordinator: classic consumer groups and committed offsets, on trio.

JoinGroup and SyncGroup requests wait on per-member events until the rebalance they take
part in completes. Deadlines live in a keyed timer (timers.py): each member's session
(rescheduled on every heartbeat, so a member expires at its last heartbeat plus its session
timeout, not a tick later), each rebalance's timeout and the initial rebalance delay; the
coordinator task (``run``) fires them and, like Kafka's offsets.retention.check.interval.ms,
checks offset retention periodically. Committed offsets are written to
``__consumer_offsets`` before the commit is answered and replayed from it on start-up.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any

import trio

from kpy.coordinator import offsets as store
from kpy.coordinator.group import (
    COMPLETING_REBALANCE,
    DEAD,
    EMPTY,
    PREPARING_REBALANCE,
    STABLE,
    Group,
    Member,
)
from kpy.coordinator.offsets import CommittedOffset
from kpy.coordinator.timers import Timers
from kpy.protocol import records
from kpy.protocol.error_codes import ErrorCode, KafkaError

if TYPE_CHECKING:
    from kpy.broker import Broker

log = logging.getLogger("kpy.coordinator")

OFFSET_RETENTION_CHECK_S = 60


class JoinResult:
    """What a waiting JoinGroup gets back once its rebalance completes."""

    __slots__ = (
        "error",
        "generation_id",
        "protocol_type",
        "protocol_name",
        "leader",
        "member_id",
        "members",
    )

    def __init__(
        self, error: int, group: Group | None, member_id: str, members: list[Member] | None = None
    ):
        self.error = error
        self.member_id = member_id
        self.generation_id = group.generation_id if group else -1
        self.protocol_type = group.protocol_type if group else None
        self.protocol_name = group.protocol_name if group else None
        self.leader = (group.leader_id or "") if group else ""
        self.members = members or []


def require_group_id(group_id: str) -> None:
    """Kafka's coordinator refuses the group id '' in most group requests (OffsetCommit,
    OffsetFetch and DescribeGroups take it as a group's name, for old clients)."""
    if not group_id:
        raise KafkaError(ErrorCode.INVALID_GROUP_ID, "group id is empty")


class GroupCoordinator:
    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        config = broker.config
        self.groups: dict[str, Group] = {}
        self.partitions = config.get("offsets.topic.num.partitions")
        self.min_session = config.get("group.min.session.timeout.ms")
        self.max_session = config.get("group.max.session.timeout.ms")
        self.max_size = config.get("group.max.size")
        self.initial_delay_ms = config.get("group.initial.rebalance.delay.ms")
        self.retention_ms = config.get("offsets.retention.minutes") * 60_000
        self.metadata_max = config.get("offset.metadata.max.bytes")
        self._join_results: dict[str, JoinResult] = {}
        self._sync_results: dict[str, tuple[int, bytes]] = {}
        self.timers = Timers()
        from kpy.coordinator.consumer_group import ConsumerGroups

        # KIP-848 groups, see consumer_group.py; they share the timers and this topic.
        self.consumer = ConsumerGroups(broker, self.timers, self._store_consumer_group)

    def statistics(self) -> dict[str, int]:
        return {
            "groups": len(self.groups),
            "members": sum(len(g.members) for g in self.groups.values()),
        }

    # -- start-up: replay __consumer_offsets -------------------------------------------------------

    def _topic_configs(self) -> dict[str, str]:
        return {
            "cleanup.policy": "compact",
            "compression.type": "producer",
            "segment.bytes": str(self.broker.config.get("offsets.topic.segment.bytes")),
        }

    async def load(self) -> None:
        """Replay __consumer_offsets if it exists; like Kafka, the topic itself is created
        on first use (FindCoordinator or the first write), which keeps start-up fast."""
        topic = self.broker.metadata.get(store.OFFSETS_TOPIC)
        if topic is None:
            return
        self.partitions = topic.partitions
        loaded = await trio.to_thread.run_sync(self._replay)
        log.info("loaded %d groups from %s", loaded, store.OFFSETS_TOPIC)
        # Offsets of topics that no longer exist can only be left over from a deletion the
        # broker did not finish (a crash between the topic and its tombstones), or from data
        # written before kpy removed them: commits of unknown topics are refused.
        for name in sorted({t for g in self.groups.values() for t, _ in g.offsets}):
            if self.broker.metadata.get(name) is None:
                self.forget_topic(name)

    async def ensure_topic(self) -> None:
        if self.broker.metadata.get(store.OFFSETS_TOPIC) is None:
            await self.broker.ensure_internal_topic(
                store.OFFSETS_TOPIC, self.partitions, self._topic_configs()
            )

    def _replay(self) -> int:
        for p in range(self.partitions):
            lg = self.broker.partition_log(store.OFFSETS_TOPIC, p)
            for seg, pos, h in lg.batches(lg.log_start_offset):
                if h.is_control:
                    continue
                data = lg.read_batch_bytes(seg, pos, h)
                for rec in records.decode_records(data):
                    loaded = store.decode_record(rec)
                    if loaded is not None:
                        self._apply(loaded)
        return len(self.groups)

    def _apply(self, rec: store.LoadedRecord) -> None:
        if rec.kind == "consumer-group":
            self.consumer.restore(rec.group, rec.group_value)
        elif rec.kind == "offset":
            if rec.offset is None:
                group = self.groups.get(rec.group)
                if group is not None:
                    group.offsets.pop((rec.topic, rec.partition), None)
            else:
                self._group(rec.group).offsets[(rec.topic, rec.partition)] = rec.offset
        elif rec.group_value is None:
            group = self.groups.get(rec.group)
            if group is not None and not group.offsets:
                del self.groups[rec.group]
        else:
            group = self._group(rec.group)
            v = rec.group_value
            # Members must rejoin after a restart; the generation carries on.
            group.generation_id = v.generation
            group.protocol_type = v.protocol_type or None
            group.protocol_name = v.protocol or None

    def _group(self, group_id: str) -> Group:
        group = self.groups.get(group_id)
        if group is None or group.state == DEAD:
            group = Group(group_id)
            self.groups[group_id] = group
        return group

    # -- timers ----------------------------------------------------------------------------------------

    async def run(self) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self.timers.run)
            while True:
                await trio.sleep(OFFSET_RETENTION_CHECK_S)
                self._expire_offsets()

    def expire_due(self) -> None:
        """Apply the deadlines that have passed before handling a request, so that a request
        arriving after a session or rebalance timeout sees its effect even when the timer task
        has not run yet (a busy event loop wakes both at once, in no set order)."""
        self.timers.fire(trio.current_time())

    def _touch(self, group: Group, member: Member) -> None:
        """A sign of life from ``member``: its session now ends a session timeout from now."""
        member.last_heartbeat = now = trio.current_time()
        self.timers.schedule(
            ("session", group.group_id, member.member_id),
            now + member.session_timeout_ms / 1000,
            lambda t: self._expire_session(group, member.member_id),
        )

    def _touch_if_member(self, group: Group, member: Member) -> None:
        # After a JoinGroup / SyncGroup wait, answered or abandoned (the client went away).
        if group.members.get(member.member_id) is member:
            self._touch(group, member)

    def _expire_session(self, group: Group, member_id: str) -> None:
        member = group.members.get(member_id)
        if member is None or self.groups.get(group.group_id) is not group:
            return
        if member.join_waiter is not None or member.sync_waiter is not None:
            # Waiting for a rebalance counts as heartbeating (as in Kafka); the session
            # restarts when the wait ends (``_touch`` after the wait).
            return
        log.info("group %s: member %s session expired", group.group_id, member_id)
        self._remove_member(group, member_id)

    def _rebalance_due(self, group: Group, now: float) -> None:
        if self.groups.get(group.group_id) is not group or group.state != PREPARING_REBALANCE:
            return
        if now >= group.rebalance_deadline or (
            group.all_joined() and now >= group.initial_delay_deadline
        ):
            self._complete_join(group)

    def _expire_offsets(self) -> None:
        now_ms = self._now_ms()
        for group in list(self.groups.values()):
            if group.members or group.state not in (EMPTY, DEAD):
                continue
            newest = max((o.commit_timestamp for o in group.offsets.values()), default=-1)
            if group.offsets and now_ms - newest > self.retention_ms:
                self._write(
                    group.group_id,
                    [store.offset_record(group.group_id, t, p, None) for t, p in group.offsets],
                )
                group.offsets.clear()

    def _now_ms(self) -> int:
        return int(self.broker.clock() * 1000)

    # -- membership -------------------------------------------------------------------------------------

    def _remove_member(self, group: Group, member_id: str) -> None:
        member = group.remove_member(member_id)
        if member is None:
            return
        self.timers.cancel(("session", group.group_id, member_id))
        self._wake(member, ErrorCode.UNKNOWN_MEMBER_ID)
        if group.state in (STABLE, COMPLETING_REBALANCE):
            self._prepare_rebalance(group)
        elif group.state == PREPARING_REBALANCE and group.all_joined():
            self._complete_join(group)
        if not group.members and group.state == PREPARING_REBALANCE:
            self._complete_join(group)

    def _wake(self, member: Member, error: int) -> None:
        if member.join_waiter is not None:
            self._join_results[member.member_id] = JoinResult(error, None, member.member_id)
            member.join_waiter.set()
            member.join_waiter = None
        if member.sync_waiter is not None:
            self._sync_results[member.member_id] = (error, b"")
            member.sync_waiter.set()
            member.sync_waiter = None

    def _prepare_rebalance(self, group: Group) -> None:
        was_empty = group.state == EMPTY
        if group.state == COMPLETING_REBALANCE:
            for m in group.members.values():
                if m.sync_waiter is not None:
                    self._sync_results[m.member_id] = (ErrorCode.REBALANCE_IN_PROGRESS, b"")
                    m.sync_waiter.set()
                    m.sync_waiter = None
        group.transition(PREPARING_REBALANCE)
        for m in group.members.values():
            m.joined_this_round = False
        now = trio.current_time()
        timeout = max((m.rebalance_timeout_ms for m in group.members.values()), default=0)
        group.rebalance_deadline = now + timeout / 1000
        group.initial_delay_deadline = now + self.initial_delay_ms / 1000 if was_empty else now
        due = lambda t: self._rebalance_due(group, t)  # noqa: E731
        self.timers.schedule(("rebalance", group.group_id), group.rebalance_deadline, due)
        if group.initial_delay_deadline > now:
            self.timers.schedule(
                ("initial-delay", group.group_id), group.initial_delay_deadline, due
            )

    def _complete_join(self, group: Group) -> None:
        self.timers.cancel(("rebalance", group.group_id))
        self.timers.cancel(("initial-delay", group.group_id))
        for member in list(group.members.values()):
            if not member.joined_this_round:
                log.info(
                    "group %s: member %s did not rejoin in time", group.group_id, member.member_id
                )
                group.remove_member(member.member_id)
                self.timers.cancel(("session", group.group_id, member.member_id))
                self._wake(member, ErrorCode.UNKNOWN_MEMBER_ID)
        group.generation_id += 1
        if not group.members:
            group.protocol_name = None
            group.leader_id = None
            group.transition(EMPTY)
            self._store_group(group)
            return
        group.protocol_name = group.select_protocol()
        if group.leader_id not in group.members:
            group.leader_id = next(iter(group.members))
        group.transition(COMPLETING_REBALANCE)
        members = list(group.members.values())
        for m in members:
            m.assignment = b""
            self._touch(group, m)
            result = JoinResult(
                ErrorCode.NONE,
                group,
                m.member_id,
                members if m.member_id == group.leader_id else [],
            )
            self._join_results[m.member_id] = result
            if m.join_waiter is not None:
                m.join_waiter.set()
                m.join_waiter = None
        log.info(
            "group %s: generation %d with %d member(s), protocol %s",
            group.group_id,
            group.generation_id,
            len(members),
            group.protocol_name,
        )

    def _check_session_timeout(self, timeout_ms: int) -> None:
        if not self.min_session <= timeout_ms <= self.max_session:
            raise KafkaError(
                ErrorCode.INVALID_SESSION_TIMEOUT,
                f"session timeout {timeout_ms} ms is outside [{self.min_session}, {self.max_session}]",
            )

    def _known_member(self, group: Group | None, member_id: str, instance_id: str | None) -> Member:
        if group is None:
            raise KafkaError(ErrorCode.UNKNOWN_MEMBER_ID, "unknown group")
        if instance_id is not None:
            owner = group.static_members.get(instance_id)
            if owner is None:
                raise KafkaError(
                    ErrorCode.UNKNOWN_MEMBER_ID, f"instance {instance_id} is not in the group"
                )
            if owner != member_id:
                raise KafkaError(
                    ErrorCode.FENCED_INSTANCE_ID, f"instance {instance_id} is owned by {owner}"
                )
        member = group.members.get(member_id)
        if member is None:
            raise KafkaError(
                ErrorCode.UNKNOWN_MEMBER_ID, f"member {member_id} is not in group {group.group_id}"
            )
        return member

    # -- JoinGroup / SyncGroup / Heartbeat / LeaveGroup ------------------------------------------------

    async def join(self, req: Any, version: int, client_id: str, client_host: str) -> JoinResult:
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
        self._check_session_timeout(req.session_timeout_ms)
        protocols = [(p.name, bytes(p.metadata)) for p in req.protocols]
        rebalance_timeout = (
            req.rebalance_timeout_ms if req.rebalance_timeout_ms >= 0 else req.session_timeout_ms
        )
        group = self.groups.get(group_id)
        member_id = req.member_id
        instance_id = req.group_instance_id
        if member_id and group is None:
            raise KafkaError(ErrorCode.UNKNOWN_MEMBER_ID, f"group {group_id} does not exist")
        group = self._group(group_id)
        # As in Kafka, the protocols are checked before the member.
        if not group.supports(req.protocol_type, protocols):
            raise KafkaError(
                ErrorCode.INCONSISTENT_GROUP_PROTOCOL, "no protocol in common with the group"
            )
        if member_id and member_id not in group.members and member_id not in group.pending_members:
            if instance_id is not None and instance_id in group.static_members:
                raise KafkaError(ErrorCode.FENCED_INSTANCE_ID, f"instance {instance_id} was fenced")
            raise KafkaError(ErrorCode.UNKNOWN_MEMBER_ID, f"member {member_id} is not known")
        if group.state == DEAD:
            raise KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, "group is being deleted")

        if not member_id:
            is_new_static = instance_id is not None and instance_id not in group.static_members
            if len(group.members) + len(group.pending_members) >= self.max_size and (
                instance_id is None or is_new_static
            ):
                raise KafkaError(ErrorCode.GROUP_MAX_SIZE_REACHED, f"group {group_id} is full")
            new_id = f"{client_id or 'member'}-{uuid.uuid4()}"
            if instance_id is not None and not is_new_static:
                return await self._rejoin_static(
                    group, req, new_id, protocols, rebalance_timeout, client_id, client_host
                )
            if instance_id is None and version >= 4:
                group.pending_members.add(new_id)
                return JoinResult(ErrorCode.MEMBER_ID_REQUIRED, None, new_id)
            member_id = new_id
        member = group.members.get(member_id)
        if member is None:
            group.pending_members.discard(member_id)
            if len(group.members) >= self.max_size:
                raise KafkaError(ErrorCode.GROUP_MAX_SIZE_REACHED, f"group {group_id} is full")
            member = Member(
                member_id,
                instance_id,
                client_id,
                client_host,
                req.session_timeout_ms,
                rebalance_timeout,
                req.protocol_type,
                protocols,
            )
            if not group.members:
                group.protocol_type = req.protocol_type
            group.add_member(member)
            changed = True
        else:
            changed = member.protocols != protocols
            if changed and self._join_would_fail(group, member, protocols):
                # Kafka's vote fails inside this join and its coordinator undoes the join:
                # an error answer, the group unchanged.
                raise KafkaError(
                    ErrorCode.UNKNOWN_SERVER_ERROR,
                    "Member does not support any of the candidate protocols",
                )
            member.protocols = protocols
            member.session_timeout_ms = req.session_timeout_ms
            member.rebalance_timeout_ms = rebalance_timeout
        self._touch(group, member)
        if (
            group.state in (STABLE, COMPLETING_REBALANCE)
            and not changed
            and member.member_id != group.leader_id
        ):
            # Nothing changed: answer with the current generation, no rebalance.
            return JoinResult(ErrorCode.NONE, group, member.member_id)
        if group.state != PREPARING_REBALANCE:
            self._prepare_rebalance(group)
        return await self._await_join(group, member)

    def _join_would_fail(
        self, group: Group, member: Member, protocols: list[tuple[str, bytes]]
    ) -> bool:
        """True when this member's rejoin with ``protocols`` completes the join at once and
        leaves a member no protocol to vote for (a name listed twice counts twice)."""
        others = [m for m in group.members.values() if m is not member]
        if group.state == PREPARING_REBALANCE:
            completes = all(m.joined_this_round for m in others) and (
                trio.current_time() >= group.initial_delay_deadline
            )
        else:
            completes = not others
        if not completes:
            return False
        old, member.protocols = member.protocols, protocols
        try:
            return not group.has_vote()
        finally:
            member.protocols = old

    async def _await_join(self, group: Group, member: Member) -> JoinResult:
        member.joined_this_round = True
        event = trio.Event()
        member.join_waiter = event
        if group.all_joined() and trio.current_time() >= group.initial_delay_deadline:
            self._complete_join(group)
        try:
            await event.wait()
        finally:
            if member.join_waiter is event:
                member.join_waiter = None
            self._touch_if_member(group, member)
        return self._join_results.pop(
            member.member_id, JoinResult(ErrorCode.UNKNOWN_MEMBER_ID, None, member.member_id)
        )

    async def _rejoin_static(
        self,
        group: Group,
        req: Any,
        new_id: str,
        protocols,
        rebalance_timeout: int,
        client_id: str,
        client_host: str,
    ) -> JoinResult:
        """A static member restarting: it takes over its old identity and assignment."""
        old_id = group.static_members[req.group_instance_id]
        old = group.remove_member(old_id)
        was_leader = group.leader_id is None or group.leader_id == old_id
        if old is not None:
            self._wake(old, ErrorCode.FENCED_INSTANCE_ID)
        member = Member(
            new_id,
            req.group_instance_id,
            client_id,
            client_host,
            req.session_timeout_ms,
            rebalance_timeout,
            req.protocol_type,
            protocols,
            assignment=old.assignment if old is not None else b"",
        )
        group.add_member(member)
        if was_leader:
            group.leader_id = new_id
        self._touch(group, member)
        unchanged = old is not None and old.protocols == protocols
        if group.state == STABLE and unchanged:
            log.info(
                "group %s: static member %s rejoined without a rebalance",
                group.group_id,
                req.group_instance_id,
            )
            members = list(group.members.values()) if group.leader_id == new_id else []
            return JoinResult(ErrorCode.NONE, group, new_id, members)
        if group.state != PREPARING_REBALANCE:
            self._prepare_rebalance(group)
        return await self._await_join(group, member)

    async def sync(self, req: Any, version: int) -> tuple[int, bytes, Group | None]:
        self.expire_due()
        require_group_id(req.group_id)
        group = self.groups.get(req.group_id)
        member = self._known_member(group, req.member_id, req.group_instance_id)
        assert group is not None
        if req.generation_id != group.generation_id:
            raise KafkaError(
                ErrorCode.ILLEGAL_GENERATION,
                f"generation {req.generation_id} is not {group.generation_id}",
            )
        if version >= 5 and (
            (req.protocol_type is not None and req.protocol_type != group.protocol_type)
            or (req.protocol_name is not None and req.protocol_name != group.protocol_name)
        ):
            raise KafkaError(
                ErrorCode.INCONSISTENT_GROUP_PROTOCOL, "protocol does not match the group's"
            )
        self._touch(group, member)
        if group.state == PREPARING_REBALANCE:
            raise KafkaError(ErrorCode.REBALANCE_IN_PROGRESS, "the group is rebalancing")
        if group.state == STABLE:
            return ErrorCode.NONE, member.assignment, group
        # CompletingRebalance: the leader brings the assignment, the others wait for it.
        if member.member_id == group.leader_id:
            by_member = {a.member_id: bytes(a.assignment) for a in req.assignments}
            for m in group.members.values():
                m.assignment = by_member.get(m.member_id, b"")
            group.transition(STABLE)
            self._store_group(group)
            for m in group.members.values():
                if m.sync_waiter is not None:
                    self._sync_results[m.member_id] = (ErrorCode.NONE, m.assignment)
                    m.sync_waiter.set()
                    m.sync_waiter = None
            return ErrorCode.NONE, member.assignment, group
        event = trio.Event()
        member.sync_waiter = event
        try:
            await event.wait()
        finally:
            if member.sync_waiter is event:
                member.sync_waiter = None
            self._touch_if_member(group, member)
        error, assignment = self._sync_results.pop(
            member.member_id, (ErrorCode.UNKNOWN_MEMBER_ID, b"")
        )
        return error, assignment, group

    def heartbeat(self, req: Any) -> None:
        self.expire_due()
        require_group_id(req.group_id)
        group = self.groups.get(req.group_id)
        member = self._known_member(group, req.member_id, req.group_instance_id)
        assert group is not None
        if req.generation_id != group.generation_id:
            raise KafkaError(
                ErrorCode.ILLEGAL_GENERATION,
                f"generation {req.generation_id} is not {group.generation_id}",
            )
        self._touch(group, member)
        if group.state == PREPARING_REBALANCE:
            raise KafkaError(ErrorCode.REBALANCE_IN_PROGRESS, "the group is rebalancing")

    def leave(self, group_id: str, member_id: str, instance_id: str | None) -> None:
        self.expire_due()
        require_group_id(group_id)
        group = self.groups.get(group_id)
        if group is None:
            raise KafkaError(ErrorCode.UNKNOWN_MEMBER_ID, "unknown group")
        if instance_id is not None:
            owner = group.static_members.get(instance_id)
            if owner is None:
                raise KafkaError(
                    ErrorCode.UNKNOWN_MEMBER_ID, f"instance {instance_id} is not in the group"
                )
            if member_id and owner != member_id:
                raise KafkaError(
                    ErrorCode.FENCED_INSTANCE_ID, f"instance {instance_id} is owned by {owner}"
                )
            member_id = owner
        elif member_id not in group.members:
            raise KafkaError(
                ErrorCode.UNKNOWN_MEMBER_ID, f"member {member_id} is not in group {group_id}"
            )
        log.info("group %s: member %s left", group_id, member_id)
        self._remove_member(group, member_id)

    # -- offsets -----------------------------------------------------------------------------------------

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
        self._known_member(group, member_id, instance_id)
        if generation != group.generation_id:
            raise KafkaError(
                ErrorCode.ILLEGAL_GENERATION,
                f"generation {generation} is not {group.generation_id}",
            )
        if group.state == COMPLETING_REBALANCE:
            raise KafkaError(ErrorCode.REBALANCE_IN_PROGRESS, "the group is rebalancing")
        self._touch(group, group.members[member_id])

    def check_partition(self, topic: str, partition: int, metadata: str | None) -> None:
        t = self.broker.metadata.get(topic)
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
            topic = self.broker.metadata.get(t.name)
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

    def commit(self, group_id: str, offsets: dict[tuple[str, int], CommittedOffset]) -> None:
        """Store offsets durably (in __consumer_offsets), then make them visible."""
        if not offsets:
            return
        self._write(
            group_id, [store.offset_record(group_id, t, p, o) for (t, p), o in offsets.items()]
        )
        self._group(group_id).offsets.update(offsets)

    def committed(self, group_id: str) -> dict[tuple[str, int], CommittedOffset]:
        group = self.groups.get(group_id)
        return group.offsets if group is not None else {}

    def _write(self, group_id: str, recs: list[records.Record]) -> None:
        if self.broker.metadata.get(store.OFFSETS_TOPIC) is None:
            # A client that skipped FindCoordinator: create the topic here, once.
            self.broker.create_internal_topic_now(
                store.OFFSETS_TOPIC, self.partitions, self._topic_configs()
            )
        partition = store.partition_for(group_id, self.partitions)
        lg = self.broker.partition_log(store.OFFSETS_TOPIC, partition)
        lg.append(store.batch_of(recs, self._now_ms()), leader_epoch=0)

    def _store_group(self, group: Group) -> None:
        from kpy.protocol.internal import GroupMetadataValue

        value = GroupMetadataValue(
            protocol_type=group.protocol_type or "",
            generation=group.generation_id,
            protocol=group.protocol_name,
            leader=group.leader_id,
            current_state_timestamp=self._now_ms(),
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
        try:
            self._write(group.group_id, [store.group_record(group.group_id, value)])
        except (KafkaError, OSError) as exc:
            log.warning("group %s: could not store group metadata: %s", group.group_id, exc)

    def _store_consumer_group(self, group_id: str, epoch: int | None) -> None:
        try:
            self._write(group_id, [store.consumer_group_record(group_id, epoch)])
        except (KafkaError, OSError) as exc:
            log.warning("consumer group %s: could not store its epoch: %s", group_id, exc)

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
        group.state = DEAD
        del self.groups[group_id]

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
            try:
                self._write(
                    group.group_id,
                    [store.offset_record(group.group_id, t, p, None) for t, p in gone],
                )
            except (KafkaError, OSError) as exc:
                log.warning(
                    "group %s: could not store the removal of the offsets of deleted topic %s: %s",
                    group.group_id,
                    topic,
                    exc,
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
        return errors
