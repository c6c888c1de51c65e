"""kpy.client.membership against a scripted coordinator: how a member retries heartbeats."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest

from kpy.client import ClientError
from kpy.client.client import Cluster
from kpy.client.membership import GroupMember
from kpy.protocol.messages.consumer_group_heartbeat import ConsumerGroupHeartbeatResponse

pytestmark = pytest.mark.timeout(30)


class ScriptedCoordinator:
    """A client whose coordinator answers heartbeats with ``codes``, one per request."""

    def __init__(self, codes: list[int]) -> None:
        self.codes = list(codes)
        self.epochs: list[int] = []  # the member epoch of each heartbeat received
        self.cluster = Cluster(topics={"t": SimpleNamespace(topic_id=uuid.uuid4())})

    async def send_to_coordinator(self, group, request):
        self.epochs.append(request.member_epoch)
        return ConsumerGroupHeartbeatResponse(
            error_code=self.codes.pop(0), member_id=request.member_id, member_epoch=-1
        )

    def forget_coordinator(self, group) -> None:
        pass


async def test_a_heartbeat_still_failing_on_its_last_attempt_raises(mock_clock):
    mock_clock.autojump_threshold = 0
    # The coordinator is away for every attempt but the last, which answers that the member
    # was fenced: that error is raised, not taken as an answer.
    coordinator = ScriptedCoordinator([15] * 19 + [110])
    member = GroupMember(coordinator, "g", "t")
    member.epoch = 5
    with pytest.raises(ClientError, match="FENCED_MEMBER_EPOCH"):
        await member.heartbeat()
    assert coordinator.epochs == [5] * 20 and coordinator.codes == []
