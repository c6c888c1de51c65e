"""Membership of a consumer group through the KIP-848 protocol, for one subscribed topic.

The broker (the group coordinator) assigns partitions: a member joins with member epoch 0,
heartbeats every ``heartbeat_interval_ms`` reporting the partitions it owns, and takes the
assignment an answer carries (a missing assignment means "unchanged"). Fenced or unknown
members rejoin with epoch 0, giving up their partitions, as the Java consumer does. Offsets
are committed with the member id and epoch (OffsetCommit v9 checks them) and read with
OffsetFetch; leaving is a heartbeat with epoch -1.
"""

from __future__ import annotations

import uuid

import trio

from kpy.client.client import Client, ClientError, check
from kpy.client.fetch import topic_id
from kpy.client.groups import committed_offsets
from kpy.protocol.messages.consumer_group_heartbeat import ConsumerGroupHeartbeatRequest
from kpy.protocol.messages.offset_commit import OffsetCommitRequest

# Kafka's max.poll.interval.ms default: how long a member may take to release partitions.
REBALANCE_TIMEOUT_MS = 300_000
LEAVE_EPOCH = -1
_REJOIN = {25, 110}  # UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH
_COORDINATOR_MOVED = {14, 15, 16}  # loading, not available, not coordinator
_STALE_MEMBER_EPOCH = 113
_HEARTBEAT_ATTEMPTS = 20  # with 0.2 s between them while the coordinator moves


class GroupMember:
    """One member of group ``group`` subscribed to ``topic``. ``owned`` is what the member
    reports owning; the consumer sets it after taking an assignment."""

    def __init__(self, client: Client, group: str, topic: str) -> None:
        self.client = client
        self.group = group
        self.topic = topic
        self.member_id = str(uuid.uuid4())
        self.epoch = 0
        self.owned: list[int] = []
        self.joined = False  # an answer has carried an assignment
        self.heartbeats = 0  # answered since joining
        self.interval = 5.0
        self._next = 0.0

    def heartbeat_due(self) -> bool:
        return trio.current_time() >= self._next

    def heartbeat_soon(self, within: float = 0.0) -> None:
        self._next = min(self._next, trio.current_time() + within)

    def seconds_to_heartbeat(self) -> float:
        return max(0.0, self._next - trio.current_time())

    async def join(self) -> list[int] | None:
        """Join the group; the assignment of the first answer (None: none yet)."""
        self.epoch = 0
        self.owned = []
        self.heartbeats = 0
        return await self.heartbeat()

    async def heartbeat(self) -> list[int] | None:
        """One heartbeat; the new assignment (partitions of ``topic``), or None when the
        answer leaves it unchanged."""
        tid = await topic_id(self.client, self.topic)
        for attempt in range(_HEARTBEAT_ATTEMPTS):
            request = ConsumerGroupHeartbeatRequest(
                group_id=self.group,
                member_id=self.member_id,
                member_epoch=self.epoch,
                rebalance_timeout_ms=REBALANCE_TIMEOUT_MS,
                subscribed_topic_names=[self.topic],
                topic_partitions=[]
                if self.epoch == 0
                else [
                    ConsumerGroupHeartbeatRequest.TopicPartitions(
                        topic_id=tid, partitions=list(self.owned)
                    )
                ],
            )
            answer = await self.client.send_to_coordinator(self.group, request)
            if attempt == _HEARTBEAT_ATTEMPTS - 1:
                break
            if answer.error_code in _COORDINATOR_MOVED:
                self.client.forget_coordinator(self.group)
                await trio.sleep(0.2)
                continue
            if answer.error_code in _REJOIN and self.epoch != 0:
                self.epoch = 0  # fenced: start over without partitions, as Java does
                self.owned = []
                continue
            break
        check(answer.error_code, f"heartbeat in group {self.group!r}", answer.error_message)
        if answer.member_id:
            self.member_id = answer.member_id
        self.epoch = answer.member_epoch
        self.heartbeats += 1
        if answer.heartbeat_interval_ms > 0:
            self.interval = answer.heartbeat_interval_ms / 1000
        self._next = trio.current_time() + self.interval
        if answer.assignment is None:
            return None
        self.joined = True
        out = []
        for tp in answer.assignment.topic_partitions:
            if tp.topic_id == tid:
                out.extend(tp.partitions)
        return sorted(out)

    async def leave(self) -> None:
        """Leave the group (its partitions go to the other members at once)."""
        if self.epoch <= 0 and not self.joined:
            return
        request = ConsumerGroupHeartbeatRequest(
            group_id=self.group, member_id=self.member_id, member_epoch=LEAVE_EPOCH
        )
        try:
            await self.client.send_to_coordinator(self.group, request)
        except ClientError:
            pass  # the session timeout removes the member anyway
        self.epoch = LEAVE_EPOCH

    async def commit(self, positions: dict[int, int]) -> None:
        """Commit ``positions`` (partition -> next offset to read) as this member; a stale
        epoch is refreshed by a heartbeat and the commit sent once more."""
        if not positions:
            return
        for attempt in range(2):
            request = OffsetCommitRequest(
                group_id=self.group,
                generation_id_or_member_epoch=self.epoch,
                member_id=self.member_id,
                topics=[
                    OffsetCommitRequest.OffsetCommitRequestTopic(
                        name=self.topic,
                        partitions=[
                            OffsetCommitRequest.OffsetCommitRequestPartition(
                                partition_index=p, committed_offset=o, committed_leader_epoch=-1
                            )
                            for p, o in sorted(positions.items())
                        ],
                    )
                ],
            )
            answer = await self.client.send_to_coordinator(self.group, request)
            codes = {r.error_code for t in answer.topics for r in t.partitions} - {0}
            if _STALE_MEMBER_EPOCH in codes and attempt == 0:
                await self.heartbeat()
                continue
            for code in codes:
                check(code, f"committing offsets of group {self.group!r}")
            return

    async def committed(self, partitions: list[int]) -> dict[int, int]:
        """The group's committed offsets of ``partitions`` (-1 where none)."""
        got = await committed_offsets(
            self.client,
            self.group,
            {self.topic: list(partitions)},
            member_id=self.member_id,
            member_epoch=self.epoch,
        )
        return {p: got.get((self.topic, p), -1) for p in partitions}
