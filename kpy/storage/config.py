"""LogConfig: the topic-level settings a partition log uses, by their Kafka names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class LogConfig:
    """The topic-level settings the log uses (Kafka names in comments)."""

    segment_bytes: int = 1 << 30  # segment.bytes
    segment_ms: int = 7 * 24 * 3600 * 1000  # segment.ms
    segment_index_bytes: int = 10 * 1024 * 1024  # segment.index.bytes
    index_interval_bytes: int = 4096  # index.interval.bytes
    retention_ms: int = 7 * 24 * 3600 * 1000  # retention.ms
    retention_bytes: int = -1  # retention.bytes
    flush_messages: int = 2**63 - 1  # flush.messages
    flush_ms: int = 2**63 - 1  # flush.ms
    cleanup_policy: tuple[str, ...] = ("delete",)  # cleanup.policy
    message_timestamp_type: str = "CreateTime"  # message.timestamp.type
    max_message_bytes: int = 1048588  # max.message.bytes
    min_compaction_lag_ms: int = 0  # min.compaction.lag.ms
    max_compaction_lag_ms: int = 2**63 - 1  # max.compaction.lag.ms
    min_cleanable_dirty_ratio: float = 0.5  # min.cleanable.dirty.ratio
    delete_retention_ms: int = 86_400_000  # delete.retention.ms

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LogConfig:
        policy = d.get("cleanup.policy", ["delete"])
        if isinstance(policy, str):
            policy = [p.strip() for p in policy.split(",")]
        return cls(
            segment_bytes=int(d.get("segment.bytes", cls.segment_bytes)),
            segment_ms=int(d.get("segment.ms", cls.segment_ms)),
            segment_index_bytes=int(d.get("segment.index.bytes", cls.segment_index_bytes)),
            index_interval_bytes=int(d.get("index.interval.bytes", cls.index_interval_bytes)),
            retention_ms=int(d.get("retention.ms", cls.retention_ms)),
            retention_bytes=int(d.get("retention.bytes", cls.retention_bytes)),
            flush_messages=int(d.get("flush.messages", cls.flush_messages)),
            flush_ms=int(d.get("flush.ms", cls.flush_ms)),
            cleanup_policy=tuple(policy),
            message_timestamp_type=str(d.get("message.timestamp.type", cls.message_timestamp_type)),
            max_message_bytes=int(d.get("max.message.bytes", cls.max_message_bytes)),
            min_compaction_lag_ms=int(d.get("min.compaction.lag.ms", cls.min_compaction_lag_ms)),
            max_compaction_lag_ms=int(d.get("max.compaction.lag.ms", cls.max_compaction_lag_ms)),
            min_cleanable_dirty_ratio=float(
                d.get("min.cleanable.dirty.ratio", cls.min_cleanable_dirty_ratio)
            ),
            delete_retention_ms=int(d.get("delete.retention.ms", cls.delete_retention_ms)),
        )
