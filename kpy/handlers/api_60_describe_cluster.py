"""DescribeCluster (key 60), versions 0-1: this broker, the cluster id, the controller (us)."""

from __future__ import annotations

from kpy.dispatch import RequestContext, handles
from kpy.protocol.error_codes import ErrorCode
from kpy.protocol.messages.describe_cluster import DescribeClusterRequest, DescribeClusterResponse

BROKER_ENDPOINT = 1


@handles(60, 0, 1)
async def describe_cluster(
    ctx: RequestContext, req: DescribeClusterRequest
) -> DescribeClusterResponse:
    broker = ctx.broker
    if ctx.api_version >= 1 and req.endpoint_type != BROKER_ENDPOINT:
        return DescribeClusterResponse(
            error_code=ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
            error_message="The request was sent to an endpoint of type BROKER, "
            f"but we wanted an endpoint of type {req.endpoint_type}",
            cluster_id=broker.metadata.cluster_id,
        )
    host, port = broker.advertised(ctx.listener)
    return DescribeClusterResponse(
        cluster_id=broker.metadata.cluster_id,
        controller_id=broker.node_id,
        brokers=[
            DescribeClusterResponse.DescribeClusterBroker(
                broker_id=broker.node_id, host=host, port=port
            )
        ],
    )
