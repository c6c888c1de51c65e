"""Shared pieces of the APIs Kafka's brokers forward to the controller (CreateTopics,
DeleteTopics, CreatePartitions, ElectLeaders)."""

from __future__ import annotations

from kpy.protocol.error_codes import ErrorCode, KafkaError


def check_deadline(timeout_ms: int) -> None:
    """Kafka's controller runs a request by the deadline now + timeout_ms: with a timeout of 0
    or below the deadline has passed before it runs, so nothing is done and the whole request
    is answered REQUEST_TIMED_OUT (every topic as asked, no message). Kafka's broker answers
    what it refuses itself (names given twice, say) without asking the controller, so this is
    checked only when something is left for the controller. Raised, dispatch answers it with
    the API's error response."""
    if timeout_ms <= 0:
        raise KafkaError(ErrorCode.REQUEST_TIMED_OUT)
