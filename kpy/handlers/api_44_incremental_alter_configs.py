"""IncrementalAlterConfigs (key 44), versions 0-1: SET, DELETE, APPEND, SUBTRACT per key.

APPEND and SUBTRACT apply to list-typed keys only (cleanup.policy, ...), as in Kafka.
"""

from __future__ import annotations

from kpy.config import KEYS, validate_topic_config
from kpy.dispatch import RequestContext, handles
from kpy.handlers.configs import BROKER, TOPIC, check_broker_name, topic_of
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.protocol.messages.incremental_alter_configs import (
    IncrementalAlterConfigsRequest,
    IncrementalAlterConfigsResponse,
)

SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3


@handles(44, 0, 1)
async def incremental_alter_configs(
    ctx: RequestContext, req: IncrementalAlterConfigsRequest
) -> IncrementalAlterConfigsResponse:
    broker = ctx.broker
    response = IncrementalAlterConfigsResponse()
    for res in req.resources:
        result = IncrementalAlterConfigsResponse.AlterConfigsResourceResponse(
            resource_type=res.resource_type, resource_name=res.resource_name
        )
        response.responses.append(result)
        try:
            if res.resource_type == TOPIC:
                topic = topic_of(broker, res.resource_name)
                current = broker.config.effective_topic_config(topic.configs)
                overrides = apply_ops(dict(topic.configs), current, res.configs)
                validate_topic_config(overrides)
                if not req.validate_only:
                    broker.set_topic_configs(res.resource_name, overrides)
            elif res.resource_type == BROKER:
                check_broker_name(broker, res.resource_name)
                per_broker = res.resource_name != ""
                for c in res.configs:
                    if c.config_operation not in (SET, DELETE):
                        raise KafkaError(
                            ErrorCode.INVALID_REQUEST,
                            f"Only SET and DELETE apply to broker config {c.name}",
                        )
                    value = c.value if c.config_operation == SET else None
                    broker.config.check_dynamic(c.name, value)
                if not req.validate_only:
                    for c in res.configs:
                        value = c.value if c.config_operation == SET else None
                        broker.config.set_dynamic(c.name, value, per_broker=per_broker)
                    broker.metadata.save_broker_configs()
            else:
                raise KafkaError(
                    ErrorCode.INVALID_REQUEST, f"Unsupported resource type {res.resource_type}"
                )
        except KafkaError as exc:
            result.error_code = exc.code
            result.error_message = exc.message
    return response


def apply_ops(overrides: dict[str, str], current: dict, ops) -> dict[str, str]:
    seen = set()
    for c in ops:
        if c.name in seen:
            raise KafkaError(ErrorCode.INVALID_REQUEST, f"Duplicate config key {c.name}")
        seen.add(c.name)
        key = KEYS.get(c.name)
        if key is None or key.scope != "topic":
            raise KafkaError(ErrorCode.INVALID_CONFIG, f"Unknown topic config name: {c.name}")
        if c.config_operation == SET:
            overrides[c.name] = c.value
        elif c.config_operation == DELETE:
            overrides.pop(c.name, None)
        elif c.config_operation in (APPEND, SUBTRACT):
            if key.type != "list":
                raise KafkaError(
                    ErrorCode.INVALID_CONFIG,
                    f"Config value append is not allowed for config key: {c.name}",
                )
            items = list(current.get(c.name) or [])
            values = [v.strip() for v in (c.value or "").split(",") if v.strip()]
            if c.config_operation == APPEND:
                items += [v for v in values if v not in items]
            else:
                items = [v for v in items if v not in values]
            overrides[c.name] = ",".join(items)
        else:
            raise KafkaError(
                ErrorCode.INVALID_REQUEST, f"Unknown config operation {c.config_operation}"
            )
    return overrides
