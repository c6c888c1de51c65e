"""Shared pieces of the config APIs (DescribeConfigs, AlterConfigs, IncrementalAlterConfigs)."""

from __future__ import annotations

import re
from collections import Counter

from kpy.metadata import validate_topic_name
from kpy.protocol.error_codes import ErrorCode, KafkaError

TOPIC = 2
BROKER = 4
BROKER_LOGGER = 8
DELETE_OP = 1  # IncrementalAlterConfigs' DELETE


def check_broker_name(broker, name: str, *, alter: bool = False) -> None:
    """A broker resource names this broker's id, or is empty for the cluster default. Kafka
    words the refusal differently for DescribeConfigs and for the alter requests."""
    if name == "":
        return
    if not re.fullmatch(r"[+-]?[0-9]+", name):
        what = "Node id" if alter else "Broker id"
        raise KafkaError(ErrorCode.INVALID_REQUEST, f"{what} must be an integer, but it is: {name}")
    if int(name) == broker.node_id:  # "01" names broker 1, as Integer.parseInt reads it
        return
    expected = f"{broker.node_id}" if alter else f"{broker.node_id} or empty string"
    raise KafkaError(
        ErrorCode.INVALID_REQUEST,
        f"Unexpected broker id, expected {expected}, but received {name}",
    )


def check_no_duplicates(names: list[str]) -> None:
    if len(set(names)) != len(names):
        raise KafkaError(ErrorCode.INVALID_REQUEST, "Error due to duplicate config keys")


def check_not_null(name: str, value: str | None) -> str:
    if value is None:
        raise KafkaError(ErrorCode.INVALID_REQUEST, f"Null value not supported for : {name}")
    return value


def topic_of(broker, name: str):
    topic = broker.metadata.get(name)
    if topic is None:
        raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"Topic {name} does not exist")
    return topic


def duplicate_resources(resources) -> set[tuple[int, str]]:
    """The (type, name) of resources an alter names more than once: Kafka refuses each of them
    (INVALID_REQUEST) and alters the others."""
    counts = Counter((r.resource_type, r.resource_name) for r in resources)
    return {key for key, n in counts.items() if n > 1}


def check_alter_resource(
    res, duplicates: set[tuple[int, str]], *, incremental: bool = False
) -> None:
    """What Kafka's broker checks of an alter's resource before its controller sees it: each
    resource once (``duplicates``), each key once, a value for each key (but for an
    incremental DELETE), a type it alters (topic or broker; broker logger incrementally), all
    INVALID_REQUEST."""
    if (res.resource_type, res.resource_name) in duplicates:
        raise KafkaError(ErrorCode.INVALID_REQUEST, "Each resource must appear at most once.")
    check_no_duplicates([c.name for c in res.configs])
    nulls = [
        c.name
        for c in res.configs
        if c.value is None and not (incremental and c.config_operation == DELETE_OP)
    ]
    if nulls:
        raise KafkaError(
            ErrorCode.INVALID_REQUEST, "Null value not supported for : " + ", ".join(nulls)
        )
    if res.resource_type not in (
        (TOPIC, BROKER, BROKER_LOGGER) if incremental else (TOPIC, BROKER)
    ):
        raise KafkaError(ErrorCode.INVALID_REQUEST, f"Unknown resource type {res.resource_type}")


def check_altered_topic_name(name: str) -> None:
    """Kafka's controller checks an altered topic's name before its configs, and its configs
    before it looks the topic up (topic_of)."""
    if name == "":
        raise KafkaError(ErrorCode.INVALID_REQUEST, "Default topic resources are not allowed.")
    validate_topic_name(name)
