"""Classic consumer-group state: members, generations and the group state machine.

States and the transitions Kafka allows (checked by ``Group.transition``)::

    Empty               -> PreparingRebalance, Dead
    PreparingRebalance  -> CompletingRebalance, Empty, Dead
    CompletingRebalance -> Stable, PreparingRebalance, Dead
    Stable              -> PreparingRebalance, Dead
    Dead                -> (none)

Every state change goes through ``Group.transition`` (deleting a group too: Dead is a
transition like the others). This module is pure bookkeeping without trio: a waiting
JoinGroup or SyncGroup is anything with ``set()`` (a trio.Event, in classic_groups.py, which
also keeps the timers).
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from kpy.coordinator.offsets import CommittedOffset
from kpy.protocol.consumer_protocol import parse_subscription

EMPTY = "Empty"
PREPARING_REBALANCE = "PreparingRebalance"
COMPLETING_REBALANCE = "CompletingRebalance"
STABLE = "Stable"
DEAD = "Dead"

TRANSITIONS: dict[str, frozenset[str]] = {
    EMPTY: frozenset({PREPARING_REBALANCE, DEAD}),
    PREPARING_REBALANCE: frozenset({COMPLETING_REBALANCE, EMPTY, DEAD}),
    COMPLETING_REBALANCE: frozenset({STABLE, PREPARING_REBALANCE, DEAD}),
    STABLE: frozenset({PREPARING_REBALANCE, DEAD}),
    DEAD: frozenset(),
}


def member_host(address: str) -> str:
    """A member's client host as Kafka's coordinators record it (DescribeGroups,
    ConsumerGroupDescribe, kafka-consumer-groups' HOST column): Java's
    ``InetAddress.toString()`` of the peer, "/" then the address, IPv6 unabbreviated
    ("/0:0:0:0:0:0:0:1")."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return f"/{address}"
    if ip.version == 6:
        return "/" + ":".join(f"{int(g, 16):x}" for g in ip.exploded.split(":"))
    return f"/{ip}"


class IllegalTransition(RuntimeError):
    pass


class Waiter(Protocol):
    """What a request waiting for a rebalance is woken with (trio.Event fits)."""

    def set(self) -> None: ...


@dataclass(eq=False)
class Member:
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    session_timeout_ms: int
    rebalance_timeout_ms: int
    protocol_type: str
    protocols: list[tuple[str, bytes]]
    assignment: bytes = b""
    last_heartbeat: float = 0.0
    # Set while a JoinGroup / SyncGroup of this member waits for the rebalance.
    join_waiter: Waiter | None = None
    sync_waiter: Waiter | None = None
    joined_this_round: bool = False

    def metadata_for(self, protocol: str) -> bytes:
        for name, metadata in self.protocols:
            if name == protocol:
                return metadata
        return b""


@dataclass(eq=False)
class Group:
    group_id: str
    state: str = EMPTY
    generation_id: int = 0
    protocol_type: str | None = None
    protocol_name: str | None = None
    leader_id: str | None = None
    members: dict[str, Member] = field(default_factory=dict)
    static_members: dict[str, str] = field(default_factory=dict)  # instance id -> member id
    pending_members: set[str] = field(default_factory=set)  # got MEMBER_ID_REQUIRED
    offsets: dict[tuple[str, int], CommittedOffset] = field(default_factory=dict)
    rebalance_deadline: float = 0.0
    initial_delay_deadline: float = 0.0
    state_timestamp_ms: int = -1

    def transition(self, new_state: str) -> None:
        if new_state not in TRANSITIONS[self.state]:
            raise IllegalTransition(f"group {self.group_id}: {self.state} -> {new_state}")
        self.state = new_state

    def is_(self, *states: str) -> bool:
        return self.state in states

    def add_member(self, member: Member) -> None:
        self.members[member.member_id] = member
        if member.group_instance_id is not None:
            self.static_members[member.group_instance_id] = member.member_id
        if self.leader_id is None:
            self.leader_id = member.member_id

    def remove_member(self, member_id: str) -> Member | None:
        member = self.members.pop(member_id, None)
        if member is None:
            return None
        if member.group_instance_id is not None:
            self.static_members.pop(member.group_instance_id, None)
        if self.leader_id == member_id:
            self.leader_id = next(iter(self.members), None)
        return member

    def all_joined(self) -> bool:
        return all(m.joined_this_round for m in self.members.values())

    def supports(self, protocol_type: str, protocols: list[tuple[str, bytes]]) -> bool:
        """A new member must share the group's protocol type and one protocol with everyone."""
        if not self.members:
            return bool(protocol_type) and bool(protocols)
        counts, size = self._protocol_counts(), len(self.members)
        return protocol_type == self.protocol_type and any(counts[n] == size for n, _ in protocols)

    def _protocol_counts(self) -> Counter[str]:
        return Counter(n for m in self.members.values() for n, _ in m.protocols)

    def candidate_protocols(self) -> set[str]:
        """The protocols every member supports. As in Kafka these are counted over the
        members' lists, so a name a member lists twice counts twice and is no candidate when
        the count no longer equals the number of members."""
        size = len(self.members)
        return {n for n, count in self._protocol_counts().items() if count == size}

    def has_vote(self) -> bool:
        """Every member lists a candidate protocol (Kafka's vote fails otherwise)."""
        candidates = self.candidate_protocols()
        return all(any(n in candidates for n, _ in m.protocols) for m in self.members.values())

    def select_protocol(self) -> str:
        """The protocol every member supports that gets the most first-preference votes."""
        candidates = self.candidate_protocols()
        if not self.has_vote():
            # Kafka's rebalance fails here (a member without a candidate, through names
            # listed twice); kpy keeps to the names every member lists.
            sets = [{n for n, _ in m.protocols} for m in self.members.values()]
            candidates = set.intersection(*sets)
        votes: dict[str, int] = {}
        for m in self.members.values():
            for name, _ in m.protocols:
                if name in candidates:
                    votes[name] = votes.get(name, 0) + 1
                    break
        # Ties go to the earliest member's preference order, like Kafka's vote.
        first = next(iter(self.members.values()))
        order = [n for n, _ in first.protocols if n in candidates]
        return max(order, key=lambda n: (votes.get(n, 0), -order.index(n)))

    def subscribed_topics(self) -> set[str] | None:
        """Topics the members subscribe to (consumer protocol), or None if unknown."""
        if self.protocol_type != "consumer" or not self.protocol_name:
            return None
        topics: set[str] = set()
        for m in self.members.values():
            topics |= parse_subscription(m.metadata_for(self.protocol_name))
        return topics
