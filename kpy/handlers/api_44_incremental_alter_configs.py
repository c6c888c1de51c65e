"""IncrementalAlterConfigs (key 44), versions 0-1: SET, DELETE, APPEND, SUBTRACT per key.

APPEND and SUBTRACT apply to list-typed keys only (cleanup.policy, ...), as in Kafka. Broker
resources take the dynamic broker keys Kafka 4.4 takes, checked as Kafka checks them
(kpy/config_dynamic.py); APPEND and SUBTRACT start from the value the resource has. A broker
logger resource is checked as Kafka checks it, against no loggers (check_logger_ops).
"""

from __future__ import annotations

from kpy.config import KEYS, Config, format_value, validate_topic_config
from kpy.config_dynamic import typed_key
from kpy.config_keys import BROKER_KEYS, KAFKA_STATIC_KEYS
from kpy.dispatch import RequestContext, handles
from kpy.handlers.configs import (
    BROKER_LOGGER,
    TOPIC,
    check_alter_resource,
    check_altered_topic_name,
    check_broker_name,
    check_no_duplicates,
    check_not_null,
    duplicate_resources,
    topic_of,
)
from kpy.handlers.errors import ItemError, code_of
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.protocol.messages.incremental_alter_configs import (
    IncrementalAlterConfigsRequest,
    IncrementalAlterConfigsResponse,
)

SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3
OPS = (SET, DELETE, APPEND, SUBTRACT)


@handles(44, 0, 1)
async def incremental_alter_configs(
    ctx: RequestContext, req: IncrementalAlterConfigsRequest
) -> IncrementalAlterConfigsResponse:
    broker = ctx.broker
    response = IncrementalAlterConfigsResponse()
    duplicates = duplicate_resources(req.resources)
    # Kafka's controller fails on a topic's unknown operation, and with it the whole request it
    # was sent: every resource that passed the broker's checks is UNKNOWN_SERVER_ERROR.
    failed = any(_unknown_topic_op(res, duplicates) for res in req.resources)
    for res in req.resources:
        result = IncrementalAlterConfigsResponse.AlterConfigsResourceResponse(
            resource_type=res.resource_type, resource_name=res.resource_name
        )
        response.responses.append(result)
        with ItemError() as refused:
            check_alter_resource(res, duplicates, incremental=True)
            if res.resource_type == TOPIC:
                if failed:
                    raise KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR)
                topic = broker.metadata.get(res.resource_name)
                configs = topic.configs if topic is not None else {}
                current = broker.config.effective_topic_config(configs)
                overrides = apply_ops(dict(configs), current, res.configs)
                check_altered_topic_name(res.resource_name)
                validate_topic_config(overrides)
                topic_of(broker, res.resource_name)
                if not req.validate_only:
                    broker.set_topic_configs(res.resource_name, overrides)
            elif res.resource_type == BROKER_LOGGER:
                check_logger_ops(broker, res)
            else:
                check_broker_name(broker, res.resource_name, alter=True)
                per_broker = res.resource_name != ""
                sets, deletes = broker_ops(broker.config, res.configs, per_broker)
                validate_only = req.validate_only or failed
                broker.config.alter_dynamic(
                    sets, deletes, per_broker=per_broker, validate_only=validate_only
                )
                if failed:
                    raise KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR)
                if not validate_only:
                    broker.metadata.save_broker_configs()
        result.error_code, result.error_message = refused.code, refused.message
    return response


def check_logger_ops(broker, res) -> None:
    """A broker logger resource names this broker (no default); kpy has none of Kafka's log4j
    loggers (DescribeConfigs lists none), so each SET or DELETE names an unknown logger."""
    if res.resource_name == "":
        raise KafkaError(ErrorCode.INVALID_REQUEST, "Node id must be an integer, but it is: ")
    check_broker_name(broker, res.resource_name, alter=True)
    for c in res.configs:
        if c.config_operation in (SET, DELETE):
            raise KafkaError(ErrorCode.INVALID_CONFIG, f"Logger {c.name} does not exist!")
        op = {APPEND: "APPEND", SUBTRACT: "SUBTRACT"}.get(c.config_operation)
        raise KafkaError(
            ErrorCode.INVALID_REQUEST,
            f"{op} operation is not allowed for the BROKER_LOGGER resource"
            if op
            else f"Unknown operation type {c.config_operation} is not allowed for the "
            "BROKER_LOGGER resource",
        )


def _unknown_topic_op(res, duplicates: set[tuple[int, str]]) -> bool:
    if res.resource_type != TOPIC or all(c.config_operation in OPS for c in res.configs):
        return False
    return not code_of(check_alter_resource, res, duplicates, incremental=True)


def apply_ops(overrides: dict[str, str], current: dict, ops) -> dict[str, str]:
    """A topic's overrides after its (known) operations; the keys and values are checked
    after, by validate_topic_config, as Kafka's controller checks them."""
    for c in ops:
        if c.config_operation == SET:
            overrides[c.name] = c.value
        elif c.config_operation == DELETE:
            overrides.pop(c.name, None)
        else:
            key = KEYS.get(c.name)
            if key is None or key.scope != "topic" or key.type != "list":
                verb = "APPEND" if c.config_operation == APPEND else "SUBTRACT"
                raise KafkaError(
                    ErrorCode.INVALID_CONFIG,
                    f"Can't {verb} to key {c.name} because its type is not LIST.",
                )
            items = list(current.get(c.name) or [])
            values = [v.strip() for v in (c.value or "").split(",") if v.strip()]
            if c.config_operation == APPEND:
                items += [v for v in values if v not in items]
            else:
                items = [v for v in items if v not in values]
            overrides[c.name] = ",".join(items)
    return overrides


def broker_ops(config: Config, ops, per_broker: bool) -> tuple[dict[str, str], list[str]]:
    """A broker resource's operations as the values to set and the names to delete."""
    check_no_duplicates([c.name for c in ops])
    sets: dict[str, str] = {}
    deletes: list[str] = []
    for c in ops:
        if c.config_operation == SET:
            sets[c.name] = check_not_null(c.name, c.value)
        elif c.config_operation == DELETE:
            deletes.append(c.name)
        elif c.config_operation in (APPEND, SUBTRACT):
            sets[c.name] = _list_op(config, c, per_broker)
        else:
            raise KafkaError(
                ErrorCode.INVALID_REQUEST, f"Unknown operations type {c.config_operation}"
            )
    return sets, deletes


def _list_op(config: Config, c, per_broker: bool) -> str:
    if c.name not in KAFKA_STATIC_KEYS and typed_key(c.name) is None:
        raise KafkaError(ErrorCode.INVALID_CONFIG, f"Unknown config name: {c.name}")
    key = BROKER_KEYS.get(c.name)
    if key is None or key.type != "list":
        verb = "append" if c.config_operation == APPEND else "subtract"
        raise KafkaError(
            ErrorCode.INVALID_CONFIG,
            f"Config value {verb} is not allowed for config key: {c.name}",
        )
    current = format_value(config.layer_value(c.name, per_broker=per_broker)) or ""
    items = [v.strip() for v in current.split(",") if v.strip()]
    values = [v.strip() for v in check_not_null(c.name, c.value).split(",") if v.strip()]
    if c.config_operation == APPEND:
        items += [v for v in values if v not in items]
    else:
        items = [v for v in items if v not in values]
    return ",".join(items)
