"""Shared pieces of the config APIs (DescribeConfigs, AlterConfigs, IncrementalAlterConfigs)."""

from __future__ import annotations

from kpy.protocol.error_codes import ErrorCode, KafkaError

TOPIC = 2
BROKER = 4
BROKER_LOGGER = 8


def check_broker_name(broker, name: str) -> None:
    """A broker resource names this broker's id, or is empty for the cluster default."""
    if name not in ("", str(broker.node_id)):
        raise KafkaError(
            ErrorCode.INVALID_REQUEST,
            f"Unexpected broker id, expected {broker.node_id} or empty string, but received {name}",
        )


def topic_of(broker, name: str):
    topic = broker.metadata.get(name)
    if topic is None:
        raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"Topic {name} does not exist")
    return topic
