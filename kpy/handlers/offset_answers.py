"""Shared piece of OffsetCommit, TxnOffsetCommit and OffsetDelete: how Kafka puts their answers together.

Kafka answers unknown topics and partitions itself (UNKNOWN_TOPIC_OR_PARTITION), one entry a
topic name, before handing the rest to the group coordinator; the coordinator's answer (an
entry per topic it was given) is then merged in by name, or sent as is when nothing was
refused (a topic named twice is then answered twice).
"""

from __future__ import annotations

from typing import Any

from kpy.protocol.error_codes import ErrorCode


def merge_answers(
    refused: list[tuple[str, list[int]]], answered: list[Any], topic_cls: Any, partition_cls: Any
) -> list[Any]:
    """The topics of the answer: ``refused`` (name, partition indexes) first, then the
    coordinator's ``answered`` topic entries."""
    topics: list[Any] = []
    by_name: dict[str, Any] = {}
    for name, indexes in refused:
        entry = by_name.get(name)
        if entry is None:
            entry = by_name[name] = topic_cls(name=name)
            topics.append(entry)
        entry.partitions.extend(
            partition_cls(partition_index=i, error_code=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
            for i in indexes
        )
    if not topics:
        return answered
    for entry in answered:
        existing = by_name.get(entry.name)
        if existing is None:
            by_name[entry.name] = entry
            topics.append(entry)
        else:
            existing.partitions.extend(entry.partitions)
    return topics
