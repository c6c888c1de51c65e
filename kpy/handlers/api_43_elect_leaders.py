"""ElectLeaders (key 43), versions 0-2.

With one broker the leader is always the preferred replica: each partition answers
ELECTION_NOT_NEEDED, as Kafka does when the preferred leader already leads; unknown
partitions get UNKNOWN_TOPIC_OR_PARTITION.
"""

from __future__ import annotations

from kpy.dispatch import RequestContext, handles
from kpy.protocol.error_codes import ErrorCode
from kpy.protocol.messages.elect_leaders import ElectLeadersRequest, ElectLeadersResponse

R = ElectLeadersResponse


@handles(43, 0, 2)
async def elect_leaders(ctx: RequestContext, req: ElectLeadersRequest) -> ElectLeadersResponse:
    broker = ctx.broker
    response = R()
    if req.topic_partitions is None:
        # Every partition: nothing needs electing, so Kafka answers with an empty result.
        return response
    for tp in req.topic_partitions:
        result = R.ReplicaElectionResult(topic=tp.topic)
        response.replica_election_results.append(result)
        topic = broker.metadata.get(tp.topic)
        for p in tp.partitions:
            if topic is None or not 0 <= p < topic.partitions:
                result.partition_result.append(
                    R.PartitionResult(
                        partition_id=p,
                        error_code=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                        error_message=f"The partition {tp.topic}-{p} does not exist.",
                    )
                )
            else:
                result.partition_result.append(
                    R.PartitionResult(
                        partition_id=p,
                        error_code=ErrorCode.ELECTION_NOT_NEEDED,
                        error_message="Leader election not needed for topic partition.",
                    )
                )
    return response
