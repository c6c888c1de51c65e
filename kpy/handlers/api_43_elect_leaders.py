"""ElectLeaders (key 43), versions 0-2.

With one broker the leader is always the preferred replica: each partition answers
ELECTION_NOT_NEEDED, as Kafka does when the preferred leader already leads; unknown
partitions get UNKNOWN_TOPIC_OR_PARTITION. Null topic_partitions asks for every partition:
Kafka lists every topic, with no partition results (none needed electing). As Kafka's
controller, a timeout of 0 or below is REQUEST_TIMED_OUT (kpy/handlers/controller.py) and an
election type other than preferred (0) or unclean (1) INVALID_REQUEST, at the top level and for
every partition asked (an empty list of partitions is answered empty, without either check).
"""

from __future__ import annotations

from kpy.dispatch import RequestContext, handles
from kpy.handlers.controller import check_deadline
from kpy.protocol.error_codes import ErrorCode
from kpy.protocol.messages.elect_leaders import ElectLeadersRequest, ElectLeadersResponse

R = ElectLeadersResponse
ELECTION_TYPES = (0, 1)  # preferred, unclean


@handles(43, 0, 2)
async def elect_leaders(ctx: RequestContext, req: ElectLeadersRequest) -> ElectLeadersResponse:
    broker = ctx.broker
    if req.topic_partitions == []:
        return R()  # nothing for Kafka's controller to do, nor to check
    check_deadline(req.timeout_ms)
    if req.election_type not in ELECTION_TYPES:
        # Kafka's controller answers as its error response does, with a message each.
        refusal = req.error_response(ctx.api_version, ErrorCode.INVALID_REQUEST)
        for result in refusal.replica_election_results:
            for p in result.partition_result:
                p.error_message = f"Unknown election type {req.election_type}"
        return refusal
    response = R()
    if req.topic_partitions is None:
        response.replica_election_results = [
            R.ReplicaElectionResult(topic=name) for name in broker.metadata.topics
        ]
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
