"""ConsumerGroupDescribe (key 69), version 0 (KIP-848): epochs, assignor, members with their
current and target assignments. A group that is not a consumer group answers
GROUP_ID_NOT_FOUND.
Kafka answers empty ids (INVALID_GROUP_ID) first, then the others grouped by the
__consumer_offsets partition coordinating them, in its hash map's order; kpy answers in request
order, empty ids first (the differential harness treats the order as undefined)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kpy.dispatch import RequestContext, handles
from kpy.handlers.api_03_metadata import GROUP_OPERATIONS
from kpy.protocol.error_codes import ErrorCode
from kpy.protocol.messages.consumer_group_describe import (
    ConsumerGroupDescribeRequest,
    ConsumerGroupDescribeResponse,
)

if TYPE_CHECKING:
    from kpy.coordinator.assignors import Assignment
    from kpy.coordinator.consumer_group import ConsumerGroup
    from kpy.coordinator.groups import GroupCoordinator

R = ConsumerGroupDescribeResponse


def _assignment(groups: GroupCoordinator, a: Assignment) -> R.Assignment:
    return R.Assignment(
        topic_partitions=[
            R.TopicPartitions(topic_id=tid, topic_name=name, partitions=ps)
            for tid, name, ps in groups.describe_assignment(a)
        ]
    )


def _described(
    groups: GroupCoordinator, group: ConsumerGroup, include_operations: bool
) -> R.DescribedGroup:
    return R.DescribedGroup(
        group_id=group.group_id,
        group_state=group.state,
        group_epoch=group.group_epoch,
        assignment_epoch=group.assignment_epoch,
        assignor_name=group.assignor,
        members=[
            R.Member(
                member_id=m.member_id,
                instance_id=m.instance_id,
                rack_id=m.rack_id,
                member_epoch=m.epoch,
                client_id=m.client_id,
                client_host=m.client_host,
                subscribed_topic_names=list(m.topic_names),
                # Kafka stores no regex as an empty one.
                subscribed_topic_regex=m.topic_regex or "",
                assignment=_assignment(groups, m.assigned),
                target_assignment=_assignment(groups, group.target.get(m.member_id, {})),
            )
            for m in group.members.values()
        ],
        **({"authorized_operations": GROUP_OPERATIONS} if include_operations else {}),
    )


@handles(69, 0, 0)
async def consumer_group_describe(
    ctx: RequestContext, req: ConsumerGroupDescribeRequest
) -> ConsumerGroupDescribeResponse:
    groups = ctx.broker.groups
    response = R()
    ordered = [g for g in req.group_ids if not g] + [g for g in req.group_ids if g]
    for group_id in ordered:
        group = groups.describe_consumer_group(group_id) if group_id else None
        if not group_id:
            response.groups.append(
                R.DescribedGroup(group_id=group_id, error_code=ErrorCode.INVALID_GROUP_ID)
            )
        elif group is None:
            # A classic group of that id (members, or offsets only) is named as such.
            classic = groups.describe_group(group_id) is not None
            what = "is not a consumer group" if classic else "not found"
            response.groups.append(
                R.DescribedGroup(
                    group_id=group_id,
                    error_code=ErrorCode.GROUP_ID_NOT_FOUND,
                    error_message=f"Group {group_id} {what}.",
                )
            )
        else:
            response.groups.append(_described(groups, group, req.include_authorized_operations))
    return response
