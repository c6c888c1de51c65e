"""FindCoordinator (key 10), versions 0-6: this broker coordinates every group and
transactional id. v0-3 take one key; v4+ (KIP-699) a batch of keys."""

from __future__ import annotations

from kpy.dispatch import RequestContext, handles
from kpy.protocol.error_codes import ErrorCode
from kpy.protocol.messages.find_coordinator import FindCoordinatorRequest, FindCoordinatorResponse

GROUP, TRANSACTION = 0, 1


@handles(10, 0, 6)
async def find_coordinator(
    ctx: RequestContext, req: FindCoordinatorRequest
) -> FindCoordinatorResponse:
    broker = ctx.broker
    # Like Kafka, __consumer_offsets and __transaction_state appear when a client first looks
    # for a group's or a transactional id's coordinator.
    if req.key_type == GROUP:
        await broker.groups.ensure_topic()
    elif req.key_type == TRANSACTION:
        await broker.txns.ensure_topic()
    host, port = broker.advertised(ctx.listener)
    if req.key_type not in (GROUP, TRANSACTION):
        error, message = ErrorCode.INVALID_REQUEST, f"unknown key type {req.key_type}"
    else:
        error, message = ErrorCode.NONE, None
    node = broker.node_id if not error else -1
    if ctx.api_version < 4:
        return FindCoordinatorResponse(
            error_code=error,
            error_message=message,
            node_id=node,
            host=host if not error else "",
            port=port if not error else -1,
        )
    return FindCoordinatorResponse(
        coordinators=[
            FindCoordinatorResponse.Coordinator(
                key=key,
                node_id=node,
                host=host if not error else "",
                port=port if not error else -1,
                error_code=error,
                error_message=message,
            )
            for key in req.coordinator_keys
        ]
    )
