"""AlterConfigs (key 33), versions 0-2: replace a resource's whole set of overrides.

Topic overrides are validated, persisted with the topic metadata and applied to its logs at
once. A broker resource, this broker's id or the cluster default (empty name), takes the
dynamic broker keys Kafka 4.4 takes, checked as Kafka checks them (kpy/config_dynamic.py;
refusals are INVALID_REQUEST), persisted in the data dir like the topic overrides.
"""

from __future__ import annotations

from kpy.config import validate_topic_config
from kpy.dispatch import RequestContext, handles
from kpy.handlers.configs import (
    TOPIC,
    check_alter_resource,
    check_altered_topic_name,
    check_broker_name,
    duplicate_resources,
    topic_of,
)
from kpy.handlers.errors import ItemError
from kpy.protocol.messages.alter_configs import AlterConfigsRequest, AlterConfigsResponse


@handles(33, 0, 2)
async def alter_configs(ctx: RequestContext, req: AlterConfigsRequest) -> AlterConfigsResponse:
    broker = ctx.broker
    response = AlterConfigsResponse()
    duplicates = duplicate_resources(req.resources)
    for res in req.resources:
        result = AlterConfigsResponse.AlterConfigsResourceResponse(
            resource_type=res.resource_type, resource_name=res.resource_name
        )
        response.responses.append(result)
        with ItemError() as failed:
            check_alter_resource(res, duplicates)
            values = {c.name: c.value for c in res.configs}
            if res.resource_type == TOPIC:
                check_altered_topic_name(res.resource_name)
                validate_topic_config(values)
                topic_of(broker, res.resource_name)
                if not req.validate_only:
                    broker.set_topic_configs(
                        res.resource_name, {k: str(v) for k, v in values.items()}
                    )
            else:
                check_broker_name(broker, res.resource_name, alter=True)
                broker.config.alter_dynamic(
                    values,
                    per_broker=res.resource_name != "",
                    replace=True,
                    validate_only=req.validate_only,
                )
                if not req.validate_only:
                    broker.metadata.save_broker_configs()
        result.error_code, result.error_message = failed.code, failed.message
    return response
