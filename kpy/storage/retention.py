"""Retention as a pure function: which of a log's oldest segments to delete, and why.

The log hands over what it knows of each segment (base offset, size, the timestamp
retention.ms is judged by) and its log start offset; nothing here touches files or clocks,
so every rule is unit-tested with plain numbers. Rules, in the order they are applied, all
only on logs whose cleanup.policy includes ``delete``:

1. a segment wholly below the log start offset (DeleteRecords moved it, or the segment
   rolled after the start offset had passed its base) goes first;
2. retention.ms (when >= 0): from the oldest on, each segment whose largest timestamp is more
   than retention.ms before now goes, up to the first one that is not expired. When every
   older segment went and the active one (not empty) has expired too, it is rolled and
   deleted as well, as Kafka does, so an idle topic empties;
3. retention.bytes (when >= 0): from the oldest on, each segment whose removal leaves the log
   at least retention.bytes large goes.

The active segment is never deleted except by rule 2's roll.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from kpy.storage.config import LogConfig


@dataclass(frozen=True, slots=True)
class SegmentStats:
    """What retention needs of one segment."""

    base_offset: int
    size: int
    largest_timestamp: int  # ms; the max record timestamp, else the file's mtime


@dataclass
class RetentionPlan:
    """Delete the ``len(reasons)`` oldest segments, ``reasons[i]`` saying why for the i-th;
    with ``roll_active`` the last of them is the active segment, so roll first."""

    reasons: list[str] = field(default_factory=list)
    roll_active: bool = False


def plan_retention(
    segments: Sequence[SegmentStats], *, log_start_offset: int, now_ms: int, config: LogConfig
) -> RetentionPlan:
    """The segments of ``segments`` (oldest first, the last one active) that retention
    deletes now (see the module docstring)."""
    plan = RetentionPlan()
    if "delete" not in config.cleanup_policy or not segments:
        return plan
    last = len(segments) - 1
    i = 0
    while i < last and segments[i + 1].base_offset <= log_start_offset:
        plan.reasons.append("log start offset")
        i += 1
    retention_ms = config.retention_ms
    if retention_ms >= 0:
        reason = f"retention.ms={retention_ms}"
        while i < last and now_ms - segments[i].largest_timestamp > retention_ms:
            plan.reasons.append(reason)
            i += 1
        active = segments[last]
        if i == last and active.size and now_ms - active.largest_timestamp > retention_ms:
            plan.reasons.append(reason)
            plan.roll_active = True
            return plan
    retention_bytes = config.retention_bytes
    if retention_bytes >= 0:
        total = sum(s.size for s in segments[i:])
        while i < last and total - segments[i].size >= retention_bytes:
            total -= segments[i].size
            plan.reasons.append(f"retention.bytes={retention_bytes}")
            i += 1
    return plan
