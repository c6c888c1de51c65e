"""Shared pieces of the config APIs (DescribeConfigs, AlterConfigs, IncrementalAlterConfigs)."""

from __future__ import annotations

import re

from kpy.protocol.error_codes import ErrorCode, KafkaError

TOPIC = 2
BROKER = 4
BROKER_LOGGER = 8


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
