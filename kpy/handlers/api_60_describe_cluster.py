"""DescribeCluster (key 60), versions 0-1: this broker, the cluster id, the controller (us).

Authorized operations, when asked, are every cluster operation (Kafka without an authorizer).
From v1 the endpoint type must be a broker's: a controller's is MISMATCHED_ENDPOINT_TYPE, any
other UNSUPPORTED_ENDPOINT_TYPE, answered (as Kafka does) without a cluster id or brokers.
"""

from __future__ import annotations

from kpy.dispatch import RequestContext, handles
from kpy.handlers.api_03_metadata import CLUSTER_OPERATIONS
from kpy.protocol.error_codes import ErrorCode
from kpy.protocol.messages.describe_cluster import DescribeClusterRequest, DescribeClusterResponse

BROKER_ENDPOINT, CONTROLLER_ENDPOINT = 1, 2


@handles(60, 0, 1)
async def describe_cluster(
    ctx: RequestContext, req: DescribeClusterRequest
) -> DescribeClusterResponse:
    broker = ctx.broker
    if ctx.api_version >= 1 and req.endpoint_type == CONTROLLER_ENDPOINT:
        return DescribeClusterResponse(
            error_code=ErrorCode.MISMATCHED_ENDPOINT_TYPE,
            error_message="The request was sent to an endpoint of type BROKER, "
            "but we wanted an endpoint of type CONTROLLER",
        )
    if ctx.api_version >= 1 and req.endpoint_type != BROKER_ENDPOINT:
        return DescribeClusterResponse(
            error_code=ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
            error_message=f"Unsupported endpoint type {req.endpoint_type}",
        )
    host, port = broker.advertised(ctx.listener)
    response = DescribeClusterResponse(
        cluster_id=broker.metadata.cluster_id,
        controller_id=broker.node_id,
        brokers=[
            DescribeClusterResponse.DescribeClusterBroker(
                broker_id=broker.node_id, host=host, port=port
            )
        ],
    )
    if req.include_cluster_authorized_operations:
        response.cluster_authorized_operations = CLUSTER_OPERATIONS
    return response
