"""Consumer groups of the new protocol (KIP-848): server-side assignment and member epochs.

A group has a group epoch (bumped when membership, subscriptions or the partitions of
subscribed topics change), a target assignment computed by a server assignor ("uniform", the
default, or "range") at that epoch, and members that each move towards their target at their
own pace: a member first gives up the partitions it must revoke (keeping its epoch), then
takes the target epoch, and receives a partition only once no other member still owns it
(revocation before reassignment); a member that has not revoked within its rebalance timeout
is removed from the group. Regex subscriptions use Python's ``re`` with full matching,
which accepts the RE2 syntax clients send in practice.

A group's id and epoch are written to ``__consumer_offsets`` (Kafka's ConsumerGroupMetadata
record) at each epoch bump and replayed on start-up, so a group outlives a restart; its
members and assignments live in memory only, so after a restart the group is empty and its
members, unknown to it, rejoin (UNKNOWN_MEMBER_ID), where Kafka would keep them.

Everything here is synchronous. Session and revocation deadlines are scheduled on a keyed
timer (timers.py) shared with the GroupCoordinator, whose task fires them when they fall due.
Changes to the partitions of subscribed topics are noticed on the members' heartbeats (as in
Kafka, which refreshes a group's subscription metadata when it handles a heartbeat).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kpy.coordinator.assignors import ASSIGN, Assignment, copy_assignment, intersect, minus
from kpy.coordinator.offsets import java_hash_order, java_string_hash
from kpy.coordinator.timers import Timers
from kpy.protocol.error_codes import ErrorCode, KafkaError

if TYPE_CHECKING:
    from kpy.coordinator.runtime import CoordinatorContext

log = logging.getLogger("kpy.coordinator")

LEAVE_EPOCH = -1
STATIC_LEAVE_EPOCH = -2
ASSIGNORS = ("uniform", "range")


class ConsumerMember:
    __slots__ = (
        "member_id",
        "instance_id",
        "rack_id",
        "client_id",
        "client_host",
        "epoch",
        "previous_epoch",
        "rebalance_timeout_ms",
        "topic_names",
        "topic_regex",
        "server_assignor",
        "assigned",
        "revoking",
        "revoke_deadline",
        "last_heartbeat",
        "left_static",
    )

    def __init__(self, member_id: str) -> None:
        self.member_id = member_id
        self.instance_id: str | None = None
        self.rack_id: str | None = None
        self.client_id = ""
        self.client_host = ""
        self.epoch = 0
        self.previous_epoch = -1
        self.rebalance_timeout_ms = -1
        self.topic_names: list[str] = []
        self.topic_regex: str | None = None
        self.server_assignor: str | None = None
        self.assigned: Assignment = {}
        self.revoking: Assignment = {}
        # When a member asked to revoke partitions is fenced if it has not (its rebalance
        # timeout from the time it was asked); None when nothing is being revoked.
        self.revoke_deadline: float | None = None
        self.last_heartbeat = 0.0
        self.left_static = False


class ConsumerGroup:
    def __init__(self, group_id: str) -> None:
        self.group_id = group_id
        self.group_epoch = 0
        self.assignment_epoch = 0
        self.members: dict[str, ConsumerMember] = {}
        self.target: dict[str, Assignment] = {}
        self.assignor = "uniform"
        self.topics_seen: dict[str, int] = {}

    @property
    def state(self) -> str:
        if not self.members:
            return "Empty"
        if self.assignment_epoch < self.group_epoch:
            return "Assigning"
        for m in self.members.values():
            if (
                m.epoch != self.assignment_epoch
                or m.revoking
                or m.assigned != self.target.get(m.member_id, {})
            ):
                return "Reconciling"
        return "Stable"


# What Java's String.trim() strips: every character up to the space.
_JAVA_BLANK = "".join(map(chr, range(33)))
# From this version the client chooses its member id (KIP-1082).
CLIENT_MEMBER_ID_VERSION = 1


def _blank(value: str | None) -> bool:
    return value is not None and not value.strip(_JAVA_BLANK)


def subscription_order(names: list[str]) -> list[str]:
    """The subscribed names as Kafka 4.4 lists them: a java.util.HashSet filled in name order
    iterates them by hash bucket (found by asking it)."""
    distinct = sorted(set(names))
    capacity = 16  # HashSet(Collection) sizes its table for the collection
    while capacity < int(len(distinct) / 0.75) + 1:
        capacity *= 2
    return java_hash_order(distinct, [java_string_hash(n) for n in distinct], capacity)


def validate_heartbeat(req: Any, version: int) -> None:
    """Refuse a ConsumerGroupHeartbeat whose fields do not fit its member epoch, before any
    group changes, with the first error Kafka would give."""

    def invalid(message: str) -> KafkaError:
        return KafkaError(ErrorCode.INVALID_REQUEST, message)

    epoch = req.member_epoch
    if (version >= CLIENT_MEMBER_ID_VERSION or epoch > 0 or epoch == LEAVE_EPOCH) and _blank(
        req.member_id
    ):
        raise invalid("MemberId can't be empty.")
    if _blank(req.group_id):
        raise invalid("GroupId can't be empty.")
    if _blank(req.instance_id):
        raise invalid("InstanceId can't be empty.")
    if _blank(req.rack_id):
        raise invalid("RackId can't be empty.")
    if epoch == 0:
        if req.rebalance_timeout_ms == -1:
            raise invalid("RebalanceTimeoutMs must be provided in first request.")
        if req.topic_partitions is None or req.topic_partitions:
            raise invalid("TopicPartitions must be empty when (re-)joining.")
        # An empty list or an empty regex joins the group without topics.
        if req.subscribed_topic_names is None and req.subscribed_topic_regex is None:
            raise invalid(
                "Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when "
                "(re-)joining."
            )
    elif epoch == STATIC_LEAVE_EPOCH:
        if req.instance_id is None:
            raise invalid("InstanceId can't be null.")
    elif epoch < STATIC_LEAVE_EPOCH:
        raise invalid("MemberEpoch is invalid.")
    if req.server_assignor is not None and req.server_assignor not in ASSIGNORS:
        raise KafkaError(
            ErrorCode.UNSUPPORTED_ASSIGNOR,
            f"ServerAssignor {req.server_assignor} is not supported. "
            f"Supported assignors: {', '.join(ASSIGNORS)}.",
        )


class ConsumerGroups:
    """All consumer-protocol groups of this broker."""

    def __init__(
        self,
        ctx: CoordinatorContext,
        timers: Timers | None = None,
        persist: Callable[[str, int | None], None] | None = None,
    ) -> None:
        self.ctx = ctx
        self.timers = timers if timers is not None else Timers()
        # Stores a group's epoch (None: its deletion) where it survives a restart.
        self._persist = persist if persist is not None else lambda group_id, epoch: None
        self.session_ms = ctx.config("group.consumer.session.timeout.ms")
        self.heartbeat_ms = ctx.config("group.consumer.heartbeat.interval.ms")
        self.max_size = ctx.config("group.consumer.max.size")
        self.groups: dict[str, ConsumerGroup] = {}

    def statistics(self) -> dict[str, int]:
        return {
            "consumer_groups": len(self.groups),
            "consumer_members": sum(len(g.members) for g in self.groups.values()),
        }

    # -- queries -------------------------------------------------------------------------------

    def describe(self, group_id: str) -> ConsumerGroup | None:
        return self.groups.get(group_id)

    def all(self) -> list[ConsumerGroup]:
        return list(self.groups.values())

    def has_members(self, group_id: str) -> bool:
        group = self.groups.get(group_id)
        return group is not None and bool(group.members)

    # -- subscriptions and target assignment ---------------------------------------------------------

    def _subscribed(self, m: ConsumerMember) -> set[str]:
        names = {t for t in m.topic_names if self.ctx.topic(t) is not None}
        if m.topic_regex:
            try:
                rx = re.compile(m.topic_regex)
            except re.error:
                return names
            # Every topic, the internal ones too, as Kafka's TopicRegexResolver matches them.
            for t in self.ctx.topic_names():
                if self.ctx.topic(t) is not None and rx.fullmatch(t):
                    names.add(t)
        return names

    def _topics(self, group: ConsumerGroup) -> tuple[dict[str, set[str]], dict[str, int]]:
        subs = {mid: self._subscribed(m) for mid, m in group.members.items()}
        partitions = {}
        for names in subs.values():
            for t in names:
                topic = self.ctx.topic(t)
                if topic is not None:
                    partitions[t] = topic.partitions
        return subs, partitions

    def _compute_target(self, group: ConsumerGroup) -> None:
        subs, partitions = self._topics(group)
        group.topics_seen = partitions
        group.target = ASSIGN[group.assignor](subs, partitions, group.target)
        group.assignment_epoch = group.group_epoch

    def _bump(self, group: ConsumerGroup) -> None:
        group.group_epoch += 1
        self._persist(group.group_id, group.group_epoch)
        self._compute_target(group)

    def restore(self, group_id: str, epoch: int | None) -> None:
        """Replay a stored group record: an empty group at ``epoch``, or none (deleted)."""
        if epoch is None:
            self.groups.pop(group_id, None)
            return
        group = self.groups.get(group_id)
        if group is None:
            group = self.groups[group_id] = ConsumerGroup(group_id)
        group.group_epoch = group.assignment_epoch = epoch

    # -- reconciliation ------------------------------------------------------------------------------

    def _owned_by_others(self, group: ConsumerGroup, member_id: str) -> Assignment:
        out: Assignment = {}
        for mid, m in group.members.items():
            if mid == member_id:
                continue
            for a in (m.assigned, m.revoking):
                for t, ps in a.items():
                    out.setdefault(t, set()).update(ps)
        return out

    def _reconcile(
        self, group: ConsumerGroup, m: ConsumerMember, owned: Assignment | None, now: float
    ) -> None:
        target = group.target.get(m.member_id, {})
        if m.revoking:
            # Waits until the member's own report no longer lists what it must give up.
            if owned is None or intersect(m.revoking, owned):
                return
            m.revoking, m.revoke_deadline = {}, None
            self.timers.cancel(("revoke", group.group_id, m.member_id))
        if m.epoch != group.assignment_epoch:
            revoke = minus(m.assigned, target)
            if revoke:
                m.assigned = intersect(m.assigned, target)
                m.revoking = revoke
                if m.rebalance_timeout_ms > 0:
                    m.revoke_deadline = now + m.rebalance_timeout_ms / 1000
                    self.timers.schedule(
                        ("revoke", group.group_id, m.member_id),
                        m.revoke_deadline,
                        lambda t: self._revoke_expired(group, m.member_id),
                    )
                return
            m.previous_epoch, m.epoch = m.epoch, group.assignment_epoch
        # Take the target partitions no other member still holds.
        m.assigned = minus(target, self._owned_by_others(group, m.member_id))

    def _assignment_wire(self, a: Assignment) -> list[tuple[Any, list[int]]]:
        out = []
        for t in sorted(a):
            topic = self.ctx.topic(t)
            if topic is not None:
                out.append((topic.topic_id, sorted(a[t])))
        return out

    def _owned_from_request(self, tps: list[Any] | None) -> Assignment | None:
        if tps is None:
            return None
        out: Assignment = {}
        for tp in tps:
            topic = self.ctx.topic_by_id(tp.topic_id)
            if topic is not None and tp.partitions:
                out.setdefault(topic.name, set()).update(tp.partitions)
        return out

    # -- ConsumerGroupHeartbeat ----------------------------------------------------------------------

    def heartbeat(
        self,
        req: Any,
        client_id: str,
        client_host: str,
        now: float,
        classic_busy: bool,
        *,
        version: int,
    ) -> tuple[str, int, list[tuple[Any, list[int]]] | None]:
        """Apply one heartbeat; returns (member id, member epoch, assignment or None)."""
        validate_heartbeat(req, version)
        group_id = req.group_id
        epoch = req.member_epoch
        group = self.groups.get(group_id)
        if group is None:
            if classic_busy:
                raise KafkaError(
                    ErrorCode.GROUP_ID_NOT_FOUND, f"Group {group_id} is not a consumer group."
                )
            if epoch != 0:
                # Only a first heartbeat creates the group.
                raise KafkaError(ErrorCode.GROUP_ID_NOT_FOUND, f"Group {group_id} not found.")
            group = self.groups[group_id] = ConsumerGroup(group_id)
            # A new group takes epoch 1 on its first heartbeat, as in Kafka, whatever the
            # member subscribes to (which may bump it again).
            self._bump(group)
        if epoch in (LEAVE_EPOCH, STATIC_LEAVE_EPOCH):
            return self._leave(group, req, epoch)
        member = group.members.get(req.member_id) if req.member_id else None
        changed = False
        assigned_before = copy_assignment(member.assigned) if member is not None else {}
        if epoch == 0:
            known = member is not None
            if member is None and req.instance_id is not None:
                member, changed = self._join_static(group, req)
            if member is None:
                if len(group.members) >= self.max_size:
                    raise KafkaError(ErrorCode.GROUP_MAX_SIZE_REACHED, "the group is full")
                # Joining bumps the group epoch only through the subscription it brings.
                member = ConsumerMember(req.member_id or str(uuid.uuid4()))
                group.members[member.member_id] = member
            elif known and member.epoch != 0:
                # A known member joining again (after being fenced) starts from nothing.
                member.epoch, member.previous_epoch = 0, -1
                member.assigned, member.revoking = {}, {}
                member.revoke_deadline = None
                self.timers.cancel(("revoke", group_id, member.member_id))
                changed = True
            member.client_id, member.client_host = client_id, client_host
        else:
            if member is None:
                raise KafkaError(
                    ErrorCode.UNKNOWN_MEMBER_ID, f"member {req.member_id} is not in the group"
                )
            self._check_epoch(member, epoch, self._owned_from_request(req.topic_partitions))
        member.last_heartbeat = now
        self.timers.schedule(
            ("consumer-session", group_id, member.member_id),
            now + self.session_ms / 1000,
            lambda t: self._session_expired(group, member.member_id),
        )
        changed |= self._update_subscription(group, member, req)
        if not changed and self._topics(group)[1] != group.topics_seen:
            changed = True  # partitions were added to (or topics removed from) the subscription
        if changed:
            self._bump(group)
        owned = self._owned_from_request(req.topic_partitions)
        if epoch == 0:
            owned = owned or {}
        self._reconcile(group, member, owned, now)
        # The assignment goes with the answer to a full request (a join, or one with every
        # field a client sends after an error) and whenever it changed, as in Kafka.
        full = epoch == 0 or (
            req.rebalance_timeout_ms != -1
            and req.subscribed_topic_names is not None
            and req.topic_partitions is not None
        )
        send = None
        if full or member.assigned != assigned_before:
            send = self._assignment_wire(member.assigned)
        return member.member_id, member.epoch, send

    def _check_epoch(self, m: ConsumerMember, epoch: int, owned: Assignment | None) -> None:
        if epoch == m.epoch:
            return
        if epoch == m.previous_epoch and owned is not None and not minus(owned, m.assigned):
            # A lost response: the member is one epoch behind and owns nothing it should not.
            return
        raise KafkaError(ErrorCode.FENCED_MEMBER_EPOCH, f"member epoch {epoch} is not {m.epoch}")

    def _join_static(self, group: ConsumerGroup, req: Any) -> tuple[ConsumerMember | None, bool]:
        old = next((m for m in group.members.values() if m.instance_id == req.instance_id), None)
        if old is None:
            return None, False
        if not old.left_static:
            raise KafkaError(
                ErrorCode.UNRELEASED_INSTANCE_ID,
                f"static member {req.instance_id} was not released",
            )
        # The returning instance takes over the old member's epoch and assignment.
        del group.members[old.member_id]
        self._cancel_timers(group, old.member_id)
        new = ConsumerMember(req.member_id or str(uuid.uuid4()))
        for attr in ("instance_id", "epoch", "previous_epoch", "assigned", "topic_names"):
            setattr(new, attr, getattr(old, attr))
        new.topic_regex = old.topic_regex
        group.members[new.member_id] = new
        if old.member_id in group.target:
            group.target[new.member_id] = group.target.pop(old.member_id)
        return new, False

    def _update_subscription(self, group: ConsumerGroup, m: ConsumerMember, req: Any) -> bool:
        changed = False
        if req.instance_id is not None:
            m.instance_id = req.instance_id
        if req.rack_id is not None:
            m.rack_id = req.rack_id
        if req.rebalance_timeout_ms >= 0:
            m.rebalance_timeout_ms = req.rebalance_timeout_ms
        names = req.subscribed_topic_names
        if names is not None and set(names) != set(m.topic_names):
            m.topic_names, changed = subscription_order(names), True
        regex = getattr(req, "subscribed_topic_regex", None)
        if regex is not None:
            regex = regex or None
            if regex != m.topic_regex:
                m.topic_regex, changed = regex, True
        if req.server_assignor is not None:
            m.server_assignor = req.server_assignor
            if req.server_assignor != group.assignor:
                group.assignor, changed = req.server_assignor, True
        return changed

    def _leave(self, group: ConsumerGroup, req: Any, epoch: int) -> tuple[str, int, None]:
        """A member leaves: found by its instance id when it gives one (as Kafka does), by
        its member id otherwise. A static member leaving with epoch -2 keeps its place."""
        if req.instance_id is None:
            member = group.members.get(req.member_id)
            if member is None:
                raise KafkaError(
                    ErrorCode.UNKNOWN_MEMBER_ID, f"member {req.member_id} is not in the group"
                )
        else:
            member = next(
                (m for m in group.members.values() if m.instance_id == req.instance_id), None
            )
            if member is None:
                raise KafkaError(
                    ErrorCode.UNKNOWN_MEMBER_ID, f"Instance id {req.instance_id} is unknown."
                )
            if member.member_id != req.member_id:
                raise KafkaError(
                    ErrorCode.FENCED_INSTANCE_ID,
                    f"Static member {req.member_id} with instance id {req.instance_id} was "
                    f"fenced by member {member.member_id}.",
                )
            if epoch == STATIC_LEAVE_EPOCH:
                # Kept with its assignment until it returns or its session expires.
                member.left_static = True
                return member.member_id, epoch, None
        self._remove(group, member.member_id)
        return req.member_id, epoch, None

    def _remove(self, group: ConsumerGroup, member_id: str) -> None:
        group.members.pop(member_id, None)
        group.target.pop(member_id, None)
        self._cancel_timers(group, member_id)
        self._bump(group)

    # -- timers --------------------------------------------------------------------------------------

    def _cancel_timers(self, group: ConsumerGroup, member_id: str) -> None:
        self.timers.cancel(("consumer-session", group.group_id, member_id))
        self.timers.cancel(("revoke", group.group_id, member_id))

    def _live(self, group: ConsumerGroup, member_id: str) -> ConsumerMember | None:
        return group.members.get(member_id) if self.groups.get(group.group_id) is group else None

    def _session_expired(self, group: ConsumerGroup, member_id: str) -> None:
        if self._live(group, member_id) is not None:
            log.info("member %s of group %s: session expired", member_id, group.group_id)
            self._remove(group, member_id)

    def _revoke_expired(self, group: ConsumerGroup, member_id: str) -> None:
        m = self._live(group, member_id)
        if m is None or m.revoke_deadline is None:
            return
        # Kept its partitions past its rebalance timeout: fenced, so that the members
        # waiting for them can go on.
        log.info(
            "member %s of group %s did not revoke %s within %d ms; removing it",
            member_id,
            group.group_id,
            m.revoking,
            m.rebalance_timeout_ms,
        )
        self._remove(group, member_id)

    # -- offsets and admin ---------------------------------------------------------------------------

    def check_commit(self, group_id: str, member_id: str, epoch: int) -> bool:
        """True when the commit targets a consumer group (and is allowed)."""
        group = self.groups.get(group_id)
        if group is None:
            return False
        if not member_id and epoch < 0:
            if group.members:
                raise KafkaError(ErrorCode.UNKNOWN_MEMBER_ID, "the group has members")
            return True
        m = group.members.get(member_id)
        if m is None:
            raise KafkaError(ErrorCode.UNKNOWN_MEMBER_ID, f"member {member_id} is not in the group")
        if epoch != m.epoch:
            raise KafkaError(ErrorCode.STALE_MEMBER_EPOCH, f"member epoch {epoch} is not {m.epoch}")
        return True

    def delete(self, group_id: str) -> bool:
        group = self.groups.get(group_id)
        if group is None:
            return False
        if group.members:
            raise KafkaError(ErrorCode.NON_EMPTY_GROUP, f"group {group_id} has members")
        del self.groups[group_id]
        self._persist(group_id, None)
        return True

    def describe_assignment(self, a: Assignment) -> list[tuple[Any, str, list[int]]]:
        out = []
        for t in sorted(a):
            topic = self.ctx.topic(t)
            if topic is not None:
                out.append((topic.topic_id, t, sorted(a[t])))
        return out
