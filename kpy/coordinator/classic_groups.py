"""Classic consumer groups (JoinGroup, SyncGroup, Heartbeat, LeaveGroup): membership,
rebalances and their deadlines, on trio.

JoinGroup and SyncGroup requests wait on per-member events until the rebalance they take
part in completes. Deadlines live in a keyed timer (timers.py) shared with the KIP-848
groups: each member's session (rescheduled on every heartbeat, so a member expires at its
last heartbeat plus its session timeout, not a tick later), each rebalance's timeout and the
initial rebalance delay. Group states change only through group.py's transition table.
Storing a group's metadata is the GroupCoordinator's (``store_group``), which also owns the
committed offsets kept in each Group.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

import trio

from kpy.coordinator.group import (
    COMPLETING_REBALANCE,
    DEAD,
    EMPTY,
    PREPARING_REBALANCE,
    STABLE,
    Group,
    Member,
)
from kpy.coordinator.timers import Timers
from kpy.protocol.error_codes import ErrorCode, KafkaError

log = logging.getLogger("kpy.coordinator")


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


class ClassicGroups:
    """Every classic group of this broker, by id (with the groups that only hold offsets)."""

    def __init__(
        self,
        config: Callable[[str], Any],
        timers: Timers,
        store_group: Callable[[Group], None],
    ) -> None:
        self.groups: dict[str, Group] = {}
        self.timers = timers
        # Stores a group's metadata after a rebalance or an assignment (best effort).
        self._store_group = store_group
        self.min_session = config("group.min.session.timeout.ms")
        self.max_session = config("group.max.session.timeout.ms")
        self.max_size = config("group.max.size")
        self.initial_delay_ms = config("group.initial.rebalance.delay.ms")
        self._join_results: dict[str, JoinResult] = {}
        self._sync_results: dict[str, tuple[int, bytes]] = {}

    def statistics(self) -> dict[str, int]:
        return {
            "groups": len(self.groups),
            "members": sum(len(g.members) for g in self.groups.values()),
        }

    def expire_due(self) -> None:
        """Apply the deadlines that have passed before handling a request, so that a request
        arriving after a session or rebalance timeout sees its effect even when the timer task
        has not run yet (a busy event loop wakes both at once, in no set order)."""
        self.timers.fire(trio.current_time())

    def get_or_create(self, group_id: str) -> Group:
        group = self.groups.get(group_id)
        if group is None or group.state == DEAD:
            group = Group(group_id)
            self.groups[group_id] = group
        return group

    # -- deadlines -------------------------------------------------------------------------------

    def touch(self, group: Group, member: Member) -> None:
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
            self.touch(group, member)

    def _expire_session(self, group: Group, member_id: str) -> None:
        member = group.members.get(member_id)
        if member is None or self.groups.get(group.group_id) is not group:
            return
        if member.join_waiter is not None or member.sync_waiter is not None:
            # Waiting for a rebalance counts as heartbeating (as in Kafka); the session
            # restarts when the wait ends (``touch`` after the wait).
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
            self.touch(group, m)
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

    def known_member(self, group: Group | None, member_id: str, instance_id: str | None) -> Member:
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
        """JoinGroup, once the GroupCoordinator has checked the id and any KIP-848 group."""
        group_id = req.group_id
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
        group = self.get_or_create(group_id)
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
        self.touch(group, member)
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
        self.touch(group, member)
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

    def _member_of_generation(self, req: Any) -> tuple[Group, Member]:
        """The group and member a SyncGroup or Heartbeat names (sessions due expired first):
        UNKNOWN_MEMBER_ID or FENCED_INSTANCE_ID for one not in the group, ILLEGAL_GENERATION
        for another generation than the group's."""
        self.expire_due()
        require_group_id(req.group_id)
        group = self.groups.get(req.group_id)
        member = self.known_member(group, req.member_id, req.group_instance_id)
        assert group is not None
        if req.generation_id != group.generation_id:
            raise KafkaError(
                ErrorCode.ILLEGAL_GENERATION,
                f"generation {req.generation_id} is not {group.generation_id}",
            )
        return group, member

    async def sync(self, req: Any, version: int) -> tuple[int, bytes, Group | None]:
        group, member = self._member_of_generation(req)
        if version >= 5 and (
            (req.protocol_type is not None and req.protocol_type != group.protocol_type)
            or (req.protocol_name is not None and req.protocol_name != group.protocol_name)
        ):
            raise KafkaError(
                ErrorCode.INCONSISTENT_GROUP_PROTOCOL, "protocol does not match the group's"
            )
        self.touch(group, member)
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
        group, member = self._member_of_generation(req)
        self.touch(group, member)
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
